import Foundation
import Tensor

/// AdamW with PyTorch's exact semantics (`torch.optim.AdamW`, single-tensor update, no
/// amsgrad), in float:
/// ```
/// p = p · (1 - lr · weight_decay)
/// m = m + (1 - β1) · (g - m)              (lerp)
/// v = β2 · v + (1 - β2) · g · g
/// p = p - lr / (1 - β1^t) · m / (√v / √(1 - β2^t) + eps)
/// ```
public final class AdamW: Optimizer {
    public private(set) var groups: [ParameterGroup]
    public var learningRate: Float
    public let beta1: Float
    public let beta2: Float
    public let eps: Float
    /// Per parameter name: first and second moments, and its step count.
    private var moments: [String: (m: Tensor, v: Tensor)] = [:]
    private var steps: [String: Int] = [:]

    public init(
        groups: [ParameterGroup], learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8
    ) {
        self.groups = groups
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
    }

    public func step() {
        for group in groups {
            let lr = learningRate * group.learningRateScale
            let wd = group.weightDecay
            for p in group.parameters {
                let n = p.value.count
                var (m, v) = moments[p.name] ?? (Tensor(shape: p.shape), Tensor(shape: p.shape))
                moments[p.name] = nil
                let t = (steps[p.name] ?? 0) + 1
                steps[p.name] = t
                let bc1 = 1 - Float(pow(Double(beta1), Double(t)))
                let bc2 = 1 - Float(pow(Double(beta2), Double(t)))
                let stepSize = lr / bc1
                let bc2Sqrt = bc2.squareRoot()
                let decay = 1 - lr * wd
                p.value.withUnsafeMutableBufferPointer { x in
                    p.grad.withUnsafeBufferPointer { g in
                        m.withUnsafeMutableBufferPointer { mp in
                            v.withUnsafeMutableBufferPointer { vp in
                                for i in 0..<n {
                                    x[i] = x[i] * decay
                                    mp[i] = mp[i] + (1 - beta1) * (g[i] - mp[i])
                                    vp[i] = vp[i] * beta2 + (1 - beta2) * (g[i] * g[i])
                                    let denom = vp[i].squareRoot() / bc2Sqrt + eps
                                    x[i] = x[i] + -stepSize * (mp[i] / denom)
                                }
                            }
                        }
                    }
                }
                moments[p.name] = (m, v)
            }
        }
    }

    public var stateTensors: [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (name, mv) in moments {
            out[name + ".exp_avg"] = mv.m
            out[name + ".exp_avg_sq"] = mv.v
        }
        return out
    }

    public var stateScalars: [String: Double] {
        Dictionary(uniqueKeysWithValues: steps.map { ($0.key + ".step", Double($0.value)) })
    }

    public func restore(tensors: [String: Tensor], scalars: [String: Double]) throws {
        let shapes = Dictionary(uniqueKeysWithValues: allParameters.map { ($0.name, $0.shape) })
        var m: [String: Tensor] = [:]
        var v: [String: Tensor] = [:]
        var s: [String: Int] = [:]
        for (key, t) in tensors {
            let (name, kind): (String, String)
            if key.hasSuffix(".exp_avg_sq") {
                (name, kind) = (String(key.dropLast(".exp_avg_sq".count)), "v")
            } else if key.hasSuffix(".exp_avg") {
                (name, kind) = (String(key.dropLast(".exp_avg".count)), "m")
            } else {
                throw OptimizerStateError("AdamW state has an unknown tensor \(key)")
            }
            guard let shape = shapes[name] else {
                throw OptimizerStateError("AdamW state names \(name), which is not a parameter")
            }
            guard shape == t.shape else {
                throw OptimizerStateError("AdamW state \(key) is \(t.shape), the parameter is \(shape)")
            }
            if kind == "m" { m[name] = t } else { v[name] = t }
        }
        for (key, value) in scalars {
            guard key.hasSuffix(".step") else { throw OptimizerStateError("AdamW state has an unknown scalar \(key)") }
            s[String(key.dropLast(".step".count))] = Int(value)
        }
        guard Set(m.keys) == Set(v.keys), Set(m.keys) == Set(s.keys) else {
            throw OptimizerStateError("AdamW state is incomplete: every parameter needs exp_avg, exp_avg_sq and step")
        }
        moments = Dictionary(uniqueKeysWithValues: m.keys.map { ($0, (m[$0]!, v[$0]!)) })
        steps = s
    }
}
