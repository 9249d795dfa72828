import VideoData

/// The motion pane: a `MotionGrid` drawn as arrows (docs/terminal.md §2.2).
public enum ArrowGrid {
    /// Pixels of motion that count as "full strength" for colour and weight; nil = automatic
    /// (the 95th percentile of the frame's cell magnitudes).
    public static func autoScale(_ grid: MotionGrid) -> Float {
        var mags: [Float] = []
        for r in 0..<grid.rows {
            for c in 0..<grid.columns {
                if case .motion(_, let m) = grid.kind(column: c, row: r) { mags.append(m) }
            }
        }
        guard !mags.isEmpty else { return 1 }
        mags.sort()
        return max(0.5, mags[min(mags.count - 1, mags.count * 95 / 100)])
    }

    static let doubleArrows: [Character] = ["⇒", "⇗", "⇑", "⇖", "⇐", "⇙", "⇓", "⇘"]
    /// Low to high magnitude, xterm-256 (blue-green to yellow).
    static let ramp256: [Int16] = [24, 31, 37, 43, 78, 114, 150, 186, 220, 226]

    /// The glyph and style of one cell.
    public static func cell(_ kind: MotionGrid.Kind, scale: Float, caps: Capabilities) -> Cell {
        let u = caps.unicode
        switch kind {
        case .noData:
            return Cell(" ")
        case .intra:
            return Cell(u ? "▪" : "#", style(caps, c256: 167, c16: 1, attrs: []))
        case .zero:
            return Cell(u ? "·" : ".", style(caps, c256: 240, c16: 8, attrs: caps.colors == 0 ? [.dim] : []))
        case .mixed:
            return Cell("*", style(caps, c256: 179, c16: 3, attrs: []))
        case .motion(let d, let m):
            let level = min(1, m / max(scale, 0.01))
            let large = m >= 2 * scale
            let glyph: Character = u ? (large ? doubleArrows[d.rawValue] : d.arrow) : d.asciiArrow
            let idx = Int((level * Float(ramp256.count - 1)).rounded())
            var attrs: Attrs = []
            if caps.colors == 0 || caps.colors < 256 {
                attrs = level < 0.34 ? [.dim] : (level < 0.67 ? [] : [.bold])
            }
            if large && !u { attrs.insert(.bold) }
            return Cell(glyph, style(caps, c256: ramp256[idx], c16: 7, attrs: attrs))
        }
    }

    static func style(_ caps: Capabilities, c256: Int16, c16: Int16, attrs: Attrs) -> Style {
        switch caps.colors {
        case 0: return Style(attrs: attrs)
        case 256...: return Style(fg: c256, attrs: attrs)
        default: return Style(fg: caps.colors >= 16 ? c16 : c16 % 8, attrs: attrs)
        }
    }

    /// Renders the grid (its own geometry) with magnitudes normalised by `scale` pixels.
    public static func render(_ grid: MotionGrid, scale: Float, caps: Capabilities) -> Screen {
        var screen = Screen(width: grid.columns, height: grid.rows)
        for r in 0..<grid.rows {
            for c in 0..<grid.columns { screen[c, r] = cell(grid.kind(column: c, row: r), scale: scale, caps: caps) }
        }
        return screen
    }
}
