import Common
import Embed
import Foundation
import MediaIO
import Models
import Pretrain
import SafeTensors
import Tensor
import TestSupport
import Testing

@Suite("Pretraining runs: checkpoints, exact resume, export", .serialized)
struct TrainerTests {
    /// Four short synthetic videos (made once per test process).
    static let videos: [String] = {
        do { return try TestVideos.pretrainSet() } catch { preconditionFailure("synth failed: \(error)") }
    }()

    static func setup() -> PretrainSetup {
        var c = CMDModelTests.tinyConfig()
        c.size = 32
        c.motionSize = 32
        c.backbone.size = 32
        c.dropout = 0.1
        var s = PretrainSetup(model: c)
        s.batch = 2
        s.steps = 3
        s.checkpointEvery = 1
        s.keepCheckpoints = 2
        s.videos = videos
        return s
    }

    static func train(
        _ dir: String, steps: Int, resume: Bool, cameraMoves: Double? = nil, verticalFlips: Bool? = nil,
        movePairs: Double? = nil, moveHead: Bool? = nil, moveZooms: Bool? = nil, moveNet: Bool? = nil,
        moveOnly: Bool = false
    ) throws -> Trainer {
        var s = setup()
        s.transform.cameraMoves = cameraMoves
        s.transform.verticalFlips = verticalFlips
        if let movePairs {
            s.batch = 4
            s.model.moveWeight = movePairs
            s.model.moveHead = moveHead
            s.model.moveNet = moveNet
            s.transform.movePairs = true
            s.transform.moveZooms = moveZooms
        }
        if moveOnly {
            s.model.contextWeight = 0
            s.model.motionWeight = 0
            s.model.moveNet = true
            s.transform.motionOnly = true
        }
        let trainer = try Trainer(directory: dir, setup: s, resume: resume)
        s = trainer.setup
        let loader = BatchLoader(
            paths: s.videos, order: DataOrder(videos: s.videos.count, batch: s.batch, seed: s.seed), sampler: s.sampler,
            transform: s.transform, clipFrames: s.model.backbone.frames, startStep: trainer.step
        ) { try MotionVideoSource(path: $0) }
        defer { loader.stop() }
        var n = 0
        try trainer.run(loader: loader, threads: 1, shouldStop: { n >= steps }) { _ in n += 1 }
        return trainer
    }

    @Test(
        "the batch loader opens each video once, builds the batches it would build without its cache, and stops at its end"
    )
    func loaderCache() throws {
        let s = Self.setup()
        let order = DataOrder(videos: s.videos.count, batch: s.batch, seed: 5)
        let steps = 6  // 12 examples over 4 videos: three epochs
        func batches(cachedFrames: Int, frameThreads: Int) throws -> (batches: [CMDBatch], opened: Int) {
            let opened = Locked(0)
            let loader = BatchLoader(
                paths: s.videos, order: order, sampler: s.sampler, transform: s.transform,
                clipFrames: s.model.backbone.frames, startStep: 0, endStep: steps, cachedFrames: cachedFrames
            ) { path in
                opened.value += 1
                return try MotionVideoSource(path: path, frameThreads: frameThreads)
            }
            let out = try (0..<steps).map { try loader.batch($0) }
            // Without its end step the loader would go on to build steps 6 and 7 now.
            loader.stop()
            return (out, opened.value)
        }
        let cached = try batches(cachedFrames: SourceCache.defaultFrames, frameThreads: 1)
        let fresh = try batches(cachedFrames: 0, frameThreads: 2)
        #expect(cached.opened == 4)
        #expect(fresh.opened == 2 * steps)
        for (a, b) in zip(cached.batches, fresh.batches) {
            #expect(a.clips.data == b.clips.data && a.iFrames.data == b.iFrames.data && a.motion.data == b.motion.data)
        }
        // A cache smaller than two videos keeps only the last one opened: only a video drawn twice
        // in a row (at most once per new epoch) is not opened again.
        let small = try batches(cachedFrames: 100, frameThreads: 1)
        #expect(small.opened >= 2 * steps - 2 && small.opened <= 2 * steps)
    }

