import Foundation

/// The terminal adapter's picture half: sends the pixel images a `Screen` places and the exact
/// colours of 24-bit cells, after curses has drawn the text. Curses never learns about either,
/// so this keeps track of what it sent and clears it when the layout stops placing it
/// (docs/terminal.md §1.2). Main thread only, like curses.
public final class TerminalImages {
    /// What is on the terminal now, by placement id.
    private var shown: [UInt32: ImagePlacement] = [:]
    /// The 24-bit cells last written over curses' approximations (nil: curses' own cell).
    private var trueCells: [Cell?] = []
    private var trueWidth = 0
    /// Wrap image sequences for tmux (a pixel mode forced inside tmux).
    let tmuxPassthrough: Bool

    public init(tmuxPassthrough: Bool) { self.tmuxPassthrough = tmuxPassthrough }

    // MARK: - Before curses refreshes

    /// Bytes that clear the images `screen` no longer places where they were: kitty deletes
    /// them by id; sixel and iTerm2 pixels belong to the cells, so their cells are erased (ECH,
    /// which xterm applies to graphics too). Curses already believes those cells blank (the
    /// layout keeps cells under images blank), and repaints whatever the screen puts there now.
    public func clearBytes(for screen: Screen) -> [UInt8] {
        var out: [UInt8] = []
        let next = Dictionary(screen.images.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        for (id, old) in shown where next[id] != old {
            out += Self.clearBytes(old)
            shown[id] = nil
        }
        return tmuxWrapped(out, kittyOnly: true)
    }

    static func clearBytes(_ p: ImagePlacement) -> [UInt8] {
        switch p.proto {
        case .kitty:
            return Array("\u{1B}_Ga=d,d=I,i=\(p.id),q=2\u{1B}\\".utf8)
        case .sixel, .iterm:
            var s = "\u{1B}7\u{1B}[0m"
            for row in p.rect.y..<p.rect.maxY { s += "\u{1B}[\(row + 1);\(p.rect.x + 1)H\u{1B}[\(p.rect.width)X" }
            return Array((s + "\u{1B}8").utf8)
        }
    }

    // MARK: - After curses refreshed

    /// Bytes for the images that are new or changed, and for 24-bit cells that changed.
    public func drawBytes(for screen: Screen) -> [UInt8] {
        var out: [UInt8] = []
        for p in screen.images where shown[p.id] != p {
            guard let bytes = try? Self.imageBytes(p) else { continue }
            out += tmuxPassthrough ? GraphicsDetection.tmuxWrap(bytes) : bytes
            shown[p.id] = p
        }
        out += trueColorBytes(for: screen)
        return out
    }

    /// One placement as terminal bytes: save the cursor, go to its top-left cell, the image,
    /// restore the cursor (and attributes), so curses' idea of both stays right.
    public static func imageBytes(_ p: ImagePlacement) throws -> [UInt8] {
        // Sixel pictures are a whole number of 6-row bands (ImagePlacement): chafa's canvas is
        // given in such bands, so it draws the picture pixel for pixel instead of rescaling it.
        let rows = p.proto == .sixel ? max(1, p.pixelHeight / 6) : p.rect.height
        let encoded = try ChafaEncoder.encode(
            p.pixels(), proto: p.proto, columns: p.rect.width, rows: rows,
            cell: CellPixels(width: p.pixelWidth / max(1, p.rect.width), height: p.pixelHeight / max(1, rows)),
            imageID: p.id)
        return Array("\u{1B}7\u{1B}[\(p.rect.y + 1);\(p.rect.x + 1)H".utf8) + encoded + Array("\u{1B}8".utf8)
    }

    /// Cells whose style carries exact colours, written with SGR 38;2 / 48;2 over the xterm
    /// colours curses drew, when they differ from what was last written there.
    func trueColorBytes(for screen: Screen) -> [UInt8] {
        if trueWidth != screen.width || trueCells.count != screen.width * screen.height {
            trueCells = Array(repeating: nil, count: screen.width * screen.height)
            trueWidth = screen.width
        }
        var s = ""
        var any = false
        for y in 0..<screen.height {
            var x = 0
            while x < screen.width {
                let i = y * screen.width + x
                let cell = screen[x, y]
                guard cell.style.rgb != nil, trueCells[i] != cell else {
                    if cell.style.rgb == nil { trueCells[i] = nil }
                    x += 1
                    continue
                }
                // A run of changed 24-bit cells from here.
                s += "\u{1B}[\(y + 1);\(x + 1)H"
                while x < screen.width {
                    let c = screen[x, y]
                    guard let rgb = c.style.rgb, trueCells[y * screen.width + x] != c else { break }
                    s += "\u{1B}[38;2;\(rgb.fg >> 16);\(rgb.fg >> 8 & 255);\(rgb.fg & 255)"
                    s += ";48;2;\(rgb.bg >> 16);\(rgb.bg >> 8 & 255);\(rgb.bg & 255)m"
                    s.append(c.glyph)
                    trueCells[y * screen.width + x] = c
                    x += 1
                }
                any = true
            }
        }
        return any ? Array(("\u{1B}7" + s + "\u{1B}[0m\u{1B}8").utf8) : []
    }

    // MARK: - Resize and exit

    /// Forgets everything (the terminal is about to be cleared): kitty images are deleted.
    public func resetBytes() -> [UInt8] {
        let kitty = shown.values.contains { $0.proto == .kitty }
        shown = [:]
        trueCells = []
        return kitty ? tmuxWrapped(Array("\u{1B}_Ga=d,d=A,q=2\u{1B}\\".utf8), kittyOnly: false) : []
    }

    private func tmuxWrapped(_ bytes: [UInt8], kittyOnly: Bool) -> [UInt8] {
        // ECH is plain text that tmux handles itself; only kitty's APC needs passthrough.
        guard tmuxPassthrough, !bytes.isEmpty, bytes.starts(with: Array("\u{1B}_G".utf8)) || !kittyOnly else {
            return bytes
        }
        return GraphicsDetection.tmuxWrap(bytes)
    }
}
