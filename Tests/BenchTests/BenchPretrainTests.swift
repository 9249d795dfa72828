import Foundation
import Pretrain
import TestSupport
import Testing

@testable import Bench

/// `decouple bench pretrain` through the binary on a tiny configuration (a couple of steps, a
/// random batch); no timed assertions.
@Suite("bench pretrain")
struct BenchPretrainTests {
    /// A CMD model small enough for a debug build: a few ms per step.
    static let tiny = [
        "bench", "pretrain", "--random-batch", "--batch", "2", "--size", "32", "--motion-size", "16", "--config",
        "planes=4,8,8,16 stem=4 frames=8", "--helper-widths", "4,4,4,8", "--warmup", "0",
    ]

    func report(_ extra: [String], environment: [String: String]? = nil) throws -> BenchPretrain.Report {
        let r = try run(Paths.decouple, Self.tiny + extra + ["--json"], environment: environment)
        #expect(r.status == 0, "\(r.stderr)")
        return try JSONDecoder().decode(BenchPretrain.Report.self, from: r.stdout)
    }

    @Test("runs and prints the table: ours ms/step, clips/s, share of the FMA peak, peak MB, first-step loss")
    func runsAsText() throws {
        let r = try run(Paths.decouple, Self.tiny + ["--runs", "1", "--no-torch"])
        #expect(r.status == 0, "\(r.stderr)")
        for text in [
            "machine:", "load average", "ms/step   clips/s   % of FMA peak   peak MB", "ours", "first-step loss",
        ] {
            #expect(r.text.contains(text), "\(r.text)")
        }
        #expect(!r.text.contains("PyTorch"), "--no-torch prints no peer row: \(r.text)")
    }

    @Test("--json is one object with the step, clips/s, FMA share, memory and losses")
    func json() throws {
        let r = try report(["--runs", "2", "--no-torch"])
        #expect(r.batch == 2 && r.motionClips == 8 && r.runs == 2 && r.ours.stepsMs.count == 2)
        #expect(r.ours.stepMs > 0 && r.ours.clipsPerSecond > 0 && r.ours.fmaPeakPercent > 0 && r.ours.peakMB > 0)
        #expect(abs(r.ours.clipsPerSecond - 2000 / r.ours.stepMs) < 1e-9)
        #expect(r.ours.firstLoss.total.isFinite && r.ours.firstLoss.motion > 0 && r.ours.firstLoss.context > 0)
        #expect(abs(r.ours.firstLoss.total - (0.05 * r.ours.firstLoss.context + r.ours.firstLoss.motion)) < 1e-9)
        #expect(r.gflopPerStep > 0 && r.batchSource == "random" && r.dataLoadingMs == nil)
        #expect(r.torch == nil && r.torchSkipped == nil && r.ratio == nil && r.profile == nil)
    }

