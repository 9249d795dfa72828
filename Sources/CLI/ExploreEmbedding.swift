import Embed
import Explorer
import Foundation
import MediaIO
import Models
import VideoData

/// The model behind the explorer's `e` key: `Embed.VideoEmbedder` over MediaIO's clip source,
/// with results cached on disk so reopening a video shows its embeddings at once.
///
/// The backbone loads on first use, on the worker thread, so the first screen never waits for
/// weights; a missing or broken weights file then shows as an error in the status bar.
final class ExploreEmbedding: ClipEmbedding, @unchecked Sendable {
    let config: BackboneConfig
    let choice: ModelWeights.Choice
    let viewName: String
    let summary: String
    let cacheDirectory: String?
    private let lock = NSLock()
    private var embedder: VideoEmbedder?
    private var weightsKey = ""

    init(config: BackboneConfig, choice: ModelWeights.Choice, view: String = "pooled", cacheDirectory: String?) {
        self.config = config
        self.choice = choice
        viewName = view
        self.cacheDirectory = cacheDirectory
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

    func embed(path: String, window: ClipWindow, still: Int?, isCancelled: @escaping @Sendable () -> Bool) throws -> (clip: [Float], still: [Float]?) {
        let embedder = try loaded()
        // The residual views embed every still clip as zero: no scene reliance to measure, and
        // no second forward pass to spend on it.
        let still = embedder.view.subtractsStill ? nil : still
        let key = cacheKey(path: path, window: window, still: still)
        if let key, let hit = readCache(key) { return hit }
        let source = try VideoClipSource(path: path)
        let clip = try embedder.embed([window], from: source, isCancelled: isCancelled)[0]
        var stillVector: [Float]? = nil
        if let still {
            if isCancelled() { throw CancellationError() }
            stillVector = try embedder.embedStill(try source.frames(at: [still])[0], frames: window.frames)
        }
        if let key { writeCache(key, clip: clip, still: stillVector) }
        return (clip, stillVector)
    }

    // MARK: - Cache: one small file per clip, named after a hash of what produced it.

    /// Model, weights, preprocessing, the file's identity (path, size, modification time) and
    /// the window; nil when caching is off or the file cannot be stat'ed.
    private func cacheKey(path: String, window: ClipWindow, still: Int?) -> String? {
        guard cacheDirectory != nil,
            let attrs = try? FileManager.default.attributesOfItem(atPath: path),
            let size = attrs[.size] as? Int, let mtime = (attrs[.modificationDate] as? Date)?.timeIntervalSince1970
        else { return nil }
        let real = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        return "v2|\(config)|\(viewName)|\(lock.withLock { weightsKey })|\(DefaultModel.preprocessing(for: config))|\(real)|\(size)|\(mtime)|\(window.start),\(window.frames),\(window.stride)|\(still.map(String.init) ?? "-")"
    }

    private func file(for key: String) -> String {
        var h = SHA256()
        h.update(Data(key.utf8))
        return cacheDirectory! + "/" + h.hexDigest() + ".clip"
    }

    /// Format: the key as a line, then little-endian Int32 count + Float32 values for the clip
    /// and (count 0 when absent) the still.
    private func readCache(_ key: String) -> (clip: [Float], still: [Float]?)? {
        guard let data = FileManager.default.contents(atPath: file(for: key)),
            let newline = data.firstIndex(of: 10), String(decoding: data[..<newline], as: UTF8.self) == key
        else { return nil }
        var offset = newline + 1
        func vector() -> [Float]? {
            guard offset + 4 <= data.count else { return nil }
            let n = Int(data[offset..<(offset + 4)].withUnsafeBytes { $0.loadUnaligned(as: Int32.self) })
            offset += 4
            guard n >= 0, offset + 4 * n <= data.count else { return nil }
            let v = data[offset..<(offset + 4 * n)].withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            offset += 4 * n
            return v
        }
        guard let clip = vector(), !clip.isEmpty, let still = vector() else { return nil }
        return (clip, still.isEmpty ? nil : still)
    }

    private func writeCache(_ key: String, clip: [Float], still: [Float]?) {
        guard let dir = cacheDirectory else { return }
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var data = Data((key + "\n").utf8)
        for v in [clip, still ?? []] {
            withUnsafeBytes(of: Int32(v.count)) { data.append(contentsOf: $0) }
            v.withUnsafeBytes { data.append(contentsOf: $0) }
        }
        let target = file(for: key)
        let tmp = target + ".tmp-\(getpid())"
        if FileManager.default.createFile(atPath: tmp, contents: data) { rename(tmp, target) }
    }

    /// `$XDG_CACHE_HOME/decouple/explore`, or `~/.cache/decouple/explore`.
    static var defaultCacheDirectory: String {
        let env = ProcessInfo.processInfo.environment
        let base = env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.cache")
        return base + "/decouple/explore"
    }
}
