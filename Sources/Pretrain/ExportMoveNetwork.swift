import Common
import Foundation
import Models
import SafeTensors

extension Export {
    /// Writes the exported weights `base` (and its views file) to `path` with a move-only run's
    /// network and head (`pretrain --move-only`) beside its CMD networks: the views file gets
    /// `mv_backbone.…` and `mv_head.…` (replacing any `base` had), metadata `motion.readout` =
    /// `motionReadout` and `motion.move_network` = `own`. Every other tensor and entry is copied
    /// as it is, the export key too: the backbone file is unchanged, so the pair still matches.
    /// `base` may be `path`.
    public static func addMoveNetwork(
        setup: PretrainSetup, checkpoint: String, base: String, to path: String, motionReadout: MotionReadout,
        moveHeadShare: Float? = nil
    ) throws {
        precondition(setup.model.moveOnly && motionReadout.readsMoveHead)
        guard let views = try ViewsFile.open(for: base),
            let input = try DecoupledInput(metadata: views.metadata, path: views.path)
        else {
            throw ModelError(
                "'\(base)' has no views file with a motion network ('\(ViewsFile.path(for: base))') for the move network to go beside"
            )
        }
        let c = setup.model
        let trained =
            "\(c.futureFrames) frames at \(c.motionSize) px, widths \(c.motionWidths), cells of \(setup.transform.cellSize) px"
        let read =
            "\(input.motionFrames) frames at \(input.motionSize) px, widths \(input.motionWidths), cells of \(input.cellSize) px"
        guard trained == read else {
            throw ModelError(
                "'\(base)' reads motion clips of \(read) and the move network was trained on \(trained): they cannot share the motion view"
            )
        }
        let model = try restoredModel(setup, checkpoint: checkpoint)
        var tensors = views.allTensors().filter { !$0.key.hasPrefix("mv_head.") && !$0.key.hasPrefix("mv_backbone.") }
        for p in model.parameters { tensors[p.name] = FloatTensor(shape: p.value.shape, values: p.value.data) }
        for b in model.buffers { tensors[b.name] = FloatTensor(shape: b.value.shape, values: b.value.data) }
        var reading = input
        reading.motionReadout = motionReadout
        reading.ownMoveNetwork = true
        reading.moveHeadShare = moveHeadShare
        // Every `motion.` entry is the reading's; dropping the base's first clears the optional
        // ones the reading leaves out (a share the base had and this export does not give).
        var metadata = views.metadata.filter { !$0.key.hasPrefix("motion.") }.merging(reading.metadata) { $1 }
        metadata["move_network.checkpoint"] = (checkpoint as NSString).lastPathComponent
        metadata["move_network.checkpoint_sha256"] = try SHA256.hexDigest(ofFile: checkpoint + ".safetensors")
        // The views first, as in `write`: the weights file a user names is renamed into place last.
        try SafeTensorsWriter.write(tensors, metadata: metadata, to: ViewsFile.path(for: path))
        if path != base {
            let weights = try SafeTensorsReader(path: base)
            try SafeTensorsWriter.write(weights.allTensors(), metadata: weights.metadata, to: path)
        }
    }
}
