import Tensor

/// A trainable tensor, the gradient accumulated for it, and its checkpoint name.
///
/// Layers hold their parameters by reference: `forward` reads `value`, `backward` adds into
/// `grad` (gradients accumulate until `zeroGrad()`), the optimiser updates `value` in place.
/// A model lists its parameters in module order under their state-dict names, so the same
/// objects serve the optimiser, the checkpoint export and the PyTorch fixtures.
public final class Parameter: @unchecked Sendable {
    /// What the tensor is. The optimiser's parameter groups use it (no weight decay on
    /// normalisation parameters and biases, when asked).
    public enum Kind: String, Sendable, Codable {
        /// Conv and linear weights.
        case weight
        /// Conv and linear biases.
        case bias
        /// BatchNorm / LayerNorm scale and shift.
        case norm
        /// Learned positional embeddings.
        case embedding
    }

    /// State-dict name, e.g. `layer1.0.conv2_s.weight`. A model made of several networks
    /// prefixes it (`rgb_backbone.…`) so names stay unique in its checkpoints.
    public var name: String
    public let kind: Kind
    /// The current value.
    public var value: Tensor
    /// The accumulated gradient, same shape as `value`.
    public var grad: Tensor

    public init(name: String, value: Tensor, kind: Kind) {
        self.name = name
        self.kind = kind
        self.value = value
        self.grad = Tensor(shape: value.shape)
    }

    public var shape: [Int] { value.shape }

    /// Sets the gradient to zero.
    public func zeroGrad() {
        grad.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }

    /// Adds `count` values at `source` into the gradient, starting at element `offset`.
    public func accumulate(_ source: UnsafePointer<Float>, count: Int, offset: Int = 0) {
        precondition(offset + count <= grad.count, "gradient of \(name) has \(grad.count) values")
        grad.withUnsafeMutableBufferPointer { g in
            let dst = g.baseAddress! + offset
            for i in 0..<count { dst[i] += source[i] }
        }
    }
}

/// A tensor that is state but not trained: batch-norm running statistics.
public final class Buffer: @unchecked Sendable {
    /// State-dict name, e.g. `bn1_s.running_mean` (prefixable, like a parameter's).
    public var name: String
    public var value: Tensor

    public init(name: String, value: Tensor) {
        self.name = name
        self.value = value
    }
}

/// Anything with parameters and buffers: a layer, a block, a model.
public protocol ParameterContainer: AnyObject {
    /// Every trainable tensor in module order, with state-dict names.
    var parameters: [Parameter] { get }
    /// Every non-trained state tensor (running statistics), with state-dict names.
    var buffers: [Buffer] { get }
}

extension ParameterContainer {
    public var buffers: [Buffer] { [] }

    /// Sets every gradient to zero.
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    /// Number of trainable values.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }
}
