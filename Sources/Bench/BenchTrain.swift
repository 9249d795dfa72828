import ArgumentParser
import Common
import Foundation
import Models
import NN
import Tensor

/// `decouple bench train`: time per training step (forward + backward + SGD update) of a
/// backbone with a linear head and an InfoNCE loss, next to PyTorch CPU on the same
/// configuration in the same run.
struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Training step time and peak memory (batch 8, 1 and 2 threads), next to PyTorch.",
        discussion: """
            A step: zero the gradients, forward the backbone in training mode (batch-norm \
            statistics of the batch), a Linear head to 128, L2 normalisation, InfoNCE \
            (temperature 0.1) against fixed random keys, backward, SGD (momentum 0.9, \
            Nesterov, weight decay 1e-3). Each figure is the median of --runs steps after one \
            warm-up step; peak MB is the process's peak resident memory during that \
            configuration. Models: "narrow" is R(2+1)D-26 with planes 16/32/64/128 and stem 16, \
            "full" the published R(2+1)D-26; any other value is a model id with --config.

            PyTorch: when \(PythonPeer.Environment.torch.helpText) exists, \
            scripts/bench_train_torch.py times the same step (scripts/cmd_backbones.py's module) \
            with the same threads, batch and clip size. Build in release: swift build -c release.

            Example: decouple bench train --models narrow --threads 2 --json
            """
    )

    @Option(help: "Comma-separated models: narrow, full, or model ids (with --config).")
    var models = "narrow,full"

    @Option(help: "Configuration overrides for model ids other than narrow/full.")
    var config = ""

    @Option(help: "Comma-separated thread counts.")
    var threads = "1,2"

    @Option(help: "Clips per step.")
    var batch = 8

    @Option(help: "Frames per clip.")
    var frames = 16

    @Option(help: "Clip side in pixels.")
    var size = 112

    @Option(help: "Timed steps per figure (median reported).")
    var runs = 3

    @Flag(help: "Skip the PyTorch peer.")
    var noTorch = false

    @Flag(help: "Print one JSON object per configuration.")
    var json = false

    struct Row: Codable {
        var model: String
        var config: String
        var threads: Int
        var batch: Int
        var stepMs: Double
        var stepsMs: [Double]
        var peakMB: Double
        var torchStepMs: Double?
        var torchPeakMB: Double?
        var ratio: Double?

        enum CodingKeys: String, CodingKey {
            case model, config, threads, batch
            case stepMs = "step_ms"
            case stepsMs = "steps_ms"
            case peakMB = "peak_mb"
            case torchStepMs = "torch_step_ms"
            case torchPeakMB = "torch_peak_mb"
            case ratio
        }
    }

    func validate() throws {
        guard batch >= 2, runs >= 1, frames >= 1, size >= 16 else {
            throw ValidationError(
                "--batch must be at least 2 (batch statistics), --runs at least 1, --size at least 16")
        }
        guard !threadCounts.isEmpty, threadCounts.allSatisfy({ $0 >= 1 }) else {
            throw ValidationError("--threads takes positive integers, e.g. 1,2")
        }
        for m in models.split(separator: ",") { _ = try modelConfig(String(m)) }
    }

    var threadCounts: [Int] { threads.split(separator: ",").compactMap { Int($0) } }

    func modelConfig(_ name: String) throws -> (BackboneConfig, String) {
        var c: BackboneConfig
        var overrides = config
        switch name {
        case "narrow":
            c = .compactR2Plus1D
            overrides = "planes=16,32,64,128 stem=16"
        case "full":
            c = BackboneConfig(.r2plus1d)
            overrides = ""
        default:
            do { c = try BackboneConfig(modelID: name).applying(overrides: config) } catch {
                throw ValidationError("\(error)")
            }
        }
        c.frames = frames
        c.size = size
        return (c, overrides)
    }

    func run() throws {
        TrainingMemory.keepFreedMemory()
        var torch: PythonPeer?
        var skipped: String?
        if !noTorch {
            do { torch = try PythonPeer.find(.torch, script: "bench_train_torch.py") } catch {
                skipped = "\(error): no peer figures"
            }
        }
        if !json {
            print(Machine.description + ", " + Machine.blasKernels)
            if let skipped { print(skipped) }
            print(
                "batch \(batch) of 3x\(frames)x\(size)x\(size) clips; step = forward + backward + SGD update; median of \(runs) steps"
            )
            print(
                "  model                                   threads   ours ms/step   peak MB   PyTorch ms/step   peak MB   ours/PyTorch"
            )
        }
        for name in models.split(separator: ",").map(String.init) {
            let (cfg, overrides) = try modelConfig(name)
            for t in threadCounts {
                var row = try measure(cfg, threads: t)
                row.model = cfg.modelID
                if let torch, let r = peerStep(torch, model: cfg.modelID, config: overrides, threads: t) {
                    row.torchStepMs = r.stepMs
                    row.torchPeakMB = r.peakMB
                    row.ratio = row.stepMs / r.stepMs
                }
                if json {
                    print(Console.json(row, pretty: false))
                } else {
                    var line =
                        "  " + cfg.description.padding(toLength: 40, withPad: " ", startingAt: 0)
                        + String(format: "%7d   %12.0f   %7.0f", t, row.stepMs, row.peakMB)
                    if let ts = row.torchStepMs, let tp = row.torchPeakMB, let ratio = row.ratio {
                        line += String(format: "   %15.0f   %7.0f   %11.2fx", ts, tp, ratio)
                    }
                    print(line)
                }
                fflush(nil)
            }
        }
    }

    func measure(_ cfg: BackboneConfig, threads t: Int) throws -> Row {
        Machine.resetPeakMemory()
        let net = try TrainableBackbone(config: cfg, seed: 2021)
        var rng = SeededRandom(seed: 7)
        let d = net.outputChannels
        let bound = 1 / Float(d).squareRoot()
        let head = LinearLayer(
            name: "fc", weight: Tensor.uniform(shape: [128, d], low: -bound, high: bound, using: &rng),
            bias: Tensor(shape: [128]))
        let x = Tensor.normal(shape: [batch, 3, cfg.frames, cfg.size, cfg.size], using: &rng)
        let keys = L2Normalize.forward(Tensor.normal(shape: [batch, 128], using: &rng)).0
        let parameters = net.parameters + head.parameters
        let sgd = SGD(
            groups: [ParameterGroup(parameters: parameters, weightDecay: 1e-3)], learningRate: 0.01, momentum: 0.9,
            nesterov: true)
        func step() {
            sgd.zeroGrad()
            let out = net.forward(x, threads: t)
            let (z, hc) = head.forward(out.pooled, threads: t)
            let (q, nc) = L2Normalize.forward(z)
            let (_, lc) = InfoNCE.forward(queries: q, keys: keys, targets: Array(0..<batch), threads: t)
            let dq = InfoNCE.backward(cache: lc, threads: t).dq
            let dPooled = head.backward(L2Normalize.backward(dq, cache: nc), cache: hc, threads: t)
            net.backward(out.cache, gradients: ["pooled": dPooled], threads: t)
            sgd.step()
        }
        step()
        var times: [Double] = []
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            step()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        return Row(
            model: cfg.modelID, config: cfg.description, threads: t, batch: batch, stepMs: Stats.median(times),
            stepsMs: times, peakMB: Machine.peakMemoryMB())
    }

    /// What scripts/bench_train_torch.py prints: the median step and the peak memory.
    struct PeerStep: Decodable {
        var stepMs: Double
        var peakMB: Double
        enum CodingKeys: String, CodingKey {
            case stepMs = "step_ms"
            case peakMB = "peak_mb"
        }
    }

    /// The same steps in PyTorch; nil (and a message) when the peer fails.
    func peerStep(_ torch: PythonPeer, model: String, config: String, threads: Int) -> PeerStep? {
        let arguments = [
            "--model", model, "--config", config, "--threads", String(threads), "--batch", String(batch),
            "--frames", String(frames), "--size", String(size), "--runs", String(runs),
        ]
        do { return try torch.run(arguments, as: PeerStep.self) } catch {
            Console.error("\(error) (\(model)); no peer figure")
            return nil
        }
    }
}
