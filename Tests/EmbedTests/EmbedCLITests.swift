import Foundation
import TestSupport
import Testing

/// `decouple convert` and `decouple embed` run as a user runs them (the built binary).
@Suite("decouple convert and decouple embed, end to end")
struct EmbedCLITests {
    static let checkpoints = Paths.asset("fixtures/checkpoints")
    static let narrow = "planes=6,8,12,16 stem=10"

    @Test("convert writes a safetensors file that embed loads; bad checkpoints exit 1 with one sentence and no file")
    func convert() throws {
        let dir = Paths.temporaryDirectory("cli-convert")
        let out = dir + "/narrow.safetensors"
        let ok = try run(
            Paths.decouple,
            ["convert", Self.checkpoints + "/r2p1d_narrow_wrapped.pt", "-o", out, "--config", Self.narrow])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.text.contains("228 tensors") && ok.text.contains("prefix \"module.\" removed"))
        #expect(FileManager.default.fileExists(atPath: out))
        // Refuses to overwrite without --force.
        let again = try run(
            Paths.decouple, ["convert", Self.checkpoints + "/r2p1d_narrow.pt", "-o", out, "--config", Self.narrow])
        #expect(again.status == 1 && again.stderr.contains("already exists"))

        for (file, expected) in [
            (
                "r2p1d_narrow_wrong_shape.pt",
                "mis-shaped  layer2.0.conv2_s.weight: expected [18, 8, 1, 3, 3], found [19, 8, 1, 3, 3]"
            ),
            ("r2p1d_narrow_missing_key.pt", "missing     conv1_t.weight"),
            ("whole_module.pt", "not a state dict"),
        ] {
            let target = dir + "/" + file + ".safetensors"
            let r = try run(
                Paths.decouple, ["convert", Self.checkpoints + "/" + file, "-o", target, "--config", Self.narrow])
            #expect(r.status == 1 && r.stderr.contains(expected), "\(file): \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: target))
        }
        let notCheckpoint = try run(
            Paths.decouple, ["convert", Paths.asset("videos/tears_320x240.mp4"), "-o", dir + "/x.safetensors"])
        #expect(notCheckpoint.status == 1 && notCheckpoint.stderr.contains("is not a PyTorch checkpoint"))
        let usage = try run(
            Paths.decouple,
            ["convert", Self.checkpoints + "/r2p1d_narrow.pt", "-o", dir + "/y.safetensors", "--model", "resnet50"])
        #expect(usage.status == 64)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["narrow.safetensors"])
    }

    @Test("embed writes a store (mean and per-clip rows), prints JSON lines, labels random weights")
    func embedStore() throws {
        let dir = Paths.temporaryDirectory("cli-embed")
        let weights = Paths.asset("fixtures/backbones/r2p1d_narrow_weights.safetensors")
        let videos = [Paths.asset("videos/tears_320x240.mp4"), Paths.asset("videos/bigbuckbunny_720p.mp4")]
        let store = dir + "/store"
        let r = try run(
            Paths.decouple, ["embed"] + videos + ["--weights", weights, "--config", Self.narrow, "-o", store])
        #expect(r.status == 0, "\(r.stderr)")
        let npy = try FixtureFiles.readFloat32NPY(store + "/embeddings.npy")
        #expect(npy.shape == [2, 64])
        let items = try String(contentsOfFile: store + "/items.jsonl", encoding: .utf8).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(items.map { $0["id"] as! String } == ["tears_320x240", "bigbuckbunny_720p"])
        #expect(
            items[0]["start_frame"] as? Int == 8 && items[0]["end_frame"] as? Int == 231
                && items[0]["clips"] as? Int == 10)
        let manifest =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: store + "/manifest.json")))
            as! [String: Any]
        let w = manifest["weights"] as! [String: Any]
        #expect(w["random"] as? Bool == false && (w["sha256"] as? String)?.count == 64)
        #expect(manifest["rgb"] as? String == "modelscope")
        #expect(manifest["dimension"] as? Int == 64 && manifest["count"] as? Int == 2)

        // The same vector as the Python reference with decord's frames: weights without a model
        // card take the ModelScope pipeline's RGB conversion (the library test checks every clip).
        let reference =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: Paths.asset("fixtures/embed/reference.json"))))
            as! [String: Any]
        let tears = (reference["results"] as! [[String: Any]]).first {
            ($0["decoder"] as! String) == "decord" && ($0["video"] as! String).hasSuffix("tears_320x240.mp4")
        }!
        let expected = (tears["embedding"] as! [Double]).map(Float.init)
        let scale = expected.map { abs($0) }.max()!
        #expect(zip(npy.values.prefix(64), expected).map { abs($0 - $1) }.max()! <= 1e-4 * scale)

        // Per clip, printed, random weights: ten lines with time ranges, labelled random.
        let printed = try run(
            Paths.decouple,
            [
                "embed", videos[0], "--random-weights", "--seed", "3", "--config", Self.narrow, "--per-clip", "--crop",
                "56", "--short-side", "64",
            ])
        #expect(printed.status == 0, "\(printed.stderr)")
        #expect(printed.stderr.contains("random weights (seed 3)"))
        let lines = printed.text.split(separator: "\n").map {
            try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        #expect(lines.count == 10)
        #expect(lines.map { $0["id"] as! String }.first == "tears_320x240@8")
        #expect((lines[0]["weights"] as? [String: Any])?["random"] as? Bool == true)
        #expect((lines[0]["embedding"] as? [Double])?.count == 64)
        #expect(lines[9]["end_seconds"] as? Double == 231.0 / 24)
    }

    @Test("embed without weights, on bad videos or with bad options fails with one sentence")
    func embedErrors() throws {
        let dir = Paths.temporaryDirectory("cli-embed-bad")
        let video = Paths.asset("videos/tears_320x240.mp4")
        // R3D-26 has no shipped weights (weights/default.json names the compact R(2+1)D).
        let none = try run(Paths.decouple, ["embed", video, "--model", "r3d-26"], environment: nil)
        #expect(none.status == 1 && none.stderr.contains("pass --weights FILE"), "\(none.stderr)")
        #expect(none.stderr.split(separator: "\n").count == 1)
        let notVideo = Paths.asset("fixtures/embed/MANIFEST.json")
        let bad = try run(
            Paths.decouple,
            [
                "embed", notVideo, video, "--random-weights", "--config", Self.narrow, "--crop", "56", "--short-side",
                "64", "-o", dir + "/store",
            ])
        // A batch logs what it cannot read, keeps the rest, and exits 1.
        #expect(
            bad.status == 1 && bad.stderr.contains("MANIFEST.json") && bad.stderr.contains("1 of 2 videos failed"),
            "\(bad.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir + "/store/manifest.json"))
        let usage = try run(Paths.decouple, ["embed", video, "--random-weights", "--weights", "x.safetensors"])
        #expect(usage.status == 64)
        let wrongWeights = try run(
            Paths.decouple,
            ["embed", video, "--weights", Self.checkpoints + "/r2p1d_narrow_missing_key.pt", "--config", Self.narrow])
        #expect(wrongWeights.status == 1 && wrongWeights.stderr.contains("missing     conv1_t.weight"))
    }

    @Test(
        "without model options embed uses the shipped weights and their view, unless weights/r2p1d-26.safetensors of the user's exists"
    )
    func shippedWeights() throws {
        let video = Paths.asset("videos/tears_320x240.mp4")
        let plain = Paths.temporaryDirectory("cli-embed-shipped")
        let r = try run(Paths.decouple, ["embed", video, "--clips", "1"], directory: plain)
        #expect(r.status == 0, "\(r.stderr)")
        let row = try #require(
            try JSONSerialization.jsonObject(with: Data(r.text.split(separator: "\n")[0].utf8)) as? [String: Any])
        let card = try #require(
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: Paths.root + "/weights/default.json"))) as? [String: Any])
        let weights = try #require(row["weights"] as? [String: Any])
        #expect(
            (weights["file"] as? String)?.hasSuffix("weights/" + (card["weights"] as! String)) == true, "\(weights)")
        // The backbone's views keep the compact model's 512 channels; the motion views project
        // them to the predictor's width, the predicted view to the heads' output.
        let dimension = (row["embedding"] as? [Any])?.count ?? 0
        #expect(
            ["pooled", "fused", "residual"].contains(card["view"] as! String) ? dimension == 512 : dimension < 512,
            "\(dimension)")
        // A user's own weights/r2p1d-26.safetensors (here a broken one) takes precedence.
        let own = Paths.temporaryDirectory("cli-embed-own")
        try FileManager.default.createDirectory(atPath: own + "/weights", withIntermediateDirectories: true)
        try Data("not weights".utf8).write(to: URL(fileURLWithPath: own + "/weights/r2p1d-26.safetensors"))
        let mine = try run(Paths.decouple, ["embed", video, "--clips", "1"], directory: own)
        #expect(mine.status == 1 && mine.stderr.contains("weights/r2p1d-26.safetensors"), "\(mine.stderr)")
    }
}
