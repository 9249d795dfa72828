import Foundation
import Tensor

// Elementwise layers with their backward passes. Each forward names the cache its backward
// reads: ReLU keeps its output (the sign is the mask), GELU its input, Dropout its mask.

extension ReLU {
    /// `x` (any shape) → `max(x, 0)`; the cache is the output.
    public static func forward(training x: Tensor) -> (Tensor, Tensor) {
        let y = x.relu()
        return (y, y)
    }

    /// `dx = dy` where the output was positive, else 0 (PyTorch's choice at 0).
    public static func backward(_ dy: Tensor, output y: Tensor) -> Tensor {
        precondition(dy.shape == y.shape, "relu backward: \(dy.shape) vs \(y.shape)")
        return Tensor(shape: dy.shape) { out in
            dy.withUnsafeBufferPointer { d in
                y.withUnsafeBufferPointer { o in
                    for i in 0..<dy.count { out[i] = o[i] > 0 ? d[i] : 0 }
                }
            }
        }
    }
}

/// GELU with the exact error function (PyTorch `nn.GELU()`): `x · Φ(x)`.
public enum GELU {
    /// `x` (any shape) → same; the cache is the input.
    public static func forward(_ x: Tensor) -> (Tensor, Tensor) {
        (x.map { v in Float(0.5 * Double(v) * (1 + erf(Double(v) / 2.0.squareRoot()))) }, x)
    }

    /// `dx = dy · (Φ(x) + x · φ(x))`.
    public static func backward(_ dy: Tensor, input x: Tensor) -> Tensor {
        dy.zipMap(x) { d, v in
            let xv = Double(v)
            let cdf = 0.5 * (1 + erf(xv / 2.0.squareRoot()))
            let pdf = exp(-0.5 * xv * xv) / (2 * Double.pi).squareRoot()
            return Float(Double(d) * (cdf + xv * pdf))
        }
    }
}

/// Inverted dropout (PyTorch `nn.Dropout`): in training, each value is zeroed with
/// probability p and the survivors scaled by 1/(1-p); in eval mode the identity.
///
/// Call k of `forward` draws its mask from `SeededRandom(seed: seed ^ k·golden)`, so the whole
/// random state is (`seed`, `calls`): saving `calls` resumes a run exactly. (Not PyTorch's
/// generator: fixtures use p = 0.)
public final class DropoutLayer: @unchecked Sendable {
    public let p: Float
    public var training = true
    public let seed: UInt64
    /// Training-mode forward passes so far (the random state to save).
    public var calls: UInt64 = 0

    public init(p: Float, seed: UInt64) {
        precondition(p >= 0 && p < 1, "dropout probability \(p) must be in [0, 1)")
        self.p = p
        self.seed = seed
    }

    /// The cache: the mask, already scaled (0 or 1/(1-p)), or nil when nothing was dropped.
    public typealias Cache = Tensor?

    /// `x` (any shape) → same.
    public func forward(_ x: Tensor) -> (Tensor, Cache) {
        guard training && p > 0 else { return (x, nil) }
        var rng = SeededRandom(seed: seed ^ (calls &* 0x9E37_79B9_7F4A_7C15))
        calls += 1
        let keep = 1 / (1 - p)
        let mask = Tensor(shape: x.shape) { m in
            for i in m.indices { m[i] = rng.nextFloat() < p ? 0 : keep }
        }
        return (x * mask, mask)
    }

    /// `dx = dy · mask`.
    public func backward(_ dy: Tensor, cache: Cache) -> Tensor {
        guard let mask = cache else { return dy }
        return dy * mask
    }
}

/// The residual connection `y = a + b`: its backward hands `dy` to both inputs.
public enum ResidualAdd {
    public static func forward(_ a: Tensor, _ b: Tensor) -> Tensor { a + b }
    public static func backward(_ dy: Tensor) -> (da: Tensor, db: Tensor) { (dy, dy) }
}

/// `a + b` for equal shapes through pointers (the `+` of `Tensor` goes through a closure per
/// element); the sum of two gradients that meet, e.g. a residual block's two branches.
public func addTensors(_ a: Tensor, _ b: Tensor, threads: Int = 1) -> Tensor {
    precondition(a.shape == b.shape, "adding \(a.shape) and \(b.shape)")
    return Tensor(shape: a.shape) { out in
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                let ctx = UncheckedSendable((ap.baseAddress!, bp.baseAddress!, out.baseAddress!))
                parallelRanges(a.count, threads: a.count >= 1 << 16 ? threads : 1) { r in
                    let (x, y, o) = ctx.value
                    for i in r { o[i] = x[i] + y[i] }
                }
            }
        }
    }
}
