import Foundation

/// Asks the kernel to back the whole 2 MB pages inside the `byteCount` bytes at `start` with
/// transparent huge pages (`MADV_HUGEPAGE`; nothing happens where THP is off or the range
/// spans no whole 2 MB page). Call it before the memory is first written: a large buffer
/// written once (a conv's folded weights when a backbone loads) then takes one page fault per
/// 2 MB instead of one per 4 KB (R(2+1)D-26: about 16,000 faults instead of 34,000).
///
/// The trade-off, measured with `bench model --startup` on the 2-core VM: a fresh process gets
/// to a loaded R(2+1)D-26 in 114 ms instead of 141 ms, but a second load in the same process,
/// after the first model was freed, takes about 100 ms instead of 40 ms (the allocator then
/// serves the buffers from memory it reuses, and huge pages there are cleared again). Loading a
/// backbone once per process is the common case (forward, embed, explore).
public func adviseHugePages(_ start: UnsafeMutableRawPointer, byteCount: Int) {
    let huge = 2 << 20
    let lo = (Int(bitPattern: start) + huge - 1) / huge * huge
    let hi = (Int(bitPattern: start) + byteCount) / huge * huge
    guard hi > lo else { return }
    _ = madvise(UnsafeMutableRawPointer(bitPattern: lo), hi - lo, MADV_HUGEPAGE)
}
