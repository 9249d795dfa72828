import Common
import Embed
import Foundation
import MediaIO
import Models
import TestSupport
import Testing
import VideoData

/// A record of progress callbacks from worker threads.
final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [EmbedProgress] = []
    func add(_ p: EmbedProgress) { lock.withLock { events.append(p) } }
    var all: [EmbedProgress] { lock.withLock { events } }
}

@Suite("VideoEmbedder: workers, progress, cancellation, stills, rows")
struct VideoEmbedderTests {
    /// A narrow random model and small crops keep these fast in debug builds.
    static func embedder(workers: Int) throws -> VideoEmbedder {
        let cfg = try BackboneConfig(.r2plus1d).applying(overrides: "planes=6,8,12,16 stem=10")
        return VideoEmbedder(
            model: try Backbone(config: cfg, seed: 7), preprocessing: Preprocessing(shortSide: 64, crop: 56),
            forwardWorkers: workers)
    }

    static let video = Paths.asset("videos/tears_320x240.mp4")

    @Test("one worker or two, the vectors agree (to float rounding: thread counts change GEMM sums), in window order")
    func workersAgree() throws {
        let windows = ClipSampler.modelScope(frameCount: 240, clips: 5, frames: 8, stride: 4)
        let one = try Self.embedder(workers: 1).embed(windows, from: try VideoClipSource(path: Self.video))
        let two = try Self.embedder(workers: 2).embed(windows, from: try VideoClipSource(path: Self.video))
        #expect(one.count == 5 && one.allSatisfy { $0.count == 64 })
        for (a, b) in zip(one, two) {
            let scale = a.map { abs($0) }.max()!
            #expect(zip(a, b).map { abs($0 - $1) }.max()! <= 1e-5 * scale)
        }
        // Different clips give different vectors (the order is not scrambled or repeated).
        #expect(Set(one.map { $0.map(\.bitPattern) }).count == 5)
        // The same clip alone (one forward, all cores, as with one worker) gives the same vector.
        let third = try Self.embedder(workers: 2).embed([windows[2]], from: try VideoClipSource(path: Self.video))
        #expect(third[0] == one[2])
    }

    @Test("progress counts up to every clip and every frame; cancelling stops early with CancellationError")
    func progressAndCancel() throws {
        let embedder = try Self.embedder(workers: 2)
        let windows = ClipSampler.modelScope(frameCount: 240, clips: 6, frames: 8, stride: 4)
        let log = ProgressLog()
        _ = try embedder.embed(windows, from: try VideoClipSource(path: Self.video), progress: { log.add($0) })
        let events = log.all
        #expect(events.last?.clipsDone == 6 && events.last?.clipsTotal == 6)
        #expect(events.last?.framesDecoded == events.last?.framesTotal)
        #expect(
            zip(events, events.dropFirst()).allSatisfy {
                $0.clipsDone <= $1.clipsDone && $0.framesDecoded <= $1.framesDecoded
            })

