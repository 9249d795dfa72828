import Foundation
import Models
import NN
import Tensor

/// The shape of a CMD model: the networks and the training input.
public struct CMDConfig: Sendable, Codable, Equatable {
    /// The video backbone that is kept (exported for embedding).
    public var backbone: BackboneConfig
    /// Widths of the I-frame network (ResNet-10 of 1x3x3 convs).
    public var frameWidths: [Int]
    /// Widths of the motion-vector network (ResNet-10 3D, 2 input channels).
    public var motionWidths: [Int]
    public var predictorDim: Int
    public var predictorHeads: Int
    public var encoderLayers: Int
    public var decoderLayers: Int
    public var dropout: Float
    /// Hidden and output width of the four projection heads.
    public var headHidden: Int
    public var embedding: Int
    /// Network input side (frames are `backbone.frames`, motion clips `futureFrames`).
    public var size: Int
    /// Side of the motion clips.
    public var motionSize: Int
    public var futureFrames: Int
    public var temperature: Float
    /// Loss weights (the paper uses 1:1; an ablation sets one to zero).
    public var contextWeight: Double
    public var motionWeight: Double
    /// Weight of the move term (`CMDLoss.moves`, docs/training.md#move-pairs); nil (runs
    /// from before it existed) or 0: no term. Needs batches made with `PretextTransform.movePairs`.
    public var moveWeight: Double? = nil
    /// Whether the move term reads a projection head of its own (`mv_head`, as in SupCon and
    /// SimCLR) on the motion network's pooled features instead of the features themselves, so
    /// the term need not reshape what the CMD keys are read from; nil (runs from before it
    /// existed) or false: no head.
    public var moveHead: Bool? = nil
    /// Whether the move term trains a motion-vector network of its own (`mv_backbone.`) on the
    /// same motion clips instead of the CMD one, so that neither the CMD motion network (whose
    /// keys the backbone learns to predict) nor the backbone ever gets the term's gradient; nil
    /// (runs from before it existed) or false: the term reads the CMD motion network.
    public var moveNet: Bool? = nil

    /// Whether a step computes the move term.
    public var hasMoveTerm: Bool { (moveWeight ?? 0) > 0 }

    /// Whether the run trains the move term's own network and head alone (`pretrain
    /// --move-only`): both CMD losses off. Its checkpoints hold those two only, to go beside
    /// the CMD networks of another run (`export --add-to`).
    public var moveOnly: Bool { contextWeight == 0 && motionWeight == 0 && moveNet == true }

    /// The compact configuration Decouple ships: every network narrow, 64x64 inputs (see the
    /// model card for why).
    public static var compact: CMDConfig {
        var b = BackboneConfig.compactR2Plus1D
        b.size = 64
        return CMDConfig(
            backbone: b, frameWidths: [16, 32, 64, 128], motionWidths: [16, 32, 64, 128], predictorDim: 128,
            predictorHeads: 4, encoderLayers: 2, decoderLayers: 2, dropout: 0.1, headHidden: 512, embedding: 128,
            size: 64, motionSize: 32, futureFrames: 8, temperature: 0.1, contextWeight: 1, motionWeight: 1)
    }

    /// Channels of the clip map (folded layer3 + upsampled layer4; C3D's conv5b).
    public var fusedChannels: Int { backbone.embeddingDimension }

    /// `compact` with the backbone `model` and its `overrides` (nil: the compact widths, C3D's
    /// or the ResNets'), the input sides, the helpers' widths and the loss weights: what
    /// `pretrain` and `bench pretrain` build from their options. Throws the backbone's error
    /// for an unknown model or override.
    public static func compact(
        model: String, overrides: String?, size: Int, motionSize: Int, helperWidths: [Int], contextWeight: Double,
        motionWeight: Double
    ) throws -> CMDConfig {
        var c = CMDConfig.compact
        let base = try BackboneConfig(modelID: model)
        c.backbone = try base.applying(
            overrides: overrides
                ?? (base.architecture == .c3d ? "channels=16,32,64,128,128" : "planes=16,32,64,128 stem=16"))
        c.backbone.size = size
        c.size = size
        c.motionSize = motionSize
        c.frameWidths = helperWidths
        c.motionWidths = helperWidths
        c.contextWeight = contextWeight
        c.motionWeight = motionWeight
        return c
    }
}

