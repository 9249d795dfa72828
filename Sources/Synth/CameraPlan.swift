import Foundation

/// A source video as the plan sees it: its name, the size its frames are decoded at, and its
/// frame count. The CLI probes the file; the plan never opens it.
public struct CameraSource: Sendable, Codable, Equatable {
    public var name: String
    public var width: Int
    public var height: Int
    public var frames: Int

    public init(name: String, width: Int, height: Int, frames: Int) {
        self.name = name
        self.width = width
        self.height = height
        self.frames = frames
    }
}

extension CameraSource {
    /// The size a `width x height` video is decoded at for an output `outputHeight` high: at
    /// most three output heights (even, aspect kept), so the widest window is shrunk at most 3x
    /// by `CropRenderer` and a 720p source is not decoded at full size for a 120-line output.
    public static func decodeSize(width: Int, height: Int, outputHeight: Int) -> (width: Int, height: Int) {
        let limit = 3 * outputHeight
        guard height > limit else { return (width, height) }
        let w = Int((Double(width) * Double(limit) / Double(height) / 2).rounded()) * 2
        return (max(2, w), limit)
    }
}

/// A scene: one segment of a source video, as many frames as an output video.
public struct CameraScene: Sendable, Codable, Equatable {
    /// Index into the plan's sources.
    public var source: Int
    /// First source frame of the segment.
    public var start: Int
    /// The class whose home this scene is.
    public var home: CameraMove

    /// `tears_320x240.mp4@80`.
    public func name(_ sources: [CameraSource]) -> String { "\(sources[source].name)@\(start)" }
}

public struct CameraOptions: Sendable, Codable {
    public var classes: [CameraMove] = CameraMove.allCases
    public var perClass = 10
    public var frames = 80
    public var width = 160
    public var height = 120
    public var seed: UInt64 = 1

    public init() {}
}

/// One video of the set.
public struct CameraVideo: Sendable {
    public var name: String
    public var split: SynthSplit
    public var label: CameraMove
    /// Index into the plan's scenes.
    public var scene: Int
    public var path: CameraPath

    /// `out-of-context/pan-left_003.mp4`.
    public var relativePath: String { "\(split.rawValue)/\(name).mp4" }
}

/// The plan of a camera-move set: scenes cut from the sources, each class's home scenes, and
/// every video's scene and move. Pure and deterministic for a seed.
public struct CameraPlan: Sendable {
    public var options: CameraOptions
    public var sources: [CameraSource]
    public var scenes: [CameraScene]
    public var videos: [CameraVideo]

    /// - Throws: `SynthPlan.PlanError` (one sentence) when the options or the sources cannot
    ///   make a set: a source shorter than one segment, fewer scenes than classes.
    public init(_ options: CameraOptions, sources: [CameraSource]) throws {
        self.options = options
        self.sources = sources
        guard options.classes.count >= 2, Set(options.classes).count == options.classes.count else {
            throw SynthPlan.PlanError(description: "out-of-context videos need at least two distinct camera moves")
        }
        guard options.width % 2 == 0, options.height % 2 == 0, options.width >= 32, options.height >= 32 else {
            throw SynthPlan.PlanError(description: "the frame size must be even and at least 32x32")
        }
        guard options.frames >= 2, options.perClass >= 1 else {
            throw SynthPlan.PlanError(description: "need at least 2 frames and 1 video per class")
        }
        guard !sources.isEmpty else { throw SynthPlan.PlanError(description: "no source videos given") }
        for s in sources where s.frames < options.frames {
            throw SynthPlan.PlanError(
                description:
                    "'\(s.name)' has \(s.frames) frames, fewer than the \(options.frames) of one segment (pass --frames \(s.frames) or leave the video out)"
            )
        }
        for s in sources where s.width < 8 || s.height < 8 {
            throw SynthPlan.PlanError(description: "'\(s.name)' is too small (\(s.width)x\(s.height)) to crop from")
        }
        scenes = try Self.scenes(sources, options: options)
        videos = Self.videos(scenes, sources: sources, options: options)
    }

    /// Non-overlapping segments of `frames` frames, as many as fit in each source, centred in
    /// it; homes dealt in contiguous runs, so a class's home scenes are neighbouring footage
    /// and the scene alone predicts the class in context. Which class gets which run follows
    /// the seed.
    static func scenes(_ sources: [CameraSource], options: CameraOptions) throws -> [CameraScene] {
        var segments: [(Int, Int)] = []
        for (i, s) in sources.enumerated() {
            let count = s.frames / options.frames
            let offset = (s.frames - count * options.frames) / 2
            for k in 0..<count { segments.append((i, offset + k * options.frames)) }
        }
        let classes = options.classes.count
        guard segments.count >= classes else {
            throw SynthPlan.PlanError(
                description:
                    "the videos give \(segments.count) scenes of \(options.frames) frames, fewer than the \(classes) classes (one home scene each): add videos, or pass fewer --classes or --frames"
            )
        }
        var rng = SplitMix64(seed: options.seed ^ 0xCA3E_5CE7)
        let order = options.classes.shuffled(using: &rng)
        return segments.enumerated().map { n, seg in
            CameraScene(source: seg.0, start: seg.1, home: order[n * classes / segments.count])
        }
    }

    /// Gallery (in context): each class over its own home scenes, in turn. Queries (out of
    /// context): each class over the home scenes of the other classes, spread over those
    /// classes evenly, so the scene of a query always points to a wrong class.
    static func videos(_ scenes: [CameraScene], sources: [CameraSource], options: CameraOptions) -> [CameraVideo] {
        let homes = Dictionary(grouping: scenes.indices, by: { scenes[$0].home })
        var out: [CameraVideo] = []
        for split in SynthSplit.allCases {
            for (c, kind) in options.classes.enumerated() {
                let others = options.classes.filter { $0 != kind }
                for i in 0..<options.perClass {
                    // Each video has its own stream of random numbers: order-independent.
                    var rng = SplitMix64(
                        seed: options.seed &* 0x100_0000_01B3 ^ UInt64(c) << 32 ^ UInt64(i) << 8
                            ^ (split == .inContext ? 0xC0 : 0xC1))
                    let scene: Int
                    switch split {
                    case .inContext:
                        let own = homes[kind]!
                        scene = own[i % own.count]
                    case .outOfContext:
                        // Start at a different other class for each class, then go round.
                        let owner = others[(i + c) % others.count]
                        let theirs = homes[owner]!
                        scene = theirs[(i / others.count) % theirs.count]
                    }
                    let source = sources[scenes[scene].source]
                    let path = CameraPath.random(
                        kind, sourceWidth: source.width, sourceHeight: source.height, outputWidth: options.width,
                        outputHeight: options.height, frames: options.frames, rng: &rng)
                    out.append(
                        CameraVideo(
                            name: String(format: "%@_%03d", kind.rawValue, i), split: split, label: kind, scene: scene,
                            path: path))
                }
            }
        }
        return out
    }

    /// The labels file (`path,class,split`).
    public var labelsCSV: String {
        SynthLabels.csv(rows: videos.map { ($0.relativePath, $0.label.rawValue, $0.split.rawValue) })
    }
}
