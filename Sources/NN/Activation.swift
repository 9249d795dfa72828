import Tensor

/// `max(x, 0)` elementwise, any shape. In the backbones it is fused into the conv epilogue.
public enum ReLU {
    /// `x` (any shape) → same shape.
    public static func forward(_ x: Tensor) -> Tensor { x.relu() }
}

/// Dropout in eval mode: the identity. (The classification heads put it before the final
/// Linear; at inference it does nothing. Training uses `DropoutLayer`, with a mask and a
/// backward pass.)
public struct Dropout: Sendable {
    /// The drop probability used in training.
    public let p: Float

    public init(p: Float = 0.5) { self.p = p }

    /// `x` (any shape) → `x`.
    public func forward(_ x: Tensor) -> Tensor { x }
}
