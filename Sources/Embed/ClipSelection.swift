import Foundation
import VideoData

/// Which clips of a video are embedded and how rows are formed: the ModelScope clips averaged
/// into one row (the pipeline's output), the same clips one row each, or back-to-back
/// windows over the whole video one row each.
public struct ClipSelection: Sendable, Equatable {
    public enum Rule: Sendable, Equatable {
        /// `clips` clips by the linspace-midpoint rule.
        case modelScope(clips: Int)
        /// Windows every `hop` frames (nil: one span, no overlap).
        case sliding(hop: Int?)
    }

    public var rule: Rule
    public var frames: Int
    public var stride: Int
    /// One row per clip instead of the mean over clips.
    public var perClip: Bool

    public init(rule: Rule = .modelScope(clips: 10), frames: Int = 16, stride: Int = 4, perClip: Bool = false) {
        self.rule = rule
        self.frames = frames
        self.stride = stride
        self.perClip = perClip
    }

    /// The windows of a video of `frameCount` frames.
    public func windows(frameCount: Int) -> [ClipWindow] {
        switch rule {
        case .modelScope(let clips):
            return ClipSampler.modelScope(frameCount: frameCount, clips: clips, frames: frames, stride: stride)
        case .sliding(let hop):
            return ClipSampler.sliding(frameCount: frameCount, frames: frames, stride: stride, hop: hop)
        }
    }

    /// How the manifest describes this selection.
    public var manifestSampling: EmbeddingManifest.Sampling {
        switch rule {
        case .modelScope(let clips):
            return .init(
                rule: "modelscope", clips: clips, frames: frames, stride: stride, hop: nil,
                pooling: perClip ? "none" : "mean")
        case .sliding(let hop):
            return .init(
                rule: "sliding", clips: nil, frames: frames, stride: stride,
                hop: hop ?? ClipWindow(start: 0, frames: frames, stride: stride).span,
                pooling: perClip ? "none" : "mean")
        }
    }

    /// The rows of one video: its clip vectors (`windows` order) reduced as the selection says,
    /// with an item each. `name` is the video's unique id stem.
    public func rows(
        name: String, path: String, windows: [ClipWindow], vectors: [[Float]], frameCount: Int, fps: Double,
        model: String
    ) -> [(item: EmbeddingItem, vector: [Float])] {
        precondition(windows.count == vectors.count && !windows.isEmpty, "one vector per window")
        func seconds(_ frame: Int) -> Double { fps > 0 ? Double(frame) / fps : 0 }
        if perClip {
            return zip(windows, vectors).map { w, v in
                let r = w.frameRange(frameCount: frameCount)
                let item = EmbeddingItem(
                    id: "\(name)@\(w.start)", path: path, startFrame: r.lowerBound, endFrame: r.upperBound,
                    startSeconds: seconds(r.lowerBound), endSeconds: seconds(r.upperBound), model: model, clips: 1)
                return (item, v)
            }
        }
        let ranges = windows.map { $0.frameRange(frameCount: frameCount) }
        let lo = ranges.map(\.lowerBound).min()!
        let hi = ranges.map(\.upperBound).max()!
        let item = EmbeddingItem(
            id: name, path: path, startFrame: lo, endFrame: hi, startSeconds: seconds(lo), endSeconds: seconds(hi),
            model: model, clips: windows.count)
        return [(item, VideoEmbedder.meanOverClips(vectors))]
    }

    /// Unique id stems for videos: the file name without extension, `_2`, `_3`... on repeats.
    public static func names(for paths: [String]) -> [String] {
        var used: [String: Int] = [:]
        return paths.map { p in
            let base = ((p as NSString).lastPathComponent as NSString).deletingPathExtension
            let n = used[base, default: 0] + 1
            used[base] = n
            return n == 1 ? base : "\(base)_\(n)"
        }
    }
}
