import Tensor

/// 3D convolution (PyTorch `nn.Conv3d`, groups 1, dilation 1, zero padding).
///
/// Shapes: input `[N, Cin, T, H, W]`, weight `[Cout, Cin, kT, kH, kW]`, bias `[Cout]` (optional),
/// output `[N, Cout, T', H', W']` with `T' = (T + 2 pT - kT) / sT + 1` (floor), and so on.
///
/// The forward pass runs clip by clip as GEMMs `out[Cout, positions] = W[Cout, K] · col[K,
/// positions]` and picks the cheapest lowering for the kernel (docs/backbone.md §4):
/// - `pointwise`: 1x1x1, stride 1, no padding: the input already is `col`; one bare sgemm.
/// - `temporalTaps`: kTx1x1, stride 1, padding only in time: one sgemm per tap on the input
///   shifted by whole frames (an offset of H·W floats), accumulated. No im2col at all.
/// - `frameIm2col`: kTxkHxkW with temporal stride 1 (R3D's and C3D's 3x3x3): im2col within
///   frames only (K = Cin·kH·kW, at least `minimumFrameRows`), then one sgemm per temporal
///   tap on the columns shifted by whole frames. The columns are a third of full 3D im2col's
///   for a 3-frame kernel.
/// - `im2col`: everything else (1x3x3 and 7x7 spatial convs, temporal stride 2): 3D im2col
///   and one sgemm.
/// Convs with a 3x3 spatial kernel, stride 1 and spatial padding 1 (R(2+1)D's 1x3x3, R3D's and
/// C3D's 3x3x3) of up to 256 input channels also carry Winograd's F(2x2, 3x3) form
/// (`Winograd`), which replaces the lowering whenever the map and the scratch are large enough
/// for it (`method(input:scratchCount:threads:)` tells which runs).
///
/// Work is tiled over output positions so that each tile's columns and outputs stay in cache,
/// and the bias, a residual and ReLU are applied to each tile right after its GEMMs
/// (`applyEpilogue`). The layer holds no mutable state, so one instance serves concurrent
/// callers. Training uses `Conv3dLayer` (NN/Training), which keeps what its backward pass needs.
public struct Conv3d: Sendable {
    /// How the convolution is lowered to GEMMs.
    public enum Lowering: Sendable, Equatable {
        case pointwise
        case temporalTaps
        case frameIm2col
        case im2col
    }

    public let inChannels: Int
    public let outChannels: Int
    public let kernel: Dim3
    public let stride: Dim3
    public let padding: Dim3
    /// `[Cout]`, or nil for a bias-free conv.
    public let bias: Tensor?
    public let lowering: Lowering
    /// The weight as the GEMMs read it: `[Cout, K]` as stored for `pointwise` and `im2col`;
    /// tap-major `[kT][Cout][Cin·kH·kW]` for the temporal-tap lowerings, one GEMM operand per
    /// tap (kept instead of the original, not beside it).
    let packed: Tensor
    /// The F(2x2, 3x3) form of a 1x3x3 conv, used instead of im2col when the map and the
    /// scratch are large enough (`Winograd.fits`).
    let winograd: Winograd?
    /// The direct form of a conv with up to 36 output channels on a CPU with AVX-512, used
    /// before the others where the output rows hold whole vectors (`DirectConv.fits`).
    let direct: DirectConv?

    /// A conv with the given parameters.
    /// - Precondition: `weight` is rank 5 and `bias`, when present, has `weight.shape[0]` values.
    public init(weight: Tensor, bias: Tensor? = nil, stride: Dim3 = Dim3(all: 1), padding: Dim3 = Dim3(all: 0)) {
        precondition(weight.rank == 5, "conv3d weight must be [Cout, Cin, kT, kH, kW], got \(weight.shape)")
        self = weight.withUnsafeBufferPointer { w in
            Conv3d(
                weights: w, shape: weight.shape, scale: nil, bias: bias, stride: stride, padding: padding,
                original: weight)
        }
    }

