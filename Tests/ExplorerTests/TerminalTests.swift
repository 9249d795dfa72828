import Foundation
import TestSupport
import Testing

/// The explorer in a real terminal (tmux): keys, resize, help, quitting, and the terminal left
/// clean afterwards.
@Suite("In a real terminal (tmux)", .serialized)
struct TerminalTests {
    static let sample = Paths.asset("videos/tears_320x240.mp4")
    static let sane = "STTY= icrnl ixon opost isig icanon echo"

    @Test("open, step, jump to a keyframe, help, resize below the minimum and back, quit")
    func session() throws {
        let log = Paths.temporaryDirectory("log") + "/explore.log"
        let t = try TmuxSession([
            Paths.decouple, "explore", "--log", log, Self.sample, Paths.asset("videos/friday_480p.mp4"),
        ])
        try t.waitFor("frame 0/240")
        #expect(try t.alternateScreen())
        try t.send(".", ".", ".")
        try t.waitFor("frame 3/240")
        try t.send("]")
        try t.waitFor("frame 235/240 │ 0:09.792 │ I (key)")
        try t.send("Left")
        try t.waitFor("frame 234/240")
        try t.send("F1")
        try t.waitFor("Help: keys")
        try t.send("Escape")
        try t.waitUntilGone("Help: keys")
        try t.send("Tab", "Down", "Enter")
        try t.waitFor("friday_480p.mp4 │ h264 640x480")
        try t.waitFor("frame 0  I key")
        // 256 colours reach the terminal as xterm SGR codes.
        let coloured = try t.capture(colors: true)
        #expect(coloured.contains("38;5;"), "\(coloured.prefix(600).debugDescription)")
        try t.resize(width: 70, height: 20)
        try t.waitFor("Terminal too small: 70x20, need 80x24")
        try t.resize(width: 120, height: 40)
        try t.waitFor("friday_480p.mp4 │ h264 640x480")
        try t.send("q")
        let after = try t.waitFor("STTY=")
        #expect(after.contains("EXIT=0"))
        #expect(after.contains(Self.sane), "\(after)")
        #expect(try !t.alternateScreen())
    }

    @Test("inside tmux, auto picks the mosaic (24-bit with COLORTERM), t goes on to the half blocks")
    func picturesInTmux() throws {
        for (env, tier) in [([:], "256-colour mosaic"), (["COLORTERM": "truecolor"], "24-bit mosaic")] {
            let t = try TmuxSession([Paths.decouple, "explore", Self.sample], environment: env)
            try t.waitFor("Pictures: \(tier) (inside tmux: symbols")
            // The line under the picture: the frame is decoded and drawn.
            try t.waitFor("frame 0  I key")
            if env.isEmpty {
                try t.send("t")
                try t.waitFor("Thumbnails: 256 colours")
            } else {
                // The exact colours reach the terminal as SGR 38;2 over curses' own cells.
                // (written just after curses' refresh, so poll briefly rather than race it).
                var coloured = ""
                let deadline = Date().addingTimeInterval(10)
                while Date() < deadline {
                    coloured = try t.capture(colors: true)
                    if coloured.contains("38;2;") { break }
                    usleep(100_000)
                }
                #expect(coloured.contains("38;2;"), "\(coloured.prefix(600).debugDescription)")
            }
            try t.send("q")
            #expect(try t.waitFor("STTY=").contains("EXIT=0"))
        }
    }

    @Test("mark, embed and compare clips of two videos")
    func embedAndNeighbours() throws {
        let t = try TmuxSession(
            [Paths.decouple, "explore", "--no-cache"] + BatchTests.tiny + [
                Self.sample, Paths.asset("videos/friday_480p.mp4"),
            ])
        try t.waitFor("frame 0/240")
        try t.send("Space")
        try t.waitFor("[x] 0-60 marked")
        try t.send("e")
        try t.waitFor("[e] 0-60 embedded", timeout: 120)
        try t.send("Tab", "Down", "Enter")
        try t.waitFor("friday_480p.mp4 │ h264 640x480")
        try t.send("S-Tab", "e")
        try t.waitFor("[e] 0-60 embedded", timeout: 120)
        try t.send("n")
        let screen = try t.waitFor("nearest to friday_480p 0-60")
        #expect(screen.contains("tears_320x2… 0-60"))
        #expect(screen.contains("scene reliance"))
        try t.send("q")
        try t.waitFor("STTY=")
    }

    @Test("Ctrl-C in the middle of an embedding restores the terminal")
    func interruptWhileEmbedding() throws {
        // The full-size model in a debug build takes seconds per clip: long enough to interrupt.
        let t = try TmuxSession([Paths.decouple, "explore", "--no-cache", "--random-weights", Self.sample])
        try t.waitFor("frame 0/240")
        try t.send("e")
        try t.waitFor("embedding clip 1/1")
        try t.send("C-c")
        let after = try t.waitFor("STTY=")
        #expect(after.contains("EXIT=130"))
        #expect(after.contains(Self.sane), "\(after)")
        #expect(try !t.alternateScreen())
    }

