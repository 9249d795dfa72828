import Testing

@testable import NN
@testable import Tensor

/// Convs on small maps share GEMMs across a worker's clips (`Conv3dLayer+Batched.swift`):
/// checked against the naive loops, with every chunking of the clips.
@Suite("Convs on small maps: several clips per GEMM")
struct BatchedConvTests {
    struct Case: CustomStringConvertible, Sendable {
        var kernel: Dim3, stride: Dim3, padding: Dim3, input: Dim3, inChannels: Int, outChannels: Int
        var description: String { "\(inChannels)->\(outChannels) k\(kernel) s\(stride) on \(input)" }
    }

    static let cases = [
        // layer 3 and 4 of the helper networks: 3x3x3 with stride 1 (frame columns), then strided
        Case(
            kernel: Dim3(all: 3), stride: Dim3(all: 1), padding: Dim3(all: 1), input: Dim3(2, 4, 4), inChannels: 6,
            outChannels: 40),
        Case(
            kernel: Dim3(all: 3), stride: Dim3(all: 2), padding: Dim3(all: 1), input: Dim3(4, 6, 5), inChannels: 4,
            outChannels: 7),
        // R(2+1)D's strided 1x3x3 and 3x1x1, and the 1x1x1 downsampling
        Case(
            kernel: Dim3(1, 3, 3), stride: Dim3(1, 2, 2), padding: Dim3(0, 1, 1), input: Dim3(2, 4, 4), inChannels: 3,
            outChannels: 9),
        Case(
            kernel: Dim3(3, 1, 1), stride: Dim3(2, 1, 1), padding: Dim3(1, 0, 0), input: Dim3(4, 2, 2), inChannels: 9,
            outChannels: 4),
        Case(
            kernel: Dim3(all: 1), stride: Dim3(all: 2), padding: Dim3(all: 0), input: Dim3(4, 4, 4), inChannels: 5,
            outChannels: 6),
    ]

    @Test(
        "forward, weight, bias and input gradients equal the naive loops, by the layer and in chunks", arguments: cases)
    func matchesNaive(_ c: Case) {
        var rng = SeededRandom(seed: 7)
        let n = 5
        let x = Tensor.normal(shape: [n, c.inChannels, c.input.t, c.input.h, c.input.w], using: &rng)
        let layer = Conv3dLayer(
            name: "conv",
            weight: Tensor.normal(
                shape: [c.outChannels, c.inChannels, c.kernel.t, c.kernel.h, c.kernel.w], std: 0.3, using: &rng),
            bias: Tensor.normal(shape: [c.outChannels], using: &rng), stride: c.stride, padding: c.padding)
        let g = layer.geometry(input: c.input)
        // The path under test runs: two clips or more per worker on these maps.
        #expect(Conv3dLayer.batchedClips(g, clipsPerWorker: 2, floatsPerColumn: g.k) == 2)
        #expect(Conv3dLayer.batchedClips(g, clipsPerWorker: 1, floatsPerColumn: g.k) == nil)
        #expect(!layer.usesDirectWeightGradient())
        let conv = Conv3d(weight: layer.weight.value, stride: c.stride, padding: c.padding)
        #expect(["im2col", "frameIm2col"].contains(conv.method(input: c.input, scratchCount: 1 << 20, threads: 1)))
        let naiveY = conv3dNaive(
            x, weight: layer.weight.value, bias: layer.bias!.value, stride: c.stride, padding: c.padding)
        let dy = Tensor.normal(shape: naiveY.shape, using: &rng)
        let naive = conv3dBackwardNaive(x, weight: layer.weight.value, dy: dy, stride: c.stride, padding: c.padding)
        for threads in [1, 2] {
            let (y, cache) = layer.forward(x, threads: threads)
            #expect(y.relativeError(to: naiveY) < 1e-5, "y, \(threads) threads")
            layer.zeroGrad()
            let dx = layer.backward(dy, cache: cache, threads: threads)!
            #expect(dx.relativeError(to: naive.dx) < 1e-5, "dx, \(threads) threads")
            #expect(layer.weight.grad.relativeError(to: naive.dW) < 1e-5, "dW, \(threads) threads")
            #expect(layer.bias!.grad.relativeError(to: naive.db) < 1e-5, "db, \(threads) threads")
        }
        // Chunks of 1, 2 and 3 clips (the last chunk short), called directly.
        let co = c.outChannels
        let (p, k) = (g.n, g.k)
        for batch in [1, 2, 3] {
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: (2 * k + co) * batch * p)
            defer { scratch.deallocate() }
            var y = Tensor(shape: naiveY.shape)
            var dW = Tensor(shape: [co, k])
            var dx = Tensor(shape: x.shape)
            x.withUnsafeBufferPointer { xp in
                layer.weight.value.withUnsafeBufferPointer { wp in
                    layer.bias!.value.withUnsafeBufferPointer { bp in
                        dy.withUnsafeBufferPointer { dyp in
                            y.data.withUnsafeMutableBufferPointer { yp in
                                Conv3dLayer.batchedForward(
                                    xp.baseAddress!, geometry: g, weight: wp.baseAddress!, bias: bp.baseAddress!,
                                    outChannels: co, clips: 0..<n, batch: batch, into: yp.baseAddress!,
                                    scratch: scratch)
                            }
                            dW.data.withUnsafeMutableBufferPointer { dWp in
                                dx.data.withUnsafeMutableBufferPointer { dxp in
                                    Conv3dLayer.batchedBackward(
                                        xp.baseAddress!, dyp.baseAddress!, geometry: g, weight: wp.baseAddress!,
                                        outChannels: co, clips: 0..<n, batch: batch, dW: dWp.baseAddress!,
                                        transposed: false, dx: dxp.baseAddress!, scratch: scratch)
                                }
                            }
                        }
                    }
                }
            }
            #expect(y.relativeError(to: naiveY) < 1e-5, "y, chunks of \(batch)")
            #expect(dx.relativeError(to: naive.dx) < 1e-5, "dx, chunks of \(batch)")
            #expect(
                Tensor(shape: naive.dW.shape, data: dW.data).relativeError(to: naive.dW) < 1e-5,
                "dW, chunks of \(batch)")
        }
    }
}
