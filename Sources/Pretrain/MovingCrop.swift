import Foundation
import Tensor
import VideoData

/// A crop box that slides at a constant speed over the frames of a sample, or grows or shrinks
/// about its centre: a camera pan, tilt or zoom made in the loader (`pretrain --camera-moves`,
/// `--move-pairs`, docs/training.md#camera-moves-made-in-the-loader). Boxes are whole source
/// pixels, so the picture inside moves by exactly what the box did from one frame to the next,
/// and the motion vectors get that subtracted (`NetworkInput.crop(_:_:size:clamp:shift:growth:)`).
public struct MovingCrop: Equatable, Sendable {
    /// The box at frame `origin`.
    public var start: CropBox
    public var origin: Int
    /// Source pixels per frame.
    public var vx: Double
    public var vy: Double
    /// Relative change of the box's sides per frame: below 0 the box shrinks and the picture
    /// grows (a zoom in), above 0 a zoom out.
    public var growth: Double = 0

    /// A box that stays put.
    public static func still(_ box: CropBox) -> MovingCrop { MovingCrop(start: box, origin: 0, vx: 0, vy: 0) }

    public var isStill: Bool { vx == 0 && vy == 0 && growth == 0 }

    /// The box at frame `f`.
    public func box(frame f: Int) -> CropBox {
        var b = start
        let t = Double(f - origin)
        if growth != 0 {
            let scale = pow(1 + growth, t)
            b.width = max(1, Int((Double(start.width) * scale).rounded()))
            b.height = max(1, Int((Double(start.height) * scale).rounded()))
            b.x = Int((Double(start.x) + Double(start.width - b.width) / 2).rounded())
            b.y = Int((Double(start.y) + Double(start.height - b.height) / 2).rounded())
        }
        b.x += Int((t * vx).rounded())
        b.y += Int((t * vy).rounded())
        return b
    }

    /// How far the box's centre moved from frame `f - 1` to frame `f`, in source pixels: the
    /// motion a still picture seems to have at the centre, negated.
    public func step(frame f: Int) -> (dx: Float, dy: Float) {
        let a = box(frame: f - 1)
        let b = box(frame: f)
        return (Float(b.x - a.x) + Float(b.width - a.width) / 2, Float(b.y - a.y) + Float(b.height - a.height) / 2)
    }

    /// How much the box's sides grew from frame `f - 1` to frame `f`, as a share of frame `f`'s
    /// sides: a still picture seems to move by minus this times its distance from the centre.
    public func growth(frame f: Int) -> (x: Float, y: Float) {
        let a = box(frame: f - 1)
        let b = box(frame: f)
        return (Float(b.width - a.width) / Float(b.width), Float(b.height - a.height) / Float(b.height))
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
/// docs/training.md#move-pairs): a label (still, a direction as the picture appears to move in
/// the network's input, or with `--move-zooms` a zoom) and a speed as a share of the box's side.
public struct MovePlan: Equatable, Sendable {
    /// The label the move term compares: 0-8 index `directions`, 9 is a zoom in, 10 a zoom out.
    public var direction: Int
    public var share: Double

    /// Still and the eight compass directions (x, y each -1, 0 or 1).
    public static let directions = [(0, 0), (-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (1, -1), (-1, 1), (1, 1)]

    /// How many moves there are: the directions, and the two zooms when `zooms`.
    public static func count(zooms: Bool) -> Int { directions.count + (zooms ? 2 : 0) }

    public init(direction: Int, share: Double) {
        self.direction = direction
        self.share = share
    }

    public var x: Int { direction < MovePlan.directions.count ? MovePlan.directions[direction].0 : 0 }
    public var y: Int { direction < MovePlan.directions.count ? MovePlan.directions[direction].1 : 0 }
    /// 1 for a zoom in (the picture grows), -1 for a zoom out, 0 otherwise.
    public var zoom: Int {
        direction < MovePlan.directions.count ? 0 : (direction == MovePlan.directions.count ? 1 : -1)
    }

    /// A speed drawn from `MovingCrop.speeds`.
    public static func randomShare(_ rng: inout SeededRandom) -> Double {
        MovingCrop.speeds.lowerBound + (MovingCrop.speeds.upperBound - MovingCrop.speeds.lowerBound) * rng.nextDouble()
    }

    /// One plan per example of a batch of `count`: examples 2k and 2k + 1 share plan k's
    /// move and speed, and the pairs of one batch take distinct moves while there are moves
    /// left (`count(zooms:)`), so a pair's partner is the only clip with its move.
    public static func pairs(count: Int, zooms: Bool = false, rng: inout SeededRandom) -> [MovePlan] {
        var order = Array(0..<MovePlan.count(zooms: zooms))
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
        if plan.zoom != 0 {
            return zoomed(box: box, plan: plan, frames: frames, span: span, width: width, height: height)
        }
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

    /// A zoom: the box shrinks (zoom in) or grows (zoom out) by the plan's share per frame
    /// about a fixed centre. The start box shrinks about its centre until the largest box of
    /// the path fits, and the centre moves inside the frame as far as that box needs.
    static func zoomed(
        box: CropBox, plan: MovePlan, frames: ClosedRange<Int>, span: Double, width: Int, height: Int
    ) -> MovingCrop {
        let growth = plan.zoom > 0 ? -plan.share : plan.share
        // The largest box is the first of a zoom in, the last of a zoom out; two pixels of
        // slack for rounding sides and centre.
        let largest = growth > 0 ? pow(1 + growth, span) : 1
        let f = min(
            1, Double(width - 2) / (Double(box.width) * largest), Double(height - 2) / (Double(box.height) * largest))
        var b = box
        b.width = max(1, Int(Double(box.width) * f))
        b.height = max(1, Int(Double(box.height) * f))
        func place(_ position: Int, old: Int, side: Int, extent: Int) -> Int {
            let reach = (Double(side) * largest - Double(side)) / 2 + 1
            let centred = position + (old - side) / 2
            return min(max(centred, Int(reach.rounded(.up))), extent - side - Int(reach.rounded(.up)))
        }
        b.x = place(box.x, old: box.width, side: b.width, extent: width)
        b.y = place(box.y, old: box.height, side: b.height, extent: height)
        return MovingCrop(start: b, origin: frames.lowerBound, vx: 0, vy: 0, growth: growth)
    }
}
