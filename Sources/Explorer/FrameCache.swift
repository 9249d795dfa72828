import Foundation
import VideoData

/// What the explorer keeps of one decoded frame: enough to draw both panes at any size.
public struct FrameView: Sendable {
    public var info: FrameInfo
    public var vectors: [MotionVector]
    public var summary: FrameMotionSummary
    /// The picture scaled to preview size (thumbnails are box-filtered down from it).
    public var image: RGBImage

    public init(info: FrameInfo, vectors: [MotionVector], summary: FrameMotionSummary, image: RGBImage) {
        self.info = info
        self.vectors = vectors
        self.summary = summary
        self.image = image
    }

    var bytes: Int { image.pixels.count + vectors.count * MemoryLayout<MotionVector>.stride + 256 }
}

/// A thread-safe least-recently-used cache of decoded frames with a byte budget: workers fill
/// it, the UI thread reads it. Stepping back through a long GOP hits it instead of re-decoding.
public final class FrameCache: @unchecked Sendable {
    struct Key: Hashable {
        var video: Int
        var index: Int
    }

    private let lock = NSLock()
    private var entries: [Key: (view: FrameView, tick: UInt64)] = [:]
    private var tick: UInt64 = 0
    private var bytes = 0
    public let budget: Int

    public init(budget: Int = 256 << 20) { self.budget = budget }

    public func get(video: Int, index: Int) -> FrameView? {
        lock.withLock {
            let k = Key(video: video, index: index)
            guard var e = entries[k] else { return nil }
            tick += 1
            e.tick = tick
            entries[k] = e
            return e.view
        }
    }

    public func contains(video: Int, index: Int) -> Bool {
        lock.withLock { entries[Key(video: video, index: index)] != nil }
    }

    /// Inserts a frame. With `onlyIfRoom`, nothing is evicted for it (the background scan
    /// uses this so it never pushes out the frames around the cursor).
    @discardableResult
    public func put(video: Int, _ view: FrameView, onlyIfRoom: Bool = false) -> Bool {
        lock.withLock {
            let k = Key(video: video, index: view.info.index)
            if let old = entries[k] { bytes -= old.view.bytes }
            if onlyIfRoom && bytes + view.bytes > budget { return false }
            tick += 1
            entries[k] = (view, tick)
            bytes += view.bytes
            while bytes > budget, let oldest = entries.min(by: { $0.value.tick < $1.value.tick })?.key {
                bytes -= entries[oldest]!.view.bytes
                entries[oldest] = nil
            }
            return true
        }
    }

    public var byteCount: Int { lock.withLock { bytes } }
    public var count: Int { lock.withLock { entries.count } }
}