    /// The one place a conv's weights are laid out: `weights` `[Cout, Cin, kT, kH, kW]`, each
    /// output channel `o` multiplied by `scale[o]` in double when `scale` is given (batch-norm
    /// folding), written once into the layout the GEMMs read (`packed`), and the Winograd form
    /// computed from those values. `original`, when given, holds the same values as `weights`
    /// and is kept as `packed` without a copy when nothing needs to change.
    init(
        weights w: UnsafeBufferPointer<Float>, shape: [Int], scale: [Double]?, bias: Tensor?, stride: Dim3,
        padding: Dim3, original: Tensor? = nil
    ) {
        precondition(shape.count == 5, "conv3d weight must be [Cout, Cin, kT, kH, kW], got \(shape)")
        precondition(
            w.count == shape.reduce(1, *),
            "conv3d weight of shape \(shape) needs \(shape.reduce(1, *)) values, got \(w.count)")
        precondition(bias == nil || bias!.shape == [shape[0]], "conv3d bias must be [\(shape[0])], got \(bias!.shape)")
        precondition(scale == nil || scale!.count == shape[0], "conv3d scale must have \(shape[0]) values")
        self.bias = bias
        self.stride = stride
        self.padding = padding
        outChannels = shape[0]
        inChannels = shape[1]
        kernel = Dim3(shape[2], shape[3], shape[4])
        let spatialIdentity =
            kernel.h == 1 && kernel.w == 1 && stride.h == 1 && stride.w == 1 && padding.h == 0 && padding.w == 0
        if kernel.t == 1 && stride.t == 1 && padding.t == 0 && spatialIdentity {
            lowering = .pointwise
        } else if kernel.t > 1 && stride.t == 1 && spatialIdentity {
            lowering = .temporalTaps
        } else if kernel.t > 1 && stride.t == 1 && inChannels * kernel.h * kernel.w >= Self.minimumFrameRows {
            lowering = .frameIm2col
        } else {
            lowering = .im2col
        }
        let tapMajor = lowering == .temporalTaps || lowering == .frameIm2col
        if !tapMajor, scale == nil, let original {
            packed = original
        } else {
            packed = Tensor(shape: tapMajor ? [kernel.t, outChannels, inChannels * kernel.h * kernel.w] : shape) {
                out in
                adviseHugePages(UnsafeMutableRawPointer(out.baseAddress!), byteCount: 4 * out.count)
                Self.pack(
                    w, into: out, co: shape[0], ci: shape[1], kt: shape[2], plane: shape[3] * shape[4],
                    tapMajor: tapMajor, scale: scale)
            }
        }
        winograd =
            Winograd.applies(kernel: kernel, stride: stride, padding: padding, inChannels: inChannels)
            ? packed.withUnsafeBufferPointer {
                Winograd(
                    weight: $0.baseAddress!, tapMajor: tapMajor, outChannels: shape[0], inChannels: shape[1],
                    taps: shape[2], padding: padding.t)
            }
            : nil
        direct =
            DirectConv.applies(kernel: kernel, stride: stride, outChannels: outChannels)
            ? DirectConv(
                weight: w.baseAddress!, scale: scale, outChannels: outChannels, inChannels: inChannels, kernel: kernel,
                stride: stride, padding: padding)
            : nil
    }

    /// Copies `w [Cout][Cin][kT][plane]` into `out`, as stored or tap-major
    /// (`[kT][Cout][Cin·plane]`), each value of output channel `o` as `Float(Double(v) · scale[o])`
    /// when `scale` is given: one read of the source and one write of the result.
    static func pack(
        _ w: UnsafeBufferPointer<Float>, into t: UnsafeMutableBufferPointer<Float>, co: Int, ci: Int, kt: Int,
        plane: Int, tapMajor: Bool, scale: [Double]?
    ) {
        let (src, dst) = (w.baseAddress!, t.baseAddress!)
        let per = ci * kt * plane
        let k2d = ci * plane
        // One run of `count` values, scaled by `s` when given.
        func copy(_ from: UnsafePointer<Float>, _ to: UnsafeMutablePointer<Float>, _ count: Int, _ s: Double?) {
            if let s {
                for j in 0..<count { to[j] = Float(Double(from[j]) * s) }
            } else {
                to.update(from: from, count: count)
            }
        }
        for o in 0..<co {
            let s = scale?[o]
            if !tapMajor {
                copy(src + o * per, dst + o * per, per, s)
            } else if plane > 1 {
                for i in 0..<ci {
                    for d in 0..<kt {
                        copy(src + ((o * ci + i) * kt + d) * plane, dst + (d * co + o) * k2d + i * plane, plane, s)
                    }
                }
            } else {
                // kTx1x1: tap d of every input channel, a stride of kT apart in the source.
                for d in 0..<kt {
                    let (from, to) = (src + o * per + d, dst + (d * co + o) * k2d)
                    if let s {
                        for i in 0..<ci { to[i] = Float(Double(from[i * kt]) * s) }
                    } else {
                        for i in 0..<ci { to[i] = from[i * kt] }
                    }
                }
            }
        }
    }

