import Common
import Foundation
import Models
import Tensor
import VideoData

/// How far an `embed` call has got. Delivered to the progress callback after every decoded
/// batch of frames and every finished clip.
public struct EmbedProgress: Sendable, Equatable {
    public var clipsDone: Int
    public var clipsTotal: Int
    public var framesDecoded: Int
    public var framesTotal: Int
}

/// Clips of a video -> preprocessed tensors -> backbone -> one vector per clip: the ModelScope
/// `cmdssl_video_embedding` pipeline (docs/method.md §8) as a reusable object.
///
/// ```swift
/// let embedder = VideoEmbedder(model: try Backbone(config: BackboneConfig(.r2plus1d), seed: 0))
/// let windows = ClipSampler.modelScope(frameCount: source.frameCount)        // 10 clips
/// let perClip = try embedder.embed(windows, from: source)                   // 10 x 2048
/// let video = VideoEmbedder.meanOverClips(perClip)                          // the pipeline's output
/// ```
///
/// Work is split in two: the calling thread decodes the frames the clips need (each distinct
/// frame once, in display order, a few at a time) and resizes and crops each frame once, while
/// `forwardWorkers` threads run the backbone, one clip each. With two workers every forward runs
/// on one core with OpenBLAS at one thread (the fastest use of two cores, docs/backbone.md §5); with
/// one worker a forward uses every core.
///
/// Cancellation and progress: `isCancelled` is polled between batches of frames and between
/// clips; when it returns true the call stops early and throws `CancellationError`. `progress`
/// is called on the worker threads (serialised). An explorer runs `embed` on a background
/// thread and flips a flag that `isCancelled` reads.
///
/// Thread safety: the embedder is immutable; several threads may call `embed` at once (each
/// call then competes for the cores). A `ClipSource` is used only by the calling thread.
public final class VideoEmbedder: Sendable {
    public let model: Backbone
    public let preprocessing: Preprocessing
    /// Threads running forward passes at once (1 or more).
    public let forwardWorkers: Int
    /// Frames asked of the source per call (bounds the full-size frames held at once).
    public let framesPerRead: Int

    /// Which vector of the backbone is returned (`pooled` by default, the ModelScope output).
    public let view: EmbeddingView

    public init(
        model: Backbone, preprocessing: Preprocessing = .modelScope, forwardWorkers: Int = 2, framesPerRead: Int = 16,
        view: EmbeddingView = .pooled
    ) {
        self.model = model
        self.view = view
        self.preprocessing = preprocessing
        self.forwardWorkers = max(1, forwardWorkers)
        self.framesPerRead = max(1, framesPerRead)
    }

    /// Length of each vector (2048 for R(2+1)D-26 and R3D-26, 512 for C3D).
    public var dimension: Int { view.dimension(model) }

    /// One vector per window, in the order given.
    /// - Throws: what the source throws (a decoding error), `ModelError` when the model cannot
    ///   take clips of this shape, `CancellationError` when `isCancelled` returned true.
    public func embed(
        _ windows: [ClipWindow], from source: ClipSource,
        progress: (@Sendable (EmbedProgress) -> Void)? = nil,
        isCancelled: (@Sendable () -> Bool)? = nil
    ) throws -> [[Float]] {
        guard !windows.isEmpty else { return [] }
        guard source.frameCount > 0 else { throw ClipSourceError("the video has no frames") }
        let frames = windows[0].frames
        guard windows.allSatisfy({ $0.frames == frames }) else {
            throw ModelError("all clips of one call must have the same number of frames")
        }
        let crop = preprocessing.crop
        try model.validate(inputShape: [1, 3, frames, crop, crop])

        let plan = FramePlan(windows: windows, frameCount: source.frameCount)
        let workers = min(forwardWorkers, windows.count)
        let threadsPerForward = workers > 1 ? 1 : ProcessInfo.processInfo.activeProcessorCount
        if workers > 1 { BLAS.setThreads(1) }
        let queue = ClipQueue(capacity: workers + 1)
        let results = ClipResults(count: windows.count)
        let reporter = ProgressReporter(callback: progress, clipsTotal: windows.count, framesTotal: plan.frames.count)
        let cancelled = CancelFlag(isCancelled)

        // Forward workers: take a clip, run it, store its vector.
        let model = self.model
        let view = self.view
        let shape = [1, 3, frames, crop, crop]
        let group = DispatchGroup()
        for w in 0..<workers {
            let thread = Thread {
                while let item = queue.pop() {
                    if cancelled.check() { continue }
                    let out = view.apply(model, Tensor(shape: shape, data: item.data), threads: threadsPerForward)
                    let done = results.set(item.clip, out.data)
                    reporter.report(clipsDone: done, framesDecoded: results.framesDecoded)
                }
                group.leave()
            }
            thread.name = "embed-forward-\(w)"
            // Forward passes recurse little but use large stack frames in debug builds.
            thread.stackSize = 8 << 20
            group.enter()
            thread.start()
        }

        // This thread: decode, resize and crop each needed frame once; hand over clips whose
        // frames are all ready; drop frames no remaining clip needs.
        do {
            var crops: [Int: RGBImage] = [:]
            var remaining = plan.uses
            var nextClip = 0
            // Clips become ready in order of their last frame.
            let order = plan.lastFrame.indices.sorted { (plan.lastFrame[$0], $0) < (plan.lastFrame[$1], $1) }
            var position = 0
            while position < plan.frames.count {
                if cancelled.check() { break }
                let batch = Array(plan.frames[position..<min(position + framesPerRead, plan.frames.count)])
                let images = try source.frames(at: batch)
                guard images.count == batch.count else {
                    throw ClipSourceError("the source returned \(images.count) frames for \(batch.count) indices")
                }
                for (index, image) in zip(batch, images) { crops[index] = preprocessing.resizeAndCrop(image) }
                position += batch.count
                let decoded = results.addDecoded(batch.count)
                reporter.report(clipsDone: results.done, framesDecoded: decoded)
                let reached = batch.last!
                while nextClip < order.count && plan.lastFrame[order[nextClip]] <= reached {
                    let clip = order[nextClip]
                    let indices = plan.clipIndices[clip]
                    var data = [Float](repeating: 0, count: 3 * frames * crop * crop)
                    data.withUnsafeMutableBufferPointer {
                        preprocessing.normalise(indices.map { crops[$0]! }, into: $0)
                    }
                    for i in indices {
                        remaining[i]! -= 1
                        if remaining[i] == 0 { crops[i] = nil }
                    }
                    queue.push(ClipQueue.Item(clip: clip, data: data))
                    nextClip += 1
                }
            }
        } catch {
            queue.cancel()
            group.wait()
            throw error
        }
        if cancelled.check() { queue.cancel() } else { queue.close() }
        group.wait()
        if cancelled.check() { throw CancellationError() }
        guard let vectors = results.all() else { throw CancellationError() }
        return vectors
    }

