import CChafa
import VideoData

/// Terminal picture protocols that carry real pixels.
public enum PixelProtocol: String, Sendable, CaseIterable, Codable {
    case kitty, sixel, iterm
}

/// The only user of chafa (CChafa): turns RGB pictures into kitty, sixel or iTerm2 image
/// sequences, or into symbol mosaics read back cell by cell. One instance owns one chafa
/// canvas with its config, symbol map and terminal info; all four are freed in deinit. Not
/// shared between threads (the renderer and the terminal adapter each make their own).
final class ChafaCanvas {
    private let config: OpaquePointer
    private let symbolMap: OpaquePointer
    private let canvas: OpaquePointer
    private let termInfo: OpaquePointer
    let columns: Int
    let rows: Int

    enum Mode: Equatable {
        /// Symbols from `tags` in 24-bit colour (`truecolor`) or xterm colours 16-255.
        case symbols(truecolor: Bool, sextants: Bool)
        /// Image sequences for `proto`; `kittyID` names the image so it can be deleted later.
        case pixels(PixelProtocol, kittyID: UInt32)
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// A canvas of `columns x rows` cells of `cellWidth x cellHeight` pixels.
    init(mode: Mode, columns: Int, rows: Int, cellWidth: Int = 8, cellHeight: Int = 16) throws {
        guard columns > 0, rows > 0, cellWidth > 0, cellHeight > 0 else {
            throw Failure(description: "chafa: empty canvas \(columns)x\(rows)")
        }
        self.columns = columns
        self.rows = rows
        guard let config = chafa_canvas_config_new() else { throw Failure(description: "chafa: no canvas config") }
        guard let symbolMap = chafa_symbol_map_new() else {
            chafa_canvas_config_unref(config)
            throw Failure(description: "chafa: no symbol map")
        }
        // The fallback info knows SGR sequences; the image ones are set below, so the output
        // does not depend on the TERM the tests or the user run under.
        guard let db = chafa_term_db_get_default(), let info = chafa_term_db_get_fallback_info(db) else {
            chafa_symbol_map_unref(symbolMap)
            chafa_canvas_config_unref(config)
            throw Failure(description: "chafa: no terminal info")
        }
        self.config = config
        self.symbolMap = symbolMap
        termInfo = info
        chafa_canvas_config_set_geometry(config, Int32(columns), Int32(rows))
        chafa_canvas_config_set_cell_geometry(config, Int32(cellWidth), Int32(cellHeight))
        switch mode {
        case .symbols(let truecolor, let sextants):
            chafa_canvas_config_set_pixel_mode(config, CHAFA_PIXEL_MODE_SYMBOLS)
            // 240, not 256: the low 16 entries differ between terminals (chafa's own advice).
            chafa_canvas_config_set_canvas_mode(
                config, truecolor ? CHAFA_CANVAS_MODE_TRUECOLOR : CHAFA_CANVAS_MODE_INDEXED_240)
            chafa_symbol_map_add_by_tags(symbolMap, cch_mosaic_tags())
            if sextants { chafa_symbol_map_add_by_tags(symbolMap, cch_sextant_tags()) }
            chafa_canvas_config_set_symbol_map(config, symbolMap)
            // No dithering: goldens stay stable and video frames do not shimmer when stepping.
            chafa_canvas_config_set_dither_mode(config, CHAFA_DITHER_MODE_NONE)
        case .pixels(let proto, let id):
            chafa_canvas_config_set_canvas_mode(config, CHAFA_CANVAS_MODE_TRUECOLOR)
            switch proto {
            case .kitty:
                chafa_canvas_config_set_pixel_mode(config, CHAFA_PIXEL_MODE_KITTY)
                // i= names the image (deleted by id on scroll, resize, help and exit), C=1 keeps
                // the cursor still so curses' idea of it stays right, q=2 silences replies that
                // would otherwise arrive as keys.
                try Self.setSeq(
                    info, CHAFA_TERM_SEQ_BEGIN_KITTY_IMMEDIATE_IMAGE_V1,
                    "\u{1B}_Ga=T,q=2,C=1,i=\(id),f=%1,s=%2,v=%3,c=%4,r=%5,m=1\u{1B}\\")
                try Self.setSeq(info, CHAFA_TERM_SEQ_BEGIN_KITTY_IMAGE_CHUNK, "\u{1B}_Gm=1;")
                try Self.setSeq(info, CHAFA_TERM_SEQ_END_KITTY_IMAGE_CHUNK, "\u{1B}\\")
                try Self.setSeq(info, CHAFA_TERM_SEQ_END_KITTY_IMAGE, "\u{1B}_Gm=0\u{1B}\\")
            case .sixel:
                chafa_canvas_config_set_pixel_mode(config, CHAFA_PIXEL_MODE_SIXELS)
                // The fixed xterm palette instead of one computed per picture: `bench explore`
                // measured 25-53 ms per 368x208 frame with chafa's per-image palette (over the
                // 30 ms step budget) and 9-10 ms with this one, at half the bytes; PSNR about
                // 23.5 dB against the frame (PixelOutputTests; the per-image palette gave 32).
                chafa_canvas_config_set_canvas_mode(config, CHAFA_CANVAS_MODE_INDEXED_240)
                try Self.setSeq(info, CHAFA_TERM_SEQ_BEGIN_SIXELS, "\u{1B}P%1;%2;%3q")
                try Self.setSeq(info, CHAFA_TERM_SEQ_END_SIXELS, "\u{1B}\\")
            case .iterm:
                chafa_canvas_config_set_pixel_mode(config, CHAFA_PIXEL_MODE_ITERM2)
                try Self.setSeq(
                    info, CHAFA_TERM_SEQ_BEGIN_ITERM2_IMAGE,
                    "\u{1B}]1337;File=inline=1;width=%1;height=%2;preserveAspectRatio=0:")
                try Self.setSeq(info, CHAFA_TERM_SEQ_END_ITERM2_IMAGE, "\u{07}")
            }
        }
        guard let canvas = chafa_canvas_new(config) else {
            chafa_term_info_unref(info)
            chafa_symbol_map_unref(symbolMap)
            chafa_canvas_config_unref(config)
            throw Failure(description: "chafa: cannot make a \(columns)x\(rows) canvas")
        }
        self.canvas = canvas
    }

