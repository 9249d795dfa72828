import Explorer
import TestSupport
import Testing
import VideoData

/// Golden screens of the pure model: every pane, every colour tier, UTF-8 and ASCII.
@Suite("Rendering to a text grid (goldens)")
struct RenderingTests {
    static let tiers: [(String, Capabilities)] = [
        ("utf8-256", Capabilities(colors: 256, unicode: true)),
        ("utf8-16", Capabilities(colors: 16, unicode: true)),
        ("utf8-8", Capabilities(colors: 8, unicode: true)),
        ("ascii-256", Capabilities(colors: 256, unicode: false)),
        ("ascii-8", Capabilities(colors: 8, unicode: false)),
        ("utf8-mono", Capabilities(colors: 0, unicode: true)),
        ("ascii-mono", Capabilities(colors: 0, unicode: false)),
    ]

    func expectGolden(_ text: String, _ name: String) {
        if let diff = Golden.check(text, named: name) { Issue.record(Comment(rawValue: diff)) }
    }

    @Test("thumbnails in every tier", arguments: tiers.map(\.0))
    func thumbnails(tier: String) {
        let caps = Self.tiers.first { $0.0 == tier }!.1
        let screen = Thumbnail.render(Fixtures.picture(), columns: 32, rows: 12, caps: caps)
        expectGolden(screen.plainText + "\n--\n" + screen.styleDump, "thumbnail-\(tier)")
    }

    @Test("arrow grids in every tier", arguments: tiers.map(\.0))
    func arrows(tier: String) {
        let caps = Self.tiers.first { $0.0 == tier }!.1
        let field = MotionField(vectors: Fixtures.vectors(), frameWidth: 128, frameHeight: 96, cellSize: 8)
        let grid = MotionGrid(field: field, columns: 16, rows: 6)
        let screen = ArrowGrid.render(grid, scale: 6, caps: caps)
        expectGolden(screen.plainText + "\n--\n" + screen.styleDump, "arrows-\(tier)")
    }

    @Test("motion drawn over the frame in every tier", arguments: tiers.map(\.0))
    func overlay(tier: String) {
        let caps = Self.tiers.first { $0.0 == tier }!.1
        // 48 columns: wide enough for an arrow every other column.
        let picture = Thumbnail.render(Fixtures.picture(), columns: 48, rows: 18, caps: caps)
        let field = MotionField(vectors: Fixtures.vectors(), frameWidth: 128, frameHeight: 96, cellSize: 8)
        let grid = MotionOverlay.grid(field, columns: 48, rows: 18)
        #expect(grid.columns == 24)
        let screen = MotionOverlay.draw(grid, scale: 6, over: picture, caps: caps)
        expectGolden(screen.plainText + "\n--\n" + screen.styleDump, "overlay-\(tier)")
        // Still, intra and mixed cells, and every other column, keep the picture.
        for r in 0..<grid.rows {
            for c in 0..<grid.columns {
                #expect(screen[c * 2 + 1, r] == picture[c * 2 + 1, r])
                if case .motion = grid.kind(column: c, row: r) { continue }
                #expect(screen[c * 2, r] == picture[c * 2, r])
            }
        }
    }

    @Test("the whole screen in every tier", arguments: tiers.map(\.0))
    func wholeScreen(tier: String) {
        let caps = Self.tiers.first { $0.0 == tier }!.1
        var s = Fixtures.state(caps: caps)
        s.cursor = 7
        s.marked = [ClipRef(video: 0, start: 30, length: 8, stride: 2)]
        s.embedded = Fixtures.embedded()
        s.focusedEmbedding = 0
        var screen = Renderer(frames: Fixtures.frames).render(s)
        expectGolden(screen.plainText, "screen-\(tier)")
        if tier == "utf8-256" || tier == "ascii-8" { expectGolden(screen.styleDump, "screen-\(tier)-styles") }
        s.motionOverlay = true
        screen = Renderer(frames: Fixtures.frames).render(s)
        expectGolden(screen.plainText + "\n--\n" + screen.styleDump, "screen-overlay-\(tier)")
    }

    /// The embeddings pane alone: its text, then its styles.
    static func pane(_ screen: Screen, _ s: ExplorerState) -> String {
        let info = s.video?.info
        let r = Layout(
            width: s.width, height: s.height, videoWidth: info?.width, videoHeight: info?.height,
            overlay: s.motionOverlay
        ).embeddings
        var crop = Screen(width: r.width, height: r.height)
        for y in 0..<r.height {
            for x in 0..<r.width { crop[x, y] = screen[r.x + x, r.y + y] }
        }
        return crop.plainText + "\n--\n" + crop.styleDump
    }

