import Foundation
import Tensor
import VideoData

/// A crop box that slides at a constant speed over the frames of a sample: a camera pan or
/// tilt made in the loader (`pretrain --camera-moves`, docs/training.md#camera-moves-made-in-the-loader).
/// The box moves by whole source pixels, so the picture inside it moves by exactly the box's
/// step from one frame to the next, and the motion vectors get the same step subtracted
/// (`NetworkInput.crop(_:_:size:clamp:shift:)`).
public struct MovingCrop: Equatable, Sendable {
    /// The box at frame `origin`.
    public var start: CropBox
    public var origin: Int
    /// Source pixels per frame.
    public var vx: Double
    public var vy: Double

    /// A box that stays put.
    public static func still(_ box: CropBox) -> MovingCrop { MovingCrop(start: box, origin: 0, vx: 0, vy: 0) }

    public var isStill: Bool { vx == 0 && vy == 0 }

    /// The box at frame `f`.
    public func box(frame f: Int) -> CropBox {
        var b = start
        b.x += Int((Double(f - origin) * vx).rounded())
        b.y += Int((Double(f - origin) * vy).rounded())
        return b
    }

    /// How far the box moved from frame `f - 1` to frame `f`, in source pixels: the motion a
    /// still picture seems to have inside it, negated.
    public func step(frame f: Int) -> (dx: Float, dy: Float) {
        let a = box(frame: f - 1)
        let b = box(frame: f)
        return (Float(b.x - a.x), Float(b.y - a.y))
    }

    /// Speeds as a share of the box's side per frame: the camera-move set's pans cross 0.6 to
    /// 1.9 % of the window per frame (1-3 px at 160 wide), so the loader's moves are of the
    /// same kind as the ones the views are evaluated on.
    public static let speeds = 0.006...0.019

    /// A pan (half the time) or a tilt that starts as `box` at frame `frames.lowerBound` and
    /// stays inside a `width x height` frame up to `frames.upperBound`: its direction is the
    /// side with more room, its speed drawn from `speeds` and cut to what the room allows (a
    /// box as wide as the frame cannot pan; it stays still).
    public static func random(
        box: CropBox, frames: ClosedRange<Int>, width: Int, height: Int, rng: inout SeededRandom
    ) -> MovingCrop {
        let horizontal = rng.nextDouble() < 0.5
        let share = speeds.lowerBound + (speeds.upperBound - speeds.lowerBound) * rng.nextDouble()
        let span = Double(max(1, frames.upperBound - frames.lowerBound))
        let (position, side, extent) = horizontal ? (box.x, box.width, width) : (box.y, box.height, height)
        let before = Double(position)
        let after = Double(extent - position - side)
        // Rounding moves the box at most half a pixel past `speed * span`; the floor keeps it in.
        let room = max(before, after) - 0.5
        let speed = max(0, min(share * Double(side), room / span)) * (after >= before ? 1 : -1)
        return MovingCrop(
            start: box, origin: frames.lowerBound, vx: horizontal ? speed : 0, vy: horizontal ? 0 : speed)
    }
}