/// One training batch: clips, I-frames and motion clips, as network inputs.
public struct CMDBatch: Sendable {
    /// `[B, 3, T, S, S]`.
    public var clips: Tensor
    /// `[B, 3, 1, S, S]`.
    public var iFrames: Tensor
    /// `[B·(1 + negatives), 2, F, S, S]`: the B positives first, then the negatives.
    public var motion: Tensor
    /// With move pairs: each motion clip's move direction, in `motion`'s order.
    public var moveLabels: [Int]?

    public var batch: Int { clips.shape[0] }

    /// A batch from its tensors (shapes as above).
    public init(clips: Tensor, iFrames: Tensor, motion: Tensor) {
        self.clips = clips
        self.iFrames = iFrames
        self.motion = motion
    }

    /// Stacks examples (each must have the same number of negatives).
    public init(_ examples: [PretextExample], size s: Int, motionSize ms: Int, clipFrames: Int, futureFrames: Int) {
        let b = examples.count
        // Examples of motion clips only (`PretextTransform.motionOnly`) give clips of no frames.
        let rgb = examples.first?.clip.isEmpty == false
        clips = Tensor(shape: [b, 3, rgb ? clipFrames : 0, s, s], data: examples.flatMap(\.clip))
        iFrames = Tensor(shape: [b, 3, rgb ? 1 : 0, s, s], data: examples.flatMap(\.iFrame))
        let positives = examples.flatMap(\.positive)
        let negatives = examples.flatMap { $0.negatives.flatMap { $0 } }
        let m = b * (1 + (examples.first?.negatives.count ?? 0))
        motion = Tensor(shape: [m, 2, futureFrames, ms, ms], data: positives + negatives)
        let labels = examples.compactMap(\.moveLabels)
        if !labels.isEmpty && labels.count == b {
            moveLabels = labels.map { $0[0] } + labels.flatMap { $0.dropFirst() }
        }
    }
}

/// The CMD pretraining model (docs/method.md §4-5): the video backbone, the I-frame network, the
/// motion-vector network, the Transformer predictor and four projection heads, with the
/// context-matching and pointwise motion-prediction InfoNCE losses.
public final class CMDModel: ParameterContainer {
    public let config: CMDConfig
    public let backbone: TrainableBackbone
    public let frameNet: TrainableBackbone
    public let motionNet: TrainableBackbone
    public let predictor: Predictor
    /// Heads: predicted motion (mq), target motion (mk), clip context (iq), I-frame (ik).
    public let mq: ProjectionHead, mk: ProjectionHead, iq: ProjectionHead, ik: ProjectionHead
    /// The move term's head (`CMDConfig.moveHead`), nil without it.
    public let mv: ProjectionHead?
    /// The move term's own motion-vector network (`CMDConfig.moveNet`), nil without it.
    public let moveNet: TrainableBackbone?
    /// Source and target token counts for the configured sizes.
    public let sourceTokens: Int
    public let targetTokens: Int

    /// A fresh model from `seed`; names follow CMD's whole-network checkpoint (`rgb_backbone.`,
    /// `i_backbone.`, `m_backbone.`, `fc`, `transformer.…`, `{mq,mk,iq,ik}_head.…`).
    public init(config c: CMDConfig, seed: UInt64) throws {
        try Self.validate(c)
        config = c
        var b = c.backbone
        b.size = c.size
        backbone = try TrainableBackbone(config: b, seed: seed)
        frameNet = TrainableBackbone(resnet10: .frame(widths: c.frameWidths), seed: seed &+ 1)
        motionNet = TrainableBackbone(resnet10: .motion(widths: c.motionWidths), seed: seed &+ 2)
        sourceTokens = FeatureFusion.tokenCount(c.backbone, size: c.size)
        // The motion net keeps T in the stem and halves T and H, W in layers 2-4 after a 2x
        // spatial pool.
        let tm = max(1, (c.futureFrames + 7) / 8)
        let hm = (c.motionSize + 15) / 16
        targetTokens = tm * hm * hm
        var p = PredictorConfig()
        p.inputChannels = c.fusedChannels
        p.dim = c.predictorDim
        p.heads = c.predictorHeads
        p.encoderLayers = c.encoderLayers
        p.decoderLayers = c.decoderLayers
        p.feedForward = c.predictorDim
        p.dropout = c.dropout
        p.sourceTokens = sourceTokens
        p.targetTokens = targetTokens
        predictor = Predictor(config: p, seed: seed &+ 3)
        mq = ProjectionHead(
            name: "mq_head", inFeatures: c.predictorDim, hidden: c.headHidden, outFeatures: c.embedding, seed: seed &+ 4
        )
        mk = ProjectionHead(
            name: "mk_head", inFeatures: c.motionWidths[3], hidden: c.headHidden, outFeatures: c.embedding,
            seed: seed &+ 5)
        iq = ProjectionHead(
            name: "iq_head", inFeatures: c.fusedChannels, hidden: c.headHidden, outFeatures: c.embedding,
            seed: seed &+ 6)
        ik = ProjectionHead(
            name: "ik_head", inFeatures: c.frameWidths[3], hidden: c.headHidden, outFeatures: c.embedding,
            seed: seed &+ 7)
        mv =
            c.moveHead == true
            ? ProjectionHead(
                name: "mv_head", inFeatures: c.motionWidths[3], hidden: c.headHidden, outFeatures: c.embedding,
                seed: seed &+ 8) : nil
        moveNet =
            c.moveNet == true ? TrainableBackbone(resnet10: .motion(widths: c.motionWidths), seed: seed &+ 9) : nil
        for (prefix, net) in [
            ("rgb_backbone.", backbone as ParameterContainer), ("i_backbone.", frameNet), ("m_backbone.", motionNet),
        ] + (moveNet.map { [("mv_backbone.", $0 as ParameterContainer)] } ?? []) {
            for p in net.parameters { p.name = prefix + p.name }
            for b in net.buffers { b.name = prefix + b.name }
        }
    }

