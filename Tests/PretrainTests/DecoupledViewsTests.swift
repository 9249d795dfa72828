import Common
import Foundation
import MediaIO
import Models
import NN
import Pretrain
import SafeTensors
import Tensor
import TestSupport
import Testing
import VideoData

@testable import Embed

/// The scene and motion views: CMD's I-frame and motion-vector networks exported beside the
/// weights, read back strictly, and run on the compressed stream.
@Suite("Scene and motion views: export, reload, behaviour on videos of known motion", .serialized)
struct DecoupledViewsTests {
    /// A run of one step exported once per test process: (trainer, weights path).
    nonisolated(unsafe) static let exported: (Trainer, String) = {
        let base = Paths.temporaryDirectory("decoupled-export")
        let trainer = try! TrainerTests.train(base + "/run", steps: 1, resume: false)
        let out = base + "/w.safetensors"
        let r = try! run(Paths.decouple, ["export", base + "/run", "-o", out])
        precondition(r.status == 0, r.stderr)
        return (trainer, out)
    }()

    static func network(_ kind: DecoupledNetwork.Kind) throws -> DecoupledNetwork {
        try DecoupledViews.network(kind, weights: exported.1)
    }

    @Test("the exported scene and motion networks give the trained networks' outputs on the same inputs")
    func reload() throws {
        let (trainer, _) = Self.exported
        let m = trainer.model
        m.training = false
        let c = trainer.setup.model
        var rng = SeededRandom(seed: 11)
        let scene = try Self.network(.scene)
        #expect(scene.input.sceneSize == c.size && scene.input.sceneWidths == c.frameWidths)
        let frames = Tensor.normal(shape: [3, 3, 1, c.size, c.size], using: &rng)
        let (k, _) = m.ik.forward(m.frameNet.forward(frames, threads: 1).pooled)
        let expected = L2Normalize.forward(k).0
        #expect(scene.keys(frames).relativeError(to: expected) < 1e-5)
        #expect(scene.embed(frames).relativeError(to: Self.pooledLayers(m.frameNet.forward(frames, threads: 1))) < 1e-5)

        let motion = try Self.network(.motion)
        #expect(motion.input.motionFrames == c.futureFrames && motion.input.motionSize == c.motionSize)
        let clips = Tensor.normal(shape: [2, 2, c.futureFrames, c.motionSize, c.motionSize], using: &rng)
        let map = m.motionNet.forward(clips, threads: 1).stages["layer4"]!
        let positions = map.count / (2 * map.shape[1])
        let (keys, _) = m.mk.forward(FeatureFusion.tokens(map).reshaped([2 * positions, map.shape[1]]))
        let unit = L2Normalize.forward(keys).0
        let e = c.embedding
        var mean = [Float](repeating: 0, count: 2 * e)
        for s in 0..<2 {
            for p in 0..<positions {
                for j in 0..<e { mean[s * e + j] += unit.data[(s * positions + p) * e + j] / Float(positions) }
            }
        }
        #expect(motion.keys(clips).relativeError(to: Tensor(shape: [2, e], data: mean)) < 1e-5)
        #expect(motion.embed(clips).relativeError(to: Self.peakLayer2(m.motionNet.forward(clips, threads: 1))) < 1e-5)
        // The model card says what each view is.
        let card = try #require(
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: ModelCardFile.path(for: Self.exported.1))))
                as? [String: Any])
        #expect(Set((card["viewGuide"] as? [String: String])?.keys.map { $0 } ?? []) == ["video", "scene", "motion"])
    }

    /// `[N, a]` and `[N, b]` → `[N, a + b]`, row by row.
    static func sideBySide(_ x: Tensor, _ y: Tensor) -> Tensor {
        let (n, a, b) = (x.shape[0], x.shape[1], y.shape[1])
        var rows: [Float] = []
        for s in 0..<n {
            rows += x.data[(s * a)..<((s + 1) * a)]
            rows += y.data[(s * b)..<((s + 1) * b)]
        }
        return Tensor(shape: [n, a + b], data: rows)
    }

    @Test(
        "export --motion-readout: the motion view reads layer4's average, layer2's maximum beside it, or the move term's head, as the file says; a run without that head, a file without it and an unknown readout are one sentence each"
    )
    func readouts() throws {
        // A run with the move term on its own head, so that every readout can be exported.
        let base = Paths.temporaryDirectory("decoupled-readouts")
        let trainer = try TrainerTests.train(base + "/run", steps: 1, resume: false, movePairs: 0.5, moveHead: true)
        let m = trainer.model
        m.training = false
        let c = trainer.setup.model
        var rng = SeededRandom(seed: 12)
        let clips = Tensor.normal(shape: [2, 2, c.futureFrames, c.motionSize, c.motionSize], using: &rng)
        let out = m.motionNet.forward(clips, threads: 1)
        let peak = Self.peakLayer2(out)
        let average = L2Normalize.forward(out.pooled).0
        let moved = L2Normalize.forward(try #require(m.mv).forward(out.pooled).0).0
        for readout in MotionReadout.allCases {
            let w = base + "/\(readout.rawValue).safetensors"
            let r = try run(
                Paths.decouple,
                ["export", trainer.directory, "-o", w, "--motion-readout", readout.rawValue])
            #expect(r.status == 0, "\(r.stderr)")
            let motion = try DecoupledViews.network(.motion, weights: w)
            #expect(motion.input.motionReadout == readout)
            let expected: Tensor
            switch readout {
            case .layer2Max: expected = peak
            case .layer4Average: expected = average
            case .moveHead: expected = moved
            case .layer2MaxLayer4Average: expected = Self.sideBySide(peak, average)
            case .layer2MaxMoveHead: expected = Self.sideBySide(peak, moved)
            }
            #expect(motion.dimension == expected.shape[1])
            #expect(motion.embed(clips).relativeError(to: expected) < 1e-5, "\(readout)")
            let card = try String(contentsOfFile: ModelCardFile.path(for: w), encoding: .utf8)
            #expect(card.contains("\(expected.shape[1]) values (readout \(readout.rawValue))"))
        }
        let bad = try run(
            Paths.decouple, ["export", trainer.directory, "-o", base + "/x.safetensors", "--motion-readout", "mean"])
        #expect(bad.status != 0 && bad.stderr.contains("'mean'"), "\(bad.stderr)")
        #expect(!FileManager.default.fileExists(atPath: base + "/x.safetensors"))
        // A run without the head cannot export its readouts.
        let headless = try run(
            Paths.decouple,
            ["export", Self.exported.0.directory, "-o", base + "/y.safetensors", "--motion-readout", "move-head"])
        #expect(headless.status != 0 && headless.stderr.contains("trained without --move-head"), "\(headless.stderr)")
        #expect(!FileManager.default.fileExists(atPath: base + "/y.safetensors"))
        // Files naming the move head without holding it, or a readout this version does not
        // know: one sentence naming the file.
        let reader = try SafeTensorsReader(path: ViewsFile.path(for: Self.exported.1))
        for (readout, says) in [("move-head", "mv_head"), ("layer9-median", "layer9-median")] {
            var metadata = reader.metadata
            metadata["motion.readout"] = readout
            let w = base + "/\(readout)-odd.safetensors"
            try FileManager.default.copyItem(atPath: Self.exported.1, toPath: w)
            try Self.expectRefused(w, tensors: reader.allTensors(), metadata: metadata, says: says)
        }
    }

    @Test(
        "a run whose move term has a motion network of its own: the move head reads that network, layer2's maximum the CMD one; a file without the move network is one sentence"
    )
    func ownMoveNetwork() throws {
        let base = Paths.temporaryDirectory("decoupled-move-net")
        let trainer = try TrainerTests.train(
            base + "/run", steps: 1, resume: false, movePairs: 0.5, moveHead: true, moveNet: true)
        let m = trainer.model
        m.training = false
        let c = trainer.setup.model
        var rng = SeededRandom(seed: 13)
        let clips = Tensor.normal(shape: [2, 2, c.futureFrames, c.motionSize, c.motionSize], using: &rng)
        let peak = Self.peakLayer2(m.motionNet.forward(clips, threads: 1))
        let ownPooled = try #require(m.moveNet).forward(clips, threads: 1).pooled
        let moved = L2Normalize.forward(try #require(m.mv).forward(ownPooled).0).0
        // The head over the CMD network's features would be another vector.
        let wrong = L2Normalize.forward(m.mv!.forward(m.motionNet.forward(clips, threads: 1).pooled).0).0
        #expect(wrong.relativeError(to: moved) > 1e-2)
        // The export of one run with a share, too (`--move-head-share`).
        let w8 = base + "/share.safetensors"
        let r8 = try run(
            Paths.decouple,
            [
                "export", trainer.directory, "-o", w8, "--motion-readout", "layer2-max+move-head", "--move-head-share",
                "0.8",
            ])
        #expect(r8.status == 0, "\(r8.stderr)")
        #expect(
            try DecoupledViews.network(.motion, weights: w8).embed(clips).relativeError(
                to: Self.sideBySide(peak, moved, share: 0.8)) < 1e-5)
        for (readout, expected) in [
            (MotionReadout.moveHead, moved), (.layer2MaxMoveHead, Self.sideBySide(peak, moved)), (.layer2Max, peak),
        ] {
            let w = base + "/\(readout.rawValue).safetensors"
            let r = try run(
                Paths.decouple, ["export", trainer.directory, "-o", w, "--motion-readout", readout.rawValue])
            #expect(r.status == 0, "\(r.stderr)")
            let motion = try DecoupledViews.network(.motion, weights: w)
            #expect(motion.input.ownMoveNetwork == readout.readsMoveHead)
            #expect(motion.embed(clips).relativeError(to: expected) < 1e-5, "\(readout)")
        }
        // The views file without the move network's tensors, or with one of them mis-shaped:
        // one sentence naming the file.
        let w = base + "/move-head.safetensors"
        let reader = try SafeTensorsReader(path: ViewsFile.path(for: w))
        let odd = base + "/odd.safetensors"
        try FileManager.default.copyItem(atPath: w, toPath: odd)
        let all = try reader.allTensors()
        let key = try #require(all.keys.sorted().first { $0.hasPrefix("mv_backbone.") && $0.hasSuffix(".weight") })
        var misshaped = all
        misshaped[key] = FloatTensor(shape: [1], values: [0])
        for (tensors, says) in [
            (all.filter { !$0.key.hasPrefix("mv_backbone.") }, "no move network (mv_backbone.*)"),
            (misshaped, "the move network of"),
        ] {
            try Self.expectRefused(odd, tensors: tensors, metadata: reader.metadata, says: says)
        }
    }

    @Test(
        "a move-only run added to exported weights: their tensors unchanged, the move head over its network beside layer2's maximum of theirs; bad pairings are one sentence"
    )
    func addedMoveNetwork() throws {
        let base = Paths.temporaryDirectory("decoupled-add-move")
        let cmd = try TrainerTests.train(base + "/cmd", steps: 1, resume: false)
        let only = try TrainerTests.train(
            base + "/only", steps: 1, resume: false, movePairs: 0.5, moveHead: true, moveOnly: true)
        let w = base + "/w.safetensors"
        #expect(try run(Paths.decouple, ["export", cmd.directory, "-o", w]).status == 0)
        let out = base + "/added.safetensors"
        let r = try run(Paths.decouple, ["export", only.directory, "--add-to", w, "-o", out])
        #expect(r.status == 0, "\(r.stderr)")
        // Every tensor of the base files is there unchanged; the move network and head are the run's.
        let before = try SafeTensorsReader(path: ViewsFile.path(for: w)).allTensors()
        let after = try SafeTensorsReader(path: ViewsFile.path(for: out)).allTensors()
        #expect(before.allSatisfy { after[$0.key] == $0.value })
        let m = only.model
        for p in m.parameters { #expect(after[p.name]?.values == p.value.data, "\(p.name)") }
        #expect(after.count == before.count + m.parameters.count + m.buffers.count)
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == Data(contentsOf: URL(fileURLWithPath: w)))
        // The motion view: layer2's maximum of the base's motion network beside the move head over
        // the move-only run's network, computed by hand.
        cmd.model.training = false
        m.training = false
        let c = cmd.setup.model
        var rng = SeededRandom(seed: 17)
        let clips = Tensor.normal(shape: [2, 2, c.futureFrames, c.motionSize, c.motionSize], using: &rng)
        let peak = Self.peakLayer2(cmd.model.motionNet.forward(clips, threads: 1))
        let moved = L2Normalize.forward(m.mv!.forward(m.moveNet!.forward(clips, threads: 1).pooled).0).0
        let motion = try DecoupledViews.network(.motion, weights: out)
        #expect(motion.input.motionReadout == .layer2MaxMoveHead && motion.input.ownMoveNetwork)
        #expect(motion.embed(clips).relativeError(to: Self.sideBySide(peak, moved)) < 1e-5)
        // With the move head at 80 % of the cosine: the two parts scaled by the square roots of
        // their shares; a share outside (0, 1) in a file is one sentence naming it.
        let shared = base + "/shared.safetensors"
        let r8 = try run(
            Paths.decouple, ["export", only.directory, "--add-to", w, "-o", shared, "--move-head-share", "0.8"])
        #expect(r8.status == 0, "\(r8.stderr)")
        let scaled = Self.sideBySide(peak, moved, share: 0.8)
        let sharedNet = try DecoupledViews.network(.motion, weights: shared)
        #expect(sharedNet.input.moveHeadShare == 0.8)
        #expect(sharedNet.embed(clips).relativeError(to: scaled) < 1e-5)
        // Added again without a share: the base's share goes, the parts sit side by side.
        let cleared = base + "/cleared.safetensors"
        #expect(try run(Paths.decouple, ["export", only.directory, "--add-to", shared, "-o", cleared]).status == 0)
        #expect(try SafeTensorsReader(path: ViewsFile.path(for: cleared)).metadata["motion.move_head_share"] == nil)
        #expect(try DecoupledViews.network(.motion, weights: cleared).input.moveHeadShare == nil)
        let sharedViews = try SafeTensorsReader(path: ViewsFile.path(for: shared))
        var badShare = sharedViews.metadata
        badShare["motion.move_head_share"] = "1.5"
        try Self.expectRefused(
            shared, tensors: sharedViews.allTensors(), metadata: badShare, says: "motion.move_head_share '1.5'")
        // A share out of range, or without the readout it weighs, is refused on the command line.
        for flags in [["--move-head-share", "1.5"], ["--move-head-share", "0.5", "--motion-readout", "move-head"]] {
            let bad = base + "/bad.safetensors"
            let r = try run(Paths.decouple, ["export", only.directory, "--add-to", w, "-o", bad] + flags)
            #expect(
                r.status != 0 && r.stderr.contains("--move-head-share takes a share between 0 and 1"), "\(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: bad))
        }
        let card = try JSONDecoder().decode(
            ModelCard.self, from: Data(contentsOf: URL(fileURLWithPath: ModelCardFile.path(for: out))))
        #expect(card.moveNetwork?.setup.model.moveOnly == true && card.weights == out)
        #expect(card.viewGuide?["motion"]?.contains("layer2-max+move-head") == true)
        // Added again in place with the head alone: the move network replaced, not doubled.
        let again = try run(
            Paths.decouple, ["export", only.directory, "--add-to", out, "-o", out, "--motion-readout", "move-head"])
        #expect(again.status == 0, "\(again.stderr)")
        let twice = try SafeTensorsReader(path: ViewsFile.path(for: out))
        #expect(twice.allTensors() == after && twice.metadata["motion.readout"] == "move-head")
        // A base that reads motion clips of another size, a base without its views file, a
        // CMD run given to --add-to, a move-only run without it, a readout without the head:
        // one sentence each, and nothing written.
        let views = try SafeTensorsReader(path: ViewsFile.path(for: w))
        let odd = base + "/odd.safetensors"
        try FileManager.default.copyItem(atPath: w, toPath: odd)
        try FileManager.default.copyItem(atPath: ModelCardFile.path(for: w), toPath: ModelCardFile.path(for: odd))
        var metadata = views.metadata
        metadata["motion.size"] = "48"
        try SafeTensorsWriter.write(views.allTensors(), metadata: metadata, to: ViewsFile.path(for: odd))
        let lone = base + "/lone.safetensors"
        try FileManager.default.copyItem(atPath: w, toPath: lone)
        try FileManager.default.copyItem(atPath: ModelCardFile.path(for: w), toPath: ModelCardFile.path(for: lone))
        for (args, says) in [
            (["export", only.directory, "--add-to", odd], "'\(odd)' reads motion clips of 8 frames at 48 px"),
            (["export", only.directory, "--add-to", lone], "'\(lone)' has no views file with a motion network"),
            (["export", cmd.directory, "--add-to", w], "is a CMD run: --add-to takes a run of pretrain --move-only"),
            (["export", only.directory], "trained only a move network (pretrain --move-only): give --add-to"),
            (
                ["export", only.directory, "--add-to", w, "--motion-readout", "layer2-max"],
                "does not read the move head that --add-to adds"
            ),
        ] {
            let bad = base + "/bad.safetensors"
            let r = try run(Paths.decouple, args + ["-o", bad])
            #expect(r.status == 1 && r.stderr.contains(says), "\(args): \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
            #expect(
                !FileManager.default.fileExists(atPath: bad)
                    && !FileManager.default.fileExists(atPath: ViewsFile.path(for: bad)))
        }
    }

    /// `x` and `y` side by side scaled by the square roots of 1-`share` and `share`: their parts
    /// of the cosine (`--move-head-share`).
    static func sideBySide(_ x: Tensor, _ y: Tensor, share: Float) -> Tensor {
        sideBySide(
            Tensor(shape: x.shape, data: x.data.map { $0 * (1 - share).squareRoot() }),
            Tensor(shape: y.shape, data: y.data.map { $0 * share.squareRoot() }))
    }

    /// Writes `tensors` and `metadata` as the views file of `weights` and expects loading its
    /// motion network to fail with one sentence that names the file and says `says`.
    static func expectRefused(
        _ weights: String, tensors: [String: FloatTensor], metadata: [String: String], says: String
    ) throws {
        try SafeTensorsWriter.write(tensors, metadata: metadata, to: ViewsFile.path(for: weights))
        do {
            _ = try DecoupledViews.network(.motion, weights: weights)
            Issue.record("'\(weights)' was accepted where loading should say \(says)")
        } catch {
            #expect("\(error)".contains(says) && "\(error)".contains(ViewsFile.path(for: weights)), "\(error)")
        }
    }

    /// The views' vectors by hand: layer2, layer3 and layer4 averaged, each L2-normalised,
    /// side by side.
    static func pooledLayers(_ out: TrainableBackbone.Output) -> Tensor {
        let parts = ["layer2", "layer3", "layer4"].map { out.stages[$0]! }
        let n = parts[0].shape[0]
        var rows: [Float] = []
        for s in 0..<n {
            for p in parts {
                let c = p.shape[1]
                let plane = p.count / (n * c)
                var v = (0..<c).map { ch in
                    p.data[((s * c + ch) * plane)..<((s * c + ch + 1) * plane)].reduce(0, +) / Float(plane)
                }
                let norm = max(1e-12, v.map { $0 * $0 }.reduce(0, +).squareRoot())
                v = v.map { $0 / norm }
                rows += v
            }
        }
        return Tensor(shape: [n, rows.count / n], data: rows)
    }

    /// The motion view's vector by hand: each channel's maximum of layer2, L2-normalised.
    static func peakLayer2(_ out: TrainableBackbone.Output) -> Tensor {
        let p = out.stages["layer2"]!
        let (n, c) = (p.shape[0], p.shape[1])
        let volume = p.count / (n * c)
        var rows: [Float] = []
        for s in 0..<n {
            let v = (0..<c).map { ch in p.data[((s * c + ch) * volume)..<((s * c + ch + 1) * volume)].max()! }
            let norm = max(1e-12, v.map { $0 * $0 }.reduce(0, +).squareRoot())
            rows += v.map { $0 / norm }
        }
        return Tensor(shape: [n, c], data: rows)
    }

    static func embed(_ kind: DecoupledNetwork.Kind, _ path: String) throws -> [Float] {
        let source = try MotionVideoSource(path: path)
        let windows = ClipSampler.modelScope(frameCount: source.frameCount, clips: 3)
        let embedder = DecoupledEmbedder(network: try network(kind))
        return VideoEmbedder.meanOverClips(try embedder.embed(windows, from: source, path: path))
    }

    @Test("the motion view tells a pan right-then-down from a still video and from the opposite pan")
    func motionView() throws {
        let pan = try Self.embed(.motion, TestVideos.photoMove("gravel", sign: 1))
        let still = try Self.embed(.motion, TestVideos.photoMove("gravel", sign: 0))
        let opposite = try Self.embed(.motion, TestVideos.photoMove("gravel", sign: -1))
        let samePanOtherPhoto = try Self.embed(.motion, TestVideos.photoMove("brick", sign: 1))
        let toStill = cosine(pan, still)
        let toOpposite = cosine(pan, opposite)
        let toSame = cosine(pan, samePanOtherPhoto)
        #expect(toStill < 0.99 && toOpposite < 0.99, "still \(toStill), opposite \(toOpposite)")
        // The motion, not the photo: the same pan over another photo is the nearest.
        #expect(toSame > toStill && toSame > toOpposite, "same pan \(toSame), still \(toStill), opposite \(toOpposite)")
    }

    @Test(
        "the motion view's network run beside the decoder, a few tiles at a time on either thread, gives the vectors of one run after decoding"
    )
    func motionBesideDecoding() throws {
        // B-frames: one decoding thread, so the network's thread has a core of its own.
        let path = Paths.asset("videos/tears_320x240.mp4")
        let embedder = DecoupledEmbedder(network: try Self.network(.motion))
        let input = embedder.network.input
        func vectors(_ batch: Int) throws -> [[Float]] {
            let source = try MotionVideoSource(path: path)
            let box = CropBox.centre(width: source.width, height: source.height, scale: input.scale, crop: input.crop)
            let windows = ClipSampler.modelScope(frameCount: source.frameCount, clips: 10)
            return try embedder.motion(windows, from: source, box: box, isCancelled: nil, batch: batch)
        }
        let after = try vectors(Int.max)
        #expect(after.count == 10)
        for batch in [1, 3, 8] {
            let beside = try vectors(batch)
            let worst = zip(after, beside).map { a, b in zip(a, b).map { abs($0 - $1) }.max()! }.max()!
            #expect(worst < 1e-6, "batches of \(batch): off by \(worst)")
        }
        // Cancelled mid-decoding while the network's thread has batches in hand: the call throws,
        // having asked once per decoded frame. (That it waits for the thread's batches first,
        // `motion`'s `defer { group.wait() }`, is not observed here.)
        let source = try MotionVideoSource(path: path)
        let box = CropBox.centre(width: source.width, height: source.height, scale: input.scale, crop: input.crop)
        let asked = ProgressCounter()
        #expect(throws: CancellationError.self) {
            _ = try embedder.motion(
                ClipSampler.modelScope(frameCount: source.frameCount, clips: 10), from: source, box: box,
                isCancelled: {
                    asked.add(1)
                    return asked.current > 40
                }, batch: 1)
        }
        #expect(asked.current == 41)
    }

    @Test(
        "embed's batch loop on several videos at once: the stream views' rows, skips and failures as one at a time, in order"
    )
    func severalVideosAtOnce() throws {
        let dir = Paths.temporaryDirectory("views-ingest")
        let tears = Paths.asset("videos/tears_320x240.mp4")
        try FileManager.default.copyItem(atPath: tears, toPath: dir + "/copy.mp4")
        try Data("not a video".utf8).write(to: URL(fileURLWithPath: dir + "/bad.mp4"))
        let files = [Paths.asset("videos/friday_480p.mp4"), tears, dir + "/copy.mp4", dir + "/bad.mp4"]
            .map {
                VideoFile(
                    path: $0, id: URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent, shardKey: $0)
            }
        let network = try Self.network(.motion)
        let selection = ClipSelection(rule: .modelScope(clips: 3), frames: 16, stride: 1, perClip: true)
        func ingest(_ videosAtOnce: Int, cancelled: Bool = false) throws -> (IngestTally, [String], [Float]) {
            let embedder = ViewEmbedder(
                view: .motion, kind: .decoupled(DecoupledEmbedder(network: network)), rgb: .accurate,
                videosAtOnce: videosAtOnce)
            let store = try EmbeddingStore.create(
                at: dir + "/store\(videosAtOnce)",
                manifest: EmbeddingManifest(
                    model: "r2p1d-26", config: "test", weights: .init(file: nil, sha256: nil, random: true, seed: 1),
                    preprocessing: Preprocessing(shortSide: 64, crop: 56), sampling: selection.manifestSampling,
                    dimension: embedder.dimension, count: 0, rgb: .accurate),
                replace: true)
            let log = Locked<[IngestEvent]>([])
            let tally = try StoreIngest(
                embedder: embedder, selection: selection, model: "r2p1d-26", store: store,
                openers: VideoOpeners(
                    clips: { try VideoClipSource(path: $0, rgb: $1) },
                    stream: { try MotionVideoSource(path: $0, rgb: $1) })
            ).run(files, isCancelled: { cancelled }) { e in log.value.append(e) }
            let events = log.value.compactMap { e -> String? in
                switch e {
                case .embedded(let p, _, _, _, _): return "embedded " + URL(fileURLWithPath: p).lastPathComponent
                case .skipped(let p): return "skipped " + URL(fileURLWithPath: p).lastPathComponent
                case .failed(let p, _): return "failed " + URL(fileURLWithPath: p).lastPathComponent
                case .progress: return nil
                }
            }
            return (tally, events, try store.readMatrix())
        }
        let (oneTally, oneEvents, oneRows) = try ingest(1)
        #expect(
            oneEvents == [
                "embedded friday_480p.mp4", "embedded tears_320x240.mp4", "skipped copy.mp4", "failed bad.mp4",
            ])
        #expect(oneTally.embedded == 2 && oneRows.count == 6 * network.dimension)
        for n in [2, 3] {
            let (tally, events, rows) = try ingest(n)
            #expect(events == oneEvents && tally.embedded == 2 && tally.skipped == 1 && tally.failed == 1)
            #expect(rows == oneRows, "\(n) videos at once")
        }
        // Cancelled from the start with two at once: nothing embedded, stored or reported.
        let (stopped, stoppedEvents, stoppedRows) = try ingest(2, cancelled: true)
        #expect(stopped.finished == 0 && stoppedEvents.isEmpty && stoppedRows.isEmpty)
    }

    @Test("the scene view puts two motions over one photo closer than one motion over two photos")
    func sceneView() throws {
        let a = try Self.embed(.scene, TestVideos.photoMove("gravel", sign: 1))
        let b = try Self.embed(.scene, TestVideos.photoMove("gravel", sign: -1))
        let other = try Self.embed(.scene, TestVideos.photoMove("coffee", sign: 1))
        #expect(cosine(a, b) > cosine(a, other), "same photo \(cosine(a, b)), other photo \(cosine(a, other))")
        // Keyframes only: every frame the scene view decoded is an I-frame.
        let source = try MotionVideoSource(path: TestVideos.photoMove("gravel", sign: 1))
        _ = try DecoupledEmbedder(network: try Self.network(.scene)).embed(
            ClipSampler.modelScope(frameCount: source.frameCount, clips: 3), from: source, path: "gravel")
        #expect(source.framesDecoded > 0 && source.framesDecoded == source.iFramesDecoded)
    }

    @Test("keyframe choice, motion tiles and the scene view's box follow the clip and the frame")
    func windows() {
        #expect(CropBox.widest(width: 160, height: 120) == CropBox(x: 0, y: 0, width: 160, height: 120, flip: false))
        #expect(CropBox.widest(width: 800, height: 332) == CropBox(x: 178, y: 0, width: 443, height: 332, flip: false))
        #expect(CropBox.widest(width: 100, height: 300) == CropBox(x: 0, y: 83, width: 100, height: 133, flip: false))
        let w = ClipWindow(start: 10, frames: 16, stride: 4)  // frames 10...70
        #expect(DecoupledEmbedder.keyframe(for: w, iFrames: [0, 16, 32, 48, 64], frameCount: 100) == 32)
        #expect(DecoupledEmbedder.keyframe(for: w, iFrames: [0], frameCount: 100) == 0)
        let tiles = DecoupledEmbedder.motionWindows(for: w, length: 8, frameCount: 100)
        // On the grid of 8 (shared by overlapping clips), inside the span.
        #expect(tiles.count == 6 && tiles[0] == Array(16..<24) && tiles[5] == Array(56..<64))
        #expect(
            DecoupledEmbedder.motionWindows(for: ClipWindow(start: 12), length: 8, frameCount: 100)[0] == Array(16..<24)
        )
        // A video shorter than the span: the tiles that fit; none on the grid: back-to-back from
        // the start; shorter than one tile: one, its last frame repeated.
        #expect(DecoupledEmbedder.motionWindows(for: w, length: 8, frameCount: 30) == [Array(16..<24)])
        #expect(DecoupledEmbedder.motionWindows(for: w, length: 8, frameCount: 22) == [Array(10..<18)])
        #expect(
            DecoupledEmbedder.motionWindows(for: ClipWindow(start: 0), length: 8, frameCount: 5) == [
                [0, 1, 2, 3, 4, 4, 4, 4]
            ])
    }

    @Test("views files without the networks, with a missing or mis-shaped tensor: one sentence naming the file")
    func brokenViewsFiles() throws {
        let (_, weights) = Self.exported
        let views = ViewsFile.path(for: weights)
        let reader = try SafeTensorsReader(path: views)
        let tensors = reader.allTensors()
        let base = Paths.temporaryDirectory("decoupled-broken")
        func write(_ t: [String: FloatTensor], metadata: [String: String]) throws -> String {
            let w = base + "/\(UUID().uuidString).safetensors"
            try FileManager.default.copyItem(atPath: weights, toPath: w)
            try SafeTensorsWriter.write(t, metadata: metadata, to: ViewsFile.path(for: w))
            return w
        }
        let old = try write(
            tensors.filter { !$0.key.hasPrefix("i_") && !$0.key.hasPrefix("m_") },
            metadata: reader.metadata.filter { !$0.key.hasPrefix("scene.") && !$0.key.hasPrefix("motion.") })
        #expect(throws: ModelError.self) { try DecoupledViews.network(.scene, weights: old) }
        do { _ = try DecoupledViews.network(.motion, weights: old) } catch {
            #expect("\(error)".contains(ViewsFile.path(for: old)) && "\(error)".contains("export the run again"))
        }
        var missing = tensors
        missing["m_backbone.layer2.0.conv1.weight"] = nil
        let w1 = try write(missing, metadata: reader.metadata)
        do {
            _ = try DecoupledViews.network(.motion, weights: w1)
            Issue.record("a missing tensor was accepted")
        } catch {
            #expect("\(error)".contains(ViewsFile.path(for: w1)) && "\(error)".contains("layer2.0.conv1.weight"))
        }
        #expect((try? DecoupledViews.network(.scene, weights: w1)) != nil, "the scene network is whole")
        var misshaped = tensors
        misshaped["ik_head.3.weight"] = FloatTensor(shape: [3, 3, 1], values: Array(repeating: 0, count: 9))
        let w2 = try write(misshaped, metadata: reader.metadata)
        do {
            _ = try DecoupledViews.network(.scene, weights: w2)
            Issue.record("a mis-shaped head was accepted")
        } catch {
            #expect("\(error)".contains(ViewsFile.path(for: w2)) && "\(error)".contains("ik_head"))
        }
    }

    @Test(
        "through the binary: embed --views writes one store per view; the motion view refuses videos without motion vectors while scene and video embed them"
    )
    func binary() throws {
        let (_, weights) = Self.exported
        let model = ["--weights", weights, "--config", "planes=4,4,8,16 stem=4 frames=8 size=32", "--clips", "2"]
        let base = Paths.temporaryDirectory("decoupled-cli")
        let video = try TestVideos.photoMove("gravel", sign: 1)
        let r = try run(
            Paths.decouple, ["embed", video, "--views", "video,scene,motion", "-o", base + "/store"] + model)
        #expect(r.status == 0, "\(r.stderr)")
        for view in ["video", "scene", "motion"] {
            let store = try EmbeddingStore(opening: base + "/store/" + view)
            let recorded = store.manifest.config.contains(view == "video" ? "view=" : "view=\(view)")
            #expect(store.count == 1 && recorded == (view != "video"), "\(store.manifest.config)")
            let dimension = ["video": 16 * 4, "scene": 4 + 8 + 8, "motion": 4][view]!
            #expect(store.dimension == dimension, "\(view): \(store.dimension)")
        }
        // A query video is embedded as the store's videos were, in the store's view.
        let search = try run(
            Paths.decouple, ["search", base + "/store/motion", video, "-k", "1", "--json"])
        #expect(search.status == 0, "\(search.stderr)")
        #expect(search.text.contains("move_gravel_1"), "\(search.text)")
        #expect(try run(Paths.decouple, ["embed", video, "--views", "scene,motion"] + model).status != 0)
        // The directory of per-view stores: search runs each view in turn.
        let all = try run(Paths.decouple, ["search", base + "/store", video, "-k", "1"])
        #expect(all.status == 0, "\(all.stderr)")
        #expect(["motion view", "scene view", "video view"].allSatisfy { all.text.contains($0) }, "\(all.text)")
        // bench views: every view on the same video, the scene view decoding I-frames only.
        let bench = try run(
            Paths.decouple,
            [
                "bench", "views", video, "--weights", weights, "--config", "planes=4,4,8,16 stem=4 frames=8 size=32",
                "--no-full", "--runs", "1", "--clips-per-video", "2", "--json",
            ])
        #expect(bench.status == 0, "\(bench.stderr)")
        let rows = try #require(
            try JSONSerialization.jsonObject(with: Data(bench.text.utf8)) as? [[String: Any]])
        #expect(rows.count == 3 && rows.allSatisfy { ($0["clips"] as? Int) == 2 })
        let scene = try #require(rows.first { $0["view"] as? String == "scene" })
        #expect((scene["frames_decoded"] as? Int) == (scene["i_frames_decoded"] as? Int))

        let refused = try BadInputs.refused()
        for name in ["MJPEG", "intra-only H.264"] {
            let bad = try #require(refused.first { $0.name == name })
            let motion = try run(Paths.decouple, ["embed", bad.path, "--view", "motion"] + model)
            #expect(motion.status == 1, "\(name): \(motion.stderr)")
            #expect(
                motion.stderr.contains(bad.path) && motion.stderr.contains("no motion vectors")
                    && motion.stderr.contains("scene and video views still work"), "\(name): \(motion.stderr)")
            #expect(!motion.stderr.contains("Fatal"))
            let scene = try run(Paths.decouple, ["embed", bad.path, "--view", "scene"] + model)
            #expect(scene.status == 0 && scene.text.contains("\"embedding\""), "\(name): \(scene.stderr)")
        }
        // The explorer computes the three views from the weights' networks; random weights
        // carry none, so they show the video view alone.
        let long = try TestVideos.testsrc(width: 160, height: 120, bFrames: false, gop: 16, frames: 80)
        for (weightsArgs, views) in [
            (
                ["--weights", weights, "--config", "planes=4,4,8,16 stem=4 frames=8 size=32"],
                ["scene", "motion", "video"]
            ),
            (["--random-weights", "--config", "planes=4,4,8,16 stem=4 frames=8 size=32"], ["video"]),
        ] {
            let explore = try run(
                Paths.decouple,
                ["explore", "--batch", "--no-cache", "--keys", " e<wait>", "--json", long] + weightsArgs)
            #expect(explore.status == 0, "\(explore.stderr)")
            let state = try #require(try JSONSerialization.jsonObject(with: Data(explore.text.utf8)) as? [String: Any])
            #expect(state["views"] as? [String] == views)
            // (The tiny backbone takes 8 frames, the explorer's window 16: only the networks'
            // views can be computed here.)
            guard views.count > 1 else { continue }
            let clip = try #require((state["embedded"] as? [[String: Any]])?.first)
            let status = (clip["views"] as? [String: [String: Any]])?.mapValues { $0["status"] as? String }
            #expect(
                status == Dictionary(uniqueKeysWithValues: views.map { ($0, "ready") }), "\(String(describing: status))"
            )
        }
        // Weights without a views file: one sentence.
        let bare = base + "/bare.safetensors"
        try FileManager.default.copyItem(atPath: weights, toPath: bare)
        let noViews = try run(Paths.decouple, ["embed", video, "--view", "scene", "--weights", bare, "--clips", "1"])
        #expect(noViews.status == 1 && noViews.stderr.contains("bare.views.safetensors"), "\(noViews.stderr)")
        let random = try run(Paths.decouple, ["embed", video, "--view", "motion", "--random-weights"])
        #expect(random.status == 1 && random.stderr.contains("needs trained weights"), "\(random.stderr)")
    }
}
