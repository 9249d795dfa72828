import Tensor

/// Max pooling with training support (PyTorch `nn.MaxPool3d`, dilation 1, floor mode).
///
/// Shapes: `x [N, C, T, H, W]` → `[N, C, T', H', W']`. The forward records, for every output,
/// the position of the maximum within its channel's map (the first one in scan order on ties,
/// as PyTorch; padding is minus infinity and never wins), and the backward routes each
/// output gradient there.
public struct MaxPool3dLayer: Sendable {
    public let pool: MaxPool3d

    public init(kernel: Dim3, stride: Dim3? = nil, padding: Dim3 = Dim3(all: 0)) {
        pool = MaxPool3d(kernel: kernel, stride: stride, padding: padding)
    }

    /// The cache: input shape and the argmax of every output (an index into its channel's map).
    public struct Cache: Sendable {
        public let inputShape: [Int]
        public let argmax: [Int32]
    }

    public func outputSize(_ size: Dim3) -> Dim3 { pool.outputSize(size) }

    /// `x [N, C, T, H, W]` → `y [N, C, T', H', W']` and the argmax cache; maps split over `threads`.
    public func forward(_ x: Tensor, threads: Int = 1) -> (Tensor, Cache) {
        precondition(x.rank == 5, "max pool expects [N, C, T, H, W], got \(x.shape)")
        let size = Dim3(x.shape[2], x.shape[3], x.shape[4])
        let o = pool.outputSize(size)
        let maps = x.shape[0] * x.shape[1]
        let (k, s, p) = (pool.kernel, pool.stride, pool.padding)
        var argmax = [Int32](repeating: 0, count: maps * o.volume)
        let y = Tensor(shape: [x.shape[0], x.shape[1], o.t, o.h, o.w]) { yp in
            x.withUnsafeBufferPointer { xp in
                argmax.withUnsafeMutableBufferPointer { ap in
                    let ctx = UncheckedSendable((xp.baseAddress!, yp.baseAddress!, ap.baseAddress!))
                    parallelRanges(maps, threads: threads) { range in
                        let (xb, yb, ab) = ctx.value
                        for mapIndex in range {
                            let src = xb + mapIndex * size.volume
                            let dst = yb + mapIndex * o.volume
                            let arg = ab + mapIndex * o.volume
                            Self.poolMap(src, size: size, output: o, kernel: k, stride: s, padding: p, dst, arg)
                        }
                    }
                }
            }
        }
        return (y, Cache(inputShape: x.shape, argmax: argmax))
    }

    /// One map: each output is the window's first element, then any strictly greater one, so
    /// the first maximum in scan order wins (PyTorch's tie rule) and no branch mispredicts on
    /// random data; the loops use wrapping arithmetic (indices are within one map).
    @inline(__always)
    static func poolMap(
        _ src: UnsafePointer<Float>, size: Dim3, output o: Dim3, kernel k: Dim3, stride s: Dim3, padding p: Dim3,
        _ dst: UnsafeMutablePointer<Float>, _ arg: UnsafeMutablePointer<Int32>
    ) {
        var q = 0
        for t in 0..<o.t {
            let t0 = max(0, t &* s.t &- p.t)
            let t1 = min(size.t, t &* s.t &- p.t &+ k.t)
            for h in 0..<o.h {
                let h0 = max(0, h &* s.h &- p.h)
                let h1 = min(size.h, h &* s.h &- p.h &+ k.h)
                // Windows whole in width over three rows (the ResNet stems' 3x3 pool away from
                // the edges): nine loads, unrolled.
                let whole = k.t == 1 && k.w == 3 && h1 &- h0 == 3
                let wLo = whole ? min(o.w, (p.w &+ s.w &- 1) / s.w) : o.w
                let wHi = whole && size.w &+ p.w >= 3 ? max(wLo, min(o.w, (size.w &+ p.w &- 3) / s.w &+ 1)) : wLo
                for w in 0..<o.w {
                    if w >= wLo && w < wHi {
                        let start = (t0 &* size.h &+ h0) &* size.w &+ w &* s.w &- p.w
                        var at = start
                        var best = src[at]
                        for r in 0..<3 {
                            let row = start &+ r &* size.w
                            for c in (r == 0 ? 1 : 0)..<3 {
                                let v = src[row &+ c]
                                at = v > best ? row &+ c : at
                                best = v > best ? v : best
                            }
                        }
                        dst[q] = best
                        arg[q] = Int32(truncatingIfNeeded: at)
                        q &+= 1
                        continue
                    }
                    let w0 = max(0, w &* s.w &- p.w)
                    let w1 = min(size.w, w &* s.w &- p.w &+ k.w)
                    var at = (t0 &* size.h &+ h0) &* size.w &+ w0
                    var best = src[at]
                    var it = t0
                    while it < t1 {
                        var ih = h0
                        while ih < h1 {
                            let row = (it &* size.h &+ ih) &* size.w
                            var iw = w0
                            while iw < w1 {
                                let v = src[row &+ iw]
                                at = v > best ? row &+ iw : at
                                best = v > best ? v : best
                                iw &+= 1
                            }
                            ih &+= 1
                        }
                        it &+= 1
                    }
                    dst[q] = best
                    arg[q] = Int32(truncatingIfNeeded: at)
                    q &+= 1
                }
            }
        }
    }

    /// `dy [N, C, T', H', W']` → `dx [N, C, T, H, W]`: each gradient added at its argmax.
    public func backward(_ dy: Tensor, cache: Cache, threads: Int = 1) -> Tensor {
        let volume = cache.inputShape.dropFirst(2).reduce(1, *)
        let maps = cache.inputShape[0] * cache.inputShape[1]
        let outVolume = dy.count / max(1, maps)
        return Tensor(shape: cache.inputShape) { dx in
            dx.initialize(repeating: 0)
            dy.withUnsafeBufferPointer { dp in
                cache.argmax.withUnsafeBufferPointer { ap in
                    let ctx = UncheckedSendable((dp.baseAddress!, ap.baseAddress!, dx.baseAddress!))
                    parallelRanges(maps, threads: threads) { range in
                        let (d, a, out) = ctx.value
                        for mapIndex in range {
                            let dst = out + mapIndex * volume
                            for q in (mapIndex * outVolume)..<((mapIndex + 1) * outVolume) { dst[Int(a[q])] += d[q] }
                        }
                    }
                }
            }
        }
    }
}

extension GlobalAveragePool3d {
    /// `dy [N, C]` → `dx [N, C, T, H, W]`: every position of a map gets `dy / (T·H·W)`
    /// (`inputShape` is the forward input's shape, all the cache this layer needs).
    public static func backward(_ dy: Tensor, inputShape: [Int]) -> Tensor {
        let volume = inputShape.dropFirst(2).reduce(1, *)
        precondition(
            dy.shape == Array(inputShape.prefix(2)),
            "global average pool backward: dy \(dy.shape) for input \(inputShape)")
        return Tensor(shape: inputShape) { dx in
            for m in 0..<dy.count {
                let v = dy.data[m] / Float(volume)
                (dx.baseAddress! + m * volume).initialize(repeating: v, count: volume)
            }
        }
    }
}