    /// A configuration this model cannot fuse is one sentence, not a crash mid-step.
    public struct ConfigurationError: Error, CustomStringConvertible {
        public var description: String
    }

    /// The ResNets' fused map needs layer4 twice as wide as layer3 and an even number of
    /// layer3 frames (layer4 halves them); C3D's map (conv5b) needs at least one token.
    public static func validate(_ c: CMDConfig) throws {
        guard c.contextWeight + c.motionWeight > 0 || (c.moveOnly && c.hasMoveTerm && c.moveHead == true) else {
            throw ConfigurationError(
                description:
                    "CMD pretraining needs a context or motion loss, or the move term on its own network and head.")
        }
        let b = c.backbone
        if b.architecture == .c3d {
            guard b.frames >= 8, c.size >= 16 else {
                throw ConfigurationError(
                    description:
                        "CMD pretraining of c3d needs at least 8 frames and a side of 16 (its clip map is conv5b, at 1/8 in time and 1/16 in space); \(b) at \(c.size) has none."
                )
            }
            return
        }
        guard b.widths[3] == 2 * b.widths[2] else {
            throw ConfigurationError(
                description:
                    "CMD pretraining needs layer4 twice as wide as layer3 (planes=a,b,c,2c); \(b) has \(b.widths[2]) and \(b.widths[3])."
            )
        }
        guard ((b.frames + 3) / 4) % 2 == 0 else {
            throw ConfigurationError(
                description:
                    "CMD pretraining needs an even number of layer3 frames; \(b.frames) input frames give \((b.frames + 3) / 4): use a multiple of 8."
            )
        }
    }

    public var parameters: [Parameter] {
        if config.moveOnly { return mv!.parameters + moveNet!.parameters }
        return backbone.parameters + frameNet.parameters + motionNet.parameters + predictor.parameters
            + mq.parameters + mk.parameters + iq.parameters + ik.parameters + (mv?.parameters ?? [])
            + (moveNet?.parameters ?? [])
    }

    public var buffers: [Buffer] {
        if config.moveOnly { return mv!.buffers + moveNet!.buffers }
        return backbone.buffers + frameNet.buffers + motionNet.buffers + mq.buffers + mk.buffers + iq.buffers
            + ik.buffers
            + (mv?.buffers ?? []) + (moveNet?.buffers ?? [])
    }

    public var training: Bool {
        get { backbone.training }
        set {
            for n in [backbone, frameNet, motionNet, moveNet].compactMap({ $0 }) {
                if newValue { n.train() } else { n.eval() }
            }
            predictor.training = newValue
            for h in [mq, mk, iq, ik, mv].compactMap({ $0 }) { h.training = newValue }
        }
    }

    /// The two losses of one step.
    public struct Losses: Sendable, Equatable {
        public var context: Double
        public var motion: Double
        public var move: Double = 0
        public var total: Double
    }

    /// The threads of the predictor, the heads and the losses: one. Their matrices are small
    /// (no faster on two threads: docs/benchmarks.md#bench-pretrain), and a two-thread OpenBLAS
    /// call leaves OpenBLAS's own thread spinning for tens of ms beside the convolutions' threads
    /// and the batch loader.
    static let headThreads = 1