    @Test("an interrupted run resumed from its checkpoint ends bit for bit where an uninterrupted one does")
    func resume() throws {
        let base = Paths.temporaryDirectory("trainer")
        let straight = try Self.train(base + "/a", steps: 3, resume: false)
        _ = try Self.train(base + "/b", steps: 1, resume: false)
        let resumed = try Self.train(base + "/b", steps: 3, resume: true)
        #expect(straight.step == 3 && resumed.step == 3)
        for (p, q) in zip(straight.model.parameters, resumed.model.parameters) {
            #expect(p.name == q.name && p.value.data == q.value.data, "\(p.name) differs after resume")
        }
        for (p, q) in zip(straight.model.buffers, resumed.model.buffers) {
            #expect(p.value.data == q.value.data, "\(p.name) differs")
        }
        let logA = straight.readLog().map(\.loss)
        let logB = resumed.readLog().map(\.loss)
        #expect(logA == logB && logA.count == 3)
        // Checkpoints: the last two kept, plus best; a second run in the same place is refused.
        let names = try FileManager.default.contentsOfDirectory(atPath: base + "/a/checkpoints").sorted()
        #expect(
            names == ["step-000002.json", "step-000002.safetensors", "step-000003.json", "step-000003.safetensors"])
        #expect(FileManager.default.fileExists(atPath: base + "/a/best.safetensors"))
        #expect(throws: Trainer.TrainingError.self) {
            _ = try Trainer(directory: base + "/a", setup: Self.setup(), resume: false)
        }
        var other = Self.setup()
        other.seed = 99
        #expect(throws: Trainer.TrainingError.self) {
            _ = try Trainer(directory: base + "/a", setup: other, resume: true)
        }
        // With camera moves, vertical flips or move pairs made in the loader: other samples,
        // and still bit for bit on resume; resuming without them is refused.
        for (name, moves, flips, pairs, head, zooms, net, only) in [
            ("moves", 1.0 as Double?, nil as Bool?, nil as Double?, nil as Bool?, nil as Bool?, nil as Bool?, false),
            ("flips", nil, true, nil, nil, nil, nil, false), ("pairs", nil, nil, 0.5, nil, nil, nil, false),
            ("pairs-head", nil, nil, 0.5, true, nil, nil, false),
            ("pairs-head-zooms", nil, nil, 0.5, true, true, nil, false),
            ("pairs-head-net", nil, nil, 0.5, true, nil, true, false),
            ("move-only", nil, nil, 0.5, true, true, nil, true),
        ] {
            func train(_ dir: String, steps: Int, resume: Bool) throws -> Trainer {
                try Self.train(
                    dir, steps: steps, resume: resume, cameraMoves: moves, verticalFlips: flips, movePairs: pairs,
                    moveHead: head, moveZooms: zooms, moveNet: net, moveOnly: only)
            }
            let straight = try train(base + "/" + name, steps: 3, resume: false)
            _ = try train(base + "/" + name + "-b", steps: 1, resume: false)
            let resumed = try train(base + "/" + name + "-b", steps: 3, resume: true)
            if pairs != nil { #expect(straight.readLog().allSatisfy { ($0.lossMove ?? 0) > 0 }) }
            let log = straight.readLog().map(\.loss)
            #expect(log != logA && log == resumed.readLog().map(\.loss), "\(name)")
            for (p, q) in zip(straight.model.parameters, resumed.model.parameters) {
                #expect(p.value.data == q.value.data, "\(p.name) differs after resume with \(name)")
            }
            #expect(throws: Trainer.TrainingError.self) {
                _ = try Trainer(directory: base + "/" + name, setup: Self.setup(), resume: true)
            }
        }
    }

    @Test(
        "pretrain through the binary: a long-GOP video is trained on as a cached short-GOP copy, or with --no-reencode its skipped samples are summed per video; unfusable configurations are one sentence; C3D trains, exports and embeds"
    )
    func pretrainCommand() throws {
        let base = Paths.temporaryDirectory("pretrain-cli")
        // tears_320x240.mp4 has I-frames 235 frames apart: most of its samples have none within 5 frames.
        let data = ["--data"] + Self.videos + [Paths.asset("videos/tears_320x240.mp4")]
        let tiny = [
            "--size", "32", "--motion-size", "16", "--helper-widths", "8,8,16,16", "--predictor-dim", "16",
            "--embedding", "16",
            "--batch", "4", "--steps", "3", "--threads", "1", "--seed", "2",
        ]
        let cache = ["XDG_CACHE_HOME": base + "/cache"]
        let r = try run(
            Paths.decouple,
            ["pretrain"] + data + ["-o", base + "/run", "--config", "planes=8,8,16,32 stem=8", "--no-reencode"] + tiny)
        #expect(r.status == 0, "\(r.stderr)")
        let warnings = r.stderr.components(separatedBy: "\n").filter { $0.contains("skipped a sample of") }
        #expect(warnings.count == 1 && warnings[0].contains("tears_320x240.mp4"), "\(r.stderr)")
        #expect(r.stderr.contains("samples of \(Paths.asset("videos/tears_320x240.mp4"))"), "\(r.stderr)")
        #expect(r.text.contains("step 3 of 3"))
        // By default the long-GOP video is replaced by a short-GOP copy, made once and cached.
        for (n, made) in [(1, "made now"), (2, "from an earlier run")] {
            let again = try run(
                Paths.decouple,
                ["pretrain"] + data + ["-o", base + "/run-copy\(n)", "--config", "planes=8,8,16,32 stem=8"] + tiny,
                environment: cache)
            #expect(again.status == 0, "\(again.stderr)")
            #expect(
                again.stderr.contains("tears_320x240.mp4' has I-frames too far apart") && again.stderr.contains(made))
            #expect(!again.stderr.contains("skipped a sample of"), "\(again.stderr)")
        }
        for (config, message) in [
            ("planes=8,8,16,16 stem=8", "layer4 twice as wide as layer3"),
            ("planes=8,8,16,32 stem=8 frames=12", "use a multiple of 8"),
        ] {
            let bad = try run(Paths.decouple, ["pretrain"] + data + ["-o", base + "/bad", "--config", config] + tiny)
            #expect(bad.status == 1 && bad.stderr.contains(message), "\(config): \(bad.stderr)")
            #expect(!bad.stderr.contains("Fatal") && !bad.stderr.contains("crashed"))
            #expect(
                !FileManager.default.fileExists(atPath: base + "/bad/config.json"),
                "a rejected configuration leaves no run")
        }
        let moves = try run(
            Paths.decouple, ["pretrain"] + data + ["-o", base + "/bad", "--camera-moves", "2"] + tiny)
        #expect(moves.status != 0 && moves.stderr.contains("--camera-moves is a share of clips"), "\(moves.stderr)")
        #expect(!FileManager.default.fileExists(atPath: base + "/bad"))
        // The move term needs pairs; a height limit needs re-encoded copies.
        for (flags, says) in [
            (["--move-pairs", "1", "--batch", "5"], "--move-pairs takes a weight of 0 or more and an even --batch"),
            (["--move-head"], "--move-head and --move-zooms need --move-pairs with a weight above 0."),
            (["--move-zooms"], "--move-head and --move-zooms need --move-pairs with a weight above 0."),
            (["--move-pairs", "1", "--move-net"], "--move-net needs --move-head"),
            (["--move-pairs", "1", "--move-only"], "--move-only needs --move-head"),
            (["--move-pairs", "1", "--move-head", "--move-only", "--motion-only"], "--move-only needs --move-head"),
            (["--max-height", "120", "--no-reencode"], "--max-height needs re-encoded copies"),
        ] {
            let r = try run(Paths.decouple, ["pretrain"] + data + ["-o", base + "/bad"] + tiny + flags)
            #expect(r.status != 0 && r.stderr.contains(says), "\(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: base + "/bad"))
        }
        // C3D pretrains too (its clip map is conv5b), exports, and the export embeds in every
        // view; with the move term on its own head and motion network, which export leaves out.
        let c3d = try run(
            Paths.decouple,
            ["pretrain", "--data"] + Self.videos + [
                "-o", base + "/c3d", "--model", "c3d", "--config", "channels=4,8,8,16,16", "--move-pairs", "1",
                "--move-head", "--move-zooms", "--move-net",
            ] + tiny)
        #expect(c3d.status == 0 && c3d.text.contains("step 3 of 3"), "\(c3d.stderr)")
        let weights = base + "/c3d.safetensors"
        let exported = try run(Paths.decouple, ["export", base + "/c3d", "-o", weights])
        #expect(exported.status == 0, "\(exported.stderr)")
        for view in ["fused", "motion-residual"] {
            let e = try run(
                Paths.decouple,
                [
                    "embed", Self.videos[0], "--model", "c3d", "--config", "channels=4,8,8,16,16 size=32", "--weights",
                    weights, "--view", view, "--clips", "2",
                ])
            #expect(e.status == 0 && e.text.contains("\"embedding\""), "\(view): \(e.stderr)")
        }
    }

    @Test("export writes the backbone under inference key names (loadable strictly) and the motion view")
    func export() throws {
        let base = Paths.temporaryDirectory("export")
        let trainer = try Self.train(base + "/run", steps: 1, resume: false)
        let out = base + "/w.safetensors"
        let r = try run(Paths.decouple, ["export", base + "/run", "-o", out])
        #expect(r.status == 0, "\(r.stderr)")
        var cfg = trainer.setup.model.backbone
        cfg.size = 32
        let backbone = try Backbone(config: cfg, weightsAt: out)
        // Eval-mode outputs of the exported backbone equal the trained network's.
        trainer.model.training = false
        var rng = SeededRandom(seed: 7)
        let x = Tensor.normal(shape: [2, 3, cfg.frames, 32, 32], using: &rng)
        let a = backbone.forward(x, threads: 1).data
        let b = trainer.model.backbone.forward(x, threads: 1).pooled.data
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        #expect(worst < 1e-4 * max(1, b.map(abs).max() ?? 1), "max difference \(worst)")
        let view = try EmbeddingView.named("projected", weights: out)
        #expect(view.dimension(backbone) == trainer.setup.model.predictorDim)
        let motion = view.apply(backbone, x, threads: 1).data
        let expected = trainer.model.views(x, threads: 1).motion.data
        #expect(zip(motion, expected).allSatisfy { abs($0 - $1) < 1e-3 })
        // The predicted view: the trained predictor and query head on the clip map, each future
        // position L2-normalised, then averaged.
        let predicted = try EmbeddingView.named("predicted", weights: out, model: backbone)
        let got = predicted.apply(backbone, x, threads: 1)
        let m = trainer.model
        let positions = m.targetTokens
        let (forecast, _) = m.predictor.forward(
            FeatureFusion.tokens(FeatureFusion.clipMap(m.backbone.forward(x, threads: 1).stages)))
        let (q, _) = m.mq.forward(forecast.reshaped([2 * positions, trainer.setup.model.predictorDim]))
        let e = trainer.setup.model.embedding
        #expect(got.shape == [2, e] && predicted.dimension(backbone) == e)
        for s in 0..<2 {
            var mean = [Float](repeating: 0, count: e)
            for t in 0..<positions {
                let row = Array(q.data[((s * positions + t) * e)..<((s * positions + t + 1) * e)])
                let norm = row.map { $0 * $0 }.reduce(0, +).squareRoot()
                for k in 0..<e { mean[k] += row[k] / norm / Float(positions) }
            }
            #expect(zip(mean, got.data[(s * e)..<((s + 1) * e)]).allSatisfy { abs($0 - $1) < 1e-4 }, "clip \(s)")
        }
        // predicted-residual: the forecast of the clip minus that of its first frame held still.
        // (EmbeddingViewTests checks `still` against a still clip built by hand.)
        let still = EmbeddingView.still(x)
        let residual = try EmbeddingView.named("predicted-residual", weights: out, model: backbone)
        let difference = zip(got.data, predicted.apply(backbone, still, threads: 1).data).map { $0 - $1 }
        #expect(zip(residual.apply(backbone, x, threads: 1).data, difference).allSatisfy { abs($0 - $1) < 1e-5 })
        #expect(residual.apply(backbone, still, threads: 1).maxAbs() == 0 && residual.subtractsStill)
        // A backbone of another size gives another clip map: one sentence, not a crash.
        var other = cfg
        other.size = 64
        #expect(throws: (any Error).self) {
            try EmbeddingView.named("predicted", weights: out, model: try Backbone(config: other, weightsAt: out))
        }
        try Self.expectBrokenViewsRefused(out)
        let card = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: base + "/w.json")))
                as? [String: Any])
        #expect(card["architecture"] as? String == "r2p1d-26")
        #expect((card["fixesOverTheOfficialCode"] as? [String])?.count == 4)
        #expect(try run(Paths.decouple, ["export", base + "/nothing", "-o", out]).status == 1)
        // Bad arguments are one sentence, and nothing is written.
        func refused(_ arguments: [String], _ message: String) throws {
            let bad = try run(Paths.decouple, ["export", base + "/run", "-o", base + "/w2.safetensors"] + arguments)
            #expect(bad.status == 1 && bad.stderr.contains(message), "\(bad.stderr)")
            #expect(!FileManager.default.fileExists(atPath: base + "/w2.safetensors"))
        }
        // --scene-bias must be eval scene-bias's JSON.
        try "not json".write(toFile: base + "/rows.json", atomically: true, encoding: .utf8)
        try refused(["--scene-bias", base + "/rows.json"], "rows.json' is not the JSON of decouple eval scene-bias")
        try refused(["--checkpoint", base + "/run/step-9"], "is not a checkpoint: there is no '")
    }

    /// Views files that lack the heads' metadata or hold a tensor of the wrong shape: the
    /// predicted view is refused with one sentence naming the file.
    static func expectBrokenViewsRefused(_ weights: String) throws {
        let reader = try SafeTensorsReader(path: ViewsFile.path(for: weights))
        let tensors = reader.allTensors()
        var wrong = tensors
        let bias = try #require(wrong["mq_head.4.bias"])
        wrong["mq_head.4.bias"] = FloatTensor(shape: [bias.count + 1], values: bias.values + [0])
        let cases: [(String, [String: FloatTensor], [String: String], String)] = [
            (
                "no-heads", tensors, reader.metadata.filter { $0.key != "predictor.heads" },
                "does not record predictor.heads"
            ),
            ("wrong-shape", wrong, reader.metadata, "mq_head.4.bias is"),
        ]
        for (name, t, metadata, message) in cases {
            let file = (weights as NSString).deletingLastPathComponent + "/\(name).safetensors"
            try SafeTensorsWriter.write(t, metadata: metadata, to: ViewsFile.path(for: file))
            do {
                _ = try EmbeddingView.named("predicted", weights: file)
                Issue.record("\(name): the predicted view was built")
            } catch {
                #expect(
                    "\(error)".contains(message) && "\(error)".contains("\(name).views.safetensors"),
                    "\(name): \(error)")
            }
        }
    }
}
