import Tensor

/// 3D max pooling (PyTorch `nn.MaxPool3d`, dilation 1, floor mode). Padding never wins: padded
/// positions count as minus infinity, as in PyTorch.
///
/// Shapes: `x [N, C, T, H, W]` → `[N, C, T', H', W']` with `T' = (T + 2 pT - kT) / sT + 1`.
public struct MaxPool3d: Sendable {
    public let kernel: Dim3
    public let stride: Dim3
    public let padding: Dim3

    /// - Precondition: padding is at most half the kernel (PyTorch's rule).
    public init(kernel: Dim3, stride: Dim3? = nil, padding: Dim3 = Dim3(all: 0)) {
        precondition(2 * padding.t <= kernel.t && 2 * padding.h <= kernel.h && 2 * padding.w <= kernel.w, "max pool padding \(padding) exceeds half the kernel \(kernel)")
        self.kernel = kernel
        self.stride = stride ?? kernel
        self.padding = padding
    }

    public func outputSize(_ size: Dim3) -> Dim3 {
        Conv3dGeometry(inChannels: 1, input: size, kernel: kernel, stride: stride, padding: padding).output
    }

    /// One clip: `x [C, T, H, W]` → `y [C, T', H', W']`, channels split over `threads` workers.
    ///
    /// The window maximum is separable, so it is taken along the width, then the height, then
    /// time (3 + 3 comparisons per output for the stem's 1x3x3 window instead of 9).
    public func forward(clip x: UnsafePointer<Float>, channels: Int, size: Dim3, into y: UnsafeMutablePointer<Float>, threads: Int = 1) {
        let out = outputSize(size)
        if out.volume == 0 { return }
        parallelRanges(channels, threads: threads) { range in
            // Per worker: rows max-pooled along the width, then planes along the height.
            let byWidth = UnsafeMutablePointer<Float>.allocate(capacity: size.t * size.h * out.w)
            let byHeight = UnsafeMutablePointer<Float>.allocate(capacity: size.t * out.h * out.w)
            defer {
                byWidth.deallocate()
                byHeight.deallocate()
            }
            for c in range {
                let src = x + c * size.volume
                Self.pool(src, lines: size.t * size.h, length: size.w, lineStride: size.w, step: 1, into: byWidth, outLength: out.w, k: kernel.w, s: stride.w, p: padding.w)
                for t in 0..<size.t {
                    // Columns of one frame: length H, consecutive elements out.w apart.
                    Self.pool(byWidth + t * size.h * out.w, lines: out.w, length: size.h, lineStride: 1, step: out.w, into: byHeight + t * out.h * out.w, outLength: out.h, k: kernel.h, s: stride.h, p: padding.h, outStep: out.w)
                }
                let plane = out.h * out.w
                Self.pool(byHeight, lines: plane, length: size.t, lineStride: 1, step: plane, into: y + c * out.volume, outLength: out.t, k: kernel.t, s: stride.t, p: padding.t, outStep: plane)
            }
        }
    }

    /// 1D max pooling of `lines` lines: line i starts at `src + i * lineStride`, its elements
    /// are `step` apart; output line i starts at `dst + i * (outStep == 1 ? outLength : 1)`
    /// with elements `outStep` apart. Padding is minus infinity.
    @inline(__always)
    static func pool(
        _ src: UnsafePointer<Float>, lines: Int, length: Int, lineStride: Int, step: Int,
        into dst: UnsafeMutablePointer<Float>, outLength: Int, k: Int, s: Int, p: Int, outStep: Int = 1
    ) {
        let outLineStride = outStep == 1 ? outLength : 1
        for i in 0..<lines {
            let line = src + i * lineStride
            let o = dst + i * outLineStride
            for j in 0..<outLength {
                let lo = max(0, j * s - p), hi = min(length, j * s - p + k)
                var m = -Float.infinity
                var q = lo
                while q < hi {
                    m = max(m, line[q * step])
                    q += 1
                }
                o[j * outStep] = m
            }
        }
    }

    /// A batch: `x [N, C, T, H, W]` → `[N, C, T', H', W']`.
    public func forward(_ x: Tensor, threads: Int = 1) -> Tensor {
        precondition(x.rank == 5, "max pool expects [N, C, T, H, W], got \(x.shape)")
        let size = Dim3(x.shape[2], x.shape[3], x.shape[4])
        let out = outputSize(size)
        let (n, c) = (x.shape[0], x.shape[1])
        return Tensor(shape: [n, c, out.t, out.h, out.w]) { y in
            x.withUnsafeBufferPointer { xp in
                for i in 0..<n {
                    forward(clip: xp.baseAddress! + i * c * size.volume, channels: c, size: size, into: y.baseAddress! + i * c * out.volume, threads: threads)
                }
            }
        }
    }
}

/// `nn.AdaptiveAvgPool3d(1)` followed by `flatten(1)`: the mean of every channel's map.
///
/// Shapes: `x [N, C, T, H, W]` → `[N, C]`.
public enum GlobalAveragePool3d {
    /// One clip: `x [C, T, H, W]` (map volume `volume`) → `y [C]`, summed in double.
    public static func forward(clip x: UnsafePointer<Float>, channels: Int, volume: Int, into y: UnsafeMutablePointer<Float>) {
        for c in 0..<channels {
            let row = x + c * volume
            var s: Double = 0
            for i in 0..<volume { s += Double(row[i]) }
            y[c] = Float(s / Double(max(1, volume)))
        }
    }

    /// A batch: `x [N, C, T, H, W]` → `[N, C]`.
    public static func forward(_ x: Tensor) -> Tensor {
        precondition(x.rank == 5, "global average pool expects [N, C, T, H, W], got \(x.shape)")
        let (n, c) = (x.shape[0], x.shape[1])
        let volume = x.shape[2] * x.shape[3] * x.shape[4]
        return Tensor(shape: [n, c]) { y in
            x.withUnsafeBufferPointer { xp in
                for i in 0..<n { forward(clip: xp.baseAddress! + i * c * volume, channels: c, volume: volume, into: y.baseAddress! + i * c) }
            }
        }
    }
}
