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

/// The camera move given to both clips of a pair (`pretrain --move-pairs`,
/// docs/training.md#move-pairs): a direction as the picture appears to move in the network's
/// input (x, y each -1, 0 or 1; (0, 0) is still) and a speed as a share of the box's side.
public struct MovePlan: Equatable, Sendable {
    /// An index into `directions`: the label the move term compares.
    public var direction: Int
    public var share: Double

    /// Still and the eight compass directions.
    public static let directions = [(0, 0), (-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (1, -1), (-1, 1), (1, 1)]

    public init(direction: Int, share: Double) {
        self.direction = direction
        self.share = share
    }

    public var x: Int { MovePlan.directions[direction].0 }
    public var y: Int { MovePlan.directions[direction].1 }

    /// A speed drawn from `MovingCrop.speeds`.
    public static func randomShare(_ rng: inout SeededRandom) -> Double {
        MovingCrop.speeds.lowerBound + (MovingCrop.speeds.upperBound - MovingCrop.speeds.lowerBound) * rng.nextDouble()
    }

    /// One plan per example of a batch of `count`: examples 2k and 2k + 1 share plan k's
    /// direction and speed, and the pairs of one batch take distinct directions while there
    /// are directions left (nine), so a pair's partner is the only clip with its move.
    public static func pairs(count: Int, rng: inout SeededRandom) -> [MovePlan] {
        var order = Array(directions.indices)
        order.shuffle(using: &rng)
        var plans: [MovePlan] = []
        for k in 0..<((count + 1) / 2) {
            let plan = MovePlan(direction: order[k % order.count], share: randomShare(&rng))
            plans += [plan, plan]
        }
        return Array(plans.prefix(count))
    }
}

extension MovingCrop {
    /// `box` moving as `plan` says from `frames.lowerBound` to `frames.upperBound` inside a
    /// `width x height` frame. The picture moves against the box, and the other way in a
    /// mirrored box, so the box travels against the plan's direction, or with it on a flipped
    /// axis. A box too large for the path
    /// shrinks about its centre (aspect kept) and then slides back inside the frame, so the
    /// move is never cut short: both clips of a pair must show the same move.
    public static func directed(
        box: CropBox, plan: MovePlan, frames: ClosedRange<Int>, width: Int, height: Int
    ) -> MovingCrop {
        let span = Double(max(1, frames.upperBound - frames.lowerBound))
        let sx = Double(plan.x * (box.flip ? 1 : -1))
        let sy = Double(plan.y * (box.flipVertical ? 1 : -1))
        let path = plan.share * span
        // One pixel of slack for rounding the positions.
        let f = min(
            1, Double(width - 1) / (Double(box.width) * (1 + abs(sx) * path)),
            Double(height - 1) / (Double(box.height) * (1 + abs(sy) * path)))
        var b = box
        if f < 1 {
            b.width = max(1, Int(Double(box.width) * f))
            b.height = max(1, Int(Double(box.height) * f))
            b.x = box.x + (box.width - b.width) / 2
            b.y = box.y + (box.height - b.height) / 2
        }
        let vx = sx * plan.share * Double(b.width)
        let vy = sy * plan.share * Double(b.height)
        func place(_ position: Int, side: Int, extent: Int, speed: Double) -> Int {
            let travel = Int((abs(speed) * span).rounded(.up))
            let range = speed > 0 ? 0...(extent - side - travel) : (speed < 0 ? travel : 0)...(extent - side)
            return min(max(position, range.lowerBound), range.upperBound)
        }
        b.x = place(b.x, side: b.width, extent: width, speed: vx)
        b.y = place(b.y, side: b.height, extent: height, speed: vy)
        return MovingCrop(start: b, origin: frames.lowerBound, vx: vx, vy: vy)
    }
}
