/// Text attributes a cell can carry.
public struct Attrs: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let bold = Attrs(rawValue: 1)
    public static let dim = Attrs(rawValue: 2)
    public static let reverse = Attrs(rawValue: 4)
    public static let underline = Attrs(rawValue: 8)
}

/// Colours and attributes of a cell. Colours are terminal palette indices; -1 keeps the
/// terminal's own default (so the user's background shows through).
public struct Style: Hashable, Sendable {
    public var fg: Int16
    public var bg: Int16
    public var attrs: Attrs
    /// The exact colours in the 24-bit tier; `fg`/`bg` then hold the nearest xterm colours,
    /// which curses draws before the adapter writes these over them.
    public var rgb: TrueColor?

    public init(fg: Int16 = -1, bg: Int16 = -1, attrs: Attrs = [], rgb: TrueColor? = nil) {
        self.fg = fg
        self.bg = bg
        self.attrs = attrs
        self.rgb = rgb
    }

    public static let plain = Style()
}

/// One terminal cell: a single-column glyph and its style.
public struct Cell: Hashable, Sendable {
    public var glyph: Character
    public var style: Style

    public init(_ glyph: Character = " ", _ style: Style = .plain) {
        self.glyph = glyph
        self.style = style
    }
}

/// A rectangle of cells, columns x rows.
public struct Rect: Equatable, Sendable {
    public var x, y, width, height: Int
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = max(0, width)
        self.height = max(0, height)
    }

    /// The inside of a box drawn on this rectangle.
    public var inner: Rect { Rect(x: x + 1, y: y + 1, width: width - 2, height: height - 2) }
    public var maxX: Int { x + width }
    public var maxY: Int { y + height }
}

/// The whole screen as a grid of cells: what every pane renders into, what tests compare, and
/// what the curses adapter copies to the terminal. Pure: no terminal involved.
public struct Screen: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]
    /// Where the renderer drew clickable things (Mouse.swift); not part of the picture.
    public var hits: [Hit] = []
    /// Pixel pictures over the cells (pixel modes): where they go and what they show. The
    /// cells under them stay blank; the terminal adapter writes the images after the text.
    public var images: [ImagePlacement] = []

    public init(width: Int, height: Int) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = Array(repeating: Cell(), count: self.width * self.height)
    }

    public subscript(x: Int, y: Int) -> Cell {
        get { cells[y * width + x] }
        set {
            guard x >= 0, y >= 0, x < width, y < height else { return }
            cells[y * width + x] = newValue
        }
    }

    /// Writes `text` from (x, y), clipped to `maxWidth` columns and the screen edge.
    /// Every Character is taken as one column wide (the UI uses no wide glyphs).
    public mutating func text(_ x: Int, _ y: Int, _ text: String, _ style: Style = .plain, maxWidth: Int? = nil) {
        guard y >= 0, y < height else { return }
        var col = x
        let limit = min(width, x + (maxWidth ?? width))
        for ch in text {
            if col >= limit { break }
            if col >= 0 { self[col, y] = Cell(ch, style) }
            col += 1
        }
    }

    public mutating func fill(_ rect: Rect, _ cell: Cell = Cell()) {
        for y in rect.y..<rect.maxY {
            for x in rect.x..<rect.maxX { self[x, y] = cell }
        }
    }

    /// A box with a title on its top edge; the focused box is bold and its title reversed.
    public mutating func box(_ rect: Rect, title: String, focused: Bool, unicode: Bool) {
        guard rect.width >= 2, rect.height >= 2 else { return }
        let g: [Character] = unicode ? ["─", "│", "┌", "┐", "└", "┘"] : ["-", "|", "+", "+", "+", "+"]
        let style = Style(attrs: focused ? [.bold] : [])
        for x in rect.x..<rect.maxX {
            self[x, rect.y] = Cell(g[0], style)
            self[x, rect.maxY - 1] = Cell(g[0], style)
        }
        for y in rect.y..<rect.maxY {
            self[rect.x, y] = Cell(g[1], style)
            self[rect.maxX - 1, y] = Cell(g[1], style)
        }
        self[rect.x, rect.y] = Cell(g[2], style)
        self[rect.maxX - 1, rect.y] = Cell(g[3], style)
        self[rect.x, rect.maxY - 1] = Cell(g[4], style)
        self[rect.maxX - 1, rect.maxY - 1] = Cell(g[5], style)
        let label = " \(title) "
        text(rect.x + 2, rect.y, label, Style(attrs: focused ? [.bold, .reverse] : [.bold]), maxWidth: rect.width - 4)
    }

    /// Copies `other` with its top-left corner at (x, y).
    public mutating func blit(_ other: Screen, x: Int, y: Int) {
        for r in 0..<other.height {
            for c in 0..<other.width { self[x + c, y + r] = other[c, r] }
        }
    }

    /// The glyph layer, one line per row, trailing spaces removed.
    public var plainText: String {
        (0..<height).map { y in
            var line = String((0..<width).map { self[$0, y].glyph })
            while line.last == " " { line.removeLast() }
            return line
        }.joined(separator: "\n")
    }

    /// The colour layer: per row, runs of `fg/bg/attrs` with their length, for golden files.
    public var styleDump: String {
        (0..<height).map { y in
            var runs: [String] = []
            var current: Style? = nil
            var count = 0
            for x in 0..<width {
                let s = self[x, y].style
                if s == current {
                    count += 1
                    continue
                }
                if let c = current { runs.append(Self.describe(c) + "x\(count)") }
                current = s
                count = 1
            }
            if let c = current { runs.append(Self.describe(c) + "x\(count)") }
            return runs.joined(separator: " ")
        }.joined(separator: "\n")
    }

    static func describe(_ s: Style) -> String {
        var a = ""
        if s.attrs.contains(.bold) { a += "b" }
        if s.attrs.contains(.dim) { a += "d" }
        if s.attrs.contains(.reverse) { a += "r" }
        if s.attrs.contains(.underline) { a += "u" }
        let rgb = s.rgb.map { "/#" + TrueColor.hex($0.fg) + ":#" + TrueColor.hex($0.bg) } ?? ""
        return "\(s.fg)/\(s.bg)\(a.isEmpty ? "" : "/" + a)\(rgb)"
    }
}