    /// `[Cout, Cin, kT, kH, kW]`.
    public var weight: Tensor {
        guard lowering == .temporalTaps || lowering == .frameIm2col else { return packed }
        let (co, kt, k2d, plane) = (outChannels, kernel.t, kernelRows2D, kernel.h * kernel.w)
        var w = Tensor(shape: [co, inChannels, kt, kernel.h, kernel.w])
        for o in 0..<co {
            for i in 0..<inChannels {
                for d in 0..<kt {
                    for q in 0..<plane {
                        w.data[((o * inChannels + i) * kt + d) * plane + q] =
                            packed.data[(d * co + o) * k2d + i * plane + q]
                    }
                }
            }
        }
        return w
    }

    /// Whether this CPU runs the direct kernels (`DirectConv`: AVX-512F).
    public static var directKernelsAvailable: Bool { DirectConv.available }

    /// What `forward(clip:…)` runs on a map of `size` with `scratchCount` floats and `threads`
    /// workers: "direct" or "winograd" where that form fits, else the lowering's name.
    public func method(input size: Dim3, scratchCount: Int, threads: Int) -> String {
        if let direct, direct.fits(size: size, scratchCount: scratchCount) { return "direct" }
        if let winograd, winograd.fits(size: size, scratchCount: scratchCount, workers: max(1, threads)) {
            return "winograd"
        }
        return "\(lowering)"
    }

    /// Rows of the within-frame im2col: Cin·kH·kW.
    var kernelRows2D: Int { inChannels * kernel.h * kernel.w }

    /// The geometry of this conv on an input map of `size`.
    public func geometry(input size: Dim3) -> Conv3dGeometry {
        Conv3dGeometry(inChannels: inChannels, input: size, kernel: kernel, stride: stride, padding: padding)
    }

    /// Output map size for an input map of `size`.
    public func outputSize(_ size: Dim3) -> Dim3 { geometry(input: size).output }

    /// Scratch floats for the untiled lowering on `size`: the whole im2col matrix (`im2col`:
    /// K·N; `frameIm2col`: Cin·kH·kW rows over every frame a tap reads), none otherwise.
    /// `forward(clip:…)` works with less, tile by tile, down to `minimumScratchCount`.
    public func fullScratchCount(input size: Dim3) -> Int {
        let g = geometry(input: size)
        switch lowering {
        case .pointwise, .temporalTaps: return 0
        case .im2col: return g.k * g.n
        case .frameIm2col: return kernelRows2D * (g.output.t + kernel.t - 1) * g.output.h * g.output.w
        }
    }

    /// The least scratch `forward(clip:…)` accepts with `threads` workers: one output
    /// position per worker (its im2col column and, for `frameIm2col`, its output column).
    public func minimumScratchCount(threads: Int) -> Int {
        switch lowering {
        case .pointwise, .temporalTaps: return 0
        case .im2col: return max(1, threads) * inChannels * kernel.volume
        case .frameIm2col: return max(1, threads) * (kernelRows2D * kernel.t + outChannels)
        }
    }

    /// `frameIm2col` needs this many rows per tap (Cin·kH·kW); below it the taps' GEMMs are
    /// too thin and full im2col wins (C3D's conv1 on RGB: 27 rows per tap, 81 in one GEMM).
    public static let minimumFrameRows = 32

    /// Target floats of one tile's working set (its im2col columns plus its output columns),
    /// per thread: 1 MB, the L2 of one Zen 4 core, so the GEMM packs the tile from L2 and the
    /// epilogue finds the outputs there. (At 4 MB, a share of L3, one R(2+1)D-26 clip on 2
    /// threads took about 8 % longer, in runs alternating the two sizes in one process.)
    public static let tileTargetFloats = 1 << 18