    @Test("q while embedding asks first; Ctrl-C at an idle screen exits 130, terminal sane")
    func quitWhileEmbedding() throws {
        let t = try TmuxSession([Paths.decouple, "explore", "--no-cache", "--random-weights", Self.sample])
        try t.waitFor("frame 0/240")
        try t.send("e")
        try t.waitFor("embedding clip 1/1")
        try t.send("q")
        try t.waitFor("Quit anyway? (y/n)")
        try t.send("n")
        try t.waitUntilGone("Quit anyway?")
        try t.send("q")
        try t.waitFor("Quit anyway? (y/n)")
        try t.send("y")
        let after = try t.waitFor("STTY=")
        #expect(after.contains("EXIT=0"))
        #expect(after.contains(Self.sane), "\(after)")
        let idle = try TmuxSession([Paths.decouple, "explore", Self.sample])
        try idle.waitFor("frame 0/240")
        try idle.send("C-c")
        let gone = try idle.waitFor("STTY=")
        #expect(gone.contains("EXIT=130") && gone.contains(Self.sane))
        #expect(try !idle.alternateScreen())
    }

    /// What a terminal sends for a mouse event once the app asked for reports (`\e[?1000h`):
    /// `\e[M`, then the button, column and row as bytes offset by 32 (tmux-256color's kmous is
    /// this X10 form, not SGR). tmux's `send-keys -M` only replays events tmux saw itself, so
    /// the bytes are typed into the pane with `send-keys -l`.
    static func mouse(button: Int, x: Int, y: Int) -> String {
        "\u{1b}[M" + String(UnicodeScalar(UInt8(32 + button))) + String(UnicodeScalar(UInt8(33 + x)))
            + String(UnicodeScalar(UInt8(33 + y)))
    }

    @Test("mouse: a click on the timeline jumps there, the wheel steps, p plays and a step stops it")
    func mouseAndPlayback() throws {
        let t = try TmuxSession([Paths.decouple, "explore", Self.sample])
        try t.waitFor("frame 0/240")
        // Column 60 of 120 on the frame-type row: frame 120 of 240. Press, then release (3).
        try t.send("-l", Self.mouse(button: 0, x: 60, y: 1) + Self.mouse(button: 3, x: 60, y: 1))
        try t.waitFor("frame 120/240")
        // Wheel down (button 4 + 64) steps one frame.
        try t.send("-l", Self.mouse(button: 65, x: 10, y: 10))
        try t.waitFor("frame 121/240")
        try t.send("p")
        try t.waitFor("▶ 1x")
        try t.send(".")
        try t.waitFor("Stopped at frame")
        try t.send("q")
        let after = try t.waitFor("STTY=")
        #expect(after.contains("EXIT=0"))
    }

    @Test("NO_COLOR and --ascii give a plain ASCII screen")
    func plain() throws {
        let t = try TmuxSession([Paths.decouple, "explore", "--ascii", Self.sample], environment: ["NO_COLOR": "1"])
        let screen = try t.waitFor("ASCII, no colour")
        #expect(screen.contains("+- Frame"))
        #expect(!screen.contains("▀"))
        #expect(!(try t.capture(colors: true)).contains("38;5;"))
        try t.send("q")
        try t.waitFor("STTY=")
    }

    @Test("three views: scene and motion side by side with video on a wide terminal, v and one view when narrow")
    func threeViews() throws {
        let t = try TmuxSession(
            [Paths.decouple, "explore", "--no-cache", "--descriptor-views"] + BatchTests.tiny + [
                Self.sample, Paths.asset("videos/friday_480p.mp4"),
            ], width: 200, height: 50)
        try t.waitFor("frame 0/240")
        try t.send("e")
        // The clip shows once its scene view is in, long before the job ends.
        try t.waitFor("[e] 0-60 embedded", timeout: 120)
        try t.waitFor("Embedded 1 clip", timeout: 120)
        try t.send("Tab", "Down", "Enter")
        try t.waitFor("friday_480p.mp4 │ h264 640x480")
        try t.send("S-Tab", "e")
        try t.waitFor("Embedded 1 clip", timeout: 120)
        let wide = try t.waitFor("nearest to friday_480p 0-60 (cosine):", timeout: 120)
        let lines = wide.split(separator: "\n").map(String.init)
        let head = try #require(lines.firstIndex { $0.contains("[scene]") && !$0.contains("views (v)") }, "\(wide)")
        #expect(lines[head].contains("motion") && lines[head].contains("video"))
        // Every view computed: a neighbour with a cosine under each of the three headings.
        #expect(lines[head + 1].components(separatedBy: "tears").count - 1 == 3, "\(wide)")
        try t.send("v")
        try t.waitFor("views (v): scene [motion] video")
        try t.resize(width: 120, height: 40)
        let narrow = try t.waitFor("motion: nearest to friday_4")
        #expect(narrow.contains("tears_320x2… 0-60"), "\(narrow)")
        try t.send("q")
        let after = try t.waitFor("STTY=")
        #expect(after.contains("EXIT=0"))
    }
}
