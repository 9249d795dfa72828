import Embed
import Foundation
import Models
import VideoData

/// A view computed by a function of the clip rather than by the backbone: CMD's scene or
/// motion network, or a descriptor. `ModelEmbedding` computes these before its video view,
/// because they are cheap.
public struct ExtraView: Sendable {
    /// The name the pane shows ("scene", "motion").
    public var name: String
    /// What, beside the clip, decides the vector (the weights' SHA-256, a descriptor's
    /// parameters): part of the cache key, so a change of weights misses. Nil: not cached.
    public var cacheIdentity: String?
    /// The clip's vector in this view, from the video's path and the window; a thrown error's
    /// description is the one sentence the pane shows ("'x.avi' has no motion vectors…").
    public var embed: @Sendable (_ path: String, _ window: ClipWindow) throws -> [Float]

    public init(
        name: String, cacheIdentity: String?,
        embed: @escaping @Sendable (_ path: String, _ window: ClipWindow) throws -> [Float]
    ) {
        self.name = name
        self.cacheIdentity = cacheIdentity
        self.embed = embed
    }
}

/// The model behind the explorer's `e` key: the extra views (cheap, computed first), then the
/// "video" view, `Embed.VideoEmbedder` over clip sources the command line opens (MediaIO's).
/// Results are kept in a `ClipEmbeddingCache`, keyed per view.
///
/// The backbone loads on first use, on the worker thread, so the first screen never waits for
/// weights; a missing or broken weights file then shows as the video view's error.
public final class ModelEmbedding: ClipEmbedding, @unchecked Sendable {
    /// The name the backbone's view is presented under, whatever `viewName` it computes.
    public static let videoView = "video"

    public let config: BackboneConfig
    public let choice: ModelWeights.Choice
    /// The backbone's `EmbeddingView` ("pooled", "predicted"…): what the video view computes.
    public let viewName: String
    public let rgb: RGBConversion
    public let summary: String
    public let extraViews: [ExtraView]
    let cache: ClipEmbeddingCache?
    let openClips: @Sendable (String, RGBConversion) throws -> ClipSource
    private let lock = NSLock()
    private var embedder: VideoEmbedder?
    private var weightsKey = ""

    public init(
        config: BackboneConfig, choice: ModelWeights.Choice, view: String = "pooled", rgb: RGBConversion,
        cacheDirectory: String?, extraViews: [ExtraView] = [],
        openClips: @escaping @Sendable (String, RGBConversion) throws -> ClipSource
    ) {
        let names = extraViews.map(\.name)
        precondition(
            Set(names).count == names.count && !names.contains(Self.videoView),
            "extra view names must be distinct and not '\(Self.videoView)'")
        self.config = config
        self.choice = choice
        viewName = view
        self.extraViews = extraViews
        cache = cacheDirectory.map(ClipEmbeddingCache.init(directory:))
        self.openClips = openClips
        self.rgb = rgb
        let v = view == "pooled" ? "" : ", \(view) view"
        switch choice {
        case .random(let seed): summary = "\(config), random weights (seed \(seed))\(v)"
        // The weights file and view first: the pane shows three lines of this.
        case .file(let path, _): summary = "\((path as NSString).lastPathComponent)\(v); \(config)"
        case .defaultFile: summary = "\(config), weights/\(config.modelID).safetensors\(v)"
        }
    }

    public var views: [String] { extraViews.map(\.name) + [Self.videoView] }

    private func loaded() throws -> VideoEmbedder {
        try lock.withLock {
            if let e = embedder { return e }
            let (backbone, weights) = try ModelWeights.load(config: config, choice)
            weightsKey = weights.sha256 ?? "random-\(weights.seed ?? 0)"
            let view = try EmbeddingView.named(viewName, weights: choice.file, model: backbone)
            let e = VideoEmbedder(model: backbone, preprocessing: DefaultModel.preprocessing(for: config), view: view)
            embedder = e
            return e
        }
    }

    public func embed(
        path: String, window: ClipWindow, view: String, still: Int?, isCancelled: @escaping @Sendable () -> Bool
    ) throws -> (clip: [Float], still: [Float]?) {
        if view == Self.videoView { return try embedVideo(path: path, window: window, still: still, isCancelled) }
        guard let extra = extraViews.first(where: { $0.name == view }) else {
            throw ViewError(view: view, known: views)
        }
        // "extra:" keeps an extra view named like a backbone view ("motion") apart from it.
        let key = extra.cacheIdentity.flatMap { identity in
            cache == nil
                ? nil
                : ClipEmbeddingCache.key(
                    config: config, view: "extra:\(extra.name)", weights: identity, rgb: rgb, path: path,
                    window: window, still: nil)
        }
        if let key, let hit = cache?.read(key) { return (hit.clip, nil) }
        let clip = try extra.embed(path, window)
        if let key { cache?.write(key, clip: clip, still: nil) }
        return (clip, nil)
    }

    private func embedVideo(
        path: String, window: ClipWindow, still: Int?, _ isCancelled: @escaping @Sendable () -> Bool
    ) throws -> (clip: [Float], still: [Float]?) {
        let embedder = try loaded()
        // The residual views embed every still clip as zero: no scene reliance to measure, and
        // no second forward pass to spend on it.
        let still = embedder.view.subtractsStill ? nil : still
        let key =
            cache == nil
            ? nil
            : ClipEmbeddingCache.key(
                config: config, view: viewName, weights: lock.withLock { weightsKey }, rgb: rgb, path: path,
                window: window,
                still: still)
        if let key, let hit = cache?.read(key) { return hit }
        let source = try openClips(path, rgb)
        let clip = try embedder.embed([window], from: source, isCancelled: isCancelled)[0]
        var stillVector: [Float]? = nil
        if let still {
            if isCancelled() { throw CancellationError() }
            stillVector = try embedder.embedStill(try source.frames(at: [still])[0], frames: window.frames)
        }
        if let key { cache?.write(key, clip: clip, still: stillVector) }
        return (clip, stillVector)
    }

    /// A view this model does not compute (a caller's mistake, said in one sentence).
    struct ViewError: Error, CustomStringConvertible {
        var view: String
        var known: [String]
        var description: String { "This model has no '\(view)' view (it has \(known.joined(separator: ", ")))." }
    }
}
