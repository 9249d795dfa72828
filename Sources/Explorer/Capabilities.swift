/// What the terminal can show, decided once at start-up (docs/terminal.md §1) and shown in the status bar.
public struct Capabilities: Equatable, Sendable, Codable {
    /// 0 (no colour), 8, 16 or 256.
    public var colors: Int
    /// Whether the terminal's codeset is UTF-8 (block and arrow glyphs available).
    public var unicode: Bool
    /// 24-bit colour (`COLORTERM=truecolor|24bit`): the adapter writes exact cell colours.
    public var truecolor: Bool
    /// Pictures through chafa: a pixel protocol, symbol mosaics, or neither (today's tiers).
    public var graphics: Graphics

    public init(colors: Int, unicode: Bool, truecolor: Bool = false, graphics: Graphics = .none) {
        self.colors = colors
        self.unicode = unicode
        self.truecolor = truecolor
        self.graphics = graphics
    }

    /// `--graphics`: how pictures reach the terminal (auto is decided by `GraphicsDetection`).
    public enum Graphics: String, Sendable, Codable, CaseIterable {
        case kitty, sixel, iterm, symbols, none
    }

    /// The rendering tier of docs/terminal.md §1.
    public var tier: Tier {
        switch graphics {
        case .kitty: return .kitty
        case .sixel: return .sixel
        case .iterm: return .iterm
        case .symbols where unicode && colors >= 256: return truecolor ? .symbols24 : .symbols256
        default: break
        }
        if colors == 0 { return .mono }
        if !unicode { return .colorCells }
        return colors >= 256 ? .halfBlocks256 : .halfBlocksDithered
    }

    public enum Tier: String, Sendable, Codable, CaseIterable {
        /// Real pixels through the kitty graphics protocol (images deleted by id).
        case kitty = "kitty images"
        /// Real pixels as sixels (DEC VT340, xterm -ti vt340, foot, mlterm, WezTerm).
        case sixel = "sixel images"
        /// Real pixels as iTerm2 inline images (iTerm2, WezTerm).
        case iterm = "iTerm2 images"
        /// chafa's mosaic (quadrants, halves, eighth blocks) in 24-bit colour.
        case symbols24 = "24-bit mosaic"
        /// The same mosaic in xterm colours 16-255.
        case symbols256 = "256-colour mosaic"
        /// A: `▀` with fg = top pixel, bg = bottom pixel, xterm colours 16-255.
        case halfBlocks256 = "256 colours"
        /// B: `▀` with the 8 or 16 ANSI colours after a 4x4 Bayer ordered dither.
        case halfBlocksDithered = "8/16 colours, dithered"
        /// C: colour but no UTF-8: a space with a background colour.
        case colorCells = "colour cells (no UTF-8)"
        /// D: no colour: an ASCII luminance ramp after auto-levels.
        case mono = "ASCII, no colour"

        /// The protocol of a pixel tier, nil for the text tiers.
        public var pixelProtocol: PixelProtocol? {
            switch self {
            case .kitty: return .kitty
            case .sixel: return .sixel
            case .iterm: return .iterm
            default: return nil
            }
        }
    }

    /// The next tier the `t` key shows, within what `terminal` supports: pixels first, then
    /// the mosaics, then today's tiers, plainest last.
    public func next(within terminal: Capabilities) -> Capabilities {
        let order = Tier.allCases
        let colors = terminal.colors
        let u = terminal.unicode
        let chafa = terminal.graphics != .none
        var available: [Tier: Capabilities] = [
            .halfBlocks256: colors >= 256 && u ? Capabilities(colors: 256, unicode: true) : nil,
            .halfBlocksDithered: colors >= 8 && u ? Capabilities(colors: min(colors, 16), unicode: true) : nil,
            .colorCells: colors >= 8 ? Capabilities(colors: colors, unicode: false) : nil,
            .mono: Capabilities(colors: 0, unicode: u),
        ].compactMapValues { $0 }
        if chafa && u && colors >= 256 {
            available[.symbols256] = Capabilities(colors: colors, unicode: true, graphics: .symbols)
            if terminal.truecolor {
                available[.symbols24] = Capabilities(colors: colors, unicode: true, truecolor: true, graphics: .symbols)
            }
        }
        // Only the protocol the terminal was found (or told) to speak.
        if let p = terminal.tier.pixelProtocol, let g = Graphics(rawValue: p.rawValue) {
            available[terminal.tier] = Capabilities(
                colors: colors, unicode: u, truecolor: terminal.truecolor, graphics: g)
        }
        var i = order.firstIndex(of: tier)!
        repeat {
            i = (i + 1) % order.count
            if let caps = available[order[i]] { return caps }
        } while order[i] != tier
        return self
    }
}

