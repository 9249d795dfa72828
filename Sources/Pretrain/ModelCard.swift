import Common
import Foundation
import Index
import Models
import VideoData

extension Trainer {
    /// What a run's log says: steps, wall time, throughput and the final losses.
    public struct Summary: Codable, Sendable {
        public var steps: Int
        public var wallMinutes: Double
        public var clipsPerSecond: Double
        /// Means over the last 50 steps.
        public var finalContextLoss: Double
        public var finalMotionLoss: Double
        public var firstContextLoss: Double
        public var firstMotionLoss: Double
        /// The move term's, for runs with it (nil in cards from before it existed).
        public var finalMoveLoss: Double?
        public var firstMoveLoss: Double?

        public init(run: String) {
            let dir = run
            let text = (try? String(contentsOfFile: dir + "/log.jsonl", encoding: .utf8)) ?? ""
            let records = text.split(separator: "\n").compactMap {
                try? JSONDecoder().decode(TrainingRecord.self, from: Data($0.utf8))
            }
            let setup = FileManager.default.contents(atPath: dir + "/config.json").flatMap {
                try? JSONDecoder().decode(PretrainSetup.self, from: $0)
            }
            steps = records.last?.step ?? 0
            wallMinutes = (records.last?.elapsedSeconds ?? 0) / 60
            clipsPerSecond = wallMinutes > 0 ? Double(steps * (setup?.batch ?? 0)) / (wallMinutes * 60) : 0
            func mean(_ r: ArraySlice<TrainingRecord>, _ f: (TrainingRecord) -> Double) -> Double {
                r.isEmpty ? 0 : r.map(f).reduce(0, +) / Double(r.count)
            }
            finalContextLoss = mean(records.suffix(50), \.lossContext)
            finalMotionLoss = mean(records.suffix(50), \.lossMotion)
            firstContextLoss = mean(records.prefix(20), \.lossContext)
            firstMotionLoss = mean(records.prefix(20), \.lossMotion)
            if records.contains(where: { $0.lossMove != nil }) {
                finalMoveLoss = mean(records.suffix(50)) { $0.lossMove ?? 0 }
                firstMoveLoss = mean(records.prefix(20)) { $0.lossMove ?? 0 }
            }
        }
    }
}

/// The JSON model card written beside exported weights.
public struct ModelCard: Codable, Sendable {
    public var architecture: String
    public var config: String
    public var embeddingDimension: Int
    public var inputSize: Int
    public var frames: Int
    public var method: String
    public var setup: PretrainSetup
    public var training: Trainer.Summary
    public var checkpoint: String
    public var weights: String
    public var weightsSHA256: String?
    /// The file with the predictor, the projection and the scene and motion networks.
    public var views: String
    /// What each view a user can ask for is, for these weights (`decouple embed --view`).
    public var viewGuide: [String: String]?
    /// How frames must be converted to RGB for these weights: as in training.
    public var rgb: RGBConversion
    public var fixesOverTheOfficialCode: [String]
    /// Filled in by whoever evaluates the weights (`make weights` runs eval scene-bias).
    public var sceneBias: [SceneBiasRow]?
    /// The move network and head beside the CMD networks, from a run of their own (`export
    /// --add-to`); nil when the weights come from one run.
    public var moveNetwork: MoveNetworkCard?

    /// A move-only run (`pretrain --move-only`) as the card of the weights it was added to
    /// records it.
    public struct MoveNetworkCard: Codable, Sendable {
        public var setup: PretrainSetup
        public var training: Trainer.Summary
        public var checkpoint: String
        public var checkpointSHA256: String?
    }

    /// This card with the move network of `setup`'s run beside the CMD networks, the motion view
    /// reading `motionReadout`.
    public func addingMoveNetwork(
        setup: PretrainSetup, checkpoint: String, summary: Trainer.Summary, views: String, motionReadout: MotionReadout,
        moveHeadShare: Float? = nil
    ) -> ModelCard {
        var card = self
        card.views = views
        card.moveNetwork = MoveNetworkCard(
            setup: setup, training: summary, checkpoint: checkpoint,
            checkpointSHA256: try? SHA256.hexDigest(ofFile: checkpoint + ".safetensors"))
        card.viewGuide?["motion"] =
            Self.motionGuide(self.setup.model, readout: motionReadout, moveHeadShare: moveHeadShare)
            + ", the move head over a motion network of its own trained apart (pretrain --move-only, weight \(setup.model.moveWeight ?? 0))"
        return card
    }

    static func motionGuide(_ c: CMDConfig, readout: MotionReadout, moveHeadShare: Float? = nil) -> String {
        let share = moveHeadShare.map { String(format: ", the move head %.0f %% of the cosine", $0 * 100) } ?? ""
        return
            "the clip's motion vectors in tiles of \(c.futureFrames) frames at \(c.motionSize) px through the motion-vector network (\(c.motionWidths.map(String.init).joined(separator: ","))): \(readout.description), L2-normalised, averaged over the tiles: \(DecoupledNetwork.dimension(.motion, widths: c.motionWidths, readout: readout, moveHeadWidth: c.embedding)) values (readout \(readout.rawValue)\(share))"
    }

    public init(
        setup: PretrainSetup, checkpoint: String, summary: Trainer.Summary, weights: String, views: String,
        motionReadout: MotionReadout = .layer2Max, moveHeadShare: Float? = nil
    ) {
        architecture = setup.model.backbone.modelID
        config = setup.model.backbone.description
        embeddingDimension = setup.model.backbone.embeddingDimension
        inputSize = setup.model.size
        frames = setup.model.backbone.frames
        method =
            "CMD (Huang et al., CVPR 2021): context matching against I-frames + pointwise prediction of future motion vectors, InfoNCE with temperature \(setup.model.temperature), loss weights context \(setup.model.contextWeight) : motion \(setup.model.motionWeight)"
            + (setup.model.moveWeight.map {
                ", plus the move term on "
                    + (setup.model.moveHead == true ? "a projection head over " : "")
                    + (setup.model.moveNet == true
                        ? "the pooled features of a motion network of its own" : "the motion network's pooled features")
                    + ", weight \($0)"
            } ?? "")
        self.setup = setup
        training = summary
        self.checkpoint = checkpoint
        self.weights = weights
        weightsSHA256 = nil
        self.views = views
        let c = setup.model
        viewGuide = [
            "video":
                "the backbone on \(c.backbone.frames) RGB frames at \(c.size) px (variant chosen by weights choose; video:VARIANT for the others)",
            "scene":
                "the keyframe nearest the clip's middle through the I-frame network (\(c.frameWidths.map(String.init).joined(separator: ",")) at \(c.size) px): the averages of its layer2, layer3 and layer4, each L2-normalised, side by side: \(DecoupledNetwork.dimension(.scene, widths: c.frameWidths)) values",
            "motion": Self.motionGuide(c, readout: motionReadout, moveHeadShare: moveHeadShare),
        ]
        rgb = setup.rgb ?? .accurate
        fixesOverTheOfficialCode = [
            "I-frames are fed in RGB order (the official loader hands BGR to an RGB-normalised network)",
            "a horizontal flip negates dx of the motion vectors (the official code mirrors the map only)",
            "motion vectors are scaled with the crop's resize factor (the official code keeps pixel units of the source)",
            "vectors come from H.264 (both reference lists, list 1 negated to forward motion) at full sub-pixel precision instead of the truncated src_x/src_y of MPEG-4 Part 2",
        ]
        sceneBias = nil
    }
}
