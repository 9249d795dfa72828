import Tensor

/// Layer normalisation over the last axis (PyTorch `nn.LayerNorm(D)`), as in llm.c's
/// `layernorm_forward/backward`: `y = (x - mean) · rstd · weight + bias` per row.
///
/// Shapes: `x [..., D]` → same; `weight`, `bias` `[D]`.
public final class LayerNormLayer: ParameterContainer {
    public let weight: Parameter
    public let bias: Parameter
    public let eps: Float

    /// Parameters named `<name>.weight` (1) and `<name>.bias` (0).
    public init(name: String, features: Int, eps: Float = 1e-5) {
        weight = Parameter(name: name + ".weight", value: Tensor(shape: [features], repeating: 1), kind: .norm)
        bias = Parameter(name: name + ".bias", value: Tensor(shape: [features]), kind: .norm)
        self.eps = eps
    }

    public var parameters: [Parameter] { [weight, bias] }
    public var features: Int { weight.value.count }

    /// What `backward` needs: the input and every row's mean and 1/std.
    public struct Cache: Sendable {
        public let input: Tensor
        public let mean: [Float]
        public let rstd: [Float]
    }

    public func forward(_ x: Tensor) -> (Tensor, Cache) {
        let d = features
        precondition(x.shape.last == d, "layer norm over \(d) features got \(x.shape)")
        let rows = x.count / d
        var mean = [Float](repeating: 0, count: rows)
        var rstd = mean
        let y = Tensor(shape: x.shape) { out in
            x.withUnsafeBufferPointer { xp in
                weight.value.withUnsafeBufferPointer { w in
                    bias.value.withUnsafeBufferPointer { b in
                        for r in 0..<rows {
                            let row = xp.baseAddress! + r * d
                            let mu = runSum(row, count: d) / Double(d)
                            var v: Double = 0
                            for j in 0..<d { v += (Double(row[j]) - mu) * (Double(row[j]) - mu) }
                            let s = 1 / (v / Double(d) + Double(eps)).squareRoot()
                            mean[r] = Float(mu)
                            rstd[r] = Float(s)
                            let o = out.baseAddress! + r * d
                            for j in 0..<d { o[j] = Float((Double(row[j]) - mu) * s) * w[j] + b[j] }
                        }
                    }
                }
            }
        }
        return (y, Cache(input: x, mean: mean, rstd: rstd))
    }

    /// `dx = rstd · (g - mean(g) - x̂ · mean(g · x̂))` with `g = dy · weight`; adds
    /// `dweight += Σ dy · x̂`, `dbias += Σ dy` over rows.
    public func backward(_ dy: Tensor, cache: Cache) -> Tensor {
        let d = features
        let rows = dy.count / d
        var dw = [Double](repeating: 0, count: d)
        var db = dw
        let dx = Tensor(shape: dy.shape) { out in
            dy.withUnsafeBufferPointer { dp in
                cache.input.withUnsafeBufferPointer { xp in
                    weight.value.withUnsafeBufferPointer { w in
                        for r in 0..<rows {
                            let g = dp.baseAddress! + r * d
                            let x = xp.baseAddress! + r * d
                            let (mu, s) = (Double(cache.mean[r]), Double(cache.rstd[r]))
                            var meanG: Double = 0
                            var meanGX: Double = 0
                            for j in 0..<d {
                                let xhat = (Double(x[j]) - mu) * s
                                let gj = Double(g[j]) * Double(w[j])
                                meanG += gj
                                meanGX += gj * xhat
                                dw[j] += Double(g[j]) * xhat
                                db[j] += Double(g[j])
                            }
                            meanG /= Double(d)
                            meanGX /= Double(d)
                            let o = out.baseAddress! + r * d
                            for j in 0..<d {
                                let xhat = (Double(x[j]) - mu) * s
                                o[j] = Float(s * (Double(g[j]) * Double(w[j]) - meanG - xhat * meanGX))
                            }
                        }
                    }
                }
            }
        }
        weight.grad.withUnsafeMutableBufferPointer { g in for j in 0..<d { g[j] += Float(dw[j]) } }
        bias.grad.withUnsafeMutableBufferPointer { g in for j in 0..<d { g[j] += Float(db[j]) } }
        return dx
    }
}
