import Foundation
import VideoData

/// The shape of an actor's silhouette.
public enum ActorShape: String, CaseIterable, Sendable, Codable {
    case ellipse
    case roundedSquare = "rounded-square"
    case diamond

    /// Coverage of the point (u, v) in [-1, 1]^2, with a soft edge `feather` wide.
    func alpha(_ u: Double, _ v: Double, feather: Double) -> Double {
        let d: Double
        switch self {
        case .ellipse: d = (u * u + v * v).squareRoot() - 1
        case .diamond: d = (abs(u) + abs(v)) - 1
        case .roundedSquare:
            let r = 0.35
            let qx = max(abs(u) - (1 - r), 0)
            let qy = max(abs(v) - (1 - r), 0)
            d = (qx * qx + qy * qy).squareRoot() - r + min(max(abs(u), abs(v)) - (1 - r), 0)
        }
        return min(1, max(0, 0.5 - d / feather))
    }
}

/// A foreground object: a silhouette filled with a texture cut from a photo (or a drawn
/// pattern), sized relative to the frame height.
public struct Actor: Sendable {
    public var shape: ActorShape
    public var texture: RGBImage
    /// Half-extent in pixels at scale 1 (x and y; their ratio is the aspect).
    public var radiusX: Double
    public var radiusY: Double
    public var textureName: String
}

/// Where the background comes from: a photo and a crop window inside it.
public struct Backdrop: Sendable {
    public var photo: RGBImage
    public var photoName: String
    /// Crop window in photo pixels (top-left and size) at camera offset zero.
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double
}

/// Renders frames of one synthetic video. Pure: the same inputs give the same pixels.
public struct SceneRenderer: Sendable {
    public var width: Int
    public var height: Int
    public var backdrop: Backdrop
    public var actor: Actor
    public var motion: Motion
    public var frames: Int

    public func render(frame f: Int) -> RGBImage {
        let pose = motion.pose(frame: f, frames: frames)
        var px = [UInt8](repeating: 0, count: width * height * 3)
        // Background: the crop window, moved by the camera, resampled to the frame.
        let sx = backdrop.width / Double(width)
        let sy = backdrop.height / Double(height)
        let ox = backdrop.x + pose.panX * sx
        let oy = backdrop.y + pose.panY * sy
        for y in 0..<height {
            for x in 0..<width {
                let c = Self.sample(
                    backdrop.photo, ox + (Double(x) + 0.5) * sx - 0.5, oy + (Double(y) + 0.5) * sy - 0.5)
                let o = (y * width + x) * 3
                px[o] = c.0
                px[o + 1] = c.1
                px[o + 2] = c.2
            }
        }
        // Actor: inverse-map each pixel near it into the actor's own [-1, 1] square. With a pan
        // the actor is fixed in the scene, so it moves with the background.
        let cx = pose.x - pose.panX
        let cy = pose.y - pose.panY
        let rx = actor.radiusX * pose.scale
        let ry = actor.radiusY * pose.scale
        let reach = max(rx, ry) * 1.5 + 2
        let cosA = cos(pose.angle)
        let sinA = sin(pose.angle)
        let feather = 1.5 / min(rx, ry)
        let x0 = max(0, Int(cx - reach))
        let x1 = min(width - 1, Int(cx + reach))
        let y0 = max(0, Int(cy - reach))
        let y1 = min(height - 1, Int(cy + reach))
        guard x0 <= x1, y0 <= y1 else { return RGBImage(width: width, height: height, pixels: px) }
        let tw = Double(actor.texture.width)
        let th = Double(actor.texture.height)
        for y in y0...y1 {
            for x in x0...x1 {
                let dx = Double(x) + 0.5 - cx
                let dy = Double(y) + 0.5 - cy
                // Rotate by -angle (screen y points down, so counter-clockwise is -sin).
                let u = (cosA * dx - sinA * dy) / rx
                let v = (sinA * dx + cosA * dy) / ry
                let a = actor.shape.alpha(u, v, feather: feather)
                if a <= 0 { continue }
                let t = Self.sample(actor.texture, (u + 1) / 2 * (tw - 1), (v + 1) / 2 * (th - 1))
                let o = (y * width + x) * 3
                px[o] = Self.mix(px[o], t.0, a)
                px[o + 1] = Self.mix(px[o + 1], t.1, a)
                px[o + 2] = Self.mix(px[o + 2], t.2, a)
            }
        }
        return RGBImage(width: width, height: height, pixels: px)
    }

    @inline(__always) static func mix(_ a: UInt8, _ b: UInt8, _ t: Double) -> UInt8 {
        UInt8(min(255, max(0, (Double(a) * (1 - t) + Double(b) * t).rounded())))
    }

    /// Bilinear sample with clamped edges.
    @inline(__always) static func sample(_ img: RGBImage, _ x: Double, _ y: Double) -> (UInt8, UInt8, UInt8) {
        let xc = min(max(x, 0), Double(img.width - 1))
        let yc = min(max(y, 0), Double(img.height - 1))
        let x0 = Int(xc)
        let y0 = Int(yc)
        let x1 = min(x0 + 1, img.width - 1)
        let y1 = min(y0 + 1, img.height - 1)
        let fx = xc - Double(x0)
        let fy = yc - Double(y0)
        func at(_ xx: Int, _ yy: Int, _ c: Int) -> Double { Double(img.pixels[(yy * img.width + xx) * 3 + c]) }
        func ch(_ c: Int) -> UInt8 {
            let top = at(x0, y0, c) * (1 - fx) + at(x1, y0, c) * fx
            let bottom = at(x0, y1, c) * (1 - fx) + at(x1, y1, c) * fx
            return UInt8(min(255, max(0, (top * (1 - fy) + bottom * fy).rounded())))
        }
        return (ch(0), ch(1), ch(2))
    }
}
