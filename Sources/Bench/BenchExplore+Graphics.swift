import Common
import Explorer
import Foundation
import MediaIO
import VideoData

/// `bench explore`'s picture-mode rows: for each mode, a frame step from the key to the bytes
/// the terminal adapter would write (render, then the pixel image or the 24-bit cells), and the
/// encode part alone. Cells are taken as 8x16 pixels (the fallback the explorer uses when the
/// terminal does not say), so a 120x40 screen's frame pane is about 370x210 pixels.
extension BenchExplore {
    struct GraphicsRow: Codable {
        var mode: String
        var step: Latency
        /// The adapter's part of a step: scaling, the overlay, chafa and the 24-bit cells.
        var encode: Latency
        var bytesPerFrame: Int

        enum CodingKeys: String, CodingKey {
            case mode, step, encode
            case bytesPerFrame = "bytes_per_frame"
        }
    }

    static let graphicsModes: [(String, Capabilities, Bool)] = [
        ("kitty", Capabilities(colors: 256, unicode: true, truecolor: true, graphics: .kitty), false),
        ("sixel", Capabilities(colors: 256, unicode: true, truecolor: true, graphics: .sixel), false),
        ("sixel + motion overlay", Capabilities(colors: 256, unicode: true, truecolor: true, graphics: .sixel), true),
        ("iterm", Capabilities(colors: 256, unicode: true, truecolor: true, graphics: .iterm), false),
        ("24-bit mosaic", Capabilities(colors: 256, unicode: true, truecolor: true, graphics: .symbols), false),
        ("256-colour mosaic", Capabilities(colors: 256, unicode: true, graphics: .symbols), false),
        ("256 colours (half blocks)", Capabilities(colors: 256, unicode: true), false),
    ]

    /// Steps through `frames` frames (decoded once beforehand, so the rows compare the
    /// picture work, not the decoder) in every mode.
    func graphicsRows(path: String, width: Int, height: Int, frames: Int) -> [GraphicsRow] {
        Self.graphicsModes.map { name, caps, overlay in
            let pixel = caps.tier.pixelProtocol != nil
            let app = ExplorerApp(
                paths: [path], width: width, height: height, caps: caps, open: { try VideoReader(path: $0) },
                embedding: nil, previewWidth: pixel ? 960 : 192)
            app.setCellPixels(.fallback)
            app.setMotionOverlay(overlay)
            app.start()
            waitForFrame(app, 0)
            // Warm the cache: every step below is a cache hit.
            for i in 1..<frames {
                app.handle(.char("."))
                waitForFrame(app, i)
            }
            app.handle(.char("g"))
            waitForFrame(app, 0)
            let images = TerminalImages(tmuxPassthrough: false)
            _ = images.drawBytes(for: app.render())
            var steps: [Double] = []
            var encodes: [Double] = []
            var bytes = 0
            for _ in 1..<frames {
                let t = Date()
                app.handle(.char("."))
                waitForFrame(app, app.state.cursor)
                let screen = app.render()
                let e = Date()
                _ = images.clearBytes(for: screen)
                bytes += images.drawBytes(for: screen).count
                let done = Date()
                steps.append(done.timeIntervalSince(t) * 1000)
                encodes.append(done.timeIntervalSince(e) * 1000)
            }
            app.settle()
            app.stop()
            return GraphicsRow(
                mode: name, step: Latency(steps), encode: Latency(encodes), bytesPerFrame: bytes / max(1, frames - 1))
        }
    }

    func printGraphicsRows(_ rows: [GraphicsRow]) {
        print("  picture modes (8x16-pixel cells; step = key to the bytes the terminal gets):")
        for r in rows {
            let label = r.mode.padding(toLength: 26, withPad: " ", startingAt: 0)
            print(
                String(
                    format: "    %@ step median %6.2f ms  p95 %6.2f ms  encode median %6.2f ms  %7d bytes/frame",
                    label, r.step.medianMs, r.step.p95Ms, r.encode.medianMs, r.bytesPerFrame))
        }
    }
}
