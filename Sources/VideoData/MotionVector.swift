/// One block motion vector exactly as libavcodec exports it (`AVMotionVector`, FFmpeg 5.1).
///
/// Facts that matter (docs/ffmpeg.md §2):
/// - `source` is the reference *list*: -1 = list 0, +1 = list 1. For x264 streams list 0 holds
///   past pictures and list 1 future ones, but the reference index is not exported, so the
///   temporal distance of a vector is unknown.
/// - `dstX/dstY` is the block *centre* in the current frame, in whole pixels.
/// - `motionX/motionY` in units of `1/motionScale` pixel point from the block to its prediction
///   in the reference: `src = dst + motion / scale`. `srcX/srcY` is that value truncated toward
///   zero by C integer division, so prefer the motion fields.
/// - Intra blocks produce no entry; bi-predicted blocks produce two (one per list).
public struct MotionVector: Equatable, Hashable, Sendable {
    public var source: Int32
    public var w: UInt8
    public var h: UInt8
    public var srcX: Int16
    public var srcY: Int16
    public var dstX: Int16
    public var dstY: Int16
    public var flags: UInt64
    public var motionX: Int32
    public var motionY: Int32
    public var motionScale: UInt16

    public init(
        source: Int32, w: UInt8, h: UInt8, srcX: Int16, srcY: Int16, dstX: Int16, dstY: Int16,
        flags: UInt64 = 0, motionX: Int32, motionY: Int32, motionScale: UInt16
    ) {
        self.source = source
        self.w = w
        self.h = h
        self.srcX = srcX
        self.srcY = srcY
        self.dstX = dstX
        self.dstY = dstY
        self.flags = flags
        self.motionX = motionX
        self.motionY = motionY
        self.motionScale = motionScale
    }

    /// True for list-1 predictions (for B-frames: usually a future reference).
    public var isList1: Bool { source > 0 }

    /// `dst - src` in pixels at full (sub-pel) precision: where the block content moved *to*
    /// relative to where it came from in the reference. This is the CMD sign convention
    /// (docs/method.md §2), computed from `motion_x/y` rather than the truncated `src_x/y`.
    public var dstMinusSrc: (dx: Float, dy: Float) {
        let s = Float(max(motionScale, 1))
        return (-Float(motionX) / s, -Float(motionY) / s)
    }

    /// The apparent motion of the block content forward in time, in pixels.
    ///
    /// For a list-0 (past) reference this is `dst - src`. For a list-1 (future) reference the
    /// content will be at `src` later, so forward motion is `src - dst`: the vector is negated.
    /// Without this, B-frames show reversed motion (docs/terminal.md §2.1).
    public var forwardMotion: (dx: Float, dy: Float) {
        let d = dstMinusSrc
        return isList1 ? (-d.dx, -d.dy) : d
    }

    /// Block rectangle in frame pixels: left, top (may be negative or beyond the frame).
    public var blockLeft: Int { Int(dstX) - Int(w) / 2 }
    public var blockTop: Int { Int(dstY) - Int(h) / 2 }
}
