import Tensor

/// Central finite-difference checks of hand-written backward passes (micrograd's idea of a
/// test oracle): perturb one input value by ±eps, rerun the forward pass, and compare
/// `(L(x + eps) - L(x - eps)) / 2eps` with the analytic gradient.
///
/// The layers compute in float32, so the check does too, and its tolerance follows from
/// that: the loss is summed in double, but each forward output carries float32 rounding of
/// about 6e-8 of its magnitude, which the difference quotient divides by 2·eps. With eps
/// around 1e-2 of the inputs' scale this leaves errors near 1e-4..1e-3 of the gradient's
/// scale; the curvature term is O(eps²). Tests therefore accept a relative error (max
/// difference over the largest analytic gradient checked) of a few 1e-3, where a wrong
/// backward pass (a missing term, a transposed index) shows up as O(1).
public enum GradCheck {
    public struct Result: Sendable, CustomStringConvertible {
        /// Largest |numeric - analytic| over the checked entries.
        public var maxDifference: Double
        /// Largest |analytic| over the checked entries (the error's yardstick).
        public var scale: Double
        /// `maxDifference / scale` (0 when both vanish).
        public var relativeError: Double { scale == 0 ? (maxDifference == 0 ? 0 : .infinity) : maxDifference / scale }
        public var checked: Int
        public var description: String {
            "relative error \(relativeError) over \(checked) entries (max diff \(maxDifference), scale \(scale))"
        }
    }

    /// Checks entries `indices` of a value read by `loss`: `value` is read and written through
    /// the pointer-free closures `get`/`set`, `analytic[i]` is the claimed dL/dvalue[i].
    public static func check(
        indices: [Int], eps: Float, analytic: (Int) -> Float,
        get: (Int) -> Float, set: (Int, Float) -> Void, loss: () -> Double
    ) -> Result {
        var result = Result(maxDifference: 0, scale: 0, checked: 0)
        for i in indices {
            let original = get(i)
            let up = original + eps
            let down = original - eps
            set(i, up)
            let lUp = loss()
            set(i, down)
            let lDown = loss()
            set(i, original)
            let numeric = (lUp - lDown) / (Double(up) - Double(down))
            let a = Double(analytic(i))
            result.maxDifference = max(result.maxDifference, abs(numeric - a))
            result.scale = max(result.scale, abs(a))
            result.checked += 1
        }
        return result
    }

    /// Checks a parameter: its accumulated `grad` against central differences of `loss`.
    public static func check(_ p: Parameter, indices: [Int]? = nil, eps: Float, loss: () -> Double) -> Result {
        let grad = p.grad
        return check(
            indices: indices ?? Array(0..<p.value.count), eps: eps, analytic: { grad.data[$0] },
            get: { p.value.data[$0] }, set: { p.value.data[$0] = $1 }, loss: loss)
    }

    /// Checks the gradient `analytic` of a tensor input held in `x` (which `loss` reads).
    public static func check(
        _ x: inout Tensor, analytic: Tensor, indices: [Int]? = nil, eps: Float, loss: (Tensor) -> Double
    ) -> Result {
        precondition(x.shape == analytic.shape, "gradient \(analytic.shape) for input \(x.shape)")
        var copy = x
        let result = check(
            indices: indices ?? Array(0..<x.count), eps: eps, analytic: { analytic.data[$0] },
            get: { copy.data[$0] }, set: { copy.data[$0] = $1 }, loss: { loss(copy) })
        x = copy
        return result
    }

    /// `Σ y · r` in double: a scalar loss whose gradient with respect to `y` is `r`.
    public static func projection(_ y: Tensor, _ r: Tensor) -> Double {
        precondition(y.shape == r.shape, "projection of \(y.shape) on \(r.shape)")
        return y.withUnsafeBufferPointer { yp in
            r.withUnsafeBufferPointer { rp in runDot(yp.baseAddress!, rp.baseAddress!, count: y.count) }
        }
    }

    /// `count` distinct indices of `0..<total` drawn by `rng` (all of them when `count >= total`).
    public static func sample(_ total: Int, count: Int, rng: inout SeededRandom) -> [Int] {
        if count >= total { return Array(0..<total) }
        var chosen = Set<Int>()
        while chosen.count < count { chosen.insert(Int(rng.next() % UInt64(total))) }
        return chosen.sorted()
    }
}