    /// Forward and backward for one batch: adds every parameter's gradient (call `zeroGrad`
    /// before) and returns the losses. Networks whose loss weight is zero are skipped. With
    /// `profile`, each network's forward and backward pass is timed into it (`StepProfile`).
    public func step(_ batch: CMDBatch, threads: Int = 2, profile: StepProfile? = nil) -> Losses {
        let c = config
        let b = batch.batch
        let useMotion = c.motionWeight > 0
        let useContext = c.contextWeight > 0
        let p = profile ?? StepProfile(enabled: false)
        let heads = Self.headThreads
        if c.moveOnly {
            let move = moveTerm(batch, cmdPooled: nil, threads: threads, profile: p).loss
            return Losses(context: 0, motion: 0, move: move, total: c.moveWeight! * move)
        }
        // The clip: fused feature map, its tokens and its average.
        let (clip, fused) = p.time(.backboneForward) {
            let clip = backbone.forward(batch.clips, threads: threads)
            return (clip, FeatureFusion.clipMap(clip.stages))
        }
        var dFused = Tensor(shape: fused.shape)
        var motionLoss = 0.0
        var contextLoss = 0.0
        var moveLoss = 0.0
        if useMotion {
            let (pc, q, qc) = p.time(.predictorHeadsForward) {
                let (pred, pc) = predictor.forward(FeatureFusion.tokens(fused), threads: heads)
                let (q, qc) = mq.forward(pred.reshaped([b * targetTokens, c.predictorDim]), threads: heads)
                return (pc, q, qc)
            }
            // Target tokens of every motion clip: the motion net's last map.
            let mOut = p.time(.motionForward) { motionNet.forward(batch.motion, threads: threads) }
            let m4 = mOut.stages["layer4"]!
            precondition(
                m4.count / (m4.shape[0] * m4.shape[1]) == targetTokens,
                "motion map \(m4.shape) does not give \(targetTokens) tokens")
            let (k, kc) = p.time(.predictorHeadsForward) {
                let mTokens = FeatureFusion.tokens(m4)
                let rows = m4.shape[0] * targetTokens
                return mk.forward(mTokens.reshaped([rows, c.motionWidths[3]]), threads: heads)
            }
            let loss = p.time(.losses) {
                CMDLoss.motion(
                    predicted: q, targets: k, temperature: c.temperature, weight: Float(c.motionWeight),
                    threads: heads)
            }
            motionLoss = loss.loss
            let dm4 = p.time(.predictorHeadsBackward) {
                let dPred = mq.backward(loss.dQueries, cache: qc, threads: heads)
                let dTokens = predictor.backward(
                    dPred.reshaped([b, targetTokens, c.predictorDim]), cache: pc, threads: heads)
                dFused = addTensors(dFused, FeatureFusion.untokens(dTokens, shape: fused.shape), threads: threads)
                let dmTokens = mk.backward(loss.dKeys, cache: kc, threads: heads)
                return FeatureFusion.untokens(
                    dmTokens.reshaped([m4.shape[0], targetTokens, c.motionWidths[3]]), shape: m4.shape)
            }
            var gradients = ["layer4": dm4]
            if c.hasMoveTerm {
                let term = moveTerm(batch, cmdPooled: mOut.pooled, threads: threads, profile: p)
                moveLoss = term.loss
                gradients["pooled"] = term.dCMDPooled
            }
            p.time(.motionBackward) { motionNet.backward(mOut.cache, gradients: gradients, threads: threads) }
        }
        if useContext {
            let (q, qc) = p.time(.predictorHeadsForward) {
                iq.forward(GlobalAveragePool3d.forward(fused), threads: heads)
            }
            let frames = p.time(.frameForward) { frameNet.forward(batch.iFrames, threads: threads) }
            let (k, kc) = p.time(.predictorHeadsForward) { ik.forward(frames.pooled, threads: heads) }
            let loss = p.time(.losses) {
                CMDLoss.context(
                    clips: q, frames: k, temperature: c.temperature, weight: Float(c.contextWeight), threads: heads)
            }
            contextLoss = loss.loss
            let dFrames = p.time(.predictorHeadsBackward) {
                let dPooled = iq.backward(loss.dQueries, cache: qc, threads: heads)
                dFused = addTensors(
                    dFused, GlobalAveragePool3d.backward(dPooled, inputShape: fused.shape), threads: threads)
                return ik.backward(loss.dKeys, cache: kc, threads: heads)
            }
            p.time(.frameBackward) {
                frameNet.backward(frames.cache, gradients: ["pooled": dFrames], threads: threads)
            }
        }
        p.time(.backboneBackward) {
            backbone.backward(
                clip.cache, gradients: FeatureFusion.clipMapBackward(dFused, stages: clip.stages), threads: threads)
        }
        return Losses(
            context: contextLoss, motion: motionLoss, move: moveLoss,
            total: c.contextWeight * contextLoss + c.motionWeight * motionLoss + (c.moveWeight ?? 0) * moveLoss)
    }

