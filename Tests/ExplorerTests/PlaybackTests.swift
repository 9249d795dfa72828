import Explorer
import Testing
import VideoData

/// Playback is pure state driven by clock ticks: every test picks the times, so nothing here
/// depends on how fast the machine decodes (speed is measured by `decouple bench explore`).
/// The fixture video has 48 frames at 25 fps: one frame every 0.04 s.
@Suite("Playback: clock ticks, dropped frames, speed, stopping")
struct PlaybackTests {
    /// A state playing from `from`, its clock anchored at time 0.
    func playing(from: Int = 0) -> ExplorerState {
        var s = Fixtures.state()
        s.cursor = from
        #expect(s.handle(.char("p")).isEmpty)
        #expect(s.playing)
        #expect(s.apply(.tick(now: 0)).isEmpty)
        return s
    }

    @Test("p plays at the video's rate: each tick asks for the frame the clock has reached")
    func plays() {
        var s = playing()
        #expect(s.apply(.tick(now: 0.02)).isEmpty)
        #expect(s.apply(.tick(now: 0.04)) == [.showFrame(video: 0, index: 1)])
        // The cursor moves when the frame is decoded, not when it is asked for.
        #expect(s.cursor == 0)
        #expect(s.apply(.frameReady(video: 0, index: 1)).isEmpty)
        #expect(s.cursor == 1)
        #expect(s.apply(.tick(now: 0.08)) == [.showFrame(video: 0, index: 2)])
        _ = s.handle(.char("p"))
        #expect(!s.playing)
        #expect(s.status?.hasPrefix("Paused at frame 1: 1 shown, 0 dropped") == true)
    }

