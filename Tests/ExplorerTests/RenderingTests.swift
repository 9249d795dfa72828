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

    @Test("the whole screen in every tier", arguments: tiers.map(\.0))
    func wholeScreen(tier: String) {
        let caps = Self.tiers.first { $0.0 == tier }!.1
        var s = Fixtures.state(caps: caps)
        s.cursor = 7
        s.marked = [ClipRef(video: 0, start: 30, length: 8, stride: 2)]
        s.embedded = Fixtures.embedded()
        s.focusedEmbedding = 0
        let screen = Renderer(frames: Fixtures.frames).render(s)
        expectGolden(screen.plainText, "screen-\(tier)")
        if tier == "utf8-256" || tier == "ascii-8" { expectGolden(screen.styleDump, "screen-\(tier)-styles") }
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
