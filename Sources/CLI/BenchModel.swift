import ArgumentParser
import Foundation
import Models
import SafeTensors
import Tensor

/// `decouple bench model`: backbone forward speed and memory next to PyTorch CPU on the same
/// weights and input, measured in the same run.
struct BenchModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Backbone latency (batch 1) and throughput (10 clips) at 1 and 2 threads, next to PyTorch.",
        discussion: """
            For each model: one clip at a time with 1 and 2 threads (latency), and a batch of \
            --clips clips (throughput; with 2 threads one clip per core, OpenBLAS 1 thread \
            each). Each figure is the median of --runs forward passes after a warm-up, in ms per \
            clip; peak MB is the process's peak resident memory during that configuration \
            (weights included). The weights are the reference random init with randomised \
            batch-norm parameters, written to a temporary safetensors file.

            PyTorch: when /tmp/torch-venv/bin/python (or $DECOUPLE_TORCH_PYTHON) exists, \
            scripts/bench_backbones_torch.py runs the same module on the same weights and input \
            in both layouts (contiguous, channels_last_3d) and its best is the peer figure; \
            the outputs are compared as a check that both ran the same model. Make the venv \
            with: python3 -m venv /tmp/torch-venv && /tmp/torch-venv/bin/pip install \
            'torch==2.13.0+cpu' safetensors numpy --extra-index-url \
            https://download.pytorch.org/whl/cpu

            OpenBLAS picks its kernels when the process starts; OPENBLAS_CORETYPE=Haswell in \
            the environment is measurably faster on Zen 4 (BACKBONE.md §3). \
            Build in release: swift build -c release.

            Example: decouple bench model --models r2p1d-26 --json
            """
    )

    @Option(help: "Comma-separated model ids.")
    var models = "r2p1d-26,r3d-26,c3d"

    @Option(help: "Configuration overrides for every model (narrow variants), e.g. \"planes=16,32,64,128 stem=16\".")
    var config = ""

    @Option(help: "Comma-separated thread counts.")
    var threads = "1,2"

    @Option(help: "Clips in the throughput batch.")
    var clips = 10

    @Option(help: "Timed runs per figure (median reported); the 10-clip batch uses half as many, at least 2.")
    var runs = 5

    @Flag(help: "Skip the PyTorch peer.")
    var noTorch = false

    @Flag(help: "Print one JSON object per configuration.")
    var json = false

    @Flag(help: "Also time every conv on its own at one clip (the rung below the whole model).")
    var profile = false

    struct Row: Codable {
        var model: String
        var config: String
        var threads: Int
        var batch: Int
        var mode: String
        var msPerClip: Double
        var peakMB: Double
        var torchMsPerClip: Double?
        var torchLayout: String?
        var torchMs: [String: Double]?
        var ratio: Double?

        enum CodingKeys: String, CodingKey {
            case model, config, threads, batch, mode
            case msPerClip = "ms_per_clip", peakMB = "peak_mb"
            case torchMsPerClip = "torch_ms_per_clip", torchLayout = "torch_layout", torchMs = "torch_ms", ratio
        }
    }

    func validate() throws {
        guard clips >= 1, runs >= 1 else { throw ValidationError("--clips and --runs must be at least 1") }
        guard !threadCounts.isEmpty, threadCounts.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--threads takes positive integers, e.g. 1,2") }
        for m in models.split(separator: ",") {
            do { _ = try BackboneConfig(modelID: String(m)).applying(overrides: config) } catch { throw ValidationError("\(error)") }
        }
    }

    var threadCounts: [Int] { threads.split(separator: ",").compactMap { Int($0) } }

    func run() throws {
        let torch = noTorch ? nil : TorchPeer.find()
        if !json {
            print(machineLine() + ", OpenBLAS \(BLAS.coreName) kernels" + (ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].map { " (OPENBLAS_CORETYPE=\($0))" } ?? ""))
            if torch == nil && !noTorch { print("PyTorch venv not found (/tmp/torch-venv or $DECOUPLE_TORCH_PYTHON): no peer figures; see --help to make one") }
        }
        let scratch = NSTemporaryDirectory() + "decouple-bench-model-\(getpid())"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        for id in models.split(separator: ",").map(String.init) {
            try bench(id, torch: torch, scratch: scratch)
        }
    }

    func bench(_ id: String, torch: TorchPeer?, scratch: String) throws {
        let cfg = try BackboneConfig(modelID: id).applying(overrides: config)
        var rng = SeededRandom(seed: 2021)
        var tensors = Backbone.randomStateDict(config: cfg, seed: 2021)
        // Batch norms that are not the identity, so the PyTorch output check means something.
        for key in CheckpointKeys.table(for: cfg) where key.role == .bnWeight || key.role == .bnBias {
            let n = key.shape[0]
            tensors[key.name] = FloatTensor(shape: key.shape, values: (0..<n).map { _ in key.role == .bnWeight ? 0.5 + rng.nextFloat() : 0.1 * rng.nextNormal() })
        }
        let weightsPath = scratch + "/\(id).safetensors", inputPath = scratch + "/\(id)_input.npy"
        try SafeTensorsWriter.write(tensors, to: weightsPath)
        let input = Tensor.normal(shape: [clips] + cfg.inputShape, using: &rng)
        try NPYFile.writeFloat32(input, to: inputPath)
        tensors = [:]
        let model = try Backbone(config: cfg, weightsAt: weightsPath)
        let one = Tensor(shape: [1] + cfg.inputShape, data: Array(input.data.prefix(cfg.inputShape.reduce(1, *))))
        let gflop = 2 * Double(model.multiplyAccumulates(frames: cfg.frames, height: cfg.size, width: cfg.size)) / 1e9
        if !json {
            print("\n\(cfg) on \(cfg.inputShape.map(String.init).joined(separator: "x")) clips: \(String(format: "%.2f", Double(model.parameterCount) / 1e6)) M parameters, \(String(format: "%.2f", gflop)) GFLOP per clip")
            print("  configuration                     ours ms/clip   GFLOP/s   peak MB   PyTorch ms/clip (layout)     ours/PyTorch")
        }
        if profile {
            for t in threadCounts { printProfile(model, cfg, threads: t) }
        }
        var parityNote: String?
        for t in threadCounts {
            for batch in [1, clips] {
                let x = batch == 1 ? one : input
                let mode: Backbone.Parallelism = (batch > 1 && t > 1) ? .acrossClips : .withinClip
                resetPeakMemory()
                _ = model.forward(x, threads: t, parallelism: mode)  // warm-up: workspaces
                let n = batch == 1 ? runs : max(2, runs / 2)
                var times: [Double] = []
                var last = Tensor(shape: [0])
                for _ in 0..<n {
                    let start = DispatchTime.now().uptimeNanoseconds
                    last = model.forward(x, threads: t, parallelism: mode)
                    times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 / Double(batch))
                }
                let peak = peakMemoryMB()
                model.releaseWorkspaces()
                times.sort()
                var row = Row(model: id, config: cfg.description, threads: t, batch: batch, mode: mode == .acrossClips ? "clips across threads" : "within clip", msPerClip: times[times.count / 2], peakMB: peak)
                if let torch {
                    let outPath = scratch + "/\(id)_torch_out.npy"
                    if let r = torch.run(model: id, config: config, weights: weightsPath, input: inputPath, threads: t, batch: batch, runs: n, output: outPath) {
                        row.torchMsPerClip = r.bestMsPerClip
                        row.torchLayout = r.bestLayout
                        row.torchMs = r.ms.mapValues { $0 / Double(batch) }
                        row.ratio = row.msPerClip / r.bestMsPerClip
                        if parityNote == nil, let theirs = try? NPYFile.readFloat32(outPath), theirs.shape == last.shape {
                            parityNote = String(format: "  check: ours vs PyTorch output, max |diff| / max |PyTorch| = %.1e", last.relativeError(to: theirs))
                        }
                    }
                }
                if json {
                    print(Console.json(row, pretty: false))
                } else {
                    print(tableLine(row, gflop: gflop))
                }
                fflush(nil)
            }
        }
        if let parityNote, !json { print(parityNote) }
    }

    func printProfile(_ model: Backbone, _ cfg: BackboneConfig, threads t: Int) {
        let rows = model.convProfile(frames: cfg.frames, height: cfg.size, width: cfg.size, threads: t, runs: runs)
        let total = rows.reduce(0) { $0 + $1.milliseconds }
        print("  convs on their own, \(t) thread\(t == 1 ? "" : "s"): \(String(format: "%.1f", total)) ms in total")
        for r in rows {
            print("    " + r.name.padding(toLength: 24, withPad: " ", startingAt: 0) + "\(r.lowering)".padding(toLength: 13, withPad: " ", startingAt: 0)
                + String(format: "M %5d  K %5d  N %6d  %8.2f ms  %6.1f GFLOP/s", r.m, r.k, r.n, r.milliseconds, r.gflops))
        }
    }

    func tableLine(_ r: Row, gflop: Double) -> String {
        let label = "batch \(r.batch), \(r.threads) thread\(r.threads == 1 ? "" : "s")" + (r.batch > 1 && r.threads > 1 ? " (clip per core)" : "")
        var s = "  " + label.padding(toLength: 34, withPad: " ", startingAt: 0)
        s += String(format: "%10.1f  %9.0f  %8.0f", r.msPerClip, gflop * 1000 / r.msPerClip, r.peakMB)
        if let t = r.torchMsPerClip, let layout = r.torchLayout, let ratio = r.ratio {
            s += String(format: "   %8.1f (%@)", t, layout).padding(toLength: 32, withPad: " ", startingAt: 0) + String(format: "%6.2fx", ratio)
        }
        return s
    }

    /// Resets the kernel's peak-RSS counter (VmHWM) for this process.
    func resetPeakMemory() {
        if let h = FileHandle(forWritingAtPath: "/proc/self/clear_refs") {
            h.write(Data("5".utf8))
            try? h.close()
        }
    }

    func peakMemoryMB() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        else { return .nan }
        let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? .nan
        return kb / 1024
    }
}