    @Test("--data: the batch comes from the videos, its wall and CPU time reported")
    func dataLoading() throws {
        let videos = try TestVideos.pretrainSet()
        let fromVideos = Self.tiny.filter { $0 != "--random-batch" }
        let r = try run(
            Paths.decouple, fromVideos + ["--data"] + videos.prefix(2) + ["--runs", "1", "--no-torch", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let report = try JSONDecoder().decode(BenchPretrain.Report.self, from: r.stdout)
        #expect(report.batchSource == "2 examples from 2 videos")
        let wall = try #require(report.dataLoadingMs)
        let cpu = try #require(report.dataLoadingCPUMs)
        // The loader's thread decodes on itself: no more CPU than two threads could use meanwhile.
        #expect(wall > 0 && cpu > 0 && cpu <= 2 * wall + 5, "\(cpu) ms of CPU in \(wall) ms")
    }

    @Test("--profile: every network's forward and backward, losses, optimiser; the parts sum to the step")
    func profile() throws {
        let r = try report(["--runs", "1", "--profile", "--no-torch"])
        let parts = try #require(r.profile)
        let names = parts.map(\.part)
        #expect(names == StepPart.allCases.map(\.rawValue) + ["optimiser", "other"])
        #expect(parts.filter { $0.part != "other" }.allSatisfy { $0.ms > 0 }, "\(parts)")
        // With one run, the parts and the untimed rest are that step's: the rest is small.
        let timed = parts.filter { $0.part != "other" }.reduce(0) { $0 + $1.ms }
        #expect(timed <= r.ours.stepMs * 1.001 && timed >= 0.9 * r.ours.stepMs, "\(timed) of \(r.ours.stepMs) ms")
    }

    @Test("without the peer's Python: our side alone and one sentence saying how to get the peer")
    func noPeer() throws {
        let r = try run(
            Paths.decouple, Self.tiny + ["--runs", "1"],
            environment: ["DECOUPLE_TORCH_PYTHON": Paths.scratch + "/no-such-python"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(
            r.text.contains(
                "PyTorch peer skipped: \(Paths.scratch)/no-such-python not found (set $DECOUPLE_TORCH_PYTHON, or make it: python3 -m venv"
            ),
            "\(r.text)")
        let j = try report(["--runs", "1"], environment: ["DECOUPLE_TORCH_PYTHON": Paths.scratch + "/no-such-python"])
        #expect(j.torch == nil && j.torchSkipped?.contains("PyTorch peer skipped") == true)
    }

    @Test(
        "bad options are one sentence (usage: exit 64; videos that cannot be used: exit 1)",
        arguments: [
            (["--batch", "1"], Int32(64), "--batch must be at least 2"),
            (["--helper-widths", "4,4"], 64, "--helper-widths takes four positive numbers"),
            (["--size", "40"], 64, "--size and --motion-size must be multiples of 16"),
            (["--model", "c3d"], 64, "bench pretrain takes r2p1d-26 or r3d-26"),
            (["--config", "planes=4,8,8,8"], 64, "layer4 twice as wide as layer3"),
        ])
    func badOptions(_ extra: [String], status: Int32, message: String) throws {
        let r = try run(Paths.decouple, Self.tiny + extra + ["--no-torch"])
        #expect(r.status == status && r.stderr.contains(message), "\(r.status) \(r.stderr)")
        #expect(r.stderr.split(separator: "\n").first?.contains(message) == true, "\(r.stderr)")
    }

    @Test("--data naming a folder without videos is one sentence and exit 1")
    func noVideos() throws {
        let dir = Paths.temporaryDirectory("bench-pretrain-empty")
        var args = Self.tiny.filter { $0 != "--random-batch" }
        args += ["--data", dir, "--no-torch"]
        let r = try run(Paths.decouple, args)
        #expect(r.status == 1 && r.stderr.contains("'\(dir)' holds no video files."), "\(r.stderr)")
    }

    @Test("the FLOP count of the shipped recipe is scripts/cmd_flops.py's 54.98 GFLOP per step (within 1 %)")
    func flops() throws {
        var c = CMDConfig.compact
        c.contextWeight = 0.05
        let model = try CMDModel(config: c, seed: 1)
        let gflop = BenchPretrain.flops(model: model, batch: 16, motionClips: 64) / 1e9
        #expect(abs(gflop - 54.976) / 54.976 < 0.01, "\(gflop) GFLOP")
    }

    static var hasTorch: Bool {
        FileManager.default.isExecutableFile(
            atPath: ProcessInfo.processInfo.environment["DECOUPLE_TORCH_PYTHON"] ?? "/tmp/torch-venv/bin/python")
    }

    @Test(
        "with PyTorch present: the peer's first-step loss agrees with ours (same weights, same batch)",
        .enabled(if: BenchPretrainTests.hasTorch))
    func peer() throws {
        let r = try report(["--runs", "1"])
        let t = try #require(r.torch, "\(String(describing: r.torchSkipped))")
        #expect(t.stepMs > 0 && r.ratio != nil)
        let d = try #require(r.firstLossDifference)
        #expect(d < 1e-3 * r.ours.firstLoss.total, "ours \(r.ours.firstLoss), PyTorch \(t.firstLoss)")
    }
}
