import Common
import Foundation
import Models
import NN
import Tensor
import VideoData

/// Everything a pretraining run is set up with (saved as `RUN/config.json`; a resumed run
/// must match it).
public struct PretrainSetup: Codable, Sendable, Equatable {
    public var model: CMDConfig
    public var sampler = PretextSampler()
    public var transform = PretextTransform()
    public var batch = 16
    public var steps = 1000
    /// Peak learning rate per clip of batch (docs/method.md §6: 5e-4 x batch).
    public var learningRatePerClip = 0.0005
    public var warmupFraction = 0.05
    public var momentum = 0.9
    public var weightDecay = 0.001
    public var gradientClip = 15.0
    public var seed: UInt64 = 1
    public var checkpointEvery = 200
    public var keepCheckpoints = 3
    /// Video paths, in the order the data order indexes them.
    public var videos: [String] = []
    /// How the training frames were converted to RGB; nil in runs from before it was recorded,
    /// which all used `accurate`.
    public var rgb: RGBConversion?

    public init(model: CMDConfig) {
        self.model = model
        transform.size = model.size
        transform.motionSize = model.motionSize
        sampler.clipFrames = model.backbone.frames
        sampler.futureFrames = model.futureFrames
    }
}

/// One line of `RUN/log.jsonl`.
public struct TrainingRecord: Codable, Sendable {
    public var step: Int
    public var loss: Double
    public var lossContext: Double
    public var lossMotion: Double
    /// The move term; nil when the run has none.
    public var lossMove: Double?
    public var learningRate: Double
    public var gradNorm: Double
    public var milliseconds: Double
    /// Part of `milliseconds` spent waiting for the batch loader.
    public var waitMilliseconds: Double
    public var elapsedSeconds: Double

    enum CodingKeys: String, CodingKey {
        case step, loss, milliseconds
        case lossContext = "loss_context"
        case lossMotion = "loss_motion"
        case lossMove = "loss_move"
        case learningRate = "lr"
        case gradNorm = "grad_norm"
        case elapsedSeconds = "elapsed_s"
        case waitMilliseconds = "wait_ms"
    }
}

/// The training loop: one readable loop over steps (llm.c's shape), checkpoints written
/// atomically, exact resumption.
///
/// Layout of a run directory: `config.json`, `log.jsonl`, `checkpoints/step-NNNNNN.{safetensors,json}`
/// (the last `keepCheckpoints`), `best.{safetensors,json}` (lowest smoothed loss at a checkpoint).
public final class Trainer {
    public let directory: String
    public let setup: PretrainSetup
    public let model: CMDModel
    public let optimizer: SGD
    public let schedule: WarmupCosineSchedule
    public private(set) var step = 0
    public private(set) var records: [TrainingRecord] = []
    private var smoothed: Double?
    private var best = Double.infinity
    private var elapsedBefore = 0.0

