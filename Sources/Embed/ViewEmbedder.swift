import Common
import Foundation
import Index
import Models
import SafeTensors
import VideoData

/// How the views open a video: RGB frames for the video view, the compressed stream
/// (I-frames and motion vectors) for the scene and motion views. The CLI passes MediaIO's
/// `VideoClipSource` and `MotionVideoSource`.
public struct VideoOpeners: Sendable {
    public var clips: @Sendable (String, RGBConversion) throws -> ClipSource
    public var stream: @Sendable (String, RGBConversion) throws -> MotionClipSource

    public init(
        clips: @escaping @Sendable (String, RGBConversion) throws -> ClipSource,
        stream: @escaping @Sendable (String, RGBConversion) throws -> MotionClipSource
    ) {
        self.clips = clips
        self.stream = stream
    }
}

/// One view ready to embed clips of videos: the video backbone (`VideoEmbedder`) or one of the
/// networks of the compressed stream (`DecoupledEmbedder`).
public struct ViewEmbedder: Sendable {
    public enum Kind: Sendable {
        case video(VideoEmbedder)
        case decoupled(DecoupledEmbedder)
    }

    /// The view, with the video variant made explicit.
    public let view: ViewName
    public let kind: Kind
    /// How frames become RGB (the video view's clips, the scene view's keyframes).
    public let rgb: RGBConversion
    /// Videos a batch run embeds at once: one for the video view, whose backbone takes every
    /// core; for the scene and motion views as many as cores, since one video's decoding runs
    /// on one thread and is most of their time (docs/benchmarks.md#views).
    public let videosAtOnce: Int

    public init(view: ViewName, kind: Kind, rgb: RGBConversion, videosAtOnce: Int = 1) {
        self.view = view
        self.kind = kind
        self.rgb = rgb
        self.videosAtOnce = max(1, videosAtOnce)
    }

    public var dimension: Int {
        switch kind {
        case .video(let e): return e.dimension
        case .decoupled(let e): return e.dimension
        }
    }

    /// The backbone of the video view (nil for scene and motion, which run none).
    public var videoEmbedder: VideoEmbedder? {
        if case .video(let e) = kind { return e }
        return nil
    }

    /// A video's clips and their vectors.
    public struct Embedded: Sendable {
        public var windows: [ClipWindow]
        public var vectors: [[Float]]
        public var frameCount: Int
        public var fps: Double
    }

    /// Opens `path` and embeds the windows `windows(frameCount)` chooses.
    public func embed(
        _ path: String, openers: VideoOpeners, windows: (Int) -> [ClipWindow],
        progress: (@Sendable (EmbedProgress) -> Void)? = nil, isCancelled: (@Sendable () -> Bool)? = nil
    ) throws -> Embedded {
        switch kind {
        case .video(let e):
            let source = try openers.clips(path, rgb)
            let w = windows(source.frameCount)
            let vectors = try e.embed(w, from: source, progress: progress, isCancelled: isCancelled)
            return Embedded(windows: w, vectors: vectors, frameCount: source.frameCount, fps: source.fps)
        case .decoupled(let e):
            let source = try openers.stream(path, rgb)
            let w = windows(source.frameCount)
            let vectors = try e.embed(w, from: source, path: path, isCancelled: isCancelled)
            progress?(EmbedProgress(clipsDone: w.count, clipsTotal: w.count, framesDecoded: 0, framesTotal: 0))
            return Embedded(windows: w, vectors: vectors, frameCount: source.frameCount, fps: source.info.fps)
        }
    }

    /// The view `name` of the weights `resolved` names. The video view loads the backbone; the
    /// scene and motion views read only their networks from `FILE.views.safetensors`.
    /// - Parameters:
    ///   - preprocessing: the video view's (default: ModelScope's, scaled to the model's side).
    ///   - forwardWorkers: the video view's forward passes at once; the scene and motion
    ///     views' videos at once (`videosAtOnce`).
    /// - Returns: the embedder and the weights' provenance for a store's manifest.
    /// - Throws: one sentence (`ModelError`, `CheckpointError`, `MissingWeights`, ...).
    public static func make(
        _ name: ViewName, resolved: ModelWeights.Resolved, preprocessing: Preprocessing? = nil, forwardWorkers: Int = 2
    ) throws -> (ViewEmbedder, EmbeddingManifest.Weights) {
        let view = name.resolved(defaultVariant: resolved.view)
        switch view {
        case .video(let variant):
            let (backbone, provenance) = try ModelWeights.load(config: resolved.config, resolved.choice)
            let v = try EmbeddingView.named(variant ?? "pooled", weights: resolved.choice.file, model: backbone)
            let embedder = VideoEmbedder(
                model: backbone, preprocessing: preprocessing ?? DefaultModel.preprocessing(for: resolved.config),
                forwardWorkers: forwardWorkers, view: v)
            return (ViewEmbedder(view: view, kind: .video(embedder), rgb: resolved.rgb), provenance)
        case .scene, .motion:
            guard let weights = resolved.choice.file else {
                throw ModelError(
                    "the \(view) view needs trained weights with their scene and motion networks (--weights FILE with FILE.views.safetensors beside it, or the shipped weights)"
                )
            }
            let network = try DecoupledViews.network(view == .scene ? .scene : .motion, weights: weights)
            let provenance = EmbeddingManifest.Weights(
                file: weights, sha256: try? SHA256.hexDigest(ofFile: weights), random: false, seed: nil)
            return (
                ViewEmbedder(
                    view: view, kind: .decoupled(DecoupledEmbedder(network: network)), rgb: resolved.rgb,
                    videosAtOnce: forwardWorkers),
                provenance
            )
        }
    }
}

/// Reads the scene and motion networks from the views file beside a weights file.
public enum DecoupledViews {
    public static func network(_ kind: DecoupledNetwork.Kind, weights: String) throws -> DecoupledNetwork {
        let path = ViewsFile.path(for: weights)
        guard let reader = try ViewsFile.open(for: weights) else {
            throw ModelError(
                "the \(kind.rawValue) view needs '\(path)' (written by decouple export next to the weights)")
        }
        guard let input = try DecoupledInput(metadata: reader.metadata, path: path) else {
            throw ModelError(
                "'\(path)' holds no scene and motion networks (exported before they were): export the run again with this version of decouple export"
            )
        }
        return try DecoupledNetwork(kind, input: input, tensors: reader.allTensors(), path: path)
    }
}
