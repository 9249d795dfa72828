import Foundation
import NN
import SafeTensors
import Tensor

/// Which features of the motion-vector network the motion view reads (metadata
/// `motion.readout`; files without it read `layer2Max`, the readout they were chosen with):
/// each part is L2-normalised, the parts side by side (docs/training.md#how-the-views-read-their-networks).
public enum MotionReadout: String, CaseIterable, Sendable {
    /// Each channel's maximum of layer2 over time and space.
    case layer2Max = "layer2-max"
    /// layer4's global average: the pooled vector the move term trains (docs/training.md#move-pairs).
    case layer4Average = "layer4-average"
    /// Both, side by side.
    case layer2MaxLayer4Average = "layer2-max+layer4-average"
    /// layer4's global average through the move term's own head (`mv_head`, runs trained with
    /// `pretrain --move-head`): what that term compares (docs/training.md#move-pairs).
    case moveHead = "move-head"
    /// layer2's maximum and the move head, side by side.
    case layer2MaxMoveHead = "layer2-max+move-head"

    /// The parts read from the network's maps: stage index (0 = layer1) and whether it is the
    /// maximum (else the average). The move head, when read, comes after them.
    var parts: [(stage: Int, maximum: Bool)] {
        switch self {
        case .layer2Max, .layer2MaxMoveHead: return [(1, true)]
        case .layer4Average: return [(3, false)]
        case .layer2MaxLayer4Average: return [(1, true), (3, false)]
        case .moveHead: return []
        }
    }

    /// Whether it reads the move term's head (`mv_head`), which only runs trained with
    /// `pretrain --move-head` have.
    public var readsMoveHead: Bool { self == .moveHead || self == .layer2MaxMoveHead }

    /// In words, for the model card.
    public var description: String {
        switch self {
        case .layer2Max: return "each channel's maximum of its layer2 over the tile"
        case .layer4Average: return "the average of its layer4 over the tile"
        case .layer2MaxLayer4Average:
            return "each channel's maximum of its layer2 and the average of its layer4 over the tile, side by side"
        case .moveHead: return "the average of its layer4 over the tile through the move term's projection head"
        case .layer2MaxMoveHead:
            return
                "each channel's maximum of its layer2 and the average of its layer4 through the move term's projection head, side by side"
        }
    }
}

/// How CMD pretraining fed its I-frame and motion-vector networks, recorded in the metadata of
/// `FILE.views.safetensors` by `decouple export`, so the scene and motion views feed them
/// exactly alike (docs/method.md §3-4).
public struct DecoupledInput: Equatable, Sendable {
    /// Side of the I-frame network's input.
    public var sceneSize: Int
    public var sceneWidths: [Int]
    /// Side and length of the motion network's clips.
    public var motionSize: Int
    public var motionFrames: Int
    public var motionWidths: [Int]
    public var motionStemStride: Int
    /// Cell of the dense motion fields read from the stream (4 px: exact for H.264 blocks).
    public var cellSize: Int
    /// The centre box: short side to `scale`, centre square `crop` (128:112, as in validation).
    public var scale: Int
    public var crop: Int
    /// How keyframes were converted to RGB in training (`RGBConversion`'s raw value).
    public var rgb: String
    /// What the motion view reads of the motion network.
    public var motionReadout: MotionReadout
    /// Whether the move head reads a motion network of its own (`mv_backbone.`, runs trained
    /// with `pretrain --move-net`; metadata `motion.move_network` = `own`).
    public var ownMoveNetwork: Bool
    /// With `layer2-max+move-head`: the move head's share of the cosine between two vectors
    /// (layer2's maximum has the rest), by scaling the two L2-normalised parts by the square
    /// roots; nil: the parts side by side as they are (a share of 0.5). Metadata
    /// `motion.move_head_share`.
    public var moveHeadShare: Float? = nil

    public init(
        sceneSize: Int, sceneWidths: [Int], motionSize: Int, motionFrames: Int, motionWidths: [Int],
        motionStemStride: Int, cellSize: Int, scale: Int = 128, crop: Int = 112, rgb: String,
        motionReadout: MotionReadout = .layer2Max, ownMoveNetwork: Bool = false
    ) {
        self.motionReadout = motionReadout
        self.ownMoveNetwork = ownMoveNetwork
        self.sceneSize = sceneSize
        self.sceneWidths = sceneWidths
        self.motionSize = motionSize
        self.motionFrames = motionFrames
        self.motionWidths = motionWidths
        self.motionStemStride = motionStemStride
        self.cellSize = cellSize
        self.scale = scale
        self.crop = crop
        self.rgb = rgb
    }

