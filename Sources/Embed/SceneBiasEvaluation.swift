import Common
import Foundation
import Index
import Models
import VideoData

/// The scene-bias protocol on a `decouple synth` set (docs/training.md): the in-context videos
/// are the gallery, the out-of-context videos (the same motions over other classes'
/// backgrounds) the queries, in-context queries against the other in-context videos the
/// control; one vector per video. Scene reliance = in-context R@1 - out-of-context R@1.
///
/// Videos are opened through the functions the caller gives (MediaIO's sources in the CLI).
public struct SceneBiasEvaluation {
    /// The labelled in-context and out-of-context videos, in `labels.csv` order.
    public let entries: [RetrievalLabels.Entry]
    public let labels: RetrievalLabels
    /// Videos evaluated side by side.
    public var jobs: Int

    /// A model to evaluate: a row of the table.
    public struct Model {
        public var name: String
        public var config: BackboneConfig
        public var choice: ModelWeights.Choice
        public var view: String
        /// How its frames become RGB: as the weights were trained; ModelScope's for random ones.
        public var rgb: RGBConversion
    }

    /// Reads `synthDirectory/labels.csv`.
    /// - Throws: one sentence naming the file when it is missing, malformed or has no
    ///   in-context and out-of-context videos.
    public init(synthDirectory: String, jobs: Int) throws {
        let path = (synthDirectory as NSString).appendingPathComponent("labels.csv")
        labels = try RetrievalLabels(contentsOf: path)
        entries = labels.entries.filter { $0.split == "in-context" || $0.split == "out-of-context" }
        self.jobs = jobs
        guard entries.contains(where: { $0.split == "in-context" }),
            entries.contains(where: { $0.split == "out-of-context" })
        else {
            throw StoreError("'\(path)' has no in-context and out-of-context videos; make the set with decouple synth.")
        }
    }

    public var queries: Int { entries.filter { $0.split == "out-of-context" }.count }
    public var gallery: Int { entries.filter { $0.split == "in-context" }.count }
    public var classes: Int { Set(entries.map(\.label)).count }

    /// The models of the table: the random-weights baseline in the views that need no trained
    /// projection (when `randomBaseline`), then every weights file in every view.
    public static func models(config: BackboneConfig, weights: [String], views: [String], randomBaseline: Bool)
        -> [Model]
    {
        var models: [Model] = []
        if randomBaseline {
            for v in ["video:pooled", "video:residual"] {
                models.append(
                    Model(
                        name: "\(config), random weights, \(v) view", config: config, choice: .random(seed: 0), view: v,
                        rgb: .modelscope)
                )
            }
        }
        for w in weights {
            for v in views {
                models.append(
                    Model(
                        name: "\((w as NSString).lastPathComponent), \(v) view", config: config,
                        choice: .file(w, prefix: nil), view: v, rgb: ModelWeights.conversion(forWeights: w)))
            }
        }
        return models
    }

    /// The two baselines without learning: the keyframe's colours (pure scene) and the
    /// stream's motion vectors (pure motion).
    public func baselines(openMotion: @escaping @Sendable (String) throws -> MotionClipSource) throws -> [SceneBiasRow]
    {
        let colour = try perVideo { path in
            let source = try openMotion(path)
            let key = try source.iFrameIndices().first ?? 0
            return Descriptors.colorHistogram(try source.fetch(rgb: [key], motion: [], cellSize: 4).images[0])
        }
        let motion = try perVideo { path in
            let source = try openMotion(path)
            return Descriptors.motionHistogram(
                try source.fetch(rgb: [], motion: Array(0..<source.frameCount), cellSize: 8).fields)
        }
        return [row("keyframe colour histogram", colour), row("motion-vector histogram", motion)]
    }

