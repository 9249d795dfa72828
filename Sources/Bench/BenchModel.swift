import ArgumentParser
import Common
import Foundation
import Index
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

            PyTorch: when \(PythonPeer.Environment.torch.helpText) exists, \
            scripts/bench_backbones_torch.py runs the same module on the same weights and input \
            in both layouts (contiguous, channels_last_3d) and its best is the peer figure; \
            the outputs are compared as a check that both ran the same model. Its runs and \
            ours alternate, each after a 30 ms pause (so that neither shares its cores with \
            the other's threads still spinning from the previous run). Make the venv \
            with: \(PythonPeer.Environment.torch.setup)

            OpenBLAS picks its kernels when the process starts; OPENBLAS_CORETYPE=Haswell in \
            the environment can be tried (docs/backbone.md §3 found it faster on Zen 4; runs here \
            alternating the two showed no difference out of the noise). \
            Build in release: swift build -c release.

            Start-up (first, when --models includes r2p1d-26 and --config is empty; alone with \
            --startup): decouple forward on the full R(2+1)D-26 weights (106 MB, written like \
            the others) and one clip, as separate processes timed from spawn to exit: on a \
            missing weights file (process start and exit), on an input of the wrong shape (it \
            exits right after loading the weights: start to backbone ready), and on the clip \
            (start to the first clip's output). Then, inside this process, its first load phase \
            by phase (map the file, check the keys, fold and pack each conv) with the first and \
            second forward passes, and the median of --runs - 1 more loads, each after the \
            previous model was freed. --compare another build of decouple to time it \
            alternating with this one. Medians of --runs. Measured on the 2-core AMD EPYC VM \
            (load 1.1, 15 runs): start and exit 48 ms; to backbone ready 114 ms (the build \
            before the in-place load: 231 ms); to the first output 283 ms (375 ms); first load \
            in process 41 ms (fold 39 ms), again after freeing a model 103 ms (transparent huge \
            pages help a fresh process and cost a reload: see Tensor/HugePages.swift).

            Example: decouple bench model --models r2p1d-26 --json
            Example: decouple bench model --startup --compare /tmp/decouple-old
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

    @Flag(help: "Only the start-up rows (decouple forward on the full R(2+1)D-26 weights).")
    var startup = false

    @Option(help: "Another decouple binary whose start-up is timed alternating with this one.")
    var compare: String?

    struct Row: Codable {
        var model: String
        var config: String
        var threads: Int
        var batch: Int
        var mode: String
        var msPerClip: Double
        var fastestMsPerClip: Double
        var peakMB: Double
        var torchMsPerClip: Double?
        var torchFastestMsPerClip: Double?
        var torchLayout: String?
        var torchMs: [String: Double]?
        var ratio: Double?
        var ratioFastest: Double?
        var loadAverage: Double

        enum CodingKeys: String, CodingKey {
            case model, config, threads, batch, mode
            case msPerClip = "ms_per_clip"
            case fastestMsPerClip = "fastest_ms_per_clip"
            case peakMB = "peak_mb"
            case torchMsPerClip = "torch_ms_per_clip"
            case torchFastestMsPerClip = "torch_fastest_ms_per_clip"
            case torchLayout = "torch_layout"
            case torchMs = "torch_ms"
            case ratio
            case ratioFastest = "ratio_fastest"
            case loadAverage = "load_average"
        }
    }

    func validate() throws {
        guard clips >= 1, runs >= 1 else { throw ValidationError("--clips and --runs must be at least 1") }
        guard !threadCounts.isEmpty, threadCounts.allSatisfy({ $0 >= 1 }) else {
            throw ValidationError("--threads takes positive integers, e.g. 1,2")
        }
        for m in models.split(separator: ",") {
            do { _ = try BackboneConfig(modelID: String(m)).applying(overrides: config) } catch {
                throw ValidationError("\(error)")
            }
        }
    }

    var threadCounts: [Int] { threads.split(separator: ",").compactMap { Int($0) } }

    func run() throws {
        var torch: PythonPeer?
        var skipped: String?
        if !noTorch {
            do { torch = try PythonPeer.find(.torch, script: "bench_backbones_torch.py") } catch {
                skipped = "\(error): no peer figures"
            }
        }
        if !json {
            print(Machine.description + ", " + Machine.blasKernels)
            if let skipped { print(skipped) }
        }
        let scratch = NSTemporaryDirectory() + "decouple-bench-model-\(getpid())"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        if startup || (config.isEmpty && models.split(separator: ",").contains("r2p1d-26")) {
            try benchStartup(scratch: scratch)
        }
        if startup { return }
        for id in models.split(separator: ",").map(String.init) {
            try bench(id, torch: torch, scratch: scratch)
        }
    }

    /// The pause before each timed run when the two alternate.
    static let settleMicroseconds: UInt32 = 30_000

    /// The PyTorch peer's layouts of the input, each timed.
    static let layouts = ["contiguous", "channels_last_3d"]

    func bench(_ id: String, torch: PythonPeer?, scratch: String) throws {
        let cfg = try BackboneConfig(modelID: id).applying(overrides: config)
        let (weightsPath, inputPath) = try writeInputs(id, cfg, clips: clips, scratch: scratch)
        let input = try NPYFile.readFloat32(inputPath)
        let model = try Backbone(config: cfg, weightsAt: weightsPath)
        let one = Tensor(shape: [1] + cfg.inputShape, data: Array(input.data.prefix(cfg.inputShape.reduce(1, *))))
        let gflop = 2 * Double(model.multiplyAccumulates(frames: cfg.frames, height: cfg.size, width: cfg.size)) / 1e9
        if !json {
            print(
                "\n\(cfg) on \(cfg.inputShape.map(String.init).joined(separator: "x")) clips: \(String(format: "%.2f", Double(model.parameterCount) / 1e6)) M parameters, \(String(format: "%.2f", gflop)) GFLOP per clip"
            )
            print(
                "  configuration                     ours ms/clip (fastest)  GFLOP/s  peak MB   PyTorch ms/clip (fastest) layout   ours/PyTorch (fastest)"
            )
        }
        if profile {
            for t in threadCounts { printProfile(model, cfg, threads: t) }
        }
        var peer: PythonPeer.Session?
        if let torch {
            do {
                peer = try torch.start([
                    "--serve", "--model", id, "--config", config, "--weights", weightsPath, "--input", inputPath,
                ])
            } catch {
                Console.error("\(error); no peer figures")
            }
        }
        defer { peer?.stop() }
        var parityNote: String?
        for t in threadCounts {
            for batch in [1, clips] {
                let x = batch == 1 ? one : input
                let mode: Backbone.Parallelism = (batch > 1 && t > 1) ? .acrossClips : .withinClip
                Machine.resetPeakMemory()
                _ = model.forward(x, threads: t, parallelism: mode)  // warm-up: workspaces
                let n = batch == 1 ? runs : max(2, runs / 2)
                var ours: [Double] = []
                var theirs: [String: [Double]] = [:]
                var last = Tensor(shape: [0])
                // Ours and PyTorch's runs alternate, so load from other processes falls on both.
                // Each run starts after a pause in which the other side's threads stop spinning
                // (libgomp's under PyTorch, WorkerPool's here: a few ms each), so neither run
                // shares its cores with the other's idle spinners.
                for _ in 0..<n {
                    if peer != nil { usleep(Self.settleMicroseconds) }
                    let start = DispatchTime.now().uptimeNanoseconds
                    last = model.forward(x, threads: t, parallelism: mode)
                    ours.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 / Double(batch))
                    for layout in Self.layouts where peer != nil {
                        usleep(Self.settleMicroseconds)
                        if let ms = (ask(peer, "\(t) \(batch) \(layout)")?["ms"] as? NSNumber)?.doubleValue {
                            theirs[layout, default: []].append(ms / Double(batch))
                        }
                    }
                }
                let peak = Machine.peakMemoryMB()
                model.releaseWorkspaces()
                var row = Row(
                    model: id, config: cfg.description, threads: t, batch: batch,
                    mode: mode == .acrossClips ? "clips across threads" : "within clip",
                    msPerClip: Stats.median(ours), fastestMsPerClip: ours.min()!, peakMB: peak,
                    loadAverage: Machine.loadAverage())
                if let best = theirs.filter({ $0.value.count == n }).min(by: {
                    Stats.median($0.value) < Stats.median($1.value)
                }) {
                    row.torchLayout = best.key
                    row.torchMsPerClip = Stats.median(best.value)
                    row.torchFastestMsPerClip = best.value.min()
                    row.torchMs = theirs.mapValues { Stats.median($0) }
                    row.ratio = row.msPerClip / Stats.median(best.value)
                    row.ratioFastest = row.fastestMsPerClip / theirs.values.map { $0.min()! }.min()!
                    let outputPath = scratch + "/\(id)_torch_out.npy"
                    if parityNote == nil, ask(peer, "output \(outputPath)") != nil,
                        let theirOutput = try? NPYFile.readFloat32(outputPath), theirOutput.shape == last.shape
                    {
                        parityNote = String(
                            format: "  check: ours vs PyTorch output, max |diff| / max |PyTorch| = %.1e",
                            last.relativeError(to: theirOutput))
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

    /// Asks the PyTorch peer; nil once it has failed (the first failure is reported).
    func ask(_ peer: PythonPeer.Session?, _ line: String) -> [String: Any]? {
        guard let peer, !peer.failed else { return nil }
        do { return try peer.ask(line) } catch {
            Console.error("\(error); no further peer figures")
            return nil
        }
    }

    func printProfile(_ model: Backbone, _ cfg: BackboneConfig, threads t: Int) {
        let rows = model.convProfile(frames: cfg.frames, height: cfg.size, width: cfg.size, threads: t, runs: runs)
        let total = rows.reduce(0) { $0 + $1.milliseconds }
        print("  convs on their own, \(t) thread\(t == 1 ? "" : "s"): \(String(format: "%.1f", total)) ms in total")
        for r in rows {
            print(
                "    " + r.name.padding(toLength: 24, withPad: " ", startingAt: 0)
                    + "\(r.lowering)".padding(toLength: 13, withPad: " ", startingAt: 0)
                    + String(
                        format: "M %5d  K %5d  N %6d  %8.2f ms  %6.1f GFLOP/s", r.m, r.k, r.n, r.milliseconds, r.gflops)
            )
        }
    }

    func tableLine(_ r: Row, gflop: Double) -> String {
        let label =
            "batch \(r.batch), \(r.threads) thread\(r.threads == 1 ? "" : "s")"
            + (r.batch > 1 && r.threads > 1 ? " (clip per core)" : "")
        var s = "  " + label.padding(toLength: 34, withPad: " ", startingAt: 0)
        s += String(
            format: "%7.1f (%6.1f)  %6.0f  %7.0f", r.msPerClip, r.fastestMsPerClip, gflop * 1000 / r.msPerClip, r.peakMB
        )
        if let t = r.torchMsPerClip, let f = r.torchFastestMsPerClip, let layout = r.torchLayout, let ratio = r.ratio,
            let rf = r.ratioFastest
        {
            s +=
                String(format: "   %7.1f (%6.1f) %@", t, f, layout == "contiguous" ? "contig " : "chlast ")
                + String(format: "  %5.2fx (%5.2fx)", ratio, rf)
        }
        return s + String(format: "   load %.1f", r.loadAverage)
    }
}
