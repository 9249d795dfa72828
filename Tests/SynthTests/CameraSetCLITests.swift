import Foundation
import MediaIO
import TestSupport
import Testing

/// `decouple camera-set` through the built binary, on a bundled video at a small size.
@Suite("Camera-move set through the binary")
struct CameraSetCLITests {
    static let small = ["--frames", "24", "--size", "64x48", "--per-class", "1", "--seed", "2"]

    @Test("labels.csv rows, decodable H.264 with the right frame count and GOP, read by eval scene-bias")
    func endToEnd() throws {
        let dir = Paths.temporaryDirectory("camera-set")
        let tears = Paths.asset("videos/tears_320x240.mp4")
        let r = try run(
            Paths.decouple,
            ["camera-set", tears, "-o", dir + "/set", "--classes", "still", "pan-right", "zoom-in"] + Self.small)
        #expect(r.status == 0, "\(r.stderr)")
        // 240 frames: ten scenes of 24 frames; 3 classes x 1 video x 2 splits.
        #expect(r.text.contains("6 videos (3 classes x 1 x 2 splits) over 10 scenes of 1 videos"), "\(r.text)")
        let labels = try String(contentsOfFile: dir + "/set/labels.csv", encoding: .utf8).split(separator: "\n")
        #expect(labels.first == "path,class,split")
        #expect(labels.count == 1 + 6)
        for line in labels.dropFirst() {
            let f = line.split(separator: ",").map(String.init)
            #expect(f[0] == "\(f[2])/\(f[1])_000.mp4")
            let path = dir + "/set/" + f[0]
            let types = try FFmpegReference.frameTypes(path)
            #expect(types.map(\.type) == (0..<24).map { $0 % 16 == 0 ? "I" : "P" }, "\(f[0])")
            let reader = try VideoReader(path: path)
            #expect(reader.info.width == 64 && reader.info.height == 48 && reader.info.frameCount == 24)
            var decoded = 0
            while try reader.next() != nil { decoded += 1 }
            #expect(decoded == 24, "\(f[0])")
        }
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/set/camera.json")))
                as? [String: Any])
        #expect((json["videos"] as? [Any])?.count == 6 && (json["scenes"] as? [Any])?.count == 10)
        let eval = try run(Paths.decouple, ["eval", "scene-bias", dir + "/set", "--no-random-model"])
        #expect(eval.status == 0, "\(eval.stderr)")
        #expect(eval.text.contains("3 out-of-context queries, 3 in-context gallery, 3 classes"), "\(eval.text)")
        // The same seed gives the same labels and windows.
        let again = try run(
            Paths.decouple,
            ["camera-set", tears, "-o", dir + "/again", "--classes", "still", "pan-right", "zoom-in"] + Self.small)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(
            FileManager.default.contents(atPath: dir + "/set/camera.json")
                == FileManager.default.contents(atPath: dir + "/again/camera.json"))
    }

    @Test("without videos it cuts scenes from the bundled footage")
    func bundled() throws {
        let dir = Paths.temporaryDirectory("camera-set-bundled")
        let r = try run(
            Paths.decouple, ["camera-set", "-o", dir + "/set", "--classes", "still", "tilt-up"] + Self.small)
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/set/camera.json")))
                as? [String: Any])
        let names = ((json["sources"] as? [[String: Any]]) ?? []).compactMap { $0["name"] as? String }
        #expect(
            Set(names).isSuperset(of: ["tears_320x240.mp4", "friday_480p.mp4", "tears_shots_432x180.mp4"]), "\(names)")
    }

    @Test("a missing, unreadable or too short video, or an existing output, is one sentence and exit 1, no folder")
    func badInputs() throws {
        let dir = Paths.temporaryDirectory("camera-set-bad")
        let tears = Paths.asset("videos/tears_320x240.mp4")
        let short = Paths.asset("fixtures/modelscope/tears_short_160x120.mp4")
        try "not a video".write(toFile: dir + "/notes.mp4", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: dir + "/exists", withIntermediateDirectories: true)
        let cases: [(args: [String], file: String, says: String)] = [
            ([tears, dir + "/missing.mp4"], "missing.mp4", "does not exist"),
            ([dir + "/notes.mp4"], "notes.mp4", "is not a video file"),
            ([tears, short, "--frames", "80"], "tears_short_160x120.mp4", "has 48 frames, fewer than the 80"),
        ]
        for c in cases {
            let out = dir + "/out"
            let r = try run(Paths.decouple, ["camera-set", "-o", out, "--size", "64x48"] + c.args)
            let lines = r.stderr.split(separator: "\n")
            #expect(r.status == 1, "\(c.args): \(r.stderr)")
            #expect(lines.count == 1 && r.stderr.contains(c.file) && r.stderr.contains(c.says), "\(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out))
        }
        let exists = try run(Paths.decouple, ["camera-set", tears, "-o", dir + "/exists"] + Self.small)
        #expect(exists.status == 1 && exists.stderr.contains("already exists; pass --force"), "\(exists.stderr)")
        // Nothing half-written anywhere.
        let left = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        #expect(left == ["exists", "notes.mp4"], "\(left)")
    }
}
