import Foundation
import VideoData

/// Motion drawn into a picture, like FFmpeg's `codecview=mv`: arrows from where the content
/// came from to where it is, with a head at the destination. Used in the pixel modes, where the
/// frame goes to the terminal as an image (the text modes draw arrows into cells instead).
/// A 720p frame has thousands of 8x8 vectors; drawn one by one into a 300-pixel picture they
/// are an unreadable carpet, so the field is pooled onto a grid of `spacing`-pixel cells (the
/// same pooling as the side-by-side arrow grid) and one arrow is drawn per moving cell. Pure.
public enum PictureOverlay {
    /// What a placement needs to draw the overlay later, at whatever size it is shown.
    public struct Input: Sendable, Equatable {
        public var vectors: [MotionVector]
        public var frameWidth: Int
        public var frameHeight: Int
        public var lists: ReferenceLists
        /// Pixels of motion drawn one grid cell long; nil = the frame's 95th percentile.
        public var scale: Float?

        public init(
            vectors: [MotionVector], frameWidth: Int, frameHeight: Int, lists: ReferenceLists, scale: Float? = nil
        ) {
            self.vectors = vectors
            self.frameWidth = frameWidth
            self.frameHeight = frameHeight
            self.lists = lists
            self.scale = scale
        }

        public var field: MotionField {
            MotionField(vectors: vectors, frameWidth: frameWidth, frameHeight: frameHeight, cellSize: 8, lists: lists)
        }
    }

    /// Yellow with a dark shadow: reads on bright sky and dark grass alike (codecview's
    /// choice of a single saturated colour, plus the shadow).
    static let arrowColor: (UInt8, UInt8, UInt8) = (255, 224, 0)

    /// Draws `field` into the packed RGB picture `rgb` of `width x height`: per grid cell of
    /// about `spacing` pixels with motion, an arrow ending at the cell centre whose length is
    /// the cell's mean motion over `scale` (nil: the frame's 95th percentile) cells. Intra and
    /// still cells get nothing, so the picture stays visible there.
    public static func draw(
        into rgb: inout [UInt8], width: Int, height: Int, field: MotionField, scale: Float? = nil, spacing: Int = 12
    ) {
        guard width > 0, height > 0, rgb.count >= width * height * 3 else { return }
        let columns = max(1, width / spacing)
        let rows = max(1, height / spacing)
        let grid = MotionGrid(field: field, columns: columns, rows: rows)
        guard grid.hasVectors else { return }
        let full = scale ?? ArrowGrid.autoScale(grid)
        let cw = Double(width) / Double(columns)
        let ch = Double(height) / Double(rows)
        var segments: [(Double, Double, Double, Double)] = []
        for r in 0..<rows {
            for c in 0..<columns {
                guard case .motion = grid.kind(column: c, row: r) else { continue }
                let cell = grid[c, r]
                // One scale unit is one cell long; longer motion is capped at two cells.
                let k = min(2, Double(cell.magnitude / full)) / Double(max(cell.magnitude, 1e-6))
                let dx = Double(cell.dx) * k * cw
                let dy = Double(cell.dy) * k * ch
                if dx * dx + dy * dy < 4 { continue }
                let hx = (Double(c) + 0.5) * cw
                let hy = (Double(r) + 0.5) * ch
                segments.append((hx - dx, hy - dy, hx, hy))
            }
        }
        rgb.withUnsafeMutableBufferPointer { buf in
            // Shadows first, so no arrow is darkened by a neighbour's shadow.
            for pass in 0..<2 {
                let color: (UInt8, UInt8, UInt8) = pass == 0 ? (0, 0, 0) : arrowColor
                let o = pass == 0 ? 1.0 : 0.0
                for (tx, ty, hx, hy) in segments {
                    line(buf, width, height, tx + o, ty + o, hx + o, hy + o, color)
                    // Arrowhead: two strokes 30 degrees either side of the reversed direction.
                    let dx = hx - tx
                    let dy = hy - ty
                    let len = (dx * dx + dy * dy).squareRoot()
                    let head = min(4.0, len / 2)
                    for a in [Double.pi / 6, -Double.pi / 6] {
                        let rx = (-dx * cos(a) + dy * sin(a)) / len
                        let ry = (-dx * sin(a) - dy * cos(a)) / len
                        line(buf, width, height, hx + o, hy + o, hx + o + rx * head, hy + o + ry * head, color)
                    }
                }
            }
        }
    }

    /// Bresenham between two points, clipped to the picture.
    static func line(
        _ buf: UnsafeMutableBufferPointer<UInt8>, _ w: Int, _ h: Int, _ x0: Double, _ y0: Double, _ x1: Double,
        _ y1: Double, _ c: (UInt8, UInt8, UInt8)
    ) {
        var x = Int(x0.rounded())
        var y = Int(y0.rounded())
        let xe = Int(x1.rounded())
        let ye = Int(y1.rounded())
        let dx = abs(xe - x)
        let dy = -abs(ye - y)
        let stepX = x < xe ? 1 : -1
        let stepY = y < ye ? 1 : -1
        var err = dx + dy
        // Long vectors at the frame's edge are clipped, never allowed to run forever.
        for _ in 0...(dx - dy) {
            if x >= 0, y >= 0, x < w, y < h {
                let o = (y * w + x) * 3
                buf[o] = c.0
                buf[o + 1] = c.1
                buf[o + 2] = c.2
            }
            if x == xe && y == ye { break }
            let e2 = 2 * err
            if e2 >= dy {
                err += dy
                x += stepX
            }
            if e2 <= dx {
                err += dx
                y += stepY
            }
        }
    }
}
