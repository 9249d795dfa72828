import Foundation
import VideoData

/// Motion vectors drawn into a picture, like FFmpeg's `codecview=mv`: per block a line from
/// where the content came from to the block centre, with an arrowhead at the centre. Used in
/// the pixel modes, where the frame goes to the terminal as an image (the text modes draw
/// arrows into cells instead). Pure.
public enum MotionOverlay {
    /// What a placement needs to draw the overlay later, at whatever size it is shown.
    public struct Input: Sendable, Equatable {
        public var vectors: [MotionVector]
        public var frameWidth: Int
        public var frameHeight: Int
        public var lists: ReferenceLists

        public init(vectors: [MotionVector], frameWidth: Int, frameHeight: Int, lists: ReferenceLists) {
            self.vectors = vectors
            self.frameWidth = frameWidth
            self.frameHeight = frameHeight
            self.lists = lists
        }
    }

    /// List-0 (past reference) vectors in yellow, list-1 (future) in cyan: both stand out on
    /// natural pictures, and codecview uses the same split.
    static let list0Color: (UInt8, UInt8, UInt8) = (255, 224, 0)
    static let list1Color: (UInt8, UInt8, UInt8) = (0, 224, 255)

    /// Draws `vectors` (frame coordinates, `frameWidth x frameHeight`) into the packed RGB
    /// picture `rgb` of `width x height`. Each vector is normalised to forward motion (list-1
    /// vectors point to a future frame, so they are negated) and drawn from its tail to the
    /// block centre, over a one-pixel dark shadow so it reads on bright areas too. Vectors under
    /// half a pixel are quarter-pel noise and are left out.
    public static func draw(
        into rgb: inout [UInt8], width: Int, height: Int, vectors: [MotionVector], frameWidth: Int,
        frameHeight: Int, lists: ReferenceLists = .both
    ) {
        guard width > 0, height > 0, frameWidth > 0, frameHeight > 0, rgb.count >= width * height * 3 else { return }
        let sx = Double(width) / Double(frameWidth)
        let sy = Double(height) / Double(frameHeight)
        var segments: [(Double, Double, Double, Double, (UInt8, UInt8, UInt8))] = []
        for v in vectors {
            let forward = v.source <= 0
            if lists == .list0 && !forward || lists == .list1 && forward { continue }
            let scale = Double(max(1, v.motionScale))
            // src = dst + motion/scale; the content moved from src to dst for a past reference.
            let sign: Double = forward ? 1 : -1
            let mx = sign * Double(v.motionX) / scale
            let my = sign * Double(v.motionY) / scale
            if mx * mx + my * my < 0.25 { continue }
            let hx = Double(v.dstX) * sx
            let hy = Double(v.dstY) * sy
            let tx = (Double(v.dstX) + mx) * sx
            let ty = (Double(v.dstY) + my) * sy
            segments.append((tx, ty, hx, hy, forward ? list0Color : list1Color))
        }
        rgb.withUnsafeMutableBufferPointer { buf in
            // Shadows first, so no line is darkened by a neighbour's shadow.
            for pass in 0..<2 {
                for (tx, ty, hx, hy, color) in segments {
                    let c: (UInt8, UInt8, UInt8) = pass == 0 ? (0, 0, 0) : color
                    let o = pass == 0 ? 1.0 : 0.0
                    line(buf, width, height, tx + o, ty + o, hx + o, hy + o, c)
                    // Arrowhead: two strokes 30 degrees either side of the reversed direction.
                    let dx = hx - tx
                    let dy = hy - ty
                    let len = (dx * dx + dy * dy).squareRoot()
                    guard len >= 2 else { continue }
                    let head = min(4.0, len / 2)
                    let ux = -dx / len
                    let uy = -dy / len
                    for a in [Double.pi / 6, -Double.pi / 6] {
                        let rx = ux * cos(a) - uy * sin(a)
                        let ry = ux * sin(a) + uy * cos(a)
                        line(buf, width, height, hx + o, hy + o, hx + o + rx * head, hy + o + ry * head, c)
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
