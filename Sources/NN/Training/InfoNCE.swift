import Foundation
import Tensor

/// Row-wise L2 normalisation (PyTorch `F.normalize(x, dim=-1)`): `y = x / max(‖x‖, eps)`.
///
/// Shapes: `x [..., D]` → same. The cache is the output and every row's norm.
public enum L2Normalize {
    public struct Cache: Sendable {
        public let output: Tensor
        public let norms: [Float]
    }

    public static func forward(_ x: Tensor, eps: Float = 1e-12) -> (Tensor, Cache) {
        let d = x.shape.last!
        let rows = x.count / d
        var norms = [Float](repeating: 0, count: rows)
        let y = Tensor(shape: x.shape) { out in
            x.withUnsafeBufferPointer { xp in
                for r in 0..<rows {
                    let row = xp.baseAddress! + r * d
                    let norm = runDot(row, row, count: d).squareRoot()
                    norms[r] = Float(norm)
                    let scale = 1 / max(norm, Double(eps))
                    for j in 0..<d { out[r * d + j] = Float(Double(row[j]) * scale) }
                }
            }
        }
        return (y, Cache(output: y, norms: norms))
    }

    /// `dx = (dy - y · (y · dy)) / ‖x‖` (rows whose norm was below eps: `dy / eps`).
    public static func backward(_ dy: Tensor, cache: Cache, eps: Float = 1e-12) -> Tensor {
        let d = dy.shape.last!
        let rows = dy.count / d
        return Tensor(shape: dy.shape) { out in
            dy.withUnsafeBufferPointer { dp in
                cache.output.withUnsafeBufferPointer { yp in
                    for r in 0..<rows {
                        let g = dp.baseAddress! + r * d
                        let y = yp.baseAddress! + r * d
                        let norm = Double(cache.norms[r])
                        if norm <= Double(eps) {
                            for j in 0..<d { out[r * d + j] = Float(Double(g[j]) / Double(eps)) }
                            continue
                        }
                        let dot = runDot(y, g, count: d)
                        for j in 0..<d { out[r * d + j] = Float((Double(g[j]) - Double(y[j]) * dot) / norm) }
                    }
                }
            }
        }
    }
}

/// Softmax cross-entropy over similarity logits: the InfoNCE loss of CMD (docs/method.md §5).
///
/// `logits = q · kᵀ / τ` for queries `q [Nq, D]` and keys `k [Nk, D]` (normally L2-normalised,
/// so the logits are cosines over τ), and `loss = mean_i (logsumexp_j logits[i, j] -
/// logits[i, target_i])`. Both CMD forms are this one function:
/// - context matching: `q` = clip features `[B, D]`, `k` = I-frame features `[B, D]`,
///   targets `0..<B`;
/// - pointwise motion prediction: `q` = predicted tokens `[B·P, D]`, `k` = every target token
///   of the batch `[M·P, D]`, target of (b, p) = the row of position p of clip b's positive.
public enum InfoNCE {
    /// What `backward` needs: the inputs and the softmax of every row.
    public struct Cache: Sendable {
        public let queries: Tensor
        public let keys: Tensor
        public let probabilities: Tensor
        public let targets: [Int]
        public let temperature: Float
    }

    /// The mean loss (in double) and the cache.
    public static func forward(
        queries q: Tensor, keys k: Tensor, targets: [Int], temperature: Float = 0.1, threads: Int = 1
    ) -> (Double, Cache) {
        precondition(
            q.rank == 2 && k.rank == 2 && q.shape[1] == k.shape[1],
            "InfoNCE takes q [Nq, D] and k [Nk, D], got \(q.shape), \(k.shape)")
        let (nq, nk, d) = (q.shape[0], k.shape[0], q.shape[1])
        precondition(
            targets.count == nq && targets.allSatisfy { $0 >= 0 && $0 < nk },
            "InfoNCE needs one target in 0..<\(nk) per query")
        var logits = Tensor(shape: [nq, nk])
        logits.withUnsafeMutableBufferPointer { lp in
            q.withUnsafeBufferPointer { qp in
                k.withUnsafeBufferPointer { kp in
                    gemm(
                        .none, .transposed, m: nq, n: nk, k: d, alpha: 1 / temperature, a: qp.baseAddress!, lda: d,
                        b: kp.baseAddress!, ldb: d, c: lp.baseAddress!, ldc: nk, threads: threads)
                }
            }
        }
        var loss: Double = 0
        logits.withUnsafeMutableBufferPointer { lp in
            for i in 0..<nq {
                let row = lp.baseAddress! + i * nk
                var m = -Float.infinity
                for j in 0..<nk { m = max(m, row[j]) }
                var s: Double = 0
                for j in 0..<nk { s += exp(Double(row[j] - m)) }
                let logSum = Double(m) + log(s)
                loss += logSum - Double(row[targets[i]])
                // The row becomes its softmax (what the backward needs).
                for j in 0..<nk { row[j] = Float(exp(Double(row[j]) - logSum)) }
            }
        }
        return (
            loss / Double(max(1, nq)),
            Cache(queries: q, keys: k, probabilities: logits, targets: targets, temperature: temperature)
        )
    }

    /// Gradients of the mean loss (times `scale`, e.g. a loss weight): with
    /// `G = (softmax - onehot) / (Nq · τ)`, `dq = G · k` and `dk = Gᵀ · q`.
    public static func backward(cache: Cache, scale: Float = 1, threads: Int = 1) -> (dq: Tensor, dk: Tensor) {
        let (nq, nk, d) = (cache.queries.shape[0], cache.keys.shape[0], cache.queries.shape[1])
        var g = cache.probabilities
        let factor = scale / (Float(max(1, nq)) * cache.temperature)
        g.withUnsafeMutableBufferPointer { gp in
            for i in 0..<nq { gp[i * nk + cache.targets[i]] -= 1 }
            for i in gp.indices { gp[i] *= factor }
        }
        let dq = Tensor(shape: [nq, d]) { out in
            g.withUnsafeBufferPointer { gp in
                cache.keys.withUnsafeBufferPointer { kp in
                    gemm(
                        .none, .none, m: nq, n: d, k: nk, a: gp.baseAddress!, lda: nk, b: kp.baseAddress!, ldb: d,
                        c: out.baseAddress!, ldc: d, threads: threads)
                }
            }
        }
        let dk = Tensor(shape: [nk, d]) { out in
            g.withUnsafeBufferPointer { gp in
                cache.queries.withUnsafeBufferPointer { qp in
                    gemm(
                        .transposed, .none, m: nk, n: d, k: nq, a: gp.baseAddress!, lda: nk, b: qp.baseAddress!, ldb: d,
                        c: out.baseAddress!, ldc: d, threads: threads)
                }
            }
        }
        return (dq, dk)
    }
}
