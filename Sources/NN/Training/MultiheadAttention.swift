import Foundation
import Tensor

/// Multi-head attention with PyTorch `nn.MultiheadAttention`'s parameters and semantics
/// (packed input projection, dropout on the attention weights, output projection), on
/// batch-first tensors.
///
/// Shapes: `query [B, Lq, D]`, `key [B, Lk, D]`, `value [B, Lk, D]` → `[B, Lq, D]`.
/// Parameters: `<name>.in_proj_weight [3D, D]` (rows: q, k, v), `<name>.in_proj_bias [3D]`,
/// `<name>.out_proj.weight [D, D]`, `<name>.out_proj.bias [D]`.
///
/// Per head h (width `dh = D / heads`): `A = softmax(Q_h K_hᵀ / √dh)`, `O_h = dropout(A) V_h`.
public final class MultiheadAttention: ParameterContainer {
    public let inProjWeight: Parameter
    public let inProjBias: Parameter
    public let outProj: LinearLayer
    public let heads: Int
    public let dropout: DropoutLayer

    /// Xavier-uniform projections and zero biases, as PyTorch initialises the module (the
    /// output projection there is a Linear with zero bias; DETR re-initialises every matrix
    /// Xavier-uniform as well).
    public init(name: String, dim: Int, heads: Int, dropout p: Float, rng: inout SeededRandom) {
        precondition(dim % heads == 0, "attention width \(dim) is not a multiple of \(heads) heads")
        inProjWeight = Parameter(
            name: name + ".in_proj_weight", value: xavierUniform([3 * dim, dim], rng: &rng), kind: .weight)
        inProjBias = Parameter(name: name + ".in_proj_bias", value: Tensor(shape: [3 * dim]), kind: .bias)
        outProj = LinearLayer(
            name: name + ".out_proj", weight: xavierUniform([dim, dim], rng: &rng), bias: Tensor(shape: [dim]))
        self.heads = heads
        dropout = DropoutLayer(p: p, seed: rng.next())
    }

    public var parameters: [Parameter] { [inProjWeight, inProjBias] + outProj.parameters }
    public var dim: Int { outProj.outFeatures }

    /// What `backward` needs: the three inputs, their projections, the attention weights
    /// before dropout, the dropout mask, and the heads' concatenated output.
    public struct Cache: Sendable {
        public let query: Tensor, key: Tensor, value: Tensor
        public let q: Tensor, k: Tensor, v: Tensor
        /// `[B, heads, Lq, Lk]`.
        public let weights: Tensor
        public let mask: Tensor?
        public let heads: LinearLayer.Cache
    }

    public func forward(query: Tensor, key: Tensor, value: Tensor, threads: Int = 1) -> (Tensor, Cache) {
        let d = dim
        precondition(
            query.rank == 3 && key.rank == 3 && value.shape == key.shape && query.shape[2] == d && key.shape[2] == d
                && query.shape[0] == key.shape[0],
            "attention takes query [B, Lq, \(d)], key and value [B, Lk, \(d)], got \(query.shape), \(key.shape), \(value.shape)"
        )
        let (b, lq, lk) = (query.shape[0], query.shape[1], key.shape[1])
        let q = project(query, part: 0, threads: threads)
        let k = project(key, part: 1, threads: threads)
        let v = project(value, part: 2, threads: threads)
        let dh = d / heads
        let scale = 1 / Float(dh).squareRoot()
        // Attention weights, one [Lq, Lk] block per (batch, head).
        var weights = Tensor(shape: [b, heads, lq, lk])
        weights.withUnsafeMutableBufferPointer { wp in
            q.withUnsafeBufferPointer { qp in
                k.withUnsafeBufferPointer { kp in
                    let ctx = UncheckedSendable((wp.baseAddress!, qp.baseAddress!, kp.baseAddress!))
                    parallelFor(b * heads, threads: threads) { bh in
                        let (w, qb, kb) = ctx.value
                        let (i, h) = (bh / heads, bh % heads)
                        let s = w + bh * lq * lk
                        gemm(
                            .none, .transposed, m: lq, n: lk, k: dh, alpha: scale, a: qb + i * lq * d + h * dh, lda: d,
                            b: kb + i * lk * d + h * dh, ldb: d, c: s, ldc: lk)
                        for r in 0..<lq { softmaxRow(s + r * lk, count: lk) }
                    }
                }
            }
        }
        let (dropped, mask) = dropout.forward(weights)
        let o = Tensor(shape: [b, lq, d]) { op in
            dropped.withUnsafeBufferPointer { wp in
                v.withUnsafeBufferPointer { vp in
                    let ctx = UncheckedSendable((op.baseAddress!, wp.baseAddress!, vp.baseAddress!))
                    parallelFor(b * heads, threads: threads) { bh in
                        let (out, w, vb) = ctx.value
                        let (i, h) = (bh / heads, bh % heads)
                        gemm(
                            .none, .none, m: lq, n: dh, k: lk, a: w + bh * lq * lk, lda: lk,
                            b: vb + i * lk * d + h * dh, ldb: d, c: out + i * lq * d + h * dh, ldc: d)
                    }
                }
            }
        }
        let (y, oCache) = outProj.forward(o, threads: threads)
        return (
            y,
            Cache(query: query, key: key, value: value, q: q, k: k, v: v, weights: weights, mask: mask, heads: oCache)
        )
    }

