import Tensor

/// Batch normalisation with training mode (PyTorch `nn.BatchNorm1d/2d/3d`): statistics over
/// every axis but the channels.
///
/// Shapes: `x [N, C, ...]` (a video map `[N, C, T, H, W]`, token maps `[N, C, L]`, or
/// vectors `[N, C]`) → same shape; `weight`, `bias`, `running_mean`, `running_var` `[C]`.
///
/// Training mode normalises with the batch mean and the biased variance, and updates the
/// running statistics as PyTorch does: `running = (1 - momentum) · running + momentum · batch`,
/// with the *unbiased* variance (`M / (M - 1)` times the biased one, M values per channel).
/// Eval mode uses the running statistics. Optionally fused after the normalisation: a
/// residual add and a ReLU (`y = relu(bn(x) + residual)`), which is how a ResNet block ends,
/// so each activation is written once.
public final class BatchNormLayer: ParameterContainer {
    public let weight: Parameter
    public let bias: Parameter
    public let runningMean: Buffer
    public let runningVar: Buffer
    public var momentum: Float
    public var eps: Float
    /// Batch statistics (true) or running statistics (false).
    public var training = true
    /// Training-mode forward passes so far (PyTorch's `num_batches_tracked`; momentum does not use it).
    public var batchesTracked = 0

    /// PyTorch's initial state: weight 1, bias 0, running mean 0, running variance 1. Names
    /// are `<name>.weight`, `.bias`, `.running_mean`, `.running_var`.
    public init(name: String, channels: Int, momentum: Float = 0.1, eps: Float = 1e-5) {
        weight = Parameter(name: name + ".weight", value: Tensor(shape: [channels], repeating: 1), kind: .norm)
        bias = Parameter(name: name + ".bias", value: Tensor(shape: [channels]), kind: .norm)
        runningMean = Buffer(name: name + ".running_mean", value: Tensor(shape: [channels]))
        runningVar = Buffer(name: name + ".running_var", value: Tensor(shape: [channels], repeating: 1))
        self.momentum = momentum
        self.eps = eps
    }

    public var parameters: [Parameter] { [weight, bias] }
    public var buffers: [Buffer] { [runningMean, runningVar] }
    public var channels: Int { weight.value.count }

    /// What `backward` needs: the input, the output (its sign is the ReLU mask), and the
    /// per-channel mean and 1/std that normalised it.
    public struct Cache: Sendable {
        public let input: Tensor
        public let output: Tensor
        public let mean: [Float]
        public let invStd: [Float]
        public let relu: Bool
        public let residual: Bool
        /// Whether the statistics came from the batch (their gradient flows) or were fixed.
        public let batchStatistics: Bool
    }

