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
    public func forward(clip x: UnsafePointer<Float>, channels: Int, size: Dim3, into y: UnsafeMutablePointer<Float>, threads: Int = 1) {
        let out = outputSize(size)
        parallelRanges(channels, threads: threads) { range in
            for c in range {
                let src = x + c * size.volume
                var dst = y + c * out.volume
                for ot in 0..<out.t {
                    let t0 = ot * stride.t - padding.t
                    let tr = max(0, t0)..<min(size.t, t0 + kernel.t)
                    for oh in 0..<out.h {
                        let h0 = oh * stride.h - padding.h
                        let hr = max(0, h0)..<min(size.h, h0 + kernel.h)
                        for ow in 0..<out.w {
                            let w0 = ow * stride.w - padding.w
                            let wr = max(0, w0)..<min(size.w, w0 + kernel.w)
                            var m = -Float.infinity
                            for t in tr { for h in hr { let row = src + (t * size.h + h) * size.w; for w in wr { m = max(m, row[w]) } } }
                            dst.pointee = m
                            dst += 1
                        }
                    }
                }
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
