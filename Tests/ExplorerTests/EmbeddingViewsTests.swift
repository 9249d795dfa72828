import Embed
import Explorer
import Foundation
import MediaIO
import Models
import TestSupport
import Testing
import VideoData

/// The multi-view plumbing in process, on real videos: `ModelEmbedding` with extra views that
/// are real functions of the decoded clip (the descriptor views), the per-view cache, and the
/// worker posting each view as it finishes.
@Suite("Embedding views through the worker", .serialized)
struct EmbeddingViewsTests {
    static let tears = Paths.asset("videos/tears_320x240.mp4")

    static func model(cache: String?, extra: [ExtraView]? = nil) throws -> ModelEmbedding {
        ModelEmbedding(
            config: try BackboneConfig(.r2plus1d).applying(overrides: "planes=8,8,16,16 stem=8"),
            choice: .random(seed: 3), rgb: .modelscope, cacheDirectory: cache,
            extraViews: extra ?? DescriptorViews.make { try MotionVideoSource(path: $0) }
        ) { try VideoClipSource(path: $0, rgb: $1) }
    }

    static func app(_ paths: [String], _ embedding: ClipEmbedding) -> ExplorerApp {
        ExplorerApp(
            paths: paths, width: 120, height: 40, caps: Capabilities(colors: 256, unicode: true),
            open: { try VideoReader(path: $0) }, embedding: embedding)
    }

    /// Holds the video view until `open()`: the test looks at the screen while it waits.
    final class Gated: ClipEmbedding, @unchecked Sendable {
        let inner: ClipEmbedding
        let gate = DispatchSemaphore(value: 0)
        init(_ inner: ClipEmbedding) { self.inner = inner }
        var summary: String { inner.summary }
        var views: [String] { inner.views }
        func open() { gate.signal() }
        func embed(
            path: String, window: ClipWindow, view: String, still: Int?,
            isCancelled: @escaping @Sendable () -> Bool
        ) throws -> (clip: [Float], still: [Float]?) {
            if view == ModelEmbedding.videoView {
                gate.wait()
                gate.signal()
            }
            return try inner.embed(path: path, window: window, view: view, still: still, isCancelled: isCancelled)
        }
    }

    /// Pumps the app's events until `done` holds (or fails after a deadline).
    static func pump(_ app: ExplorerApp, until done: (ExplorerState) -> Bool) {
        let deadline = Date().addingTimeInterval(120)
        while !done(app.state) && Date() < deadline {
            app.pump()
            app.waitForEvents(seconds: 0.02)
        }
        #expect(done(app.state), "timed out: \(app.state.status ?? "")")
    }