    /// `x [N, C, ...]` → `relu?(bn(x) + residual?)`, same shape, and the cache.
    public func forward(_ x: Tensor, residual: Tensor? = nil, relu: Bool = false, threads: Int = 1) -> (Tensor, Cache) {
        precondition(x.rank >= 2 && x.shape[1] == channels, "batch norm over \(channels) channels got \(x.shape)")
        precondition(
            residual == nil || residual!.shape == x.shape, "residual \(residual!.shape) does not match \(x.shape)")
        let (n, c) = (x.shape[0], channels)
        let inner = x.shape.dropFirst(2).reduce(1, *)
        let m = n * inner
        var mean = [Float](repeating: 0, count: c)
        var invStd = mean
        if training {
            precondition(m > 1, "batch norm in training mode needs more than one value per channel, got \(x.shape)")
            var sums = [Double](repeating: 0, count: c)
            var squares = sums
            x.withUnsafeBufferPointer { xp in
                let perChannel = channelSums(xp.baseAddress!, n: n, c: c, inner: inner, threads: threads) { p, count in
                    runSumAndSquares(p, count: count)
                }
                for (channel, (sum, square)) in perChannel.enumerated() {
                    sums[channel] = sum
                    squares[channel] = square
                }
            }
            let mom = Double(momentum)
            runningMean.value.withUnsafeMutableBufferPointer { rm in
                runningVar.value.withUnsafeMutableBufferPointer { rv in
                    for ch in 0..<c {
                        let mu = sums[ch] / Double(m)
                        let variance = max(0, squares[ch] / Double(m) - mu * mu)
                        mean[ch] = Float(mu)
                        invStd[ch] = Float(1 / (variance + Double(eps)).squareRoot())
                        rm[ch] = Float((1 - mom) * Double(rm[ch]) + mom * mu)
                        rv[ch] = Float((1 - mom) * Double(rv[ch]) + mom * variance * Double(m) / Double(m - 1))
                    }
                }
            }
            batchesTracked += 1
        } else {
            for ch in 0..<c {
                mean[ch] = runningMean.value.data[ch]
                invStd[ch] = Float(1 / (Double(runningVar.value.data[ch]) + Double(eps)).squareRoot())
            }
        }
        // y = x · scale + shift per channel, then + residual, then ReLU.
        let gamma = weight.value.data
        let beta = bias.value.data
        var scale = [Float](repeating: 0, count: c)
        var shift = scale
        for ch in 0..<c {
            scale[ch] = invStd[ch] * gamma[ch]
            shift[ch] = beta[ch] - mean[ch] * scale[ch]
        }
        let y = Tensor(shape: x.shape) { yp in
            x.withUnsafeBufferPointer { xp in
                residual.withOptionalPointer { rp in
                    let ctx = UncheckedSendable((xp.baseAddress!, yp.baseAddress!, rp))
                    parallelRanges(n * c, threads: threads) { rows in
                        let (xb, yb, rb) = ctx.value
                        for row in rows {
                            let ch = row % c
                            let (s, b) = (scale[ch], shift[ch])
                            let src = xb + row * inner
                            let dst = yb + row * inner
                            if let rb {
                                let r = rb + row * inner
                                if relu {
                                    for j in 0..<inner { dst[j] = max(src[j] * s + b + r[j], 0) }
                                } else {
                                    for j in 0..<inner { dst[j] = src[j] * s + b + r[j] }
                                }
                            } else if relu {
                                for j in 0..<inner { dst[j] = max(src[j] * s + b, 0) }
                            } else {
                                for j in 0..<inner { dst[j] = src[j] * s + b }
                            }
                        }
                    }
                }
            }
        }
        return (
            y,
            Cache(
                input: x, output: y, mean: mean, invStd: invStd, relu: relu, residual: residual != nil,
                batchStatistics: training)
        )
    }

