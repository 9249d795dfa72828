import Tensor
import Testing

/// The fast im2col (row copies, strided gathers, zero runs) against the element-by-element
/// definition, on odd maps, kernels larger than the map, strides up to 3 and tiles that cut
/// output rows in the middle.
@Suite("im2col")
struct Im2colTests {
    static let geometries: [Conv3dGeometry] = [
        Conv3dGeometry(inChannels: 2, input: Dim3(5, 7, 9), kernel: Dim3(3, 3, 3), padding: Dim3(all: 1)),
        Conv3dGeometry(
            inChannels: 3, input: Dim3(4, 11, 13), kernel: Dim3(1, 7, 7), stride: Dim3(1, 2, 2), padding: Dim3(0, 3, 3)),
        Conv3dGeometry(
            inChannels: 3, input: Dim3(5, 9, 8), kernel: Dim3(3, 7, 7), stride: Dim3(1, 2, 2), padding: Dim3(1, 3, 3)),
        Conv3dGeometry(inChannels: 4, input: Dim3(7, 6, 5), kernel: Dim3(1, 1, 1), stride: Dim3(2, 2, 2)),
        Conv3dGeometry(
            inChannels: 2, input: Dim3(6, 5, 7), kernel: Dim3(3, 1, 1), stride: Dim3(2, 1, 1), padding: Dim3(1, 0, 0)),
        Conv3dGeometry(inChannels: 1, input: Dim3(2, 3, 2), kernel: Dim3(3, 5, 5), padding: Dim3(1, 2, 2)),
        Conv3dGeometry(
            inChannels: 2, input: Dim3(3, 10, 11), kernel: Dim3(2, 3, 4), stride: Dim3(3, 3, 3), padding: Dim3(1, 2, 1)),
        Conv3dGeometry(inChannels: 1, input: Dim3(1, 1, 1), kernel: Dim3(3, 3, 3), padding: Dim3(all: 1)),
        // Rows long enough for the eight-wide stride-2 gather, with and without padding.
        Conv3dGeometry(
            inChannels: 2, input: Dim3(2, 5, 45), kernel: Dim3(1, 3, 7), stride: Dim3(1, 2, 2), padding: Dim3(0, 1, 3)),
        Conv3dGeometry(inChannels: 2, input: Dim3(1, 4, 40), kernel: Dim3(1, 1, 2), stride: Dim3(1, 2, 2)),
        Conv3dGeometry(inChannels: 1, input: Dim3(1, 2, 33), kernel: Dim3(1, 1, 1), stride: Dim3(1, 1, 2)),
    ]

    @Test("im2col3d equals im2col3dNaive, whole and in tiles", arguments: geometries)
    func matchesNaive(_ g: Conv3dGeometry) {
        var rng = SeededRandom(seed: 7)
        let input = (0..<(g.inChannels * g.input.volume)).map { _ in rng.nextNormal() }
        let n = g.n
        #expect(n > 0)
        for tile in [n, max(1, n / 3), 5, 1] {
            for threads in [1, 2] {
                var start = 0
                while start < n {
                    let cols = start..<min(n, start + tile)
                    var fast = [Float](repeating: .nan, count: g.k * cols.count)
                    var slow = [Float](repeating: .nan, count: g.k * cols.count)
                    input.withUnsafeBufferPointer { x in
                        fast.withUnsafeMutableBufferPointer {
                            im2col3d(
                                x.baseAddress!, geometry: g, columns: cols, into: $0.baseAddress!, threads: threads)
                        }
                        slow.withUnsafeMutableBufferPointer {
                            im2col3dNaive(x.baseAddress!, geometry: g, columns: cols, into: $0.baseAddress!)
                        }
                    }
                    #expect(fast == slow, "tile \(cols) threads \(threads)")
                    if fast != slow { return }
                    start = cols.upperBound
                }
            }
        }
    }

    @Test("output sizes follow PyTorch's floor rule")
    func outputSizes() {
        #expect(
            Conv3dGeometry(
                inChannels: 3, input: Dim3(16, 112, 112), kernel: Dim3(1, 7, 7), stride: Dim3(1, 2, 2),
                padding: Dim3(0, 3, 3)
            ).output == Dim3(16, 56, 56))
        #expect(
            Conv3dGeometry(
                inChannels: 1, input: Dim3(2, 7, 7), kernel: Dim3(3, 3, 3), stride: Dim3(2, 2, 2), padding: Dim3(all: 1)
            ).output == Dim3(1, 4, 4))
        #expect(Conv3dGeometry(inChannels: 1, input: Dim3(1, 2, 2), kernel: Dim3(3, 3, 3)).output.volume == 0)
        let g = Conv3dGeometry(inChannels: 64, input: Dim3(16, 28, 28), kernel: Dim3(1, 3, 3), padding: Dim3(0, 1, 1))
        #expect(g.k == 576 && g.n == 12544)
    }
}
