import Foundation
import VideoData

/// Which frames a list of clip windows needs and when each clip can be assembled: the
/// distinct display indices in ascending order, how many clips use each one (so a preprocessed
/// frame is dropped once its last clip is built), and for every clip the largest index it
/// needs (it is ready once decoding has passed that index).
struct FramePlan {
    /// Per clip, its display indices in clip order (ModelScope rule: past the end -> 0).
    let clipIndices: [[Int]]
    /// Distinct indices, ascending: the decoding order.
    let frames: [Int]
    /// Uses of each index over all clips.
    let uses: [Int: Int]
    /// Per clip, the largest index it needs.
    let lastFrame: [Int]

    init(windows: [ClipWindow], frameCount: Int) {
        clipIndices = windows.map { $0.indices(frameCount: frameCount) }
        var uses: [Int: Int] = [:]
        for indices in clipIndices { for i in indices { uses[i, default: 0] += 1 } }
        self.uses = uses
        frames = uses.keys.sorted()
        lastFrame = clipIndices.map { $0.max() ?? 0 }
    }
}

/// A bounded hand-off of preprocessed clips from the decoding thread to the forward workers.
/// `push` blocks while `capacity` clips wait (memory stays bounded: a 16x112x112 clip is
/// 2.4 MB); `pop` blocks until a clip arrives or the queue is closed and empty.
final class ClipQueue: @unchecked Sendable {
    struct Item {
        var clip: Int
        var data: [Float]
    }

    private let condition = NSCondition()
    private var items: [Item] = []
    private var closed = false
    private let capacity: Int

    init(capacity: Int) { self.capacity = max(1, capacity) }

    func push(_ item: Item) {
        condition.lock()
        while items.count >= capacity && !closed { condition.wait() }
        if !closed { items.append(item) }
        condition.broadcast()
        condition.unlock()
    }

    func pop() -> Item? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !closed { condition.wait() }
        guard !items.isEmpty else { return nil }
        let item = items.removeFirst()
        condition.broadcast()
        return item
    }

    /// No more pushes; waiting workers finish what is queued, then `pop` returns nil.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Drops queued clips (after cancellation) and closes.
    func cancel() {
        condition.lock()
        items.removeAll()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}

/// Results and progress shared by the workers, behind one lock.
final class ClipResults: @unchecked Sendable {
    private let lock = NSLock()
    private var vectors: [[Float]?]
    private var decoded = 0

    init(count: Int) { vectors = Array(repeating: nil, count: count) }

    /// Stores a clip's vector; returns how many clips are done.
    func set(_ clip: Int, _ vector: [Float]) -> Int {
        lock.withLock {
            vectors[clip] = vector
            return vectors.lazy.filter { $0 != nil }.count
        }
    }

    func addDecoded(_ n: Int) -> Int {
        lock.withLock {
            decoded += n
            return decoded
        }
    }

    /// Frames decoded so far; workers read it while the decoding thread adds to it, so it is
    /// read under the lock too.
    var framesDecoded: Int { lock.withLock { decoded } }

    var done: Int { lock.withLock { vectors.lazy.filter { $0 != nil }.count } }

    /// Every vector, once all are set.
    func all() -> [[Float]]? { lock.withLock { vectors.contains { $0 == nil } ? nil : vectors.map { $0! } } }
}
