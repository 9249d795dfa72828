import Explorer
import TestSupport
import Testing
import VideoData

/// The chafa tiers: mosaic goldens, pixel placements, the `t` order, detection, and what the
/// adapter sends (and clears) as screens change.
@Suite("Graphics: mosaics, pixel placements, detection")
struct GraphicsTests {
    static let tiers: [(String, Capabilities)] = [
        ("utf8-24bit-mosaic", Capabilities(colors: 256, unicode: true, truecolor: true, graphics: .symbols)),
        ("utf8-256-mosaic", Capabilities(colors: 256, unicode: true, graphics: .symbols)),
    ]

    func expectGolden(_ text: String, _ name: String) {
        if let diff = Golden.check(text, named: name) { Issue.record(Comment(rawValue: diff)) }
    }

    @Test("mosaic thumbnails", arguments: tiers.map(\.0))
    func thumbnails(tier: String) {
        let caps = Self.tiers.first { $0.0 == tier }!.1
        let screen = Thumbnail.render(Fixtures.picture(), columns: 32, rows: 12, caps: caps)
        expectGolden(screen.plainText + "\n--\n" + screen.styleDump, "thumbnail-\(tier)")
    }

    @Test("the whole screen in the mosaic tiers", arguments: tiers.map(\.0))
    func wholeScreen(tier: String) {
        let caps = Self.tiers.first { $0.0 == tier }!.1
        var s = Fixtures.state(caps: caps)
        s.cursor = 7
        s.embedded = Fixtures.embedded()
        s.focusedEmbedding = 0
        let screen = Renderer(frames: Fixtures.frames).render(s)
        expectGolden(screen.plainText + "\n--\n" + screen.styleDump, "screen-\(tier)")
        #expect(screen.images.isEmpty)
    }

