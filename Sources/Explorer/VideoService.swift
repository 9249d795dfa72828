import Foundation
import VideoData

/// Background decoding for one video: a request thread that serves the frame under the cursor
/// (and prefetches a few ahead), and a scan thread that reads every frame once for the
/// timeline and fills the cache while it has room. Each thread has its own reader, so vectors
/// come from single-threaded decoders. Only these threads touch the readers.
final class VideoService: @unchecked Sendable {
    let video: Int
    let path: String
    private let open: FrameReaderFactory
    private let cache: FrameCache
    private let inbox: Inbox
    private let condition = NSCondition()
    private var wanted: [Int] = []
    private var busy = false
    private var scanning = false
    private var stopped = false
    private(set) var info: VideoInfo?

    /// Width of the cached pictures: 192 is plenty for text cells; pixel modes ask for the
    /// frame pane's pixel width so the image is not an enlarged thumbnail.
    let previewWidth: Int
    static let defaultPreviewWidth = 192
    static let prefetch = 6

    init(
        video: Int, path: String, open: @escaping FrameReaderFactory, cache: FrameCache, inbox: Inbox,
        previewWidth: Int = defaultPreviewWidth
    ) {
        self.previewWidth = previewWidth
        self.video = video
        self.path = path
        self.open = open
        self.cache = cache
        self.inbox = inbox
    }

    /// Opens the video on the request thread, then starts the scan.
    func start() {
        condition.lock()
        busy = true
        scanning = true
        condition.unlock()
        let t = Thread { [self] in self.requestLoop() }
        t.name = "decode \(video)"
        t.start()
    }

    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    /// Asks for frames; the newest request wins over older ones not yet started.
    func request(_ indices: [Int]) {
        condition.lock()
        wanted = indices
        condition.broadcast()
        condition.unlock()
    }

    /// True while a request is pending or being served, or the scan is running.
    var isBusy: Bool {
        condition.lock()
        defer { condition.unlock() }
        return busy || scanning || !wanted.isEmpty
    }

    // MARK: - Request thread

    private func requestLoop() {
        let reader: FrameReader
        do {
            reader = try open(path)
        } catch {
            inbox.post(.openFailed(video: video, message: "\(error)"))
            finishScan()
            setBusy(false)
            return
        }
        info = reader.info
        inbox.post(.opened(video: video, info: reader.info))
        let scan = Thread { [self] in self.scanLoop() }
        scan.name = "scan \(video)"
        scan.start()
        var position: Int? = nil  // index `next()` returns
        setBusy(false)
        while true {
            condition.lock()
            while wanted.isEmpty && !stopped { condition.wait() }
            if stopped {
                condition.unlock()
                return
            }
            let batch = wanted
            wanted = []
            busy = true
            condition.unlock()
            for i in batch {
                do {
                    position = try decode(upTo: i, reader: reader, position: position)
                    inbox.post(.frameReady(video: video, index: i))
                } catch {
                    inbox.post(.frameFailed(video: video, index: i, message: "\(error)"))
                    position = nil
                }
            }
            // Prefetch while nothing newer is asked for: a few frames ahead, then the frame
            // before (after a jump into a long GOP, stepping back would otherwise decode the
            // earlier GOP from its keyframe on the first key press).
            if let last = batch.last {
                for i in (last + 1)...(last + Self.prefetch) where i < reader.info.frameCount {
                    if hasNewRequest() { break }
                    if cache.contains(video: video, index: i) { continue }
                    position = try? decode(upTo: i, reader: reader, position: position, interruptible: true)
                }
                if last > 0 && !hasNewRequest() && !cache.contains(video: video, index: last - 1) {
                    position = try? decode(upTo: last - 1, reader: reader, position: position, interruptible: true)
                }
            }
            setBusy(false)
        }
    }

    private func hasNewRequest() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return !wanted.isEmpty || stopped
    }

    private func setBusy(_ b: Bool) {
        condition.lock()
        busy = b
        condition.unlock()
    }

    /// Decodes forward to frame `i`, caching every frame on the way: stepping backwards through
    /// a long GOP then costs one decode from the keyframe, not one per step.
    private func decode(upTo i: Int, reader: FrameReader, position: Int?, interruptible: Bool = false) throws -> Int? {
        if cache.contains(video: video, index: i) { return position }
        let key = reader.info.keyFrameIndices.last { $0 <= i } ?? 0
        var pos = position
        if pos == nil || pos! > i || pos! < key {
            try reader.seek(toFrame: key)
            pos = key
        }
        while let p = pos, p <= i {
            // A prefetch gives way as soon as the user asks for something.
            if interruptible && hasNewRequest() { return pos }
            guard let frame = try reader.next() else { return nil }
            if !cache.contains(video: video, index: frame.info.index) {
                cache.put(video: video, try view(of: frame, reader: reader))
            }
            pos = frame.info.index + 1
        }
        return pos
    }

    private func view(of frame: VideoFrame, reader: FrameReader) throws -> FrameView {
        let info = reader.info
        let w = min(previewWidth, info.width)
        let h = max(1, Int((Double(w) * Double(info.height) / Double(info.width)).rounded()))
        let image = try reader.currentImage(width: w, height: h)
        let summary = FrameMotionSummary(frame: frame, frameWidth: info.width, frameHeight: info.height)
        return FrameView(info: frame.info, vectors: frame.motionVectors, summary: summary, image: image)
    }

    // MARK: - Scan thread

    private func scanLoop() {
        defer { finishScan() }
        let reader: FrameReader
        do { reader = try open(path) } catch {
            inbox.post(.scanFailed(video: video, message: "\(error)"))
            return
        }
        var chunk: [FrameMark] = []
        var from = 0
        var lastPost = Date()
        var room = true
        var next = 0
        do {
            while let frame = try reader.next() {
                next = frame.info.index + 1
                if stoppedNow() { return }
                let summary = FrameMotionSummary(
                    frame: frame, frameWidth: reader.info.width, frameHeight: reader.info.height)
                if chunk.isEmpty { from = frame.info.index }
                chunk.append(
                    FrameMark(
                        type: frame.info.pictureType, key: frame.info.isKey, coverage: Float(summary.coverage),
                        meanLength: Float(summary.meanLength)))
                if room && !cache.contains(video: video, index: frame.info.index) {
                    room = cache.put(video: video, try view(of: frame, reader: reader), onlyIfRoom: true)
                }
                if Date().timeIntervalSince(lastPost) > 0.1 || chunk.count >= 2000 {
                    inbox.post(.scanned(video: video, from: from, marks: chunk, done: false))
                    chunk = []
                    lastPost = Date()
                }
            }
            inbox.post(.scanned(video: video, from: chunk.isEmpty ? next : from, marks: chunk, done: true))
        } catch {
            if !chunk.isEmpty { inbox.post(.scanned(video: video, from: from, marks: chunk, done: false)) }
            inbox.post(.scanFailed(video: video, message: "\(error)"))
        }
    }

    private func stoppedNow() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopped
    }

    private func finishScan() {
        condition.lock()
        scanning = false
        condition.unlock()
    }
}
