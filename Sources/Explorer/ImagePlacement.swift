import VideoData

/// Exact cell colours of the 24-bit tier, 0xRRGGBB.
public struct TrueColor: Hashable, Sendable {
    public var fg: UInt32
    public var bg: UInt32

    public init(fg: UInt32, bg: UInt32) {
        self.fg = fg
        self.bg = bg
    }

    static func hex(_ v: UInt32) -> String {
        let s = String(v & 0xFF_FFFF, radix: 16)
        return String(repeating: "0", count: 6 - s.count) + s
    }
}

/// The size of one terminal cell in pixels (TIOCGWINSZ or `CSI 16 t`; 8x16 when unknown).
public struct CellPixels: Hashable, Sendable, Codable {
    public var width: Int
    public var height: Int

    public init(width: Int, height: Int) {
        self.width = max(1, width)
        self.height = max(1, height)
    }

    /// What the explorer assumes when the terminal does not say.
    public static let fallback = CellPixels(width: 8, height: 16)
}

/// A pixel picture the terminal adapter draws over a rectangle of cells. Pure data: `key`
/// names the content (video, frame, overlay, pixel size), so the adapter re-sends an image only
/// when its key or rectangle changed, and goldens can record placements.
public struct ImagePlacement: Sendable, Equatable {
    /// Stable per slot (1 the frame pane, 10+ neighbour thumbnails): kitty deletes by it.
    public var id: UInt32
    /// How the adapter sends it (the tier that placed it).
    public var proto: PixelProtocol
    public var rect: Rect
    public var pixelWidth: Int
    public var pixelHeight: Int
    public var key: String
    /// The picture at any size and the vectors to draw on it (motion overlay), scaled by
    /// `pixels()` only when the adapter needs the bytes.
    public var source: RGBImage
    public var overlay: PictureOverlay.Input?

    public init(
        id: UInt32, proto: PixelProtocol, rect: Rect, pixelWidth: Int, pixelHeight: Int, key: String, source: RGBImage,
        overlay: PictureOverlay.Input? = nil
    ) {
        self.id = id
        self.proto = proto
        self.rect = rect
        self.pixelWidth = pixelWidth
        self.pixelHeight = pixelHeight
        self.key = key
        self.source = source
        self.overlay = overlay
    }

    /// Placements are the same picture when slot, place and content name agree; comparing
    /// the pixels themselves would cost a frame's worth of bytes on every redraw.
    public static func == (a: ImagePlacement, b: ImagePlacement) -> Bool {
        a.id == b.id && a.proto == b.proto && a.rect == b.rect && a.key == b.key && a.pixelWidth == b.pixelWidth
            && a.pixelHeight == b.pixelHeight
    }

    /// The picture at its pixel size, with the motion vectors drawn in when asked.
    public func pixels() -> RGBImage {
        var image = Thumbnail.resize(source, width: pixelWidth, height: pixelHeight)
        if let o = overlay {
            PictureOverlay.draw(
                into: &image.pixels, width: pixelWidth, height: pixelHeight, field: o.field, scale: o.scale)
        }
        return image
    }

    /// One line for goldens.
    public var summary: String {
        "\(proto.rawValue) image \(id) at \(rect.x),\(rect.y) \(rect.width)x\(rect.height) cells, \(pixelWidth)x\(pixelHeight) px: \(key)"
    }
}

extension Screen {
    /// Draws `image` into `columns x rows` cells at (x, y): as a placement for the adapter in
    /// pixel modes (at `cell` pixels per cell), else as text cells of the current tier.
    mutating func picture(
        _ image: RGBImage, x: Int, y: Int, columns: Int, rows: Int, caps: Capabilities, cell: CellPixels,
        id: UInt32, key: String, overlay: PictureOverlay.Input? = nil
    ) {
        guard columns > 0, rows > 0 else { return }
        if let proto = caps.tier.pixelProtocol {
            let rect = Rect(x: x, y: y, width: columns, height: rows)
            fill(rect)
            let w = columns * cell.width
            // Sixel draws bands of 6 pixel rows; a height between bands makes chafa squeeze the
            // picture into fewer rows (PixelOutputTests: 19.9 dB instead of 23 at 6x13 cells).
            let h = proto == .sixel ? max(6, rows * cell.height / 6 * 6) : rows * cell.height
            let k = "\(key) \(w)x\(h)" + (overlay == nil ? "" : " +motion \(overlay!.lists.rawValue)")
            images.append(
                ImagePlacement(
                    id: id, proto: proto, rect: rect, pixelWidth: w, pixelHeight: h, key: k, source: image,
                    overlay: overlay))
        } else {
            blit(Thumbnail.render(image, columns: columns, rows: rows, caps: caps), x: x, y: y)
        }
    }
}