    /// Tiles have at least this many output positions whatever their working set: a GEMM
    /// repacks (and rereads) the whole weight matrix for each tile, so narrower tiles of convs
    /// with large weights (C3D's conv4b and conv5: 9.4 MB per tap) cost more than they save.
    public static let minimumTileColumns = 256

    /// Below this many output positions per thread, threads split the output channels
    /// instead of the positions (a GEMM with a narrow N runs slowly; layers 3 and 4).
    public static let minColumnsPerThread = 256

    /// One clip: `x [Cin, T, H, W]` (size `size`) to `y [Cout, T', H', W']`, then
    /// `y = act(y + bias + residual)` with `residual [Cout, T', H', W']` when given.
    ///
    /// `scratch` holds `scratchCount` floats (at least `minimumScratchCount(threads:)`; more
    /// gives bigger tiles, and `fullScratchCount` lets small maps split by channels). `y` must
    /// not alias `x`, `residual` or `scratch`.
    ///
    /// Work is split over `threads` workers by tiles of output positions: each worker runs
    /// im2col, single-threaded sgemms and the epilogue on its own tile while it is in cache,
    /// with no synchronisation between tiles. Maps too small for that split the output
    /// channels instead. OpenBLAS itself is kept at one thread (set process-wide when it is
    /// not), so concurrent callers never oversubscribe the cores.
    public func forward(
        clip x: UnsafePointer<Float>, size: Dim3, into y: UnsafeMutablePointer<Float>,
        residual: UnsafePointer<Float>? = nil, relu: Bool = false,
        scratch: UnsafeMutablePointer<Float>?, scratchCount: Int, threads: Int = 1
    ) {
        run(
            x, size: size, y, residual: residual, relu: relu, accumulate: false, scratch: scratch,
            scratchCount: scratchCount, threads: threads)
    }

    /// `y = act(y + conv(x) + bias)`: the residual already sits in `y` and the GEMMs add to it
    /// (beta 1), so a ResNet block's last conv neither zeroes its output first nor reads a
    /// separate shortcut map (layer 1 of R(2+1)D-26: 12.8 MB each, twice per block).
    /// Pointwise and im2col lowerings only (a block's 1x1x1 conv3). `y` must not alias `x`
    /// or `scratch`.
    public func forward(
        clip x: UnsafePointer<Float>, size: Dim3, accumulatingInto y: UnsafeMutablePointer<Float>, relu: Bool = false,
        scratch: UnsafeMutablePointer<Float>?, scratchCount: Int, threads: Int = 1
    ) {
        precondition(
            lowering == .pointwise || lowering == .im2col,
            "conv3d \(kernel) cannot accumulate into its output (\(lowering) lowering)")
        run(
            x, size: size, y, residual: nil, relu: relu, accumulate: true, scratch: scratch, scratchCount: scratchCount,
            threads: threads)
    }

    /// Both `forward(clip:…)` forms: checks the scratch and runs the tiles.
    private func run(
        _ x: UnsafePointer<Float>, size: Dim3, _ y: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?,
        relu: Bool,
        accumulate: Bool, scratch: UnsafeMutablePointer<Float>?, scratchCount: Int, threads: Int
    ) {
        let g = geometry(input: size)
        if g.n == 0 || outChannels == 0 { return }
        let workers = max(1, threads)
        precondition(
            scratchCount >= minimumScratchCount(threads: workers)
                && (scratch != nil || minimumScratchCount(threads: 1) == 0),
            "conv3d \(kernel) needs \(minimumScratchCount(threads: workers)) scratch floats for \(workers) threads, got \(scratchCount)"
        )
        if BLAS.threads != 1 { BLAS.setThreads(1) }
        let run = Run(
            conv: self, g: g, x: x, y: y, residual: residual, relu: relu, accumulate: accumulate, scratch: scratch,
            scratchCount: scratchCount, workers: workers)
        packed.withUnsafeBufferPointer { w in
            bias.withOptionalPointer { b in
                run.execute(w.baseAddress!, b)
            }
        }
    }