    /// The metadata entries (`scene.size`, `motion.frames`, ...).
    public var metadata: [String: String] {
        func list(_ w: [Int]) -> String { w.map(String.init).joined(separator: ",") }
        return [
            "scene.size": String(sceneSize), "scene.widths": list(sceneWidths), "motion.size": String(motionSize),
            "motion.frames": String(motionFrames), "motion.widths": list(motionWidths),
            "motion.stem_stride": String(motionStemStride), "motion.cell_size": String(cellSize),
            "input.scale": String(scale), "input.crop": String(crop), "input.rgb": rgb,
            "motion.readout": motionReadout.rawValue,
        ].merging(ownMoveNetwork ? ["motion.move_network": "own"] : [:]) { $1 }.merging(
            moveHeadShare.map { ["motion.move_head_share": String($0)] } ?? [:]
        ) { $1 }
    }

    /// Reads the entries back; nil when the file has none (exported before the scene and motion
    /// networks were), a `ModelError` naming the file when one is malformed.
    public init?(metadata m: [String: String], path: String) throws {
        guard m["scene.size"] != nil || m["motion.size"] != nil else { return nil }
        func int(_ key: String) throws -> Int {
            guard let v = m[key].flatMap(Int.init), v > 0 else {
                throw ModelError("'\(path)' has no valid \(key) in its metadata")
            }
            return v
        }
        func list(_ key: String) throws -> [Int] {
            let v = (m[key] ?? "").split(separator: ",").compactMap { Int($0) }
            guard v.count == 4, v.allSatisfy({ $0 > 0 }) else {
                throw ModelError("'\(path)' has no valid \(key) (four widths) in its metadata")
            }
            return v
        }
        let readout = m["motion.readout"] ?? MotionReadout.layer2Max.rawValue
        guard let motionReadout = MotionReadout(rawValue: readout) else {
            throw ModelError(
                "'\(path)' names an unknown motion.readout '\(readout)' (known: \(MotionReadout.allCases.map(\.rawValue).joined(separator: ", ")))"
            )
        }
        self.init(
            sceneSize: try int("scene.size"), sceneWidths: try list("scene.widths"), motionSize: try int("motion.size"),
            motionFrames: try int("motion.frames"), motionWidths: try list("motion.widths"),
            motionStemStride: try int("motion.stem_stride"), cellSize: try int("motion.cell_size"),
            scale: try int("input.scale"), crop: try int("input.crop"), rgb: m["input.rgb"] ?? "accurate",
            motionReadout: motionReadout, ownMoveNetwork: m["motion.move_network"] == "own")
        if let share = m["motion.move_head_share"] {
            guard let w = Float(share), w > 0, w < 1, motionReadout == .layer2MaxMoveHead else {
                throw ModelError(
                    "'\(path)' has motion.move_head_share '\(share)': it must be between 0 and 1, with the readout layer2-max+move-head"
                )
            }
            moveHeadShare = w
        }
    }
}

/// One of CMD's two helper networks with the projection head the losses compare its output
/// through, in evaluation mode (docs/method.md §4-5):
/// - the scene network: the I-frame ResNet-10 (`i_backbone.`) and `ik_head` on one keyframe;
/// - the motion network: the motion-vector ResNet-10 (`m_backbone.`) and `mk_head` on a clip of
///   motion fields, one key per position of its last map.
///
/// `embed` returns the network's multi-level pooled features (see there); `keys` what the
/// losses compare. Both run from several threads at once: in evaluation mode a forward pass
/// reads the parameters and running statistics only, and its caches are its own.
public final class DecoupledNetwork: @unchecked Sendable {
    public enum Kind: String, Sendable {
        case scene
        case motion

        /// Key prefixes of the network and its head in CMD's checkpoint.
        var prefixes: (network: String, head: String) {
            self == .scene ? ("i_backbone.", "ik_head") : ("m_backbone.", "mk_head")
        }
    }

