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
        ExplorerApp(
            paths: paths, width: width, height: height, caps: Capabilities(colors: 256, unicode: true), open: open,
            embedding: nil)
    }

    /// The motion pane's grid glyphs for the screen's current video.
    static func gridGlyphs(_ app: ExplorerApp, _ screen: Screen) -> [Character] {
        let s = app.state
        let info = s.video!.info!
        let layout = Layout(width: s.width, height: s.height, videoWidth: info.width, videoHeight: info.height)
        let size = layout.gridSize(videoWidth: info.width, videoHeight: info.height)!
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

    @Test("playback through the app and its decoder: the clock's frame is shown, the skipped ones counted")
    func playback() throws {
        let app = Self.app([Paths.asset("videos/bigbuckbunny_720p.mp4")])
        app.start()
        app.settle()
        defer { app.stop() }
        let fps = try #require(app.state.video?.info?.fps)
        app.handle(.char("p"))
        app.tick(now: 100)
        // 0.4 s later the clock is at frame 10 (25 fps): asked for, decoded (or found in the
        // cache), shown; frames 1-9 were never shown.
        app.tick(now: 100 + 10 / fps)
        app.settle()
        #expect(app.state.cursor == 10)
        #expect(app.state.playback?.shown == 1)
        #expect(app.state.playback?.dropped == 9)
        let screen = app.render()
        #expect(screen.plainText.contains("frame 10/132"))
        #expect(screen.plainText.contains("▶ 1x, 9 dropped"))
        // Far past the end: the last frame, then playback stops by itself.
        app.tick(now: 1000)
        app.settle()
        #expect(app.state.cursor == 131)
        #expect(!app.state.playing)
        #expect(app.state.status?.hasPrefix("End of video at frame 131: 2 shown, 129 dropped") == true)
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
            try runChecked(
                "ffmpeg",
                [
                    "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-frames:v", "10",
                    "-c:v", "mjpeg", out,
                ])
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
        let out = try run(
            Paths.decouple,
            [
                "explore", "--batch", "--size", "100x30", "--keys", "..]<F1>", "--json",
                Paths.asset("videos/tears_320x240.mp4"),
            ])
        #expect(out.status == 0, "\(out.stderr)")
        let obj = try #require(try JSONSerialization.jsonObject(with: out.stdout) as? [String: Any])
        #expect(obj["cursor"] as? Int == 235)
        #expect(obj["help"] as? Bool == true)
        #expect((obj["frame"] as? [String: Any])?["type"] as? String == "I")
        let text = try run(
            Paths.decouple,
            [
                "explore", "--batch", "--ascii", "--colors", "0", "--keys", "<resize:70x20>",
                Paths.asset("videos/tears_320x240.mp4"),
            ])
        #expect(text.text.hasPrefix("Terminal too small: 70x20, need 80x24"))
        #expect(!text.text.contains("\u{1B}"))
        let bad = try run(
            Paths.decouple, ["explore", "--batch", "--keys", "<Bogus>", Paths.asset("videos/tears_320x240.mp4")])
        #expect(bad.status == 64)
    }

    static let tiny = ["--random-weights", "--seed", "3", "--config", "planes=8,8,16,16 stem=8"]

    @Test(
        "with the shipped weights the scene reliance follows their view: none in the residual views, where a still clip is zero"
    )
    func shippedView() throws {
        let card = try #require(
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: Paths.root + "/weights/default.json"))) as? [String: Any])
        let view = try #require(card["view"] as? String)
        let out = try run(
            Paths.decouple,
            [
                "explore", "--batch", "--json", "--no-cache", "--keys", "e<wait>",
                Paths.asset("videos/tears_320x240.mp4"),
            ], directory: Paths.root)
        #expect(out.status == 0, "\(out.stderr)")
        let obj = try #require(try JSONSerialization.jsonObject(with: out.stdout) as? [String: Any])
        let embedded = try #require((obj["embedded"] as? [[String: Any]])?.first, "\(obj)")
        #expect((embedded["norm"] as? Double ?? 0) > 0)
        if view.hasSuffix("residual") {
            #expect(embedded["sceneReliance"] == nil || embedded["sceneReliance"] is NSNull, "\(embedded)")
        } else {
            #expect(embedded["sceneReliance"] is Double, "\(embedded)")
        }
    }

    @Test("e embeds with the real backbone; n lists neighbours across videos; the cache makes reopening instant")
    func embedding() throws {
        let cache = Paths.temporaryDirectory("cache")
        let videos = [Paths.asset("videos/tears_320x240.mp4"), Paths.asset("videos/friday_480p.mp4")]
        let args =
            ["explore", "--batch", "--json", "--cache", cache] + Self.tiny
            + ["--keys", " <Tab><Down><Enter><S-Tab>.. e<wait>n"] + videos
        let first = try run(Paths.decouple, args)
        #expect(first.status == 0, "\(first.stderr)")
        let obj = try #require(try JSONSerialization.jsonObject(with: first.stdout) as? [String: Any])
        let embedded = try #require(obj["embedded"] as? [[String: Any]])
        #expect(embedded.count == 2, "\(obj)")
        #expect(embedded.map { $0["label"] as? String } == ["tears_320x240 0-60", "friday_480p 2-62"])
        for e in embedded {
            #expect((e["norm"] as? Double ?? 0) > 0)
            let r = try #require(e["sceneReliance"] as? Double)
            #expect(r >= -1.0001 && r <= 1.0001)
        }
        let neighbours = try #require(obj["neighbours"] as? [[String: Any]])
        #expect(neighbours.count == 1)
        #expect(neighbours.first?["label"] as? String == "tears_320x240 0-60")
        let files = try FileManager.default.contentsOfDirectory(atPath: cache).filter { $0.hasSuffix(".clip") }
        #expect(files.count == 2)
        // Reopened, the same clips come from the cache with the same vectors.
        let second = try run(Paths.decouple, args)
        let again = try #require(try JSONSerialization.jsonObject(with: second.stdout) as? [String: Any])
        let norms = { (o: [String: Any]) in
            (o["embedded"] as? [[String: Any]] ?? []).map { $0["norm"] as? Double ?? -1 }
        }
        #expect(norms(again) == norms(obj))
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache).filter { $0.hasSuffix(".clip") }.count == 2)
    }

    @Test("a missing weights file shows in the status bar and the rest keeps working")
    func missingWeights() throws {
        let out = try run(
            Paths.decouple,
            [
                "explore", "--batch", "--weights", "/no/such/weights.safetensors", "--no-cache",
                "--keys", "e<wait>...", Paths.asset("videos/tears_320x240.mp4"),
            ])
        #expect(out.status == 0, "\(out.stderr)")
        let last = out.text.split(separator: "\n").last.map(String.init) ?? ""
        #expect(out.text.contains("frame 3/240"))
        let json = try run(
            Paths.decouple,
            [
                "explore", "--batch", "--json", "--weights", "/no/such/weights.safetensors", "--no-cache",
                "--keys", "e<wait>", Paths.asset("videos/tears_320x240.mp4"),
            ])
        let obj = try #require(try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any])
        let status = try #require(obj["status"] as? String)
        #expect(
            status.hasPrefix("Embedding failed:") && status.contains("/no/such/weights.safetensors"),
            "\(status) / \(last)")
    }

    @Test("--descriptor-views: scene and motion before video, side by side on a wide screen, v in JSON")
    func threeViews() throws {
        let videos = [Paths.asset("videos/tears_320x240.mp4"), Paths.asset("videos/friday_480p.mp4")]
        let args =
            ["explore", "--batch", "--no-cache", "--descriptor-views"] + Self.tiny
            + ["--keys", " <Tab><Down><Enter><S-Tab>.. e<wait>n"]
        let wide = try run(Paths.decouple, args + ["--size", "200x50"] + videos)
        #expect(wide.status == 0, "\(wide.stderr)")
        let lines = wide.text.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.contains("views (v): [scene] motion video") }, "\(wide.text)")
        #expect(lines.contains { $0.contains("nearest to friday_480p 2-62 (cosine):") })
        // One column per view, each headed by its name, each with the other clip as neighbour.
        let head = try #require(lines.firstIndex { $0.contains("[scene]") && !$0.contains("views (v)") })
        #expect(lines[head].contains("video"))
        #expect(lines[head + 1].components(separatedBy: "tears").count - 1 == 3, "\(lines[head + 1])")
        #expect(lines.contains { $0.contains("scene and motion agree") || $0.contains("same motion, different scene") })
        let json = try run(Paths.decouple, args.map { $0.hasSuffix("e<wait>n") ? $0 + "v" : $0 } + ["--json"] + videos)
        #expect(json.status == 0, "\(json.stderr)")
        let obj = try #require(try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any])
        #expect(obj["views"] as? [String] == ["scene", "motion", "video"])
        #expect(obj["activeView"] as? String == "motion")
        let embedded = try #require(obj["embedded"] as? [[String: Any]])
        #expect(embedded.count == 2)
        for e in embedded {
            let views = try #require(e["views"] as? [String: [String: Any]])
            #expect(Set(views.keys) == ["scene", "motion", "video"])
            #expect(views.values.allSatisfy { $0["status"] as? String == "ready" }, "\(views)")
        }
        let byView = try #require(obj["neighboursByView"] as? [String: [[String: Any]]])
        #expect(byView.values.allSatisfy { $0.first?["label"] as? String == "tears_320x240 0-60" })
        #expect(obj["verdict"] is String)
    }
}
