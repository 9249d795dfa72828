import Dispatch
import Foundation

/// Runs `body(i)` for i in 0..<count on `jobs` threads, each taking the next index when free.
/// Results come back in index order. Used to decode several videos (or key-frame segments) side
/// by side, each with its own single-threaded decoder.
public func runConcurrently<T: Sendable>(count: Int, jobs: Int, _ body: @escaping @Sendable (Int) -> T) -> [T] {
    let results = ResultSlots<T>(count: count)
    let next = ResultSlots<Int>(count: 0)
    let workers = max(1, min(jobs, count))
    DispatchQueue.concurrentPerform(iterations: workers) { _ in
        while let i = next.takeIndex(below: count) {
            results.set(i, body(i))
        }
    }
    return results.values()
}

/// A lock-protected array of optional slots, plus a shared counter for work stealing.
final class ResultSlots<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [T?]
    private var counter = 0

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ i: Int, _ value: T) { lock.withLock { slots[i] = value } }
    func values() -> [T] { lock.withLock { slots.map { $0! } } }
    func takeIndex(below limit: Int) -> Int? {
        lock.withLock {
            guard counter < limit else { return nil }
            counter += 1
            return counter - 1
        }
    }
}

/// A thread-safe counter for progress reporting from workers.
public final class ProgressCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    public init() {}
    public func add(_ n: Int) { lock.withLock { value += n } }
    public var current: Int { lock.withLock { value } }
}
