import Common
import Foundation
import Index
import Models
import SafeTensors
import Tensor

/// `decouple bench model --startup`: how long `decouple forward` takes to get going on the full
/// R(2+1)D-26 weights (106 MB), from outside the process and phase by phase inside it.
extension BenchModel {
    /// The start-up figures, each a median over `runs` in milliseconds.
    struct StartupRow: Encodable {
        var model: String
        var weightsMB: Double
        var threads: Int
        /// `forward` on a missing weights file: process start, argument parsing, exit.
        var processStartMs: Double
        /// `forward` whose input has the wrong shape, so it exits right after loading the weights.
        var processReadyMs: Double
        /// `forward` on one clip, its output written.
        var processOutputMs: Double
        /// Inside this process, its first load: each phase (`Backbone.loadMilliseconds`), start
        /// of loading to backbone ready, the first forward pass (workspaces made) and the second.
        var loadMs: [String: Double]
        var readyMs: Double
        var firstForwardMs: Double
        var secondForwardMs: Double
        /// Inside this process, the median of the later loads (each after the previous model
        /// was freed); nil with --runs 1.
        var reloadMs: Double?
        /// The same three process figures for `--compare`'s binary, alternating with ours.
        var compareBinary: String?
        var compareStartMs: Double?
        var compareReadyMs: Double?
        var compareOutputMs: Double?
        var loadAverage: Double

