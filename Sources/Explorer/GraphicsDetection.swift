/// How `--graphics auto` picks a picture mode (docs/terminal.md §1.1). Pure: the environment
/// and the terminal's replies to the start-up queries come in, a decision and the reason for it
/// come out (the reason goes to the status bar and the log).
public enum GraphicsDetection {
    public struct Decision: Equatable, Sendable {
        public var graphics: Capabilities.Graphics
        public var truecolor: Bool
        /// Wrap image sequences in tmux's passthrough (a forced pixel mode inside tmux).
        public var tmuxPassthrough: Bool
        public var reason: String
    }

    /// What the terminal answered to the start-up queries (nil fields: no answer in time).
    public struct Replies: Equatable, Sendable {
        /// Parameters of the primary device attributes reply (`CSI ? 63;4;22 c`).
        public var deviceAttributes: [Int]?
        /// The kitty graphics query was answered `OK`.
        public var kittyOK: Bool
        /// `CSI 16 t`: cell size in pixels.
        public var cellPixels: CellPixels?

        public init(deviceAttributes: [Int]? = nil, kittyOK: Bool = false, cellPixels: CellPixels? = nil) {
            self.deviceAttributes = deviceAttributes
            self.kittyOK = kittyOK
            self.cellPixels = cellPixels
        }

        /// Parses whatever bytes arrived after the queries.
        public static func parse(_ bytes: [UInt8]) -> Replies {
            var r = Replies()
            let s = String(decoding: bytes, as: UTF8.self)
            // Kitty: ESC _ G i=31;OK ESC \
            if let g = s.range(of: "\u{1B}_G") {
                let rest = s[g.upperBound...]
                if let end = rest.range(of: "\u{1B}\\") { r.kittyOK = rest[..<end.lowerBound].hasSuffix(";OK") }
            }
            // DA1: ESC [ ? params c
            if let da = s.range(of: "\u{1B}[?") {
                let rest = s[da.upperBound...]
                if let c = rest.firstIndex(of: "c") {
                    r.deviceAttributes = rest[..<c].split(separator: ";").compactMap { Int($0) }
                }
            }
            // Cell size: ESC [ 6 ; height ; width t
            if let t = s.range(of: "\u{1B}[6;") {
                let rest = s[t.upperBound...]
                if let end = rest.firstIndex(of: "t") {
                    let n = rest[..<end].split(separator: ";").compactMap { Int($0) }
                    if n.count == 2, n[0] > 0, n[1] > 0 { r.cellPixels = CellPixels(width: n[1], height: n[0]) }
                }
            }
            return r
        }
    }

    /// The queries written at start-up: kitty's graphics query (a 1x1 image it answers OK to),
    /// the cell size, and primary device attributes last: every terminal answers DA1, so its
    /// reply ends the wait early.
    public static let query: String = "\u{1B}_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\u{1B}\\" + "\u{1B}[16t" + "\u{1B}[c"

    /// Decides the mode for `requested` ("auto" or a forced mode).
    public static func decide(
        requested: String, environment env: [String: String], replies: Replies?, unicode: Bool, colors: Int
    ) -> Decision {
        let term = env["TERM"] ?? ""
        let program = env["TERM_PROGRAM"] ?? ""
        let colorterm = (env["COLORTERM"] ?? "").lowercased()
        let truecolor = colorterm == "truecolor" || colorterm == "24bit"
        let inTmux = env["TMUX"] != nil || term.hasPrefix("tmux") || term.hasPrefix("screen")
        let mosaicOK = unicode && colors >= 256
        let textFallback: Capabilities.Graphics = mosaicOK ? .symbols : .none
        if requested != "auto", let forced = Capabilities.Graphics(rawValue: requested) {
            let pixel = forced != .symbols && forced != .none
            return Decision(
                graphics: forced, truecolor: truecolor, tmuxPassthrough: pixel && inTmux,
                reason: "--graphics \(requested)" + (pixel && inTmux ? " (through tmux passthrough)" : ""))
        }
        // tmux answers the queries itself and, without allow-passthrough, drops image
        // sequences; Debian's tmux 3.3 has no sixel. Mosaics always work there.
        if inTmux {
            return Decision(
                graphics: textFallback, truecolor: truecolor, tmuxPassthrough: false,
                reason: "inside tmux: symbols (pixel images need --graphics kitty|sixel|iterm and allow-passthrough)")
        }
        if replies?.kittyOK == true || env["KITTY_WINDOW_ID"] != nil || term == "xterm-kitty" || program == "ghostty" {
            return Decision(
                graphics: .kitty, truecolor: true, tmuxPassthrough: false, reason: "kitty graphics protocol")
        }
        if program == "iTerm.app" || program == "WezTerm" {
            return Decision(
                graphics: .iterm, truecolor: true, tmuxPassthrough: false, reason: "\(program): iTerm2 images")
        }
        if let da = replies?.deviceAttributes, da.dropFirst().contains(4) {
            return Decision(
                graphics: .sixel, truecolor: truecolor, tmuxPassthrough: false, reason: "sixel (device attributes)")
        }
        if term.hasPrefix("foot") || term.hasPrefix("mlterm") {
            return Decision(graphics: .sixel, truecolor: true, tmuxPassthrough: false, reason: "\(term): sixel")
        }
        return Decision(
            graphics: textFallback, truecolor: truecolor, tmuxPassthrough: false,
            reason: mosaicOK ? "no pixel protocol found: symbols" : "no pixel protocol, no 256 colours: text tiers")
    }

    /// tmux passthrough: the sequence inside `ESC P tmux; … ESC \` with every ESC doubled.
    public static func tmuxWrap(_ bytes: [UInt8]) -> [UInt8] {
        var out = Array("\u{1B}Ptmux;".utf8)
        out.reserveCapacity(bytes.count + bytes.count / 16 + 16)
        for b in bytes {
            if b == 0x1B { out.append(0x1B) }
            out.append(b)
        }
        out += Array("\u{1B}\\".utf8)
        return out
    }
}
