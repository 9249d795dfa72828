import Tensor

/// A set of parameters that share optimiser settings (PyTorch's parameter groups).
public struct ParameterGroup: Sendable {
    public var parameters: [Parameter]
    public var weightDecay: Float
    /// Multiplies the optimiser's learning rate for this group (1 by default).
    public var learningRateScale: Float

    public init(parameters: [Parameter], weightDecay: Float, learningRateScale: Float = 1) {
        self.parameters = parameters
        self.weightDecay = weightDecay
        self.learningRateScale = learningRateScale
    }

    /// One group with `weightDecay` for everything, or, with `exemptNormAndBias`, two: the
    /// weights (and embeddings) with `weightDecay`, the normalisation parameters and biases
    /// without (a common recipe; CMD's own code decays everything).
    public static func split(_ parameters: [Parameter], weightDecay: Float, exemptNormAndBias: Bool) -> [ParameterGroup]
    {
        guard exemptNormAndBias else { return [ParameterGroup(parameters: parameters, weightDecay: weightDecay)] }
        let exempt = parameters.filter { $0.kind == .norm || $0.kind == .bias }
        let decayed = parameters.filter { $0.kind != .norm && $0.kind != .bias }
        return [
            ParameterGroup(parameters: decayed, weightDecay: weightDecay),
            ParameterGroup(parameters: exempt, weightDecay: 0),
        ]
    }
}

/// What every optimiser offers the training loop: a step, a learning rate, and its state as
/// named tensors and scalars (for exact resumption).
public protocol Optimizer: AnyObject {
    var groups: [ParameterGroup] { get }
    /// The base learning rate of the next step (a schedule sets it before each step).
    var learningRate: Float { get set }
    /// Applies one update from the accumulated gradients.
    func step()
    /// Per-parameter state tensors, keyed `<parameter name>.<state name>`.
    var stateTensors: [String: Tensor] { get }
    /// Scalar state (step counts), keyed by name.
    var stateScalars: [String: Double] { get }
    /// Restores what `stateTensors`/`stateScalars` returned.
    /// - Throws: `OptimizerStateError` when a tensor is missing, unknown or mis-shaped.
    func restore(tensors: [String: Tensor], scalars: [String: Double]) throws
}

extension Optimizer {
    /// Every parameter, in group order.
    public var allParameters: [Parameter] { groups.flatMap(\.parameters) }

    /// Sets every gradient to zero.
    public func zeroGrad() { for p in allParameters { p.zeroGrad() } }
}

/// Optimiser state that does not fit the optimiser's parameters.
public struct OptimizerStateError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Scales all gradients so their global L2 norm is at most `maxNorm`, exactly as PyTorch's
/// `clip_grad_norm_` (coefficient `maxNorm / (norm + 1e-6)`, clamped at 1). Returns the norm
/// before clipping.
@discardableResult
public func clipGradientNorm(_ parameters: [Parameter], maxNorm: Float) -> Float {
    var total: Double = 0
    for p in parameters {
        let n = p.grad.withUnsafeBufferPointer { runDot($0.baseAddress!, $0.baseAddress!, count: $0.count) }
        // PyTorch takes each tensor's norm in float, then the norm of the norms.
        let each = Float(n.squareRoot())
        total += Double(each) * Double(each)
    }
    let norm = Float(total.squareRoot())
    let coefficient = min(maxNorm / (norm + 1e-6), 1)
    if coefficient < 1 {
        for p in parameters {
            p.grad.withUnsafeMutableBufferPointer { g in for i in g.indices { g[i] *= coefficient } }
        }
    }
    return norm
}
