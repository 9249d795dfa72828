import ConvKernels
import Tensor

/// The direct form of a conv with few output channels (ConvKernels, AVX-512): each register
/// holds 16 output positions (forward) or 16 output channels (weight gradient), and the kernels
/// read a zero-padded copy of the clip in place, with no im2col columns. Where im2col + sgemm
/// run GEMMs only 16 to 36 rows tall (the motion-vector network's 3x7x7 stem, 2 → 16 channels,
/// K = 294: 35 GFLOP/s forward, 56-63 for the weight gradient on one thread, a third to a half
/// of the FMA peak), the direct kernels ran at 85-118 GFLOP/s (docs/backbone.md §4). Only where the CPU has AVX-512F; elsewhere `Conv3d`
/// and `Conv3dLayer` keep their GEMM lowerings.
struct DirectConv: Sendable {
    let inChannels: Int
    let outChannels: Int
    let kernel: Dim3
    let stride: Dim3
    let padding: Dim3
    /// `[Cout/B][Cin·kT·kH·kW][B]`, B = `conv_direct_block(Cout)`.
    let packed: [Float]

    /// Whether this CPU runs the direct kernels.
    static let available = conv_direct_available() != 0

    /// Most output channels the direct kernels take: R(2+1)D's 36 mid channels, the widest conv
    /// measured. Its layer-1 1x3x3 (16 → 36 at 16x16x16) took 0.41 ms a clip on one thread in a
    /// C harness; by Winograd in the CMD step, 12.1 ms for two such convs over 16 clips on two
    /// threads, about 0.76 ms a clip per thread (docs/benchmarks.md#bench-pretrain). Wider convs
    /// keep the GEMMs (tall enough to use the FMA units well) and Winograd's 2.25 times fewer
    /// multiplications.
    static let maxOutChannels = 36

    /// Strides the kernels take: any in time and height (pointer steps), 1 or 2 in width (the
    /// padded clip's column phases).
    static func takes(stride: Dim3) -> Bool { stride.w == 1 || stride.w == 2 }

    /// Whether `Conv3d` should carry a direct form: a spatial kernel (the im2col lowerings;
    /// 1x1 ones need no columns) and output channels in whole register blocks.
    static func applies(kernel: Dim3, stride: Dim3, outChannels: Int) -> Bool {
        available && (kernel.h > 1 || kernel.w > 1) && takes(stride: stride)
            && outChannels % conv_direct_block(outChannels) == 0 && outChannels <= maxOutChannels
    }

    /// Whether the weight gradient can run direct: a kernel width with an unrolled kernel (3,
    /// 5, 7).
    static func appliesToWeightGradient(outChannels: Int, kernel: Dim3, stride: Dim3) -> Bool {
        available && takes(stride: stride) && [3, 5, 7].contains(kernel.w) && outChannels <= maxOutChannels
    }

    /// `weight [Cout][Cin·kT·kH·kW]` (as stored), each output channel `o` multiplied by
    /// `scale[o]` in double when `scale` is given (as `Conv3d.pack` does).
    init(
        weight: UnsafePointer<Float>, scale: [Double]?, outChannels: Int, inChannels: Int, kernel: Dim3, stride: Dim3,
        padding: Dim3
    ) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        let taps = inChannels * kernel.volume
        let block = conv_direct_block(outChannels)
        var packed = [Float](repeating: 0, count: outChannels * taps)
        for o in 0..<outChannels {
            let factor = scale?[o]
            for k in 0..<taps {
                let v = weight[o * taps + k]
                packed[((o / block) * taps + k) * block + o % block] = factor.map { Float(Double(v) * $0) } ?? v
            }
        }
        self.packed = packed
    }

    /// The kernels' description of a conv on an input map of `size`.
    static func shape(_ g: Conv3dGeometry, outChannels: Int) -> conv_direct_shape {
        let (i, p, k, s) = (g.input, g.padding, g.kernel, g.stride)
        return conv_direct_shape(
            ci: g.inChannels, co: outChannels, tp: i.t + 2 * p.t, hp: i.h + 2 * p.h, wp: i.w + 2 * p.w, kt: k.t,
            kh: k.h, kw: k.w, st: s.t, sh: s.h, sw: s.w)
    }

    func geometry(_ size: Dim3) -> Conv3dGeometry {
        Conv3dGeometry(inChannels: inChannels, input: size, kernel: kernel, stride: stride, padding: padding)
    }

    /// Whether the forward pass runs direct on a map of `size` with `scratchCount` floats: whole
    /// vectors of 16 output positions per row, and room for the padded clip.
    func fits(size: Dim3, scratchCount: Int) -> Bool {
        let g = geometry(size)
        var s = Self.shape(g, outChannels: outChannels)
        return g.n > 0 && g.output.w % 16 == 0 && scratchCount >= conv_direct_padded_count(&s)
    }

    /// One clip: `x [Cin, T, H, W]` → `y = act(conv(x) + bias + residual)`; `scratch` takes the
    /// padded clip, and `workers` split the output vectors.
    func forward(
        clip x: UnsafePointer<Float>, size: Dim3, into y: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?,
        residual: UnsafePointer<Float>?, relu: Bool, scratch: UnsafeMutablePointer<Float>, workers: Int
    ) {
        let g = geometry(size)
        var s = Self.shape(g, outChannels: outChannels)
        conv_pad(x, size.t, size.h, size.w, padding.t, padding.h, padding.w, &s, scratch)
        let vectors = g.n / 16
        let ctx = UncheckedSendable((scratch, y, bias, residual, s))
        packed.withUnsafeBufferPointer { w in
            let wp = UncheckedSendable(w.baseAddress!)
            // Whole pairs per worker, as the kernel takes the vectors two at a time.
            parallelRanges((vectors + 1) / 2, threads: workers) { pairs in
                var (xp, y, bias, residual, s) = ctx.value
                conv_direct_forward(
                    &s, xp, wp.value, bias, residual, relu ? 1 : 0, y, 2 * pairs.lowerBound,
                    min(vectors, 2 * pairs.upperBound))
            }
        }
    }

    /// Floats `weightGradient` needs in `scratch`: the padded clip and `dy` channels-last.
    static func weightGradientScratch(_ g: Conv3dGeometry, outChannels: Int) -> Int {
        var s = shape(g, outChannels: outChannels)
        return conv_direct_padded_count(&s) + outChannels * g.output.volume
    }

    /// One clip's weight gradient, added to `dW` laid out `[kT][Cin][kH][kW][Cout]`
    /// (`Conv3dLayer`'s transposed per-tap accumulator); input channels split over `threads`.
    static func weightGradient(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, geometry g: Conv3dGeometry, outChannels co: Int,
        into dW: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, threads: Int
    ) {
        // The kernel has unrolled bodies for these widths only (`appliesToWeightGradient`).
        precondition([3, 5, 7].contains(g.kernel.w), "direct weight gradient of a \(g.kernel) kernel")
        var s = shape(g, outChannels: co)
        let (i, p) = (g.input, g.padding)
        conv_pad(x, i.t, i.h, i.w, p.t, p.h, p.w, &s, scratch)
        let dyT = scratch + conv_direct_padded_count(&s)
        conv_channels_last(dy, co, g.output.volume, dyT)
        let ctx = UncheckedSendable((scratch, dyT, dW, s))
        parallelRanges(g.inChannels, threads: threads) { channels in
            var (xp, dyT, dW, s) = ctx.value
            conv_direct_weight_gradient(&s, xp, dyT, dW, channels.lowerBound, channels.upperBound)
        }
    }
}
