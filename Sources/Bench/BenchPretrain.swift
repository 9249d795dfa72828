import ArgumentParser
import Common
import Foundation
import MediaIO
import Models
import NN
import Pretrain
import SafeTensors
import Tensor
import VideoData

/// `decouple bench pretrain`: one CMD training step (the `Trainer`'s: every network forward and
/// backward, both losses, clipping, SGD) of a configuration, next to PyTorch running the same
/// model from the same weights on the same batch, alternating, in the same run.
struct BenchPretrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretrain",
        abstract: "CMD pretraining step time, clips/s, share of the FMA peak and peak memory, next to PyTorch.",
        discussion: """
            A step is the Trainer's: zero the gradients, the backbone, the I-frame network, the \
            motion-vector network (on the positive and the negative motion clips), the predictor \
            and the four heads forward, both InfoNCE losses, everything backward, gradient \
            clipping (15), SGD (Nesterov, momentum 0.9, weight decay 1e-3 on weights, the peak \
            learning rate --lr-per-clip x --batch). The default is the shipped recipe \
            (scripts/make_weights.sh): the compact R(2+1)D at 64x64, helper widths 16,32,64,128, \
            batch 16, context weight 0.05. Each figure is the median of --runs steps after \
            --warmup steps; ours and PyTorch's steps alternate. The share of the FMA peak divides \
            the step's FLOPs (convs, matrix products and attention, forward and backward, as \
            scripts/cmd_flops.py counts them) by --peak-gflops per thread times --threads.

            The batch: --batch examples built by the batch loader from the videos of --data \
            (default: the bundled assets/videos; the wall and CPU time of one batch are reported \
            as data loading, outside the step), or random tensors with --random-batch. Both sides get the \
            same batch and the same freshly initialised weights (seed --seed) through one \
            safetensors file; the first step of each runs with dropout off, so their losses can be \
            compared.

            PyTorch: when \(PythonPeer.Environment.torch.helpText) exists, \
            scripts/bench_pretrain_torch.py runs the same step with the same threads. \
            --profile times each network's forward and backward on our side. Build in release: \
            swift build -c release.

            Example: decouple bench pretrain --profile --json
            """
    )

    @Option(help: "Backbone model id (r2p1d-26, r3d-26).")
    var model = "r2p1d-26"

    @Option(help: "Backbone overrides.")
    var config = "planes=16,32,64,128 stem=16"

    @Option(help: "Input side.")
    var size = 64

    @Option(help: "Side of the motion-vector clips.")
    var motionSize = 32

    @Option(help: "Widths of the I-frame and motion-vector ResNet-10s.")
    var helperWidths = "16,32,64,128"

    @Option(help: "Clips per step.")
    var batch = 16

    @Option(help: "Weight of the context-matching loss.")
    var contextWeight = 0.05

    @Option(help: "Weight of the motion-prediction loss.")
    var motionWeight = 1.0

    @Option(help: "Learning rate per clip (times the batch).")
    var lrPerClip = 0.0013

    @Option(help: "Threads for the step (both sides).")
    var threads = 2

    @Option(help: "Timed steps per side (median reported).")
    var runs = 5

    @Option(help: "Untimed steps per side before the timed ones (after the first, dropout-off step).")
    var warmup = 1

    @Option(parsing: .upToNextOption, help: "Videos or folders for the batch (default: assets/videos).")
    var data: [String] = []

    @Flag(help: "A random batch instead of one from videos (no data loading).")
    var randomBatch = false

    @Option(help: "FMA peak per thread in GFLOP/s (docs/backbone.md §3: 114 on the reference host).")
    var peakGflops = Machine.fmaPeakGFLOPSPerCore

    @Option(help: "Seed of the weights (and of a random batch).")
    var seed: UInt64 = 1

    @Flag(help: "Time each network's forward and backward on our side.")
    var profile = false

    @Flag(help: "Skip the PyTorch peer.")
    var noTorch = false

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        guard batch >= 2 else { throw ValidationError("--batch must be at least 2 (the losses contrast clips).") }
        guard runs >= 1, warmup >= 0, threads >= 1 else {
            throw ValidationError("--runs and --threads must be positive and --warmup not negative.")
        }
        guard size >= 32, size % 16 == 0, motionSize >= 16, motionSize % 16 == 0 else {
            throw ValidationError("--size and --motion-size must be multiples of 16, at least 32 and 16.")
        }
        guard widths.count == 4, widths.allSatisfy({ $0 >= 1 }) else {
            throw ValidationError("--helper-widths takes four positive numbers, e.g. 16,32,64,128.")
        }
        guard contextWeight >= 0, motionWeight >= 0, contextWeight + motionWeight > 0 else {
            throw ValidationError("the loss weights must be non-negative and not both zero.")
        }
        guard peakGflops > 0, lrPerClip > 0 else {
            throw ValidationError("--peak-gflops and --lr-per-clip must be positive.")
        }
        _ = try cmdConfig()
    }

    var widths: [Int] { helperWidths.split(separator: ",").compactMap { Int($0) } }

    func cmdConfig() throws -> CMDConfig {
        // Before the overrides, which are the ResNets' and would fail on C3D with another sentence.
        guard (try? BackboneConfig(modelID: model))?.architecture != .c3d else {
            throw ValidationError(
                "bench pretrain takes r2p1d-26 or r3d-26 (the PyTorch peer builds the ResNets' clip map).")
        }
        let c: CMDConfig
        do {
            c = try CMDConfig.compact(
                model: model, overrides: config, size: size, motionSize: motionSize, helperWidths: widths,
                contextWeight: contextWeight, motionWeight: motionWeight)
        } catch {
            throw ValidationError("\(error)")
        }
        do { try CMDModel.validate(c) } catch { throw ValidationError("\(error)") }
        return c
    }

    // MARK: - Report

    struct Losses: Codable {
        var context: Double
        var motion: Double
        var total: Double
    }

    struct Side: Codable {
        var stepMs: Double
        var stepsMs: [Double]
        var clipsPerSecond: Double
        var fmaPeakPercent: Double
        var peakMB: Double
        var firstLoss: Losses
        enum CodingKeys: String, CodingKey {
            case stepMs = "step_ms"
            case stepsMs = "steps_ms"
            case clipsPerSecond = "clips_per_s"
            case fmaPeakPercent = "fma_peak_percent"
            case peakMB = "peak_mb"
            case firstLoss = "first_loss"
        }
    }

    struct Part: Codable {
        var part: String
        var ms: Double
    }

    struct Report: Codable {
        var machine: String
        var blas: String
        var loadBefore: Double
        var loadAfter: Double
        var config: String
        var batch: Int
        var motionClips: Int
        var threads: Int
        var runs: Int
        var warmup: Int
        var batchSource: String
        var gflopPerStep: Double
        var fmaPeakGFLOPS: Double
        var ours: Side
        var torch: Side?
        var torchVersion: String?
        var torchSkipped: String?
        var ratio: Double?
        var firstLossDifference: Double?
        /// The first-step losses in float64 (PyTorch, on a copy of the same model and batch).
        var firstLossFloat64: Losses?
        var dataLoadingMs: Double?
        /// CPU time of building one batch (the loader's thread and the decoders' together).
        var dataLoadingCPUMs: Double?
        /// Median ms per step of each part (with --profile), then "optimiser" and "other".
        var profile: [Part]?

        enum CodingKeys: String, CodingKey {
            case machine, blas, config, batch, threads, runs, warmup, ours, torch, ratio, profile
            case loadBefore = "load_before"
            case loadAfter = "load_after"
            case motionClips = "motion_clips"
            case batchSource = "batch_source"
            case gflopPerStep = "gflop_per_step"
            case fmaPeakGFLOPS = "fma_peak_gflops"
            case torchVersion = "torch_version"
            case torchSkipped = "torch_skipped"
            case firstLossDifference = "first_loss_difference"
            case firstLossFloat64 = "first_loss_float64"
            case dataLoadingMs = "data_loading_ms"
            case dataLoadingCPUMs = "data_loading_cpu_ms"
        }
    }

    // MARK: - Run

    func run() throws {
        TrainingMemory.keepFreedMemory()
        let loadBefore = Machine.loadAverage()
        let c = try cmdConfig()
        let model = try CMDModel(config: c, seed: seed)
        model.training = true
        let setup = PretrainSetup(model: c)
        let (cmdBatch, source, loading) = try makeBatch(c, setup: setup)
        let groups = ParameterGroup.split(model.parameters, weightDecay: 1e-3, exemptNormAndBias: true)
        let lr = lrPerClip * Double(batch)
        let sgd = SGD(groups: groups, learningRate: Float(lr), momentum: 0.9, nesterov: true)

        var torch: PythonPeer.Session?
        var skipped: String?
        var directory: String?
        if !noTorch {
            do {
                let peer = try PythonPeer.find(.torch, script: "bench_pretrain_torch.py")
                let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
                    "decouple-bench-pretrain-\(getpid())"
                ).path
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                directory = dir
                try writeState(model, batch: cmdBatch, config: c, lr: lr, to: dir + "/state.safetensors")
                torch = try peer.start(["--state", dir + "/state.safetensors", "--threads", String(threads)])
            } catch {
                skipped = "\(error)"
            }
        }
        defer {
            torch?.stop()
            if let directory { try? FileManager.default.removeItem(atPath: directory) }
        }

        Machine.resetPeakMemory()
        let stepProfile = StepProfile()
        func ours(profiled: Bool) -> (ms: Double, losses: CMDModel.Losses, optimiserMs: Double) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            model.zeroGrad()
            let t1 = DispatchTime.now().uptimeNanoseconds
            let losses = model.step(cmdBatch, threads: threads, profile: profiled ? stepProfile : nil)
            let t2 = DispatchTime.now().uptimeNanoseconds
            _ = clipGradientNorm(model.parameters, maxNorm: 15)
            sgd.step()
            let t3 = DispatchTime.now().uptimeNanoseconds
            return (Double(t3 - t0) / 1e6, losses, Double(t1 - t0 + t3 - t2) / 1e6)
        }
        func peer(_ request: String) -> [String: Any]? {
            guard let session = torch else { return nil }
            do {
                let answer = try session.ask(request)
                if let error = answer["error"] as? String { throw PythonPeer.Failure(description: error) }
                return answer
            } catch {
                if skipped == nil { skipped = "\(error): no peer figures" }
                torch = nil
                return nil
            }
        }

        // The first step from the same weights, dropout off on both sides.
        model.predictor.training = false
        let first = ours(profiled: false).losses
        model.predictor.training = true
        let peerFirst = peer("parity")
        for _ in 0..<warmup {
            _ = ours(profiled: false)
            _ = peer("step")
        }
        var ourTimes: [Double] = []
        var peerTimes: [Double] = []
        var parts: [String: [Double]] = [:]
        for _ in 0..<runs {
            stepProfile.reset()
            let r = ours(profiled: profile)
            ourTimes.append(r.ms)
            if profile {
                var sum = r.optimiserMs
                for p in StepPart.allCases {
                    let ms = stepProfile.milliseconds[p] ?? 0
                    parts[p.rawValue, default: []].append(ms)
                    sum += ms
                }
                parts["optimiser", default: []].append(r.optimiserMs)
                parts["other", default: []].append(r.ms - sum)
            }
            if let answer = peer("step"), let ms = answer["ms"] as? Double { peerTimes.append(ms) }
        }
        let ourPeak = Machine.peakMemoryMB()
        let stats = peer("stats")

        let gflop = Self.flops(model: model, batch: batch, motionClips: cmdBatch.motion.shape[0]) / 1e9
        let peak = peakGflops * Double(threads)
        func side(_ times: [Double], peakMB: Double, first: Losses) -> Side {
            let ms = Stats.median(times)
            return Side(
                stepMs: ms, stepsMs: times, clipsPerSecond: Double(batch) * 1000 / ms,
                fmaPeakPercent: 100 * gflop / (ms / 1000) / peak, peakMB: peakMB, firstLoss: first)
        }
        let ourSide = side(
            ourTimes, peakMB: ourPeak, first: Losses(context: first.context, motion: first.motion, total: first.total))
        var peerSide: Side?
        if let peerFirst, let stats, peerTimes.count == runs,
            let pc = peerFirst["context"] as? Double, let pm = peerFirst["motion"] as? Double,
            let pt = peerFirst["total"] as? Double, let peakMB = stats["peak_mb"] as? Double
        {
            peerSide = side(peerTimes, peakMB: peakMB, first: Losses(context: pc, motion: pm, total: pt))
        }
        var float64: Losses?
        if let f = peerFirst?["float64"] as? [String: Any], let c = f["context"] as? Double,
            let m = f["motion"] as? Double, let t = f["total"] as? Double
        {
            float64 = Losses(context: c, motion: m, total: t)
        }
        var profileRows: [Part]?
        if profile {
            profileRows = (StepPart.allCases.map(\.rawValue) + ["optimiser", "other"]).map {
                Part(part: $0, ms: Stats.median(parts[$0] ?? []))
            }
        }
        let report = Report(
            machine: Machine.description, blas: Machine.blasKernels, loadBefore: loadBefore,
            loadAfter: Machine.loadAverage(), config: c.backbone.description, batch: batch,
            motionClips: cmdBatch.motion.shape[0], threads: threads, runs: runs, warmup: warmup, batchSource: source,
            gflopPerStep: gflop, fmaPeakGFLOPS: peak, ours: ourSide, torch: peerSide,
            torchVersion: stats?["torch"] as? String, torchSkipped: peerSide == nil && !noTorch ? skipped : nil,
            ratio: peerSide.map { ourSide.stepMs / $0.stepMs },
            firstLossDifference: peerSide.map { abs(ourSide.firstLoss.total - $0.firstLoss.total) },
            firstLossFloat64: peerSide == nil ? nil : float64,
            dataLoadingMs: loading?.wallMs, dataLoadingCPUMs: loading?.cpuMs, profile: profileRows)
        if json {
            print(Console.json(report, pretty: false))
        } else {
            print(text(report, config: c))
        }
    }

    /// The batch of the benchmark: one the batch loader builds from videos (and the wall and
    /// CPU time a batch took), or a random one.
    func makeBatch(_ c: CMDConfig, setup: PretrainSetup) throws -> (
        CMDBatch, String, (wallMs: Double, cpuMs: Double)?
    ) {
        if randomBatch {
            var rng = SeededRandom(seed: seed &+ 100)
            let m = batch * (1 + setup.sampler.negatives)
            let b = CMDBatch(
                clips: Tensor.normal(shape: [batch, 3, c.backbone.frames, c.size, c.size], using: &rng),
                iFrames: Tensor.normal(shape: [batch, 3, 1, c.size, c.size], using: &rng),
                motion: Tensor.normal(shape: [m, 2, c.futureFrames, c.motionSize, c.motionSize], using: &rng))
            return (b, "random", nil)
        }
        var inputs = data
        if inputs.isEmpty {
            guard let assets = Resources.find("assets/videos") else {
                throw SentenceFailure(
                    "no --data given and the bundled assets/videos are not found; pass --data or --random-batch.")
            }
            inputs = [assets]
        }
        let found = VideoFiles.collect(inputs)
        if let missing = found.missing.first { throw SentenceFailure("'\(missing)' does not exist.") }
        guard !found.files.isEmpty else {
            throw SentenceFailure("'\(inputs.joined(separator: "', '"))' holds no video files.")
        }
        let cache = ShortGOP.defaultDirectory
        let (usable, skippedVideos) = TrainingData.usableVideos(
            found.files.map(\.path), sampler: setup.sampler, open: { try MotionVideoSource(path: $0) },
            reencode: { try ShortGOP.reencode($0, gop: 16, into: cache).path })
        guard !usable.isEmpty else {
            throw SentenceFailure(
                "none of the videos of '\(inputs.joined(separator: "', '"))' can make a training sample: \(skippedVideos.first ?? "")"
            )
        }
        // The loader stops after these batches, so that nothing of it runs beside the steps;
        // the main thread sleeps while it waits, so the process's CPU time is the loader's.
        let batches = 2
        let loader = BatchLoader(
            paths: usable, order: DataOrder(videos: usable.count, batch: batch, seed: seed), sampler: setup.sampler,
            transform: setup.transform, clipFrames: c.backbone.frames, startStep: 0, endStep: batches, depth: 1
        ) { try MotionVideoSource(path: $0, frameThreads: 1) }
        defer { loader.stop() }
        let cpuStart = Machine.cpuSeconds()
        var times: [Double] = []
        var last: CMDBatch?
        for step in 0..<batches {
            let start = DispatchTime.now().uptimeNanoseconds
            last = try loader.batch(step)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        let cpuMs = (Machine.cpuSeconds() - cpuStart) * 1000 / Double(batches)
        return (last!, "\(batch) examples from \(usable.count) videos", (Stats.median(times), cpuMs))
    }

    /// One sentence for the user, exit status 1.
    struct SentenceFailure: SentenceError {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// Writes the model's parameters and batch-norm statistics under their CMD names, the batch
    /// and the configuration (metadata `cmd`) for the peer.
    func writeState(_ model: CMDModel, batch b: CMDBatch, config c: CMDConfig, lr: Double, to path: String) throws {
        var tensors: [String: FloatTensor] = [:]
        for p in model.parameters { tensors[p.name] = FloatTensor(shape: p.value.shape, values: p.value.data) }
        for x in model.buffers { tensors[x.name] = FloatTensor(shape: x.value.shape, values: x.value.data) }
        tensors["batch.clips"] = FloatTensor(shape: b.clips.shape, values: b.clips.data)
        tensors["batch.iframes"] = FloatTensor(shape: b.iFrames.shape, values: b.iFrames.data)
        tensors["batch.motion"] = FloatTensor(shape: b.motion.shape, values: b.motion.data)
        let meta: [String: Any] = [
            "model": c.backbone.modelID, "widths": c.backbone.widths, "stem": c.backbone.stemChannels,
            "blocks": c.backbone.blocks, "frame_widths": c.frameWidths, "motion_widths": c.motionWidths,
            "predictor_dim": c.predictorDim, "heads": c.predictorHeads, "encoder_layers": c.encoderLayers,
            "decoder_layers": c.decoderLayers, "dropout": Double(c.dropout), "head_hidden": c.headHidden,
            "embedding": c.embedding, "fused_channels": c.fusedChannels, "source_tokens": model.sourceTokens,
            "target_tokens": model.targetTokens,
            "temperature": Double(c.temperature), "context_weight": c.contextWeight, "motion_weight": c.motionWeight,
            "lr": lr, "momentum": 0.9, "weight_decay": 1e-3, "gradient_clip": 15.0,
        ]
        let text = String(
            decoding: try JSONSerialization.data(withJSONObject: meta, options: [.sortedKeys]), as: UTF8.self)
        try SafeTensorsWriter.write(tensors, metadata: ["cmd": text], to: path)
    }

    /// FLOPs of one step, forward and backward, counted as scripts/cmd_flops.py's
    /// FlopCounterMode does: convs, matrix products and attention (2 per multiply-accumulate; a
    /// backward pass twice its forward, once for a network's first conv, whose input needs no
    /// gradient); batch norm, ReLU and pooling are not counted.
    static func flops(model: CMDModel, batch b: Int, motionClips m: Int) -> Double {
        let c = model.config
        func net(_ n: TrainableBackbone, _ size: Dim3, clips: Int) -> Double {
            let (total, first) = n.multiplyAccumulates(input: size)
            return 2 * Double(clips) * Double(3 * total - first)
        }
        var f = net(model.backbone, Dim3(c.backbone.frames, c.size, c.size), clips: b)
        let d = Double(c.predictorDim)
        let e = Double(c.embedding)
        let h = Double(c.headHidden)
        let s = Double(model.sourceTokens)
        let t = Double(model.targetTokens)
        let bb = Double(b)
        var macs = 0.0
        if c.motionWeight > 0 {
            f += net(model.motionNet, Dim3(c.futureFrames, c.motionSize, c.motionSize), clips: m)
            let ffn = d
            macs += bb * s * Double(c.fusedChannels) * d  // fc
            // Encoder layers: projections, attention (QK^T and AV), FFN.
            macs += Double(c.encoderLayers) * (bb * s * 4 * d * d + 2 * bb * s * s * d + 2 * bb * s * d * ffn)
            // Decoder layers: self-attention, cross-attention, FFN.
            macs +=
                Double(c.decoderLayers)
                * (bb * t * 4 * d * d + 2 * bb * t * t * d + 2 * bb * t * d * d + 2 * bb * s * d * d + 2 * bb * t * s
                    * d
                    + 2 * bb * t * d * ffn)
            macs += bb * t * (d * h + h * e)  // mq
            macs += Double(m) * t * (Double(c.motionWidths[3]) * h + h * e)  // mk
            macs += bb * t * Double(m) * t * e  // motion logits
        }
        if c.contextWeight > 0 {
            f += net(model.frameNet, Dim3(1, c.size, c.size), clips: b)
            macs += bb * (Double(c.fusedChannels) * h + h * e)  // iq
            macs += bb * (Double(c.frameWidths[3]) * h + h * e)  // ik
            macs += bb * bb * e  // context logits
        }
        return f + 6 * macs
    }

    func text(_ r: Report, config c: CMDConfig) -> String {
        var lines: [String] = []
        lines.append(
            r.machine + ", " + r.blas
                + String(format: "; load average %.2f before, %.2f after", r.loadBefore, r.loadAfter))
        lines.append(
            "CMD step of \(r.config), batch \(r.batch) (clips 3x\(c.backbone.frames)x\(c.size)x\(c.size), "
                + "\(r.motionClips) motion clips 2x\(c.futureFrames)x\(c.motionSize)x\(c.motionSize)), \(r.threads) threads: "
                + String(format: "%.1f GFLOP per step, FMA peak %.0f GFLOP/s", r.gflopPerStep, r.fmaPeakGFLOPS))
        var source = "batch: \(r.batchSource)"
        if let ms = r.dataLoadingMs {
            source += String(
                format: " (data loading %.0f ms per batch, %.0f ms of CPU, outside the step)", ms,
                r.dataLoadingCPUMs ?? .nan)
        }
        lines.append(source)
        if let s = r.torchSkipped { lines.append(s) }
        lines.append(
            "median of \(r.runs) steps after \(r.warmup) warm-up step(s)"
                + (r.torch != nil ? ", ours and PyTorch's (\(r.torchVersion ?? "?")) alternating" : ""))
        lines.append("             ms/step   clips/s   % of FMA peak   peak MB")
        func row(_ name: String, _ s: Side) -> String {
            name.padding(toLength: 10, withPad: " ", startingAt: 0)
                + String(format: "%10.0f %9.1f %15.1f %9.0f", s.stepMs, s.clipsPerSecond, s.fmaPeakPercent, s.peakMB)
        }
        lines.append("  " + row("ours", r.ours))
        if let t = r.torch {
            lines.append("  " + row("PyTorch", t))
            if let ratio = r.ratio { lines.append(String(format: "  ours/PyTorch %.2fx", ratio)) }
        }
        let o = r.ours.firstLoss
        var loss = String(
            format: "first-step loss (dropout off): ours %.6f (context %.6f, motion %.6f)", o.total, o.context, o.motion
        )
        if let t = r.torch?.firstLoss, let d = r.firstLossDifference {
            loss += String(
                format: ", PyTorch %.6f (context %.6f, motion %.6f); difference %.2g", t.total, t.context, t.motion, d)
        }
        lines.append(loss)
        if let f = r.firstLossFloat64, let t = r.torch?.firstLoss {
            lines.append(
                String(
                    format:
                        "  float64 reference (PyTorch, same weights and batch) %.6f: ours off by %.2g, PyTorch float32 by %.2g",
                    f.total, abs(o.total - f.total), abs(t.total - f.total)))
        }
        if let parts = r.profile {
            lines.append("profile of our step (median ms):")
            for p in parts {
                lines.append(
                    "  " + p.part.padding(toLength: 32, withPad: " ", startingAt: 0) + String(format: "%8.1f", p.ms))
            }
            lines.append(
                "  " + "step".padding(toLength: 32, withPad: " ", startingAt: 0)
                    + String(format: "%8.1f", r.ours.stepMs))
            if let ms = r.dataLoadingMs {
                lines.append(
                    "  " + "data loading (one batch)".padding(toLength: 32, withPad: " ", startingAt: 0)
                        + String(format: "%8.1f", ms))
            }
        }
        return lines.joined(separator: "\n")
    }
}
