import Foundation
import NN
import Tensor

/// The two CMD losses on projection-head outputs (docs/method.md §5): L2 normalisation, cosine
/// logits over temperature, cross-entropy. Each returns the mean loss and the gradients of
/// `weight · loss` with respect to the raw (unnormalised) head outputs.
public enum CMDLoss {
    public struct Result {
        public let loss: Double
        public let dQueries: Tensor
        public let dKeys: Tensor
    }

    /// Context matching: clip b (row b of `clips`, `[B, D]`) against every I-frame
    /// (`frames`, `[B, D]`); the target is its own I-frame.
    public static func context(clips: Tensor, frames: Tensor, temperature: Float, weight: Float, threads: Int = 1)
        -> Result
    {
        contrast(
            queries: clips, keys: frames, targets: Array(0..<clips.shape[0]), temperature: temperature, weight: weight,
            threads: threads)
    }

    /// Pointwise motion prediction: `predicted` `[B·P, D]` (clip b, position p at row b·P + p)
    /// against every target token `targets` `[M·P, D]`, whose first B·P rows are the positive
    /// (future) motion clips in batch order and the rest the negatives; the target of (b, p)
    /// is row b·P + p.
    public static func motion(predicted: Tensor, targets: Tensor, temperature: Float, weight: Float, threads: Int = 1)
        -> Result
    {
        precondition(
            targets.shape[0] >= predicted.shape[0],
            "motion targets \(targets.shape) hold fewer rows than the predictions \(predicted.shape)")
        return contrast(
            queries: predicted, keys: targets, targets: Array(0..<predicted.shape[0]), temperature: temperature,
            weight: weight, threads: threads)
    }

    /// The move term (docs/training.md#move-pairs), a supervised contrastive loss (Khosla et
    /// al., 2020, L_out) on `pooled` (`[M, D]`, the motion network's pooled output of every
    /// motion clip of the batch) with `labels` (each clip's move direction): each clip must find
    /// the clips of its direction among all the others, whatever their footage, and the clips of
    /// its own footage under other moves (its video's negatives) are what it must not find. Row
    /// i's loss is the mean over its positives p of -log(exp(s_ip) / Σ_{a≠i} exp(s_ia)), s the
    /// cosine over `temperature`; rows without a positive are left out. Returns the mean over
    /// rows and the gradient of `weight · loss` with respect to `pooled`.
    public static func moves(pooled: Tensor, labels: [Int], temperature: Float, weight: Float)
        -> (loss: Double, dPooled: Tensor)
    {
        let (m, d) = (pooled.shape[0], pooled.shape[1])
        precondition(labels.count == m, "\(labels.count) move labels for \(m) motion clips")
        let (z, cache) = L2Normalize.forward(pooled)
        // Every cosine over the temperature at once: s = z zᵀ / τ.
        var sim = [Float](repeating: 0, count: m * m)
        z.withUnsafeBufferPointer { zp in
            gemm(
                .none, .transposed, m: m, n: m, k: d, alpha: 1 / temperature, a: zp.baseAddress!, lda: d,
                b: zp.baseAddress!, ldb: d, c: &sim, ldc: m)
        }
        let anchors = (0..<m).filter { i in labels.indices.contains { $0 != i && labels[$0] == labels[i] } }
        // g[i][a] = dL/ds_ia = (softmax_a - [a positive] / |P|) / anchors, for a ≠ i.
        var g = [Float](repeating: 0, count: m * m)
        var total = 0.0
        for i in anchors {
            let row = (0..<m).map { a in a == i ? -Double.infinity : Double(sim[i * m + a]) }
            let top = row.max()!
            let sum = row.reduce(0.0) { $0 + exp($1 - top) }
            let positives = (0..<m).filter { $0 != i && labels[$0] == labels[i] }
            let share = 1 / Double(positives.count)
            total += top + log(sum) - positives.reduce(0.0) { $0 + row[$1] } * share
            for a in 0..<m where a != i {
                g[i * m + a] = Float(
                    (exp(row[a] - top) / sum - (labels[a] == labels[i] ? share : 0)) / Double(anchors.count))
            }
        }
        // s_ia = z_i·z_a / τ, so dL/dz = (g + gᵀ) z · weight / τ.
        for i in 0..<m {
            for a in (i + 1)..<m {
                let both = g[i * m + a] + g[a * m + i]
                g[i * m + a] = both
                g[a * m + i] = both
            }
        }
        var dz = [Float](repeating: 0, count: m * d)
        z.withUnsafeBufferPointer { zp in
            gemm(
                .none, .none, m: m, n: d, k: m, alpha: weight / temperature, a: g, lda: m, b: zp.baseAddress!,
                ldb: d, c: &dz, ldc: d)
        }
        let loss = anchors.isEmpty ? 0 : total / Double(anchors.count)
        return (loss, L2Normalize.backward(Tensor(shape: [m, d], data: dz), cache: cache))
    }

    static func contrast(queries: Tensor, keys: Tensor, targets: [Int], temperature: Float, weight: Float, threads: Int)
        -> Result
    {
        let (qn, qc) = L2Normalize.forward(queries)
        let (kn, kc) = L2Normalize.forward(keys)
        let (loss, cache) = InfoNCE.forward(
            queries: qn, keys: kn, targets: targets, temperature: temperature, threads: threads)
        let (dq, dk) = InfoNCE.backward(cache: cache, scale: weight, threads: threads)
        return Result(
            loss: loss, dQueries: L2Normalize.backward(dq, cache: qc), dKeys: L2Normalize.backward(dk, cache: kc))
    }
}
