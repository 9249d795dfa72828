import Common
import ArgumentParser
import Embed
import Foundation
import Index
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
            (embeddings.npy float32 [N, D], items.jsonl, manifest.json), appended video by \
            video, each append atomic; without it, one JSON line per row.

            Batches: folders are searched recursively for video files. A rerun with the same \
            -o skips every file whose content (SHA-256) the store already holds, so an \
            interrupted run (Ctrl-C, SIGTERM, a crash) resumes where it stopped. Unreadable \
            files get one line each and are skipped; the summary counts them and the exit code \
            is 1 when any failed (130 when interrupted). A progress bar with ETA and clips/s \
            shows on a terminal; with stdout piped, one JSON line per video and a summary. \
            --shard i/n embeds one of n disjoint parts for a job array; decouple store merge \
            joins the parts.

            Example: decouple embed assets/videos --random-weights --seed 0 -o store
            """
    )

    @Argument(help: "Video files, or folders searched recursively for video files.")
    var videos: [String]

    @Option(name: .shortAndLong, help: "Store directory: created, or resumed when it exists (default: print JSON lines).")
    var output: String?

    @Option(help: "Embed only shard i of n (0 <= i < n), chosen by a hash of each file's path below its folder: one job of a job array.")
    var shard: String?

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

    @Option(help: "Short side after resizing (default: 128 for 112-pixel models, in proportion otherwise).")
    var shortSide: Int?

    @Option(help: "Centre crop size (default: the model's input size).")
    var crop: Int?

    @Option(help: "Embedding view: pooled (ModelScope's), fused, motion (the CMD motion branch; needs FILE.views.safetensors), residual or motion-residual (the clip minus its first frame held still), predicted (the future motion the CMD predictor foresees; needs FILE.views.safetensors), predicted-residual (predicted minus that of the first frame held still) (default: the shipped weights' view, else pooled).")
    var view: String?

    @Option(help: "Forward passes run at once (one clip per core with one OpenBLAS thread each).")
    var jobs = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Start the store over instead of resuming it.")
    var force = false

    func validate() throws {
        guard clips >= 1, frames >= 1, stride >= 1, jobs >= 1 else { throw ValidationError("--clips, --frames, --stride and --jobs must be at least 1.") }
        if let crop, crop < 1 || (shortSide ?? crop) < crop { throw ValidationError("--crop must be at least 1 and no larger than --short-side.") }
        if let hop, hop < 1 { throw ValidationError("--hop must be at least 1.") }
        if hop != nil && !sliding { throw ValidationError("--hop applies to --sliding.") }
        if let shard, Shard(parsing: shard) == nil { throw ValidationError("--shard takes i/n with 0 <= i < n, e.g. 0/4.") }
        if randomWeights && weights != nil { throw ValidationError("give --weights or --random-weights, not both.") }
        if seed != nil && !randomWeights { throw ValidationError("--seed applies to --random-weights.") }
        do { _ = try BackboneConfig(modelID: model).applying(overrides: config) } catch { throw ValidationError("\(error)") }
    }

    func run() throws {
        var cfg = try BackboneConfig(modelID: model).applying(overrides: config)
        let choice: ModelWeights.Choice
        var viewName = view ?? "pooled"
        if let weights {
            // Absolute, so `decouple search` finds the file from any directory.
            choice = .file(URL(fileURLWithPath: weights).standardizedFileURL.path, prefix: prefix)
        } else if randomWeights {
            choice = .random(seed: seed ?? 0)
        } else if let (card, path) = DefaultModel.shipped(model: model, config: config) {
            // The shipped weights, with the configuration and view they were evaluated with.
            cfg = try card.backboneConfig()
            choice = .file(URL(fileURLWithPath: path).standardizedFileURL.path, prefix: nil)
            viewName = view ?? card.view
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
        let scaled = DefaultModel.preprocessing(for: cfg)
        let preprocessing = Preprocessing(shortSide: shortSide ?? max(crop ?? scaled.crop, scaled.shortSide), crop: crop ?? scaled.crop)
        let embeddingView: EmbeddingView
        do {
            embeddingView = try EmbeddingView.named(viewName, weights: choice.file, model: backbone)
        } catch {
            Console.error("\(error)")
            throw ExitCode(1)
        }
        let embedder = VideoEmbedder(model: backbone, preprocessing: preprocessing, forwardWorkers: jobs, view: embeddingView)
        let selection = ClipSelection(
            rule: sliding ? .sliding(hop: hop) : .modelScope(clips: clips), frames: frames, stride: stride, perClip: perClip || sliding)
        let manifest = EmbeddingManifest(
            model: cfg.modelID, config: cfg.description + (viewName == "pooled" ? "" : " view=\(viewName)"), weights: provenance, preprocessing: preprocessing,
            sampling: selection.manifestSampling, dimension: embedder.dimension, count: 0)

        var (inputs, missing) = EmbedInput.collect(videos)
        if let shard = shard.flatMap(Shard.init(parsing:)) { inputs = inputs.filter { shard.contains($0.shardKey) } }
        for m in missing { Console.error("'\(m)' does not exist.") }

        // The store: resumed when it exists (same model, weights, preprocessing and clips),
        // started over with --force, created otherwise.
        var store: EmbeddingStore?
        if let output {
            do {
                if FileManager.default.fileExists(atPath: output) && !force {
                    let existing = try EmbeddingStore(opening: output, forWriting: true)
                    if let why = existing.manifest.mismatch(with: manifest) {
                        throw StoreError("'\(output)' holds embeddings of another setup (this run has \(why)); use another -o, or --force to start it over.")
                    }
                    store = existing
                } else {
                    store = try EmbeddingStore.create(at: output, manifest: manifest, replace: force)
                }
            } catch let error as StoreError {
                Console.error(error.description)
                throw ExitCode(1)
            }
        }
        let done = Set(store?.items.compactMap(\.fileSHA256) ?? [])
        if let store, case let legacy = store.items.filter({ $0.fileSHA256 == nil }).count, legacy > 0 {
            Console.note("note: \(legacy) row\(legacy == 1 ? "" : "s") of '\(store.directory)' carry no file hash (written before resumable embedding); their videos are embedded again if given.")
        }
        let interrupt = InterruptFlag()
        interrupt.install()
        let events = output != nil && isatty(1) == 0
        var tally = EmbedTally(total: inputs.count + missing.count, failed: missing.count)
        if case .modelScope(let n) = selection.rule { tally.clipsPerVideo = n }
        var seen = done
        var usedIDs = Set<String>()

        for input in inputs {
            if interrupt.isSet { break }
            let path = URL(fileURLWithPath: input.path).standardizedFileURL.path
            do {
                let size = (try FileManager.default.attributesOfItem(atPath: input.path)[.size] as? NSNumber)?.intValue
                let hash: String
                do { hash = try SHA256.hexDigest(ofFile: input.path) } catch { throw StoreError("'\(input.path)' could not be read.") }
                if store != nil && seen.contains(hash) {
                    tally.skipped += 1
                    if events { Self.event(["event": "skipped", "path": path, "reason": "already in the store"]) }
                    continue
                }
                let source = try VideoClipSource(path: input.path)
                let windows = selection.windows(frameCount: source.frameCount)
                let started = Date()
                let progressTally = tally
                let clipVectors = try embedder.embed(windows, from: source, progress: { p in
                    var t = progressTally
                    t.currentClips = p.clipsDone
                    Console.status(t.line())
                }, isCancelled: { interrupt.isSet })
                var name = input.id
                if store == nil {
                    name = EmbeddingStore.uniqueID(name, avoiding: usedIDs)
                    usedIDs.insert(name)
                }
                var rows = selection.rows(
                    name: name, path: path, windows: windows, vectors: clipVectors, frameCount: source.frameCount,
                    fps: source.fps, model: cfg.modelID)
                for i in rows.indices {
                    rows[i].item.fileSize = size
                    rows[i].item.fileSHA256 = hash
                }
                if let store {
                    let stored: [EmbeddingItem]
                    do { stored = try store.append(vectors: rows.map(\.vector), items: rows.map(\.item)) } catch {
                        // The store itself failed (disk full, ...): it still holds what was
                        // committed before; stop rather than fail every video after it.
                        Console.endStatus()
                        Console.error("\(error)")
                        throw ExitCode(1)
                    }
                    if events {
                        Self.event([
                            "event": "embedded", "path": path, "id": stored[0].id, "rows": stored.count, "clips": windows.count,
                            "seconds": Date().timeIntervalSince(started), "done": tally.finished + 1, "total": tally.total,
                            "clips_per_second": Double(tally.clips + windows.count) / tally.seconds,
                        ])
                    }
                } else {
                    Console.endStatus()
                    for row in rows { print(Self.jsonLine(row.item, row.vector, weights: provenance)) }
                }
                seen.insert(hash)
                tally.embedded += 1
                tally.rows += rows.count
                tally.clips += windows.count
                Console.status(tally.line())
            } catch is CancellationError {
                break
            } catch {
                Console.endStatus()
                let message = (error as? MediaError)?.description ?? (error as? StoreError)?.description ?? "'\(input.path)' could not be embedded: \(error)."
                Console.error(message)
                tally.failed += 1
                if events { Self.event(["event": "failed", "path": path, "error": message]) }
            }
        }
        Console.endStatus()
        let interrupted = interrupt.isSet
        if let output, let store {
            let summary = "\(output): \(store.count) row\(store.count == 1 ? "" : "s") of \(embedder.dimension) (\(cfg.description), \(provenance.random ? "random weights, seed \(provenance.seed ?? 0)" : provenance.file ?? "")); "
                + "this run embedded \(tally.embedded), skipped \(tally.skipped) already in the store, \(tally.failed) failed, "
                + String(format: "%.1f s, %.2f clips/s", tally.seconds, Double(tally.clips) / max(tally.seconds, 1e-9))
                + (interrupted ? "; interrupted after \(tally.finished) of \(tally.total) videos: rerun the same command to resume" : "")
            if events {
                Self.event([
                    "event": "summary", "store": output, "rows": store.count, "embedded": tally.embedded, "skipped": tally.skipped,
                    "failed": tally.failed, "seconds": tally.seconds, "clips_per_second": Double(tally.clips) / max(tally.seconds, 1e-9),
                    "interrupted": interrupted,
                ])
            } else {
                print(summary)
            }
            if events || tally.failed > 0 || interrupted { Console.note(summary) }
        }
        if interrupted { throw ExitCode(130) }
        if tally.failed > 0 {
            Console.error("\(tally.failed) of \(tally.total) videos failed.")
            throw ExitCode(1)
        }
    }

    /// One JSON line on stdout (progress when stdout is not a terminal).
    static func event(_ fields: [String: Any]) {
        guard let data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        FileHandle.standardOutput.write(data + Data([0x0A]))
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
