import Explorer
import Testing
import VideoData

@Suite("Keys and the state machine")
struct ReducerTests {
    @Test("key scripts parse literal characters and named keys")
    func parse() throws {
        let keys = try Key.parse(script: ".,<Left><S-Right><Tab><Enter><Esc><Space><F1><C-c><resize:100x30><wait><lt>x")
            .get()
        #expect(
            keys == [
                .char("."), .char(","), .left, .shiftRight, .tab, .enter, .escape, .char(" "), .function(1), .interrupt,
                .resize(width: 100, height: 30), .wait, .char("<"), .char("x"),
            ])
        #expect(throws: Key.ParseError.self) { try Key.parse(script: "<Nope>").get() }
        #expect(throws: Key.ParseError.self) { try Key.parse(script: "<resize:10>").get() }
    }

    @Test("stepping clamps to the video and asks for the frame")
    func stepping() {
        var s = Fixtures.state()
        #expect(s.handle(.char(",")) == [.showFrame(video: 0, index: 0)])
        #expect(s.handle(.char(".")) == [.showFrame(video: 0, index: 1)])
        _ = s.handle(.char("G"))
        #expect(s.cursor == 47)
        _ = s.handle(.right)
        #expect(s.cursor == 47)
        _ = s.handle(.char("g"))
        #expect(s.cursor == 0)
        _ = s.handle(.down)
        #expect(s.cursor == 10)
    }

    @Test("keyframe jumps use the scanned I-frames; the keyframe view asks for both frames")
    func keyframes() {
        var s = Fixtures.state()
        s.cursor = 5
        _ = s.handle(.char("]"))
        #expect(s.cursor == 24)
        _ = s.handle(.shiftRight)
        #expect(s.cursor == 24 && s.status == "No later keyframe")
        _ = s.handle(.shiftLeft)
        #expect(s.cursor == 0)
        s.cursor = 30
        #expect(s.handle(.char("i")) == [.showFrame(video: 0, index: 30), .showFrame(video: 0, index: 24)])
    }

    @Test("Space marks the window at the cursor; e embeds marked windows, or the one at the cursor")
    func marksAndEmbed() {
        var s = Fixtures.state()
        s.cursor = 2
        _ = s.handle(.char(" "))
        // 16 frames every 4 from 2 end at 62: past the 48-frame video.
        #expect(s.marked.isEmpty && s.statusIsError)
        _ = s.handle(.char("<"))
        _ = s.handle(.char("<"))
        #expect(s.clipStride == 2)
        _ = s.handle(.char(" "))
        #expect(s.marked == [ClipRef(video: 0, start: 2, length: 16, stride: 2)])
        _ = s.handle(.char(" "))
        #expect(s.marked.isEmpty)
        _ = s.handle(.char(" "))
        #expect(s.handle(.char("e")) == [.embed([ClipRef(video: 0, start: 2, length: 16, stride: 2)])])
        #expect(s.job?.total == 1)
        #expect(s.handle(.char("e")) == [])
        #expect(s.statusIsError)
        #expect(s.handle(.char("c")) == [.cancelEmbedding])
        #expect(s.job?.cancelling == true)
        _ = s.apply(.embedFinished(cancelled: true, error: nil))
        #expect(s.job == nil && s.status?.hasPrefix("Embedding cancelled") == true)
    }

    @Test("q asks while work runs; y cancels and quits; Ctrl-C quits at once")
    func quitting() {
        var s = Fixtures.state()
        s.job = EmbedJob(total: 2, startedAt: 0)
        #expect(s.handle(.char("q")) == [])
        #expect(s.prompt == .confirmQuit)
        #expect(s.handle(.char("n")) == [])
        #expect(s.prompt == nil && !s.quit)
        _ = s.handle(.char("q"))
        #expect(s.handle(.char("y")) == [.cancelEmbedding, .quit])
        #expect(s.quit)
        var t = Fixtures.state()
        #expect(t.handle(.interrupt) == [.quit])
        var u = Fixtures.state()
        #expect(u.handle(.char("q")) == [.quit])
    }

    @Test("help overlay opens and closes; other keys are ignored under it")
    func help() {
        var s = Fixtures.state()
        _ = s.handle(.function(1))
        #expect(s.help)
        #expect(s.handle(.char(".")) == [])
        #expect(s.cursor == 0 && s.help)
        _ = s.handle(.escape)
        #expect(!s.help)
        _ = s.handle(.char("?"))
        _ = s.handle(.char("?"))
        #expect(!s.help)
    }

    @Test("Tab cycles panes; the clips pane opens videos; a broken one says why; / finds by name")
    func panesAndFind() {
        var s = Fixtures.state()
        _ = s.handle(.tab)
        #expect(s.focus == .clips)
        _ = s.handle(.down)
        #expect(s.handle(.enter) == [.showFrame(video: 1, index: 0)])
        #expect(s.current == 1)
        _ = s.handle(.down)
        #expect(s.handle(.enter) == [])
        #expect(s.current == 1 && s.statusIsError && s.status!.contains("broken.mp4"))
        _ = s.handle(.backTab)
        #expect(s.focus == .video)
        _ = s.handle(.char("/"))
        for c in "walk" { _ = s.handle(.char(c)) }
        #expect(s.prompt == .find("walk"))
        #expect(s.handle(.enter) == [.showFrame(video: 0, index: 0)])
        #expect(s.current == 0 && s.prompt == nil)
        _ = s.handle(.char("/"))
        _ = s.handle(.char("z"))
        _ = s.handle(.enter)
        #expect(s.status == "No video matches 'z'")
    }

    @Test("neighbours: cosine order, excluding the clip itself; n focuses the clip at the cursor")
    func neighbours() {
        var s = Fixtures.state()
        s.embedded = Fixtures.embedded()
        let n = s.neighbours(of: s.embedded[0], count: 5)
        #expect(n.map(\.clip.clip) == [s.embedded[1].clip, s.embedded[2].clip])
        #expect(n[0].cosine > 0.98 && abs(n[1].cosine) < 1e-6)
        s.cursor = 25
        _ = s.handle(.char("n"))
        #expect(s.focus == .embeddings && s.focusedEmbedding == 2)
        _ = s.handle(.up)
        #expect(s.focusedEmbedding == 1)
        _ = s.handle(.enter)
        #expect(s.current == 1 && s.cursor == 4)
    }

    @Test("scale, lists, tiers: +/- double and halve, = returns to auto, t never exceeds the terminal")
    func display() {
        var s = Fixtures.state(caps: Capabilities(colors: 16, unicode: true))
        _ = s.handle(.char("+"))
        #expect(s.vectorScale == 8)
        _ = s.handle(.char("-"))
        _ = s.handle(.char("-"))
        #expect(s.vectorScale == 2)
        _ = s.handle(.char("="))
        #expect(s.vectorScale == nil)
        _ = s.handle(.char("m"))
        #expect(s.lists == .list0)
        var seen: [Capabilities.Tier] = []
        for _ in 0..<4 {
            _ = s.handle(.char("t"))
            seen.append(s.caps.tier)
        }
        #expect(!seen.contains(.halfBlocks256))
        #expect(Set(seen) == [.colorCells, .mono, .halfBlocksDithered])
    }

    @Test("worker events: open failure moves on to a usable video; scans fill the marks")
    func events() {
        var s = ExplorerState(
            width: 120, height: 40, caps: Capabilities(colors: 256, unicode: true), paths: ["/a.mp4", "/b.mp4"],
            modelDescription: "m")
        #expect(s.apply(.openFailed(video: 0, message: "'/a.mp4' does not exist.")) == [])
        #expect(s.statusIsError)
        // The failed video was current, so the next one became current and is shown once open.
        #expect(s.current == 1)
        #expect(s.apply(.opened(video: 1, info: Fixtures.info(path: "/b.mp4"))) == [.showFrame(video: 1, index: 0)])
        _ = s.apply(.scanned(video: 1, from: 0, marks: Array(Fixtures.marks().prefix(10)), done: false))
        _ = s.apply(.scanned(video: 1, from: 10, marks: Array(Fixtures.marks().dropFirst(10)), done: true))
        #expect(s.videos[1].marks == Fixtures.marks() && s.videos[1].scanDone)
    }
}
