import ArgumentParser
import Common
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
            or --random-weights --seed N (an untrained model, labelled random in the output); \
            else weights/<model>.safetensors when you put one there (e.g. a converted ModelScope \
            checkpoint), else the shipped weights of weights/default.json with their \
            configuration and view (for the model they were trained as, without --config). \
            Frames are converted to RGB as the weights were trained (their model card says \
            how); weights without a card and random weights get the ModelScope pipeline's \
            conversion (decord's, bit for bit); --rgb overrides. \
            With -o the rows go to a store directory \
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

    @Option(
        name: .shortAndLong, help: "Store directory: created, or resumed when it exists (default: print JSON lines).")
    var output: String?

    @Option(
        help:
            "Embed only shard i of n (0 <= i < n), chosen by a hash of each file's path below its folder: one job of a job array."
    )
    var shard: String?

    @OptionGroup var modelOptions: ModelOptions

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

    @Option(
        help: ArgumentHelp(
            "Embedding view: \(ViewName.help). Default: video.", valueName: "view"))
    var view: String?

    @Option(
        help: ArgumentHelp(
            "Several views in one run, comma-separated (e.g. video,scene,motion): one store per view, -o DIR/<view>.",
            valueName: "views"))
    var views: String?

    @Option(
        help:
            "Work run at once: the video view's forward passes (one clip per core with one OpenBLAS thread each), the scene and motion views' videos."
    )
    var jobs = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Start the store over instead of resuming it.")
    var force = false

    func validate() throws {
        guard clips >= 1, frames >= 1, stride >= 1, jobs >= 1 else {
            throw ValidationError("--clips, --frames, --stride and --jobs must be at least 1.")
        }
        if let crop, crop < 1 || (shortSide ?? crop) < crop {
            throw ValidationError("--crop must be at least 1 and no larger than --short-side.")
        }
        if let hop, hop < 1 { throw ValidationError("--hop must be at least 1.") }
        if hop != nil && !sliding { throw ValidationError("--hop applies to --sliding.") }
        if let shard, Shard(parsing: shard) == nil {
            throw ValidationError("--shard takes i/n with 0 <= i < n, e.g. 0/4.")
        }
        if view != nil && views != nil { throw ValidationError("give --view or --views, not both.") }
        do { _ = try viewNames() } catch { throw ValidationError("\(error).") }
        if (try? viewNames())?.count ?? 0 > 1 && output == nil {
            throw ValidationError("--views writes one store per view: give -o DIR.")
        }
    }

    func viewNames() throws -> [ViewName] {
        if let views { return try ViewName.list(views) }
        return [try ViewName(parsing: view ?? "video")]
    }

    func run() throws {
        let resolved = try modelOptions.resolve()
        let names = try viewNames()
        let found = VideoFiles.collect(videos)
        var files = found.files
        if let shard = shard.flatMap(Shard.init(parsing:)) { files = files.filter { shard.contains($0.shardKey) } }
        for m in found.missing { Console.error("'\(m)' does not exist.") }
        let interrupt = InterruptFlag()
        interrupt.install()
        var failed = false
        for name in names {
            let directory = output.map { names.count > 1 ? ($0 as NSString).appendingPathComponent(name.folder) : $0 }
            let failures = try embed(
                name, resolved: resolved, files: files, missing: found.missing.count, into: directory,
                labelled: names.count > 1, interrupt: interrupt)
            failed = failed || failures
            if interrupt.isSet { throw ExitCode(130) }
        }
        if failed { throw ExitCode(1) }
    }

    /// One view into one store (or JSON lines); true when a video failed.
    func embed(
        _ name: ViewName, resolved: ModelWeights.Resolved, files: [VideoFile], missing: Int, into output: String?,
        labelled: Bool, interrupt: InterruptFlag
    ) throws -> Bool {
        let cfg = resolved.config
        let scaled = DefaultModel.preprocessing(for: cfg)
        let preprocessing = Preprocessing(
            shortSide: shortSide ?? max(crop ?? scaled.crop, scaled.shortSide), crop: crop ?? scaled.crop)
        let embedder: ViewEmbedder
        let provenance: EmbeddingManifest.Weights
        do {
            (embedder, provenance) = try ViewEmbedder.make(
                name, resolved: resolved, preprocessing: preprocessing, forwardWorkers: jobs)
        } catch let error as ModelWeights.MissingWeights {
            Console.error(
                "\(error); pass --weights FILE (.safetensors, or a torch.save .pt), or --random-weights --seed N for an untrained model."
            )
            throw ExitCode(1)
        } catch {
            Console.error("\(error)")
            throw ExitCode(1)
        }
        if provenance.random {
            Console.note(
                "note: random weights (seed \(provenance.seed ?? 0)): an untrained \(cfg.description), not a trained model."
            )
        }
        let selection = ClipSelection(
            rule: sliding ? .sliding(hop: hop) : .modelScope(clips: clips), frames: frames, stride: stride,
            perClip: perClip || sliding)
        let viewSuffix = embedder.view == .video("pooled") ? "" : " view=\(embedder.view)"
        let manifest = EmbeddingManifest(
            model: cfg.modelID, config: cfg.description + viewSuffix, weights: provenance,
            preprocessing: preprocessing, sampling: selection.manifestSampling, dimension: embedder.dimension, count: 0,
            rgb: resolved.rgb)

        var store: EmbeddingStore?
        if let output {
            do { store = try StoreIngest.openStore(at: output, manifest: manifest, force: force) } catch let error
                as StoreError
            {
                Console.error(error.description)
                throw ExitCode(1)
            }
        }
        let ingest = StoreIngest(
            embedder: embedder, selection: selection, model: cfg.modelID, store: store, openers: .files)
        if let store, case let n = ingest.rowsWithoutHash, n > 0 {
            Console.note(
                "note: \(n) row\(n == 1 ? "" : "s") of '\(store.directory)' carry no file hash (written before resumable embedding); their videos are embedded again if given."
            )
        }
        // JSON lines on stdout when a store is written and stdout is not a terminal.
        let events = output != nil && isatty(1) == 0
        let writesStore = store != nil
        let tally: IngestTally
        do {
            tally = try ingest.run(files, failed: missing, isCancelled: { interrupt.isSet }) { event in
                switch event {
                case .progress(let t): Console.status(t.line())
                case .embedded(_, let rows, _, _, _) where !writesStore:
                    Console.endStatus()
                    for row in rows { print(EmbeddingItem.jsonLine(row.item, row.vector, weights: provenance)) }
                case .failed(_, let message):
                    Console.endStatus()
                    Console.error(message)
                default: break
                }
                if events, let fields = event.fields { Self.event(fields) }
            }
        } catch {
            Console.endStatus()
            Console.error("\(error)")
            throw ExitCode(1)
        }
        Console.endStatus()
        let interrupted = interrupt.isSet
        if let output, let store {
            let summary = tally.summary(store: store, config: cfg, weights: provenance, interrupted: interrupted)
            if events {
                Self.event(
                    tally.summaryFields(store: store, interrupted: interrupted).merging([
                        "store": output, "view": "\(embedder.view)",
                    ]) { $1 })
            } else {
                print((labelled ? "\(embedder.view) view: " : "") + summary)
            }
            if events || tally.failed > 0 || interrupted { Console.note(summary) }
        }
        if tally.failed > 0 && !interrupted {
            Console.error(
                "\(tally.failed) of \(tally.total) videos failed" + (labelled ? " in the \(embedder.view) view." : "."))
        }
        return tally.failed > 0
    }

    /// One JSON line on stdout (progress when stdout is not a terminal).
    static func event(_ fields: [String: Any]) {
        guard
            let data = try? JSONSerialization.data(
                withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return }
        FileHandle.standardOutput.write(data + Data([0x0A]))
    }
}
