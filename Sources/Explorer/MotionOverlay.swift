import VideoData

/// Motion drawn over the frame picture in text modes (`o`): an arrow in the picture's own cells
/// wherever a block moves, so the eye does not have to match arrows to objects across panes.
/// Still, intra, mixed and barely moving cells keep the picture: they would only clutter it.
/// (Pixel modes draw the vectors into the image instead.)
public enum MotionOverlay {
    /// Cells whose motion is under this share of the scale keep the picture (the grid already calls
    /// cells under half a pixel still).
    static let minimumLevel: Float = 0.05

    /// How many picture columns one arrow stands for: wide pictures get an arrow every other
    /// column (a grid cell of two columns covers about a square of the frame), so half the
    /// picture always shows between the arrows.
    public static func columnsPerArrow(pictureColumns: Int) -> Int { pictureColumns >= 40 ? 2 : 1 }

    /// The grid the overlay aggregates the field into for a `columns x rows` picture.
    public static func grid(_ field: MotionField, columns: Int, rows: Int) -> MotionGrid {
        MotionGrid(field: field, columns: max(1, columns / columnsPerArrow(pictureColumns: columns)), rows: rows)
    }

    /// `picture` with `grid`'s arrows drawn over it; magnitudes are normalised by `scale` pixels.
    public static func draw(_ grid: MotionGrid, scale: Float, over picture: Screen, caps: Capabilities) -> Screen {
        var out = picture
        let step = columnsPerArrow(pictureColumns: picture.width)
        for r in 0..<min(grid.rows, picture.height) {
            for c in 0..<grid.columns {
                let x = c * step
                guard x < picture.width, case .motion(let d, let m) = grid.kind(column: c, row: r) else { continue }
                let level = m / max(scale, 0.01)
                guard level >= minimumLevel else { continue }
                let large = m >= 2 * scale
                let glyph: Character =
                    caps.unicode ? (large ? ArrowGrid.doubleArrows[d.rawValue] : d.arrow) : d.asciiArrow
                out[x, r] = Cell(glyph, style(over: picture[x, r].style, large: large || level >= 0.67, caps: caps))
            }
        }
        return out
    }

    /// The arrow keeps the picture's colour as its background (the lower pixel of a half block,
    /// else the cell's colour) and takes black or white, whichever stands out, as its own.
    static func style(over cell: Style, large: Bool, caps: Capabilities) -> Style {
        guard caps.colors > 0 else { return Style(attrs: large ? [.bold, .reverse] : [.reverse]) }
        let bg = cell.bg >= 0 ? cell.bg : cell.fg
        guard bg >= 0 else { return Style(attrs: [.bold, .reverse]) }
        let (r, g, b) = Palette.rgb(xterm: Int(bg))
        let light = r * 299 + g * 587 + b * 114 > 128_000
        let fg: Int16
        switch caps.colors {
        case 256...: fg = light ? 16 : 231
        case 16...: fg = light ? 0 : 15
        default: fg = light ? 0 : 7
        }
        return Style(fg: fg, bg: bg, attrs: large ? [.bold] : [])
    }
}