    @Test("pixel tiers place images (frame and neighbours) over blank cells", arguments: ["kitty", "sixel", "iterm"])
    func placements(mode: String) {
        let g = Capabilities.Graphics(rawValue: mode)!
        var s = Fixtures.state(caps: Capabilities(colors: 256, unicode: true, graphics: g))
        s.cursor = 7
        s.embedded = Fixtures.embedded()
        s.focusedEmbedding = 0
        s.cellPixels = CellPixels(width: 9, height: 18)
        let screen = Renderer(frames: Fixtures.frames).render(s)
        #expect(screen.images.contains { $0.id == 1 })
        for p in screen.images {
            #expect(p.proto.rawValue == mode)
            #expect(p.pixelWidth == p.rect.width * 9 && p.pixelHeight == p.rect.height * 18)
            for y in p.rect.y..<p.rect.maxY {
                for x in p.rect.x..<p.rect.maxX { #expect(screen[x, y] == Cell()) }
            }
        }
        if mode == "sixel" {
            expectGolden(
                screen.plainText + "\n--\n" + screen.images.map(\.summary).joined(separator: "\n"), "screen-sixel")
        }
        // The help overlay hides every image (the adapter then clears them).
        s.help = true
        #expect(Renderer(frames: Fixtures.frames).render(s).images.isEmpty)
    }

    @Test("the motion overlay is drawn into the frame image only when on")
    func overlayFlag() {
        var s = Fixtures.state(caps: Capabilities(colors: 256, unicode: true, graphics: .kitty))
        s.cursor = 7
        let off = Renderer(frames: Fixtures.frames).render(s).images.first { $0.id == 1 }!
        s.motionOverlay = true
        let on = Renderer(frames: Fixtures.frames).render(s).images.first { $0.id == 1 }!
        #expect(off.overlay == nil && on.overlay != nil)
        #expect(on.key.hasSuffix(" +motion both") && !off.key.contains("+motion"))
        var bare = on
        bare.overlay = nil
        #expect(on.pixels() != bare.pixels())
    }

    @Test("t goes through the pixel mode, the mosaics, then today's tiers")
    func tierOrder() {
        let terminal = Capabilities(colors: 256, unicode: true, truecolor: true, graphics: .sixel)
        var caps = terminal
        var seen: [Capabilities.Tier] = [caps.tier]
        for _ in 0..<6 {
            caps = caps.next(within: terminal)
            seen.append(caps.tier)
        }
        #expect(seen == [.sixel, .symbols24, .symbols256, .halfBlocks256, .halfBlocksDithered, .colorCells, .mono])
        #expect(caps.next(within: terminal).tier == .sixel)
        // Without chafa (--graphics none) the order is today's.
        let plain = Capabilities(colors: 256, unicode: true)
        #expect(plain.next(within: plain).tier == .halfBlocksDithered)
        // Without COLORTERM the 24-bit mosaic is skipped.
        let noTrue = Capabilities(colors: 256, unicode: true, graphics: .symbols)
        #expect(noTrue.tier == .symbols256)
        #expect(noTrue.next(within: noTrue).tier == .halfBlocks256)
    }

    @Test("auto detection: replies, environment, tmux")
    func detection() {
        let xterm = GraphicsDetection.Replies.parse(Array("\u{1B}[6;17;9t\u{1B}[?63;1;2;4;6;9;15;22c".utf8))
        #expect(xterm.deviceAttributes == [63, 1, 2, 4, 6, 9, 15, 22])
        #expect(xterm.cellPixels == CellPixels(width: 9, height: 17))
        #expect(!xterm.kittyOK)
        let kitty = GraphicsDetection.Replies.parse(Array("\u{1B}_Gi=31;OK\u{1B}\\\u{1B}[?62;c".utf8))
        #expect(kitty.kittyOK)
        func decide(_ env: [String: String], _ r: GraphicsDetection.Replies?, _ req: String = "auto")
            -> GraphicsDetection.Decision
        {
            GraphicsDetection.decide(requested: req, environment: env, replies: r, unicode: true, colors: 256)
        }
        #expect(decide(["TERM": "xterm-256color"], xterm).graphics == .sixel)
        #expect(decide(["TERM": "xterm-256color"], kitty).graphics == .kitty)
        #expect(decide(["TERM": "xterm-kitty"], nil).graphics == .kitty)
        #expect(decide(["TERM_PROGRAM": "iTerm.app"], nil).graphics == .iterm)
        let plain = decide(["TERM": "xterm-256color", "COLORTERM": "truecolor"], .init(deviceAttributes: [62, 22]))
        #expect(plain.graphics == .symbols && plain.truecolor)
        #expect(decide(["TERM": "xterm-256color", "COLORTERM": "24bit"], nil).truecolor)
        let tmux = decide(["TERM": "tmux-256color", "TMUX": "/tmp/t,1,0"], xterm)
        #expect(tmux.graphics == .symbols && !tmux.tmuxPassthrough)
        let forced = decide(["TERM": "tmux-256color", "TMUX": "/tmp/t,1,0"], nil, "kitty")
        #expect(forced.graphics == .kitty && forced.tmuxPassthrough)
        #expect(
            GraphicsDetection.decide(
                requested: "auto", environment: [:], replies: nil, unicode: false, colors: 8
            ).graphics == .none)
        #expect(
            GraphicsDetection.tmuxWrap(Array("\u{1B}_Gx\u{1B}\\".utf8))
                == Array("\u{1B}Ptmux;\u{1B}\u{1B}_Gx\u{1B}\u{1B}\\\u{1B}\\".utf8))
    }

    @Test("the adapter sends an image once, deletes or erases it when it goes, resends after a reset")
    func adapterBytes() throws {
        for mode in ["kitty", "sixel"] {
            let g = Capabilities.Graphics(rawValue: mode)!
            var s = Fixtures.state(caps: Capabilities(colors: 256, unicode: true, graphics: g))
            s.cursor = 7
            let render = Renderer(frames: Fixtures.frames)
            let images = TerminalImages(tmuxPassthrough: false)
            let first = render.render(s)
            let frame = first.images.first { $0.id == 1 }!
            #expect(images.clearBytes(for: first).isEmpty)
            let sent = images.drawBytes(for: first)
            #expect(sent.count > 1000)
            // Unchanged screen: nothing to send or clear.
            #expect(images.clearBytes(for: first).isEmpty && images.drawBytes(for: first).isEmpty)
            // Stepping changes the frame image: the old one is cleared, the new one sent.
            s.cursor = 8
            let next = render.render(s)
            let cleared = String(decoding: images.clearBytes(for: next), as: UTF8.self)
            if mode == "kitty" {
                #expect(cleared == "\u{1B}_Ga=d,d=I,i=1,q=2\u{1B}\\")
            } else {
                // Every row of the old picture erased with ECH, cursor saved and restored.
                #expect(
                    cleared.hasPrefix(
                        "\u{1B}7\u{1B}[0m\u{1B}[\(frame.rect.y + 1);\(frame.rect.x + 1)H\u{1B}[\(frame.rect.width)X"))
                #expect(cleared.components(separatedBy: "X").count - 1 == frame.rect.height)
            }
            #expect(!images.drawBytes(for: next).isEmpty)
            // Help: every image goes.
            s.help = true
            #expect(!images.clearBytes(for: render.render(s)).isEmpty)
            s.help = false
            #expect(!images.drawBytes(for: render.render(s)).isEmpty)
            // Resize: kitty images are deleted all at once; everything is sent again.
            let reset = String(decoding: images.resetBytes(), as: UTF8.self)
            #expect(reset == (mode == "kitty" ? "\u{1B}_Ga=d,d=A,q=2\u{1B}\\" : ""))
            #expect(!images.drawBytes(for: render.render(s)).isEmpty)
        }
    }

    @Test("24-bit cells are written over curses' colours once, and again only when they change")
    func trueColorCells() {
        var s = Fixtures.state(caps: Capabilities(colors: 256, unicode: true, truecolor: true, graphics: .symbols))
        s.cursor = 7
        let render = Renderer(frames: Fixtures.frames)
        let images = TerminalImages(tmuxPassthrough: false)
        let screen = render.render(s)
        let bytes = String(decoding: images.drawBytes(for: screen), as: UTF8.self)
        #expect(bytes.contains("\u{1B}[38;2;"))
        #expect(bytes.hasPrefix("\u{1B}7") && bytes.hasSuffix("\u{1B}[0m\u{1B}8"))
        #expect(images.drawBytes(for: screen).isEmpty)
        s.help = true
        _ = images.drawBytes(for: render.render(s))
        s.help = false
        // Cells the help box covered are curses' again; their exact colours go out again.
        #expect(!images.drawBytes(for: render.render(s)).isEmpty)
    }
}
