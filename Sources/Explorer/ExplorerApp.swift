import Foundation
import VideoData

/// Ties the pure state machine to its workers: executes effects, applies worker events,
/// renders. Runs on one thread (the UI thread); workers report through the inbox.
public final class ExplorerApp {
    public private(set) var state: ExplorerState
    public let cache: FrameCache
    private let inbox = Inbox()
    private var services: [VideoService] = []
    private let embedWorker: EmbedWorker?

    /// - Parameters:
    ///   - open: opens a video for decoding (MediaIO's reader in the product).
    ///   - embedding: the model behind `e`; nil disables embedding with a message.
    public init(
        paths: [String], width: Int, height: Int, caps: Capabilities, open: @escaping FrameReaderFactory,
        embedding: ClipEmbedding?, cacheBudget: Int = 256 << 20, previewWidth: Int = 192
    ) {
        state = ExplorerState(
            width: width, height: height, caps: caps, paths: paths,
            modelDescription: embedding?.summary ?? "none (no weights)", views: embedding?.views ?? [])
        let cache = FrameCache(budget: cacheBudget)
        let inbox = self.inbox
        self.cache = cache
        embedWorker = embedding.map { EmbedWorker(embedding: $0, inbox: inbox) }
        services = paths.enumerated().map {
            VideoService(
                video: $0.offset, path: $0.element, open: open, cache: cache, inbox: inbox, previewWidth: previewWidth)
        }
    }

    /// Opens every video in the background.
    public func start() {
        for s in services { s.start() }
    }

    public func stop() {
        embedWorker?.cancel()
        for s in services { s.stop() }
    }

    public var renderer: Renderer {
        let cache = self.cache
        return Renderer { video, index in cache.get(video: video, index: index) }
    }

    public func render() -> Screen { renderer.render(state) }

    /// The terminal's cell size in pixels (pixel-mode pictures are made at the pane's size).
    public func setCellPixels(_ cell: CellPixels) { state.cellPixels = cell }

    /// A line for the status bar (why `--graphics auto` chose its mode).
    public func note(_ text: String) { state.status = text }

    /// Starts with the vectors drawn over the frame (`--motion-overlay`).
    public func setMotionOverlay(_ on: Bool) { state.motionOverlay = on }

    /// Handles one key; returns false once the app should exit.
    @discardableResult
    public func handle(_ key: Key) -> Bool {
        var key = key
        if case .mouse(var m) = key, m.target == nil {
            // The screen on show is the one the user clicked.
            m.target = render().target(atX: m.x, y: m.y)
            key = .mouse(m)
        }
        perform(state.handle(key))
        return !state.quit
    }

    /// Advances playback to the clock (`now`: seconds, monotonic). Returns true when the
    /// screen changed (a new frame, or a different achieved-rate figure).
    @discardableResult
    public func tick(now: Double) -> Bool {
        guard state.playing else { return false }
        let before = (state.cursor, state.playbackLabel)
        perform(state.apply(.tick(now: now)))
        return before != (state.cursor, state.playbackLabel) || !state.playing
    }

    /// Applies what workers reported. Returns true when something changed (redraw).
    @discardableResult
    public func pump() -> Bool {
        let events = inbox.drain()
        for e in events { perform(state.apply(e)) }
        return !events.isEmpty
    }

    /// Waits up to `seconds` for a worker event.
    public func waitForEvents(seconds: Double) { inbox.wait(seconds: seconds) }

    /// True when nothing runs in the background and every report has been applied.
    public var isIdle: Bool {
        services.allSatisfy { !$0.isBusy } && !(embedWorker?.isRunning ?? false) && state.job == nil
    }

    /// Batch mode: applies events until all background work has finished.
    public func settle(timeout: Double = 600) {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            pump()
            if isIdle {
                pump()
                if isIdle { return }
            }
            waitForEvents(seconds: 0.02)
        }
    }

    private func perform(_ effects: [Effect]) {
        for e in effects {
            switch e {
            case .showFrame(let v, let i):
                if !cache.contains(video: v, index: i) {
                    services[v].request([i])
                } else {
                    services[v].request([])
                    prefetchAround(v, i)
                    // No worker will report a cached frame: say it landed (playback waits for it).
                    perform(state.apply(.frameReady(video: v, index: i)))
                }
            case .embed(let clips):
                guard let worker = embedWorker else {
                    perform(
                        state.apply(
                            .embedFinished(
                                cancelled: false, error: "no model: run with --weights FILE or --random-weights")))
                    continue
                }
                let stills = clips.map { state.keyframe(in: $0.video, atOrBefore: $0.start) }
                worker.start(clips: clips, paths: clips.map { state.videos[$0.video].path }, stills: stills)
            case .cancelEmbedding:
                embedWorker?.cancel()
            case .quit:
                break
            }
        }
    }

    /// A cache hit still warms the frames after it, so holding `.` stays smooth.
    private func prefetchAround(_ v: Int, _ i: Int) {
        let ahead = (i + 1)...(i + 3)
        if ahead.contains(where: { !cache.contains(video: v, index: $0) && $0 < state.videos[v].frameCount }) {
            services[v].request([min(i + 3, state.videos[v].frameCount - 1)])
        }
    }
}

extension ExplorerState {
    /// The I-frame at or before `index` in any loaded video.
    public func keyframe(in video: Int, atOrBefore index: Int) -> Int? {
        let v = videos[video]
        if index < v.marks.count, let i = (0...index).last(where: { v.marks[$0].type == .i }) { return i }
        return v.info?.keyFrameIndices.last { $0 <= index }
    }
}
