import ArgumentParser
import Common
import Embed
import Foundation
import Index
import MediaIO
import Models
import NN
import Pretrain
import VideoData

struct PretrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretrain",
        abstract:
            "CMD self-supervised pretraining: context matching with I-frames, prediction of future motion vectors.",
        discussion: """
            Each sample: an RGB clip, an I-frame near it, the motion vectors of the frames just \
            after it (the positive) and of other times of the same video (negatives), read from the \
            compressed stream. SGD with Nesterov momentum, learning rate per clip times the batch, \
            linear warm-up then cosine, gradient clipping. Checkpoints go to RUN/checkpoints (the last \
            --keep and RUN/best), the log to RUN/log.jsonl, the loss curve to RUN/loss.png. --resume \
            continues from the latest checkpoint exactly (same batches, same dropout, same optimiser \
            state). decouple export RUN writes the backbone for embed and explore.

            Example: decouple pretrain --data synth-train -o runs/cmd --steps 3000 --max-minutes 100
            """
    )

    @Option(parsing: .upToNextOption, help: "Videos or directories of videos.")
    var data: [String]

    @Option(name: .shortAndLong, help: "Run directory.")
    var output: String

    @Flag(help: "Continue the run in the output directory from its latest checkpoint.")
    var resume = false

    @Option(help: "Backbone model id.")
    var model = "r2p1d-26"

    @Option(
        help:
            "Backbone overrides (default: the compact \"planes=16,32,64,128 stem=16\" for the ResNets, \"channels=16,32,64,128,128\" for c3d)."
    )
    var config: String?

    @Option(help: "Input side (frames are resized and cropped to it).")
    var size = 64

    @Option(help: "Side of the motion-vector clips.")
    var motionSize = 32

    @Option(help: "Widths of the I-frame and motion-vector ResNet-10s.")
    var helperWidths = "16,32,64,128"

    @Option(help: "Predictor width.")
    var predictorDim = 128

    @Option(help: "Projection head output size.")
    var embedding = 128

    @Option(help: "Clips per batch.")
    var batch = 16

    @Option(help: "Training steps.")
    var steps = 1000

    @Option(help: "Peak learning rate per clip (times the batch).")
    var lrPerClip = 0.0005

    @Option(help: "Stop after this many minutes (a checkpoint is written).")
    var maxMinutes: Double?

    @Option(help: "Weight of the context-matching loss (the paper: 1).")
    var contextWeight = 1.0

    @Option(help: "Weight of the motion-prediction loss (the paper: 1).")
    var motionWeight = 1.0

    @Flag(help: "Ablation: context matching only.")
    var contextOnly = false

    @Flag(help: "Ablation: motion prediction only.")
    var motionOnly = false

    @Option(
        help: """
            Share of clips whose crop slides like a camera pan or tilt over the clip and its future \
            motion (each negative draws its own), the motion vectors shifted to match; 0 turns it \
            off (docs/training.md#camera-moves-made-in-the-loader).
            """)
    var cameraMoves = 0.0

    @Flag(
        help: """
            Turn half the clips upside down with their future motion (each negative on its own \
            draw), so the networks read up and down alike (docs/training.md#vertical-flips).
            """)
    var verticalFlips = false

    @Option(
        help: """
            Weight of the move term: the batch's clips come in pairs from different videos given \
            the same camera move (still or one of eight directions, one per pair), their negatives \
            other moves, and the motion network's pooled features must find the clips of their \
            own move whatever the footage; 0 turns it off (docs/training.md#move-pairs).
            """)
    var movePairs = 0.0

    @Flag(
        help: """
            Put the move term on a projection head of its own over the motion network's pooled \
            features (needs --move-pairs; docs/training.md#move-pairs).
            """)
    var moveHead = false

    @Flag(
        help: """
            Train the move term's head on a motion-vector network of its own, so that neither the \
            CMD motion network nor the backbone gets the term's gradient (needs --move-head; \
            docs/training.md#move-pairs).
            """)
    var moveNet = false

    @Flag(
        help: """
            Train only the move term's own motion-vector network and head (--move-net without \
            the CMD losses; needs --move-head), to go beside another run's CMD networks: \
            `export RUN --add-to WEIGHTS` (docs/training.md#move-pairs).
            """)
    var moveOnly = false

    @Flag(
        help: """
            Add zooms in and out to the move pairs' moves (eleven instead of nine; needs \
            --move-pairs; docs/training.md#move-pairs).
            """)
    var moveZooms = false

    @Option(help: "Seed (initialisation, data order, augmentation).")
    var seed: UInt64 = 1

    @Option(help: "Steps between checkpoints.")
    var checkpointEvery = 200

    @Option(help: "Checkpoints kept (besides best).")
    var keep = 3

    @Option(help: "Threads for the training step (the batch loader uses one more).")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    @Flag(
        help: """
            Train on videos as they are, even when their I-frames are too far apart for an I-frame \
            near every clip (those samples are skipped and counted). By default such a video is \
            replaced by a copy re-encoded with an I-frame every 16 frames, cached under \
            ~/.cache/decouple/short-gop.
            """)
    var noReencode = false

    @Option(
        help: """
            Train on copies at most this many lines high of taller videos (re-encoded like the \
            short-GOP copies and cached with them): decoding 720p footage for every sample is \
            what makes the batch loader wait on real videos. 0 keeps every video's size.
            """)
    var maxHeight = 0

    /// `--max-height`, nil when 0.
    var heightLimit: Int? { maxHeight > 0 ? maxHeight : nil }

    func validate() throws {
        guard !(contextOnly && motionOnly) else {
            throw ValidationError("--context-only and --motion-only exclude each other.")
        }
        guard contextWeight >= 0, motionWeight >= 0, contextWeight + motionWeight > 0 else {
            throw ValidationError("loss weights must be non-negative, not both zero.")
        }
        guard (0...1).contains(cameraMoves) else {
            throw ValidationError("--camera-moves is a share of clips, from 0 to 1 (got \(cameraMoves)).")
        }
        guard maxHeight >= 0, maxHeight == 0 || !noReencode else {
            throw ValidationError("--max-height needs re-encoded copies; it cannot go with --no-reencode.")
        }
        guard movePairs >= 0, movePairs == 0 || (batch >= 4 && batch % 2 == 0) else {
            throw ValidationError("--move-pairs takes a weight of 0 or more and an even --batch of at least 4.")
        }
        guard !(moveHead || moveZooms) || movePairs > 0 else {
            throw ValidationError("--move-head and --move-zooms need --move-pairs with a weight above 0.")
        }
        guard !moveOnly || (moveHead && !contextOnly && !motionOnly) else {
            throw ValidationError(
                "--move-only needs --move-head and goes with neither --context-only nor --motion-only.")
        }
        guard !moveNet || moveHead else {
            throw ValidationError("--move-net needs --move-head: the motion view reads that network through the head.")
        }
        guard batch >= 2 else {
            throw ValidationError("--batch must be at least 2 (the losses contrast clips of a batch).")
        }
        guard steps >= 1, size >= 32, size % 16 == 0 else {
            throw ValidationError("--steps must be positive and --size a multiple of 16, at least 32.")
        }
        guard helperWidths.split(separator: ",").compactMap({ Int($0) }).count == 4 else {
            throw ValidationError("--helper-widths takes four numbers.")
        }
    }

    func run() throws {
        var cmd: CMDConfig
        do {
            cmd = try CMDConfig.compact(
                model: model, overrides: config, size: size, motionSize: motionSize,
                helperWidths: helperWidths.split(separator: ",").compactMap { Int($0) }, contextWeight: contextWeight,
                motionWeight: motionWeight)
        } catch {
            throw ValidationError("\(error)")
        }
        cmd.predictorDim = predictorDim
        cmd.embedding = embedding
        if contextOnly { cmd.motionWeight = 0 }
        if motionOnly { cmd.contextWeight = 0 }
        var setup = PretrainSetup(model: cmd)
        setup.batch = batch
        setup.steps = steps
        setup.learningRatePerClip = lrPerClip
        setup.seed = seed
        if cameraMoves > 0 { setup.transform.cameraMoves = cameraMoves }
        if verticalFlips { setup.transform.verticalFlips = true }
        if movePairs > 0 {
            setup.model.moveWeight = movePairs
            if moveHead { setup.model.moveHead = true }
            if moveNet || moveOnly { setup.model.moveNet = true }
            if moveOnly {
                setup.model.contextWeight = 0
                setup.model.motionWeight = 0
                setup.transform.motionOnly = true
            }
            setup.transform.movePairs = true
            if moveZooms { setup.transform.moveZooms = true }
        }
        setup.checkpointEvery = checkpointEvery
        setup.keepCheckpoints = keep
        setup.videos = try usableVideos(sampler: setup.sampler)
        // The conversion the shipped weights were trained with; recorded in the run and its card.
        setup.rgb = .accurate
        let trainer: Trainer
        do { trainer = try Trainer(directory: output, setup: setup, resume: resume) } catch {
            Console.error("\(error)")
            throw ExitCode(1)
        }
        let order = DataOrder(videos: setup.videos.count, batch: batch, seed: seed)
        let loader = BatchLoader(
            paths: setup.videos, order: order, sampler: trainer.setup.sampler, transform: trainer.setup.transform,
            clipFrames: cmd.backbone.frames, startStep: trainer.step, endStep: trainer.setup.steps
        ) { [rgb = trainer.setup.rgb ?? .accurate] in try MotionVideoSource(path: $0, rgb: rgb, frameThreads: 1) }
        defer { loader.stop() }
        let interrupted = InterruptFlag()
        interrupted.install()
        TrainingMemory.keepFreedMemory()
        let deadline = maxMinutes.map { Date().addingTimeInterval($0 * 60) }
        let counted =
            trainer.setup.model.moveOnly
            ? "the move network and head only" : "backbone \(trainer.model.backbone.parameterCount)"
        Console.note(
            "pretrain: \(setup.videos.count) videos, \(trainer.model.parameterCount) parameters (\(counted)), batch \(batch), from step \(trainer.step) to \(trainer.setup.steps)"
        )
        let start = Date()
        let firstStep = trainer.step
        var skipped = SkippedSamples()
        do {
            try trainer.run(loader: loader, deadline: deadline, threads: threads, shouldStop: { interrupted.isSet }) {
                r in
                for p in loader.takeProblems() where skipped.add(p) {
                    Console.note(
                        "warning: skipped a sample of \(p) (further skips of this video are counted at the end)")
                }
                let done = r.step - firstStep
                let total = trainer.setup.steps - firstStep
                let rate = Double(done * batch) / Date().timeIntervalSince(start)
                Console.status(
                    progressLine(
                        label: "pretrain", done: r.step, total: trainer.setup.steps,
                        elapsed: Date().timeIntervalSince(start) * Double(r.step) / Double(max(1, done)), unit: "steps")
                        + String(format: "  ctx %.3f  mot %.3f", r.lossContext, r.lossMotion)
                        + (r.lossMove.map { String(format: "  move %.3f", $0) } ?? "")
                        + String(format: "  %.1f clips/s", rate))
                if !Console.stderrIsTTY && (r.step % 50 == 0 || done == total) {
                    Console.note(
                        String(
                            format: "{\"step\":%d,\"loss_context\":%.4f,\"loss_motion\":%.4f,", r.step, r.lossContext,
                            r.lossMotion)
                            + (r.lossMove.map { String(format: "\"loss_move\":%.4f,", $0) } ?? "")
                            + String(format: "\"clips_per_s\":%.2f}", rate))
                }
            }
        } catch {
            Console.endStatus()
            Console.error("\(error)")
            throw ExitCode(1)
        }
        Console.endStatus()
        skipped.summary.forEach(Console.note)
        let records = trainer.readLog()
        let png = try PNGEncoder().encode(LossPlot.render(records), name: output + "/loss.png")
        try AtomicFile.write(Data(png), to: output + "/loss.png")
        let mean = records.meanLosses(last: 50)
        let minutes = (records.last?.elapsedSeconds ?? 0) / 60
        print(
            String(
                format: "%@: step %d of %d, mean of the last %d steps: context %.4f, motion %.4f%@; %.1f min", output,
                trainer.step, trainer.setup.steps, mean.count, mean.context, mean.motion,
                mean.move.map { String(format: ", move %.4f", $0) } ?? "", minutes))
        if interrupted.isSet { throw ExitCode(130) }
    }

    /// Videos long enough for a sample; a warning for each one left out.
    func usableVideos(sampler: PretextSampler) throws -> [String] {
        let cache = ShortGOP.defaultDirectory
        let (ok, skipped) = TrainingData.usableVideos(
            try VideoInputs.paths(data), sampler: sampler, open: { try MotionVideoSource(path: $0) },
            maxHeight: heightLimit,
            reencode: noReencode
                ? nil
                : { path in
                    let (copy, made) = try ShortGOP.reencode(path, gop: 16, maxHeight: heightLimit, into: cache)
                    Console.note(
                        "note: '\(path)' has I-frames too far apart for an I-frame near every clip\(heightLimit.map { " or is more than \($0) lines high" } ?? ""); training on a copy with one every 16 frames, '\(copy)' (\(made ? "made now" : "from an earlier run"))."
                    )
                    return copy
                })
        for why in skipped { Console.note("warning: skipping " + why) }
        guard ok.count >= 2 else {
            Console.error(
                "pretraining needs at least two usable videos (found \(ok.count) in \(data.joined(separator: ", "))).")
            throw ExitCode(1)
        }
        return ok
    }
}
