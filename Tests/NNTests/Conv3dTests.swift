import NN
import Tensor
import Testing

/// Every conv lowering against the seven-loop definition, on odd shapes, with and without
/// bias, with the fused residual + ReLU epilogue, with scratch small enough to force tiles,
/// and on two threads.
@Suite("Conv3d")
struct Conv3dTests {
    struct Case: CustomStringConvertible, Sendable {
        var cin, cout: Int
        var input: Dim3, kernel: Dim3, stride: Dim3, padding: Dim3
        var bias: Bool
        var lowering: Conv3d.Lowering
        var description: String {
            "\(cin)->\(cout) k\(kernel) s\(stride) p\(padding) on \(input)\(bias ? " +bias" : "") [\(lowering)]"
        }
    }

    static let cases: [Case] = [
        Case(
            cin: 5, cout: 7, input: Dim3(3, 5, 6), kernel: Dim3(all: 1), stride: Dim3(all: 1), padding: Dim3(all: 0),
            bias: false, lowering: .pointwise),
        Case(
            cin: 6, cout: 9, input: Dim3(5, 7, 7), kernel: Dim3(all: 1), stride: Dim3(all: 2), padding: Dim3(all: 0),
            bias: false, lowering: .im2col),
        Case(
            cin: 7, cout: 5, input: Dim3(6, 4, 5), kernel: Dim3(3, 1, 1), stride: Dim3(all: 1), padding: Dim3(1, 0, 0),
            bias: false, lowering: .temporalTaps),
        Case(
            cin: 3, cout: 4, input: Dim3(5, 3, 3), kernel: Dim3(3, 1, 1), stride: Dim3(all: 1), padding: Dim3(0, 0, 0),
            bias: true, lowering: .temporalTaps),
        Case(
            cin: 3, cout: 4, input: Dim3(4, 3, 2), kernel: Dim3(2, 1, 1), stride: Dim3(all: 1), padding: Dim3(1, 0, 0),
            bias: true, lowering: .temporalTaps),
        Case(
            cin: 4, cout: 3, input: Dim3(2, 3, 3), kernel: Dim3(5, 1, 1), stride: Dim3(all: 1), padding: Dim3(2, 0, 0),
            bias: false, lowering: .temporalTaps),
        Case(
            cin: 7, cout: 5, input: Dim3(7, 4, 5), kernel: Dim3(3, 1, 1), stride: Dim3(2, 1, 1), padding: Dim3(1, 0, 0),
            bias: false, lowering: .im2col),
        Case(
            cin: 5, cout: 11, input: Dim3(3, 9, 7), kernel: Dim3(1, 3, 3), stride: Dim3(1, 2, 2),
            padding: Dim3(0, 1, 1), bias: false, lowering: .im2col),
        Case(
            cin: 3, cout: 6, input: Dim3(4, 13, 11), kernel: Dim3(1, 7, 7), stride: Dim3(1, 2, 2),
            padding: Dim3(0, 3, 3), bias: false, lowering: .im2col),
        Case(
            cin: 3, cout: 5, input: Dim3(5, 9, 10), kernel: Dim3(3, 7, 7), stride: Dim3(1, 2, 2),
            padding: Dim3(1, 3, 3), bias: false, lowering: .frameIm2col),
        Case(
            cin: 4, cout: 6, input: Dim3(5, 5, 6), kernel: Dim3(all: 3), stride: Dim3(all: 1), padding: Dim3(all: 1),
            bias: true, lowering: .frameIm2col),
        Case(
            cin: 5, cout: 7, input: Dim3(6, 11, 9), kernel: Dim3(all: 3), stride: Dim3(all: 1), padding: Dim3(all: 1),
            bias: false, lowering: .frameIm2col),
        Case(
            cin: 6, cout: 4, input: Dim3(5, 6, 7), kernel: Dim3(3, 2, 3), stride: Dim3(1, 2, 1), padding: Dim3(0, 1, 0),
            bias: true, lowering: .frameIm2col),
        Case(
            cin: 4, cout: 5, input: Dim3(3, 4, 4), kernel: Dim3(2, 3, 3), stride: Dim3(1, 1, 1), padding: Dim3(1, 1, 1),
            bias: false, lowering: .frameIm2col),
        Case(
            cin: 4, cout: 3, input: Dim3(1, 1, 1), kernel: Dim3(all: 3), stride: Dim3(all: 1), padding: Dim3(all: 1),
            bias: true, lowering: .frameIm2col),
        Case(
            cin: 3, cout: 4, input: Dim3(4, 9, 8), kernel: Dim3(all: 3), stride: Dim3(all: 1), padding: Dim3(all: 1),
            bias: true, lowering: .im2col),
        Case(
            cin: 4, cout: 6, input: Dim3(3, 3, 3), kernel: Dim3(all: 3), stride: Dim3(all: 2), padding: Dim3(all: 1),
            bias: false, lowering: .im2col),
        Case(
            cin: 3, cout: 4, input: Dim3(4, 5, 5), kernel: Dim3(1, 1, 1), stride: Dim3(1, 1, 1), padding: Dim3(1, 0, 0),
            bias: true, lowering: .im2col),
    ]

