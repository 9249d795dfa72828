import ArgumentParser
import Common
import Embed
import Foundation
import MediaIO
import Models
import SafeTensors
import Tensor
import VideoData

/// `decouple bench embed`: the whole embedding pipeline next to the ModelScope pipeline
/// reproduced in Python, same video, same random weights, same machine, same run.
struct BenchEmbed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract:
            "Seconds per video of `decouple embed` next to the ModelScope pipeline in Python (decord, Pillow, PyTorch).",
        discussion: """
            For each clip: our pipeline (open, decode the needed frames, Pillow-exact resize and \
            crop, the backbone on --jobs clips at once, mean over clips) and \
            scripts/modelscope_reference.py (decord or PyAV decoding, Pillow, PyTorch on all \
            cores), both with the same random weights (written to a temporary safetensors file), \
            so the embeddings are compared too. Model loading is excluded on both sides and \
            Python's interpreter start-up is not counted. The Python peer stays loaded and the runs \
            alternate (ours, then Python's), so both see the same load on a shared machine; each \
            side first runs once untimed; figures are medians of --runs runs. \
            The Python peer runs when \(PythonPeer.Environment.torch.helpText) exists. \
            Build in release: swift build -c release.
            """
    )

    @Argument(help: "Clips to measure (default: the bundled 320x240 clip and the 720p sample).")
    var clips: [String] = []

    @Option(help: "Model id: r2p1d-26, r3d-26 or c3d.")
    var model = "r2p1d-26"

    @Option(help: "Overrides of the model configuration (narrow variants).")
    var config = ""

    @Option(name: .customLong("clips-per-video"), help: "Clips per video (ModelScope rule).")
    var clipsPerVideo = 10

    @Option(help: "Forward passes at once in our pipeline.")
    var jobs = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Runs per figure (the median is reported).")
    var runs = 3

    @Option(
        help:
            "Decoder of the Python peer: decord (as ModelScope), pyav, or ffmpeg (the CLI with MediaIO's swscale flags: the same frames as ours)."
    )
    var decoder = "decord"

    @Option(
        help:
            "Clips per PyTorch forward call in the Python peer (default: all at once, as the pipeline does; 1 is faster in PyTorch 2.x here)."
    )
    var pythonBatch: Int?

    @Flag(help: "Skip the Python peer.")
    var noPython = false

    @Flag(help: "Print one JSON object per clip.")
    var json = false

    struct Row: Codable {
        var clip: String
        var frames: Int
        var width: Int
        var height: Int
        var model: String
        var clips: Int
        var jobs: Int
        var seconds: Double
        var allSeconds: [Double]
        var pythonSeconds: Double?
        var pythonAllSeconds: [Double]?
        /// Median over runs of (ours / Python) for runs made back to back.
        var pairedRatio: Double?
        var pythonBreakdown: [String: Double]?
        var pythonDecoder: String?
        var pythonBatch: Int?
        var ratio: Double?
        var maxRelativeDifference: Double?
        /// Our stages alone: decoding + resize/crop of the needed frames on one thread, and the
        /// forward passes of the clips (random input) with the same workers.
        var decodeSeconds: Double
        var forwardSeconds: Double
        /// Within the decode stage: decoding alone, and decoding + RGB conversion.
        var decodeOnlySeconds: Double
        var rgbSeconds: Double

        enum CodingKeys: String, CodingKey {
            case clip, frames, width, height, model, clips, jobs, seconds, ratio
            case allSeconds = "all_seconds"
            case pythonSeconds = "python_seconds"
            case pythonBreakdown = "python_breakdown"
            case pythonAllSeconds = "python_all_seconds"
            case pairedRatio = "paired_ratio"
            case pythonDecoder = "python_decoder"
            case pythonBatch = "python_batch"
            case maxRelativeDifference = "max_relative_difference"
            case decodeSeconds = "decode_seconds"
            case forwardSeconds = "forward_seconds"
            case decodeOnlySeconds = "decode_only_seconds"
            case rgbSeconds = "decode_rgb_seconds"
        }
    }

    func validate() throws {
        guard clipsPerVideo >= 1, jobs >= 1, runs >= 1 else {
            throw ValidationError("--clips-per-video, --jobs and --runs must be at least 1.")
        }
        guard ["decord", "pyav", "ffmpeg"].contains(decoder) else {
            throw ValidationError("--decoder is decord, pyav or ffmpeg.")
        }
        if let pythonBatch, pythonBatch < 1 { throw ValidationError("--python-batch must be at least 1.") }
        do { _ = try BackboneConfig(modelID: model).applying(overrides: config) } catch {
            throw ValidationError("\(error)")
        }
    }

    func run() throws {
        let cfg = try BackboneConfig(modelID: model).applying(overrides: config)
        let paths = clips.isEmpty ? BenchAssets.defaultClips() : clips
        var python: PythonPeer?
        var skipped: String?
        if !noPython {
            do { python = try PythonPeer.find(.torch, script: "modelscope_reference.py") } catch {
                skipped = "\(error): ours only"
            }
        }
        if !json {
            print(Machine.description + ", " + Machine.blasKernels)
            if let skipped { print(skipped) }
        }
        // The same random weights for both sides.
        let scratch = NSTemporaryDirectory() + "decouple-bench-embed-\(getpid())"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let weightsPath = scratch + "/weights.safetensors"
        try SafeTensorsWriter.write(Backbone.randomStateDict(config: cfg, seed: 0), to: weightsPath)
        let backbone = try Backbone(config: cfg, weightsAt: weightsPath)
        let embedder = VideoEmbedder(model: backbone, forwardWorkers: jobs)
        for path in paths {
            let row = try measure(path, embedder: embedder, cfg: cfg, python: python, weights: weightsPath)
            if json { print(Console.json(row, pretty: false)) } else { print(table(row)) }
        }
    }

    func measure(_ path: String, embedder: VideoEmbedder, cfg: BackboneConfig, python: PythonPeer?, weights: String)
        throws -> Row
    {
        var peer: PythonPeer.Session?
        if let python {
            // The reference in --serve mode: the model loaded once, one run per video line.
            let overrides = cfg.description.split(separator: " ").dropFirst().joined(separator: " ")
            let arguments = [
                "--serve", "--model", cfg.modelID, "--config", overrides, "--weights", weights, "--clips",
                "\(clipsPerVideo)",
                "--decoder", decoder, "--threads", "\(Machine.cores)", "--batch", "\(pythonBatch ?? 0)",
            ]
            do { peer = try python.start(arguments, quiet: true) } catch { Console.note("\(error)") }
        }
        defer { peer?.stop() }
        var times: [Double] = []
        var pythonRuns: [PythonRun] = []
        var embedding: [Float] = []
        var info: VideoInfo?
        // Ours and Python's runs alternate, so both see the same load on a shared machine; run 0
        // of each is untimed (workspaces here, oneDNN set-up in PyTorch).
        for run in 0...runs {
            let start = Date()
            let source: VideoClipSource
            do { source = try VideoClipSource(path: path, rgb: rgbConversion) } catch {
                Console.error(error.description)
                throw ExitCode(1)
            }
            let windows = ClipSampler.modelScope(frameCount: source.frameCount, clips: clipsPerVideo)
            embedding = VideoEmbedder.meanOverClips(try embedder.embed(windows, from: source))
            if run > 0 { times.append(Date().timeIntervalSince(start)) }
            info = source.info
            if let peer, let r = pythonRun(peer, path), run > 0 { pythonRuns.append(r) }
        }
        let ours = Stats.median(times)
        let (decode, forward, decodeOnly, rgb) = try stages(path, embedder: embedder)
        var row = Row(
            clip: path, frames: info!.frameCount, width: info!.width, height: info!.height, model: cfg.description,
            clips: clipsPerVideo, jobs: embedder.forwardWorkers, seconds: ours, allSeconds: times,
            decodeSeconds: decode, forwardSeconds: forward, decodeOnlySeconds: decodeOnly, rgbSeconds: rgb)
        if !pythonRuns.isEmpty {
            let total = Stats.median(pythonRuns.map(\.total))
            row.pythonSeconds = total
            row.pythonAllSeconds = pythonRuns.map(\.total)
            row.pythonBreakdown = ["decode", "preprocess", "forward", "total"].reduce(into: [:]) { out, key in
                out[key] = Stats.median(pythonRuns.map { $0.breakdown[key] ?? 0 })
            }
            row.pythonDecoder = decoder
            row.pythonBatch = pythonBatch ?? clipsPerVideo
            row.ratio = ours / total
            if pythonRuns.count == times.count {
                row.pairedRatio = Stats.median(zip(times, pythonRuns).map { $0 / $1.total })
            }
            let theirs = pythonRuns.last!.embedding
            if theirs.count == embedding.count {
                let scale = theirs.map { abs(Double($0)) }.max() ?? 1
                let worst = zip(embedding, theirs).map { abs(Double($0) - Double($1)) }.max() ?? 0
                row.maxRelativeDifference = worst / max(scale, 1e-30)
            }
        }
        return row
    }

    /// Median seconds of our two stages on their own (the rungs below the whole pipeline).
    func stages(_ path: String, embedder: VideoEmbedder) throws -> (
        decode: Double, forward: Double, decodeOnly: Double, rgb: Double
    ) {
        var decode: [Double] = []
        var forward: [Double] = []
        var decodeOnly: [Double] = []
        var rgb: [Double] = []
        for _ in 0..<runs {
            var start = Date()
            let (source, needed) = try neededFrames(path)
            let reader = try VideoReader(path: path, options: ReaderOptions(motionVectors: false))
            while let f = try reader.next(), f.info.index < needed.last! {}
            decodeOnly.append(Date().timeIntervalSince(start))
            start = Date()
            try readFrames(needed, from: source, batch: embedder.framesPerRead) { _ in }
            rgb.append(Date().timeIntervalSince(start))
        }
        for _ in 0..<runs {
            let start = Date()
            let (source, needed) = try neededFrames(path)
            try readFrames(needed, from: source, batch: embedder.framesPerRead) {
                _ = embedder.preprocessing.resizeAndCrop($0)
            }
            decode.append(Date().timeIntervalSince(start))
        }
        let crop = embedder.preprocessing.crop
        var rng = SeededRandom(seed: 1)
        let clips = Tensor.normal(shape: [clipsPerVideo, 3, 16, crop, crop], using: &rng)
        let workers = min(embedder.forwardWorkers, clipsPerVideo)
        for _ in 0..<runs {
            let start = Date()
            _ = embedder.model.forward(
                clips, threads: workers > 1 ? workers : Machine.cores,
                parallelism: workers > 1 ? .acrossClips : .withinClip)
            forward.append(Date().timeIntervalSince(start))
        }
        return (Stats.median(decode), Stats.median(forward), Stats.median(decodeOnly), Stats.median(rgb))
    }

    /// The video opened as the pipeline opens it, and the display indices its clips need.
    /// Our frames are converted as the peer's are: decord's way for decord (what `embed` does
    /// with random weights), accurately for the ffmpeg CLI and PyAV peers, which run with
    /// MediaIO's accurate flags.
    var rgbConversion: RGBConversion { decoder == "decord" ? .modelscope : .accurate }

    func neededFrames(_ path: String) throws -> (VideoClipSource, [Int]) {
        let source = try VideoClipSource(path: path, rgb: rgbConversion)
        let windows = ClipSampler.modelScope(frameCount: source.frameCount, clips: clipsPerVideo)
        return (source, Set(windows.flatMap { $0.indices(frameCount: source.frameCount) }).sorted())
    }

    /// Reads `needed` from `source` `batch` frames at a time, as the embedder does.
    func readFrames(_ needed: [Int], from source: VideoClipSource, batch: Int, _ each: (RGBImage) -> Void) throws {
        for i in Swift.stride(from: 0, to: needed.count, by: batch) {
            for image in try source.frames(at: Array(needed[i..<min(i + batch, needed.count)])) { each(image) }
        }
    }

    func table(_ r: Row) -> String {
        func s(_ x: Double) -> String { String(format: "%.2f s", x) }
        var lines = [
            "\(r.clip): \(r.width)x\(r.height), \(r.frames) frames; \(r.clips) clips of 16 frames, \(r.model), random weights",
            "  decouple embed (\(r.jobs) forward\(r.jobs == 1 ? "" : "s") at once)   \(s(r.seconds))   (runs: \(r.allSeconds.map { String(format: "%.2f", $0) }.joined(separator: ", ")))",
            "    its stages alone: decode \(s(r.decodeOnlySeconds)), + RGB \(s(r.rgbSeconds)), + resize/crop \(s(r.decodeSeconds)) on one thread; \(r.clips) forwards \(s(r.forwardSeconds))",
        ]
        if let p = r.pythonSeconds, let ratio = r.ratio, let b = r.pythonBreakdown {
            lines.append(
                "  ModelScope pipeline in Python     \(s(p))   (batch \(r.pythonBatch ?? r.clips); \(r.pythonDecoder ?? "") decode \(String(format: "%.2f", b["decode"] ?? 0)), preprocess \(String(format: "%.2f", b["preprocess"] ?? 0)), forward \(String(format: "%.2f", b["forward"] ?? 0)))"
            )
            lines.append(
                "  ModelScope pipeline, runs         \((r.pythonAllSeconds ?? []).map { String(format: "%.2f", $0) }.joined(separator: ", "))"
            )
            lines.append(
                "  ours / Python                     \(String(format: "%.2fx", ratio)) (medians)\(r.pairedRatio.map { String(format: ", %.2fx (median of back-to-back pairs)", $0) } ?? "")"
            )
            if let d = r.maxRelativeDifference {
                lines.append("  embeddings: max |ours - Python| / max |Python| = \(String(format: "%.1e", d))")
            }
        }
        return lines.joined(separator: "\n")
    }
}

/// One timed run of the ModelScope pipeline in Python (scripts/modelscope_reference.py).
struct PythonRun {
    var total: Double
    var breakdown: [String: Double]
    var embedding: [Float]
}

extension BenchEmbed {
    /// One run of the reference on `video`; nil (with a note) when the peer fails.
    func pythonRun(_ peer: PythonPeer.Session, _ video: String) -> PythonRun? {
        guard !peer.failed else { return nil }
        do {
            let object = try peer.ask(video)
            guard let seconds = object["seconds"] as? [String: Double], let total = seconds["total"],
                let embedding = object["embedding"] as? [Double]
            else {
                Console.note("Python peer answered \(video) without seconds.total and embedding")
                return nil
            }
            return PythonRun(total: total, breakdown: seconds, embedding: embedding.map { Float($0) })
        } catch {
            Console.note("\(error)")
            return nil
        }
    }
}
