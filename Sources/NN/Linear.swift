import Tensor

/// A fully connected layer (PyTorch `nn.Linear`): `y = x · Wᵀ + b`.
///
/// Shapes: `x [N, in]`, `weight [out, in]`, `bias [out]` (optional) → `[N, out]`.
public struct Linear: Sendable {
    public let weight: Tensor
    public let bias: Tensor?

    /// - Precondition: `weight` is `[out, in]` and `bias`, when present, `[out]`.
    public init(weight: Tensor, bias: Tensor? = nil) {
        precondition(weight.rank == 2, "linear weight must be [out, in], got \(weight.shape)")
        precondition(bias == nil || bias!.shape == [weight.shape[0]], "linear bias must be [\(weight.shape[0])]")
        self.weight = weight
        self.bias = bias
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    /// `x [N, in]` → `[N, out]`.
    public func forward(_ x: Tensor, threads: Int = 1) -> Tensor {
        precondition(x.rank == 2 && x.shape[1] == inFeatures, "linear expects [N, \(inFeatures)], got \(x.shape)")
        let n = x.shape[0]
        var y = Tensor(shape: [n, outFeatures])
        if n == 0 { return y }
        y.withUnsafeMutableBufferPointer { out in
            x.withUnsafeBufferPointer { xp in
                weight.withUnsafeBufferPointer { w in
                    gemm(
                        .none, .transposed, m: n, n: outFeatures, k: inFeatures, a: xp.baseAddress!, lda: inFeatures,
                        b: w.baseAddress!, ldb: inFeatures, c: out.baseAddress!, ldc: outFeatures, threads: threads)
                }
            }
            if let bias {
                for i in 0..<n { for j in 0..<outFeatures { out[i * outFeatures + j] += bias.data[j] } }
            }
        }
        return y
    }
}
