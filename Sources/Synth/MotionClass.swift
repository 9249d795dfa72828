import Foundation

/// The motion classes of the scene-bias benchmark. Only the motion tells them apart: every
/// class uses the same actors, sizes and backgrounds; direction, speed, phase and start
/// position are random within each class.
public enum MotionClass: String, CaseIterable, Sendable, Codable {
    case orbit
    case swing
    case bounce
    case drift
    case zoomIn = "zoom-in"
    case zoomOut = "zoom-out"
    case spin
    case zigzag
    case pan

    /// One sentence for `synth.json` and docs/training.md.
    public var summary: String {
        switch self {
        case .orbit: return "the actor circles a point"
        case .swing: return "the actor swings left and right (sine)"
        case .bounce: return "the actor bounces up and down (|sine|)"
        case .drift: return "the actor drifts along a diagonal at constant speed"
        case .zoomIn: return "the actor grows (approaches) in place"
        case .zoomOut: return "the actor shrinks (recedes) in place"
        case .spin: return "the actor rotates in place"
        case .zigzag: return "the actor zig-zags sideways while drifting vertically"
        case .pan: return "the camera pans: background and actor move together"
        }
    }
}

/// Where the actor is at a frame, relative to the frame (pixels), and the camera offset.
public struct Pose: Sendable, Equatable {
    public var x: Double
    public var y: Double
    /// Multiplies the actor's base size.
    public var scale: Double
    /// Radians, counter-clockwise on screen.
    public var angle: Double
    /// Horizontal/vertical offset of the background crop (camera motion), pixels.
    public var panX: Double
    public var panY: Double
}

/// The random parameters of one motion, drawn once per video.
public struct Motion: Sendable, Codable, Equatable {
    public var kind: MotionClass
    public var centerX: Double
    public var centerY: Double
    /// Amplitude (pixels) or radius.
    public var amplitude: Double
    /// Radians per frame (periodic motions) or pixels per frame (linear ones).
    public var rate: Double
    public var phase: Double
    public var directionX: Double
    public var directionY: Double
    /// Total scale change for zooms (end / start, or its inverse).
    public var zoom: Double
    /// Zig-zag only: vertical drift, pixels per frame.
    public var drift: Double

    /// Draws the parameters of `kind` for a `width x height` frame of `frames` frames.
    public static func random(_ kind: MotionClass, width: Int, height: Int, frames: Int, rng: inout SplitMix64)
        -> Motion
    {
        let w = Double(width)
        let h = Double(height)
        let n = Double(frames)
        var m = Motion(
            kind: kind, centerX: w / 2, centerY: h / 2, amplitude: 0, rate: 0, phase: rng.uniform(0, 2 * .pi),
            directionX: rng.sign(), directionY: rng.sign(), zoom: 1, drift: 0)
        // Periods of 24-48 frames: at least 1.5 cycles in an 80-frame video.
        let periodic = 2 * Double.pi / rng.uniform(24, 48)
        switch kind {
        case .orbit:
            m.amplitude = rng.uniform(0.16, 0.26) * h
            m.rate = periodic
            m.centerX = rng.uniform(0.4, 0.6) * w
            m.centerY = rng.uniform(0.42, 0.58) * h
        case .swing:
            m.amplitude = rng.uniform(0.18, 0.3) * w
            m.rate = periodic
            m.centerY = rng.uniform(0.35, 0.65) * h
        case .bounce:
            m.amplitude = rng.uniform(0.3, 0.45) * h
            m.rate = periodic / 2
            m.centerX = rng.uniform(0.3, 0.7) * w
            m.centerY = 0.78 * h
        case .drift:
            // Crosses about 40-70 % of the frame along a diagonal in the whole video.
            m.rate = rng.uniform(0.4, 0.7) * h / n
            m.centerX = w / 2 - m.directionX * m.rate * n / 2
            m.centerY = h / 2 - m.directionY * m.rate * n / 2
        case .zoomIn, .zoomOut:
            m.zoom = rng.uniform(1.8, 2.4)
            m.centerX = rng.uniform(0.4, 0.6) * w
            m.centerY = rng.uniform(0.4, 0.6) * h
        case .spin:
            m.rate = rng.uniform(3, 7) * Double.pi / 180
            m.centerX = rng.uniform(0.35, 0.65) * w
            m.centerY = rng.uniform(0.35, 0.65) * h
        case .zigzag:
            m.amplitude = rng.uniform(0.15, 0.25) * w
            m.rate = rng.uniform(16, 26)  // frames per leg
            m.drift = rng.uniform(0.3, 0.45) * h / n
            m.centerY = h / 2 - m.directionY * m.drift * n / 2
        case .pan:
            m.rate = rng.uniform(0.8, 1.6)  // pixels per frame of camera motion
            m.centerX = rng.uniform(0.35, 0.65) * w
            m.centerY = rng.uniform(0.35, 0.65) * h
        }
        return m
    }

    /// The pose at frame `f` (of `frames`).
    public func pose(frame f: Int, frames: Int) -> Pose {
        let t = Double(f)
        var p = Pose(x: centerX, y: centerY, scale: 1, angle: 0, panX: 0, panY: 0)
        switch kind {
        case .orbit:
            p.x += amplitude * cos(directionX * rate * t + phase)
            p.y += amplitude * sin(directionX * rate * t + phase)
        case .swing:
            p.x += amplitude * sin(rate * t + phase)
        case .bounce:
            p.y -= amplitude * abs(sin(rate * t + phase))
        case .drift:
            p.x += directionX * rate * t
            p.y += directionY * rate * t
        case .zoomIn, .zoomOut:
            let progress = t / Double(max(1, frames - 1))
            let s = pow(zoom, kind == .zoomIn ? progress : 1 - progress)
            p.scale = s / zoom.squareRoot()
        case .spin:
            p.angle = directionX * rate * t
        case .zigzag:
            // A triangle wave sideways, a steady drift vertically.
            let legs = t / rate + phase / .pi
            let tri = 2 * abs(legs.truncatingRemainder(dividingBy: 2) - 1) - 1
            p.x += amplitude * tri
            p.y += directionY * drift * t
        case .pan:
            p.panX = directionX * rate * t
        }
        return p
    }
}