    /// The move term (docs/training.md#move-pairs) on the batch's motion clips, forward and
    /// backward: its loss, and the gradient of `cmdPooled` (the CMD motion network's pooled
    /// features) when the term reads that network. With a move network of its own the term
    /// reads that one and its gradient stays there (nil).
    private func moveTerm(_ batch: CMDBatch, cmdPooled: Tensor?, threads: Int, profile p: StepProfile) -> (
        loss: Double, dCMDPooled: Tensor?
    ) {
        guard let labels = batch.moveLabels else {
            preconditionFailure("the move term needs batches made with move pairs (PretextTransform.movePairs)")
        }
        let moved = moveNet.map { net in
            p.time(.motionForward) { net.forward(batch.motion, threads: threads) }
        }
        let pooled = moved?.pooled ?? cmdPooled!
        let projected = p.time(.predictorHeadsForward) { mv?.forward(pooled, threads: Self.headThreads) }
        let term = p.time(.losses) {
            CMDLoss.moves(
                pooled: projected?.0 ?? pooled, labels: labels, temperature: config.temperature,
                weight: Float(config.moveWeight!))
        }
        var dPooled = term.dPooled
        if let mv, let projected {
            dPooled = p.time(.predictorHeadsBackward) {
                mv.backward(term.dPooled, cache: projected.1, threads: Self.headThreads)
            }
        }
        guard let moveNet, let moved else { return (term.loss, dPooled) }
        p.time(.motionBackward) { moveNet.backward(moved.cache, gradients: ["pooled": dPooled], threads: threads) }
        return (term.loss, nil)
    }

    /// The embedding views of clips (evaluation mode): `pooled` is the backbone's global
    /// average (what ModelScope exports); `motion` the predictor's input projection of the
    /// fused map, averaged (the motion branch); `fused` the fused map's average.
    public func views(_ clips: Tensor, threads: Int = 2) -> (pooled: Tensor, fused: Tensor, motion: Tensor) {
        let out = backbone.forward(clips, threads: threads)
        let fused = GlobalAveragePool3d.forward(FeatureFusion.clipMap(out.stages))
        let (motion, _) = predictor.fc.forward(fused, threads: threads)
        return (out.pooled, fused, motion)
    }
}

/// The parts of a CMD step that `CMDModel.step(_:threads:profile:)` times: each network's
/// forward and backward pass, and the losses. The clip map (fusion of layer3 and layer4) counts
/// as the backbone's; tokens, pooling and the projection heads as the predictor's; the move
/// term's own motion network (`CMDConfig.moveNet`) as the motion-vector network's.
public enum StepPart: String, CaseIterable, Sendable, Codable {
    case backboneForward = "backbone forward"
    case backboneBackward = "backbone backward"
    case frameForward = "I-frame network forward"
    case frameBackward = "I-frame network backward"
    case motionForward = "motion-vector network forward"
    case motionBackward = "motion-vector network backward"
    case predictorHeadsForward = "predictor and heads forward"
    case predictorHeadsBackward = "predictor and heads backward"
    case losses = "losses"
}

/// Milliseconds per `StepPart`, summed over the sections of a step (or of several steps).
public final class StepProfile {
    public private(set) var milliseconds: [StepPart: Double] = [:]
    let enabled: Bool

    public init() { enabled = true }
    /// `enabled: false` times nothing (a step without `profile`).
    init(enabled: Bool) { self.enabled = enabled }

    /// Runs `body`, adding its wall time to `part`.
    @discardableResult @inline(__always) func time<T>(_ part: StepPart, _ body: () -> T) -> T {
        guard enabled else { return body() }
        let start = DispatchTime.now().uptimeNanoseconds
        let result = body()
        milliseconds[part, default: 0] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        return result
    }

    public func reset() { milliseconds = [:] }
}