/// Nearest terminal colours for RGB values.
public enum Palette {
    /// xterm cube levels for indices 16-231.
    static let cubeLevels: [Int] = [0, 95, 135, 175, 215, 255]

    /// The 16 ANSI colours as xterm draws them.
    static let ansi16: [(Int, Int, Int)] = [
        (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
        (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255),
        (255, 255, 255),
    ]

    /// Weighted RGB distance (2, 4, 3): cheap and close enough at thumbnail size.
    @inline(__always) static func distance(_ a: (Int, Int, Int), _ b: (Int, Int, Int)) -> Int {
        let dr = a.0 - b.0
        let dg = a.1 - b.1
        let db = a.2 - b.2
        return 2 * dr * dr + 4 * dg * dg + 3 * db * db
    }

    /// RGB of an xterm-256 index (16-255).
    public static func rgb(xterm index: Int) -> (Int, Int, Int) {
        if index < 16 { return ansi16[index] }
        if index >= 232 {
            let v = 8 + 10 * (index - 232)
            return (v, v, v)
        }
        let i = index - 16
        return (cubeLevels[i / 36], cubeLevels[i / 6 % 6], cubeLevels[i % 6])
    }

    /// Nearest of xterm 16-255: the 6x6x6 cube or the 24 greys, whichever is closer. The low 16
    /// are left out: terminals disagree about them (chafa's "240 colours" advice).
    public static func nearest256(_ r: Int, _ g: Int, _ b: Int) -> Int16 {
        func level(_ v: Int) -> Int {
            // Index of the closest cube level.
            if v < 48 { return 0 }
            if v < 115 { return 1 }
            return min(5, (v - 35) / 40)
        }
        let (lr, lg, lb) = (level(r), level(g), level(b))
        let cube = 16 + 36 * lr + 6 * lg + lb
        let cubeRGB = (cubeLevels[lr], cubeLevels[lg], cubeLevels[lb])
        let grey = (r + g + b) / 3
        let gi = min(23, max(0, (grey - 3) / 10))
        let greyV = 8 + 10 * gi
        let p = (r, g, b)
        return Int16(distance(p, cubeRGB) <= distance(p, (greyV, greyV, greyV)) ? cube : 232 + gi)
    }

    /// Nearest of the first `count` (8 or 16) ANSI colours.
    public static func nearestANSI(_ r: Int, _ g: Int, _ b: Int, count: Int) -> Int16 {
        var best = 0
        var bestD = Int.max
        for i in 0..<min(count, 16) {
            let d = distance((r, g, b), ansi16[i])
            if d < bestD {
                bestD = d
                best = i
            }
        }
        return Int16(best)
    }

    /// 4x4 Bayer matrix, values 0..15.
    static let bayer: [[Int]] = [[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]]

    /// Ordered dither to 8/16 colours: a per-position offset before the nearest colour.
    public static func dithered(_ r: Int, _ g: Int, _ b: Int, x: Int, y: Int, count: Int) -> Int16 {
        let spread = count >= 16 ? 64 : 128
        let t = (bayer[y & 3][x & 3] * 2 + 1) * spread / 32 - spread / 2
        return nearestANSI(clamp(r + t), clamp(g + t), clamp(b + t), count: count)
    }

    /// Nearest colour for a UI element in the given capability (drawn colours like arrows).
    public static func color(_ r: Int, _ g: Int, _ b: Int, in caps: Capabilities) -> Int16 {
        switch caps.colors {
        case 0: return -1
        case 256...: return nearest256(r, g, b)
        default: return nearestANSI(r, g, b, count: caps.colors)
        }
    }

    @inline(__always) static func clamp(_ v: Int) -> Int { min(255, max(0, v)) }
}
