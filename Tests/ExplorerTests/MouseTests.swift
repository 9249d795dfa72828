import Explorer
import Testing
import VideoData

/// Clicks are resolved against the hit areas the renderer recorded, then reduced like keys.
@Suite("Mouse: clicks on the timeline, videos, clips and neighbours; the wheel")
struct MouseTests {
    func click(_ x: Int, _ y: Int) -> Key { .mouse(MouseEvent(x: x, y: y, button: .left)) }

    /// Where `text` starts on the rendered screen.
    func find(_ text: String, in screen: Screen) -> (x: Int, y: Int)? {
        for (y, line) in screen.plainText.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if let r = line.range(of: text) { return (line.distance(from: line.startIndex, to: r.lowerBound), y) }
        }
        return nil
    }

    func state() -> ExplorerState {
        var s = Fixtures.state()
        s.embedded = Fixtures.embedded()
        s.focusedEmbedding = 0
        return s
    }

    @Test("scripts spell clicks and wheel turns")
    func parse() throws {
        let keys = try Key.parse(script: "<click:3,4><wheelup:0,0><WheelDown:10,2>").get()
        #expect(
            keys == [
                .mouse(MouseEvent(x: 3, y: 4, button: .left)), .mouse(MouseEvent(x: 0, y: 0, button: .wheelUp)),
                .mouse(MouseEvent(x: 10, y: 2, button: .wheelDown)),
            ])
        #expect(throws: Key.ParseError.self) { try Key.parse(script: "<click:3>").get() }
    }

    @Test("a timeline column maps to the first frame it draws, on every timeline row")
    func timelineHits() {
        let s = state()
        let screen = Renderer(frames: Fixtures.frames).render(s)
        // 48 frames over 120 columns: frame f is drawn at column f * 120 / 48.
        for f in [0, 1, 17, 47] {
            #expect(screen.target(atX: f * 120 / 48, y: 1) == .frame(f))
            #expect(screen.target(atX: f * 120 / 48, y: 2) == .frame(f))
        }
        #expect(screen.target(atX: 119, y: 1) == .frame(47))
    }

    @Test("clicking the timeline jumps there")
    func timeline() {
        var s = state()
        #expect(
            s.handle(.mouse(MouseEvent(x: 50, y: 1, button: .left, target: .frame(20)))) == [
                .showFrame(video: 0, index: 20)
            ])
        #expect(s.cursor == 20)
        #expect(s.focus == .video)
    }

    @Test("the rendered clips pane: a video row, an embedded clip row")
    func clipsHits() throws {
        let s = state()
        let screen = Renderer(frames: Fixtures.frames).render(s)
        let run = try #require(find("run.mp4", in: screen))
        #expect(screen.target(atX: run.x, y: run.y) == .video(1))
        let clip = try #require(find("[e] 20-35 embedded", in: screen))
        #expect(screen.target(atX: clip.x + 4, y: clip.y) == .embedded(2))
        // The frame pane is not clickable.
        #expect(screen.target(atX: 10, y: 10) == nil)
    }

    @Test("clicking a video switches to it")
    func video() {
        var s = state()
        #expect(
            s.handle(.mouse(MouseEvent(x: 0, y: 0, button: .left, target: .video(1)))) == [
                .showFrame(video: 1, index: 0)
            ])
        #expect(s.current == 1 && s.focus == .clips && s.clipsRow == 1)
        // The broken video says why, and stays unselected.
        _ = s.handle(.mouse(MouseEvent(x: 0, y: 0, button: .left, target: .video(2))))
        #expect(s.current == 1 && s.statusIsError)
    }

    @Test("clicking a clip or a neighbour selects it in the embeddings pane")
    func clipsAndNeighbours() throws {
        var s = state()
        _ = s.handle(.mouse(MouseEvent(x: 0, y: 0, button: .left, target: .embedded(1))))
        #expect(s.focusedEmbedding == 1 && s.focus == .embeddings)
        _ = s.handle(.mouse(MouseEvent(x: 0, y: 0, button: .left, target: .neighbour(s.embedded[2].clip))))
        #expect(s.focusedEmbedding == 2)
        // A neighbour's row on the rendered screen.
        let screen = Renderer(frames: Fixtures.frames).render(s)
        let hits = screen.hits.compactMap { h -> ClipRef? in
            if case .item(.neighbour(let c)) = h.area { return c }
            return nil
        }
        #expect(!hits.isEmpty)
        #expect(hits.allSatisfy { $0 != s.embedded[2].clip })
    }

    @Test("the wheel steps one frame either way")
    func wheel() {
        var s = state()
        s.cursor = 10
        #expect(s.handle(.mouse(MouseEvent(x: 5, y: 5, button: .wheelDown))) == [.showFrame(video: 0, index: 11)])
        #expect(s.handle(.mouse(MouseEvent(x: 5, y: 5, button: .wheelUp))) == [.showFrame(video: 0, index: 10)])
        #expect(s.cursor == 10)
    }

    @Test("a click on nothing does nothing")
    func nothing() {
        var s = state()
        #expect(s.handle(.mouse(MouseEvent(x: 10, y: 10, button: .left))).isEmpty)
        #expect(s.cursor == 0)
    }
}
