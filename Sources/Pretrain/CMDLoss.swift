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
