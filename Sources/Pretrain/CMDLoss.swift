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

    /// The move-pair term (docs/training.md#move-pairs): the first `count` rows of `pooled`
    /// (`[M, D]`, the motion network's pooled positives) come in pairs (2k, 2k + 1) of clips
    /// from different videos given the same camera move; each member must find its partner
    /// among the other pair's members, both ways (a symmetric InfoNCE of the even rows against
    /// the odd ones). Returns the mean of the two directions and the gradient of
    /// `weight · loss` with respect to all of `pooled` (zero beyond the first `count` rows).
    public static func movePairs(pooled: Tensor, count: Int, temperature: Float, weight: Float, threads: Int = 1)
        -> (loss: Double, dPooled: Tensor)
    {
        precondition(count >= 4 && count % 2 == 0, "move pairs need an even batch of at least 4, got \(count)")
        let d = pooled.shape[1]
        let half = count / 2
        func rows(_ parity: Int) -> Tensor {
            Tensor(
                shape: [half, d],
                data: (0..<half).flatMap { k in pooled.data[((2 * k + parity) * d)..<((2 * k + parity + 1) * d)] })
        }
        let (even, odd) = (rows(0), rows(1))
        let targets = Array(0..<half)
        let a = contrast(
            queries: even, keys: odd, targets: targets, temperature: temperature, weight: weight / 2, threads: threads)
        let b = contrast(
            queries: odd, keys: even, targets: targets, temperature: temperature, weight: weight / 2, threads: threads)
        var grad = Tensor(shape: pooled.shape)
        for k in 0..<half {
            for j in 0..<d {
                grad.data[2 * k * d + j] = a.dQueries.data[k * d + j] + b.dKeys.data[k * d + j]
                grad.data[(2 * k + 1) * d + j] = a.dKeys.data[k * d + j] + b.dQueries.data[k * d + j]
            }
        }
        return ((a.loss + b.loss) / 2, grad)
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
