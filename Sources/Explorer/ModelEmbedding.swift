import Embed
import Foundation
import Models
import VideoData

/// The model behind the explorer's `e` key: `Embed.VideoEmbedder` over clip sources the
/// command line opens (MediaIO's), with results kept in a `ClipEmbeddingCache`.
///
/// The backbone loads on first use, on the worker thread, so the first screen never waits for
/// weights; a missing or broken weights file then shows as an error in the status bar.
public final class ModelEmbedding: ClipEmbedding, @unchecked Sendable {
    public let config: BackboneConfig
    public let choice: ModelWeights.Choice
    public let viewName: String
    public let rgb: RGBConversion
    public let summary: String
    let cache: ClipEmbeddingCache?
    let openClips: @Sendable (String, RGBConversion) throws -> ClipSource
    private let lock = NSLock()
    private var embedder: VideoEmbedder?
    private var weightsKey = ""

    public init(
        config: BackboneConfig, choice: ModelWeights.Choice, view: String = "pooled", rgb: RGBConversion,
        cacheDirectory: String?, openClips: @escaping @Sendable (String, RGBConversion) throws -> ClipSource
    ) {
        self.config = config
        self.choice = choice
        viewName = view
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
        path: String, window: ClipWindow, still: Int?, isCancelled: @escaping @Sendable () -> Bool
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
}
