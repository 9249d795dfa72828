import ArgumentParser
import Common
import Embed
import Explorer
import Foundation
import MediaIO
import Models
import VideoData

/// `decouple bench explore`: how quickly the explorer answers, measured on the state machine,
/// the workers and the renderer exactly as the interactive loop drives them (only the curses
/// copy of the finished screen is left out).
struct BenchExplore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explore",
        abstract:
            "Explorer responsiveness: first screen, frame steps (cold and cached), steps while embedding, playback.",
        discussion: """
            First screen: from opening the video to a rendered screen showing frame 0. Frame step: \
            from the key to a rendered screen showing the new frame, for every frame forwards from \
            a cold start (decoding as it goes), then backwards (the long GOP of the 720p sample makes \
            the first backward step decode from the keyframe), then again with everything cached. \
            While embedding: the same steps while the full-size model embeds a clip on the other \
            core. Playback: `p` from the first frame for 5 s while an embedding runs, plain and with \
            the motion overlay: frames shown per second, frames dropped, render times. Budgets: a \
            step under 30 ms at 120x40, the first screen under 1 s, playback at 24 fps or more.
            """
    )

    @Argument(help: "Video (default: the bundled 720p sample).")
    var video: String?

    @Option(help: "Screen size, WIDTHxHEIGHT.")
    var size = "120x40"

    @Flag(help: "Print JSON.")
    var json = false

    /// How long a kind of step took over all its repetitions.
    struct Latency: Codable {
        var count: Int
        var medianMs: Double
        var p95Ms: Double
        var maxMs: Double

        init(_ ms: [Double]) {
            count = ms.count
            medianMs = Stats.median(ms)
            p95Ms = Stats.percentile(ms, 95)
            maxMs = ms.max() ?? .nan
        }

        enum CodingKeys: String, CodingKey {
            case count
            case medianMs = "median_ms"
            case p95Ms = "p95_ms"
            case maxMs = "max_ms"
        }
    }

    struct Report: Codable {
        var video: String
        var width: Int
        var height: Int
        var firstScreenMs: Double
        var renderMs: Latency
        var stepForwardCold: Latency
        var stepBackward: Latency
        var jumpToEndCold: Latency
        var stepBackwardAfterJump: Latency
        var stepCached: Latency
        var stepWhileEmbedding: Latency
        var embeddingFinishedDuringSteps: Bool
        var playback: [PlaybackRow] = []

        enum CodingKeys: String, CodingKey {
            case video, width, height
            case firstScreenMs = "first_screen_ms"
            case renderMs = "render_ms"
            case stepForwardCold = "step_forward_cold"
            case stepBackward = "step_backward"
            case stepCached = "step_cached"
            case stepWhileEmbedding = "step_while_embedding"
            case jumpToEndCold = "jump_to_end_cold"
            case stepBackwardAfterJump = "step_backward_after_jump"
            case embeddingFinishedDuringSteps = "embedding_finished_during_steps"
            case playback
        }
    }

    func run() throws {
        let path = video ?? BenchAssets.find(BenchAssets.clipNames[1]) ?? BenchAssets.clipNames[1]
        let dims = size.split(separator: "x").compactMap { Int($0) }
        guard dims.count == 2 else { throw ValidationError("--size must look like 120x40") }
        let (w, h) = (dims[0], dims[1])
        let open: FrameReaderFactory = { try VideoReader(path: $0) }
        let caps = Capabilities(colors: 256, unicode: true)
        let embedding = ModelEmbedding(
            config: BackboneConfig(.r2plus1d), choice: .random(seed: 0), rgb: .modelscope, cacheDirectory: nil,
            openClips: { try VideoClipSource(path: $0, rgb: $1) })

        // First screen: open, decode frame 0, render.
        let t0 = Date()
        let app = ExplorerApp(paths: [path], width: w, height: h, caps: caps, open: open, embedding: embedding)
        app.start()
        waitForFrame(app, 0)
        _ = app.render()
        let first = Date().timeIntervalSince(t0) * 1000
        guard let frames = app.state.video?.info?.frameCount, frames > 1 else {
            Console.error("'\(path)' could not be opened for the benchmark.")
            throw ExitCode(1)
        }

        let forward = steps(app, key: .char("."), count: frames - 1)
        let backward = steps(app, key: .char(","), count: frames - 1)
        app.settle()
        var renders: [Double] = []
        for _ in 0..<50 {
            let t = Date()
            _ = app.render()
            renders.append(Date().timeIntervalSince(t) * 1000)
        }
        let cached = steps(app, key: .char("."), count: frames - 1)

        // Cold again: jump to the last frame (decodes the GOP from its keyframe, caching every
        // frame on the way), then step backwards.
        let cold = ExplorerApp(paths: [path], width: w, height: h, caps: caps, open: open, embedding: nil)
        cold.start()
        waitForFrame(cold, 0)
        let jump = steps(cold, key: .char("G"), count: 1)
        let back = steps(cold, key: .char(","), count: frames - 1)
        cold.settle()
        cold.stop()

        // While the full-size model embeds on a worker thread, keep stepping.
        _ = app.handle(.char("g"))
        app.settle()
        _ = app.handle(.char("e"))
        var during: [Double] = []
        var finished = false
        while app.state.job != nil || during.isEmpty {
            let key: Key = app.state.cursor + 1 < frames ? .char(".") : .char("g")
            during += steps(app, key: key, count: 1)
            if app.state.job == nil { finished = true }
        }
        app.settle()

        // Playback (BenchExplorePlayback.swift) in the text tiers, with and without the overlay.
        let rows = [
            playback(app, keys: []), playback(app, keys: [.char("o")]),
            playback(app, keys: [.char("o"), .char("t")]), playback(app, keys: [.char("t"), .char("t")]),
            playback(app, keys: [.char("o")]),
        ]
        // 4x asks for 100 frames a second: the row shows what is dropped and the rate reached.
        var fast = playback(app, keys: [.char(")"), .char(")")])
        fast.label += ", 4x"
        app.stop()
        // A fresh explorer, as a user who presses p at once: nothing cached, the scan running.
        let fresh = ExplorerApp(paths: [path], width: w, height: h, caps: caps, open: open, embedding: embedding)
        fresh.start()
        waitForFrame(fresh, 0)
        var coldPlay = playback(fresh, keys: [])
        coldPlay.label += ", cold cache"
        fresh.settle()
        fresh.stop()
        // Sixel: frames cached at 960 pixels wide, each encoded for the terminal as it is shown.
        let sixel = ExplorerApp(
            paths: [path], width: w, height: h,
            caps: Capabilities(colors: 256, unicode: true, truecolor: true, graphics: .sixel), open: open,
            embedding: embedding, previewWidth: 960)
        sixel.setCellPixels(.fallback)
        sixel.start()
        waitForFrame(sixel, 0)
        let sixelRows = [playback(sixel, keys: []), playback(sixel, keys: [.char("o")])]
        sixel.settle()
        sixel.stop()
        var report = Report(
            video: path, width: w, height: h, firstScreenMs: first, renderMs: Latency(renders),
            stepForwardCold: Latency(forward), stepBackward: Latency(backward), jumpToEndCold: Latency(jump),
            stepBackwardAfterJump: Latency(back), stepCached: Latency(cached),
            stepWhileEmbedding: Latency(during), embeddingFinishedDuringSteps: finished)
        report.playback = rows + [fast, coldPlay] + sixelRows
        // Picture modes: separate rows, printed after the text-mode report (JSON: a second line).
        let graphics = graphicsRows(path: path, width: w, height: h, frames: min(frames, 40))
        if json {
            print(Console.json(report, pretty: false))
            print(Console.json(["graphics": graphics], pretty: false))
        } else {
            print(Machine.description)
            print("\(path) at \(w)x\(h)")
            print(String(format: "  first screen                 %7.1f ms", first))
            let rows: [(String, Latency)] = [
                ("render only", report.renderMs), ("step forward, cold", report.stepForwardCold),
                ("step backward", report.stepBackward), ("jump to last frame, cold", report.jumpToEndCold),
                ("step backward after the jump", report.stepBackwardAfterJump), ("step, all cached", report.stepCached),
                ("step while embedding", report.stepWhileEmbedding),
            ]
            for (name, s) in rows {
                let label = name.padding(toLength: 30, withPad: " ", startingAt: 0)
                print(
                    String(
                        format: "  %@ median %7.2f ms  p95 %7.2f ms  max %7.2f ms  (%d)", label, s.medianMs, s.p95Ms,
                        s.maxMs, s.count))
            }
            printPlayback(report.playback)
            printGraphicsRows(graphics)
        }
    }

    /// Milliseconds from each key to a rendered screen that shows the new frame.
    func steps(_ app: ExplorerApp, key: Key, count: Int) -> [Double] {
        var out: [Double] = []
        for _ in 0..<count {
            let t = Date()
            app.handle(key)
            waitForFrame(app, app.state.cursor)
            _ = app.render()
            out.append(Date().timeIntervalSince(t) * 1000)
        }
        return out
    }

    func waitForFrame(_ app: ExplorerApp, _ index: Int) {
        while true {
            app.pump()
            if app.state.video?.info != nil && app.cache.contains(video: app.state.current, index: index) { return }
            app.waitForEvents(seconds: 0.001)
        }
    }
}
