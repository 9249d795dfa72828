import Common
import Embed
import Foundation
import VideoData

/// Scene and motion views from the hand-made descriptors of the scene-bias benchmark
/// (`Embed.Descriptors`): the keyframe's colour histogram sees only the scene, the
/// motion-vector histogram only the motion. Real functions of the decoded clip, cheap enough
/// to run before the backbone; they stand in for CMD's I-frame and motion-vector networks
/// where those are not wired (`explore --descriptor-views`, and the tests of the plumbing).
public enum DescriptorViews {
    /// "scene" then "motion", over sources the command line opens (MediaIO's).
    public static func make(openMotion: @escaping @Sendable (String) throws -> MotionClipSource) -> [ExtraView] {
        [scene(openMotion: openMotion), motion(openMotion: openMotion)]
    }

    /// The colour histogram of the I-frame at or before the window's first frame.
    public static func scene(openMotion: @escaping @Sendable (String) throws -> MotionClipSource) -> ExtraView {
        ExtraView(name: "scene", cacheIdentity: "descriptor colour histogram 8") { path, window in
            let source = try openMotion(path)
            let iFrames = try source.iFrameIndices()
            let key = iFrames.last { $0 <= window.start } ?? iFrames.first ?? window.start
            return Descriptors.colorHistogram(try source.fetch(rgb: [key], motion: [], cellSize: 4).images[0])
        }
    }

    /// The motion-vector histogram of every frame the window covers. A clip without a single
    /// inter-coded block (an intra-only codec such as MJPEG, or a run of I-frames) has no
    /// motion to describe: an error, not a vector of zeros that every such clip would share.
    public static func motion(openMotion: @escaping @Sendable (String) throws -> MotionClipSource) -> ExtraView {
        ExtraView(name: "motion", cacheIdentity: "descriptor motion-vector histogram 8x4") { path, window in
            let source = try openMotion(path)
            let range = window.frameRange(frameCount: source.frameCount)
            let fields = try source.fetch(rgb: [], motion: Array(range), cellSize: 8).fields
            guard fields.contains(where: { $0.mask.contains { $0 != 0 } }) else {
                throw NoMotionVectors(path: path, first: range.lowerBound, last: range.upperBound - 1)
            }
            return Descriptors.motionHistogram(fields)
        }
    }

    /// A window without motion vectors, in one sentence.
    public struct NoMotionVectors: SentenceError, Sendable {
        public var path: String
        public var first: Int
        public var last: Int
        public var description: String {
            "'\((path as NSString).lastPathComponent)' has no motion vectors in frames \(first)-\(last) (intra-only)."
        }
    }
}
