/// Three extents in (time, height, width) order: a map size, a kernel, a stride or a padding.
public struct Dim3: Hashable, Sendable, CustomStringConvertible {
    public var t: Int
    public var h: Int
    public var w: Int

    public init(_ t: Int, _ h: Int, _ w: Int) {
        self.t = t
        self.h = h
        self.w = w
    }

    /// The same value in all three dimensions.
    public init(all v: Int) { self.init(v, v, v) }

    /// t * h * w.
    public var volume: Int { t * h * w }

    public var description: String { "\(t)x\(h)x\(w)" }
}

/// The geometry of one 3D convolution (or pooling window) over one clip, and the GEMM it
/// lowers to: `out[M=Cout, N=To*Ho*Wo] = W[M, K=Cin*kT*kH*kW] * col[K, N]`.
public struct Conv3dGeometry: Hashable, Sendable {
    public var inChannels: Int
    /// Input map size (T, H, W).
    public var input: Dim3
    public var kernel: Dim3
    public var stride: Dim3
    public var padding: Dim3

    public init(inChannels: Int, input: Dim3, kernel: Dim3, stride: Dim3 = Dim3(all: 1), padding: Dim3 = Dim3(all: 0)) {
        precondition(
            inChannels > 0 && kernel.t > 0 && kernel.h > 0 && kernel.w > 0, "empty kernel \(kernel) or no channels")
        precondition(stride.t > 0 && stride.h > 0 && stride.w > 0, "stride \(stride) must be positive")
        precondition(padding.t >= 0 && padding.h >= 0 && padding.w >= 0, "padding \(padding) must not be negative")
        self.inChannels = inChannels
        self.input = input
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
    }

    /// Output map size: floor((in + 2 pad - k) / stride) + 1 per dimension (PyTorch's rule).
    public var output: Dim3 {
        Dim3(
            Self.outputExtent(input.t, kernel.t, stride.t, padding.t),
            Self.outputExtent(input.h, kernel.h, stride.h, padding.h),
            Self.outputExtent(input.w, kernel.w, stride.w, padding.w))
    }

    /// Rows of the im2col matrix: Cin * kT * kH * kW.
    public var k: Int { inChannels * kernel.volume }

    /// Columns of the im2col matrix: one per output position.
    public var n: Int { output.volume }

    /// The same conv on one frame (kernel, stride and padding of 1, 1 and 0 in time): the
    /// geometry of the within-frame columns that the temporal taps of a kTxkHxkW conv share.
    public var withinFrame: Conv3dGeometry {
        Conv3dGeometry(
            inChannels: inChannels, input: input, kernel: Dim3(1, kernel.h, kernel.w),
            stride: Dim3(1, stride.h, stride.w),
            padding: Dim3(0, padding.h, padding.w))
    }

    static func outputExtent(_ size: Int, _ k: Int, _ s: Int, _ p: Int) -> Int {
        let span = size + 2 * p - k
        return span < 0 ? 0 : span / s + 1
    }
}