    public struct TrainingError: SentenceError {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// A new run in `directory` (which must not hold one), or the latest checkpoint of the run
    /// there when `resume` is true.
    public init(directory: String, setup: PretrainSetup, resume: Bool) throws {
        self.directory = directory
        let fm = FileManager.default
        let configPath = directory + "/config.json"
        if resume {
            guard let data = fm.contents(atPath: configPath) else {
                throw TrainingError(description: "'\(directory)' has no config.json: there is no run to resume")
            }
            let saved = try JSONDecoder().decode(PretrainSetup.self, from: data)
            guard saved.model == setup.model, saved.sampler == setup.sampler, saved.transform == setup.transform,
                saved.batch == setup.batch, saved.seed == setup.seed, saved.videos == setup.videos,
                (saved.rgb ?? .accurate) == (setup.rgb ?? .accurate)
            else {
                throw TrainingError(
                    description:
                        "'\(directory)' was started with other settings or videos; resume with the same options")
            }
            self.setup = saved.merging(steps: setup.steps)
        } else {
            if fm.fileExists(atPath: configPath) {
                throw TrainingError(
                    description: "'\(directory)' already holds a run; resume it or choose another directory")
            }
            self.setup = setup
            // A configuration the model rejects must leave no run behind to block the next try.
            try CMDModel.validate(setup.model)
            try fm.createDirectory(atPath: directory + "/checkpoints", withIntermediateDirectories: true)
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try Self.atomicWrite(enc.encode(setup), to: configPath)
        }
        model = try CMDModel(config: self.setup.model, seed: self.setup.seed)
        model.training = true
        let groups = ParameterGroup.split(
            model.parameters, weightDecay: Float(self.setup.weightDecay), exemptNormAndBias: true)
        let peak = self.setup.learningRatePerClip * Double(self.setup.batch)
        optimizer = SGD(groups: groups, learningRate: Float(peak), momentum: Float(self.setup.momentum), nesterov: true)
        schedule = WarmupCosineSchedule(
            base: peak, warmupStart: peak / 100,
            warmupSteps: max(1, Int(Double(self.setup.steps) * self.setup.warmupFraction)),
            totalSteps: self.setup.steps, final: 0)
        if resume {
            if let latest = try Self.checkpoints(in: directory).last {
                try restore(from: latest)
            } else {
                // Killed before its first checkpoint: the run starts over, and so does its log.
                try rewriteLog()
            }
        }
    }

    // MARK: - The loop

    /// Trains until `setup.steps`, `deadline` or `shouldStop()`; writes checkpoints and the log.
    /// `report` sees every step's record (progress bars, tests).
    public func run(
        loader: BatchLoader, deadline: Date? = nil, threads: Int = 2, shouldStop: () -> Bool = { false },
        report: (TrainingRecord) -> Void = { _ in }
    ) throws {
        let start = Date()
        while step < setup.steps {
            if let deadline, Date() >= deadline { break }
            if shouldStop() { break }
            let t0 = Date()
            let batch = try loader.batch(step)
            let waited = Date().timeIntervalSince(t0) * 1000
            let lr = schedule.learningRate(at: step)
            optimizer.learningRate = Float(lr)
            model.zeroGrad()
            let losses = model.step(batch, threads: threads)
            guard losses.total.isFinite else {
                throw TrainingError(
                    description: "the loss became \(losses.total) at step \(step); lower the learning rate")
            }
            let norm = clipGradientNorm(model.parameters, maxNorm: Float(setup.gradientClip))
            optimizer.step()
            step += 1
            let record = TrainingRecord(
                step: step, loss: losses.total, lossContext: losses.context, lossMotion: losses.motion,
                lossMove: setup.model.hasMoveTerm ? losses.move : nil, learningRate: lr,
                gradNorm: Double(norm), milliseconds: Date().timeIntervalSince(t0) * 1000, waitMilliseconds: waited,
                elapsedSeconds: elapsedBefore + Date().timeIntervalSince(start))
            records.append(record)
            smoothed = smoothed.map { 0.95 * $0 + 0.05 * losses.total } ?? losses.total
            try appendLog(record)
            report(record)
            if step % setup.checkpointEvery == 0 || step == setup.steps { try checkpoint() }
        }
        if step % setup.checkpointEvery != 0 && step != setup.steps { try checkpoint() }
        elapsedBefore += Date().timeIntervalSince(start)
    }

    // MARK: - Checkpoints

    static func checkpoints(in directory: String) throws -> [String] {
        let dir = directory + "/checkpoints"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { $0.hasPrefix("step-") && $0.hasSuffix(".json") }.sorted().map {
            dir + "/" + $0.dropLast(5)
        }
    }

