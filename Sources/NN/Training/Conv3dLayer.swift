import Tensor

/// A trainable 3D convolution (PyTorch `nn.Conv3d`, groups 1, dilation 1, zero padding); a 2D
/// convolution is the 1xkxk case on maps of any length (one frame for an image).
///
/// Shapes: `x [N, Cin, T, H, W]`, `weight [Cout, Cin, kT, kH, kW]`, `bias [Cout]` (optional),
/// `y [N, Cout, T', H', W']` (PyTorch's floor rule).
///
/// `forward` runs the inference `Conv3d` clip by clip and names its cache: the input `x`
/// (the im2col tiles are recomputed in `backward`, which costs 5-15% of the conv and saves
/// the largest buffers of the network). `backward` lowers the weight gradient per clip:
/// - 1x1x1, stride 1: `dW += dy · xᵀ`, `dx = Wᵀ · dy` (bare GEMMs on the maps);
/// - kTx1x1, stride 1, padding in time only: one GEMM pair per tap on maps shifted by whole
///   frames, no im2col (docs/backbone.md §4);
/// - kTxkHxkW with stride 1 in time: within-frame columns once per clip, one GEMM per tap
///   (`frameWeightGradient`);
/// - everything else: im2col tiles, `dW += dy_tile · colᵀ`;
/// - but convs with up to 36 output channels on a CPU with AVX-512 take the direct kernel
///   instead of the last two where they can (`DirectConv`, `usesDirectWeightGradient`).
/// The input gradient of a stride-1 conv is the transposed conv run by the forward engine
/// (`transposed`); of a strided one, `dcol = Wᵀ · dy_tile` and col2im beside the im2col tiles.
///
/// Clips are split over `threads` workers, each with one OpenBLAS thread, its own scratch and
/// its own weight-gradient accumulator (summed at the end): the throughput mode that ran best
/// on this machine (docs/backbone.md §3, §5). A single clip uses the threads within the clip.
public final class Conv3dLayer: ParameterContainer {
    public let weight: Parameter
    public let bias: Parameter?
    public let stride: Dim3
    public let padding: Dim3