        // Cancel once the first clip is done: the call throws and fewer clips ran.
        let cancelLog = ProgressLog()
        #expect(throws: CancellationError.self) {
            try embedder.embed(
                windows, from: try VideoClipSource(path: Self.video), progress: { cancelLog.add($0) },
                isCancelled: { cancelLog.all.contains { $0.clipsDone >= 1 } })
        }
        #expect((cancelLog.all.map(\.clipsDone).max() ?? 0) < 6)
        // Cancelled before anything: no clip runs.
        let none = ProgressLog()
        #expect(throws: CancellationError.self) {
            try embedder.embed(
                windows, from: try VideoClipSource(path: Self.video), progress: { none.add($0) }, isCancelled: { true })
        }
        #expect(none.all.allSatisfy { $0.clipsDone == 0 })
    }

    @Test("a still is the clip of one frame repeated; scene reliance compares a clip with its keyframe's still")
    func stillsAndSceneReliance() throws {
        let embedder = try Self.embedder(workers: 2)
        let source = try VideoClipSource(path: Self.video)
        let frame = try source.frames(at: [40])[0]
        let still = try embedder.embedStill(frame, frames: 8)
        let repeated = try embedder.embed(
            [ClipWindow(start: 0, frames: 8, stride: 1)],
            from: ImageClipSource(images: Array(repeating: frame, count: 8)))[0]
        #expect(still == repeated)
        let window = ClipWindow(start: 40, frames: 8, stride: 4)
        let r = try embedder.sceneReliance(of: window, from: source, keyframe: frame)
        #expect(r.still == still)
        #expect(r.clip == (try embedder.embed([window], from: try VideoClipSource(path: Self.video)))[0])
        #expect(r.cosine == cosine(r.clip, r.still))
        #expect(r.cosine > -1.0001 && r.cosine < 1.0001)
        #expect(cosine(still, still) > 0.9999)
    }

    @Test("a video shorter than one clip: every clip starts at 0 and missing frames are frame 0, so all clips agree")
    func shortVideo() throws {
        let path = try TestVideos.testsrc(width: 160, height: 120, bFrames: true, gop: 12, frames: 30)
        let source = try VideoClipSource(path: path)
        #expect(source.frameCount == 30)
        let windows = ClipSampler.modelScope(frameCount: 30, clips: 4, frames: 16, stride: 4)
        #expect(windows.allSatisfy { $0.start == 0 })
        #expect(windows[0].indices(frameCount: 30) == [0, 4, 8, 12, 16, 20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0])
        let clips = try Self.embedder(workers: 2).embed(windows, from: source)
        #expect(clips.allSatisfy { $0 == clips[0] })
        #expect(VideoEmbedder.meanOverClips(clips) == clips[0])
    }

    @Test("mean over clips, and rows with frame and time ranges")
    func rows() {
        #expect(VideoEmbedder.meanOverClips([[1, 2], [3, 6], [2, 1]]) == [2, 3])
        let windows = [ClipWindow(start: 8), ClipWindow(start: 170)]
        let perClip = ClipSelection(perClip: true).rows(
            name: "tears", path: "t.mp4", windows: windows, vectors: [[1], [3]], frameCount: 240, fps: 24,
            model: "r2p1d-26")
        #expect(perClip.map(\.item.id) == ["tears@8", "tears@170"])
        #expect(
            perClip[1].item.startFrame == 170 && perClip[1].item.endFrame == 231
                && perClip[1].item.endSeconds == 231.0 / 24)
        let mean = ClipSelection().rows(
            name: "tears", path: "t.mp4", windows: windows, vectors: [[1], [3]], frameCount: 240, fps: 24,
            model: "r2p1d-26")
        #expect(mean.count == 1 && mean[0].vector == [2] && mean[0].item.clips == 2)
        #expect(mean[0].item.startFrame == 8 && mean[0].item.endFrame == 231)
        #expect(ClipSelection.names(for: ["a/x.mp4", "b/x.mp4", "c/y.mkv", "x.mov"]) == ["x", "x_2", "y", "x_3"])
    }

    @Test("SHA-256 matches sha256sum and the FIPS example")
    func sha256() throws {
        var h = SHA256()
        h.update(Data("abc".utf8))
        #expect(h.hexDigest() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var split = SHA256()
        let text = Data(String(repeating: "0123456789abcdef", count: 20).utf8)
        split.update(text.prefix(7))
        split.update(text.dropFirst(7).prefix(100))
        split.update(text.dropFirst(107))
        var whole = SHA256()
        whole.update(text)
        #expect(split.hexDigest() == whole.hexDigest())
        let path = Paths.asset("fixtures/checkpoints/r2p1d_narrow.pt")
        #expect(try SHA256.hexDigest(ofFile: path) == (try FixtureFiles.sha256(path)))
    }

    @Test("a store is embeddings.npy + items.jsonl + manifest.json, written whole or not at all")
    func storeFiles() throws {
        let dir = Paths.temporaryDirectory("store") + "/store"
        let items = [
            EmbeddingItem(
                id: "a", path: "a.mp4", startFrame: 0, endFrame: 61, startSeconds: 0, endSeconds: 2.44,
                model: "r2p1d-26", clips: 10),
            EmbeddingItem(
                id: "b", path: "b.mp4", startFrame: 3, endFrame: 128, startSeconds: 0.12, endSeconds: 5.12,
                model: "r2p1d-26", clips: 10),
        ]
        let manifest = EmbeddingManifest(
            model: "r2p1d-26", config: "r2p1d-26", weights: .init(file: nil, sha256: nil, random: true, seed: 3),
            preprocessing: .modelScope, sampling: ClipSelection().manifestSampling, dimension: 3, count: 2,
            rgb: .modelscope)
        try EmbeddingStoreWriter.write(to: dir, vectors: [[1, 2, 3], [-1, 0.5, 4]], items: items, manifest: manifest)
        let npy = try FixtureFiles.readFloat32NPY(dir + "/embeddings.npy")
        #expect(npy.shape == [2, 3] && npy.values == [1, 2, 3, -1, 0.5, 4])
        let lines = try String(contentsOfFile: dir + "/items.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any]
        #expect(
            first["id"] as? String == "a" && first["end_frame"] as? Int == 61 && first["model"] as? String == "r2p1d-26"
        )
        let m =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/manifest.json")))
            as! [String: Any]
        #expect(m["dimension"] as? Int == 3 && m["count"] as? Int == 2)
        #expect((m["weights"] as? [String: Any])?["random"] as? Bool == true)
        #expect((m["preprocessing"] as? [String: Any])?["short_side"] as? Int == 128)
        // An existing store is kept unless replacing is asked for; nothing partial is left.
        #expect(throws: EmbeddingStoreWriter.WriteError.self) {
            try EmbeddingStoreWriter.write(to: dir, vectors: [[0, 0, 0]], items: [items[0]], manifest: manifest)
        }
        try EmbeddingStoreWriter.write(
            to: dir, vectors: [[0, 0, 0]], items: [items[0]], manifest: manifest, replace: true)
        #expect(try FixtureFiles.readFloat32NPY(dir + "/embeddings.npy").shape == [1, 3])
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: (dir as NSString).deletingLastPathComponent)
        #expect(leftovers == ["store"])
    }
}