    public let kind: Kind
    public let input: DecoupledInput
    let network: FrozenBackbone
    let head: ProjectionHead
    /// The move term's head (`mv_head`), loaded for the readouts that read it only.
    let moveHead: ProjectionHead?
    /// The move term's own motion network (`mv_backbone.`, runs trained with `pretrain
    /// --move-net`), which the head then reads instead of `network`.
    let moveNetwork: FrozenBackbone?

    /// Builds the network described by `input` and loads it strictly from `tensors` (the views
    /// file at `path`): every tensor of the network and its head must be there with its shape,
    /// and no other tensor may carry their prefixes.
    public init(_ kind: Kind, input: DecoupledInput, tensors: [String: FloatTensor], path: String) throws {
        self.kind = kind
        self.input = input
        let config =
            kind == .scene
            ? ResNet10Config.frame(widths: input.sceneWidths)
            : ResNet10Config(kind: .motion3D, inChannels: 2, widths: input.motionWidths)
        var c = config
        c.motionStemStride = input.motionStemStride
        network = try Self.load(kind.rawValue, config: c, prefix: kind.prefixes.network, tensors: tensors, path: path)
        head = try Self.head(
            kind.prefixes.head, of: kind, inFeatures: config.outputChannels, tensors: tensors, path: path)
        moveHead =
            kind == .motion && input.motionReadout.readsMoveHead
            ? try Self.head("mv_head", of: kind, inFeatures: config.outputChannels, tensors: tensors, path: path) : nil
        moveNetwork =
            moveHead != nil && input.ownMoveNetwork
            ? try Self.load("move", config: c, prefix: "mv_backbone.", tensors: tensors, path: path) : nil
    }

    /// The network under `prefix` (called `name` in errors), strictly loaded (every tensor
    /// there with its shape, no other) and frozen for inference.
    static func load(
        _ name: String, config: ResNet10Config, prefix: String, tensors: [String: FloatTensor], path: String
    ) throws -> FrozenBackbone {
        let network = TrainableBackbone(resnet10: config, seed: 0)
        let own = tensors.filter { $0.key.hasPrefix(prefix) }
        guard !own.isEmpty else {
            throw ModelError(
                "'\(path)' holds no \(name) network (\(prefix)*): export the run again with this version of decouple export"
            )
        }
        do {
            try network.load(
                Dictionary(
                    uniqueKeysWithValues: own.map { (String($0.key.dropFirst(prefix.count)), Tensor($0.value)) }),
                source: path)
        } catch {
            throw ModelError("the \(name) network of \(error)")
        }
        return FrozenBackbone(network)
    }

    /// The projection head `name`, strictly loaded, in evaluation mode.
    static func head(_ name: String, of kind: Kind, inFeatures: Int, tensors: [String: FloatTensor], path: String)
        throws -> ProjectionHead
    {
        guard let first = tensors[name + ".0.weight"], let second = tensors[name + ".3.weight"],
            first.shape.count == 3, second.shape.count == 3
        else {
            throw ModelError("'\(path)' has no \(name) (the \(kind.rawValue) network's projection head)")
        }
        let head = ProjectionHead(
            name: name, inFeatures: inFeatures, hidden: first.shape[0], outFeatures: second.shape[0], seed: 0)
        for p in head.parameters { p.value = try Self.tensor(tensors, p.name, like: p.value, path: path) }
        for b in head.buffers { b.value = try Self.tensor(tensors, b.name, like: b.value, path: path) }
        head.training = false
        return head
    }

    static func tensor(_ t: [String: FloatTensor], _ name: String, like current: Tensor, path: String) throws -> Tensor
    {
        guard let x = t[name] else { throw ModelError("'\(path)' has no \(name)") }
        guard x.shape == current.shape else {
            throw ModelError("'\(path)': \(name) is \(x.shape), the head it belongs to needs \(current.shape)")
        }
        return Tensor(x)
    }

    /// Length of the vectors (`embed`).
    public var dimension: Int {
        Self.dimension(
            kind, widths: kind == .scene ? input.sceneWidths : input.motionWidths, readout: input.motionReadout,
            moveHeadWidth: moveHead?.second.outFeatures ?? 0)
    }

