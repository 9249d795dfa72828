import Common
import Foundation
import Models
import Tensor
import VideoData

/// The scene and motion views: clips embedded from the compressed stream alone, through CMD's
/// I-frame or motion-vector network (docs/method.md §4 and §10), with no RGB clip and no
/// backbone pass.
///
/// - scene: the I-frame nearest the clip's middle (pretraining drew one within 5 frames of the
///   clip), centre box, resized to the network's side, ImageNet-normalised: one vector.
/// - motion: the motion fields of every frame the clip spans (both reference lists, forward
///   motion), cut into back-to-back windows of the network's length that tile the span, each
///   window cropped, resized, clamped and scaled exactly as pretraining's future-motion clips;
///   the mean of the windows' vectors.
public struct DecoupledEmbedder: Sendable {
    public let network: DecoupledNetwork

    public init(network: DecoupledNetwork) { self.network = network }

    public var dimension: Int { network.dimension }

    /// One vector per window of `source` (the video at `path`), in order.
    /// - Throws: `ViewError` when the motion view meets a video without motion vectors, the
    ///   source's decoding errors, `CancellationError` when `isCancelled` returns true.
    public func embed(
        _ windows: [ClipWindow], from source: MotionClipSource, path: String,
        isCancelled: (@Sendable () -> Bool)? = nil
    ) throws -> [[Float]] {
        guard source.frameCount > 0 else { throw ClipSourceError("the video has no frames") }
        let input = network.input
        let box = CropBox.centre(width: source.width, height: source.height, scale: input.scale, crop: input.crop)
        var out: [[Float]] = []
        switch network.kind {
        case .scene:
            let iFrames = try source.iFrameIndices()
            var byFrame: [Int: [Float]] = [:]
            for w in windows {
                if isCancelled?() == true { throw CancellationError() }
                let k = Self.keyframe(for: w, iFrames: iFrames, frameCount: source.frameCount)
                if byFrame[k] == nil {
                    let image = try source.fetch(rgb: [k], motion: [], cellSize: input.cellSize).images[0]
                    var planes = NetworkInput.planes(NetworkInput.crop(image, box, size: input.sceneSize))
                    NetworkInput.normalise(&planes)
                    let x = Tensor(shape: [1] + network.inputShape, data: planes)
                    byFrame[k] = network.embed(x).data
                }
                out.append(byFrame[k]!)
            }
        case .motion:
            if let problem = Self.motionProblem(source.info) { throw ViewError("'\(path)' \(problem)") }
            let clamp = NetworkInput.motionClamp(size: input.motionSize)
            // Overlapping clips share frames: each field is decoded once while the clips that
            // need it are in reach (clips come in start order; fields before a clip are dropped).
            var cache: [Int: MotionField] = [:]
            for w in windows {
                if isCancelled?() == true { throw CancellationError() }
                let tiles = Self.motionWindows(for: w, length: input.motionFrames, frameCount: source.frameCount)
                let wanted = tiles.flatMap { $0 }
                cache = cache.filter { $0.key >= w.start }
                let missing = Array(Set(wanted).subtracting(cache.keys)).sorted()
                if !missing.isEmpty {
                    let fetched = try source.fetch(rgb: [], motion: missing, cellSize: input.cellSize).fields
                    for (i, f) in zip(missing, fetched) { cache[i] = f }
                }
                let fields = wanted.map { cache[$0]! }
                let plane = input.motionSize * input.motionSize
                let perTile = 2 * input.motionFrames * plane
                var data = [Float](repeating: 0, count: tiles.count * perTile)
                for (t, tile) in tiles.enumerated() {
                    for f in 0..<tile.count {
                        let m = NetworkInput.crop(
                            fields[t * input.motionFrames + f], box, size: input.motionSize, clamp: clamp)
                        for ch in 0..<2 {
                            let dst = t * perTile + (ch * input.motionFrames + f) * plane
                            data.replaceSubrange(dst..<(dst + plane), with: m[(ch * plane)..<((ch + 1) * plane)])
                        }
                    }
                }
                let vectors = network.embed(Tensor(shape: [tiles.count] + network.inputShape, data: data))
                out.append(VideoEmbedder.meanOverClips((0..<tiles.count).map { vectors.row($0) }))
            }
        }
        return out
    }

    /// The I-frame nearest the middle of the clip's span (the earlier one on a tie).
    public static func keyframe(for window: ClipWindow, iFrames: [Int], frameCount: Int) -> Int {
        let r = window.frameRange(frameCount: frameCount)
        let middle = r.isEmpty ? 0 : (r.lowerBound + r.upperBound - 1) / 2
        return iFrames.min { (abs($0 - middle), $0) < (abs($1 - middle), $1) } ?? 0
    }

    /// Back-to-back runs of `length` consecutive frames tiling the clip's span (as many as fit,
    /// at least one; a span or video shorter than `length` gives one window from its start,
    /// repeating its last frame).
    public static func motionWindows(for window: ClipWindow, length: Int, frameCount: Int) -> [[Int]] {
        let r = window.frameRange(frameCount: frameCount)
        let lo = r.isEmpty ? 0 : r.lowerBound
        let last = max(lo, r.upperBound - 1)
        return (0..<max(1, r.count / length)).map { k in (0..<length).map { min(lo + k * length + $0, last) } }
    }

    /// Why a video cannot give the motion view (docs/ffmpeg.md §4), or nil.
    public static func motionProblem(_ info: VideoInfo) -> String? {
        if !info.exportsMotionVectors {
            return
                "has no motion vectors: FFmpeg's \(info.codec) decoder exports none (H.264, MPEG-4 Part 2, MPEG-1/2 and H.263 do); the scene and video views still work"
        }
        if info.frameCount > 1 && info.keyFrameIndices.count == info.frameCount {
            return
                "has no motion vectors: every frame is a keyframe (intra-only); the scene and video views still work"
        }
        return nil
    }
}

/// A view that cannot be computed for a video: one sentence naming it.
public struct ViewError: Error, CustomStringConvertible, SentenceError {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension Tensor {
    /// Row `i` of a `[N, D]` tensor.
    func row(_ i: Int) -> [Float] {
        let d = shape[1]
        return Array(data[(i * d)..<((i + 1) * d)])
    }
}
