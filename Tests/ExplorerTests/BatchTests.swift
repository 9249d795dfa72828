import Explorer
import Foundation
import MediaIO
import TestSupport
import Testing
import VideoData

/// The explorer driven without a terminal on real videos, through MediaIO's reader.
@Suite("Batch mode on real videos")
struct BatchTests {
    static let open: FrameReaderFactory = { try VideoReader(path: $0) }

    static func app(_ paths: [String], width: Int = 120, height: Int = 40) -> ExplorerApp {
        ExplorerApp(paths: paths, width: width, height: height, caps: Capabilities(colors: 256, unicode: true), open: open, embedding: nil)
    }

    /// The motion pane's grid glyphs for the screen's current video.
    static func gridGlyphs(_ app: ExplorerApp, _ screen: Screen) -> [Character] {
        let s = app.state
        let info = s.video!.info!
        let layout = Layout(width: s.width, height: s.height, videoWidth: info.width, videoHeight: info.height)
        let size = layout.imageSize(videoWidth: info.width, videoHeight: info.height)
        let inner = layout.motion.inner
        let x0 = inner.x + (inner.width - size.columns) / 2
        var out: [Character] = []
        for y in inner.y..<(inner.y + size.rows) {
            for x in x0..<(x0 + size.columns) { out.append(screen[x, y].glyph) }
        }
        return out
    }

    @Test("a pattern moving right, then down, shows → then ↓ in most cells")
    func arrowsFollowKnownMotion() throws {
        let video = try TestVideos.knownMotion()
        let app = Self.app([video])
        let first = app.runBatch(keys: try Key.parse(script: String(repeating: ".", count: 10)).get())
        #expect(app.state.cursor == 10)
        let right = Self.gridGlyphs(app, first)
        #expect(Double(right.filter { $0 == "→" || $0 == "⇒" }.count) / Double(right.count) > 0.8, "\(String(right))")
        let app2 = Self.app([video])
        let second = app2.runBatch(keys: try Key.parse(script: String(repeating: ".", count: 35)).get())
        let down = Self.gridGlyphs(app2, second)
        #expect(Double(down.filter { $0 == "↓" || $0 == "⇓" }.count) / Double(down.count) > 0.8, "\(String(down))")
    }

    @Test("stepping backwards across a long GOP shows the same frame as stepping forwards")
    func backwards() throws {
        let video = Paths.asset("videos/bigbuckbunny_720p.mp4")
        let forward = Self.app([video]).runBatch(keys: try Key.parse(script: "<End><Left><Left>").get())
        let app = Self.app([video])
        let viaBack = app.runBatch(keys: try Key.parse(script: "<End><Left><Left><Left>.").get())
        #expect(app.state.cursor == 129)
        #expect(forward.plainText == viaBack.plainText)
        #expect(forward.styleDump == viaBack.styleDump)
    }

    @Test("an unreadable file and a codec without vectors are reported; the rest keeps working")
    func badInputsInside() throws {
        let mjpeg = try TestVideos.generated("explore_mjpeg.avi") { out in
            try runChecked("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-frames:v", "10", "-c:v", "mjpeg", out])
        }
        let missing = Paths.scratch + "/no-such-video.mp4"
        let good = Paths.asset("videos/tears_320x240.mp4")
        let app = Self.app([missing, mjpeg, good])
        let screen = app.runBatch(keys: [])
        // The missing file was current: the explorer moved on and says why.
        #expect(app.state.videos[0].error?.contains("does not exist") == true)
        #expect(screen.plainText.contains("no-such-video.mp4  ✗"))
        #expect(app.state.current == 1)
        #expect(screen.plainText.contains("codec mjpeg exports no motion vectors"))
        let next = app.runBatch(keys: try Key.parse(script: "<Tab><Down><Enter><S-Tab>...").get())
        #expect(app.state.current == 2 && app.state.cursor == 3)
        #expect(next.plainText.contains("frame 3/240"))
    }

    @Test("--json state and the final screen from the binary")
    func binary() throws {
        let out = try run(Paths.decouple, ["explore", "--batch", "--size", "100x30", "--keys", "..]<F1>", "--json", Paths.asset("videos/tears_320x240.mp4")])
        #expect(out.status == 0, "\(out.stderr)")
        let obj = try #require(try JSONSerialization.jsonObject(with: out.stdout) as? [String: Any])
        #expect(obj["cursor"] as? Int == 235)
        #expect(obj["help"] as? Bool == true)
        #expect((obj["frame"] as? [String: Any])?["type"] as? String == "I")
        let text = try run(Paths.decouple, ["explore", "--batch", "--ascii", "--colors", "0", "--keys", "<resize:70x20>", Paths.asset("videos/tears_320x240.mp4")])
        #expect(text.text.hasPrefix("Terminal too small: 70x20, need 80x24"))
        #expect(!text.text.contains("\u{1B}"))
        let bad = try run(Paths.decouple, ["explore", "--batch", "--keys", "<Bogus>", Paths.asset("videos/tears_320x240.mp4")])
        #expect(bad.status == 64)
    }
}
