import Tensor

/// Stochastic gradient descent with PyTorch's exact semantics (`torch.optim.SGD`), in the
/// order of its single-tensor update, in float:
/// ```
/// d = grad + weight_decay · p
/// buf = d                                     (first step)
/// buf = momentum · buf + (1 - dampening) · d  (later steps)
/// d = d + momentum · buf  (Nesterov)   or   d = buf
/// p = p - lr · d
/// ```
/// CMD pretrains with momentum 0.9, Nesterov, dampening 0, weight decay 1e-3 (docs/method.md §6).
public final class SGD: Optimizer {
    public private(set) var groups: [ParameterGroup]
    public var learningRate: Float
    public let momentum: Float
    public let dampening: Float
    public let nesterov: Bool
    /// Momentum buffers by parameter name (absent before a parameter's first step).
    private var buffers: [String: Tensor] = [:]

    public init(
        groups: [ParameterGroup], learningRate: Float, momentum: Float = 0, dampening: Float = 0, nesterov: Bool = false
    ) {
        precondition(
            !nesterov || (momentum > 0 && dampening == 0), "Nesterov momentum requires a momentum and zero dampening")
        precondition(
            Set(groups.flatMap { $0.parameters.map(\.name) }).count == groups.reduce(0) { $0 + $1.parameters.count },
            "parameter names must be unique")
        self.groups = groups
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
    }

    public func step() {
        for group in groups {
            let lr = learningRate * group.learningRateScale
            let wd = group.weightDecay
            for p in group.parameters {
                let n = p.value.count
                var d = p.grad
                if wd != 0 {
                    d.withUnsafeMutableBufferPointer { dp in
                        p.value.withUnsafeBufferPointer { v in for i in 0..<n { dp[i] = dp[i] + wd * v[i] } }
                    }
                }
                if momentum != 0 {
                    if var buf = buffers[p.name] {
                        buffers[p.name] = nil  // unique, so the update below is in place
                        buf.withUnsafeMutableBufferPointer { b in
                            d.withUnsafeBufferPointer { dp in
                                for i in 0..<n { b[i] = b[i] * momentum + (1 - dampening) * dp[i] }
                            }
                        }
                        buffers[p.name] = buf
                    } else {
                        buffers[p.name] = d
                    }
                    let buf = buffers[p.name]!
                    if nesterov {
                        d.withUnsafeMutableBufferPointer { dp in
                            buf.withUnsafeBufferPointer { b in for i in 0..<n { dp[i] = dp[i] + momentum * b[i] } }
                        }
                    } else {
                        d = buf
                    }
                }
                d.withUnsafeBufferPointer { dp in
                    p.value.withUnsafeMutableBufferPointer { v in for i in 0..<n { v[i] = v[i] + -lr * dp[i] } }
                }
            }
        }
    }

    public var stateTensors: [String: Tensor] {
        Dictionary(uniqueKeysWithValues: buffers.map { ($0.key + ".momentum_buffer", $0.value) })
    }

    public var stateScalars: [String: Double] { [:] }

    public func restore(tensors: [String: Tensor], scalars: [String: Double]) throws {
        let shapes = Dictionary(uniqueKeysWithValues: allParameters.map { ($0.name, $0.shape) })
        var restored: [String: Tensor] = [:]
        for (key, t) in tensors {
            guard key.hasSuffix(".momentum_buffer") else {
                throw OptimizerStateError("SGD state has an unknown tensor \(key)")
            }
            let name = String(key.dropLast(".momentum_buffer".count))
            guard let shape = shapes[name] else {
                throw OptimizerStateError("SGD state names \(name), which is not a parameter")
            }
            guard shape == t.shape else {
                throw OptimizerStateError("SGD momentum of \(name) is \(t.shape), the parameter is \(shape)")
            }
            restored[name] = t
        }
        buffers = restored
    }
}