    @Test("the three views side by side on a wide screen, in every tier", arguments: tiers.map(\.0))
    func threeViews(tier: String) {
        let caps = Self.tiers.first { $0.0 == tier }!.1
        var s = Fixtures.state(width: 200, height: 50, caps: caps)
        s.embedded = Fixtures.embedded()
        s.focusedEmbedding = 0
        let screen = Renderer(frames: Fixtures.frames).render(s)
        expectGolden(Self.pane(screen, s), "embeddings-wide-\(tier)")
    }

    @Test("side by side, every column's thumbnails have one height, so their labels share a row")
    func thumbnailsAligned() {
        var s = Fixtures.state(width: 200, height: 50)
        // A wide second video: the scene column's first neighbour (clip 1) is 8:3, the motion
        // column's (clip 2) 4:3; the heights follow the focused clip, not each column's first.
        s.videos[1].info?.width = 256
        s.embedded = Fixtures.embedded()
        s.focusedEmbedding = 0
        let lines = Self.pane(Renderer(frames: Fixtures.frames).render(s), s).split(separator: "\n")
        let run = lines.firstIndex { $0.contains("1run") }
        let walk = lines.firstIndex { $0.contains("1walk") }
        #expect(
            run != nil && run == walk, "label rows: run \(String(describing: run)), walk \(String(describing: walk))")
    }

    @Test("views computing, failed, cancelled; one view at a time on a narrow pane")
    func viewStates() {
        let render = Renderer(frames: Fixtures.frames)
        var s = Fixtures.state(width: 200, height: 50)
        s.embedded = Fixtures.embedded()
        // Clip 2 focused while a job runs: its video view failed, its scene is being recomputed.
        s.embedded[2].vectors["scene"] = nil
        s.job = EmbedJob(total: 1, startedAt: 0)
        s.job?.view = "scene"
        s.focusedEmbedding = 2
        expectGolden(Self.pane(render.render(s), s), "embeddings-wide-computing")
        // Cancelled before its video view: not computed, said so.
        s = Fixtures.state(width: 200, height: 50)
        s.embedded = Array(Fixtures.embedded().prefix(2))
        s.embedded[1].vectors["video"] = nil
        s.embedded[1].sceneReliance = [:]
        s.activeView = 2
        expectGolden(Self.pane(render.render(s), s), "embeddings-wide-cancelled")
        // 120 columns: one view at a time, v cycles, the active view named.
        s = Fixtures.state()
        s.embedded = Fixtures.embedded()
        s.focusedEmbedding = 2
        for view in 0..<3 {
            s.activeView = view
            expectGolden(Self.pane(render.render(s), s), "embeddings-narrow-\(Fixtures.views[view])")
        }
        // A model with the video view only (no extra views) reads as before, the view named.
        s = Fixtures.state(views: ["video"])
        s.embedded = Fixtures.embedded()
        s.focusedEmbedding = 0
        let text = render.render(s).plainText
        #expect(text.contains("view: [video]"))
        #expect(text.contains("video: nearest to walk 0-30"))
        #expect(text.contains("scene reliance 0.42: follows"))
        #expect(!text.contains("same motion"))
    }

    @Test("states: help, prompts, progress, errors, keyframe view, too small, 80x24")
    func states() {
        let render = Renderer(frames: Fixtures.frames)
        var s = Fixtures.state()
        s.help = true
        expectGolden(render.render(s).plainText, "state-help")
        s = Fixtures.state()
        s.prompt = .find("ru")
        expectGolden(render.render(s).plainText, "state-find")
        s.prompt = .confirmQuit
        s.job = EmbedJob(total: 4, startedAt: 0)
        expectGolden(render.render(s).plainText, "state-confirm-quit")
        s = Fixtures.state()
        s.job = EmbedJob(total: 4, startedAt: 0)
        s.job?.done = 1
        s.focus = .clips
        s.clipsRow = 2
        s.status = "ignored while a job runs"
        expectGolden(render.render(s).plainText, "state-embedding")
        s = Fixtures.state()
        s.cursor = 10
        s.showKeyframe = true
        s.status = "'/videos/broken.mp4' is not a video file FFmpeg can read."
        s.statusIsError = true
        expectGolden(render.render(s).plainText, "state-keyframe-error")
        s = Fixtures.state(width: 79, height: 30)
        expectGolden(render.render(s).plainText, "state-too-small")
        s = Fixtures.state(width: 80, height: 24)
        s.embedded = Fixtures.embedded()
        expectGolden(render.render(s).plainText, "state-80x24")
    }

    @Test("an I-frame shows no arrows and says why; frames still decoding say so")
    func iFrameAndMissing() {
        var s = Fixtures.state()
        s.cursor = 0
        let text = Renderer(frames: Fixtures.frames).render(s).plainText
        #expect(text.contains("I-frame: intra-coded, no motion vectors"))
        let none = Renderer(frames: { _, _ in nil }).render(s).plainText
        #expect(none.contains("decoding frame 0…"))
    }
}
