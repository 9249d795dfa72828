import ArgumentParser
import Embed
import Foundation
import MediaIO
import Models
import VideoData

/// `decouple embed`: the ModelScope video-embedding pipeline, one vector per video or per clip.
struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed videos as the ModelScope cv_r2p1d_video_embedding pipeline does (or per clip).",
        discussion: """
            Per video: --clips clips of --frames frames at --stride (10 x 16 at stride 4) placed \
            by ModelScope's linspace-midpoint rule, frames past the end replaced by frame 0; each \
            frame resized so its short side is 128 with Pillow's bilinear filter (reproduced \
            exactly), centre-cropped to 112, normalised with the ImageNet mean and std; the \
            backbone; the mean over clips (2048 values for R(2+1)D-26, 512 for C3D). \
            --per-clip writes each clip instead, with its frame and time range; --sliding takes \
            back-to-back windows over the whole video.

            Weights: --weights FILE (.safetensors, or the .pt torch.save wrote, read directly), \
            else weights/<model>.safetensors, else --random-weights --seed N (an untrained model, \
            labelled random in the output). With -o the rows go to a store directory \
            (embeddings.npy float32 [N, D], items.jsonl, manifest.json), written under a \
            temporary name and renamed when complete; without it, one JSON line per row.

            Example: decouple embed assets/videos/*.mp4 --random-weights --seed 0 -o store
            """
    )

    @Argument(help: "Video files.")
    var videos: [String]

    @Option(name: .shortAndLong, help: "Store directory to write (default: print JSON lines).")
    var output: String?

    @Option(help: "Model id: r2p1d-26, r3d-26 or c3d.")
    var model = "r2p1d-26"

    @Option(help: "Overrides of the model configuration for narrow variants, e.g. \"planes=16,32,64,128 stem=16\".")
    var config = ""

    @Option(help: "Weights: .safetensors or a torch.save checkpoint (.pt).")
    var weights: String?

    @Option(help: "Key prefix of the backbone inside the weights file (e.g. rgb_backbone.).")
    var prefix: String?

    @Flag(help: "Use an untrained, randomly initialised model (from --seed).")
    var randomWeights = false

    @Option(help: "Seed of --random-weights.")
    var seed: UInt64?

    @Option(help: "Clips per video (ModelScope rule).")
    var clips = 10

    @Option(help: "Frames per clip.")
    var frames = 16

    @Option(help: "Frames between the frames of a clip.")
    var stride = 4

    @Flag(help: "One row per clip (with its frame and time range) instead of the mean over clips.")
    var perClip = false

    @Flag(help: "Back-to-back windows over the whole video instead of the ModelScope clips (implies --per-clip).")
    var sliding = false

    @Option(help: "Frames between window starts with --sliding (default: one clip span, no overlap).")
    var hop: Int?

    @Option(help: "Short side after resizing.")
    var shortSide = 128

    @Option(help: "Centre crop size.")
    var crop = 112

    @Option(help: "Forward passes run at once (one clip per core with one OpenBLAS thread each).")
    var jobs = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Replace an existing store directory.")
    var force = false

    func validate() throws {
        guard clips >= 1, frames >= 1, stride >= 1, jobs >= 1 else { throw ValidationError("--clips, --frames, --stride and --jobs must be at least 1.") }
        guard crop >= 1, shortSide >= crop else { throw ValidationError("--crop must be at least 1 and no larger than --short-side.") }
        if let hop, hop < 1 { throw ValidationError("--hop must be at least 1.") }
        if hop != nil && !sliding { throw ValidationError("--hop applies to --sliding.") }
        if randomWeights && weights != nil { throw ValidationError("give --weights or --random-weights, not both.") }
        if seed != nil && !randomWeights { throw ValidationError("--seed applies to --random-weights.") }
        do { _ = try BackboneConfig(modelID: model).applying(overrides: config) } catch { throw ValidationError("\(error)") }
    }

    func run() throws {
        let cfg = try BackboneConfig(modelID: model).applying(overrides: config)
        if let output, FileManager.default.fileExists(atPath: output), !force {
            Console.error("'\(output)' already exists; pass --force to replace it.")
            throw ExitCode(1)
        }
        let choice: ModelWeights.Choice
        if let weights {
            choice = .file(weights, prefix: prefix)
        } else if randomWeights {
            choice = .random(seed: seed ?? 0)
        } else {
            let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            // The working directory, then the checkout the binary was built in (.build/<mode>/decouple).
            choice = .defaultFile(directories: [FileManager.default.currentDirectoryPath, exe.appendingPathComponent("../../..").standardizedFileURL.path])
        }
        let backbone: Backbone
        let provenance: EmbeddingManifest.Weights
        do { (backbone, provenance) = try ModelWeights.load(config: cfg, choice) } catch {
            Console.error("\(error)")
            throw ExitCode(1)
        }
        if provenance.random { Console.note("note: random weights (seed \(provenance.seed ?? 0)): an untrained \(cfg.description), not a trained model.") }
        let preprocessing = Preprocessing(shortSide: shortSide, crop: crop)
        let embedder = VideoEmbedder(model: backbone, preprocessing: preprocessing, forwardWorkers: jobs)
        let selection = ClipSelection(
            rule: sliding ? .sliding(hop: hop) : .modelScope(clips: clips), frames: frames, stride: stride, perClip: perClip || sliding)
        let names = ClipSelection.names(for: videos)

        var vectors: [[Float]] = []
        var items: [EmbeddingItem] = []
        var failed = 0
        for (v, path) in videos.enumerated() {
            do {
                let source = try VideoClipSource(path: path)
                let windows = selection.windows(frameCount: source.frameCount)
                let start = Date()
                let label = videos.count > 1 ? "embed \(v + 1)/\(videos.count)" : "embed"
                let clipVectors = try embedder.embed(windows, from: source, progress: { p in
                    Console.status(progressLine(label: label, done: p.clipsDone, total: p.clipsTotal, elapsed: Date().timeIntervalSince(start), unit: "clips"))
                })
                Console.endStatus()
                let rows = selection.rows(
                    name: names[v], path: path, windows: windows, vectors: clipVectors, frameCount: source.frameCount,
                    fps: source.fps, model: cfg.modelID)
                if output == nil {
                    for row in rows { print(Self.jsonLine(row.item, row.vector, weights: provenance)) }
                }
                for row in rows {
                    items.append(row.item)
                    vectors.append(row.vector)
                }
            } catch let error as MediaError {
                Console.endStatus()
                Console.error(error.description)
                failed += 1
            } catch {
                Console.endStatus()
                Console.error("'\(path)' could not be embedded: \(error).")
                failed += 1
            }
        }
        if let output {
            guard failed == 0 else {
                Console.error("\(failed) of \(videos.count) videos failed; '\(output)' was not written.")
                throw ExitCode(1)
            }
            let manifest = EmbeddingManifest(
                model: cfg.modelID, config: cfg.description, weights: provenance, preprocessing: preprocessing,
                sampling: selection.manifestSampling, dimension: embedder.dimension, count: vectors.count)
            do {
                try EmbeddingStoreWriter.write(to: output, vectors: vectors, items: items, manifest: manifest, replace: force)
            } catch {
                Console.error("\(error)")
                throw ExitCode(1)
            }
            print("\(output): \(vectors.count) row\(vectors.count == 1 ? "" : "s") of \(embedder.dimension) (\(cfg.description), \(provenance.random ? "random weights, seed \(provenance.seed ?? 0)" : provenance.file ?? ""))")
        }
        if failed > 0 { throw ExitCode(1) }
    }

    /// One printed row: the item's fields, the weights, the vector.
    static func jsonLine(_ item: EmbeddingItem, _ vector: [Float], weights: EmbeddingManifest.Weights) -> String {
        struct Line: Encodable {
            var item: EmbeddingItem
            var weights: EmbeddingManifest.Weights
            var embedding: [Float]
            func encode(to encoder: Encoder) throws {
                try item.encode(to: encoder)
                var c = encoder.container(keyedBy: Keys.self)
                try c.encode(weights, forKey: .weights)
                try c.encode(embedding, forKey: .embedding)
            }
            enum Keys: String, CodingKey { case weights, embedding }
        }
        return Console.json(Line(item: item, weights: weights, embedding: vector), pretty: false)
    }
}
