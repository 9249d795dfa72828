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
    /// network input as they come, each window the mean of its tiles. For streams with
    /// B-frames decoding runs on one thread (docs/ffmpeg.md §6), so the network runs on a
    /// second thread meanwhile, on each `batch` tiles whose frames are all in; once decoding
    /// is done, the decoding thread takes the batches still waiting too.
    func motion(
        _ windows: [ClipWindow], from source: MotionClipSource, box: CropBox, isCancelled: (@Sendable () -> Bool)?,
        batch: Int = 4
    ) throws -> [[Float]] {
        let input = network.input
        let length = input.motionFrames
        let tilesOf = windows.map { Self.motionWindows(for: $0, length: length, frameCount: source.frameCount) }
        let tiles = Array(Set(tilesOf.flatMap { $0 })).sorted { $0.lexicographicallyPrecedes($1) }
        let frames = Array(Set(tiles.flatMap { $0 })).sorted()
        let clamp = NetworkInput.motionClamp(size: input.motionSize)
        var planes: [Int: [Float]] = [:]
        let work = TileWork(network: network)
        let background = DispatchQueue(label: "motion-view-network")
        let group = DispatchGroup()
        defer {
            work.drop()
            group.wait()
        }
        var ready = 0  // tiles whose frames are all decoded: a prefix, frames come in order
        var queued = 0  // tiles handed to `work`
        func queue(upTo end: Int) {
            while queued < end {
                let part = tiles[queued..<(queued + min(batch, end - queued))]
                work.add(part, Self.motionInput(part, planes: planes, input: input, shape: network.inputShape))
                background.async(group: group) { _ = work.runOne() }
                queued = part.endIndex
            }
        }
        try source.motionFields(frames, cellSize: input.cellSize) { i, field in
            if isCancelled?() == true { throw CancellationError() }
            planes[i] = NetworkInput.crop(field, box, size: input.motionSize, clamp: clamp)
            while ready < tiles.count, tiles[ready].max()! <= i { ready += 1 }
            queue(upTo: ready - (ready - queued) % batch)
        }
        queue(upTo: tiles.count)
        while work.runOne() {
            if isCancelled?() == true { throw CancellationError() }
        }
        group.wait()
        return tilesOf.map { VideoEmbedder.meanOverClips($0.map { work[$0] }) }
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

/// The motion view's batches of tiles waiting for the network, taken by whichever thread is
/// free, and the tile vectors they give.
private final class TileWork: @unchecked Sendable {
    private let network: DecoupledNetwork
    private let lock = NSLock()
    private var waiting: [(tiles: ArraySlice<[Int]>, input: Tensor)] = []
    private var vectors: [[Int]: [Float]] = [:]

    init(network: DecoupledNetwork) { self.network = network }

    func add(_ tiles: ArraySlice<[Int]>, _ input: Tensor) { lock.withLock { waiting.append((tiles, input)) } }

    /// Forgets the batches not yet taken (on cancellation or an error).
    func drop() { lock.withLock { waiting = [] } }

    /// Runs the oldest waiting batch on one core; false when none waits.
    func runOne() -> Bool {
        guard let job = lock.withLock({ waiting.isEmpty ? nil : waiting.removeFirst() }) else { return false }
        let out = network.embed(job.input, threads: 1)
        lock.withLock { for (t, tile) in job.tiles.enumerated() { vectors[tile] = out.row(t) } }
        return true
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
