import VideoData

/// Terminal thumbnails of RGB images in every tier of docs/terminal.md §1.
public enum Thumbnail {
    /// Box-filter (area-average) downscale of `image` to exactly `width x height` pixels.
    /// Upscaling repeats pixels. Pure and deterministic.
    public static func resize(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        precondition(width > 0 && height > 0)
        let sw = image.width
        let sh = image.height
        let xs = spans(source: sw, target: width)
        let ys = spans(source: sh, target: height)
        var out = [UInt8](repeating: 0, count: width * height * 3)
        image.pixels.withUnsafeBufferPointer { src in
            for ty in 0..<height {
                let (y0, y1) = ys[ty]
                for tx in 0..<width {
                    let (x0, x1) = xs[tx]
                    var r = 0
                    var g = 0
                    var b = 0
                    for y in y0..<y1 {
                        var o = (y * sw + x0) * 3
                        for _ in x0..<x1 {
                            r += Int(src[o])
                            g += Int(src[o + 1])
                            b += Int(src[o + 2])
                            o += 3
                        }
                    }
                    let n = (y1 - y0) * (x1 - x0)
                    let d = (ty * width + tx) * 3
                    out[d] = UInt8((r + n / 2) / n)
                    out[d + 1] = UInt8((g + n / 2) / n)
                    out[d + 2] = UInt8((b + n / 2) / n)
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    /// Source pixel span [lo, hi) for each target pixel; at least one pixel each.
    static func spans(source: Int, target: Int) -> [(Int, Int)] {
        (0..<target).map { t in
            let lo = t * source / target
            let hi = max(lo + 1, (t + 1) * source / target)
            return (min(lo, source - 1), min(hi, source))
        }
    }

    /// The number of cell rows that keeps the image's aspect at `columns` wide (a cell is about
    /// twice as tall as wide).
    public static func rows(forColumns columns: Int, imageWidth: Int, imageHeight: Int) -> Int {
        MotionGrid.rows(forColumns: columns, frameWidth: imageWidth, frameHeight: imageHeight)
    }

    /// Renders `image` into `columns x rows` cells for `caps`.
    public static func render(_ image: RGBImage, columns: Int, rows: Int, caps: Capabilities) -> Screen {
        var screen = Screen(width: columns, height: rows)
        guard columns > 0, rows > 0 else { return screen }
        switch caps.tier {
        case .symbols24, .symbols256:
            if let mosaic = try? ChafaEncoder.mosaic(image, columns: columns, rows: rows, truecolor: caps.truecolor) {
                return mosaic
            }
            // chafa refused (it never has in practice): today's half blocks instead of nothing.
            return render(image, columns: columns, rows: rows, caps: Capabilities(colors: caps.colors, unicode: true))
        case .kitty, .sixel, .iterm:
            // Pixel tiers place images (Screen.picture); as cells they look like the 256 tier,
            // which is also what a pixel-less consumer (batch text, goldens) sees.
            return render(image, columns: columns, rows: rows, caps: Capabilities(colors: 256, unicode: caps.unicode))
        case .halfBlocks256, .halfBlocksDithered:
            // Two pixels per cell: the upper half block's fg is the top pixel, bg the bottom.
            let small = resize(image, width: columns, height: rows * 2)
            for y in 0..<rows {
                for x in 0..<columns {
                    let (tr, tg, tb) = small.pixel(x: x, y: 2 * y)
                    let (br, bg, bb) = small.pixel(x: x, y: 2 * y + 1)
                    let fg: Int16
                    let bgc: Int16
                    if caps.tier == .halfBlocks256 {
                        fg = Palette.nearest256(Int(tr), Int(tg), Int(tb))
                        bgc = Palette.nearest256(Int(br), Int(bg), Int(bb))
                    } else {
                        fg = Palette.dithered(Int(tr), Int(tg), Int(tb), x: x, y: 2 * y, count: caps.colors)
                        bgc = Palette.dithered(Int(br), Int(bg), Int(bb), x: x, y: 2 * y + 1, count: caps.colors)
                    }
                    screen[x, y] = Cell("▀", Style(fg: fg, bg: bgc))
                }
            }
        case .colorCells:
            let small = resize(image, width: columns, height: rows)
            for y in 0..<rows {
                for x in 0..<columns {
                    let (r, g, b) = small.pixel(x: x, y: y)
                    let bg =
                        caps.colors >= 256
                        ? Palette.nearest256(Int(r), Int(g), Int(b))
                        : Palette.dithered(Int(r), Int(g), Int(b), x: x, y: y, count: caps.colors)
                    screen[x, y] = Cell(" ", Style(bg: bg))
                }
            }
        case .mono:
            let small = resize(image, width: columns, height: rows)
            let ramp = Array(" .:-=+*#%@")
            let lum = (0..<(columns * rows)).map { i -> Int in
                let o = i * 3
                return (Int(small.pixels[o]) * 299 + Int(small.pixels[o + 1]) * 587 + Int(small.pixels[o + 2]) * 114)
                    / 1000
            }
            // Auto-levels: stretch the 2nd-98th percentiles to the full ramp.
            let sorted = lum.sorted()
            let lo = sorted[sorted.count * 2 / 100]
            let hi = max(lo + 1, sorted[min(sorted.count - 1, sorted.count * 98 / 100)])
            for y in 0..<rows {
                for x in 0..<columns {
                    let v = min(max((lum[y * columns + x] - lo) * (ramp.count - 1) / (hi - lo), 0), ramp.count - 1)
                    screen[x, y] = Cell(ramp[v])
                }
            }
        }
        return screen
    }
}
