import Explorer
import Foundation
import MediaIO
import TestSupport
import Testing
import VideoData

/// The pixel mode in a real terminal: the explorer in `xterm -ti vt340` (sixel) on Xvfb, its
/// window captured, and the frame pane's pixels compared with the decoded frame.
@Suite("A real terminal: xterm with sixel under Xvfb")
struct XtermTests {
    static let missing = XtermSession.missingTools
    static let sample = Paths.asset("videos/bigbuckbunny_720p.mp4")
    static let last = 131

    /// Where the explorer puts the frame picture at 120x40 with 6x13 cells, from the same pure
    /// layout the program uses (placement rect and pixel size).
    static func framePlacement() -> ImagePlacement? {
        let app = ExplorerApp(
            paths: [sample], width: 120, height: 40, caps: Capabilities(colors: 256, unicode: true, graphics: .sixel),
            open: { try VideoReader(path: $0) }, embedding: nil, previewWidth: 960)
        app.setCellPixels(CellPixels(width: XtermSession.cell.width, height: XtermSession.cell.height))
        return app.runBatch(keys: [.char("G")]).images.first { $0.id == 1 }
    }

    static func frame(_ index: Int, width: Int, height: Int) throws -> RGBImage {
        let reader = try VideoReader(path: sample)
        for _ in 0...index { _ = try reader.next() }
        return Thumbnail.resize(try reader.currentImage(width: nil, height: nil), width: width, height: height)
    }

    @Test(
        "auto detection picks sixel in xterm -ti vt340, and the frame pane shows the frame G jumps to",
        .enabled(if: missing.isEmpty, "skipped: \(missing.joined(separator: ", ")) missing (make deps installs them)"))
    func sixelFrame() throws {
        let p = try #require(Self.framePlacement())
        let truth = try Self.frame(Self.last, width: p.pixelWidth, height: p.pixelHeight)
        let first = try Self.frame(0, width: p.pixelWidth, height: p.pixelHeight)
        let log = Paths.scratch + "/xterm-explore.log"
        let session = try XtermSession([
            Paths.decouple, "explore", "--graphics", "auto", "--log", log, "--keys", "<wait>G", Self.sample,
        ])
        // Poll the screen until the last frame is there (start-up and decoding take seconds
        // in debug builds). The start screen shows frame 0, which must not pass: the pane has
        // to match the last frame clearly better than the first.
        var match = 0.0
        var other = 0.0
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            usleep(400_000)
            let shot = try session.screenshot()
            let shown = XtermSession.crop(
                shot, x: p.rect.x * XtermSession.cell.width, y: p.rect.y * XtermSession.cell.height,
                width: p.pixelWidth, height: p.pixelHeight - 6)
            match = TerminalPictures.psnr(shown, truth)
            other = TerminalPictures.psnr(shown, first)
            if match >= 18 && match >= other + 3 { break }
            #expect(session.running, "the explorer (or xterm) exited early; see \(log)")
        }
        if let dir = ProcessInfo.processInfo.environment["DECOUPLE_SCREENSHOTS"] {
            try session.savePNG(dir + "/explore-sixel-test.png")
        }
        print(
            String(
                format: "xterm sixel: frame pane vs decoded frame %d: PSNR %.1f dB (vs frame 0: %.1f dB)", Self.last,
                match, other))
        // 18 dB: the sixel encoding itself measures 23.5 dB against the frame (fixed 240-colour
        // palette, PixelOutputTests); xterm and the capture cost little more (24.3 dB measured
        // here); a blank pane or
        // the half-block text picture measures under 12 dB. The 3 dB margin over frame 0 makes
        // sure the picture is the frame the keys led to, not the start screen.
        #expect(match >= 18)
        #expect(match >= other + 3)
    }

    /// `DECOUPLE_SCREENSHOTS=docs/images swift test --filter XtermTests` refreshes the README's
    /// pictures: sixel with the motion overlay, and the 24-bit mosaic text mode.
    @Test(
        "README screenshots",
        .enabled(if: missing.isEmpty && ProcessInfo.processInfo.environment["DECOUPLE_SCREENSHOTS"] != nil))
    func screenshots() throws {
        let dir = ProcessInfo.processInfo.environment["DECOUPLE_SCREENSHOTS"]!
        let runs: [(String, [String], [String: String])] = [
            ("explore-sixel-motion.png", ["--graphics", "sixel", "--motion-overlay"], ["COLORTERM": "truecolor"]),
            ("explore-mosaic.png", ["--graphics", "symbols"], ["COLORTERM": "truecolor"]),
        ]
        for (name, args, env) in runs {
            let session = try XtermSession(
                [Paths.decouple, "explore", "--log", Paths.scratch + "/shot.log"] + args + [
                    "--keys", "<wait>" + String(repeating: ".", count: 40), Self.sample,
                ], environment: env, font: "DejaVu Sans Mono")
            sleep(12)
            try session.savePNG(dir + "/" + name)
        }
    }
}
