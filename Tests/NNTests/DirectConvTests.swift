import NN
import Tensor
import Testing

/// The direct kernels (`DirectConv`, AVX-512) against the seven-loop definitions: where they
/// run, with the fused bias, residual and ReLU, strides 1 and 2, blocks of 8 and 12 channels,
/// odd numbers of 16-position vectors, on one and two threads, and where they must not run.
/// The weight gradient's cases are in TrainingLayerGradientTests (with finite differences). On a CPU without AVX-512 every conv takes its
/// GEMM lowering, which these cases check against the same references.
@Suite("Direct convolutions")
struct DirectConvTests {
    struct Case: CustomStringConvertible, Sendable {
        var cin, cout: Int
        var input: Dim3, kernel: Dim3, padding: Dim3, stride = Dim3(all: 1)
        var description: String { "\(cin)->\(cout) k\(kernel) s\(stride) p\(padding) on \(input)" }
    }

    static let cases = [
        // The motion-vector network's stem: two vectors per row.
        Case(cin: 2, cout: 16, input: Dim3(3, 5, 32), kernel: Dim3(3, 7, 7), padding: Dim3(1, 3, 3)),
        // Three vectors in all, 8 output channels.
        Case(cin: 5, cout: 8, input: Dim3(1, 3, 16), kernel: Dim3(all: 3), padding: Dim3(all: 1)),
        // A 1x5x5 without padding: rows of 16 from a map 20 wide.
        Case(cin: 3, cout: 16, input: Dim3(2, 6, 20), kernel: Dim3(1, 5, 5), padding: Dim3(all: 0)),
        // R(2+1)D's stem: 36 channels in blocks of 12, stride 2 in space (the column phases).
        Case(
            cin: 3, cout: 36, input: Dim3(2, 6, 32), kernel: Dim3(1, 7, 7), padding: Dim3(0, 3, 3),
            stride: Dim3(1, 2, 2)),
        // Stride 2 everywhere, odd sizes.
        Case(
            cin: 5, cout: 24, input: Dim3(5, 9, 31), kernel: Dim3(3, 5, 5), padding: Dim3(1, 2, 2), stride: Dim3(all: 2)
        ),
    ]

    @Test("forward equals conv3dNaive with bias, residual and ReLU", arguments: cases)
    func forward(_ c: Case) {
        var rng = SeededRandom(seed: UInt64(c.cin * 7 + c.cout))
        let x = Tensor.normal(shape: [1, c.cin, c.input.t, c.input.h, c.input.w], using: &rng)
        let w = Tensor.normal(shape: [c.cout, c.cin, c.kernel.t, c.kernel.h, c.kernel.w], std: 0.3, using: &rng)
        let b = Tensor.normal(shape: [c.cout], using: &rng)
        let conv = Conv3d(weight: w, bias: b, stride: c.stride, padding: c.padding)
        let plain = conv3dNaive(x, weight: w, bias: b, stride: c.stride, padding: c.padding)
        let residual = Tensor.normal(shape: plain.shape, using: &rng)
        var expected = plain
        for i in 0..<expected.count { expected.data[i] = max(0, plain.data[i] + residual.data[i]) }
        let scratch = 1 << 16
        #expect(
            conv.method(input: c.input, scratchCount: scratch, threads: 2)
                == (Conv3d.directKernelsAvailable ? "direct" : "\(conv.lowering)"))
        for threads in [1, 2] {
            let y = WinogradTests().run(
                conv, x, size: c.input, residual: residual, relu: true, scratchCount: scratch, threads: threads)
            #expect(y.maxAbsDifference(expected) <= 1e-5 * max(1, expected.maxAbs()), "threads \(threads)")
        }
    }

    @Test("wide, odd-width, stride-3 and channel counts off the blocks keep their lowerings; so does a small scratch")
    func whereItApplies() {
        func method(cout: Int, input: Dim3, stride: Dim3 = Dim3(all: 1), scratch: Int = 1 << 20) -> String {
            let conv = Conv3d(weight: Tensor(shape: [cout, 4, 3, 3, 3]), stride: stride, padding: Dim3(all: 1))
            return conv.method(input: input, scratchCount: scratch, threads: 1)
        }
        let direct = Conv3d.directKernelsAvailable
        #expect(method(cout: 16, input: Dim3(4, 8, 32)) == (direct ? "direct" : "winograd"))
        #expect(method(cout: 36, input: Dim3(4, 8, 32)) == (direct ? "direct" : "winograd"))
        #expect(method(cout: 16, input: Dim3(4, 8, 32), stride: Dim3(all: 2)) == (direct ? "direct" : "im2col"))
        #expect(method(cout: 16, input: Dim3(4, 8, 96), stride: Dim3(1, 1, 3)) == "frameIm2col")
        #expect(method(cout: 48, input: Dim3(4, 8, 32)) == "winograd")
        #expect(method(cout: 20, input: Dim3(4, 8, 32)) == "winograd")
        #expect(method(cout: 16, input: Dim3(4, 8, 24)) == "winograd")
        // The padded clip (4 x 6 x 10 x 34 floats) does not fit.
        #expect(method(cout: 16, input: Dim3(4, 8, 32), scratch: 1000) == "frameIm2col")
    }

    @Test("one clip's weight gradient on two threads (input channels split) equals the naive one")
    func singleClipGradient() {
        var rng = SeededRandom(seed: 9)
        let x = Tensor.normal(shape: [1, 3, 4, 6, 16], using: &rng)
        let layer = Conv3dLayer(
            name: "conv", weight: Tensor.normal(shape: [16, 3, 3, 3, 3], std: 0.3, using: &rng), padding: Dim3(all: 1))
        #expect(layer.usesDirectWeightGradient() == Conv3d.directKernelsAvailable)
        let (y, cache) = layer.forward(x, threads: 2)
        let dy = Tensor.normal(shape: y.shape, using: &rng)
        let naive = conv3dBackwardNaive(x, weight: layer.weight.value, dy: dy, padding: Dim3(all: 1))
        for threads in [1, 2] {
            layer.zeroGrad()
            let dx = layer.backward(dy, cache: cache, threads: threads)!
            #expect(layer.weight.grad.relativeError(to: naive.dW) < 1e-5, "dW, \(threads) threads")
            #expect(dx.relativeError(to: naive.dx) < 1e-5, "dx, \(threads) threads")
        }
    }
}
