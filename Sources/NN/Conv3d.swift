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

    /// Scratch floats needed by `forward(clip:…)` to run untiled on `size`: the full im2col
    /// matrix for the `im2col` lowering, none otherwise. Any smaller scratch works (tiles),
    /// as long as it holds at least one column per tile row (`geometry.k` floats).
    public func fullScratchCount(input size: Dim3) -> Int {
        lowering == .im2col ? geometry(input: size).k * geometry(input: size).n : 0
    }

    /// One clip: `x [Cin, T, H, W]` (size `size`) to `y [Cout, T', H', W']`, then
    /// `y = act(y + bias + residual)` with `residual [Cout, T', H', W']` when given.
    /// `scratch` holds `scratchCount` floats for im2col tiles; `y` must not alias `x`,
    /// `residual` or `scratch`. `threads` workers share im2col and the epilogue, and OpenBLAS
    /// gets as many threads for each GEMM.
    public func forward(
        clip x: UnsafePointer<Float>, size: Dim3, into y: UnsafeMutablePointer<Float>,
        residual: UnsafePointer<Float>? = nil, relu: Bool = false,
        scratch: UnsafeMutablePointer<Float>?, scratchCount: Int, threads: Int = 1
    ) {
        let g = geometry(input: size)
        let n = g.n
        if n == 0 { return }
        packed.withUnsafeBufferPointer { w in
            switch lowering {
            case .pointwise:
                gemm(.none, .none, m: outChannels, n: n, k: inChannels, a: w.baseAddress!, lda: inChannels, b: x, ldb: n, c: y, ldc: n, threads: threads)
                finish(y, n: n, columns: 0..<n, residual: residual, relu: relu, threads: threads)
            case .temporalTaps:
                temporalTaps(x, g, w.baseAddress!, y, threads: threads)
                finish(y, n: n, columns: 0..<n, residual: residual, relu: relu, threads: threads)
            case .im2col:
                precondition(scratch != nil && scratchCount >= g.k, "conv3d \(kernel) needs at least \(g.k) scratch floats, got \(scratchCount)")
                let tile = min(n, max(1, scratchCount / g.k))
                var start = 0
                while start < n {
                    let cols = start..<min(n, start + tile)
                    im2col3d(x, geometry: g, columns: cols, into: scratch!, threads: threads)
                    gemm(.none, .none, m: outChannels, n: cols.count, k: g.k, a: w.baseAddress!, lda: g.k, b: scratch!, ldb: cols.count, c: y + start, ldc: n, threads: threads)
                    // Per tile, while the tile's outputs are still in cache.
                    finish(y, n: n, columns: cols, residual: residual, relu: relu, threads: threads)
                    start = cols.upperBound
                }
            }
        }
    }

    /// kTx1x1 stride 1: `y = sum_d W_d · x shifted by (d - pT) frames`, one GEMM per tap over
    /// the output frames whose input frame exists (the others see zero padding).
    private func temporalTaps(_ x: UnsafePointer<Float>, _ g: Conv3dGeometry, _ taps: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, threads: Int) {
        let plane = g.input.h * g.input.w
        let outT = g.output.t
        let pT = padding.t
        // Tap d reads input frame (to - pT + d) for output frame to; valid outputs [lo, hi).
        func valid(_ d: Int) -> Range<Int> {
            let lo = max(0, pT - d)
            return lo..<max(lo, min(outT, g.input.t + pT - d))
        }
        // The first GEMM overwrites y (beta 0) when one tap covers every output frame.
        let first = (0..<kernel.t).first { valid($0) == 0..<outT }
        if first == nil { y.initialize(repeating: 0, count: outChannels * g.n) }
        let order = (first.map { [$0] } ?? []) + (0..<kernel.t).filter { $0 != first }
        for d in order {
            let r = valid(d)
            if r.isEmpty { continue }
            gemm(
                .none, .none, m: outChannels, n: r.count * plane, k: inChannels,
                a: taps + d * outChannels * inChannels, lda: inChannels,
                b: x + (r.lowerBound - pT + d) * plane, ldb: g.input.t * plane,
                beta: d == first ? 0 : 1, c: y + r.lowerBound * plane, ldc: g.n, threads: threads)
        }
    }

    private func finish(_ y: UnsafeMutablePointer<Float>, n: Int, columns: Range<Int>, residual: UnsafePointer<Float>?, relu: Bool, threads: Int) {
        if let bias {
            bias.withUnsafeBufferPointer { b in
                applyEpilogue(y, channels: outChannels, rowLength: n, columns: columns, bias: b.baseAddress, residual: residual, relu: relu, threads: threads)
            }
        } else {
            applyEpilogue(y, channels: outChannels, rowLength: n, columns: columns, bias: nil, residual: residual, relu: relu, threads: threads)
        }
    }

    /// A batch: `x [N, Cin, T, H, W]` to `[N, Cout, T', H', W']`, allocating the output and an
    /// im2col scratch of at most `scratchLimit` floats.
    public func forward(_ x: Tensor, threads: Int = 1, scratchLimit: Int = 1 << 22) -> Tensor {
        precondition(x.rank == 5 && x.shape[1] == inChannels, "conv3d expects [N, \(inChannels), T, H, W], got \(x.shape)")
        let size = Dim3(x.shape[2], x.shape[3], x.shape[4])
        let out = outputSize(size)
        let g = geometry(input: size)
        let scratchCount = lowering == .im2col ? max(g.k, min(fullScratchCount(input: size), scratchLimit)) : 0
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