    @Test("the views in order, each a real function of the clip; the cache keys each view apart")
    func viewsAndCache() throws {
        let cache = Paths.temporaryDirectory("views-cache")
        let counted = ExtraView(name: "uncached", cacheIdentity: nil) { path, window in
            // A real vector too: the clip's colour histogram, not a constant.
            let source = try MotionVideoSource(path: path)
            return Descriptors.colorHistogram(try source.fetch(rgb: [window.start], motion: [], cellSize: 4).images[0])
        }
        let extra = DescriptorViews.make { try MotionVideoSource(path: $0) } + [counted]
        let model = try Self.model(cache: cache, extra: extra)
        #expect(model.views == ["scene", "motion", "uncached", "video"])
        let window = ClipWindow(start: 0, frames: 16, stride: 4)
        var out: [String: (clip: [Float], still: [Float]?)] = [:]
        for v in model.views {
            out[v] = try model.embed(path: Self.tears, window: window, view: v, still: 0) { false }
        }
        let scene = try #require(out["scene"]).clip
        let motion = try #require(out["motion"]).clip
        #expect(scene.count == 512 && abs(scene.reduce(0, +) - 1) < 1e-4)
        #expect(motion.count == 33 && abs(motion.reduce(0, +) - 1) < 1e-4)
        // The film moves: not every block is still.
        #expect(motion[32] < 0.99)
        #expect(out["scene"]?.still == nil && out["motion"]?.still == nil)
        let video = try #require(out["video"])
        #expect(video.clip.contains { $0 != 0 } && video.still != nil)
        // One file per cached view: scene, motion and video, not the uncached one.
        let files = { try FileManager.default.contentsOfDirectory(atPath: cache).filter { $0.hasSuffix(".clip") } }
        #expect(try files().count == 3)
        // A second model reads them back; each view gets its own vector, never another's.
        let again = try Self.model(cache: cache)
        for v in ["scene", "motion", "video"] {
            let hit = try again.embed(path: Self.tears, window: window, view: v, still: 0) { false }
            #expect(hit.clip == out[v]?.clip, "\(v)")
        }
        #expect(try files().count == 3)
        #expect(throws: (any Error).self) {
            try again.embed(path: Self.tears, window: window, view: "nope", still: nil) { false }
        }
    }

    @Test("scene and motion are shown while the video view still runs; then the video view arrives")
    func cheapViewsFirst() throws {
        let gated = Gated(try Self.model(cache: nil))
        let app = Self.app([Self.tears], gated)
        app.start()
        app.settle()
        app.handle(.char("e"))
        // The worker is held in the video view, after the scene and motion views were posted.
        Self.pump(app) { $0.job?.view == "video" }
        let clip = try #require(app.state.embedded.first)
        #expect(app.state.status(of: clip, in: "video") == .computing)
        #expect(app.state.job?.view == "video")
        let screen = app.render().plainText
        #expect(screen.contains("views (v): [scene] motion video"), "\(screen)")
        #expect(screen.contains("embedding clip 1/1: video"))
        gated.open()
        app.settle()
        let done = try #require(app.state.embedded.first)
        #expect(app.state.status(of: done, in: "video") == .ready)
        #expect(done.sceneReliance["video"] != nil)
        #expect(app.state.status == "Embedded 1 clip")
        app.stop()
    }

    @Test("cancelling during the video view stops the job; the views computed stay")
    func cancelling() throws {
        let gated = Gated(try Self.model(cache: nil))
        let app = Self.app([Self.tears], gated)
        app.start()
        app.settle()
        let first = ClipRef(video: 0, start: 0, length: 16, stride: 4)
        let second = ClipRef(video: 0, start: 100, length: 16, stride: 4)
        app.handle(.char(" "))
        for _ in 0..<100 { app.handle(.char(".")) }
        app.handle(.char(" "))
        #expect(app.state.marked == [first, second])
        app.handle(.char("e"))
        Self.pump(app) { $0.job?.view == "video" && $0.embedded.first?.vectors["motion"] != nil }
        app.handle(.char("c"))
        gated.open()
        app.settle()
        #expect(app.state.job == nil)
        #expect(app.state.status?.hasPrefix("Embedding cancelled") == true, "\(app.state.status ?? "")")
        // The second clip never started; the first keeps its scene and motion.
        #expect(app.state.embedded.map(\.clip) == [first])
        #expect(app.state.embedded[0].vectors["scene"] != nil && app.state.embedded[0].vectors["motion"] != nil)
        #expect(app.state.marked == [second])
        app.stop()
    }

    @Test("a video without motion vectors: the motion view fails in one sentence, scene and video go on")
    func viewError() throws {
        let mjpeg = try TestVideos.generated("explore_views_mjpeg.avi") { out in
            try runChecked(
                "ffmpeg",
                [
                    "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-frames:v", "80",
                    "-c:v", "mjpeg", out,
                ])
        }
        let app = Self.app([mjpeg], try Self.model(cache: nil))
        let screen = app.runBatch(keys: try Key.parse(script: "e<wait>v").get())
        let clip = try #require(app.state.embedded.first)
        #expect(
            app.state.status(of: clip, in: "motion")
                == .failed("'explore_views_mjpeg.avi' has no motion vectors in frames 0-60 (intra-only)."))
        #expect(app.state.status(of: clip, in: "scene") == .ready)
        #expect(app.state.status(of: clip, in: "video") == .ready)
        #expect(screen.plainText.contains("views (v): scene [motion] video"))
        #expect(screen.plainText.contains("✗ 'explore_views_mjpeg.avi' has"), "\(screen.plainText)")
    }
}
