import Tensor

/// 3D convolution (PyTorch `nn.Conv3d`, groups 1, dilation 1, zero padding).
///
/// Shapes: input `[N, Cin, T, H, W]`, weight `[Cout, Cin, kT, kH, kW]`, bias `[Cout]` (optional),
/// output `[N, Cout, T', H', W']` with `T' = (T + 2 pT - kT) / sT + 1` (floor), and so on.
///
/// The forward pass runs clip by clip as `out[Cout, N'] = W[Cout, K] · col[K, N']` and picks the
/// cheapest lowering for the kernel (BACKBONE.md §4):
/// - `pointwise`: 1x1x1, stride 1, no padding: the input already is `col`, one bare sgemm.
/// - `temporalTaps`: kTx1x1, stride 1, padding only in time: one sgemm per tap on the input
///   shifted by whole frames (an offset of H·W floats), accumulated into the output. No im2col.
/// - `im2col`: everything else: im2col (tiled over output positions so the scratch stays
///   bounded) and one sgemm per tile.
///
/// Bias, a residual and ReLU are applied in one fused pass after the GEMMs (`applyEpilogue`).
/// The layer holds no mutable state, so one instance serves concurrent callers. (Training will
/// add `backward` beside `forward` here, keeping the im2col tiles it needs in a cache.)
public struct Conv3d: Sendable {
    /// How the convolution is lowered to GEMMs.
    public enum Lowering: Sendable, Equatable {
        case pointwise
        case temporalTaps
        case im2col
    }

    public let inChannels: Int
    public let outChannels: Int
    public let kernel: Dim3
    public let stride: Dim3
    public let padding: Dim3
    /// `[Cout, Cin, kT, kH, kW]`.
    public var weight: Tensor {
        guard lowering == .temporalTaps else { return packed }
        let (co, ci, kt) = (outChannels, inChannels, kernel.t)
        var w = Tensor(shape: [co, ci, kt, 1, 1])
        for o in 0..<co { for i in 0..<ci { for d in 0..<kt { w.data[(o * ci + i) * kt + d] = packed.data[(d * co + o) * ci + i] } } }
        return w
    }
    /// `[Cout]`, or nil for a bias-free conv.
    public let bias: Tensor?
    public let lowering: Lowering
    /// The weight as the GEMMs read it: `[Cout, K]` as stored, or for `temporalTaps` regrouped
    /// as `[kT][Cout][Cin]`, one GEMM operand per tap (kept instead of the original, not beside it).
    let packed: Tensor

    /// A conv with the given parameters.
    /// - Precondition: `weight` is rank 5 and `bias`, when present, has `weight.shape[0]` values.
    public init(weight: Tensor, bias: Tensor? = nil, stride: Dim3 = Dim3(all: 1), padding: Dim3 = Dim3(all: 0)) {
        precondition(weight.rank == 5, "conv3d weight must be [Cout, Cin, kT, kH, kW], got \(weight.shape)")
        precondition(bias == nil || bias!.shape == [weight.shape[0]], "conv3d bias must be [\(weight.shape[0])], got \(bias!.shape)")
        self.bias = bias
        self.stride = stride
        self.padding = padding
        outChannels = weight.shape[0]
        inChannels = weight.shape[1]
        kernel = Dim3(weight.shape[2], weight.shape[3], weight.shape[4])
        let unitStride = stride == Dim3(all: 1)
        if kernel == Dim3(all: 1) && unitStride && padding == Dim3(all: 0) {
            lowering = .pointwise
        } else if kernel.h == 1 && kernel.w == 1 && kernel.t > 1 && unitStride && padding.h == 0 && padding.w == 0 {
            lowering = .temporalTaps
        } else {
            lowering = .im2col
        }
        if lowering == .temporalTaps {
            let (co, ci, kt) = (weight.shape[0], weight.shape[1], weight.shape[2])
            var taps = Tensor(shape: [kt, co, ci])
            for o in 0..<co { for i in 0..<ci { for d in 0..<kt { taps.data[(d * co + o) * ci + i] = weight.data[(o * ci + i) * kt + d] } } }
            packed = taps
        } else {
            packed = weight
        }
    }

    /// The geometry of this conv on an input map of `size`.
    public func geometry(input size: Dim3) -> Conv3dGeometry {
        Conv3dGeometry(inChannels: inChannels, input: size, kernel: kernel, stride: stride, padding: padding)
    }

    /// Output map size for an input map of `size`.
    public func outputSize(_ size: Dim3) -> Dim3 { geometry(input: size).output }

    /// Scratch floats for the whole im2col matrix on `size` (K·N for the `im2col` lowering,
    /// none otherwise). `forward(clip:…)` works with less (tiles), down to `threads · K`.
    public func fullScratchCount(input size: Dim3) -> Int {
        lowering == .im2col ? geometry(input: size).k * geometry(input: size).n : 0
    }

