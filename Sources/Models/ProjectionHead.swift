import NN
import Tensor

/// One of CMD's four projection heads (docs/method.md §4): 1x1 Conv1d in → hidden (with bias),
/// BatchNorm1d, ReLU, 1x1 Conv1d hidden → out (no bias), BatchNorm1d. The caller L2-normalises
/// the output (`L2Normalize`).
///
/// Shapes: `x [R, in]` → `[R, out]`, one row per vector or token: a 1x1 Conv1d on
/// `[B, C, L]` is a Linear per token, and its BatchNorm1d takes statistics over B·L, which
/// are the rows here. Names follow the PyTorch `nn.Sequential`: `<name>.0.weight
/// [hidden, in, 1]`, `<name>.0.bias`, `<name>.1.*` (BN), `<name>.3.weight [out, hidden, 1]`,
/// `<name>.4.*` (BN).
public final class ProjectionHead: ParameterContainer {
    public let first: LinearLayer
    public let firstNorm: BatchNormLayer
    public let second: LinearLayer
    public let secondNorm: BatchNormLayer

    /// Kaiming-normal (fan_out) convs, bias 0, BN weight 1 and bias 0 (CMD's head init).
    public init(name: String, inFeatures: Int, hidden: Int, outFeatures: Int, seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        first = LinearLayer(
            name: name + ".0",
            weight: Tensor.normal(
                shape: [hidden, inFeatures, 1], std: Float((2.0 / Double(hidden)).squareRoot()), using: &rng),
            bias: Tensor(shape: [hidden]))
        firstNorm = BatchNormLayer(name: name + ".1", channels: hidden)
        second = LinearLayer(
            name: name + ".3",
            weight: Tensor.normal(
                shape: [outFeatures, hidden, 1], std: Float((2.0 / Double(outFeatures)).squareRoot()), using: &rng))
        secondNorm = BatchNormLayer(name: name + ".4", channels: outFeatures)
    }

    public var parameters: [Parameter] {
        first.parameters + firstNorm.parameters + second.parameters + secondNorm.parameters
    }
    public var buffers: [Buffer] { firstNorm.buffers + secondNorm.buffers }

    public var training: Bool {
        get { firstNorm.training }
        set {
            firstNorm.training = newValue
            secondNorm.training = newValue
        }
    }

    public struct Cache {
        var first: LinearLayer.Cache, firstNorm: BatchNormLayer.Cache, second: LinearLayer.Cache,
            secondNorm: BatchNormLayer.Cache
    }

    /// `x [R, in]` → `[R, out]`.
    public func forward(_ x: Tensor, threads: Int = 1) -> (Tensor, Cache) {
        let (h, c1) = first.forward(x, threads: threads)
        let (a, n1) = firstNorm.forward(h, relu: true, threads: threads)
        let (z, c2) = second.forward(a, threads: threads)
        let (y, n2) = secondNorm.forward(z, threads: threads)
        return (y, Cache(first: c1, firstNorm: n1, second: c2, secondNorm: n2))
    }

    /// Adds every parameter gradient; returns `dx [R, in]`.
    public func backward(_ dy: Tensor, cache: Cache, threads: Int = 1) -> Tensor {
        let dz = secondNorm.backward(dy, cache: cache.secondNorm, threads: threads).dx
        let da = second.backward(dz, cache: cache.second, threads: threads)
        let dh = firstNorm.backward(da, cache: cache.firstNorm, threads: threads).dx
        return first.backward(dh, cache: cache.first, threads: threads)
    }
}
