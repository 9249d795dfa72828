import Tensor

/// Where the pieces of one CMD training sample come from in a video (docs/method.md §3).
public struct PretextIndices: Equatable, Sendable, Codable {
    /// The RGB clip: `clipFrames` frames every `clipStride` from `clipStart`.
    public var clip: [Int]
    /// An I-frame at most `iFrameSlack` frames outside the clip's span.
    public var iFrame: Int
    /// The future motion clip (the positive): `futureFrames` consecutive frames starting
    /// `futureGap + 1` frames after the clip's last frame.
    public var positive: [Int]
    /// Motion clips from other times of the same video (the negatives), never overlapping the
    /// positive unless the video leaves no room.
    public var negatives: [[Int]]

    public init(clip: [Int], iFrame: Int, positive: [Int], negatives: [[Int]]) {
        self.clip = clip
        self.iFrame = iFrame
        self.positive = positive
        self.negatives = negatives
    }
}

/// The sampling rule of CMD pretraining, as plain arithmetic on frame indices.
public struct PretextSampler: Sendable, Codable, Equatable {
    public var clipFrames = 16
    public var clipStride = 4
    public var futureFrames = 8
    /// Frames skipped between the clip's last frame and the positive (the code uses 2).
    public var futureGap = 2
    public var negatives = 3
    public var iFrameSlack = 5

    public init() {}

    /// Frames a video must have: the clip span, the gap and the future window.
    public var minimumFrames: Int { (clipFrames - 1) * clipStride + 1 + futureGap + futureFrames }

    /// True when every clip `sample` can draw has an I-frame within `iFrameSlack` frames: a video
    /// where some has none (keyframes far apart, e.g. x264's default of 250) needs re-encoding.
    public func coversEveryClip(frameCount: Int, iFrames: [Int]) -> Bool {
        guard frameCount >= minimumFrames else { return true }
        let span = (clipFrames - 1) * clipStride
        let sorted = iFrames.sorted()
        var k = 0
        for start in 0...(frameCount - minimumFrames) {
            while k < sorted.count && sorted[k] < start - iFrameSlack { k += 1 }
            if k == sorted.count || sorted[k] > start + span + iFrameSlack { return false }
        }
        return true
    }

    public struct SamplingError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Draws one sample from a video of `frameCount` frames with I-frames at `iFrames`.
    public func sample(frameCount: Int, iFrames: [Int], rng: inout SeededRandom) throws -> PretextIndices {
        guard frameCount >= minimumFrames else {
            throw SamplingError(
                description:
                    "has \(frameCount) frames; pretraining needs at least \(minimumFrames) (\(clipFrames) frames every \(clipStride), \(futureGap) skipped, \(futureFrames) of future motion)"
            )
        }
        let span = (clipFrames - 1) * clipStride
        let start = Int.random(in: 0...(frameCount - minimumFrames), using: &rng)
        let last = start + span
        let clip = (0..<clipFrames).map { start + $0 * clipStride }
        let m0 = last + futureGap + 1
        let positive = Array(m0..<(m0 + futureFrames))
        // Negative starts: whole windows before the positive, or after it.
        var candidates = Array(0...max(-1, m0 - futureFrames))
        if m0 + futureFrames <= frameCount - futureFrames {
            candidates += Array((m0 + futureFrames)...(frameCount - futureFrames))
        }
        var negatives: [[Int]] = []
        if candidates.isEmpty {
            // No room anywhere else: the least-overlapping windows at the ends (the code's
            // "with replacement only if there are too few candidates").
            candidates = [0, frameCount - futureFrames]
        }
        var pool = candidates
        for _ in 0..<self.negatives {
            if pool.isEmpty { pool = candidates }
            let k = Int.random(in: 0..<pool.count, using: &rng)
            let s = pool.remove(at: k)
            negatives.append(Array(s..<(s + futureFrames)))
        }
        let near = iFrames.filter { $0 >= start - iFrameSlack && $0 <= last + iFrameSlack }
        guard !near.isEmpty else {
            throw SamplingError(
                description:
                    "has no I-frame within \(iFrameSlack) frames of the clip \(start)-\(last) (I-frames at \(iFrames.prefix(8).map(String.init).joined(separator: ","))…); re-encode with a GOP of at most \(span + 2 * iFrameSlack) frames"
            )
        }
        let iFrame = near[Int.random(in: 0..<near.count, using: &rng)]
        return PretextIndices(clip: clip, iFrame: iFrame, positive: positive, negatives: negatives)
    }
}
