import Foundation

/// The classes of the camera-move set: a crop window moving over real footage. Only the
/// window's motion tells them apart; the footage keeps its own motion (people, vehicles,
/// leaves) in every class.
public enum CameraMove: String, CaseIterable, Sendable, Codable {
    case still
    case panLeft = "pan-left"
    case panRight = "pan-right"
    case tiltUp = "tilt-up"
    case tiltDown = "tilt-down"
    case zoomIn = "zoom-in"
    case zoomOut = "zoom-out"

    /// One sentence for `camera.json` and docs/training.md.
    public var summary: String {
        switch self {
        case .still: return "the window stays put: only the footage's own motion"
        case .panLeft: return "the window slides left: the picture moves right"
        case .panRight: return "the window slides right: the picture moves left"
        case .tiltUp: return "the window slides up: the picture moves down"
        case .tiltDown: return "the window slides down: the picture moves up"
        case .zoomIn: return "the window shrinks about a fixed centre: the picture grows"
        case .zoomOut: return "the window grows about a fixed centre: the picture shrinks"
        }
    }
}

/// A rectangle of a source frame, in source pixels (top-left corner and size).
public struct CropWindow: Sendable, Codable, Equatable {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    /// The window rounded to 0.1 px, for `camera.json`.
    var rounded: [Double] { [x, y, width, height].map { ($0 * 10).rounded() / 10 } }
}

/// One camera move: where the crop window is at every frame. Pure: drawn once per video from
/// a seeded generator, then a function of the frame number.
public struct CameraPath: Sendable, Codable, Equatable {
    public var kind: CameraMove
    /// Pans and tilts: output pixels per frame. Zooms: the relative change of the window's
    /// size per frame (0.01 = 1 %). Still: 0.
    public var speed: Double
    /// The window at frame 0.
    public var start: CropWindow
    /// The output frame the window is resampled to (converts speeds to source pixels).
    public var outputWidth: Int
    public var outputHeight: Int

    public init(kind: CameraMove, speed: Double, start: CropWindow, outputWidth: Int, outputHeight: Int) {
        self.kind = kind
        self.speed = speed
        self.start = start
        self.outputWidth = outputWidth
        self.outputHeight = outputHeight
    }

    /// The window at frame `f`.
    public func window(frame f: Int) -> CropWindow {
        let t = Double(f)
        // Source pixels per output pixel: a pan of `speed` output pixels moves the window by
        // `speed * scale` source pixels, so the picture moves by exactly `speed` on screen.
        let scale = start.height / Double(outputHeight)
        var w = start
        switch kind {
        case .still: break
        case .panLeft: w.x -= speed * scale * t
        case .panRight: w.x += speed * scale * t
        case .tiltUp: w.y -= speed * scale * t
        case .tiltDown: w.y += speed * scale * t
        case .zoomIn, .zoomOut:
            // A geometric change keeps the apparent speed constant over the whole video.
            let factor = pow(1 + speed, kind == .zoomIn ? -t : t)
            let cx = start.x + start.width / 2
            let cy = start.y + start.height / 2
            w.width = start.width * factor
            w.height = start.height * factor
            w.x = cx - w.width / 2
            w.y = cy - w.height / 2
        }
        return w
    }

    /// Pan speeds, output pixels per frame: 80-240 px of travel over 80 frames, between half
    /// and one and a half frame widths at 160x120.
    public static let panSpeeds = 1.0..<3.0
    /// Tilts cross the same share of the frame's height as pans of its width (the speeds
    /// scaled by the 3:4 aspect), which also leaves the window room on short footage.
    public static let tiltSpeeds = 0.75..<2.25
    /// Zoom rates per frame: a total change of 1.6x to 3.2x over 80 frames.
    public static let zoomRates = 0.006..<0.015
    /// The largest window of a still, pan or tilt, as a share of the largest one that fits.
    static let windowShare = 0.55..<0.9

    /// Draws a move of `kind` over a `sourceWidth x sourceHeight` source that stays inside the
    /// source for all `frames` frames. The window has the output's aspect.
    public static func random(
        _ kind: CameraMove, sourceWidth: Int, sourceHeight: Int, outputWidth: Int, outputHeight: Int, frames: Int,
        rng: inout SplitMix64
    ) -> CameraPath {
        let W = Double(sourceWidth)
        let H = Double(sourceHeight)
        let aspect = Double(outputWidth) / Double(outputHeight)
        let fullHeight = min(H, W / aspect)
        let steps = Double(max(1, frames - 1))
        let oh = Double(outputHeight)
        var height = fullHeight * rng.uniform(windowShare.lowerBound, windowShare.upperBound)
        var speed = 0.0
        var start: CropWindow
        switch kind {
        case .still:
            start = CropWindow(
                x: rng.uniform(0, W - height * aspect), y: rng.uniform(0, H - height), width: height * aspect,
                height: height)
        case .panLeft, .panRight:
            speed = rng.uniform(panSpeeds.lowerBound, panSpeeds.upperBound)
            // Window plus travel fit the width: height * (aspect + speed * steps / oh) <= W.
            height = min(height, W / (aspect + speed * steps / oh))
            let travel = speed * steps * height / oh
            var x = rng.uniform(0, max(0, W - height * aspect - travel))
            if kind == .panLeft { x += travel }
            start = CropWindow(x: x, y: rng.uniform(0, H - height), width: height * aspect, height: height)
        case .tiltUp, .tiltDown:
            speed = rng.uniform(tiltSpeeds.lowerBound, tiltSpeeds.upperBound)
            height = min(height, H / (1 + speed * steps / oh))
            let travel = speed * steps * height / oh
            var y = rng.uniform(0, max(0, H - height - travel))
            if kind == .tiltUp { y += travel }
            start = CropWindow(x: rng.uniform(0, W - height * aspect), y: y, width: height * aspect, height: height)
        case .zoomIn, .zoomOut:
            speed = rng.uniform(zoomRates.lowerBound, zoomRates.upperBound)
            // The largest window is nearly the whole frame; the centre keeps it inside.
            let big = fullHeight * rng.uniform(0.8, 1)
            let cx = rng.uniform(big * aspect / 2, W - big * aspect / 2)
            let cy = rng.uniform(big / 2, H - big / 2)
            let h = kind == .zoomIn ? big : big / pow(1 + speed, steps)
            start = CropWindow(x: cx - h * aspect / 2, y: cy - h / 2, width: h * aspect, height: h)
        }
        return CameraPath(
            kind: kind, speed: speed, start: start, outputWidth: outputWidth, outputHeight: outputHeight)
    }
}
