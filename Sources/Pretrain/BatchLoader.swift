import Foundation
import Tensor
import VideoData

/// Opens a video for pretraining (MediaIO's `MotionVideoSource` in the product).
public typealias MotionSourceFactory = @Sendable (_ path: String) throws -> MotionClipSource

/// Which videos make up step `step`'s batch, and the random stream of each sample: pure
/// functions of the seed and the step, so a resumed run reads exactly the same batches.
public struct DataOrder: Sendable, Codable, Equatable {
    public var videos: Int
    public var batch: Int
    public var seed: UInt64

    public init(videos: Int, batch: Int, seed: UInt64) {
        self.videos = videos
        self.batch = batch
        self.seed = seed
    }

    /// Steps per pass over the videos (the last partial batch of an epoch is dropped).
    public var stepsPerEpoch: Int { max(1, videos / batch) }

    /// Video indices of the batch at `step`: a seeded shuffle per epoch.
    public func videos(at step: Int) -> [Int] {
        let epoch = step / stepsPerEpoch
        let k = step % stepsPerEpoch
        var rng = SeededRandom(seed: seed ^ (UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15))
        var order = Array(0..<videos)
        order.shuffle(using: &rng)
        if videos < batch { return (0..<batch).map { order[$0 % videos] } }
        return Array(order[(k * batch)..<((k + 1) * batch)])
    }

    /// The camera moves of step `step`'s pairs (`MovePlan.pairs`), from a stream of their own
    /// so that the samples' streams stay as they were.
    public func movePlans(step: Int, zooms: Bool = false) -> [MovePlan] {
        var rng = SeededRandom(seed: seed ^ 0x4D4F_5645_5041_4952 ^ (UInt64(step) &* 0x9E37_79B9_7F4A_7C15))
        return MovePlan.pairs(count: batch, zooms: zooms, rng: &rng)
    }

    /// The random stream of sample `i` of step `step`.
    public func sampleRandom(step: Int, index i: Int) -> SeededRandom {
        SeededRandom(seed: seed &+ 0xA5A5_0000 ^ (UInt64(step) << 20) ^ UInt64(i))
    }
}

/// Builds batches ahead of the training step on its own thread (the other core), holding at
/// most `depth` finished batches. A video that fails is reported once and replaced by the next
/// video in the order, so one bad file does not stop a run.
///
/// Opened videos are kept (`SourceCache`): a video comes back every epoch, and opening it
/// again would demux the whole file for its packet index and decode its I-frames to find them.
public final class BatchLoader: @unchecked Sendable {
    public let paths: [String]
    let order: DataOrder
    let sampler: PretextSampler
    let transform: PretextTransform
    let clipFrames: Int
    let open: MotionSourceFactory
    private let condition = NSCondition()
    private var ready: [Int: Result<CMDBatch, Error>] = [:]
    private var next: Int
    private let endStep: Int?
    private var stopped = false
    private var finished = false
    private let depth: Int
    /// Used by the loader's thread only.
    private var sources: SourceCache
    /// Messages about skipped videos (read by the loop for its log).
    private var problems: [String] = []

    /// Starts building the batches from `startStep` on; none at or past `endStep` (a run's last
    /// step; nil: no end). `cachedFrames` bounds the videos kept open (`SourceCache`).
    public init(
        paths: [String], order: DataOrder, sampler: PretextSampler, transform: PretextTransform, clipFrames: Int,
        startStep: Int, endStep: Int? = nil, depth: Int = 2, cachedFrames: Int = SourceCache.defaultFrames,
        open: @escaping MotionSourceFactory
    ) {
        self.paths = paths
        self.order = order
        self.sampler = sampler
        self.transform = transform
        self.clipFrames = clipFrames
        self.open = open
        self.depth = depth
        next = startStep
        self.endStep = endStep
        sources = SourceCache(frames: cachedFrames)
        let t = Thread { [self] in self.run() }
        t.name = "batch loader"
        t.start()
    }

    deinit { stop() }

    /// Stops the loader and waits until its thread has finished the batch it was building.
    public func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    /// The batch of `step` (blocks until it is ready; `step` must lie before `endStep`).
    public func batch(_ step: Int) throws -> CMDBatch {
        condition.lock()
        defer { condition.unlock() }
        while ready[step] == nil { condition.wait() }
        let r = ready.removeValue(forKey: step)!
        condition.broadcast()
        return try r.get()
    }

    public func takeProblems() -> [String] {
        condition.lock()
        defer { condition.unlock() }
        let p = problems
        problems = []
        return p
    }

    private func run() {
        while true {
            condition.lock()
            while (ready.count >= depth || endStep.map { next >= $0 } == true) && !stopped { condition.wait() }
            if stopped {
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let step = next
            next += 1
            condition.unlock()
            let result = Result { try build(step) }
            condition.lock()
            ready[step] = result
            condition.broadcast()
            condition.unlock()
        }
    }

    func build(_ step: Int) throws -> CMDBatch {
        var examples: [PretextExample] = []
        let plans = transform.movePairs == true ? order.movePlans(step: step, zooms: transform.moveZooms == true) : nil
        for (i, v) in order.videos(at: step).enumerated() {
            var rng = order.sampleRandom(step: step, index: i)
            var attempt = 0
            while true {
                let path = paths[(v + attempt) % paths.count]
                do {
                    let source = try sources.source(path, open: open)
                    examples.append(
                        try PretextExample.make(
                            from: source, sampler: sampler, transform: transform, plan: plans?[i], rng: &rng))
                    break
                } catch {
                    condition.lock()
                    problems.append("\(path): \(error)")
                    condition.unlock()
                    attempt += 1
                    if attempt >= paths.count { throw error }
                }
            }
        }
        return CMDBatch(
            examples, size: transform.size, motionSize: transform.motionSize, clipFrames: clipFrames,
            futureFrames: sampler.futureFrames)
    }
}

/// Opened videos by path, up to `frames` frames in all (a packet index takes 21 bytes a frame,
/// so the default holds about 21 MB at most); the oldest go first, and 0 keeps none.
public struct SourceCache {
    public static let defaultFrames = 1_000_000
    let frames: Int
    private var sources: [String: MotionClipSource] = [:]
    private var order: [String] = []
    private var held = 0

    public init(frames: Int) { self.frames = frames }

    public mutating func source(_ path: String, open: MotionSourceFactory) throws -> MotionClipSource {
        if let s = sources[path] { return s }
        let s = try open(path)
        sources[path] = s
        order.append(path)
        held += s.frameCount
        while held > frames, !order.isEmpty {
            let old = order.removeFirst()
            held -= sources.removeValue(forKey: old)?.frameCount ?? 0
        }
        return s
    }
}
