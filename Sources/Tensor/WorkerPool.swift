import Foundation
import Synchronization

/// Threads that stay awake between parallel regions, for a forward pass that splits each of
/// its ~40 convs over the cores.
///
/// `DispatchQueue.concurrentPerform` wakes a sleeping pool thread for every region. On this
/// VM that wake-up takes long enough that the calling thread often finishes its own share and
/// then runs the helper's share too: R(2+1)D-26's layer-3 1x1x1 convs (about 1 ms) took as
/// long on 2 threads as on 1. Here the helpers spin (yielding the core to any other runnable
/// thread) for 2 ms after each region before they sleep, as OpenMP's threads do
/// under PyTorch, so the next region starts on every core within microseconds. (One
/// R(2+1)D-26 clip on 2 threads: median 124-153 ms against 132-177 ms with Dispatch, in runs
/// alternating the two in one process.)
///
/// Parts are claimed from one atomic word that carries the region's generation, part count
/// and next part, so a helper that arrives late either takes a part of the current region or
/// none: it can never run a part of a region that has already returned.
final class WorkerPool: @unchecked Sendable {
    /// One helper per core beyond the caller's.
    static let shared = WorkerPool(helpers: max(0, ProcessInfo.processInfo.activeProcessorCount - 1))

    /// Bits 40...63: generation; 20...39: part count; 0...19: next part.
    private let state = Atomic<UInt64>(0)
    private let done = Atomic<Int>(0)
    private let inUse = Atomic<Bool>(false)
    /// The region's body; written only while no helper can claim a part.
    private var body: ((Int) -> Void)?
    private let sleep = NSCondition()
    private var sleepers = 0

    static let maxParts = (1 << 20) - 1
    /// How long an idle helper polls (yielding between polls, about 0.7 µs each here) before
    /// it sleeps: about as long as libgomp's threads spin under PyTorch.
    static let spinNanoseconds: UInt64 = 2_000_000

    private init(helpers: Int) {
        for _ in 0..<helpers {
            let thread = Thread { [unowned self] in self.helperLoop() }
            thread.name = "decouple-worker"
            thread.start()
        }
    }

    /// Runs `body(part)` for every part in `0..<parts` on the caller and the helpers, and
    /// returns when all are done. Returns false without running anything when the pool is
    /// already running a region (a concurrent or nested caller): the caller then uses another
    /// way.
    func run(parts: Int, _ body: (Int) -> Void) -> Bool {
        guard parts > 0 && parts <= Self.maxParts,
            inUse.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        else { return false }
        defer { inUse.store(false, ordering: .releasing) }
        withoutActuallyEscaping(body) { body in
            self.body = body
            done.store(0, ordering: .relaxed)
            let generation = (state.load(ordering: .relaxed) >> 40 &+ 1) & 0xFF_FFFF
            state.store(generation << 40 | UInt64(parts) << 20, ordering: .releasing)
            sleep.lock()
            if sleepers > 0 { sleep.broadcast() }
            sleep.unlock()
            work(generation)
            while done.load(ordering: .acquiring) < parts { sched_yield() }
            self.body = nil
        }
        return true
    }

    /// Claims and runs parts of region `generation` until none is left.
    private func work(_ generation: UInt64) {
        while true {
            var s = state.load(ordering: .acquiring)
            while true {
                guard s >> 40 == generation, s & 0xF_FFFF < (s >> 20) & 0xF_FFFF else { return }
                let (exchanged, original) = state.compareExchange(
                    expected: s, desired: s + 1, ordering: .acquiringAndReleasing)
                if exchanged { break }
                s = original
            }
            body!(Int(s & 0xF_FFFF))
            done.add(1, ordering: .releasing)
        }
    }

    private func helperLoop() {
        var seen: UInt64 = 0
        while true {
            var polls = 0
            var since = DispatchTime.now().uptimeNanoseconds
            var generation = state.load(ordering: .acquiring) >> 40
            while generation == seen {
                polls += 1
                if polls % 64 != 0 || DispatchTime.now().uptimeNanoseconds - since < Self.spinNanoseconds {
                    sched_yield()
                } else {
                    sleep.lock()
                    sleepers += 1
                    while state.load(ordering: .acquiring) >> 40 == seen { sleep.wait() }
                    sleepers -= 1
                    sleep.unlock()
                    since = DispatchTime.now().uptimeNanoseconds
                }
                generation = state.load(ordering: .acquiring) >> 40
            }
            seen = generation
            work(generation)
        }
    }
}
