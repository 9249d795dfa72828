import Tensor

/// Convs on small maps run several clips per GEMM. Layers 3 and 4 of the helper networks and
/// the backbone have 4 to 64 output positions per clip, so a GEMM per clip is only 4 to 64
/// columns wide and OpenBLAS spends more time packing than multiplying (128 x 3456 over 4
/// columns: 39 GFLOP/s one clip at a time, 145 for 64 clips side by side; docs/backbone.md §4).
/// A worker's clips therefore put their im2col columns side by side (`[K][clips · positions]`)
/// and share one GEMM for the output, one for the weight gradient and, for strided convs, one
/// for the input gradient's columns.
extension Conv3dLayer {
    /// Most output positions per clip for which clips share GEMMs.
    static let batchedPositions = 64
    /// Floats of columns and outputs a worker holds at once (4 MB).
    static let batchedFloats = 1 << 20

    /// Clips per shared GEMM for a worker with `clipsPerWorker` clips of a conv over `g` whose
    /// lowering builds im2col columns, or nil where one clip at a time is the better choice
    /// (large maps, a single clip, the direct and Winograd forms, the lowerings without im2col).
    /// `floatsPerColumn` is what one output position needs in scratch.
    static func batchedClips(_ g: Conv3dGeometry, clipsPerWorker: Int, floatsPerColumn: Int) -> Int? {
        guard clipsPerWorker >= 2, g.n > 0, g.n <= batchedPositions else { return nil }
        return max(1, min(clipsPerWorker, batchedFloats / (g.n * floatsPerColumn)))
    }

    /// The forward pass of a worker's `clips`, `batch` clips per GEMM: `y = W · col + bias`
    /// with `weight` `[Cout][K]`; `scratch` holds `(K + Cout) · batch · positions` floats.
    static func batchedForward(
        _ x: UnsafePointer<Float>, geometry g: Conv3dGeometry, weight: UnsafePointer<Float>,
        bias: UnsafePointer<Float>?, outChannels co: Int, clips: Range<Int>, batch: Int,
        into y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
    ) {
        let (p, k, inCount) = (g.n, g.k, g.inChannels * g.input.volume)
        var c0 = clips.lowerBound
        while c0 < clips.upperBound {
            let c1 = min(clips.upperBound, c0 + batch)
            let width = (c1 - c0) * p
            let (col, out) = (scratch, scratch + k * width)
            for i in c0..<c1 {
                im2col3d(x + i * inCount, geometry: g, columns: 0..<p, into: col + (i - c0) * p, rowStride: width)
            }
            gemm(.none, .none, m: co, n: width, k: k, a: weight, lda: k, b: col, ldb: width, c: out, ldc: width)
            for i in c0..<c1 {
                for o in 0..<co {
                    let b = bias?[o] ?? 0
                    let (src, dst) = (out + o * width + (i - c0) * p, y + (i * co + o) * p)
                    for j in 0..<p { dst[j] = src[j] + b }
                }
            }
            c0 = c1
        }
    }

    /// The backward pass of a worker's `clips`, `batch` clips per GEMM: `dW += dy · colᵀ` into
    /// `dW` (`[Cout][K]`, or `[K][Cout]` when `transposed`) and, when `dx` is given,
    /// `dx += col2im(Wᵀ · dy)` clip by clip. `scratch` holds `(2K + Cout) · batch · positions`
    /// floats (columns, `dy` side by side, and the input gradient's columns).
    static func batchedBackward(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, geometry g: Conv3dGeometry,
        weight: UnsafePointer<Float>, outChannels co: Int, clips: Range<Int>, batch: Int,
        dW: UnsafeMutablePointer<Float>, transposed: Bool, dx: UnsafeMutablePointer<Float>?,
        scratch: UnsafeMutablePointer<Float>
    ) {
        let (p, k, inCount) = (g.n, g.k, g.inChannels * g.input.volume)
        var c0 = clips.lowerBound
        while c0 < clips.upperBound {
            let c1 = min(clips.upperBound, c0 + batch)
            let width = (c1 - c0) * p
            let (col, dyT) = (scratch, scratch + k * width)
            for i in c0..<c1 {
                im2col3d(x + i * inCount, geometry: g, columns: 0..<p, into: col + (i - c0) * p, rowStride: width)
                for o in 0..<co {
                    (dyT + o * width + (i - c0) * p).update(from: dy + (i * co + o) * p, count: p)
                }
            }
            weightGradient(
                dy: dyT, ldDy: width, col: col, ldCol: width, co: co, rows: k, depth: width, transposed: transposed,
                into: dW, threads: 1)
            if let dx {
                let dcol = dyT + co * width
                gemm(
                    .transposed, .none, m: k, n: width, k: co, a: weight, lda: k, b: dyT, ldb: width, c: dcol,
                    ldc: width)
                for i in c0..<c1 {
                    col2im3dAdd(
                        dcol + (i - c0) * p, geometry: g, columns: 0..<p, into: dx + i * inCount, rowStride: width)
                }
            }
            c0 = c1
        }
    }
}
