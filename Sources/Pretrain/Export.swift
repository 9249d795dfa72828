import Common
import Foundation
import Models
import NN
import SafeTensors
import Tensor

/// Turns a pretraining run into the files `embed`, `search` and the explorer load.
///
/// - `FILE` (safetensors): the video backbone alone, with the inference checkpoint names of
///   docs/method.md §7.1 (`conv1_s.weight`, `bn1_s.running_mean`, …): the strict loader reads it
///   like the ModelScope file.
/// - `FILE` with `.views.safetensors` for `.safetensors`: `motion.weight`, the predictor's
///   input projection, which turns the backbone's fused clip map into the motion view, and the
///   rest of the predictor with its query head (`k_embedding.weight`, `transformer.…`,
///   `mq_head.…`, metadata `predictor.heads`) for the predicted view; and the two networks the
///   scene and motion views run, under CMD's names (`i_backbone.…` + `ik_head.…`, `m_backbone.…`
///   + `mk_head.…`), with how pretraining fed them as metadata (`DecoupledInput`); a run with the
///   move term's head adds `mv_head.…`, and with its own motion network `mv_backbone.…`.
public enum Export {
    /// A model of `setup` with the weights of `checkpoint` (a `TrainingCheckpoint` path without
    /// extension).
    static func restoredModel(_ setup: PretrainSetup, checkpoint: String) throws -> CMDModel {
        let model = try CMDModel(config: setup.model, seed: setup.seed)
        let ck = try TrainingCheckpoint.read(from: checkpoint)
        try ck.restore(parameters: model.parameters, buffers: model.buffers, optimizer: nil)
        return model
    }

    /// Loads `checkpoint` (a `TrainingCheckpoint` path without extension) into a model of
    /// `setup` and writes the two files; `motionReadout` is what the motion view will read.
    public static func write(
        setup: PretrainSetup, checkpoint: String, to path: String, metadata: [String: String],
        motionReadout: MotionReadout = .layer2Max, moveHeadShare: Float? = nil
    ) throws {
        var metadata = metadata
        metadata[ViewsFile.exportKey] = try SHA256.hexDigest(ofFile: checkpoint + ".safetensors")
        let model = try restoredModel(setup, checkpoint: checkpoint)
        let prefix = "rgb_backbone."
        var tensors: [String: FloatTensor] = [:]
        for p in model.backbone.parameters {
            tensors[String(p.name.dropFirst(prefix.count))] = FloatTensor(shape: p.value.shape, values: p.value.data)
        }
        for b in model.backbone.buffers {
            tensors[String(b.name.dropFirst(prefix.count))] = FloatTensor(shape: b.value.shape, values: b.value.data)
        }
        // The views: the predictor's input projection as `motion.weight` (the motion views), and
        // the rest of the predictor with the query head under CMD's names (the predicted view).
        var views: [String: FloatTensor] = [:]
        for p in model.predictor.parameters + model.mq.parameters {
            views[p.name == "fc.weight" ? "motion.weight" : p.name] = FloatTensor(
                shape: p.value.shape, values: p.value.data)
        }
        // The move term's head and its own motion network go too when the run has them, for
        // the readouts that read them.
        let decoupled =
            model.frameNet.parameters + model.ik.parameters + model.motionNet.parameters + model.mk.parameters
            + (model.mv?.parameters ?? []) + (model.moveNet?.parameters ?? [])
        for p in decoupled { views[p.name] = FloatTensor(shape: p.value.shape, values: p.value.data) }
        for b in model.mq.buffers + model.frameNet.buffers + model.ik.buffers + model.motionNet.buffers
            + model.mk.buffers + (model.mv?.buffers ?? []) + (model.moveNet?.buffers ?? [])
        {
            views[b.name] = FloatTensor(shape: b.value.shape, values: b.value.data)
        }
        let c = setup.model
        var input = DecoupledInput(
            sceneSize: c.size, sceneWidths: c.frameWidths, motionSize: c.motionSize, motionFrames: c.futureFrames,
            motionWidths: c.motionWidths,
            motionStemStride: ResNet10Config.motion(widths: c.motionWidths).motionStemStride,
            cellSize: setup.transform.cellSize, rgb: (setup.rgb ?? .accurate).rawValue, motionReadout: motionReadout,
            ownMoveNetwork: motionReadout.readsMoveHead && model.moveNet != nil)
        input.moveHeadShare = moveHeadShare
        let extra = input.metadata.merging(["predictor.heads": String(c.predictorHeads)]) { $1 }
        // The views first: the weights file, the one a user names, is renamed into place last.
        try SafeTensorsWriter.write(views, metadata: metadata.merging(extra) { $1 }, to: ViewsFile.path(for: path))
        try SafeTensorsWriter.write(tensors, metadata: metadata, to: path)
    }
}
