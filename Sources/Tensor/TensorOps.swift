/// Elementwise operations and reductions on whole tensors. These allocate their result; the
/// models' hot paths use the in-place pointer kernels in NN instead.
extension Tensor {
    /// Elementwise `f(self)`.
    public func map(_ f: (Float) -> Float) -> Tensor {
        Tensor(shape: shape, data: data.map(f))
    }

    /// Elementwise `f(self, other)` for equal shapes.
    public func zipMap(_ other: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        precondition(shape == other.shape, "shapes \(shape) and \(other.shape) differ")
        return Tensor(shape: shape) { out in
            for i in 0..<count { out[i] = f(data[i], other.data[i]) }
        }
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { a.zipMap(b, +) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { a.zipMap(b, -) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { a.zipMap(b, *) }
    public static func * (a: Tensor, s: Float) -> Tensor { a.map { $0 * s } }

    /// max(x, 0) elementwise.
    public func relu() -> Tensor { map { max($0, 0) } }

    /// Sum of all values (double accumulator).
    public func sum() -> Double { data.reduce(0) { $0 + Double($1) } }

    /// Mean of all values (0 for an empty tensor).
    public func mean() -> Double { count == 0 ? 0 : sum() / Double(count) }

    /// Largest |x| (0 for an empty tensor).
    public func maxAbs() -> Float { data.reduce(0) { max($0, abs($1)) } }

    /// Largest |self - other| for equal shapes.
    public func maxAbsDifference(_ other: Tensor) -> Float {
        precondition(shape == other.shape, "shapes \(shape) and \(other.shape) differ")
        var m: Float = 0
        for i in 0..<count { m = max(m, abs(data[i] - other.data[i])) }
        return m
    }

    /// The parity measure used against PyTorch: max |self - reference| / max |reference|.
    /// 0 when both are all zeros; infinite when only the reference is.
    public func relativeError(to reference: Tensor) -> Float {
        let diff = maxAbsDifference(reference)
        let scale = reference.maxAbs()
        if scale == 0 { return diff == 0 ? 0 : .infinity }
        return diff / scale
    }

    /// True when every value is finite.
    public var isFinite: Bool { data.allSatisfy { $0.isFinite } }
}
