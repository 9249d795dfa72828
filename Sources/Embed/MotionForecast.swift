import Foundation
import Models
import NN
import SafeTensors
import Tensor

/// CMD's motion predictor and its query head (`mq_head`), read back from
/// `FILE.views.safetensors`: they turn a clip's fused map into the embeddings of the motion it
/// predicts for the frames after it, the space the motion-vector network's keys live in, which
/// sees no pixel. This is the `predicted` view.
///
/// Evaluation mode only (dropout off, the heads' running statistics), so `apply` keeps no state
/// and runs from several threads at once.
public final class MotionForecast: @unchecked Sendable {
    let predictor: Predictor
    let head: ProjectionHead

    /// The predictor's configuration follows from the tensors' shapes; only the number of
    /// attention heads is metadata (`predictor.heads`).
    public init(tensors t: [String: FloatTensor], metadata: [String: String], path: String) throws {
        func tensor(_ name: String) throws -> FloatTensor {
            guard let x = t[name] else {
                throw ModelError("'\(path)' has no \(name) (export the run again with this version of decouple export)")
            }
            return x
        }
        let fc = try tensor("motion.weight")
        let source = try tensor("k_embedding.weight")
        let target = try tensor("q_embedding.weight")
        guard let heads = metadata["predictor.heads"].flatMap(Int.init), heads > 0 else {
            throw ModelError(
                "'\(path)' does not record predictor.heads (export the run again with this version of decouple export)")
        }
        func layers(_ stack: String) -> Int {
            var n = 0
            while t["transformer.\(stack).layers.\(n).linear1.weight"] != nil { n += 1 }
            return n
        }
        var c = PredictorConfig()
        c.dim = fc.shape[0]
        c.inputChannels = fc.shape[1]
        c.heads = heads
        c.encoderLayers = layers("encoder")
        c.decoderLayers = layers("decoder")
        c.feedForward = try tensor("transformer.decoder.layers.0.linear1.weight").shape[0]
        c.sourceTokens = source.shape[0]
        c.targetTokens = target.shape[0]
        let first = try tensor("mq_head.0.weight")
        let second = try tensor("mq_head.3.weight")
        predictor = Predictor(config: c, seed: 0)
        head = ProjectionHead(
            name: "mq_head", inFeatures: c.dim, hidden: first.shape[0], outFeatures: second.shape[0], seed: 0)
        // The predictor's input projection is the motion view's matrix, stored once.
        for p in predictor.parameters + head.parameters {
            p.value = try Self.load(
                p.name == "fc.weight" ? fc : try tensor(p.name), like: p.value, name: p.name, path: path)
        }
        for b in head.buffers { b.value = try Self.load(try tensor(b.name), like: b.value, name: b.name, path: path) }
        predictor.training = false
        head.training = false
    }

    static func load(_ x: FloatTensor, like current: Tensor, name: String, path: String) throws -> Tensor {
        guard x.shape == current.shape else {
            throw ModelError("'\(path)': \(name) is \(x.shape), the predictor it describes needs \(current.shape)")
        }
        return Tensor(shape: current.shape, data: x.values)
    }

    public var sourceTokens: Int { predictor.config.sourceTokens }
    public var dimension: Int { head.second.outFeatures }

    /// One sentence when `model` at its configured size gives a clip map of another size than
    /// the one the predictor was trained on.
    public func check(_ model: Backbone, path: String) throws {
        let tokens = FeatureFusion.tokenCount(model.config, size: model.config.size)
        let channels = model.embeddingDimension
        guard tokens == sourceTokens, channels == predictor.config.inputChannels else {
            throw ModelError(
                "the predicted view of '\(path)' takes clip maps of \(sourceTokens) positions and \(predictor.config.inputChannels) channels; \(model.config) gives \(tokens) and \(channels): use the frames, size and widths it was trained with"
            )
        }
    }

    /// The fused map `[N, C, T, H, W]` → `[N, D]`: each predicted future position through the
    /// query head, L2-normalised as the loss compares them, then averaged over positions (where
    /// in the frame the motion happens says nothing about which motion it is).
    public func apply(fused: Tensor, threads: Int) -> Tensor {
        let n = fused.shape[0]
        let (pred, _) = predictor.forward(FeatureFusion.tokens(fused), threads: threads)
        let p = predictor.config.targetTokens
        let d = predictor.config.dim
        let (q, _) = head.forward(pred.reshaped([n * p, d]), threads: threads)
        return FeatureFusion.meanOverPositions(L2Normalize.forward(q).0, samples: n)
    }
}