    /// The embedding of a static clip: one frame repeated for every time step (a clip without
    /// motion). Comparing a clip's embedding with the still of its own keyframe measures how
    /// much the model relies on the scene (`sceneReliance`).
    public func embedStill(_ image: RGBImage, frames: Int = 16) throws -> [Float] {
        // A one-frame video: every index past frame 0 is frame 0 (the ModelScope rule), so the
        // frame is resized once and repeated.
        try embed([ClipWindow(start: 0, frames: frames, stride: 1)], from: ImageClipSource(images: [image]))[0]
    }

    /// The ModelScope output for a video: the element-wise mean of its clip vectors (float32
    /// result; sums in double, so it is within rounding of torch's `mean(0)`).
    public static func meanOverClips(_ vectors: [[Float]]) -> [Float] {
        guard let d = vectors.first?.count else { return [] }
        precondition(vectors.allSatisfy { $0.count == d }, "meanOverClips needs vectors of one length")
        var sum = [Double](repeating: 0, count: d)
        for v in vectors { for i in 0..<d { sum[i] += Double(v[i]) } }
        return sum.map { Float($0 / Double(vectors.count)) }
    }

    /// Scene reliance of one clip: its embedding, the embedding of `keyframe` repeated as a
    /// static clip of the same length, and their cosine similarity. Near 1 means the clip's
    /// embedding is mostly explained by its scene; lower means motion matters.
    public func sceneReliance(
        of window: ClipWindow, from source: ClipSource, keyframe: RGBImage, isCancelled: (@Sendable () -> Bool)? = nil
    ) throws -> (clip: [Float], still: [Float], cosine: Float) {
        let clip = try embed([window], from: source, isCancelled: isCancelled)[0]
        if isCancelled?() == true { throw CancellationError() }
        let still = try embedStill(keyframe, frames: window.frames)
        return (clip, still, cosine(clip, still))
    }
}

/// Serialises progress callbacks from several threads.
final class ProgressReporter: @unchecked Sendable {
    private let lock = NSLock()
    private let callback: (@Sendable (EmbedProgress) -> Void)?
    private let clipsTotal: Int
    private let framesTotal: Int

    init(callback: (@Sendable (EmbedProgress) -> Void)?, clipsTotal: Int, framesTotal: Int) {
        self.callback = callback
        self.clipsTotal = clipsTotal
        self.framesTotal = framesTotal
    }

    func report(clipsDone: Int, framesDecoded: Int) {
        guard let callback else { return }
        lock.withLock {
            callback(
                EmbedProgress(
                    clipsDone: clipsDone, clipsTotal: clipsTotal, framesDecoded: framesDecoded, framesTotal: framesTotal
                ))
        }
    }
}

/// A cancellation check that stays true once it has been true.
final class CancelFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var seen = false
    private let probe: (@Sendable () -> Bool)?

    init(_ probe: (@Sendable () -> Bool)?) { self.probe = probe }

    func check() -> Bool {
        lock.withLock {
            if !seen, let probe, probe() { seen = true }
            return seen
        }
    }
}
