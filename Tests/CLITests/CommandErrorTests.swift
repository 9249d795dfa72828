import Foundation
import TestSupport
import Testing

/// Paths of the thin commands that only bad input or a changed default reaches.
@Suite("Commands: refusals and defaults through the binary")
struct CommandErrorTests {
    @Test("explore refuses a folder without videos with one sentence naming it")
    func emptyFolder() throws {
        let dir = Paths.temporaryDirectory("no-videos")
        let r = try run(Paths.decouple, ["explore", "--batch", dir])
        #expect(r.status == 1 && r.stderr.contains("'\(dir)' holds no video files"), "\(r.stderr)")
    }

    @Test("explore: a bad --graphics or --colors is a usage error naming the choices; batch renders a forced mode")
    func graphicsOptions() throws {
        let video = Paths.asset("videos/tears_320x240.mp4")
        let bad = try run(Paths.decouple, ["explore", "--batch", "--graphics", "ascii-art", video])
        #expect(bad.status == 64 && bad.stderr.contains("auto, kitty, sixel, iterm, symbols or none"), "\(bad.stderr)")
        let colors = try run(Paths.decouple, ["explore", "--batch", "--colors", "12", video])
        #expect(colors.status == 64 && colors.stderr.contains("24bit, 256, 16, 8 or 0"), "\(colors.stderr)")
        // NO_COLOR (which a test runner may set) would turn the colours, and the mosaic, off.
        let mosaic = try run(
            Paths.decouple, ["explore", "--batch", "--graphics", "symbols", "--colors", "24bit", "--keys", ".", video],
            environment: ["NO_COLOR": ""])
        #expect(mosaic.status == 0 && mosaic.text.contains("24-bit mosaic"), "\(mosaic.stderr)")
        let sixel = try run(Paths.decouple, ["explore", "--batch", "--graphics", "sixel", "--keys", ".", video])
        #expect(sixel.status == 0 && sixel.text.contains("sixel images"), "\(sixel.stderr)")
    }

    @Test("store merge onto an existing output asks for --force and writes nothing")
    func mergeExisting() throws {
        let out = Paths.temporaryDirectory("merge-existing")
        try Data("keep".utf8).write(to: URL(fileURLWithPath: out + "/marker"))
        let r = try run(Paths.decouple, ["store", "merge", Paths.scratch + "/no-such-store", "-o", out])
        #expect(
            r.status == 1 && r.stderr.contains("'\(out)' already exists; pass --force to replace it."), "\(r.stderr)")
        #expect(FileManager.default.contents(atPath: out + "/marker") == Data("keep".utf8))
    }

    @Test("export of a folder that is not a pretraining run is one sentence and writes nothing")
    func exportNotARun() throws {
        let dir = Paths.temporaryDirectory("not-a-run")
        let r = try run(Paths.decouple, ["export", dir, "-o", dir + "/w.safetensors"])
        #expect(r.status == 1 && r.stderr.contains("'\(dir)' is not a pretraining run"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/w.safetensors"))
    }

    @Test("forward refuses --rgb: it reads a tensor, not a video")
    func forwardRGB() throws {
        let r = try run(
            Paths.decouple, ["forward", "--seed", "1", "--rgb", "accurate", "--input", "x.npy", "-o", "y.npy"])
        #expect(r.status == 64 && r.stderr.contains("--rgb applies to commands that read videos"), "\(r.stderr)")
    }

    @Test("--seed alone asks for random weights, labelled as such, with the ModelScope conversion")
    func seedImpliesRandom() throws {
        let video = Paths.asset("videos/tears_320x240.mp4")
        let r = try run(
            Paths.decouple,
            [
                "embed", video, "--seed", "3", "--config", "planes=6,8,12,16 stem=10", "--clips", "1", "--crop", "56",
                "--short-side", "64",
            ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("random weights (seed 3)"))
        let row = try #require(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
        let weights = try #require(row["weights"] as? [String: Any])
        #expect(weights["random"] as? Bool == true && weights["seed"] as? Int == 3)
    }
}