    /// One forward call's fixed arguments, so the tile loops read like the algorithm.
    private struct Run {
        let conv: Conv3d
        let g: Conv3dGeometry
        let x: UnsafePointer<Float>
        let y: UnsafeMutablePointer<Float>
        let residual: UnsafePointer<Float>?
        let relu: Bool
        /// The GEMMs add to `y` (beta 1) instead of overwriting it.
        let accumulate: Bool
        let scratch: UnsafeMutablePointer<Float>?
        let scratchCount: Int
        let workers: Int

        var m: Int { conv.outChannels }
        var n: Int { g.n }
        /// Beta of the GEMMs that write `y` directly.
        var beta: Float { accumulate ? 1 : 0 }
        /// Output positions per frame.
        var plane: Int { g.output.h * g.output.w }

        func execute(_ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?) {
            let epilogue = { (rows: Range<Int>, cols: Range<Int>) in
                applyEpilogue(y, rowLength: n, rows: rows, columns: cols, bias: bias, residual: residual, relu: relu)
            }
            if !accumulate, let direct = conv.direct, let scratch,
                direct.fits(size: g.input, scratchCount: scratchCount)
            {
                direct.forward(
                    clip: x, size: g.input, into: y, bias: bias, residual: residual, relu: relu, scratch: scratch,
                    workers: workers)
                return
            }
            if !accumulate, let winograd = conv.winograd, let scratch,
                winograd.fits(size: g.input, scratchCount: scratchCount, workers: workers)
            {
                winograd.forward(
                    clip: x, size: g.input, into: y, bias: bias, residual: residual, relu: relu,
                    scratch: scratch, scratchCount: scratchCount, workers: workers,
                    tileTargetFloats: Conv3d.tileTargetFloats)
                return
            }
            let full = conv.fullScratchCount(input: g.input)
            if workers > 1 && n / workers < Conv3d.minColumnsPerThread && full <= scratchCount {
                splitChannels(w, epilogue)
            } else if conv.lowering == .pointwise || conv.lowering == .im2col {
                columnTiles(w, epilogue)
            } else {
                frameTiles(w, bias, epilogue)
            }
        }

        /// Small maps: one shared im2col (if any), then each worker computes its output
        /// channels over every position.
        func splitChannels(_ w: UnsafePointer<Float>, _ epilogue: (Range<Int>, Range<Int>) -> Void) {
            switch conv.lowering {
            case .pointwise:
                parallelRanges(m, threads: workers) { rows in
                    gemm(
                        .none, .none, m: rows.count, n: n, k: g.inChannels, a: w + rows.lowerBound * g.inChannels,
                        lda: g.inChannels, b: x, ldb: n, beta: beta, c: y + rows.lowerBound * n, ldc: n)
                    epilogue(rows, 0..<n)
                }
            case .im2col:
                im2col3d(x, geometry: g, columns: 0..<n, into: scratch!, threads: workers)
                parallelRanges(m, threads: workers) { rows in
                    gemm(
                        .none, .none, m: rows.count, n: n, k: g.k, a: w + rows.lowerBound * g.k, lda: g.k, b: scratch!,
                        ldb: n, beta: beta, c: y + rows.lowerBound * n, ldc: n)
                    epilogue(rows, 0..<n)
                }
            case .temporalTaps:
                parallelRanges(m, threads: workers) { rows in
                    temporalTaps(w, rows: rows, frames: 0..<g.output.t)
                    epilogue(rows, 0..<n)
                }
            case .frameIm2col:
                let outT = g.output.t
                frameColumns(frames: 0..<outT, positions: 0..<plane, into: scratch!, threads: workers)
                parallelRanges(m, threads: workers) { rows in
                    frameTaps(
                        w, rows: rows, frames: 0..<outT, positions: 0..<plane, columns: scratch!,
                        into: y + rows.lowerBound * n, ldc: n)
                    epilogue(rows, 0..<n)
                }
            }
        }

