import Tensor

/// A trainable fully connected layer (PyTorch `nn.Linear`, or a 1x1 `nn.Conv1d` applied to
/// every token): `y = x · Wᵀ + b` over the last axis.
///
/// Shapes: `x [..., in]` → `y [..., out]`; `weight [out, in]` (or `[out, in, 1]` for a 1x1
/// Conv1d, whose state-dict shape it keeps), `bias [out]` (optional).
public final class LinearLayer: ParameterContainer {
    public let weight: Parameter
    public let bias: Parameter?
    public let inFeatures: Int
    public let outFeatures: Int

    /// Parameters named `<name>.weight` and `<name>.bias`.
    public init(name: String, weight: Tensor, bias: Tensor? = nil) {
        precondition(
            weight.rank == 2 || (weight.rank == 3 && weight.shape[2] == 1),
            "linear weight must be [out, in] or [out, in, 1], got \(weight.shape)")
        precondition(bias == nil || bias!.shape == [weight.shape[0]], "linear bias must be [\(weight.shape[0])]")
        self.weight = Parameter(name: name + ".weight", value: weight, kind: .weight)
        self.bias = bias.map { Parameter(name: name + ".bias", value: $0, kind: .bias) }
        outFeatures = weight.shape[0]
        inFeatures = weight.shape[1]
    }

    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }

    /// The cache is the input.
    public typealias Cache = Tensor

    /// `x [..., in]` → `[..., out]` (one GEMM over all rows).
    public func forward(_ x: Tensor, threads: Int = 1) -> (Tensor, Cache) {
        precondition(x.rank >= 1 && x.shape.last == inFeatures, "linear expects [..., \(inFeatures)], got \(x.shape)")
        let rows = x.count / inFeatures
        let y = Tensor(shape: Array(x.shape.dropLast()) + [outFeatures]) { out in
            if rows == 0 { return }
            x.withUnsafeBufferPointer { xp in
                weight.value.withUnsafeBufferPointer { w in
                    gemm(
                        .none, .transposed, m: rows, n: outFeatures, k: inFeatures, a: xp.baseAddress!, lda: inFeatures,
                        b: w.baseAddress!, ldb: inFeatures, c: out.baseAddress!, ldc: outFeatures, threads: threads)
                }
            }
            if let bias {
                bias.value.withUnsafeBufferPointer { b in
                    for i in 0..<rows {
                        let row = out.baseAddress! + i * outFeatures
                        for j in 0..<outFeatures { row[j] += b[j] }
                    }
                }
            }
        }
        return (y, x)
    }

    /// Adds `dW += dyᵀ · x` and `db += Σ dy` over rows, and returns `dx = dy · W`.
    public func backward(_ dy: Tensor, cache x: Cache, threads: Int = 1) -> Tensor {
        let rows = x.count / inFeatures
        precondition(dy.count == rows * outFeatures, "linear backward: dy \(dy.shape) for x \(x.shape)")
        if rows == 0 { return Tensor(shape: x.shape) }
        dy.withUnsafeBufferPointer { dp in
            x.withUnsafeBufferPointer { xp in
                weight.grad.withUnsafeMutableBufferPointer { gw in
                    gemm(
                        .transposed, .none, m: outFeatures, n: inFeatures, k: rows, a: dp.baseAddress!,
                        lda: outFeatures, b: xp.baseAddress!, ldb: inFeatures, beta: 1, c: gw.baseAddress!,
                        ldc: inFeatures, threads: threads)
                }
            }
            if let bias {
                var sums = [Double](repeating: 0, count: outFeatures)
                for i in 0..<rows {
                    let row = dp.baseAddress! + i * outFeatures
                    for j in 0..<outFeatures { sums[j] += Double(row[j]) }
                }
                bias.grad.withUnsafeMutableBufferPointer { gb in for j in 0..<outFeatures { gb[j] += Float(sums[j]) } }
            }
        }
        return Tensor(shape: x.shape) { dx in
            dy.withUnsafeBufferPointer { dp in
                weight.value.withUnsafeBufferPointer { w in
                    gemm(
                        .none, .none, m: rows, n: inFeatures, k: outFeatures, a: dp.baseAddress!, lda: outFeatures,
                        b: w.baseAddress!, ldb: inFeatures, c: dx.baseAddress!, ldc: inFeatures, threads: threads)
                }
            }
        }
    }
}