    /// Writes `checkpoints/step-NNNNNN`, drops old ones, and copies it to `best` when the
    /// smoothed loss is the lowest so far. `best` goes first: a run killed between the two
    /// writes resumes from the previous checkpoint and writes the same `best` again, while the
    /// other order would leave a checkpoint whose `best_loss` names a `best` never written.
    public func checkpoint() throws {
        var scalars: [String: Double] = [
            "step": Double(step), "smoothed_loss": smoothed ?? .nan, "best_loss": best,
            "elapsed_s": records.last?.elapsedSeconds ?? elapsedBefore,
        ]
        for (i, c) in model.predictor.dropoutCalls.enumerated() { scalars["dropout_calls.\(i)"] = Double(c) }
        for (k, v) in allBatchCounts { scalars["bn." + k] = v }
        let improved = smoothed.map { $0 < best } ?? false
        if improved, let s = smoothed {
            best = s
            scalars["best_loss"] = s
        }
        let ck = TrainingCheckpoint(
            parameters: model.parameters, buffers: model.buffers, optimizer: optimizer, scalars: scalars)
        if improved { try ck.write(to: directory + "/best") }
        try ck.write(to: String(format: "%@/checkpoints/step-%06d", directory, step))
        let all = try Self.checkpoints(in: directory)
        for old in all.dropLast(setup.keepCheckpoints) {
            // The marker first: a checkpoint without its .json is not listed.
            for ext in [".json", ".safetensors"] { unlink(old + ext) }
        }
    }

    func restore(from path: String) throws {
        let ck = try TrainingCheckpoint.read(from: path)
        let scalars = try ck.restore(parameters: model.parameters, buffers: model.buffers, optimizer: optimizer)
        step = Int(scalars["step"] ?? 0)
        smoothed = scalars["smoothed_loss"].flatMap { $0.isNaN ? nil : $0 }
        best = scalars["best_loss"] ?? .infinity
        elapsedBefore = scalars["elapsed_s"] ?? 0
        model.predictor.dropoutCalls = (0..<model.predictor.dropoutCalls.count).map {
            UInt64(scalars["dropout_calls.\($0)"] ?? 0)
        }
        allBatchCounts = Dictionary(
            uniqueKeysWithValues: scalars.filter { $0.key.hasPrefix("bn.") }.map {
                (String($0.key.dropFirst(3)), $0.value)
            })
        // The log keeps what was written up to this checkpoint only.
        records = readLog().filter { $0.step <= step }
        try rewriteLog()
    }

    var allBatchCounts: [String: Double] {
        get {
            model.backbone.batchCounts.merging(model.frameNet.batchCounts) { a, _ in a }.merging(
                model.motionNet.batchCounts
            ) { a, _ in a }
        }
        set {
            model.backbone.batchCounts = newValue
            model.frameNet.batchCounts = newValue
            model.motionNet.batchCounts = newValue
        }
    }

    // MARK: - Log

    func appendLog(_ r: TrainingRecord) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        var line = try enc.encode(r)
        line.append(10)
        let path = directory + "/log.jsonl"
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        guard let h = FileHandle(forWritingAtPath: path) else {
            throw TrainingError(description: "cannot write \(path)")
        }
        defer { try? h.close() }
        try h.seekToEnd()
        try h.write(contentsOf: line)
    }

    public func readLog() -> [TrainingRecord] {
        guard let text = try? String(contentsOfFile: directory + "/log.jsonl", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap {
            try? JSONDecoder().decode(TrainingRecord.self, from: Data($0.utf8))
        }
    }

    func rewriteLog() throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        var data = Data()
        for r in records {
            data.append(try enc.encode(r))
            data.append(10)
        }
        try Self.atomicWrite(data, to: directory + "/log.jsonl")
    }

    static func atomicWrite(_ data: Data, to path: String) throws {
        do { try AtomicFile.write(data, to: path) } catch let error as FileWriteError {
            throw TrainingError(description: error.description)
        }
    }
}

extension PretrainSetup {
    /// A resumed run may be given more steps than it started with.
    func merging(steps: Int) -> PretrainSetup {
        var s = self
        s.steps = steps
        return s
    }
}