    /// Adds the weight and bias gradients and returns `dx`; with a fused residual also the
    /// residual's gradient (`dy` through the ReLU mask).
    ///
    /// With batch statistics, `dx = γ/σ · (g - mean(g) - x̂ · mean(g · x̂))` per channel, where
    /// `g` is `dy` through the ReLU mask and `x̂` the normalised input; with fixed statistics
    /// `dx = γ/σ · g`.
    public func backward(_ dy: Tensor, cache: Cache, threads: Int = 1) -> (dx: Tensor, dResidual: Tensor?) {
        let x = cache.input
        precondition(dy.shape == x.shape, "batch norm backward: dy \(dy.shape) vs x \(x.shape)")
        let (n, c) = (x.shape[0], channels)
        let inner = x.shape.dropFirst(2).reduce(1, *)
        let m = n * inner
        // g = dy through the ReLU mask (output > 0); never materialised unless the residual
        // needs it. Pass 1, per channel: Σ g and Σ g·x, hence Σ g·x̂ = (Σ g·x - mean·Σ g)/σ.
        let relu = cache.relu
        var sumG = [Double](repeating: 0, count: c)
        var sumGX = sumG
        dy.withUnsafeBufferPointer { dp in
            x.withUnsafeBufferPointer { xp in
                cache.output.withUnsafeBufferPointer { op in
                    sumG.withUnsafeMutableBufferPointer { sg in
                        sumGX.withUnsafeMutableBufferPointer { sgx in
                            let ctx = UncheckedSendable(
                                (dp.baseAddress!, xp.baseAddress!, op.baseAddress!, sg.baseAddress!, sgx.baseAddress!))
                            parallelRanges(c, threads: inner == 1 ? 1 : threads) { channels in
                                let (d, xb, o, sgp, sgxp) = ctx.value
                                for ch in channels {
                                    var s: Double = 0
                                    var sx: Double = 0
                                    for i in 0..<n {
                                        let off = (i * c + ch) * inner
                                        let r = maskedSums(d + off, xb + off, relu ? o + off : nil, count: inner)
                                        s += r.0
                                        sx += r.1
                                    }
                                    sgp[ch] = s
                                    sgxp[ch] = (sx - Double(cache.mean[ch]) * s) * Double(cache.invStd[ch])
                                }
                            }
                        }
                    }
                }
            }
        }
        weight.grad.withUnsafeMutableBufferPointer { gw in
            bias.grad.withUnsafeMutableBufferPointer { gb in
                for ch in 0..<c {
                    gw[ch] += Float(sumGX[ch])
                    gb[ch] += Float(sumG[ch])
                }
            }
        }
        let gamma = weight.value.data
        // Pass 2: dx = a · (g - mean(g)) - e · (x - mean) per channel, with a = γ/σ and, for
        // batch statistics, e = a/σ · mean(g·x̂) (x - mean rather than x̂ = (x - mean)/σ
        // expanded, which would cancel badly when the mean is large).
        var a = [Float](repeating: 0, count: c)
        var meanGs = a
        var e = a
        for ch in 0..<c {
            let s = Double(cache.invStd[ch])
            let gm = Double(gamma[ch])
            a[ch] = Float(gm * s)
            if cache.batchStatistics {
                meanGs[ch] = Float(sumG[ch] / Double(m))
                e[ch] = Float(gm * s * s * sumGX[ch] / Double(m))
            }
        }
        let means = cache.mean
        var dResidual: Tensor?
        func pass2(_ res: UnsafeMutablePointer<Float>?) -> Tensor {
            Tensor(shape: x.shape) { out in
                dy.withUnsafeBufferPointer { dp in
                    x.withUnsafeBufferPointer { xp in
                        cache.output.withUnsafeBufferPointer { op in
                            let ctx = UncheckedSendable(
                                (dp.baseAddress!, xp.baseAddress!, op.baseAddress!, out.baseAddress!, res))
                            parallelRanges(n * c, threads: threads) { rows in
                                let (db, xb, ob, outb, rb) = ctx.value
                                for row in rows {
                                    let ch = row % c
                                    let off = row * inner
                                    normGradientRow(
                                        db + off, xb + off, relu ? ob + off : nil, into: outb + off,
                                        gradient: rb.map { $0 + off }, count: inner,
                                        a: a[ch], meanG: meanGs[ch], e: e[ch], mean: means[ch])
                                }
                            }
                        }
                    }
                }
            }
        }
        let dx: Tensor
        if cache.residual {
            var r = Tensor(shape: [0])
            var computed = Tensor(shape: [0])
            r = Tensor(shape: x.shape) { rp in computed = pass2(rp.baseAddress!) }
            dx = computed
            dResidual = r
        } else {
            dx = pass2(nil)
        }
        return (dx, dResidual)
    }