    /// A conv with the given initial values; parameters are named `<name>.weight` and
    /// `<name>.bias` (PyTorch's state-dict names).
    public init(
        name: String, weight: Tensor, bias: Tensor? = nil, stride: Dim3 = Dim3(all: 1), padding: Dim3 = Dim3(all: 0)
    ) {
        precondition(weight.rank == 5, "conv3d weight must be [Cout, Cin, kT, kH, kW], got \(weight.shape)")
        precondition(bias == nil || bias!.shape == [weight.shape[0]], "conv3d bias must be [\(weight.shape[0])]")
        self.weight = Parameter(name: name + ".weight", value: weight, kind: .weight)
        self.bias = bias.map { Parameter(name: name + ".bias", value: $0, kind: .bias) }
        self.stride = stride
        self.padding = padding
    }

    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }
    public var outChannels: Int { weight.shape[0] }
    public var inChannels: Int { weight.shape[1] }
    public var kernel: Dim3 { Dim3(weight.shape[2], weight.shape[3], weight.shape[4]) }

    public func geometry(input size: Dim3) -> Conv3dGeometry {
        Conv3dGeometry(inChannels: inChannels, input: size, kernel: kernel, stride: stride, padding: padding)
    }

    public func outputSize(_ size: Dim3) -> Dim3 { geometry(input: size).output }

    /// What `backward` needs from `forward`: the input.
    public struct Cache: Sendable {
        public let input: Tensor
    }

    /// `x [N, Cin, T, H, W]` → `y [N, Cout, T', H', W']`, and the cache for `backward`.
    public func forward(_ x: Tensor, threads: Int = 1) -> (Tensor, Cache) {
        precondition(
            x.rank == 5 && x.shape[1] == inChannels, "conv3d expects [N, \(inChannels), T, H, W], got \(x.shape)")
        let conv = Conv3d(weight: weight.value, bias: bias?.value, stride: stride, padding: padding)
        return (Self.convolve(conv, x, threads: threads), Cache(input: x))
    }

    /// `conv` (the inference engine) on every clip of `x`, clips split over `threads`, then
    /// (fused) plus `residual` (shaped like the output) and ReLU.
    public static func convolve(_ conv: Conv3d, _ x: Tensor, residual: Tensor? = nil, relu: Bool = false, threads: Int)
        -> Tensor
    {
        let n = x.shape[0]
        let size = Dim3(x.shape[2], x.shape[3], x.shape[4])
        let g = conv.geometry(input: size)
        let out = g.output
        precondition(
            residual.map { $0.shape == [n, conv.outChannels, out.t, out.h, out.w] } ?? true,
            "residual \(residual!.shape) does not match the conv's output")
        // Enough for any lowering the inference conv picks: a tile of up to 4 MB, never less
        // than one im2col column and output column per thread.
        let scratchCount = max(g.k + conv.outChannels, min(conv.fullScratchCount(input: size), 1 << 20))
        let inCount = conv.inChannels * size.volume
        let outCount = conv.outChannels * out.volume
        let (workers, inner) = split(clips: n, threads: threads)
        return Tensor(shape: [n, conv.outChannels, out.t, out.h, out.w]) { yp in
            let ybase = UncheckedSendable(yp.baseAddress!)
            x.withUnsafeBufferPointer { xp in
                residual.withOptionalPointer { rp in
                    let xbase = xp.baseAddress!
                    let rbase = rp.map(UncheckedSendable.init)
                    parallelRanges(n, threads: workers) { clips in
                        let scratchFloats = scratchCount * inner
                        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchFloats)
                        defer { scratch.deallocate() }
                        for i in clips {
                            conv.forward(
                                clip: xbase + i * inCount, size: size, into: ybase.value + i * outCount,
                                residual: rbase.map { $0.value + i * outCount }, relu: relu,
                                scratch: scratch, scratchCount: scratchFloats, threads: inner)
                        }
                    }
                }
            }
        }
    }

    /// For stride 1, the input gradient is itself a convolution: `dx[i] = sum_d W[d]ᵀ dy[i + p - d]`
    /// is `dy` convolved with the weight flipped in time and space, its channels swapped, and
    /// padding `k - 1 - p`, which gives back the input's size. Running it through the forward
    /// engine (Winograd, frame im2col, tiles) replaces the `Wᵀ · dy` GEMM and the col2im pass.
    static func transposed(_ w: Tensor, padding p: Dim3) -> Conv3d {
        let (co, ci, kt, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3], w.shape[4])
        var flipped = Tensor(shape: [ci, co, kt, kh, kw])
        w.withUnsafeBufferPointer { src in
            flipped.data.withUnsafeMutableBufferPointer { dst in
                for o in 0..<co {
                    for i in 0..<ci {
                        for d in 0..<kt {
                            for h in 0..<kh {
                                for x in 0..<kw {
                                    dst[(((i * co + o) * kt + kt - 1 - d) * kh + kh - 1 - h) * kw + kw - 1 - x] =
                                        src[(((o * ci + i) * kt + d) * kh + h) * kw + x]
                                }
                            }
                        }
                    }
                }
            }
        }
        return Conv3d(weight: flipped, padding: Dim3(kt - 1 - p.t, kh - 1 - p.h, kw - 1 - p.w))
    }

    /// Adds the weight (and bias) gradients of `dy [N, Cout, T', H', W']` into `grad` and
    /// returns the input gradient `[N, Cin, T, H, W]`, or nil when `inputGradient` is false
    /// (the first layer of a network: the clip needs none, and its col2im is the largest).
    public func backward(_ dy: Tensor, cache: Cache, inputGradient: Bool = true, threads: Int = 1) -> Tensor? {
        let x = cache.input
        let n = x.shape[0]
        let size = Dim3(x.shape[2], x.shape[3], x.shape[4])
        let g = geometry(input: size)
        let out = g.output
        precondition(
            dy.shape == [n, outChannels, out.t, out.h, out.w],
            "conv3d backward: dy \(dy.shape) does not match the forward output")
        let lowering = Self.lowering(kernel: kernel, stride: stride, padding: padding, inputGradient: inputGradient)
        // The input gradient: by the transposed conv for stride 1 (`transposed`), else by
        // col2im tiles beside the weight gradient's im2col tiles.
        let unit = stride == Dim3(all: 1)
        let transposedInput = inputGradient && unit && (lowering == .im2col || lowering == .frameIm2col)
        let col2im = inputGradient && lowering == .im2col && !transposedInput
        let (co, ci) = (outChannels, inChannels)
        // The weight-gradient accumulator's rows: K = Cin·kT·kH·kW, or per tap Cin·kH·kW.
        let k = g.k
        let k2d = ci * kernel.h * kernel.w
        let (taps, rows) = accumulatorBlocks(lowering)
        let transposedGradient = rows >= co
        let direct = usesDirectWeightGradient(inputGradient: inputGradient)
        // The weight as the GEMMs read it: [Cout, K], or per tap [kT][Cout][Cin].
        let packed: [Float] =
            lowering == .temporalTaps ? Self.packTaps(weight.value, co: co, ci: ci, kt: kernel.t) : weight.value.data
        let (workers, inner) = Self.split(clips: n, threads: threads)
        if BLAS.threads != 1 && inner == 1 { BLAS.setThreads(1) }
        let inCount = ci * size.volume
        let outCount = co * out.volume
        // Per worker: weight-gradient accumulator (GEMM layout) and bias-gradient accumulator.
        let partial = UnsafeMutablePointer<Float>.allocate(capacity: workers * co * k)
        partial.initialize(repeating: 0, count: workers * co * k)
        defer { partial.deallocate() }
        var biasPartial = [Double](repeating: 0, count: workers * co)
        let tileColumns = max(1, min(out.volume, (1 << 18) / max(1, k)))
        let hasBias = bias != nil
        let padT = padding.t
        // Scratch per worker: im2col tiles (and their input-gradient tiles), or one clip's
        // within-frame columns for every input frame.
        let scratchCount: Int
        switch lowering {
        case _ where direct: scratchCount = DirectConv.weightGradientScratch(g, outChannels: co)
        case .im2col: scratchCount = (col2im ? 2 : 1) * k * tileColumns
        case .frameIm2col:
            let plane = out.h * out.w
            scratchCount = max(k2d * kernel.t * plane, min(k2d * size.t * plane, Self.frameColumnsFloats))
        default: scratchCount = 0
        }
        // The per-clip work; `dxBase` is nil when no input gradient is wanted here.
        func run(_ dxBase: UnsafeMutablePointer<Float>?) {
            dy.withUnsafeBufferPointer { dyp in
                x.withUnsafeBufferPointer { xp in
                    packed.withUnsafeBufferPointer { wp in
                        biasPartial.withUnsafeMutableBufferPointer { bp in
                            let ctx = UncheckedSendable(
                                (dyp.baseAddress!, xp.baseAddress!, wp.baseAddress!, bp.baseAddress!, dxBase))
                            parallelFor(workers, threads: workers) { worker in
                                let (dyb, xb, w, bsum, dxb) = ctx.value
                                let lo = n * worker / workers
                                let hi = n * (worker + 1) / workers
                                let dW = partial + worker * co * k
                                let col =
                                    scratchCount > 0
                                    ? UnsafeMutablePointer<Float>.allocate(capacity: scratchCount) : nil
                                defer { col?.deallocate() }
                                for i in lo..<hi {
                                    let dyc = dyb + i * outCount
                                    let xc = xb + i * inCount
                                    let dxc = dxb.map { $0 + i * inCount }
                                    if hasBias {
                                        for o in 0..<co {
                                            bsum[worker * co + o] += runSum(dyc + o * out.volume, count: out.volume)
                                        }
                                    }
                                    if direct {
                                        DirectConv.weightGradient(
                                            xc, dyc, geometry: g, outChannels: co, into: dW, scratch: col!,
                                            threads: inner)
                                        continue
                                    }
                                    switch lowering {
                                    case .pointwise:
                                        let p = out.volume
                                        Self.weightGradient(
                                            dy: dyc, ldDy: p, col: xc, ldCol: p, co: co, rows: ci, depth: p,
                                            transposed: transposedGradient, into: dW, threads: inner)
                                        if let dxc {
                                            gemm(
                                                .transposed, .none, m: ci, n: p, k: co, a: w, lda: ci, b: dyc, ldb: p,
                                                c: dxc, ldc: p, threads: inner)
                                        }
                                    case .temporalTaps:
                                        Self.tapsBackward(
                                            w, xc, dyc, g, outChannels: co, dW: dW, transposed: transposedGradient,
                                            dx: dxc, padding: padT, threads: inner)
                                    case .frameIm2col:
                                        Self.frameWeightGradient(
                                            xc, dyc, g, outChannels: co, columns: col!, capacity: scratchCount, dW: dW,
                                            transposed: transposedGradient, threads: inner)
                                    case .im2col:
                                        var c0 = 0
                                        while c0 < out.volume {
                                            let c1 = min(out.volume, c0 + tileColumns)
                                            let width = c1 - c0
                                            im2col3d(xc, geometry: g, columns: c0..<c1, into: col!, threads: inner)
                                            Self.weightGradient(
                                                dy: dyc + c0, ldDy: out.volume, col: col!, ldCol: width, co: co,
                                                rows: k,
                                                depth: width, transposed: transposedGradient, into: dW, threads: inner)
                                            if col2im, let dxc {
                                                let dcol = col! + k * tileColumns
                                                gemm(
                                                    .transposed, .none, m: k, n: width, k: co, a: w, lda: k,
                                                    b: dyc + c0, ldb: out.volume, c: dcol, ldc: width, threads: inner)
                                                col2im3dAdd(dcol, geometry: g, columns: c0..<c1, into: dxc)
                                            }
                                            c0 = c1
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        var dx: Tensor? = nil
        if transposedInput {
            dx = Self.convolve(Self.transposed(weight.value, padding: padding), dy, threads: threads)
            run(nil)
        } else if inputGradient {
            dx = Tensor(shape: x.shape) { buffer in
                buffer.initialize(repeating: 0)
                run(buffer.baseAddress!)
            }
        } else {
            run(nil)
        }
        // Sum the workers' accumulators into the parameter gradients (unpacking the taps).
        for w in 1..<max(1, workers) {
            let src = partial + w * co * k
            for j in 0..<(co * k) { partial[j] += src[j] }
        }
        // Back to [Cout][Cin][kT][kH·kW] from per-tap blocks of `rows`, each [rows][Cout]
        // when transposed, else [Cout][rows].
        let (kt, plane) = (kernel.t, kernel.h * kernel.w)
        weight.grad.withUnsafeMutableBufferPointer { gw in
            for d in 0..<taps {
                let block = partial + d * co * rows
                for o in 0..<co {
                    for r in 0..<rows {
                        let v = transposedGradient ? block[r * co + o] : block[o * rows + r]
                        // Per tap, row r is (ci, kH·kW) = (r / plane, r % plane); one block's
                        // rows are the weight's own order.
                        let at = taps == 1 ? o * rows + r : ((o * ci + r / plane) * kt + d) * plane + r % plane
                        gw[at] += v
                    }
                }
            }
        }
        if let bias {
            bias.grad.withUnsafeMutableBufferPointer { gb in
                for o in 0..<co {
                    var s: Double = 0
                    for w in 0..<workers { s += biasPartial[w * co + o] }
                    gb[o] += Float(s)
                }
            }
        }
        return dx
    }

    /// Whether `backward` computes the weight gradient with the direct kernels (`DirectConv`):
    /// where the accumulator has the transposed per-tap layout the kernels write
    /// (`[kT][Cin][kH][kW][Cout]`: frame columns, or im2col of a one-frame kernel) and no
    /// col2im tiles are needed for the input gradient.
    public func usesDirectWeightGradient(inputGradient: Bool = true) -> Bool {
        let lowering = Self.lowering(kernel: kernel, stride: stride, padding: padding, inputGradient: inputGradient)
        let layout = lowering == .frameIm2col || (lowering == .im2col && kernel.t == 1)
        return layout && accumulatorBlocks(lowering).rows >= outChannels && (stride == Dim3(all: 1) || !inputGradient)
            && DirectConv.appliesToWeightGradient(outChannels: outChannels, kernel: kernel, stride: stride)
    }

    /// The weight-gradient accumulator of `lowering`: `taps` blocks of Cout x `rows`, one tap's
    /// weights per block (K = Cin·kT·kH·kW rows in one block, or Cin·kH·kW per temporal tap).
    func accumulatorBlocks(_ lowering: BackwardLowering) -> (taps: Int, rows: Int) {
        switch lowering {
        case .pointwise, .im2col: (1, inChannels * kernel.volume)
        case .temporalTaps, .frameIm2col: (kernel.t, inChannels * kernel.h * kernel.w)
        }
    }

    /// Workers across clips, and threads within each clip: clips across threads when there
    /// are at least as many clips as threads, else one clip at a time with all threads.
    static func split(clips n: Int, threads: Int) -> (workers: Int, inner: Int) {
        let t = max(1, threads)
        return n >= t ? (t, 1) : (1, t)
    }

    /// How the backward pass lowers the weight gradient to GEMMs (see the type's documentation).
    enum BackwardLowering {
        case pointwise
        case temporalTaps
        case frameIm2col
        case im2col
    }

    static func lowering(kernel: Dim3, stride: Dim3, padding: Dim3, inputGradient: Bool) -> BackwardLowering {
        let unit = stride == Dim3(all: 1)
        if kernel == Dim3(all: 1) && unit && padding == Dim3(all: 0) { return .pointwise }
        if kernel.h == 1 && kernel.w == 1 && kernel.t > 1 && unit && padding.h == 0 && padding.w == 0 {
            return .temporalTaps
        }
        // Frame columns cannot give the input gradient by col2im: only where the transposed
        // conv gives it (stride 1) or none is wanted.
        if kernel.t > 1 && stride.t == 1 && (unit || !inputGradient) { return .frameIm2col }
        return .im2col
    }

    /// `acc += dy · colᵀ` for `dy [co][depth]` and `col [rows][depth]` (row strides `ldDy`,
    /// `ldCol`), `acc` laid out `[rows][co]` when `transposed`, else `[co][rows]`. The caller
    /// picks `transposed` when rows >= co: OpenBLAS runs these thin products up to twice as fast
    /// with the longer side as M (16 x 144 over 2048 positions: 30-35 GFLOP/s as dy · colᵀ, 62-71
    /// as col · dyᵀ on one thread; docs/benchmarks.md#bench-pretrain).
    @inline(__always)
    static func weightGradient(
        dy: UnsafePointer<Float>, ldDy: Int, col: UnsafePointer<Float>, ldCol: Int, co: Int, rows: Int, depth: Int,
        transposed: Bool, into acc: UnsafeMutablePointer<Float>, threads: Int
    ) {
        if transposed {
            gemm(
                .none, .transposed, m: rows, n: co, k: depth, a: col, lda: ldCol, b: dy, ldb: ldDy, beta: 1, c: acc,
                ldc: co, threads: threads)
        } else {
            gemm(
                .none, .transposed, m: co, n: rows, k: depth, a: dy, lda: ldDy, b: col, ldb: ldCol, beta: 1, c: acc,
                ldc: rows, threads: threads)
        }
    }

    /// Floats of within-frame columns a worker holds at once (8 MB): a clip's frames go in
    /// chunks beyond it (C3D's conv2 would need 115 MB for a whole clip).
    static let frameColumnsFloats = 1 << 21

    /// One clip's weight gradient of a kTxkHxkW conv with stride 1 in time: the within-frame
    /// columns (`[Cin·kH·kW][frames][H'·W']`, the forward's `frameIm2col`) of the input frames a
    /// chunk of output frames reads, then per tap d `dW_d += dy[:, frames] · columns[:, frames
    /// shifted by d - pT]ᵀ` into the accumulator's block of tap d (`weightGradient`): a kT-th
    /// of full im2col's columns. `capacity` floats of `columns` (at least kT frames' worth) set
    /// the chunk.
    static func frameWeightGradient(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ g: Conv3dGeometry, outChannels co: Int,
        columns: UnsafeMutablePointer<Float>, capacity: Int, dW: UnsafeMutablePointer<Float>, transposed: Bool,
        threads: Int
    ) {
        let plane = g.output.h * g.output.w
        let (tIn, tOut, pT, kT) = (g.input.t, g.output.t, g.padding.t, g.kernel.t)
        let perFrame = g.withinFrame
        let k2d = perFrame.k
        let chunk = max(1, capacity / (k2d * plane) - (kT - 1))
        var f0 = 0
        while f0 < tOut {
            let f1 = min(tOut, f0 + chunk)
            // Input frames [lo, hi) feed output frames [f0, f1); slot j holds frame lo + j.
            let lo = max(0, f0 - pT)
            let hi = min(tIn, f1 - pT + kT - 1)
            if hi > lo {
                im2col3d(x, geometry: perFrame, columns: (lo * plane)..<(hi * plane), into: columns, threads: threads)
            }
            for d in 0..<kT {
                let a = max(f0, pT - d)
                let b = min(f1, tIn + pT - d)
                if b <= a { continue }
                weightGradient(
                    dy: dy + a * plane, ldDy: tOut * plane, col: columns + (a - pT + d - lo) * plane,
                    ldCol: (hi - lo) * plane, co: co, rows: k2d, depth: (b - a) * plane, transposed: transposed,
                    into: dW + d * co * k2d, threads: threads)
            }
            f0 = f1
        }
    }

    /// `[Cout, Cin, kT, 1, 1]` regrouped as `[kT][Cout][Cin]`: one GEMM operand per tap.
    static func packTaps(_ w: Tensor, co: Int, ci: Int, kt: Int) -> [Float] {
        var taps = [Float](repeating: 0, count: co * ci * kt)
        w.withUnsafeBufferPointer { src in
            for o in 0..<co {
                for i in 0..<ci { for d in 0..<kt { taps[(d * co + o) * ci + i] = src[(o * ci + i) * kt + d] } }
            }
        }
        return taps
    }

    /// One clip of a kTx1x1 stride-1 conv: tap d links output frame `to` with input frame
    /// `to - pT + d`, so per tap `dW_d += dy[:, frames] · x[:, shifted]ᵀ` and
    /// `dx[:, shifted] += W_dᵀ · dy[:, frames]`, with frames as whole planes of H·W floats.
    static func tapsBackward(
        _ taps: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ g: Conv3dGeometry,
        outChannels co: Int,
        dW: UnsafeMutablePointer<Float>, transposed: Bool, dx: UnsafeMutablePointer<Float>?, padding pT: Int,
        threads: Int
    ) {
        let plane = g.input.h * g.input.w
        let (tIn, tOut, ci) = (g.input.t, g.output.t, g.inChannels)
        for d in 0..<g.kernel.t {
            let lo = max(0, pT - d)
            let hi = min(tOut, tIn + pT - d)
            if hi <= lo { continue }
            let frames = (hi - lo) * plane
            let dyTap = dy + lo * plane
            let xTap = x + (lo - pT + d) * plane
            weightGradient(
                dy: dyTap, ldDy: tOut * plane, col: xTap, ldCol: tIn * plane, co: co, rows: ci, depth: frames,
                transposed: transposed, into: dW + d * co * ci, threads: threads)
            if let dx {
                gemm(
                    .transposed, .none, m: ci, n: frames, k: co, a: taps + d * co * ci, lda: ci, b: dyTap,
                    ldb: tOut * plane, beta: 1, c: dx + (lo - pT + d) * plane, ldc: tIn * plane, threads: threads)
            }
        }
    }
}

/// The reference for `Conv3dLayer.backward`: the loops of the definition with double
/// accumulators. Returns `dx [N, Cin, T, H, W]`, `dW [Cout, Cin, kT, kH, kW]`, `db [Cout]`.
public func conv3dBackwardNaive(
    _ x: Tensor, weight: Tensor, dy: Tensor, stride: Dim3 = Dim3(all: 1), padding: Dim3 = Dim3(all: 0)
) -> (dx: Tensor, dW: Tensor, db: Tensor) {
    let (nb, ci, co) = (x.shape[0], x.shape[1], weight.shape[0])
    let g = Conv3dGeometry(
        inChannels: ci, input: Dim3(x.shape[2], x.shape[3], x.shape[4]),
        kernel: Dim3(weight.shape[2], weight.shape[3], weight.shape[4]), stride: stride, padding: padding)
    let (i, k, o) = (g.input, g.kernel, g.output)
    var dx = [Double](repeating: 0, count: x.count)
    var dW = [Double](repeating: 0, count: weight.count)
    var db = [Double](repeating: 0, count: co)
    for b in 0..<nb {
        for oc in 0..<co {
            for ot in 0..<o.t {
                for oh in 0..<o.h {
                    for ow in 0..<o.w {
                        let g = Double(dy.data[(((b * co + oc) * o.t + ot) * o.h + oh) * o.w + ow])
                        db[oc] += g
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
                                        let xi = (((b * ci + ic) * i.t + t) * i.h + h) * i.w + w
                                        let wi = (((oc * ci + ic) * k.t + dt) * k.h + dh) * k.w + dw
                                        dW[wi] += g * Double(x.data[xi])
                                        dx[xi] += g * Double(weight.data[wi])
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    return (
        Tensor(shape: x.shape, data: dx.map(Float.init)), Tensor(shape: weight.shape, data: dW.map(Float.init)),
        Tensor(shape: [co], data: db.map(Float.init))
    )
}
