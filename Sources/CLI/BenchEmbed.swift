import Common
import ArgumentParser
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
        abstract: "Seconds per video of `decouple embed` next to the ModelScope pipeline in Python (decord, Pillow, PyTorch).",
        discussion: """
            For each clip: our pipeline (open, decode the needed frames, Pillow-exact resize and \
            crop, the backbone on --jobs clips at once, mean over clips) and \
            scripts/modelscope_reference.py (decord or PyAV decoding, Pillow, PyTorch on all \
            cores), both with the same random weights (written to a temporary safetensors file), \
            so the embeddings are compared too. Model loading is excluded on both sides and \
            Python's interpreter start-up is not counted. The Python peer stays loaded and the runs \
            alternate (ours, then Python's), so both see the same load on a shared machine; each \
            side first runs once untimed; figures are medians of --runs runs. \
            The Python peer runs when /tmp/torch-venv/bin/python (or $DECOUPLE_TORCH_PYTHON) \
            exists. Build in release: swift build -c release.
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

    @Option(help: "Decoder of the Python peer: decord (as ModelScope), pyav, or ffmpeg (the CLI with MediaIO's swscale flags: the same frames as ours).")
    var decoder = "decord"

    @Option(help: "Clips per PyTorch forward call in the Python peer (default: all at once, as the pipeline does; 1 is faster in PyTorch 2.x here).")
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
            case allSeconds = "all_seconds", pythonSeconds = "python_seconds", pythonBreakdown = "python_breakdown"
            case pythonAllSeconds = "python_all_seconds", pairedRatio = "paired_ratio"
            case pythonDecoder = "python_decoder", pythonBatch = "python_batch", maxRelativeDifference = "max_relative_difference"
            case decodeSeconds = "decode_seconds", forwardSeconds = "forward_seconds"
            case decodeOnlySeconds = "decode_only_seconds", rgbSeconds = "decode_rgb_seconds"
        }
    }

    func validate() throws {
        guard clipsPerVideo >= 1, jobs >= 1, runs >= 1 else { throw ValidationError("--clips-per-video, --jobs and --runs must be at least 1.") }
        guard ["decord", "pyav", "ffmpeg"].contains(decoder) else { throw ValidationError("--decoder is decord, pyav or ffmpeg.") }
        if let pythonBatch, pythonBatch < 1 { throw ValidationError("--python-batch must be at least 1.") }
        do { _ = try BackboneConfig(modelID: model).applying(overrides: config) } catch { throw ValidationError("\(error)") }
    }

    func run() throws {
        let cfg = try BackboneConfig(modelID: model).applying(overrides: config)
        let paths = clips.isEmpty ? BenchAssets.defaultClips() : clips
        let python = noPython ? nil : PythonPeer.find()
        if !json {
            print(machineLine() + ", OpenBLAS \(BLAS.coreName) kernels")
            if python == nil && !noPython { print("Python peer not found (/tmp/torch-venv/bin/python or $DECOUPLE_TORCH_PYTHON, with scripts/modelscope_reference.py): ours only") }
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

    func measure(_ path: String, embedder: VideoEmbedder, cfg: BackboneConfig, python: PythonPeer?, weights: String) throws -> Row {
        let peer = try python.flatMap { try $0.start(cfg: cfg, weights: weights, clips: clipsPerVideo, decoder: decoder, batch: pythonBatch) }
        defer { peer?.stop() }
        var times: [Double] = [], pythonRuns: [PythonPeer.Result] = []
        var embedding: [Float] = []
        var info: VideoInfo?
        // Ours and Python's runs alternate, so both see the same load on a shared machine; run 0
        // of each is untimed (workspaces here, oneDNN set-up in PyTorch).
        for run in 0...runs {
            let start = Date()
            let source: VideoClipSource
            do { source = try VideoClipSource(path: path) } catch {
                Console.error(error.description)
                throw ExitCode(1)
            }
            let windows = ClipSampler.modelScope(frameCount: source.frameCount, clips: clipsPerVideo)
            embedding = VideoEmbedder.meanOverClips(try embedder.embed(windows, from: source))
            if run > 0 { times.append(Date().timeIntervalSince(start)) }
            info = source.info
            if let peer, let r = peer.run(path), run > 0 { pythonRuns.append(r) }
        }
        func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
        let ours = median(times)
        let (decode, forward, decodeOnly, rgb) = try stages(path, embedder: embedder)
        var row = Row(
            clip: path, frames: info!.frameCount, width: info!.width, height: info!.height, model: cfg.description,
            clips: clipsPerVideo, jobs: embedder.forwardWorkers, seconds: ours, allSeconds: times,
            decodeSeconds: decode, forwardSeconds: forward, decodeOnlySeconds: decodeOnly, rgbSeconds: rgb)
        if !pythonRuns.isEmpty {
            let total = median(pythonRuns.map(\.total))
            row.pythonSeconds = total
            row.pythonAllSeconds = pythonRuns.map(\.total)
            row.pythonBreakdown = ["decode", "preprocess", "forward", "total"].reduce(into: [:]) { out, key in
                out[key] = median(pythonRuns.map { $0.breakdown[key] ?? 0 })
            }
            row.pythonDecoder = decoder
            row.pythonBatch = pythonBatch ?? clipsPerVideo
            row.ratio = ours / total
            if pythonRuns.count == times.count {
                row.pairedRatio = median(zip(times, pythonRuns).map { $0 / $1.total })
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
    func stages(_ path: String, embedder: VideoEmbedder) throws -> (decode: Double, forward: Double, decodeOnly: Double, rgb: Double) {
        var decode: [Double] = [], forward: [Double] = [], decodeOnly: [Double] = [], rgb: [Double] = []
        func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
        for _ in 0..<runs {
            var start = Date()
            let source = try VideoClipSource(path: path)
            let windows = ClipSampler.modelScope(frameCount: source.frameCount, clips: clipsPerVideo)
            let needed = Set(windows.flatMap { $0.indices(frameCount: source.frameCount) }).sorted()
            let reader = try VideoReader(path: path, options: ReaderOptions(motionVectors: false))
            while let f = try reader.next(), f.info.index < needed.last! {}
            decodeOnly.append(Date().timeIntervalSince(start))
            start = Date()
            for i in Swift.stride(from: 0, to: needed.count, by: embedder.framesPerRead) {
                _ = try source.frames(at: Array(needed[i..<min(i + embedder.framesPerRead, needed.count)]))
            }
            rgb.append(Date().timeIntervalSince(start))
        }
        for _ in 0..<runs {
            let start = Date()
            let source = try VideoClipSource(path: path)
            let windows = ClipSampler.modelScope(frameCount: source.frameCount, clips: clipsPerVideo)
            let needed = Set(windows.flatMap { $0.indices(frameCount: source.frameCount) }).sorted()
            for i in Swift.stride(from: 0, to: needed.count, by: embedder.framesPerRead) {
                for image in try source.frames(at: Array(needed[i..<min(i + embedder.framesPerRead, needed.count)])) {
                    _ = embedder.preprocessing.resizeAndCrop(image)
                }
            }
            decode.append(Date().timeIntervalSince(start))
        }
        let crop = embedder.preprocessing.crop
        var rng = SeededRandom(seed: 1)
        let clips = Tensor.normal(shape: [clipsPerVideo, 3, 16, crop, crop], using: &rng)
        let workers = min(embedder.forwardWorkers, clipsPerVideo)
        for _ in 0..<runs {
            let start = Date()
            _ = embedder.model.forward(clips, threads: workers > 1 ? workers : ProcessInfo.processInfo.activeProcessorCount, parallelism: workers > 1 ? .acrossClips : .withinClip)
            forward.append(Date().timeIntervalSince(start))
        }
        return (median(decode), median(forward), median(decodeOnly), median(rgb))
    }

    func table(_ r: Row) -> String {
        func s(_ x: Double) -> String { String(format: "%.2f s", x) }
        var lines = [
            "\(r.clip): \(r.width)x\(r.height), \(r.frames) frames; \(r.clips) clips of 16 frames, \(r.model), random weights",
            "  decouple embed (\(r.jobs) forward\(r.jobs == 1 ? "" : "s") at once)   \(s(r.seconds))   (runs: \(r.allSeconds.map { String(format: "%.2f", $0) }.joined(separator: ", ")))",
            "    its stages alone: decode \(s(r.decodeOnlySeconds)), + RGB \(s(r.rgbSeconds)), + resize/crop \(s(r.decodeSeconds)) on one thread; \(r.clips) forwards \(s(r.forwardSeconds))",
        ]
        if let p = r.pythonSeconds, let ratio = r.ratio, let b = r.pythonBreakdown {
            lines.append("  ModelScope pipeline in Python     \(s(p))   (batch \(r.pythonBatch ?? r.clips); \(r.pythonDecoder ?? "") decode \(String(format: "%.2f", b["decode"] ?? 0)), preprocess \(String(format: "%.2f", b["preprocess"] ?? 0)), forward \(String(format: "%.2f", b["forward"] ?? 0)))")
            lines.append("  ModelScope pipeline, runs         \((r.pythonAllSeconds ?? []).map { String(format: "%.2f", $0) }.joined(separator: ", "))")
            lines.append("  ours / Python                     \(String(format: "%.2fx", ratio)) (medians)\(r.pairedRatio.map { String(format: ", %.2fx (median of back-to-back pairs)", $0) } ?? "")")
            if let d = r.maxRelativeDifference {
                lines.append("  embeddings: max |ours - Python| / max |Python| = \(String(format: "%.1e", d))")
            }
        }
        return lines.joined(separator: "\n")
    }
}

/// The Python reference pipeline (scripts/modelscope_reference.py in the torch venv).
struct PythonPeer {
    var python: String
    var script: String

    static func find() -> PythonPeer? {
        let python = ProcessInfo.processInfo.environment["DECOUPLE_TORCH_PYTHON"] ?? "/tmp/torch-venv/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else { return nil }
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let candidates = [
            FileManager.default.currentDirectoryPath + "/scripts/modelscope_reference.py",
            exe.appendingPathComponent("../../../scripts/modelscope_reference.py").standardizedFileURL.path,
        ]
        guard let script = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else { return nil }
        return PythonPeer(python: python, script: script)
    }

    struct Result {
        var total: Double
        var breakdown: [String: Double]
        var embedding: [Float]
    }

    /// Starts the reference in `--serve` mode (model loaded once; one run per request).
    func start(cfg: BackboneConfig, weights: String, clips: Int, decoder: String, batch: Int?) throws -> Session? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        let overrides = cfg.description.split(separator: " ").dropFirst().joined(separator: " ")
        p.arguments = [script, "--serve", "--model", cfg.modelID, "--config", overrides, "--weights", weights, "--clips", "\(clips)",
                       "--decoder", decoder, "--threads", "\(ProcessInfo.processInfo.activeProcessorCount)", "--batch", "\(batch ?? 0)"]
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch {
            Console.note("Python peer could not start: \(error)")
            return nil
        }
        return Session(process: p, input: input.fileHandleForWriting, output: output.fileHandleForReading)
    }

    /// A running reference process.
    final class Session {
        let process: Process
        let input: FileHandle
        let output: FileHandle
        private var buffer = Data()

        init(process: Process, input: FileHandle, output: FileHandle) {
            self.process = process
            self.input = input
            self.output = output
        }

        /// One timed run of the pipeline on `video`; nil (with a note) when the peer fails.
        func run(_ video: String) -> Result? {
            input.write(Data((video + "\n").utf8))
            while !buffer.contains(0x0A) {
                let chunk = output.availableData
                if chunk.isEmpty {
                    Console.note("Python peer stopped on \(video) (run it by hand: \(process.arguments?.joined(separator: " ") ?? ""))")
                    return nil
                }
                buffer.append(chunk)
            }
            let end = buffer.firstIndex(of: 0x0A)!
            let line = buffer[buffer.startIndex..<end]
            buffer = Data(buffer[(end + 1)...])
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                let seconds = object["seconds"] as? [String: Double], let total = seconds["total"],
                let embedding = object["embedding"] as? [Double]
            else { return nil }
            return Result(total: total, breakdown: seconds, embedding: embedding.map { Float($0) })
        }

        func stop() {
            try? input.close()
            process.waitUntilExit()
        }
    }
}