    deinit {
        chafa_canvas_unref(canvas)
        chafa_term_info_unref(termInfo)
        chafa_symbol_map_unref(symbolMap)
        chafa_canvas_config_unref(config)
    }

    private static func setSeq(_ info: OpaquePointer, _ seq: ChafaTermSeq, _ text: String) throws {
        var error: UnsafeMutablePointer<GError>? = nil
        let ok = chafa_term_info_set_seq(info, seq, text, &error)
        if let e = error {
            let message = e.pointee.message.map { String(cString: $0) } ?? "unknown"
            cch_error_free(e)
            throw Failure(description: "chafa: bad sequence \(text.debugDescription): \(message)")
        }
        if ok == 0 { throw Failure(description: "chafa: sequence \(text.debugDescription) refused") }
    }

    /// Gives chafa the picture; it scales it to the canvas (cells x cell pixels). As RGBA:
    /// chafa 1.12 reads packed RGB rows whose length is not a multiple of 4 bytes skewed (a
    /// 322-pixel-wide frame came out sheared and grey, PixelOutputTests' 7-pixel cells).
    func draw(_ image: RGBImage) {
        let n = image.width * image.height
        var rgba = [UInt8](repeating: 255, count: n * 4)
        image.pixels.withUnsafeBufferPointer { src in
            rgba.withUnsafeMutableBufferPointer { dst in
                for i in 0..<n {
                    dst[i * 4] = src[i * 3]
                    dst[i * 4 + 1] = src[i * 3 + 1]
                    dst[i * 4 + 2] = src[i * 3 + 2]
                }
            }
        }
        rgba.withUnsafeBufferPointer { p in
            chafa_canvas_draw_all_pixels(
                canvas, CHAFA_PIXEL_RGBA8_UNASSOCIATED, p.baseAddress, Int32(image.width), Int32(image.height),
                Int32(image.width * 4))
        }
    }

    /// The canvas as terminal bytes (an image sequence in pixel modes).
    func print() throws -> [UInt8] {
        guard let s = chafa_canvas_print(canvas, termInfo) else { throw Failure(description: "chafa: print failed") }
        defer { cch_string_free(s) }
        guard let str = s.pointee.str else { return [] }
        return str.withMemoryRebound(to: UInt8.self, capacity: Int(s.pointee.len)) {
            Array(UnsafeBufferPointer(start: $0, count: Int(s.pointee.len)))
        }
    }

    /// Symbol mode: the glyph and the colours of cell (x, y), packed 0xRRGGBB (in every canvas
    /// mode); -1 when chafa left the cell transparent.
    func cell(x: Int, y: Int) -> (glyph: Character, fg: Int32, bg: Int32) {
        let c = chafa_canvas_get_char_at(canvas, Int32(x), Int32(y))
        var fg: Int32 = -1
        var bg: Int32 = -1
        chafa_canvas_get_colors_at(canvas, Int32(x), Int32(y), &fg, &bg)
        return (Character(Unicode.Scalar(c) ?? " "), fg, bg)
    }
}

/// What the rest of the explorer asks of chafa.
public enum ChafaEncoder {
    /// The terminal bytes that show `image` in `columns x rows` cells of `cell` pixels.
    /// The image is expected at (about) that pixel size already; chafa scales what differs.
    public static func encode(
        _ image: RGBImage, proto: PixelProtocol, columns: Int, rows: Int, cell: CellPixels, imageID: UInt32 = 1
    ) throws -> [UInt8] {
        let canvas = try ChafaCanvas(
            mode: .pixels(proto, kittyID: imageID), columns: columns, rows: rows, cellWidth: cell.width,
            cellHeight: cell.height)
        canvas.draw(image)
        return try canvas.print()
    }

    /// `image` as a symbol mosaic of `columns x rows` cells. Each cell's style carries the
    /// nearest xterm colour (what curses draws) and, in 24-bit mode, the exact colour (what the
    /// adapter writes over it).
    public static func mosaic(_ image: RGBImage, columns: Int, rows: Int, truecolor: Bool, sextants: Bool = false)
        throws -> Screen
    {
        var screen = Screen(width: columns, height: rows)
        guard columns > 0, rows > 0 else { return screen }
        let canvas = try ChafaCanvas(
            mode: .symbols(truecolor: truecolor, sextants: sextants), columns: columns, rows: rows)
        canvas.draw(image)
        for y in 0..<rows {
            for x in 0..<columns {
                let c = canvas.cell(x: x, y: y)
                // chafa reports packed RGB in every mode; in the 240-colour mode those are exact
                // xterm palette colours, so the nearest-256 lookup finds their index.
                let fg = UInt32(bitPattern: max(0, c.fg)) & 0xFF_FFFF
                let bg = UInt32(bitPattern: max(0, c.bg)) & 0xFF_FFFF
                var style = Style(
                    fg: Palette.nearest256(Int(fg >> 16), Int(fg >> 8 & 255), Int(fg & 255)),
                    bg: Palette.nearest256(Int(bg >> 16), Int(bg >> 8 & 255), Int(bg & 255)))
                if truecolor { style.rgb = TrueColor(fg: fg, bg: bg) }
                screen[x, y] = Cell(c.glyph, style)
            }
        }
        return screen
    }
}
