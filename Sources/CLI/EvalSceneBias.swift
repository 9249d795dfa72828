import Common
import ArgumentParser
import Embed
import Foundation
import Index
import MediaIO
import Models
import VideoData

/// `decouple eval scene-bias SYNTH_DIR`: out-of-context against in-context retrieval for
/// baselines, models and stores.
struct EvalSceneBias: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scene-bias",
        abstract: "Does an embedding follow the motion or the scene? Retrieval on a decouple synth set, in and out of context.",
        discussion: """
            Gallery: the in-context videos. Queries: the out-of-context videos (the same motion \
            classes over other classes' backgrounds). Control: in-context queries against the \
            other in-context videos. Scene reliance = in-context R@1 - out-of-context R@1. \
            Methods: a keyframe colour histogram (pure scene), a motion-vector histogram (pure \
            motion, no learning), the backbone with random weights (--random-model, default \
            r2p1d-26 narrow), models given with --weights (one row each), and stores given \
            with --store NAME=DIR. One vector per video: the mean over --clips clips.

            Example: decouple eval scene-bias synth --weights weights/r2p1d-compact.safetensors --config "planes=16,32,64,128 stem=16"
            """
    )

    @Argument(help: "A directory written by decouple synth (with labels.csv).")
    var synth: String

    @Option(help: "Stores to evaluate, NAME=DIR (repeatable).")
    var store: [String] = []

    @Option(help: "Trained weights to evaluate (repeatable); uses --model and --config.")
    var weights: [String] = []

    @Option(help: "Model id for --weights and the random baseline.")
    var model = "r2p1d-26"

    @Option(help: "Model overrides for --weights and the random baseline.")
    var config = "planes=16,32,64,128 stem=16"

    @Option(help: "Views of the --weights models: pooled, fused, motion, residual, motion-residual, predicted, predicted-residual, comma-separated.")
    var views = "pooled,motion"

    @Flag(inversion: .prefixedNo, help: "Include the random-weights baseline.")
    var randomModel = true

    @Option(help: "Clips per video for model embeddings.")
    var clips = 3

    @Option(help: "Videos processed side by side.")
    var jobs = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Print JSON.")
    var json = false

    @Option(help: "Also write the rows as JSON to this file (with the table on stdout).")
    var jsonOut: String?

    func run() throws {
        // Before the evaluation, which takes minutes: an unwritable --json-out fails now.
        if let jsonOut {
            let parent = (jsonOut as NSString).deletingLastPathComponent
            guard FileManager.default.isWritableFile(atPath: parent.isEmpty ? "." : parent) else {
                Console.error("'\(jsonOut)' could not be written: '\(parent)' is not a writable directory.")
                throw ExitCode(1)
            }
        }
        let labelsPath = (synth as NSString).appendingPathComponent("labels.csv")
        let labels: RetrievalLabels
        do { labels = try RetrievalLabels(contentsOf: labelsPath) } catch {
            Console.error("\(error)")
            throw ExitCode(1)
        }
        let entries = labels.entries.filter { $0.split == "in-context" || $0.split == "out-of-context" }
        guard entries.contains(where: { $0.split == "in-context" }), entries.contains(where: { $0.split == "out-of-context" }) else {
            Console.error("'\(labelsPath)' has no in-context and out-of-context videos; make the set with decouple synth.")
            throw ExitCode(1)
        }
        let paths = entries.map { $0.path ?? $0.key }
        var rows: [SceneBiasRow] = []
        func evaluate(_ name: String, _ vectors: [[Float]]) {
            let (inCtx, outCtx) = SceneBias.split(Array(zip(entries, vectors)))
            rows.append(SceneBias.evaluate(method: name, inContext: inCtx, outOfContext: outCtx))
        }
        let jobs = self.jobs
        // Baselines without learning: the keyframe's colours, the stream's motion vectors.
        let colour = try perVideo(paths, jobs: jobs) { path in
            let source = try MotionVideoSource(path: path)
            let key = try source.iFrameIndices().first ?? 0
            return Descriptors.colorHistogram(try source.fetch(rgb: [key], motion: [], cellSize: 4).images[0])
        }
        evaluate("keyframe colour histogram", colour)
        let motion = try perVideo(paths, jobs: jobs) { path in
            let source = try MotionVideoSource(path: path)
            return Descriptors.motionHistogram(try source.fetch(rgb: [], motion: Array(0..<source.frameCount), cellSize: 8).fields)
        }
        evaluate("motion-vector histogram", motion)
        let cfg = try BackboneConfig(modelID: model).applying(overrides: config)
        var models: [(String, ModelWeights.Choice, String)] = []
        // Random weights in the views that need no trained projection.
        if randomModel {
            for v in ["pooled", "residual"] { models.append(("\(cfg), random weights, \(v) view", .random(seed: 0), v)) }
        }
        for w in weights {
            for v in views.split(separator: ",").map(String.init) {
                models.append(("\((w as NSString).lastPathComponent), \(v) view", .file(w, prefix: nil), v))
            }
        }
        for (name, choice, viewName) in models {
            let backbone: Backbone
            let view: EmbeddingView
            do {
                backbone = try ModelWeights.load(config: cfg, choice).0
                view = try EmbeddingView.named(viewName, weights: choice.file, model: backbone)
            } catch {
                Console.error("\(error)")
                throw ExitCode(1)
            }
            // The model's input side; the short side keeps ModelScope's 128:112 ratio.
            let preprocessing = Preprocessing(shortSide: Int((Double(cfg.size) * 128 / 112).rounded()), crop: cfg.size)
            let embedder = VideoEmbedder(model: backbone, preprocessing: preprocessing, forwardWorkers: 1, view: view)
            let clips = self.clips
            let vectors = try perVideo(paths, jobs: jobs) { path in
                let source = try VideoClipSource(path: path)
                let windows = ClipSampler.modelScope(frameCount: source.frameCount, clips: clips, frames: cfg.frames, stride: 4)
                return VideoEmbedder.meanOverClips(try embedder.embed(windows, from: source))
            }
            evaluate(name, vectors)
        }
        for spec in store {
            let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else {
                Console.error("--store takes NAME=DIR (got \(spec)).")
                throw ExitCode(64)
            }
            do {
                rows.append(try SceneBias.evaluate(method: parts[0], store: try EmbeddingStore(opening: parts[1]), labels: labels))
            } catch {
                Console.error("\(error)")
                throw ExitCode(1)
            }
        }
        if let jsonOut {
            do { try (Console.json(rows) + "\n").write(toFile: jsonOut, atomically: true, encoding: .utf8) } catch {
                Console.error("'\(jsonOut)' could not be written: \(error.localizedDescription)")
                throw ExitCode(1)
            }
        }
        if json {
            print(Console.json(rows))
            return
        }
        print("\(synth): \(entries.filter { $0.split == "out-of-context" }.count) out-of-context queries, \(entries.filter { $0.split == "in-context" }.count) in-context gallery, \(Set(entries.map(\.label)).count) classes (chance R@1 \(String(format: "%.3f", 1 / Double(Set(entries.map(\.label)).count))))")
        let width = max(44, rows.map(\.method.count).max() ?? 0)
        print("method".padding(toLength: width, withPad: " ", startingAt: 0) + "  out R@1  out R@5  out R@10   in R@1  scene reliance")
        for r in rows {
            let name = r.method.padding(toLength: width, withPad: " ", startingAt: 0)
            print(String(format: "%@  %7.3f  %7.3f  %8.3f  %7.3f  %14.3f", name, r.outOfContext(at: 1) ?? .nan, r.outOfContext(at: 5) ?? .nan, r.outOfContext(at: 10) ?? .nan, r.inContext(at: 1) ?? .nan, r.sceneReliance))
        }
    }

    /// `body(path)` for every video, `jobs` at a time, in order; the first failure stops it.
    func perVideo(_ paths: [String], jobs: Int, _ body: @escaping @Sendable (String) throws -> [Float]) throws -> [[Float]] {
        let results = runConcurrently(count: paths.count, jobs: jobs) { i in Result { try body(paths[i]) } }
        var out: [[Float]] = []
        for r in results {
            switch r {
            case .success(let v): out.append(v)
            case .failure(let e):
                Console.error("\(e)")
                throw ExitCode(1)
            }
        }
        return out
    }
}
