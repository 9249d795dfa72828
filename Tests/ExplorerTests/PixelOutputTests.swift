import Explorer
import Foundation
import MediaIO
import TestSupport
import Testing
import VideoData

/// The pixel modes end to end without a terminal: the explorer opens the 720p sample, steps to
/// a frame, places it, and the bytes its terminal adapter would write are decoded back and
/// compared with the decoded frame scaled to the pane's pixel size.
@Suite("Pixel modes: kitty and sixel output decoded")
struct PixelOutputTests {
    static let sample = Paths.asset("videos/bigbuckbunny_720p.mp4")
    static let open: FrameReaderFactory = { try VideoReader(path: $0) }
    static let cell = CellPixels(width: 8, height: 16)

    /// The frame pane's placement after `steps` frames, in `graphics` mode at 120x40.
    static func placement(
        _ graphics: Capabilities.Graphics, steps: Int, overlay: Bool = false, cell: CellPixels = cell
    ) -> ImagePlacement? {
        let app = ExplorerApp(
            paths: [sample], width: 120, height: 40,
            caps: Capabilities(colors: 256, unicode: true, truecolor: true, graphics: graphics), open: open,
            embedding: nil, previewWidth: 960)
        app.setCellPixels(cell)
        app.setMotionOverlay(overlay)
        _ = Self.cell
        let screen = app.runBatch(keys: Array(repeating: .char("."), count: steps))
        return screen.images.first { $0.id == 1 }
    }

    /// Frame `index` decoded at full size, then box-filtered to `width x height`.
    static func frame(_ index: Int, width: Int, height: Int) throws -> RGBImage {
        let reader = try VideoReader(path: sample)
        for _ in 0...index { _ = try reader.next() }
        return Thumbnail.resize(try reader.currentImage(width: nil, height: nil), width: width, height: height)
    }

    @Test("kitty: the image the adapter writes is the frame at the pane's pixel size (PSNR >= 30 dB)")
    func kitty() throws {
        let p = try #require(Self.placement(.kitty, steps: 3))
        #expect(p.proto == .kitty)
        #expect(p.pixelWidth == p.rect.width * 8 && p.pixelHeight == p.rect.height * 16)
        let bytes = try TerminalImages.imageBytes(p)
        // Placed at the pane's cell, named by id (deleted by it later), cursor left alone.
        let head = String(decoding: bytes.prefix(60), as: UTF8.self)
        #expect(head.hasPrefix("\u{1B}7\u{1B}[\(p.rect.y + 1);\(p.rect.x + 1)H\u{1B}_Ga=T,q=2,C=1,i=1,"))
        let decoded = TerminalPictures.decodeKitty(bytes)
        let shown = try #require(decoded, "the kitty sequence does not decode")
        #expect(shown.width == p.pixelWidth && shown.height == p.pixelHeight)
        let truth = try Self.frame(3, width: shown.width, height: shown.height)
        let db = TerminalPictures.psnr(shown, truth)
        print("kitty \(shown.width)x\(shown.height) px: PSNR \(String(format: "%.1f", db)) dB")
        #expect(db >= 30)
    }

    @Test(
        "sixel: the image the adapter writes is the frame at the pane's pixel size (PSNR >= 20 dB)",
        arguments: [8, 7, 6])
    func sixel(cellWidth: Int) throws {
        let p = try #require(
            Self.placement(.sixel, steps: 3, cell: CellPixels(width: cellWidth, height: 2 * cellWidth + 1)))
        let bytes = try TerminalImages.imageBytes(p)
        let decoded = TerminalPictures.decodeSixel(bytes)
        let shown = try #require(decoded, "the sixel sequence does not decode")
        #expect(shown.width == p.pixelWidth)
        // Sixel bands are 6 pixels high: chafa may drop up to 5 rows at the bottom.
        #expect(shown.height <= p.pixelHeight && shown.height > p.pixelHeight - 6)
        let truth = try Self.frame(3, width: p.pixelWidth, height: p.pixelHeight)
        let db = TerminalPictures.psnr(shown, truth)
        print(
            "sixel, cell \(cellWidth) px wide: \(shown.width)x\(shown.height) px: PSNR \(String(format: "%.1f", db)) dB"
        )
        #expect(db >= 20)
    }

    @Test("the motion overlay draws the vectors into the picture, in pixel modes only")
    func overlay() throws {
        let plain = try #require(Self.placement(.kitty, steps: 3))
        let drawn = try #require(Self.placement(.kitty, steps: 3, overlay: true))
        #expect(drawn.key.hasSuffix("+motion both") && !plain.key.contains("+motion"))
        #expect(drawn != plain)
        // The overlay can give the frame more room (the grid beside it may go): compare the
        // drawn picture with the same placement without the vectors.
        var bare = drawn
        bare.overlay = nil
        let a = bare.pixels()
        let b = drawn.pixels()
        var changed = 0
        var yellow = 0
        for i in stride(from: 0, to: a.pixels.count, by: 3) where a.pixels[i..<(i + 3)] != b.pixels[i..<(i + 3)] {
            changed += 1
            if b.pixels[i] == 255 && b.pixels[i + 1] == 224 && b.pixels[i + 2] == 0 { yellow += 1 }
        }
        // Frame 3 of the sample is a P-frame with vectors over the rabbit and the grass.
        #expect(changed > 100)
        #expect(yellow > 50)
        #expect(changed < a.pixels.count / 3 / 4, "the vectors cover a small part of the picture")
    }
}