    /// Adds every parameter gradient and returns the gradients of query, key and value
    /// (separately: when one tensor fed several of them, the caller adds them up).
    public func backward(_ dy: Tensor, cache: Cache, threads: Int = 1) -> (dQuery: Tensor, dKey: Tensor, dValue: Tensor)
    {
        let d = dim
        let (b, lq, lk) = (cache.query.shape[0], cache.query.shape[1], cache.key.shape[1])
        let dh = d / heads
        let scale = 1 / Float(dh).squareRoot()
        let dO = outProj.backward(dy, cache: cache.heads, threads: threads)
        let dropped = cache.mask.map { cache.weights * $0 } ?? cache.weights
        var dq = Tensor(shape: cache.q.shape)
        var dk = Tensor(shape: cache.k.shape)
        var dv = Tensor(shape: cache.v.shape)
        dq.withUnsafeMutableBufferPointer { dqp in
            dk.withUnsafeMutableBufferPointer { dkp in
                dv.withUnsafeMutableBufferPointer { dvp in
                    dO.withUnsafeBufferPointer { dop in
                        cache.weights.withUnsafeBufferPointer { ap in
                            dropped.withUnsafeBufferPointer { adp in
                                cache.mask.withOptionalPointer { mp in
                                    cache.q.withUnsafeBufferPointer { qp in
                                        cache.k.withUnsafeBufferPointer { kp in
                                            cache.v.withUnsafeBufferPointer { vp in
                                                let ctx = UncheckedSendable(
                                                    (
                                                        dqp.baseAddress!, dkp.baseAddress!, dvp.baseAddress!,
                                                        dop.baseAddress!, ap.baseAddress!, adp.baseAddress!, mp,
                                                        qp.baseAddress!, kp.baseAddress!, vp.baseAddress!
                                                    ))
                                                parallelRanges(b * heads, threads: threads) { range in
                                                    let (dQ, dK, dV, dOb, A, Ad, M, Q, K, V) = ctx.value
                                                    let dA = UnsafeMutablePointer<Float>.allocate(capacity: lq * lk)
                                                    defer { dA.deallocate() }
                                                    for bh in range {
                                                        let (i, h) = (bh / heads, bh % heads)
                                                        let off = bh * lq * lk
                                                        let qo = i * lq * d + h * dh
                                                        let ko = i * lk * d + h * dh
                                                        // dV_h = dropout(A)ᵀ · dO_h; d(dropout(A)) = dO_h · V_hᵀ.
                                                        gemm(
                                                            .transposed, .none, m: lk, n: dh, k: lq, a: Ad + off,
                                                            lda: lk, b: dOb + qo, ldb: d, c: dV + ko, ldc: d)
                                                        gemm(
                                                            .none, .transposed, m: lq, n: lk, k: dh, a: dOb + qo,
                                                            lda: d, b: V + ko, ldb: d, c: dA, ldc: lk)
                                                        if let M { for j in 0..<(lq * lk) { dA[j] *= M[off + j] } }
                                                        // Softmax backward, row by row: dS = A · (dA - Σ dA·A).
                                                        for r in 0..<lq {
                                                            let a = A + off + r * lk
                                                            let g = dA + r * lk
                                                            let dot = Float(runDot(a, g, count: lk))
                                                            for j in 0..<lk { g[j] = a[j] * (g[j] - dot) }
                                                        }
                                                        gemm(
                                                            .none, .none, m: lq, n: dh, k: lk, alpha: scale, a: dA,
                                                            lda: lk, b: K + ko, ldb: d, c: dQ + qo, ldc: d)
                                                        gemm(
                                                            .transposed, .none, m: lk, n: dh, k: lq, alpha: scale,
                                                            a: dA, lda: lk, b: Q + qo, ldb: d, c: dK + ko, ldc: d)
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        _ = dropped
        let dQuery = projectBackward(dq, input: cache.query, part: 0, threads: threads)
        let dKey = projectBackward(dk, input: cache.key, part: 1, threads: threads)
        let dValue = projectBackward(dv, input: cache.value, part: 2, threads: threads)
        return (dQuery, dKey, dValue)
    }

    /// `x · W_partᵀ + b_part` with rows `part·D ..< (part+1)·D` of the packed projection.
    private func project(_ x: Tensor, part: Int, threads: Int) -> Tensor {
        let d = dim
        let rows = x.count / d
        return Tensor(shape: x.shape) { out in
            x.withUnsafeBufferPointer { xp in
                inProjWeight.value.withUnsafeBufferPointer { w in
                    gemm(
                        .none, .transposed, m: rows, n: d, k: d, a: xp.baseAddress!, lda: d,
                        b: w.baseAddress! + part * d * d, ldb: d, c: out.baseAddress!, ldc: d, threads: threads)
                }
            }
            inProjBias.value.withUnsafeBufferPointer { bias in
                for r in 0..<rows { for j in 0..<d { out[r * d + j] += bias[part * d + j] } }
            }
        }
    }

    /// The backward of `project`: adds into the packed weight and bias gradients, returns `dx`.
    private func projectBackward(_ dp: Tensor, input x: Tensor, part: Int, threads: Int) -> Tensor {
        let d = dim
        let rows = x.count / d
        dp.withUnsafeBufferPointer { g in
            x.withUnsafeBufferPointer { xp in
                inProjWeight.grad.withUnsafeMutableBufferPointer { gw in
                    gemm(
                        .transposed, .none, m: d, n: d, k: rows, a: g.baseAddress!, lda: d, b: xp.baseAddress!, ldb: d,
                        beta: 1, c: gw.baseAddress! + part * d * d, ldc: d, threads: threads)
                }
            }
            var sums = [Double](repeating: 0, count: d)
            for r in 0..<rows { for j in 0..<d { sums[j] += Double(g[r * d + j]) } }
            inProjBias.grad.withUnsafeMutableBufferPointer { gb in for j in 0..<d { gb[part * d + j] += Float(sums[j]) }
            }
        }
        return Tensor(shape: x.shape) { out in
            dp.withUnsafeBufferPointer { g in
                inProjWeight.value.withUnsafeBufferPointer { w in
                    gemm(
                        .none, .none, m: rows, n: d, k: d, a: g.baseAddress!, lda: d, b: w.baseAddress! + part * d * d,
                        ldb: d, c: out.baseAddress!, ldc: d, threads: threads)
                }
            }
        }
    }
}

/// In place: `row = softmax(row)` (max subtracted first).
@inline(__always)
func softmaxRow(_ row: UnsafeMutablePointer<Float>, count: Int) {
    var m = -Float.infinity
    for j in 0..<count { m = max(m, row[j]) }
    var s: Float = 0
    for j in 0..<count {
        row[j] = expf(row[j] - m)
        s += row[j]
    }
    let inv = 1 / s
    for j in 0..<count { row[j] *= inv }
}

/// Xavier (Glorot) uniform for a `[fanOut, fanIn, ...]` weight: U(-a, a) with
/// `a = √(6 / (fanIn + fanOut))`, fans counting the receptive field as PyTorch does.
public func xavierUniform(_ shape: [Int], rng: inout SeededRandom) -> Tensor {
    let receptive = shape.dropFirst(2).reduce(1, *)
    let fanIn = shape[1] * receptive
    let fanOut = shape[0] * receptive
    let a = Float((6.0 / Double(fanIn + fanOut)).squareRoot())
    return Tensor.uniform(shape: shape, low: -a, high: a, using: &rng)
}