/// The PyTorch venv and scripts/bench_backbones_torch.py.
struct TorchPeer {
    var python: String
    var script: String

    struct Result: Decodable {
        var ms: [String: Double]
        var bestLayout: String
        var bestMsPerClip: Double
        enum CodingKeys: String, CodingKey {
            case ms
            case bestLayout = "best_layout", bestMsPerClip = "best_ms_per_clip"
        }
    }

    static func find() -> TorchPeer? {
        let python = ProcessInfo.processInfo.environment["DECOUPLE_TORCH_PYTHON"] ?? "/tmp/torch-venv/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else { return nil }
        // The script sits in the repository: next to the working directory, or found from
        // the executable's location (.build/release/decouple).
        let exe = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
        let candidates = [FileManager.default.currentDirectoryPath] + (0..<5).map { up in
            (0...up).reduce(exe) { u, _ in u.deletingLastPathComponent() }.path
        }
        for root in candidates {
            let script = root + "/scripts/bench_backbones_torch.py"
            if FileManager.default.fileExists(atPath: script) { return TorchPeer(python: python, script: script) }
        }
        return nil
    }

    func run(model: String, config: String, weights: String, input: String, threads: Int, batch: Int, runs: Int, output: String) -> Result? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [script, "--model", model, "--config", config, "--weights", weights, "--input", input,
                       "--threads", String(threads), "--batch", String(batch), "--runs", String(runs), "--output", output]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.standardError
        guard (try? p.run()) != nil else { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            Console.error("the PyTorch peer failed for \(model) (exit \(p.terminationStatus)); no peer figure")
            return nil
        }
        return try? JSONDecoder().decode(Result.self, from: data)
    }
}