    /// Length of `embed`'s vectors for a network of these stage widths (and this width of the
    /// move head's output, for the readouts that read it).
    public static func dimension(
        _ kind: Kind, widths: [Int], readout: MotionReadout = .layer2Max, moveHeadWidth: Int = 0
    ) -> Int {
        parts(kind, readout).map { widths[$0.stage] }.reduce(0, +)
            + (kind == .motion && readout.readsMoveHead ? moveHeadWidth : 0)
    }

    /// The maps `embed` reads (stage 0 = layer1) and how: the averages of layer2, layer3 and
    /// layer4 for the scene, the readout's parts for the motion.
    static func parts(_ kind: Kind, _ readout: MotionReadout) -> [(stage: Int, maximum: Bool)] {
        kind == .scene ? [(1, false), (2, false), (3, false)] : readout.parts
    }

    /// The input one call takes: `[N, 3, 1, S, S]` keyframes or `[N, 2, F, S, S]` motion clips.
    public var inputShape: [Int] {
        kind == .scene
            ? [3, 1, input.sceneSize, input.sceneSize]
            : [2, input.motionFrames, input.motionSize, input.motionSize]
    }

    /// `x [N, ...inputShape]` → `[N, dimension]`, L2-normalised per part:
    /// - scene: the global averages of layer2, layer3 and layer4 side by side;
    /// - motion: what `input.motionReadout` names (by default the global maximum of layer2 over
    ///   time and space).
    ///
    /// Both were chosen on evaluation sets of their own (docs/training.md#how-the-views-read-their-networks):
    /// they describe scenes and motions better than the head's keys, which the pointwise loss
    /// also trains to tell positions and times of one video apart, and a motion's strongest
    /// response better than its average over a mostly still frame.
    public func embed(_ x: Tensor, threads: Int = 1) -> Tensor {
        precondition(Array(x.shape.dropFirst()) == inputShape, "\(kind) network takes \(inputShape), got \(x.shape)")
        let n = x.shape[0]
        let read = Self.parts(kind, input.motionReadout)
        // The move head alone over a network of its own needs nothing of `network`, and maps
        // read beside it (or alone) need `network` only up to the last of them.
        let last = moveHead != nil && moveNetwork == nil ? nil : read.map(\.stage).max().map { "layer\($0 + 1)" }
        let out =
            read.isEmpty && moveNetwork != nil
            ? nil : network.forward(x, threads: threads, through: last)
        var parts = read.map { part in
            let map = out!.stages["layer\(part.stage + 1)"]!
            return L2Normalize.forward(part.maximum ? GlobalMaxPool3d.forward(map) : GlobalAveragePool3d.forward(map)).0
        }
        if let moveHead {
            let pooled = moveNetwork?.forward(x, threads: threads).pooled ?? out!.pooled
            parts.append(L2Normalize.forward(moveHead.forward(pooled, threads: threads).0).0)
            if let w = input.moveHeadShare {
                for (i, scale) in [(0, (1 - w).squareRoot()), (1, w.squareRoot())] {
                    parts[i] = Tensor(shape: parts[i].shape, data: parts[i].data.map { $0 * scale })
                }
            }
        }
        var data: [Float] = []
        data.reserveCapacity(n * dimension)
        for s in 0..<n {
            for p in parts {
                let d = p.shape[1]
                data += p.data[(s * d)..<((s + 1) * d)]
            }
        }
        return Tensor(shape: [n, dimension], data: data)
    }

    /// The head's keys for `x`, L2-normalised as the losses compare them (`[N, D]` for the
    /// scene network; for the motion network one key per position, averaged): what the
    /// export round trip is checked on, and the alternative the views were measured against.
    public func keys(_ x: Tensor, threads: Int = 1) -> Tensor {
        let n = x.shape[0]
        let out = network.forward(x, threads: threads)
        if kind == .scene {
            return L2Normalize.forward(head.forward(out.pooled, threads: threads).0).0
        }
        let map = out.stages["layer4"]!
        let positions = map.count / (n * map.shape[1])
        let tokens = FeatureFusion.tokens(map).reshaped([n * positions, map.shape[1]])
        return FeatureFusion.meanOverPositions(
            L2Normalize.forward(head.forward(tokens, threads: threads).0).0, samples: n)
    }
}

extension Tensor {
    init(_ t: FloatTensor) { self.init(shape: t.shape, data: t.values) }
}