    /// Target floats of one tile's working set (its im2col columns plus its output columns),
    /// per thread: about a megabyte, so the GEMM reads the tile from L2 and the epilogue finds
    /// the outputs still there.
    public static let tileTargetFloats = 1 << 18

    /// Below this many output positions per thread, threads split the output channels
    /// instead of the positions (a GEMM with a narrow N runs slowly; layers 3 and 4).
    public static let minColumnsPerThread = 256

    /// One clip: `x [Cin, T, H, W]` (size `size`) to `y [Cout, T', H', W']`, then
    /// `y = act(y + bias + residual)` with `residual [Cout, T', H', W']` when given.
    ///
    /// `scratch` holds `scratchCount` floats for im2col (at least `threads * K`; more gives
    /// bigger tiles, and `K * N` lets small maps split by channels). `y` must not alias `x`,
    /// `residual` or `scratch`.
    ///
    /// Work is split over `threads` workers by tiles of output positions: each worker runs
    /// im2col, a single-threaded sgemm and the epilogue on its own tile while it is in cache,
    /// with no synchronisation between tiles. Maps too small for that split the output
    /// channels instead. OpenBLAS itself is kept at one thread (set process-wide when it is
    /// not), so concurrent callers never oversubscribe the cores.
    public func forward(
        clip x: UnsafePointer<Float>, size: Dim3, into y: UnsafeMutablePointer<Float>,
        residual: UnsafePointer<Float>? = nil, relu: Bool = false,
        scratch: UnsafeMutablePointer<Float>?, scratchCount: Int, threads: Int = 1
    ) {
        let g = geometry(input: size)
        let (m, n) = (outChannels, g.n)
        if n == 0 || m == 0 { return }
        let k = lowering == .pointwise ? inChannels : lowering == .temporalTaps ? inChannels * kernel.t : g.k
        let workers = max(1, threads)
        if BLAS.threads != 1 { BLAS.setThreads(1) }
        // Tiles are whole output frames for the temporal taps (a tap shifts whole frames).
        let unit = lowering == .temporalTaps ? g.output.h * g.output.w : 1
        let units = n / unit
        let bias = self.bias
        packed.withUnsafeBufferPointer { packedWeights in
            bias.withOptionalPointer { b in
                let w = packedWeights.baseAddress!
                let epilogue = { (rows: Range<Int>, cols: Range<Int>) in
                    applyEpilogue(y, rowLength: n, rows: rows, columns: cols, bias: b, residual: residual, relu: relu)
                }
                let fullIm2col = lowering == .im2col ? k * n : 0
                if workers > 1 && n / workers < Self.minColumnsPerThread && fullIm2col <= scratchCount {
                    // Split the output channels: one shared im2col, then each worker's rows.
                    if lowering == .im2col { im2col3d(x, geometry: g, columns: 0..<n, into: scratch!, threads: workers) }
                    parallelRanges(m, threads: workers) { rows in
                        compute(w, x, g, rows: rows, units: 0..<units, unit: unit, y: y, columns: scratch.map { UnsafePointer($0) }, columnStride: n)
                        epilogue(rows, 0..<n)
                    }
                    return
                }
                let perWorker = lowering == .im2col ? scratchCount / workers : 0
                precondition(lowering != .im2col || (scratch != nil && perWorker >= k), "conv3d \(kernel) needs \(workers * k) scratch floats, got \(scratchCount)")
                var tileUnits = max(1, Self.tileTargetFloats / ((k + m) * unit))
                if lowering == .im2col { tileUnits = min(tileUnits, perWorker / k) }
                var tiles = (units + tileUnits - 1) / tileUnits
                tiles = min(units, (tiles + workers - 1) / workers * workers)  // whole rounds of workers
                parallelFor(min(workers, tiles), threads: workers) { worker in
                    let myScratch = lowering == .im2col ? scratch! + worker * perWorker : nil
                    for t in Swift.stride(from: worker, to: tiles, by: workers) {
                        let range = (t * units / tiles)..<((t + 1) * units / tiles)
                        let cols = (range.lowerBound * unit)..<(range.upperBound * unit)
                        if let myScratch { im2col3d(x, geometry: g, columns: cols, into: myScratch) }
                        compute(w, x, g, rows: 0..<m, units: range, unit: unit, y: y, columns: myScratch.map { UnsafePointer($0) }, columnStride: cols.count)
                        epilogue(0..<m, cols)
                    }
                }
            }
        }
    }