    @Test("forward equals conv3dNaive", arguments: cases)
    func matchesNaive(_ c: Case) {
        var rng = SeededRandom(seed: UInt64(c.cin * 31 + c.cout))
        let x = Tensor.normal(shape: [2, c.cin, c.input.t, c.input.h, c.input.w], using: &rng)
        let w = Tensor.normal(shape: [c.cout, c.cin, c.kernel.t, c.kernel.h, c.kernel.w], using: &rng)
        let b = c.bias ? Tensor.normal(shape: [c.cout], using: &rng) : nil
        let conv = Conv3d(weight: w, bias: b, stride: c.stride, padding: c.padding)
        #expect(conv.lowering == c.lowering)
        #expect(conv.weight == w)
        let reference = conv3dNaive(x, weight: w, bias: b, stride: c.stride, padding: c.padding)
        for threads in [1, 2] {
            // The least scratch (one position per tile), a few positions, and the whole matrix.
            for limit in [1, 3 * conv.geometry(input: c.input).k, 40 * conv.geometry(input: c.input).k, 1 << 22] {
                let y = conv.forward(x, threads: threads, scratchLimit: limit)
                #expect(y.shape == reference.shape)
                #expect(
                    y.maxAbsDifference(reference) <= 1e-5 * max(1, reference.maxAbs()),
                    "threads \(threads) scratch \(limit)")
            }
        }
    }

    /// One clip of case `c`, its conv with a bias, the naive output and a random residual.
    static func withResidual(_ c: Case, seed: UInt64) -> (x: Tensor, conv: Conv3d, plain: Tensor, residual: Tensor) {
        var rng = SeededRandom(seed: seed)
        let x = Tensor.normal(shape: [1, c.cin, c.input.t, c.input.h, c.input.w], using: &rng)
        let w = Tensor.normal(shape: [c.cout, c.cin, c.kernel.t, c.kernel.h, c.kernel.w], using: &rng)
        let b = Tensor.normal(shape: [c.cout], using: &rng)
        let plain = conv3dNaive(x, weight: w, bias: b, stride: c.stride, padding: c.padding)
        return (
            x, Conv3d(weight: w, bias: b, stride: c.stride, padding: c.padding), plain,
            Tensor.normal(shape: plain.shape, using: &rng)
        )
    }

    @Test(
        "the fused epilogue adds the residual and applies ReLU",
        arguments: [cases[0], cases[2], cases[8], cases[10], cases[11]])
    func residualAndReLU(_ c: Case) {
        let (x, conv, plain, residual) = Self.withResidual(c, seed: 99)
        let expected = (plain + residual).relu()
        for scratchCount in [
            conv.minimumScratchCount(threads: 2),
            conv.minimumScratchCount(threads: 2) + 5 * conv.geometry(input: c.input).k, 1 << 20,
        ] {
            var y = Tensor(shape: plain.shape)
            x.withUnsafeBufferPointer { xp in
                residual.withUnsafeBufferPointer { rp in
                    y.withUnsafeMutableBufferPointer { yp in
                        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(1, scratchCount))
                        defer { scratch.deallocate() }
                        conv.forward(
                            clip: xp.baseAddress!, size: c.input, into: yp.baseAddress!, residual: rp.baseAddress!,
                            relu: true, scratch: scratch, scratchCount: scratchCount, threads: 2)
                    }
                }
            }
            #expect(y.maxAbsDifference(expected) <= 1e-5 * max(1, expected.maxAbs()), "scratch \(scratchCount)")
            #expect(y.data.allSatisfy { $0 >= 0 })
        }
    }

    @Test(
        "accumulating into the output adds the conv to what it holds",
        arguments: [cases[0], cases[1], cases[7], cases[17]])
    func accumulate(_ c: Case) {
        let (x, conv, plain, residual) = Self.withResidual(c, seed: 7)
        for relu in [false, true] {
            let expected = relu ? (plain + residual).relu() : plain + residual
            for threads in [1, 2] {
                // The least scratch (tiles of single positions) and the whole matrix (channel split).
                for scratchCount in [conv.minimumScratchCount(threads: threads), 1 << 20] {
                    var y = residual
                    x.withUnsafeBufferPointer { xp in
                        y.withUnsafeMutableBufferPointer { yp in
                            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(1, scratchCount))
                            defer { scratch.deallocate() }
                            conv.forward(
                                clip: xp.baseAddress!, size: c.input, accumulatingInto: yp.baseAddress!, relu: relu,
                                scratch: scratch, scratchCount: scratchCount, threads: threads)
                        }
                    }
                    #expect(
                        y.maxAbsDifference(expected) <= 1e-5 * max(1, expected.maxAbs()),
                        "relu \(relu) threads \(threads) scratch \(scratchCount)")
                }
            }
        }
    }
}
