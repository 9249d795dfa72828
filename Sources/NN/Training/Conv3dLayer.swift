import Tensor

/// A trainable 3D convolution (PyTorch `nn.Conv3d`, groups 1, dilation 1, zero padding); a 2D
/// convolution is the 1xkxk case on maps of any length (one frame for an image).
///
/// Shapes: `x [N, Cin, T, H, W]`, `weight [Cout, Cin, kT, kH, kW]`, `bias [Cout]` (optional),
/// `y [N, Cout, T', H', W']` (PyTorch's floor rule).
///
/// `forward` runs the inference `Conv3d` clip by clip and names its cache: the input `x`
/// (the im2col tiles are recomputed in `backward`, which costs 5-15% of the conv and saves
/// the largest buffers of the network). `backward` mirrors the forward lowering per clip:
/// - 1x1x1, stride 1: `dW += dy · xᵀ`, `dx = Wᵀ · dy` (bare GEMMs on the maps);
/// - kTx1x1, stride 1, padding in time only: one GEMM pair per tap on maps shifted by whole
///   frames, no im2col (docs/backbone.md §4);
/// - everything else: im2col tiles, `dW += dy_tile · colᵀ`, `dcol = Wᵀ · dy_tile`, col2im.
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
        let n = x.shape[0]
        let size = Dim3(x.shape[2], x.shape[3], x.shape[4])
        let out = outputSize(size)
        let conv = Conv3d(weight: weight.value, bias: bias?.value, stride: stride, padding: padding)
        let g = geometry(input: size)
        // Enough for any lowering the inference conv picks: a tile of up to 4 MB, never less
        // than one im2col column and output column per thread.
        let scratchCount = max(g.k + outChannels, min(conv.fullScratchCount(input: size), 1 << 20))
        let inCount = inChannels * size.volume
        let outCount = outChannels * out.volume
        let (workers, inner) = Self.split(clips: n, threads: threads)
        let y = Tensor(shape: [n, outChannels, out.t, out.h, out.w]) { yp in
            let ybase = UncheckedSendable(yp.baseAddress!)
            x.withUnsafeBufferPointer { xp in
                let xbase = xp.baseAddress!
                parallelRanges(n, threads: workers) { clips in
                    let scratchFloats = scratchCount * inner
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchFloats)
                    defer { scratch.deallocate() }
                    for i in clips {
                        conv.forward(
                            clip: xbase + i * inCount, size: size, into: ybase.value + i * outCount, scratch: scratch,
                            scratchCount: scratchFloats, threads: inner)
                    }
                }
            }
        }
        return (y, Cache(input: x))
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
        let lowering = Self.lowering(kernel: kernel, stride: stride, padding: padding)
        let (co, ci) = (outChannels, inChannels)
        let k = g.k
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
        // The per-clip work; `dxBase` is nil when no input gradient is wanted.
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
                                    lowering == .im2col
                                    ? UnsafeMutablePointer<Float>.allocate(capacity: 2 * k * tileColumns) : nil
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
                                    switch lowering {
                                    case .pointwise:
                                        let p = out.volume
                                        gemm(
                                            .none, .transposed, m: co, n: ci, k: p, a: dyc, lda: p, b: xc, ldb: p,
                                            beta: 1, c: dW, ldc: ci, threads: inner)
                                        if let dxc {
                                            gemm(
                                                .transposed, .none, m: ci, n: p, k: co, a: w, lda: ci, b: dyc, ldb: p,
                                                c: dxc, ldc: p, threads: inner)
                                        }
                                    case .temporalTaps:
                                        Self.tapsBackward(
                                            w, xc, dyc, g, outChannels: co, dW: dW, dx: dxc, padding: padT,
                                            threads: inner)
                                    case .im2col:
                                        var c0 = 0
                                        while c0 < out.volume {
                                            let c1 = min(out.volume, c0 + tileColumns)
                                            let width = c1 - c0
                                            im2col3d(xc, geometry: g, columns: c0..<c1, into: col!, threads: inner)
                                            gemm(
                                                .none, .transposed, m: co, n: k, k: width, a: dyc + c0, lda: out.volume,
                                                b: col!, ldb: width, beta: 1, c: dW, ldc: k, threads: inner)
                                            if let dxc {
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
        if inputGradient {
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
        if lowering == .temporalTaps {
            let kt = kernel.t
            weight.grad.withUnsafeMutableBufferPointer { gw in
                for o in 0..<co {
                    for i in 0..<ci { for d in 0..<kt { gw[(o * ci + i) * kt + d] += partial[(d * co + o) * ci + i] } }
                }
            }
        } else {
            weight.accumulate(partial, count: co * k)
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

    /// Workers across clips, and threads within each clip: clips across threads when there
    /// are at least as many clips as threads, else one clip at a time with all threads.
    static func split(clips n: Int, threads: Int) -> (workers: Int, inner: Int) {
        let t = max(1, threads)
        return n >= t ? (t, 1) : (1, t)
    }

    /// How the backward pass lowers to GEMMs (see the type's documentation).
    enum BackwardLowering {
        case pointwise
        case temporalTaps
        case im2col
    }

    static func lowering(kernel: Dim3, stride: Dim3, padding: Dim3) -> BackwardLowering {
        let unit = stride == Dim3(all: 1)
        if kernel == Dim3(all: 1) && unit && padding == Dim3(all: 0) { return .pointwise }
        if kernel.h == 1 && kernel.w == 1 && kernel.t > 1 && unit && padding.h == 0 && padding.w == 0 {
            return .temporalTaps
        }
        return .im2col
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
        dW: UnsafeMutablePointer<Float>, dx: UnsafeMutablePointer<Float>?, padding pT: Int, threads: Int
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
            gemm(
                .none, .transposed, m: co, n: ci, k: frames, a: dyTap, lda: tOut * plane, b: xTap, ldb: tIn * plane,
                beta: 1, c: dW + d * co * ci, ldc: ci, threads: threads)
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