    /// A model's row: each video embedded as the mean over `clips` clips (ModelScope's rule),
    /// the video view at the model's input side with ModelScope's 128:112 short side.
    public func evaluate(_ model: Model, clips: Int, openers: VideoOpeners) throws -> SceneBiasRow {
        let config = model.config
        let resolved = ModelWeights.Resolved(config: config, choice: model.choice, view: "pooled", rgb: model.rgb)
        let (embedder, _) = try ViewEmbedder.make(
            try ViewName(parsing: model.view), resolved: resolved, forwardWorkers: 1)
        let vectors = try perVideo { path in
            let video = try embedder.embed(path, openers: openers) {
                ClipSampler.modelScope(frameCount: $0, clips: clips, frames: config.frames, stride: 4)
            }
            return VideoEmbedder.meanOverClips(video.vectors)
        }
        return row(model.name, vectors)
    }

    /// A store's row (its per-video vectors, matched to the labels by path or id).
    public func evaluate(storeNamed name: String, at directory: String) throws -> SceneBiasRow {
        try SceneBias.evaluate(method: name, store: try EmbeddingStore(opening: directory), labels: labels)
    }

    /// The table as printed: a header line, then one row per method.
    public func table(_ rows: [SceneBiasRow], synth: String) -> String {
        var lines = [
            "\(synth): \(queries) out-of-context queries, \(gallery) in-context gallery, \(classes) classes (chance R@1 \(String(format: "%.3f", 1 / Double(classes))))"
        ]
        let width = max(44, rows.map(\.method.count).max() ?? 0)
        lines.append(
            "method".padding(toLength: width, withPad: " ", startingAt: 0)
                + "  out R@1  out R@5  out R@10   in R@1  scene reliance")
        for r in rows {
            let name = r.method.padding(toLength: width, withPad: " ", startingAt: 0)
            lines.append(
                String(
                    format: "%@  %7.3f  %7.3f  %8.3f  %7.3f  %14.3f", name, r.outOfContext(at: 1) ?? .nan,
                    r.outOfContext(at: 5) ?? .nan,
                    r.outOfContext(at: 10) ?? .nan, r.inContext(at: 1) ?? .nan, r.sceneReliance))
        }
        return lines.joined(separator: "\n")
    }

    /// Out-of-context R@1 of each motion class, one line per method (`--per-class`): which
    /// motions a method reads and which it confuses.
    public func perClassTable(_ rows: [SceneBiasRow]) -> String {
        let names = Set(rows.flatMap { $0.outOfContextPerClass?.keys.map { $0 } ?? [] }).sorted()
        let width = max(44, rows.map(\.method.count).max() ?? 0)
        let columns = names.map { name in (name, max(5, name.count)) }
        var lines = [
            "out-of-context R@1 per class",
            "method".padding(toLength: width, withPad: " ", startingAt: 0)
                + columns.map { "  " + String(repeating: " ", count: $1 - $0.count) + $0 }.joined(),
        ]
        for r in rows {
            let cells = columns.map { name, w in
                let text = r.outOfContextPerClass?[name].map { String(format: "%.2f", $0) } ?? "-"
                return "  " + String(repeating: " ", count: w - text.count) + text
            }
            lines.append(r.method.padding(toLength: width, withPad: " ", startingAt: 0) + cells.joined())
        }
        return lines.joined(separator: "\n")
    }

    private func row(_ method: String, _ vectors: [[Float]]) -> SceneBiasRow {
        let (inContext, outOfContext) = SceneBias.split(Array(zip(entries, vectors)))
        return SceneBias.evaluate(method: method, inContext: inContext, outOfContext: outOfContext)
    }

    /// `body(path)` for every video, `jobs` at a time, in order; the first failure is thrown.
    private func perVideo(_ body: @escaping @Sendable (String) throws -> [Float]) throws -> [[Float]] {
        let paths = entries.map { $0.path ?? $0.key }
        return try runConcurrently(count: paths.count, jobs: jobs) { i in Result { try body(paths[i]) } }.map {
            try $0.get()
        }
    }
}
