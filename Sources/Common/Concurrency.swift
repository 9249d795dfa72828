import Dispatch
import Foundation

/// Runs `body(i)` for i in 0..<count on `jobs` threads, each taking the next index when free.
/// Results come back in index order. Used to decode several videos (or key-frame segments) side
/// by side, each with its own single-threaded decoder.
public func runConcurrently<T: Sendable>(count: Int, jobs: Int, _ body: @escaping @Sendable (Int) -> T) -> [T] {
    var results: [T] = []
    results.reserveCapacity(count)
    pipelined(count: count, inFlight: jobs, work: body) { _, value in
        results.append(value)
        return true
    }
    return results
}

/// A lock-protected array of optional slots, plus a shared counter for work stealing.
final class ResultSlots<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [T?]
    private var counter = 0

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ i: Int, _ value: T) { lock.withLock { slots[i] = value } }
    /// Slot i's value, released from the slots.
    func take(_ i: Int) -> T {
        lock.withLock {
            defer { slots[i] = nil }
            return slots[i]!
        }
    }
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

/// Runs `work(i)` for i in 0..<count on `inFlight` threads, each taking the next item when
/// free, and hands each result to `consume` on the calling thread in index order as soon as it
/// and every earlier one is done. Work runs ahead of `consume` by at most `4 · inFlight` items
/// (a slow item does not hold the others up); with `inFlight` 1 each item starts only after
/// the one before was consumed. `consume` returns false to stop: no further item starts, and
/// those in flight are waited for (their `work` should check for cancellation).
public func pipelined<T: Sendable>(
    count: Int, inFlight: Int, work: @escaping @Sendable (Int) -> T, consume: (Int, T) throws -> Bool
) rethrows {
    let workers = max(1, min(inFlight, count))
    let results = ResultSlots<T>(count: count)
    let done = (0..<count).map { _ in DispatchSemaphore(value: 0) }
    // Signalled up to its size rather than created with it: libdispatch traps when a semaphore
    // goes away holding less than its initial value, as this one does after a stop.
    let window = DispatchSemaphore(value: 0)
    for _ in 0..<(workers == 1 ? 1 : 4 * workers) { window.signal() }
    let stopped = AtomicFlag()
    let group = DispatchGroup()
    for _ in 0..<workers {
        DispatchQueue.global().async(group: group) {
            while true {
                window.wait()
                guard !stopped.isSet, let i = results.takeIndex(below: count) else {
                    window.signal()  // wakes the next waiting worker, which leaves too
                    return
                }
                results.set(i, work(i))
                done[i].signal()
            }
        }
    }
    defer {
        stopped.set()
        window.signal()
        group.wait()
    }
    for i in 0..<count {
        done[i].wait()
        let more = try consume(i, results.take(i))
        window.signal()
        if !more { return }
    }
}

/// A value behind a lock, shared between threads.
public final class Locked<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    public init(_ value: T) { stored = value }
    public var value: T {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
