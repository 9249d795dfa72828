import Tensor
import Testing

@testable import NN

/// `Conv3dLayer.frameWeightGradient` holds at most `capacity` floats of within-frame columns and
/// goes through a clip's frames in chunks beyond that (`frameColumnsFloats`, 8 MB, in
/// training). The layer tests' maps fit one chunk; here the smallest capacity makes every
/// chunk one output frame.
@Suite("Conv3dLayer: weight gradients from frame columns in chunks")
struct FrameColumnChunkTests {
    @Test("one output frame per chunk gives the naive weight gradient, in both accumulator layouts")
    func chunks() {
        var rng = SeededRandom(seed: 5)
        let (ci, co) = (3, 4)
        let cases: [(kernel: Dim3, stride: Dim3, padding: Dim3, size: Dim3)] = [
            (Dim3(all: 3), Dim3(all: 1), Dim3(all: 1), Dim3(6, 5, 7)),
            (Dim3(3, 7, 7), Dim3(1, 2, 2), Dim3(1, 3, 3), Dim3(5, 9, 8)),
            (Dim3(2, 3, 3), Dim3(all: 1), Dim3(0, 1, 1), Dim3(5, 4, 4)),
        ]
        for c in cases {
            let g = Conv3dGeometry(
                inChannels: ci, input: c.size, kernel: c.kernel, stride: c.stride, padding: c.padding)
            let x = Tensor.normal(shape: [1, ci, c.size.t, c.size.h, c.size.w], using: &rng)
            let w = Tensor.normal(shape: [co, ci, c.kernel.t, c.kernel.h, c.kernel.w], using: &rng)
            let dy = Tensor.normal(shape: [1, co, g.output.t, g.output.h, g.output.w], using: &rng)
            let naive = conv3dBackwardNaive(x, weight: w, dy: dy, stride: c.stride, padding: c.padding).dW
            let (k2d, plane, kt) = (ci * c.kernel.h * c.kernel.w, g.output.h * g.output.w, c.kernel.t)
            for capacity in [k2d * kt * plane, k2d * c.size.t * plane] {
                for transposed in [true, false] {
                    var acc = [Float](repeating: 0, count: w.count)
                    var columns = [Float](repeating: 0, count: capacity)
                    x.withUnsafeBufferPointer { xp in
                        dy.withUnsafeBufferPointer { dp in
                            columns.withUnsafeMutableBufferPointer { cp in
                                acc.withUnsafeMutableBufferPointer { ap in
                                    Conv3dLayer.frameWeightGradient(
                                        xp.baseAddress!, dp.baseAddress!, g, outChannels: co, columns: cp.baseAddress!,
                                        capacity: capacity, dW: ap.baseAddress!, transposed: transposed, threads: 1)
                                }
                            }
                        }
                    }
                    // Tap d's block is [k2d][co] (transposed) or [co][k2d]; row r = (ci, kH·kW).
                    var dW = Tensor(shape: w.shape)
                    let taps = c.kernel.h * c.kernel.w
                    for d in 0..<kt {
                        for o in 0..<co {
                            for r in 0..<k2d {
                                let v = acc[d * co * k2d + (transposed ? r * co + o : o * k2d + r)]
                                dW.data[((o * ci + r / taps) * kt + d) * taps + r % taps] = v
                            }
                        }
                    }
                    #expect(
                        dW.relativeError(to: naive) < 1e-5,
                        "\(c.kernel) on \(c.size), capacity \(capacity), transposed \(transposed)")
                }
            }
        }
    }
}
