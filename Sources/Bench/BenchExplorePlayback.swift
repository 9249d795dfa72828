import Explorer
import Foundation
import VideoData

/// `bench explore`'s playback rows: `p` on the sample for a fixed time while the model embeds a
/// clip on the other core, driven exactly as the interactive loop drives it (clock ticks, worker
/// events, a render whenever the screen changed; only the curses copy is left out).
extension BenchExplore {
    struct PlaybackRow: Codable {
        var label: String
        var seconds: Double
        var videoFPS: Double
        /// Frames shown over the wall time.
        var achievedFPS: Double
        /// The status bar's figure at the end (the last frames).
        var statusFPS: Double?
        var shown: Int
        var dropped: Int
        var renderMedianMs: Double
        var renderMaxMs: Double
        var embeddingRanThroughout: Bool

        enum CodingKeys: String, CodingKey {
            case label, seconds, shown, dropped
            case videoFPS = "video_fps"
            case achievedFPS = "achieved_fps"
            case statusFPS = "status_fps"
            case renderMedianMs = "render_median_ms"
            case renderMaxMs = "render_max_ms"
            case embeddingRanThroughout = "embedding_ran_throughout"
        }
    }

    static let playbackSeconds = 5.0

    /// Plays `app`'s video from the first frame for `playbackSeconds` with an embedding started
    /// just before; `keys` set the mode first (`o` for the overlay, `t` for the next tier).
    func playback(_ app: ExplorerApp, keys: [Key]) -> PlaybackRow {
        for k in keys { app.handle(k) }
        let label = app.state.caps.tier.rawValue + (app.state.motionOverlay ? ", overlay" : "")
        // Sixteen marked windows, so the embedding job outlasts the run (a clip of the sample
        // takes about half a second): it must run on the other core for the whole measurement.
        app.handle(.char("g"))
        for _ in 0..<16 {
            // Space toggles: a window still marked from the previous row stays marked.
            if !app.state.marked.contains(app.state.windowAtCursor) { app.handle(.char(" ")) }
            for _ in 0..<4 { app.handle(.char(".")) }
        }
        app.handle(.char("g"))
        waitForFrame(app, 0)
        app.handle(.char("e"))
        app.handle(.char("p"))
        let clock = { ProcessInfo.processInfo.systemUptime }
        let start = clock()
        var renders: [Double] = []
        // What the terminal adapter adds after curses: pixel pictures and 24-bit cells.
        let images = TerminalImages(tmuxPassthrough: false)
        var embedding = true
        var shown = 0
        var dropped = 0
        var statusFPS: Double?
        while clock() - start < Self.playbackSeconds {
            var changed = app.pump()
            if app.tick(now: clock()) { changed = true }
            if changed {
                let t = clock()
                let screen = app.render()
                _ = images.clearBytes(for: screen)
                _ = images.drawBytes(for: screen)
                renders.append((clock() - t) * 1000)
            }
            if let pb = app.state.playback {
                shown = pb.shown
                dropped = pb.dropped
                statusFPS = pb.achievedFPS
            } else {
                break  // the end of the video: the row says how long it played
            }
            if app.state.job == nil { embedding = false }
            // The interactive loop waits this long for a key while playing.
            app.waitForEvents(seconds: 0.004)
        }
        let seconds = clock() - start
        app.handle(.char("p"))
        app.handle(.char("c"))
        app.settle()
        return PlaybackRow(
            label: label, seconds: seconds, videoFPS: app.state.video?.info?.fps ?? 0,
            achievedFPS: Double(shown) / seconds, statusFPS: statusFPS, shown: shown, dropped: dropped,
            renderMedianMs: Stats.median(renders), renderMaxMs: renders.max() ?? .nan,
            embeddingRanThroughout: embedding)
    }

    func printPlayback(_ rows: [PlaybackRow]) {
        for r in rows {
            let label = "playback, \(r.label)".padding(toLength: 44, withPad: " ", startingAt: 0)
            print(
                String(
                    format:
                        "  %@ %5.1f fps of %.2f (status %@), %d shown, %d dropped in %.1f s; render median %.2f ms, max %.2f ms; embedding %@",
                    label, r.achievedFPS, r.videoFPS, r.statusFPS.map { String(format: "%.1f", $0) } ?? "-", r.shown,
                    r.dropped, r.seconds, r.renderMedianMs, r.renderMaxMs,
                    r.embeddingRanThroughout ? "ran throughout" : "finished early"))
        }
    }
}
