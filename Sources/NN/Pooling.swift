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
        precondition(
            2 * padding.t <= kernel.t && 2 * padding.h <= kernel.h && 2 * padding.w <= kernel.w,
            "max pool padding \(padding) exceeds half the kernel \(kernel)")
        self.kernel = kernel
        self.stride = stride ?? kernel
        self.padding = padding
    }

    public func outputSize(_ size: Dim3) -> Dim3 {
        Conv3dGeometry(inChannels: 1, input: size, kernel: kernel, stride: stride, padding: padding).output
    }

    /// One clip: `x [C, T, H, W]` → `y [C, T', H', W']`, channels split over `threads` workers.
    ///
    /// The window maximum is separable: each output row first takes the elementwise maximum
    /// of the input rows its window covers (contiguous rows, so that pass vectorises), then
    /// pools that row along the width.
    public func forward(
        clip x: UnsafePointer<Float>, channels: Int, size: Dim3, into y: UnsafeMutablePointer<Float>, threads: Int = 1
    ) {
        let out = outputSize(size)
        if out.volume == 0 { return }
        parallelRanges(channels, threads: threads) { range in
            let row = UnsafeMutablePointer<Float>.allocate(capacity: size.w)
            defer { row.deallocate() }
            for c in range {
                let src = x + c * size.volume
                for ot in 0..<out.t {
                    let frames = Self.window(ot, length: size.t, k: kernel.t, s: stride.t, p: padding.t)
                    for oh in 0..<out.h {
                        row.initialize(repeating: -.infinity, count: size.w)
                        for t in frames {
                            for h in Self.window(oh, length: size.h, k: kernel.h, s: stride.h, p: padding.h) {
                                let line = src + (t * size.h + h) * size.w
                                for j in 0..<size.w { row[j] = max(row[j], line[j]) }
                            }
                        }
                        let dst = y + c * out.volume + (ot * out.h + oh) * out.w
                        Self.poolLine(
                            row, length: size.w, into: dst, outLength: out.w, k: kernel.w, s: stride.w, p: padding.w)
                    }
                }
            }
        }
    }

    /// The input positions that output position `j` covers (padding left out).
    @inline(__always)
    static func window(_ j: Int, length: Int, k: Int, s: Int, p: Int) -> Range<Int> {
        let lo = max(0, j * s - p)
        return lo..<max(lo, min(length, j * s - p + k))
    }

    /// 1D max pooling of one contiguous line; padding is minus infinity. The stem's 3-wide
    /// window has its own loop, without the window bounds, for the positions inside the line.
    @inline(__always)
    static func poolLine(
        _ line: UnsafePointer<Float>, length: Int, into o: UnsafeMutablePointer<Float>, outLength: Int, k: Int, s: Int,
        p: Int
    ) {
        for j in 0..<outLength {
            let first = j * s - p
            if k == 3 && first >= 0 && first + 3 <= length {
                o[j] = max(max(line[first], line[first + 1]), line[first + 2])
            } else {
                var m = -Float.infinity
                for q in window(j, length: length, k: k, s: s, p: p) { m = max(m, line[q]) }
                o[j] = m
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
                    forward(
                        clip: xp.baseAddress! + i * c * size.volume, channels: c, size: size,
                        into: y.baseAddress! + i * c * out.volume, threads: threads)
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
    public static func forward(
        clip x: UnsafePointer<Float>, channels: Int, volume: Int, into y: UnsafeMutablePointer<Float>
    ) {
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
                for i in 0..<n {
                    forward(
                        clip: xp.baseAddress! + i * c * volume, channels: c, volume: volume,
                        into: y.baseAddress! + i * c)
                }
            }
        }
    }
}

/// The maximum of each channel over time and space: `x [N, C, T, H, W]` → `[N, C]`. The motion
/// view's readout (docs/method.md §10): a moving actor's response whatever its size and however
/// much still background surrounds it, which an average dilutes.
public enum GlobalMaxPool3d {
    public static func forward(_ x: Tensor) -> Tensor {
        precondition(x.rank == 5, "global max pool expects [N, C, T, H, W], got \(x.shape)")
        let rows = x.shape[0] * x.shape[1]
        let volume = x.shape[2] * x.shape[3] * x.shape[4]
        precondition(volume > 0, "global max pool needs a non-empty map, got \(x.shape)")
        return Tensor(shape: [x.shape[0], x.shape[1]]) { y in
            x.withUnsafeBufferPointer { xp in
                for r in 0..<rows {
                    let row = xp.baseAddress! + r * volume
                    var m = row[0]
                    for i in 1..<volume { m = max(m, row[i]) }
                    y[r] = m
                }
            }
        }
    }
}
