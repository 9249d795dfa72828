import Foundation
import VideoData

/// Which videos a run can train on, and what it skipped on the way.
public enum TrainingData {
    /// The videos of `paths` long enough for a sample, in order, and a sentence for each one
    /// left out (unreadable, or too short for `sampler`). A video whose I-frames leave some clip
    /// without one nearby, or taller than `maxHeight` when given, is replaced by what `reencode`
    /// makes of it (a short-GOP copy), when given. A video given more than once (to weigh it
    /// more in the data order) is checked, copied and reported once, and kept as often as given.
    public static func usableVideos(
        _ paths: [String], sampler: PretextSampler, open: (String) throws -> MotionClipSource,
        maxHeight: Int? = nil, reencode: ((String) throws -> String)? = nil
    ) -> (usable: [String], skipped: [String]) {
        var skipped: [String] = []
        // Each distinct path once: what it trains as (itself or its copy), absent when skipped.
        var trainsAs: [String: String] = [:]
        var checked = Set<String>()
        for path in paths where checked.insert(path).inserted {
            do {
                let source = try open(path)
                let frames = source.frameCount
                if frames < sampler.minimumFrames {
                    skipped.append("'\(path)': \(frames) frames, pretraining needs \(sampler.minimumFrames).")
                } else if let reencode,
                    !sampler.coversEveryClip(frameCount: frames, iFrames: try source.iFrameIndices())
                        || source.height > (maxHeight ?? .max)
                {
                    trainsAs[path] = try reencode(path)
                } else {
                    trainsAs[path] = path
                }
            } catch {
                skipped.append("\(error)")
            }
        }
        return (paths.compactMap { trainsAs[$0] }, skipped)
    }
}

/// Samples the batch loader had to skip, counted per video, so a run reports a video once and
/// the count at the end.
public struct SkippedSamples {
    public private(set) var counts: [String: Int] = [:]

    public init() {}

    /// Counts a loader problem (`"<video>: <why>"`); true when it is the video's first.
    public mutating func add(_ problem: String) -> Bool {
        let video = problem.components(separatedBy: ": ").first ?? problem
        counts[video, default: 0] += 1
        return counts[video] == 1
    }

    /// `skipped N samples of VIDEO` for every video, sorted by name.
    public var summary: [String] {
        counts.sorted { $0.key < $1.key }.map { "skipped \($0.value) samples of \($0.key)" }
    }
}

extension Array where Element == TrainingRecord {
    /// The mean context, motion and move losses of the last `n` records (move: nil for a run
    /// without the move term).
    public func meanLosses(last n: Int) -> (context: Double, motion: Double, move: Double?, count: Int) {
        let tail = suffix(n)
        let count = Double(Swift.max(1, tail.count))
        let moves = tail.compactMap(\.lossMove)
        return (
            tail.map(\.lossContext).reduce(0, +) / count, tail.map(\.lossMotion).reduce(0, +) / count,
            moves.isEmpty ? nil : moves.reduce(0, +) / count, tail.count
        )
    }
}
