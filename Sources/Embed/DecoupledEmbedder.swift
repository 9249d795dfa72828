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
///   clip), its widest box of aspect 3/4 to 4/3, resized to the network's side,
///   ImageNet-normalised: one vector.
/// - motion: the motion fields of the frames the clip spans (both reference lists, forward
///   motion), in tiles of the network's length on one grid inside the span, each tile
///   cropped, resized, clamped and scaled exactly as pretraining's future-motion clips; the
///   mean of the tiles' vectors.
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
        // The motion view reads the centre box of pretraining's validation transform; the scene
        // view the widest box the training crops could take, which found the same photo far
        // more often on the set the views were chosen on (docs/training.md).
        let box =
            network.kind == .scene
            ? CropBox.widest(width: source.width, height: source.height)
            : CropBox.centre(width: source.width, height: source.height, scale: input.scale, crop: input.crop)
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
            out = try motion(windows, from: source, box: box, isCancelled: isCancelled)
        }
        return out
    }

    /// The motion view of every window: the distinct tiles of all windows (overlapping clips
    /// share them, since tiles sit on one grid), their frames decoded in one pass and cut to
    /// network input as they come, each window the mean of its tiles. Decoding is the larger
    /// part of the time and, for streams with B-frames, runs on one thread
    /// (docs/ffmpeg.md §6), so the network runs on another thread meanwhile, on each
    /// `batchWhileDecoding` tiles whose frames are all in; the rest once decoding is done, on
    /// every core.
    func motion(
        _ windows: [ClipWindow], from source: MotionClipSource, box: CropBox, isCancelled: (@Sendable () -> Bool)?,
        batchWhileDecoding: Int = 8
    ) throws -> [[Float]] {
        let input = network.input
        let length = input.motionFrames
        let tilesOf = windows.map { Self.motionWindows(for: $0, length: length, frameCount: source.frameCount) }
        let tiles = Array(Set(tilesOf.flatMap { $0 })).sorted { $0.lexicographicallyPrecedes($1) }
        let frames = Array(Set(tiles.flatMap { $0 })).sorted()
        let clamp = NetworkInput.motionClamp(size: input.motionSize)
        let network = self.network
        var planes: [Int: [Float]] = [:]
        let vectors = TileVectors()
        let background = DispatchQueue(label: "motion-view-network")
        let group = DispatchGroup()
        defer { group.wait() }
        var ready = 0  // tiles whose frames are all decoded: a prefix, frames come in order
        var started = 0  // tiles handed to the network
        try source.motionFields(frames, cellSize: input.cellSize) { i, field in
            if isCancelled?() == true { throw CancellationError() }
            planes[i] = NetworkInput.crop(field, box, size: input.motionSize, clamp: clamp)
            while ready < tiles.count, tiles[ready].max()! <= i { ready += 1 }
            while ready - started >= batchWhileDecoding {
                let part = tiles[started..<(started + batchWhileDecoding)]
                let x = Self.motionInput(part, planes: planes, input: input, shape: network.inputShape)
                background.async(group: group) { vectors.set(part, network.embed(x, threads: 1)) }
                started += batchWhileDecoding
            }
        }
        group.wait()
        for batch in stride(from: started, to: tiles.count, by: 32) {
            if isCancelled?() == true { throw CancellationError() }
            let part = tiles[batch..<min(batch + 32, tiles.count)]
            let x = Self.motionInput(part, planes: planes, input: input, shape: network.inputShape)
            vectors.set(part, network.embed(x, threads: ProcessInfo.processInfo.activeProcessorCount))
        }
        return tilesOf.map { VideoEmbedder.meanOverClips($0.map { vectors[$0] }) }
    }

    /// The network input of some tiles: [tiles, 2, F, S, S] from the cropped fields.
    static func motionInput(
        _ tiles: ArraySlice<[Int]>, planes: [Int: [Float]], input: DecoupledInput, shape: [Int]
    ) -> Tensor {
        let length = input.motionFrames
        let plane = input.motionSize * input.motionSize
        var data = [Float](repeating: 0, count: tiles.count * 2 * length * plane)
        for (t, tile) in tiles.enumerated() {
            for (f, frame) in tile.enumerated() {
                let m = planes[frame]!
                for ch in 0..<2 {
                    let dst = ((t * 2 + ch) * length + f) * plane
                    data.replaceSubrange(dst..<(dst + plane), with: m[(ch * plane)..<((ch + 1) * plane)])
                }
            }
        }
        return Tensor(shape: [tiles.count] + shape, data: data)
    }

    /// The I-frame nearest the middle of the clip's span (the earlier one on a tie).
    public static func keyframe(for window: ClipWindow, iFrames: [Int], frameCount: Int) -> Int {
        let r = window.frameRange(frameCount: frameCount)
        let middle = r.isEmpty ? 0 : (r.lowerBound + r.upperBound - 1) / 2
        return iFrames.min { (abs($0 - middle), $0) < (abs($1 - middle), $1) } ?? 0
    }

    /// Runs of `length` consecutive frames on one grid (starts at multiples of `length`)
    /// inside the clip's span: as many as fit, so overlapping clips share them. A span where
    /// none fits on the grid takes back-to-back runs from its start; a span or video shorter
    /// than `length` one run from its start, repeating its last frame.
    public static func motionWindows(for window: ClipWindow, length: Int, frameCount: Int) -> [[Int]] {
        let r = window.frameRange(frameCount: frameCount)
        let lo = r.isEmpty ? 0 : r.lowerBound
        let last = max(lo, r.upperBound - 1)
        let first = (lo + length - 1) / length * length
        let onGrid = stride(from: first, through: last - length + 1, by: length).map { Array($0..<($0 + length)) }
        if !onGrid.isEmpty { return onGrid }
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

/// The motion view's tile vectors, set by the network's thread and read once it is done.
private final class TileVectors: @unchecked Sendable {
    private let lock = NSLock()
    private var vectors: [[Int]: [Float]] = [:]

    func set(_ tiles: ArraySlice<[Int]>, _ out: Tensor) {
        lock.withLock { for (t, tile) in tiles.enumerated() { vectors[tile] = out.row(t) } }
    }

    subscript(tile: [Int]) -> [Float] { lock.withLock { vectors[tile]! } }
}

extension Tensor {
    /// Row `i` of a `[N, D]` tensor.
    func row(_ i: Int) -> [Float] {
        let d = shape[1]
        return Array(data[(i * d)..<((i + 1) * d)])
    }
}
