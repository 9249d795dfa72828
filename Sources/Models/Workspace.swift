import Foundation
import NN
import Tensor

/// The memory one forward pass works in: `slotCount` activation buffers, each as large as the
/// largest map of the network at this input size, and one im2col scratch. Allocated once per
/// input size and reused, so a forward pass neither allocates nor page-faults.
///
/// A workspace is used by one forward pass at a time (`WorkspacePool` hands them out).
final class Workspace {
    let size: Dim3
    let slotFloats: Int
    let scratchCount: Int
    private let storage: UnsafeMutablePointer<Float>
    private let slotCount: Int
    let scratch: UnsafeMutablePointer<Float>?

    /// Sizes a workspace for `network` on clips of `size`, with im2col tiles of at most
    /// `tileFloats` floats (never less than one column of the largest K).
    init(network: Network, size: Dim3, tileFloats: Int) {
        var largest = 0
        var scratchNeed = 0
        network.walk(size, map: { c, s in largest = max(largest, c * s.volume) }) { _, conv, s in
            // The whole matrix when it fits the budget (small maps can then split channels),
            // else the budget, never less than the minimum for `maxThreads` workers.
            let least = conv.minimumScratchCount(threads: Workspace.maxThreads)
            scratchNeed = max(scratchNeed, max(least, min(conv.fullScratchCount(input: s), tileFloats)))
        }
        self.size = size
        slotFloats = max(1, largest)
        slotCount = network.slotCount
        scratchCount = scratchNeed
        storage = .allocate(capacity: slotFloats * slotCount + max(1, scratchNeed))
        scratch = scratchNeed > 0 ? storage + slotFloats * slotCount : nil
    }

    deinit { storage.deallocate() }

    /// The most threads one forward pass uses (the backbone clamps to this).
    static let maxThreads = 64

    /// Activation buffer `i` (`slotFloats` floats).
    func slot(_ i: Int) -> UnsafeMutablePointer<Float> { storage + i * slotFloats }

    /// Bytes held.
    var bytes: Int { 4 * (slotFloats * slotCount + max(1, scratchCount)) }
}

/// Hands each forward pass a workspace of its own: concurrent callers never share one. Idle
/// workspaces are kept (up to `keep`) for the next call with the same input size.
final class WorkspacePool: @unchecked Sendable {
    private let lock = NSLock()
    private var idle: [Workspace] = []
    private let keep: Int

    init(keep: Int = 4) { self.keep = keep }

    /// Runs `body` with a workspace for `size`, made by `make` when none is idle.
    func with<R>(size: Dim3, make: () -> Workspace, _ body: (Workspace) -> R) -> R {
        let ws =
            lock.withLock { () -> Workspace? in
                guard let i = idle.firstIndex(where: { $0.size == size }) else { return nil }
                return idle.remove(at: i)
            } ?? make()
        defer {
            lock.withLock {
                idle.insert(ws, at: 0)
                if idle.count > keep { idle.removeLast() }
            }
        }
        return body(ws)
    }

    /// Drops idle workspaces (their memory goes back to the system).
    func drain() { lock.withLock { idle.removeAll() } }
}