        /// `pointwise` and `im2col`: tiles of consecutive output positions.
        func columnTiles(_ w: UnsafePointer<Float>, _ epilogue: (Range<Int>, Range<Int>) -> Void) {
            let k = conv.lowering == .pointwise ? g.inChannels : g.k
            let perWorker = conv.lowering == .im2col ? scratchCount / workers : 0
            var width = max(Conv3d.minimumTileColumns, Conv3d.tileTargetFloats / (k + m))
            if conv.lowering == .im2col { width = min(width, perWorker / k) }
            let tiles = balancedTiles(n, width)
            parallelFor(min(workers, tiles), threads: workers) { worker in
                let columns = conv.lowering == .im2col ? scratch! + worker * perWorker : nil
                for t in Swift.stride(from: worker, to: tiles, by: workers) {
                    let cols = (t * n / tiles)..<((t + 1) * n / tiles)
                    if let columns {
                        im2col3d(x, geometry: g, columns: cols, into: columns)
                        gemm(
                            .none, .none, m: m, n: cols.count, k: k, a: w, lda: k, b: columns, ldb: cols.count,
                            beta: beta, c: y + cols.lowerBound, ldc: n)
                    } else {
                        gemm(
                            .none, .none, m: m, n: cols.count, k: k, a: w, lda: k, b: x + cols.lowerBound, ldb: n,
                            beta: beta, c: y + cols.lowerBound, ldc: n)
                    }
                    epilogue(0..<m, cols)
                }
            }
        }

        /// `temporalTaps` and `frameIm2col`: tiles of (output frames × positions within a
        /// frame). Whole frames when they fit; otherwise the tile's outputs go to a buffer
        /// and the epilogue moves them into place.
        func frameTiles(
            _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?, _ epilogue: (Range<Int>, Range<Int>) -> Void
        ) {
            let outT = g.output.t
            if conv.lowering == .temporalTaps {
                // The input is the GEMM operand: tiles are whole frames.
                let frames = balancedTiles(outT, max(1, Conv3d.tileTargetFloats / ((g.inChannels + m) * plane)))
                parallelFor(min(workers, frames), threads: workers) { worker in
                    for t in Swift.stride(from: worker, to: frames, by: workers) {
                        let f = (t * outT / frames)..<((t + 1) * outT / frames)
                        temporalTaps(w, rows: 0..<m, frames: f)
                        epilogue(0..<m, (f.lowerBound * plane)..<(f.upperBound * plane))
                    }
                }
                return
            }
            let k2d = conv.kernelRows2D
            let kT = conv.kernel.t
            let perWorker = scratchCount / workers
            // Tile of F frames x S positions: columns k2d x (F + kT - 1) x S, outputs m x F x S.
            func need(_ f: Int, _ s: Int) -> Int { k2d * (f + kT - 1) * s + (s == plane ? 0 : m * f * s) }
            let budget = min(perWorker, max(Conv3d.tileTargetFloats, need(1, min(plane, Conv3d.minimumTileColumns))))
            var f = outT
            var s = min(plane, max(1, budget / (k2d * (f + kT - 1) + m * f)))
            while f > 1 && s < min(plane, 64) {
                f = (f + 1) / 2
                s = min(plane, max(1, budget / (k2d * (f + kT - 1) + m * f)))
            }
            if need(f, plane) <= budget { s = plane }
            while need(f, s) > perWorker && s > 1 { s -= max(1, s / 8) }
            // Whole frames split first when the map fits fewer tiles than workers: the
            // kT - 1 halo frames cost less than narrow, copied-back position tiles.
            let frameTiles = max(balancedTiles(outT, f, round: 1), min(outT, workers))
            let positionTiles = balancedTiles(plane, s, round: 1)
            let tiles = frameTiles * positionTiles
            parallelFor(min(workers, tiles), threads: workers) { worker in
                let columns = scratch! + worker * perWorker
                for t in Swift.stride(from: worker, to: tiles, by: workers) {
                    let (ft, pt) = (t / positionTiles, t % positionTiles)
                    let frames = (ft * outT / frameTiles)..<((ft + 1) * outT / frameTiles)
                    let positions = (pt * plane / positionTiles)..<((pt + 1) * plane / positionTiles)
                    frameColumns(frames: frames, positions: positions, into: columns, threads: 1)
                    if positions.count == plane {
                        frameTaps(
                            w, rows: 0..<m, frames: frames, positions: positions, columns: columns,
                            into: y + frames.lowerBound * plane, ldc: n)
                        epilogue(0..<m, (frames.lowerBound * plane)..<(frames.upperBound * plane))
                    } else {
                        let outputs = columns + k2d * (frames.count + kT - 1) * positions.count
                        let width = frames.count * positions.count
                        frameTaps(
                            w, rows: 0..<m, frames: frames, positions: positions, columns: columns, into: outputs,
                            ldc: width)
                        for (i, frame) in frames.enumerated() {
                            applyEpilogue(
                                from: outputs + i * positions.count, sourceRowLength: width, into: y, rowLength: n,
                                rows: 0..<m,
                                columns: (frame * plane + positions.lowerBound)..<(frame * plane + positions.upperBound),
                                bias: bias, residual: residual, relu: relu)
                        }
                    }
                }
            }
        }

