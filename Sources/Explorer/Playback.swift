/// Playback as pure state plus a clock input: the run loop sends `Event.tick(now:)` with a
/// monotonic time, the reducer works out which frame should be on screen from the elapsed time,
/// the frame rate and the speed, and asks for that frame only. One request is in flight at a
/// time: when decoding lags, the frames the clock passed over are dropped (counted), never
/// queued, so playback keeps to the clock instead of falling ever further behind it.
public struct Playback: Equatable, Sendable {
    /// Clock time at which `anchorFrame` was on screen; nil until the first tick (keys carry no
    /// time, so `p` starts the clock at the next tick).
    public var anchorTime: Double?
    public var anchorFrame: Int
    /// The frame asked for and not decoded yet.
    public var pending: Int?
    /// The latest tick's time: when a frame lands it counts as shown at this time.
    public var lastTick: Double?
    public var shown = 0
    /// Frames the clock passed over that were never shown.
    public var dropped = 0
    /// When the last frames were shown, oldest first (at most `rateWindow`), for the rate.
    public var shownAt: [Double] = []

    public static let rateWindow = 25

    public init(anchorFrame: Int) { self.anchorFrame = anchorFrame }

    /// Frames shown per second over the last `rateWindow` frames; nil before two were shown.
    public var achievedFPS: Double? {
        guard shownAt.count >= 2, let first = shownAt.first, let last = shownAt.last, last > first else { return nil }
        return Double(shownAt.count - 1) / (last - first)
    }
}

extension ExplorerState {
    /// mpv's speed steps.
    public static let speeds: [Double] = [0.25, 0.5, 1, 2, 4]

    public var speed: Double { Self.speeds[speedIndex] }
    public var playing: Bool { playback != nil }

    /// "0.25x", "1x", "4x".
    public var speedLabel: String {
        speed == speed.rounded() ? "\(Int(speed))x" : (speed == 0.5 ? "0.5x" : "0.25x")
    }

    /// Keys that move the cursor stop playback (as stepping does in mpv); Up/Down only step
    /// frames when the video pane has the focus.
    func stopsPlayback(_ key: Key) -> Bool {
        switch key {
        case .char("."), .char(","), .right, .left, .char("l"), .char("h"), .pageUp, .pageDown, .shiftRight,
            .shiftLeft, .char("]"), .char("["), .char("g"), .char("G"), .home, .end:
            return true
        case .up, .down, .char("k"), .char("j"):
            return focus == .video
        case .enter:
            return focus != .video
        default:
            return false
        }
    }

    /// `p`: play from the cursor (from the start when at the last frame), or pause.
    mutating func togglePlayback() -> [Effect] {
        if let pb = playback {
            stopPlayback(pb, why: "Paused")
            return []
        }
        guard let v = video, v.usable, v.frameCount > 1 else {
            setError("Nothing to play")
            return []
        }
        var effects: [Effect] = []
        if cursor >= v.frameCount - 1 {
            cursor = 0
            effects = showEffects()
        }
        playback = Playback(anchorFrame: cursor)
        return effects
    }

    /// Ends playback with a one-line account of it: where, the rate achieved and the drops.
    mutating func stopPlayback(_ pb: Playback, why: String) {
        playback = nil
        var text = "\(why) at frame \(cursor): \(pb.shown) shown, \(pb.dropped) dropped"
        if let fps = pb.achievedFPS { text += ", " + fpsText(fps) }
        status = text
    }

    func fpsText(_ fps: Double) -> String {
        fps < 10 ? String(format: "%.1f fps", fps) : String(format: "%.0f fps", fps)
    }

    /// `(` and `)`: slower and faster. While playing, the clock restarts from the frame on screen
    /// so the change does not jump.
    mutating func changeSpeed(by step: Int) {
        let i = min(Self.speeds.count - 1, max(0, speedIndex + step))
        speedIndex = i
        if var pb = playback {
            pb.anchorFrame = cursor
            pb.anchorTime = pb.lastTick
            playback = pb
        }
        status = "Speed \(speedLabel)"
    }

    /// The frame the clock says should be on screen at `now`, within the video.
    func clockTarget(_ pb: Playback, now: Double) -> Int? {
        guard let anchor = pb.anchorTime, let info = video?.info else { return nil }
        let fps = info.fps > 0 ? info.fps : 25
        // A hair of slack so a tick exactly on a frame boundary is not lost to rounding.
        let advanced = Int(((now - anchor) * fps * speed + 1e-6).rounded(.down))
        return min(info.frameCount - 1, pb.anchorFrame + max(0, advanced))
    }

    /// A clock tick: ask for the frame the clock has reached unless one is still decoding.
    mutating func tick(now: Double) -> [Effect] {
        guard var pb = playback else { return [] }
        guard let v = video, v.usable else {
            playback = nil
            return []
        }
        pb.lastTick = now
        if pb.anchorTime == nil {
            pb.anchorTime = now
            pb.anchorFrame = cursor
        }
        playback = pb
        return requestNewest()
    }

    /// Asks for the clock's frame when nothing is in flight; stops at the end of the video.
    mutating func requestNewest() -> [Effect] {
        guard var pb = playback, let now = pb.lastTick, let target = clockTarget(pb, now: now) else { return [] }
        if pb.pending != nil { return [] }
        if cursor >= (video?.frameCount ?? 0) - 1 {
            stopPlayback(pb, why: "End of video")
            return []
        }
        guard target > cursor else { return [] }
        pb.pending = target
        playback = pb
        return [.showFrame(video: current, index: target)]
    }

    /// The frame playback asked for is decoded: show it, count what was skipped, ask for the next.
    mutating func playbackFrameLanded(video v: Int, index: Int) -> [Effect] {
        guard var pb = playback, v == current, pb.pending == index else { return [] }
        pb.pending = nil
        pb.dropped += max(0, index - cursor - 1)
        pb.shown += 1
        if let t = pb.lastTick {
            pb.shownAt.append(t)
            if pb.shownAt.count > Playback.rateWindow { pb.shownAt.removeFirst(pb.shownAt.count - Playback.rateWindow) }
        }
        cursor = index
        playback = pb
        return requestNewest()
    }

    /// The status bar's playback figure: "▶ 1x 24 fps, 3 dropped".
    public var playbackLabel: String? {
        guard let pb = playback else { return nil }
        var text = (caps.unicode ? "▶ " : "> ") + speedLabel
        if let fps = pb.achievedFPS { text += " " + fpsText(fps) }
        if pb.dropped > 0 { text += ", \(pb.dropped) dropped" }
        return text
    }
}