        enum CodingKeys: String, CodingKey {
            case model, threads, mode
            case weightsMB = "weights_mb"
            case processStartMs = "process_start_ms"
            case processReadyMs = "process_ready_ms"
            case processOutputMs = "process_output_ms"
            case loadMs = "load_ms"
            case readyMs = "ready_ms"
            case firstForwardMs = "first_forward_ms"
            case secondForwardMs = "second_forward_ms"
            case reloadMs = "reload_ms"
            case compareBinary = "compare_binary"
            case compareStartMs = "compare_start_ms"
            case compareReadyMs = "compare_ready_ms"
            case compareOutputMs = "compare_output_ms"
            case loadAverage = "load_average"
        }

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(model, forKey: .model)
            try c.encode("startup", forKey: .mode)
            try c.encode(weightsMB, forKey: .weightsMB)
            try c.encode(threads, forKey: .threads)
            try c.encode(processStartMs, forKey: .processStartMs)
            try c.encode(processReadyMs, forKey: .processReadyMs)
            try c.encode(processOutputMs, forKey: .processOutputMs)
            try c.encode(loadMs, forKey: .loadMs)
            try c.encode(readyMs, forKey: .readyMs)
            try c.encode(firstForwardMs, forKey: .firstForwardMs)
            try c.encode(secondForwardMs, forKey: .secondForwardMs)
            try c.encodeIfPresent(reloadMs, forKey: .reloadMs)
            try c.encodeIfPresent(compareBinary, forKey: .compareBinary)
            try c.encodeIfPresent(compareStartMs, forKey: .compareStartMs)
            try c.encodeIfPresent(compareReadyMs, forKey: .compareReadyMs)
            try c.encodeIfPresent(compareOutputMs, forKey: .compareOutputMs)
            try c.encode(loadAverage, forKey: .loadAverage)
        }
    }

    /// The start-up section: the full R(2+1)D-26 weights (reference init with randomised batch
    /// norms, as for the speed rows) and one clip written to `scratch`, then `runs` rounds of
    /// the three `forward` processes (alternating with `--compare`'s binary) and of the
    /// in-process load and first two forward passes.
    func benchStartup(scratch: String) throws {
        let id = "r2p1d-26"
        let cfg = try BackboneConfig(modelID: id)
        let (weightsPath, inputPath) = try writeInputs(id, cfg, clips: 1, scratch: scratch)
        let wrongPath = scratch + "/wrong_shape.npy"
        try NPYFile.writeFloat32(Tensor(shape: [1, 1, 1, 1, 1]), to: wrongPath)
        let outPath = scratch + "/startup_out.npy"
        let weightsMB =
            Double((try? FileManager.default.attributesOfItem(atPath: weightsPath)[.size] as? Int) ?? 0) / 1e6
        let threads = threadCounts.max() ?? 2
        let ours = Resources.executablePath
        let binaries = [ours] + (compare.map { [$0] } ?? [])
        func arguments(weights: String, input: String) -> [String] {
            [
                "forward", "--model", id, "--weights", weights, "--input", input, "-o", outPath, "--threads",
                "\(threads)",
            ]
        }
        var start = [[Double]](repeating: [], count: binaries.count)
        var ready = start
        var output = start
        let x = try NPYFile.readFloat32(inputPath)
        // Warm-up: the page cache holds the binaries and the weights file for every run.
        for b in binaries { _ = Self.timeProcess(b, arguments(weights: weightsPath, input: inputPath)) }
        // Each process must end the way its row says (1: refused the file or the input, 0: done).
        func timed(_ b: String, _ args: [String], exit expected: Int32) throws -> Double {
            let (ms, status) = Self.timeProcess(b, args)
            guard status == expected else {
                throw FileError(
                    path: b,
                    problem:
                        "exited with \(status) instead of \(expected) on: forward \(args.dropFirst().joined(separator: " "))"
                )
            }
            return ms
        }
        for _ in 0..<runs {
            for (i, b) in binaries.enumerated() {
                start[i].append(
                    try timed(b, arguments(weights: scratch + "/missing.safetensors", input: inputPath), exit: 1))
                ready[i].append(try timed(b, arguments(weights: weightsPath, input: wrongPath), exit: 1))
                output[i].append(try timed(b, arguments(weights: weightsPath, input: inputPath), exit: 0))
            }
        }
        // Then the same loading inside this process, after all the processes: the first load
        // (fresh memory, as in a new process) phase by phase with its first two forward passes,
        // then --runs - 1 more loads, each after the previous model was freed.
        var reloads: [Double] = []
        var loads: [String: Double] = [:]
        var readyIn = Double.nan
        var first = Double.nan
        var second = Double.nan
        for run in 0..<runs {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let model = try Backbone(config: cfg, weightsAt: weightsPath)
            let t1 = DispatchTime.now().uptimeNanoseconds
            guard run == 0 else {
                reloads.append(Double(t1 - t0) / 1e6)
                continue
            }
            _ = model.forward(x, threads: threads)
            let t2 = DispatchTime.now().uptimeNanoseconds
            _ = model.forward(x, threads: threads)
            let t3 = DispatchTime.now().uptimeNanoseconds
            loads = Dictionary(
                model.loadMilliseconds.map { ($0.phase, $0.milliseconds) }, uniquingKeysWith: { a, _ in a })
            (readyIn, first, second) = (Double(t1 - t0) / 1e6, Double(t2 - t1) / 1e6, Double(t3 - t2) / 1e6)
        }
        var row = StartupRow(
            model: id, weightsMB: weightsMB, threads: threads, processStartMs: Stats.median(start[0]),
            processReadyMs: Stats.median(ready[0]),
            processOutputMs: Stats.median(output[0]), loadMs: loads, readyMs: readyIn,
            firstForwardMs: first, secondForwardMs: second, reloadMs: reloads.isEmpty ? nil : Stats.median(reloads),
            loadAverage: Machine.loadAverage())
        if binaries.count > 1 {
            row.compareBinary = binaries[1]
            row.compareStartMs = Stats.median(start[1])
            row.compareReadyMs = Stats.median(ready[1])
            row.compareOutputMs = Stats.median(output[1])
        }
        if json {
            print(Console.json(row, pretty: false))
            return
        }
        let phases = ["open", "check", "fold"].compactMap { p in row.loadMs[p].map { String(format: "%@ %.1f", p, $0) }
        }.joined(separator: " + ")
        print(
            "\nstart-up of decouple forward, \(id) weights of \(String(format: "%.0f", weightsMB)) MB (in the page cache), one clip, \(threads) threads; ms, medians of \(runs) except the first load's"
        )
        let header =
            "  phase" + String(repeating: " ", count: 58) + "this binary" + (binaries.count > 1 ? "  --compare" : "")
        print(header)
        func line(_ label: String, _ a: Double, _ b: Double?) {
            print(
                "  " + label.padding(toLength: 62, withPad: " ", startingAt: 0) + String(format: "%9.1f", a)
                    + (b.map { String(format: "  %9.1f", $0) } ?? ""))
        }
        line("process: start and exit (forward on a missing weights file)", row.processStartMs, row.compareStartMs)
        line("process: to backbone ready (exits on a wrong-shape input)", row.processReadyMs, row.compareReadyMs)
        line("process: to the first clip's output written", row.processOutputMs, row.compareOutputMs)
        line("in process, first load: \(phases)", row.readyMs, nil)
        line("in process: first forward pass (workspaces made)", row.firstForwardMs, nil)
        line("in process: second forward pass", row.secondForwardMs, nil)
        if let r = row.reloadMs { line("in process: loading again after freeing the model", r, nil) }
        if let c = row.compareBinary { print("  --compare: \(c)") }
        print(String(format: "  load %.1f", row.loadAverage))
    }

    /// The weights (reference init, batch norms randomised so that they are not the identity)
    /// and `clips` clips of normal noise, written to `scratch`: the inputs of every row.
    func writeInputs(_ id: String, _ cfg: BackboneConfig, clips: Int, scratch: String) throws -> (
        weights: String, input: String
    ) {
        var rng = SeededRandom(seed: 2021)
        var tensors = Backbone.randomStateDict(config: cfg, seed: 2021)
        // Batch norms that are not the identity, so the PyTorch output check means something.
        for key in CheckpointKeys.table(for: cfg) where key.role == .bnWeight || key.role == .bnBias {
            let n = key.shape[0]
            tensors[key.name] = FloatTensor(
                shape: key.shape,
                values: (0..<n).map { _ in key.role == .bnWeight ? 0.5 + rng.nextFloat() : 0.1 * rng.nextNormal() })
        }
        let weightsPath = scratch + "/\(id).safetensors"
        let inputPath = scratch + "/\(id)_input.npy"
        try SafeTensorsWriter.write(tensors, to: weightsPath)
        try NPYFile.writeFloat32(Tensor.normal(shape: [clips] + cfg.inputShape, using: &rng), to: inputPath)
        return (weightsPath, inputPath)
    }

    /// Milliseconds from spawning `binary arguments` (stdout and stderr to /dev/null) to its
    /// exit, on the monotonic clock, and its exit status (-1 when it did not start or was
    /// killed). posix_spawn and waitpid, so that nothing of Foundation's `Process` (its
    /// run-loop polling) adds to the figure.
    static func timeProcess(_ binary: String, _ arguments: [String]) -> (milliseconds: Double, status: Int32) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = ([binary] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let start = DispatchTime.now().uptimeNanoseconds
        guard posix_spawn(&pid, binary, &actions, nil, argv, environ) == 0 else { return (.nan, -1) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        // WIFEXITED / WEXITSTATUS, which Swift does not import.
        return (ms, status & 0x7f == 0 ? (status >> 8) & 0xff : -1)
    }
}