    @Test("when decoding lags, frames are dropped, never queued: only the newest is asked for")
    func dropsFrames() {
        var s = playing()
        #expect(s.apply(.tick(now: 0.04)) == [.showFrame(video: 0, index: 1)])
        // Frame 1 is slow: the clock passes frames 2..5 meanwhile, and nothing more is asked for.
        for t in [0.08, 0.12, 0.16, 0.2] { #expect(s.apply(.tick(now: t)).isEmpty) }
        #expect(s.playback?.pending == 1)
        // When it lands, the next request is the clock's frame (5), not frame 2.
        #expect(s.apply(.frameReady(video: 0, index: 1)) == [.showFrame(video: 0, index: 5)])
        #expect(s.apply(.frameReady(video: 0, index: 5)).isEmpty)
        #expect(s.cursor == 5)
        #expect(s.playback?.dropped == 3)
        #expect(s.playback?.shown == 2)
        #expect(s.playbackLabel?.contains("3 dropped") == true)
    }

    @Test("a frame that was not playback's request does not move the cursor")
    func strayFrame() {
        var s = playing()
        _ = s.apply(.tick(now: 0.04))
        #expect(s.apply(.frameReady(video: 0, index: 7)).isEmpty)
        #expect(s.apply(.frameReady(video: 1, index: 1)).isEmpty)
        #expect(s.cursor == 0)
        #expect(s.playback?.pending == 1)
    }

    @Test(
        "every stepping key stops playback and still steps",
        arguments: [
            Key.char("."), .char(","), .left, .right, .char("h"), .char("l"), .up, .down, .char("j"), .char("k"),
            .pageUp,
            .pageDown, .char("["), .char("]"), .shiftLeft, .shiftRight, .char("g"), .char("G"), .home, .end,
            .mouse(MouseEvent(x: 0, y: 0, button: .wheelDown)), .mouse(MouseEvent(x: 0, y: 0, button: .wheelUp)),
            .mouse(MouseEvent(x: 0, y: 0, button: .left, target: .frame(30))),
        ])
    func stepStops(key: Key) {
        var s = playing(from: 20)
        _ = s.apply(.tick(now: 0.04))
        let effects = s.handle(key)
        #expect(!s.playing)
        #expect(s.status?.hasPrefix("Stopped at frame 20") == true)
        #expect(s.cursor != 20)
        #expect(effects.first == .showFrame(video: 0, index: s.cursor))
    }

    @Test("keys that do not step leave playback running (embedding starts while playing)")
    func otherKeys() {
        var s = playing(from: 20)
        s.clipStride = 1
        let window = s.windowAtCursor
        #expect(s.handle(.char("e")) == [.embed([window])])
        #expect(s.playing)
        #expect(s.job != nil)
        _ = s.handle(.char("o"))
        _ = s.handle(.tab)
        _ = s.handle(.char("t"))
        #expect(s.playing)
        // The job goes on: ticks ask for frames, the worker's reports are applied.
        #expect(s.apply(.tick(now: 0.04)) == [.showFrame(video: 0, index: 21)])
        _ = s.apply(.embedProgress(done: 0))
        #expect(s.job != nil && s.playing)
    }

    @Test("( and ) step through mpv's speeds; the clock restarts from the frame on screen")
    func speed() {
        var s = playing()
        _ = s.handle(.char(")"))
        #expect(s.speed == 2)
        #expect(s.status == "Speed 2x")
        // Re-anchored at frame 0, time 0: 0.1 s at 2x of 25 fps is frame 5.
        #expect(s.apply(.tick(now: 0.1)) == [.showFrame(video: 0, index: 5)])
        _ = s.apply(.frameReady(video: 0, index: 5))
        _ = s.handle(.char(")"))
        _ = s.handle(.char(")"))
        #expect(s.speed == 4)
        // Anchored at frame 5, time 0.1: 0.05 s at 4x = 5 frames later.
        #expect(s.apply(.tick(now: 0.15)) == [.showFrame(video: 0, index: 10)])
        for _ in 0..<6 { _ = s.handle(.char("(")) }
        #expect(s.speed == 0.25)
        #expect(s.speedLabel == "0.25x")
        #expect(s.playing)
        // Speed is kept across a pause, as in mpv.
        _ = s.handle(.char("p"))
        _ = s.handle(.char("p"))
        #expect(s.speed == 0.25)
    }

    @Test("playback stops at the last frame; p there starts again from the first")
    func endOfVideo() {
        var s = playing(from: 40)
        #expect(s.apply(.tick(now: 10)) == [.showFrame(video: 0, index: 47)])
        #expect(s.apply(.frameReady(video: 0, index: 47)).isEmpty)
        #expect(!s.playing)
        #expect(s.cursor == 47)
        #expect(s.status?.hasPrefix("End of video at frame 47: 1 shown, 6 dropped") == true)
        #expect(s.handle(.char("p")) == [.showFrame(video: 0, index: 0)])
        #expect(s.cursor == 0 && s.playing)
    }

    @Test("the achieved rate: frames shown per second of clock over the last frames")
    func achievedRate() {
        var s = playing()
        // Decoding keeps up: one frame per 0.04 s tick is 25 fps.
        for k in 1...10 {
            let t = Double(k) * 0.04
            #expect(s.apply(.tick(now: t)) == [.showFrame(video: 0, index: k)])
            _ = s.apply(.frameReady(video: 0, index: k))
        }
        #expect(abs((s.playback?.achievedFPS ?? 0) - 25) < 1e-6)
        #expect(s.playbackLabel == "▶ 1x 25 fps")
        // Now every frame takes 0.08 s to decode: 12.5 frames a second shown, one dropped each.
        s.videos[0].info = Fixtures.info(path: s.videos[0].path, frames: 1000)
        var t = 0.4
        var inFlight: (index: Int, since: Double)? = nil
        for _ in 0..<80 {
            t += 0.04
            if let f = inFlight, t - f.since > 0.08 - 1e-9 {
                inFlight = nil
                if case .showFrame(_, let i)? = s.apply(.frameReady(video: 0, index: f.index)).first {
                    inFlight = (i, t)
                }
            }
            if case .showFrame(_, let i)? = s.apply(.tick(now: t)).first { inFlight = (i, t) }
        }
        #expect(s.playing)
        #expect(abs((s.playback?.achievedFPS ?? 0) - 12.5) < 1e-6)
        #expect(s.playbackLabel?.contains(" fps, ") == true)
        #expect((s.playback?.dropped ?? 0) >= 30)
    }

    @Test("a failed frame stops playback with the error; switching videos stops it too")
    func failures() {
        var s = playing()
        _ = s.apply(.tick(now: 0.04))
        _ = s.apply(.frameFailed(video: 0, index: 1, message: "corrupt"))
        #expect(!s.playing)
        #expect(s.statusIsError)
        s = playing()
        _ = s.handle(.mouse(MouseEvent(x: 0, y: 0, button: .left, target: .video(1))))
        #expect(!s.playing)
        #expect(s.current == 1)
    }

    @Test("nothing to play without a usable video")
    func nothingToPlay() {
        var s = Fixtures.state()
        _ = s.handle(.tab)
        _ = s.handle(.down)
        _ = s.handle(.down)
        _ = s.handle(.enter)
        s.current = 2
        _ = s.handle(.char("p"))
        #expect(!s.playing)
        #expect(s.status == "Nothing to play")
    }
}
