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

    @Test("neighbours per view: cosine order, excluding the clip itself; the verdict; n focuses the clip here")
    func neighbours() throws {
        var s = Fixtures.state()
        s.embedded = Fixtures.embedded()
        let n = s.neighbours(of: s.embedded[0], in: "scene", count: 5)
        #expect(n.map(\.clip.clip) == [s.embedded[1].clip, s.embedded[2].clip])
        #expect(n[0].cosine > 0.98 && abs(n[1].cosine) < 1e-6)
        // Per view: by motion clip 2 comes first; clip 2 has no video view, so it is no one's
        // neighbour there and has none itself.
        #expect(s.neighbours(of: s.embedded[0], in: "motion", count: 5).first?.clip.clip == s.embedded[2].clip)
        #expect(s.neighbours(of: s.embedded[0], in: "video", count: 5).map(\.clip.clip) == [s.embedded[1].clip])
        #expect(s.neighbours(of: s.embedded[2], in: "video", count: 5).isEmpty)
        let verdict = try #require(s.sceneMotionVerdict(of: s.embedded[0]))
        #expect(verdict == SceneMotionVerdict(motionMatch: s.embedded[2].clip, sceneMatch: s.embedded[1].clip))
        #expect(
            s.verdictLines(verdict, width: 100) == [
                "same motion, different scene: motion's top match is walk 20-35, scene's is run 4-34"
            ])
        #expect(
            s.verdictLines(verdict, width: 40) == [
                "same motion, different scene:", "motion: walk 20-35, scene: run 4-34",
            ])
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

    /// Clip 0 of the walk video, as the worker reports it view by view.
    static let clip = ClipRef(video: 0, start: 0, length: 16, stride: 2)

    @Test("views arrive in the model's order: the clip shows at once, each view computing until its result")
    func viewsInOrder() {
        var s = Fixtures.state()
        s.marked = [Self.clip]
        _ = s.handle(.char("e"))
        _ = s.apply(.embedStarted(clip: Self.clip, view: "scene"))
        #expect(s.embedded.count == 1 && s.job?.view == "scene")
        #expect(Fixtures.views.map { s.status(of: s.embedded[0], in: $0) } == [.computing, .computing, .computing])
        _ = s.apply(.embeddedView(clip: Self.clip, view: "scene", vector: [1, 0], sceneReliance: nil))
        #expect(s.status(of: s.embedded[0], in: "scene") == .ready)
        #expect(s.marked.isEmpty)
        _ = s.apply(.embedStarted(clip: Self.clip, view: "motion"))
        _ = s.apply(.embeddedView(clip: Self.clip, view: "motion", vector: [0, 1], sceneReliance: nil))
        _ = s.apply(.embedStarted(clip: Self.clip, view: "video"))
        #expect(s.status(of: s.embedded[0], in: "video") == .computing)
        #expect(Renderer(frames: Fixtures.frames).render(s).plainText.contains("embedding clip 1/1: video"))
        _ = s.apply(.embeddedView(clip: Self.clip, view: "video", vector: [1, 1], sceneReliance: 0.5))
        _ = s.apply(.embedProgress(done: 1))
        _ = s.apply(.embedFinished(cancelled: false, error: nil))
        #expect(s.job == nil && s.status == "Embedded 1 clip" && !s.statusIsError)
        #expect(s.embedded[0].vectors == ["scene": [1, 0], "motion": [0, 1], "video": [1, 1]])
        #expect(s.embedded[0].sceneReliance == ["video": 0.5])
        // Embedding it again forgets each view's old result as that view starts.
        s.marked = [Self.clip]
        _ = s.handle(.char("e"))
        _ = s.apply(.embedStarted(clip: Self.clip, view: "scene"))
        #expect(s.embedded.count == 1 && s.status(of: s.embedded[0], in: "scene") == .computing)
        #expect(s.status(of: s.embedded[0], in: "video") == .ready)
    }

    @Test("a failed view is recorded for its clip and shown; the others go on; the status names it")
    func viewErrors() {
        var s = Fixtures.state()
        s.marked = [Self.clip]
        _ = s.handle(.char("e"))
        let message = "'walk.mp4' has no motion vectors in frames 0-60 (intra-only)."
        _ = s.apply(.embedStarted(clip: Self.clip, view: "scene"))
        _ = s.apply(.embeddedView(clip: Self.clip, view: "scene", vector: [1, 0], sceneReliance: nil))
        _ = s.apply(.embedStarted(clip: Self.clip, view: "motion"))
        _ = s.apply(.embedViewFailed(clip: Self.clip, view: "motion", message: message))
        _ = s.apply(.embedStarted(clip: Self.clip, view: "video"))
        _ = s.apply(.embeddedView(clip: Self.clip, view: "video", vector: [1, 1], sceneReliance: 0.5))
        _ = s.apply(.embedProgress(done: 1))
        _ = s.apply(.embedFinished(cancelled: false, error: nil))
        #expect(s.status(of: s.embedded[0], in: "motion") == .failed(message))
        #expect(s.status(of: s.embedded[0], in: "video") == .ready)
        #expect(s.statusIsError && s.status == "Embedded 1 clip; motion: \(message)")
        s.activeView = 1
        let text = Renderer(frames: Fixtures.frames).render(s).plainText
        #expect(text.contains("✗ 'walk.mp4' has no motion"), "\(text)")
        // Nothing computed at all (the weights are missing): the job failed, in one line.
        var t = Fixtures.state(views: ["video"])
        t.marked = [Self.clip]
        _ = t.handle(.char("e"))
        _ = t.apply(.embedStarted(clip: Self.clip, view: "video"))
        _ = t.apply(.embedViewFailed(clip: Self.clip, view: "video", message: "'/w' does not exist."))
        _ = t.apply(.embedProgress(done: 1))
        _ = t.apply(.embedFinished(cancelled: false, error: nil))
        #expect(t.statusIsError && t.status == "Embedding failed: video: '/w' does not exist.")
    }

    @Test("v cycles the views and names the active one; with one view it says so")
    func switchView() {
        var s = Fixtures.state()
        #expect(s.activeViewName == "scene")
        _ = s.handle(.char("v"))
        #expect(s.activeViewName == "motion" && s.status == "View: motion (v cycles scene, motion, video)")
        _ = s.handle(.char("v"))
        _ = s.handle(.char("v"))
        #expect(s.activeViewName == "scene")
        var one = Fixtures.state(views: ["video"])
        _ = one.handle(.char("v"))
        #expect(one.activeViewName == "video" && one.status == "The model computes one view: video")
        var none = Fixtures.state(views: [])
        _ = none.handle(.char("v"))
        #expect(none.activeViewName == nil && none.statusIsError)
    }

    @Test("cancelled between views: the computed views stay, the rest read not computed; empty clips go")
    func cancelBetweenViews() {
        var s = Fixtures.state()
        let other = ClipRef(video: 0, start: 20, length: 16, stride: 1)
        s.marked = [Self.clip, other]
        _ = s.handle(.char("e"))
        _ = s.apply(.embedStarted(clip: Self.clip, view: "scene"))
        _ = s.apply(.embeddedView(clip: Self.clip, view: "scene", vector: [1, 0], sceneReliance: nil))
        _ = s.apply(.embedStarted(clip: Self.clip, view: "motion"))
        #expect(s.handle(.char("c")) == [.cancelEmbedding])
        #expect(s.status == "Cancelling: the view being computed finishes first")
        _ = s.apply(.embedFinished(cancelled: true, error: nil))
        #expect(s.job == nil && s.status == "Embedding cancelled after 0 clips")
        #expect(s.embedded.map(\.clip) == [Self.clip])
        #expect(s.status(of: s.embedded[0], in: "scene") == .ready)
        #expect(s.status(of: s.embedded[0], in: "motion") == .missing)
        #expect(s.marked == [other])
    }
}