        /// Number of tiles of at most `width` units covering `count`, rounded up to whole rounds
        /// of workers (so no worker idles at the end; `round` overrides the rounding). Without
        /// `round` there are at least as many tiles as workers: a map that fits one tile
        /// (layers 2 and 3) still keeps every core busy.
        func balancedTiles(_ count: Int, _ width: Int, round: Int? = nil) -> Int {
            var tiles = (count + max(1, width) - 1) / max(1, width)
            let r = round ?? workers
            tiles = (tiles + r - 1) / r * r
            return max(1, min(count, tiles))
        }

        /// The output frames of tap d whose input frame (f - pT + d) exists, within `frames`.
        func valid(_ d: Int, _ frames: Range<Int>) -> Range<Int> {
            let pT = conv.padding.t
            let lo = max(frames.lowerBound, pT - d)
            return lo..<max(lo, min(frames.upperBound, g.input.t + pT - d))
        }

        /// Taps in the order to run them: first one that covers every frame of `frames` (its
        /// GEMM overwrites, beta 0), if any; nil means the outputs must be zeroed first.
        func tapOrder(_ frames: Range<Int>) -> (order: [Int], first: Int?) {
            let first = (0..<conv.kernel.t).first { valid($0, frames) == frames }
            return ((first.map { [$0] } ?? []) + (0..<conv.kernel.t).filter { $0 != first }, first)
        }

        /// `temporalTaps` for output channels `rows` and output frames `frames`:
        /// `y = sum_d W_d · x shifted by (d - pT) frames`, straight from the input.
        func temporalTaps(_ taps: UnsafePointer<Float>, rows: Range<Int>, frames: Range<Int>) {
            let (k, pT, inFrame) = (g.inChannels, conv.padding.t, g.input.h * g.input.w)
            let (order, first) = tapOrder(frames)
            if first == nil {
                for r in rows {
                    (y + r * n + frames.lowerBound * plane).initialize(repeating: 0, count: frames.count * plane)
                }
            }
            for d in order {
                let f = valid(d, frames)
                if f.isEmpty { continue }
                gemm(
                    .none, .none, m: rows.count, n: f.count * plane, k: k,
                    a: taps + (d * m + rows.lowerBound) * k, lda: k,
                    b: x + (f.lowerBound - pT + d) * inFrame, ldb: g.input.t * inFrame,
                    beta: d == first ? 0 : 1, c: y + rows.lowerBound * n + f.lowerBound * plane, ldc: n)
            }
        }

        /// Within-frame im2col for the output `frames` x `positions` tile: slot j of the
        /// columns holds input frame (frames.lowerBound - pT + j), for j in 0..<(F + kT - 1),
        /// as `[Cin·kH·kW][F + kT - 1][S]`. Slots of missing (padding) frames stay unwritten;
        /// the taps never read them.
        func frameColumns(
            frames: Range<Int>, positions: Range<Int>, into columns: UnsafeMutablePointer<Float>, threads: Int
        ) {
            let slots = frames.count + conv.kernel.t - 1
            let s = positions.count
            let perFrame = g.withinFrame
            for j in 0..<slots {
                let t = frames.lowerBound - conv.padding.t + j
                if t < 0 || t >= g.input.t { continue }
                im2col3d(
                    x, geometry: perFrame,
                    columns: (t * plane + positions.lowerBound)..<(t * plane + positions.upperBound),
                    into: columns + j * s, rowStride: slots * s, threads: threads)
            }
        }

