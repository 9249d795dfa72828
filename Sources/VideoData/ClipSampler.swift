/// A clip: `frames` frames taken every `stride` frames from display index `start`.
///
/// The ModelScope pipeline reads clips of 16 frames at stride 4, so one clip spans 61 frames.
/// Indices past the end of the video are replaced by frame 0, as the pipeline does (not by the
/// last frame): see `indices(frameCount:)`.
public struct ClipWindow: Equatable, Hashable, Sendable, Codable {
    /// Display index of the first frame.
    public var start: Int
    /// Number of frames in the clip (the network's T).
    public var frames: Int
    /// Distance between consecutive frames, in frames.
    public var stride: Int

    public init(start: Int, frames: Int = 16, stride: Int = 4) {
        precondition(start >= 0 && frames > 0 && stride > 0, "ClipWindow needs start >= 0, frames > 0, stride > 0")
        self.start = start
        self.frames = frames
        self.stride = stride
    }

    /// Frames covered from the first to the last sampled frame: `(frames - 1) * stride + 1`.
    public var span: Int { (frames - 1) * stride + 1 }

    /// The sampled display indices in clip order, for a video of `frameCount` frames. An index
    /// at or past the end becomes 0, the ModelScope rule (`indices[indices >= len(vr)] = 0`).
    public func indices(frameCount: Int) -> [Int] {
        (0..<frames).map { i in
            let index = start + i * stride
            return index < frameCount ? index : 0
        }
    }

    /// The frames the clip covers in a video of `frameCount` frames, clamped to the video:
    /// `start ..< min(start + span, frameCount)`.
    public func frameRange(frameCount: Int) -> Range<Int> {
        let lo = min(start, frameCount)
        return lo..<max(lo, min(start + span, frameCount))
    }

    /// The covered frames as seconds at `fps` (frame index / fps), end exclusive, so the range of
    /// a 61-frame clip from frame 0 at 25 fps is 0.0 ..< 2.44. Zero-length when `fps` is not positive.
    public func timeRange(frameCount: Int, fps: Double) -> Range<Double> {
        let r = frameRange(frameCount: frameCount)
        guard fps > 0 else { return 0..<0 }
        return (Double(r.lowerBound) / fps)..<(Double(r.upperBound) / fps)
    }
}

/// Where clips are taken from a video.
public enum ClipSampler {
    /// The clip starts of the ModelScope `cmdssl_video_embedding` pipeline (docs/method.md §8):
    /// with `clipLength = (frames - 1) * stride + 1`, a video of at most `clipLength` frames
    /// gives `clips` starts of 0; otherwise `clips + 1` evenly spaced points from 0 to
    /// `frameCount - clipLength` (NumPy `linspace`) and the truncated midpoints of neighbours.
    ///
    /// The arithmetic follows `numpy.linspace` exactly (`i * step` with `step = delta / div`, the
    /// last point set to `delta`), so the truncation lands on the same integer as Python.
    public static func modelScopeStarts(frameCount: Int, clipLength: Int, clips: Int) -> [Int] {
        precondition(clips > 0 && clipLength > 0, "modelScopeStarts needs clips > 0 and clipLength > 0")
        guard frameCount > clipLength else { return Array(repeating: 0, count: clips) }
        let delta = Double(frameCount - clipLength)
        let step = delta / Double(clips)
        var points = (0...clips).map { Double($0) * step }
        points[clips] = delta
        return (0..<clips).map { Int((points[$0] + points[$0 + 1]) / 2) }
    }

    /// The ModelScope clips of a video: `clips` windows of `frames` frames at `stride`.
    public static func modelScope(frameCount: Int, clips: Int = 10, frames: Int = 16, stride: Int = 4) -> [ClipWindow] {
        let length = ClipWindow(start: 0, frames: frames, stride: stride).span
        return modelScopeStarts(frameCount: frameCount, clipLength: length, clips: clips).map {
            ClipWindow(start: $0, frames: frames, stride: stride)
        }
    }

    /// Back-to-back windows from frame 0, every `hop` frames (default: one span, no overlap),
    /// for per-window embeddings along a whole video. The last window starts at or before
    /// `frameCount - span` when the video is longer than one span; a shorter video gets one
    /// window from 0 (whose missing frames become frame 0, as in `ClipWindow.indices`).
    public static func sliding(frameCount: Int, frames: Int = 16, stride: Int = 4, hop: Int? = nil) -> [ClipWindow] {
        let span = ClipWindow(start: 0, frames: frames, stride: stride).span
        let step = max(1, hop ?? span)
        guard frameCount > span else { return [ClipWindow(start: 0, frames: frames, stride: stride)] }
        return Swift.stride(from: 0, through: frameCount - span, by: step).map {
            ClipWindow(start: $0, frames: frames, stride: stride)
        }
    }
}
