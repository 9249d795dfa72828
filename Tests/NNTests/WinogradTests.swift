import NN
import Tensor
import Testing

/// The F(2x2, 3x3) path of kTx3x3 convs against the seven-loop definition: odd and even map
/// sizes (clipped edge tiles), temporal taps with and without padding, bias, residual + ReLU,
/// one and two threads, and the fall-back to im2col when the scratch or the map is too small.
@Suite("Winograd")
struct WinogradTests {
    struct Case: CustomStringConvertible, Sendable {
        var cin, cout: Int
        var input: Dim3
        var kt = 1, padT = 0
        var fallback = "im2col"
        var description: String { "\(cin)->\(cout) k\(kt)x3x3 pT \(padT) on \(input)" }
    }

    static let cases: [Case] = [
        Case(cin: 5, cout: 7, input: Dim3(4, 9, 7)),
        Case(cin: 16, cout: 9, input: Dim3(3, 16, 16)),
        Case(cin: 3, cout: 4, input: Dim3(9, 6, 5)),
        Case(cin: 6, cout: 5, input: Dim3(5, 9, 8), kt: 3, padT: 1, fallback: "frameIm2col"),
        Case(cin: 4, cout: 7, input: Dim3(6, 7, 10), kt: 3, padT: 0, fallback: "frameIm2col"),
        Case(cin: 5, cout: 3, input: Dim3(4, 8, 8), kt: 2, padT: 1, fallback: "frameIm2col"),
    ]

    @Test("equals conv3dNaive, with bias, residual and ReLU", arguments: cases)
    func matchesNaive(_ c: Case) {
        var rng = SeededRandom(seed: UInt64(c.cin * 13 + c.cout))
        let x = Tensor.normal(shape: [1, c.cin, c.input.t, c.input.h, c.input.w], using: &rng)
        let w = Tensor.normal(shape: [c.cout, c.cin, c.kt, 3, 3], using: &rng)
        let b = Tensor.normal(shape: [c.cout], using: &rng)
        let padding = Dim3(c.padT, 1, 1)
        let conv = Conv3d(weight: w, bias: b, stride: Dim3(all: 1), padding: padding)
        let plain = conv3dNaive(x, weight: w, bias: b, stride: Dim3(all: 1), padding: padding)
        let residual = Tensor.normal(shape: plain.shape, using: &rng)
        let tolerance = 1e-5 * max(1, plain.maxAbs())
        for threads in [1, 2] {
            // Room for the whole map in one chunk per worker, and just the least Winograd takes.
            for scratchCount in [1 << 20, threads * 32 * 16 * (c.cin * c.kt + c.cout)] {
                #expect(conv.method(input: c.input, scratchCount: scratchCount, threads: threads) == "winograd")
                let y = run(
                    conv, x, size: c.input, residual: nil, relu: false, scratchCount: scratchCount, threads: threads)
                #expect(y.maxAbsDifference(plain) <= tolerance, "threads \(threads) scratch \(scratchCount)")
                let fused = run(
                    conv, x, size: c.input, residual: residual, relu: true, scratchCount: scratchCount, threads: threads
                )
                #expect(
                    fused.maxAbsDifference((plain + residual).relu()) <= tolerance,
                    "fused, threads \(threads) scratch \(scratchCount)")
            }
        }
        // Too little scratch for 32 tiles per worker: the im2col lowerings, same result.
        let small = 9 * c.cin * c.kt * 4
        #expect(conv.method(input: c.input, scratchCount: small, threads: 1) == c.fallback)
        #expect(
            run(conv, x, size: c.input, residual: nil, relu: false, scratchCount: small, threads: 1).maxAbsDifference(
                plain) <= tolerance)
    }

    @Test("small maps, strided and deep convs keep im2col")
    func whereItApplies() {
        var rng = SeededRandom(seed: 5)
        let w = Tensor.normal(shape: [4, 3, 1, 3, 3], using: &rng)
        let conv = Conv3d(weight: w, stride: Dim3(all: 1), padding: Dim3(0, 1, 1))
        // 2 frames of 3x3 tiles: 18 tiles, fewer than 32 per worker.
        #expect(conv.method(input: Dim3(2, 6, 6), scratchCount: 1 << 20, threads: 1) == "im2col")
        let strided = Conv3d(weight: w, stride: Dim3(1, 2, 2), padding: Dim3(0, 1, 1))
        #expect(strided.method(input: Dim3(8, 32, 32), scratchCount: 1 << 20, threads: 1) == "im2col")
        let deep = Conv3d(weight: Tensor(shape: [2, 512, 1, 3, 3]), stride: Dim3(all: 1), padding: Dim3(0, 1, 1))
        #expect(deep.method(input: Dim3(8, 32, 32), scratchCount: 1 << 24, threads: 1) == "im2col")
    }

    func run(_ conv: Conv3d, _ x: Tensor, size: Dim3, residual: Tensor?, relu: Bool, scratchCount: Int, threads: Int)
        -> Tensor
    {
        let out = conv.outputSize(size)
        var y = Tensor(shape: [1, conv.outChannels, out.t, out.h, out.w])
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchCount)
        defer { scratch.deallocate() }
        x.withUnsafeBufferPointer { xp in
            residual.withOptionalPointer { rp in
                y.withUnsafeMutableBufferPointer { yp in
                    conv.forward(
                        clip: xp.baseAddress!, size: size, into: yp.baseAddress!, residual: rp, relu: relu,
                        scratch: scratch, scratchCount: scratchCount, threads: threads)
                }
            }
        }
        return y
    }
}
