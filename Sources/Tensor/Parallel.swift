import Dispatch

/// Runs `body` over `0..<count` split into at most `threads` contiguous ranges, one per
/// worker, and returns when all are done, on `WorkerPool`'s threads (which stay awake between
/// regions) or, when that pool is busy, on Dispatch's. With one thread (or one item) it runs
/// inline, so a caller that already runs one clip per core pays nothing.
///
/// `body` must only write memory that its range owns.
public func parallelRanges(_ count: Int, threads: Int, _ body: (Range<Int>) -> Void) {
    let workers = max(1, min(threads, count))
    if workers == 1 {
        if count > 0 { body(0..<count) }
        return
    }
    let split = { (worker: Int) in
        let lo = count * worker / workers
        let hi = count * (worker + 1) / workers
        if lo < hi { body(lo..<hi) }
    }
    if WorkerPool.shared.run(parts: workers, split) { return }
    // The pool is busy (a concurrent caller or a nested region). concurrentPerform wants a
    // @Sendable closure; `split` does not escape and callers promise disjoint writes, which is
    // the contract the box vouches for.
    withoutActuallyEscaping(split) { split in
        let box = UncheckedSendable(split)
        DispatchQueue.concurrentPerform(iterations: workers) { box.value($0) }
    }
}

/// Carries a value across a concurrency boundary that the compiler cannot check.
public struct UncheckedSendable<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}

/// Runs `body(i)` for every `i` in `0..<count` on up to `threads` workers.
public func parallelFor(_ count: Int, threads: Int, _ body: (Int) -> Void) {
    parallelRanges(count, threads: threads) { range in
        for i in range { body(i) }
    }
}