    /// The GEMMs for output channels `rows` and output units `units` (positions, or frames of
    /// `unit` positions for the temporal taps). For im2col, `columns` points at the first
    /// im2col column of `units`, its rows `columnStride` apart (N for the whole matrix, the
    /// tile width for a tile).
    private func compute(
        _ w: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ g: Conv3dGeometry, rows: Range<Int>, units: Range<Int>, unit: Int,
        y: UnsafeMutablePointer<Float>, columns: UnsafePointer<Float>?, columnStride: Int
    ) {
        let n = g.n
        let cols = (units.lowerBound * unit)..<(units.upperBound * unit)
        let out = y + rows.lowerBound * n + cols.lowerBound
        switch lowering {
        case .pointwise:
            gemm(.none, .none, m: rows.count, n: cols.count, k: inChannels, a: w + rows.lowerBound * inChannels, lda: inChannels, b: x + cols.lowerBound, ldb: n, c: out, ldc: n)
        case .im2col:
            gemm(.none, .none, m: rows.count, n: cols.count, k: g.k, a: w + rows.lowerBound * g.k, lda: g.k, b: columns!, ldb: columnStride, c: out, ldc: n)
        case .temporalTaps:
            temporalTaps(w, x, g, rows: rows, frames: units, y: y)
        }
    }

    /// kTx1x1 stride 1 on output frames `frames`: `y = sum_d W_d · x shifted by (d - pT)
    /// frames`, one GEMM per tap over the frames whose input frame exists (the others see
    /// zero padding), accumulated into `y`.
    private func temporalTaps(_ taps: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ g: Conv3dGeometry, rows: Range<Int>, frames: Range<Int>, y: UnsafeMutablePointer<Float>) {
        let plane = g.input.h * g.input.w
        let n = g.n
        let pT = padding.t
        // Tap d reads input frame (to - pT + d) for output frame to.
        func valid(_ d: Int) -> Range<Int> {
            let lo = max(frames.lowerBound, pT - d)
            return lo..<max(lo, min(frames.upperBound, g.input.t + pT - d))
        }
        // The first GEMM overwrites y (beta 0) when one tap covers every frame of the range.
        let first = (0..<kernel.t).first { valid($0) == frames }
        if first == nil {
            for r in rows { (y + r * n + frames.lowerBound * plane).initialize(repeating: 0, count: frames.count * plane) }
        }
        let order = (first.map { [$0] } ?? []) + (0..<kernel.t).filter { $0 != first }
        for d in order {
            let r = valid(d)
            if r.isEmpty { continue }
            gemm(
                .none, .none, m: rows.count, n: r.count * plane, k: inChannels,
                a: taps + (d * outChannels + rows.lowerBound) * inChannels, lda: inChannels,
                b: x + (r.lowerBound - pT + d) * plane, ldb: g.input.t * plane,
                beta: d == first ? 0 : 1, c: y + rows.lowerBound * n + r.lowerBound * plane, ldc: n)
        }
    }

    /// A batch: `x [N, Cin, T, H, W]` to `[N, Cout, T', H', W']`, allocating the output and an
    /// im2col scratch of at most `scratchLimit` floats.
    public func forward(_ x: Tensor, threads: Int = 1, scratchLimit: Int = 1 << 22) -> Tensor {
        precondition(x.rank == 5 && x.shape[1] == inChannels, "conv3d expects [N, \(inChannels), T, H, W], got \(x.shape)")
        let size = Dim3(x.shape[2], x.shape[3], x.shape[4])
        let out = outputSize(size)
        let g = geometry(input: size)
        let scratchCount = lowering == .im2col ? max(threads * g.k, min(fullScratchCount(input: size), scratchLimit)) : 0
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(1, scratchCount))
        defer { scratch.deallocate() }
        let inCount = inChannels * size.volume, outCount = outChannels * out.volume
        return Tensor(shape: [x.shape[0], outChannels, out.t, out.h, out.w]) { y in
            x.withUnsafeBufferPointer { xp in
                for i in 0..<x.shape[0] {
                    forward(clip: xp.baseAddress! + i * inCount, size: size, into: y.baseAddress! + i * outCount, scratch: scratch, scratchCount: scratchCount, threads: threads)
                }
            }
        }
    }
}

/// The reference for `Conv3d.forward`: the seven nested loops of the definition with a double
/// accumulator. `x [N, Cin, T, H, W]`, `weight [Cout, Cin, kT, kH, kW]`, `bias [Cout]` →
/// `[N, Cout, T', H', W']`.
public func conv3dNaive(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Dim3 = Dim3(all: 1), padding: Dim3 = Dim3(all: 0)) -> Tensor {
    let (nb, ci, co) = (x.shape[0], x.shape[1], weight.shape[0])
    precondition(weight.shape[1] == ci, "weight \(weight.shape) does not take \(ci) input channels")
    let g = Conv3dGeometry(inChannels: ci, input: Dim3(x.shape[2], x.shape[3], x.shape[4]), kernel: Dim3(weight.shape[2], weight.shape[3], weight.shape[4]), stride: stride, padding: padding)
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

extension Optional where Wrapped == Tensor {
    /// The storage of the tensor, or nil, for the duration of `body`.
    func withOptionalPointer<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        switch self {
        case .some(let t): return t.withUnsafeBufferPointer { body($0.baseAddress) }
        case .none: return body(nil)
        }
    }
}