    /// Per-channel reductions of `[N, C, inner]` data, channels split over `threads`.
    private func channelSums(
        _ p: UnsafePointer<Float>, n: Int, c: Int, inner: Int, threads: Int,
        _ reduce: (UnsafePointer<Float>, Int) -> (Double, Double)
    ) -> [(Double, Double)] {
        var out = [(Double, Double)](repeating: (0, 0), count: c)
        if inner == 1 {
            // Vectors [N, C]: walk rows, accumulate every channel (a channel is strided).
            for i in 0..<n {
                for ch in 0..<c {
                    let r = reduce(p + i * c + ch, 1)
                    out[ch].0 += r.0
                    out[ch].1 += r.1
                }
            }
            return out
        }
        out.withUnsafeMutableBufferPointer { o in
            let ctx = UncheckedSendable((p, o.baseAddress!))
            withoutActuallyEscaping(reduce) { reduce in
                let r = UncheckedSendable(reduce)
                parallelRanges(c, threads: threads) { channels in
                    let (base, dst) = ctx.value
                    for ch in channels {
                        var s = (0.0, 0.0)
                        for i in 0..<n {
                            let v = r.value(base + (i * c + ch) * inner, inner)
                            s.0 += v.0
                            s.1 += v.1
                        }
                        dst[ch] = s
                    }
                }
            }
        }
        return out
    }
}

/// (Σ g, Σ g·x) over `count` values with `g = mask ? (out > 0 ? dy : 0) : dy`, sixteen lanes
/// at a time per chunk of 1024, chunks summed in double.
@inline(__always)
func maskedSums(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ out: UnsafePointer<Float>?, count: Int) -> (
    Double, Double
) {
    var s: Double = 0
    var sx: Double = 0
    var i = 0
    while i < count {
        let end = min(count, i + 1024)
        var acc = SIMD16<Float>()
        var accx = SIMD16<Float>()
        var j = i
        while j + 16 <= end {
            var g = UnsafeRawPointer(dy + j).loadUnaligned(as: SIMD16<Float>.self)
            if let out {
                g.replace(with: 0, where: UnsafeRawPointer(out + j).loadUnaligned(as: SIMD16<Float>.self) .<= 0)
            }
            acc += g
            accx += g * UnsafeRawPointer(x + j).loadUnaligned(as: SIMD16<Float>.self)
            j += 16
        }
        var cs = Double(acc.sum())
        var csx = Double(accx.sum())
        while j < end {
            let g = (out.map { $0[j] > 0 } ?? true) ? dy[j] : 0
            cs += Double(g)
            csx += Double(g) * Double(x[j])
            j += 1
        }
        s += cs
        sx += csx
        i = end
    }
    return (s, sx)
}

/// One row of the batch-norm input gradient: `dx = a · (g - meanG) - e · (x - mean)` with
/// `g` as in `maskedSums`; `g` itself is stored into `gradient` when given (the residual's).
@inline(__always)
func normGradientRow(
    _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ out: UnsafePointer<Float>?,
    into dx: UnsafeMutablePointer<Float>,
    gradient: UnsafeMutablePointer<Float>?, count: Int, a: Float, meanG: Float, e: Float, mean: Float
) {
    var j = 0
    while j + 16 <= count {
        var g = UnsafeRawPointer(dy + j).loadUnaligned(as: SIMD16<Float>.self)
        if let out { g.replace(with: 0, where: UnsafeRawPointer(out + j).loadUnaligned(as: SIMD16<Float>.self) .<= 0) }
        let xv = UnsafeRawPointer(x + j).loadUnaligned(as: SIMD16<Float>.self)
        let r = a * (g - meanG) - e * (xv - mean)
        UnsafeMutableRawPointer(dx + j).storeBytes(of: r, as: SIMD16<Float>.self)
        if let gradient { UnsafeMutableRawPointer(gradient + j).storeBytes(of: g, as: SIMD16<Float>.self) }
        j += 16
    }
    while j < count {
        let g = (out.map { $0[j] > 0 } ?? true) ? dy[j] : 0
        dx[j] = a * (g - meanG) - e * (x[j] - mean)
        gradient?[j] = g
        j += 1
    }
}