        /// `frameIm2col` taps for output channels `rows`: `out = sum_d W_d · columns shifted by
        /// d slots`, into `out` (`[rows][F x S]` with row stride `ldc`).
        func frameTaps(
            _ taps: UnsafePointer<Float>, rows: Range<Int>, frames: Range<Int>, positions: Range<Int>,
            columns: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, ldc: Int
        ) {
            let (k, s) = (conv.kernelRows2D, positions.count)
            let slots = frames.count + conv.kernel.t - 1
            let (order, first) = tapOrder(frames)
            if first == nil {
                for r in 0..<rows.count { (out + r * ldc).initialize(repeating: 0, count: frames.count * s) }
            }
            for d in order {
                let f = valid(d, frames)
                if f.isEmpty { continue }
                let i = f.lowerBound - frames.lowerBound
                gemm(
                    .none, .none, m: rows.count, n: f.count * s, k: k,
                    a: taps + (d * m + rows.lowerBound) * k, lda: k,
                    b: columns + (i + d) * s, ldb: slots * s,
                    beta: d == first ? 0 : 1, c: out + i * s, ldc: ldc)
            }
        }
    }

    /// A batch: `x [N, Cin, T, H, W]` to `[N, Cout, T', H', W']`, allocating the output and an
    /// im2col scratch of at most `scratchLimit` floats (never less than the minimum).
    public func forward(_ x: Tensor, threads: Int = 1, scratchLimit: Int = 1 << 22) -> Tensor {
        precondition(
            x.rank == 5 && x.shape[1] == inChannels, "conv3d expects [N, \(inChannels), T, H, W], got \(x.shape)")
        let size = Dim3(x.shape[2], x.shape[3], x.shape[4])
        let out = outputSize(size)
        let scratchCount = max(minimumScratchCount(threads: threads), min(fullScratchCount(input: size), scratchLimit))
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(1, scratchCount))
        defer { scratch.deallocate() }
        let inCount = inChannels * size.volume
        let outCount = outChannels * out.volume
        return Tensor(shape: [x.shape[0], outChannels, out.t, out.h, out.w]) { y in
            x.withUnsafeBufferPointer { xp in
                for i in 0..<x.shape[0] {
                    forward(
                        clip: xp.baseAddress! + i * inCount, size: size, into: y.baseAddress! + i * outCount,
                        scratch: scratch, scratchCount: scratchCount, threads: threads)
                }
            }
        }
    }
}

/// The reference for `Conv3d.forward`: the seven nested loops of the definition with a double
/// accumulator. `x [N, Cin, T, H, W]`, `weight [Cout, Cin, kT, kH, kW]`, `bias [Cout]` →
/// `[N, Cout, T', H', W']`.
public func conv3dNaive(
    _ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Dim3 = Dim3(all: 1), padding: Dim3 = Dim3(all: 0)
) -> Tensor {
    let (nb, ci, co) = (x.shape[0], x.shape[1], weight.shape[0])
    precondition(weight.shape[1] == ci, "weight \(weight.shape) does not take \(ci) input channels")
    let g = Conv3dGeometry(
        inChannels: ci, input: Dim3(x.shape[2], x.shape[3], x.shape[4]),
        kernel: Dim3(weight.shape[2], weight.shape[3], weight.shape[4]), stride: stride, padding: padding)
    let (i, k, o) = (g.input, g.kernel, g.output)
    var out = Tensor(shape: [nb, co, o.t, o.h, o.w])
    for b in 0..<nb {
        for oc in 0..<co {
            for ot in 0..<o.t {
                for oh in 0..<o.h {
                    for ow in 0..<o.w {
                        var sum = Double(bias?.data[oc] ?? 0)
                        for ic in 0..<ci {
                            for dt in 0..<k.t {
                                let t = ot * stride.t - padding.t + dt
                                if t < 0 || t >= i.t { continue }
                                for dh in 0..<k.h {
                                    let h = oh * stride.h - padding.h + dh
                                    if h < 0 || h >= i.h { continue }
                                    for dw in 0..<k.w {
                                        let w = ow * stride.w - padding.w + dw
                                        if w < 0 || w >= i.w { continue }
                                        let xv = x.data[(((b * ci + ic) * i.t + t) * i.h + h) * i.w + w]
                                        let wv = weight.data[(((oc * ci + ic) * k.t + dt) * k.h + dh) * k.w + dw]
                                        sum += Double(xv) * Double(wv)
                                    }
                                }
                            }
                        }
                        out.data[(((b * co + oc) * o.t + ot) * o.h + oh) * o.w + ow] = Float(sum)
                    }
                }
            }
        }
    }
    return out
}
