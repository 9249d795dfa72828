import Common
import Embed
import Foundation
import Index
import MediaIO
import Models
import TestSupport
import Testing
import VideoData

/// Events of one ingest run, collected from whichever thread reports them.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [IngestEvent] = []
    func add(_ e: IngestEvent) { lock.withLock { events.append(e) } }
    var all: [IngestEvent] { lock.withLock { events } }
    var embedded: [String] {
        all.compactMap { if case .embedded(let p, _, _, _, _) = $0 { return p } else { return nil } }
    }
    var skipped: [String] { all.compactMap { if case .skipped(let p) = $0 { return p } else { return nil } } }
    var failed: [String] { all.compactMap { if case .failed(_, let m) = $0 { return m } else { return nil } } }
}

@Suite("StoreIngest: embed's batch loop (resume, de-duplication, failures, ids), ModelWeights.resolve, the clip cache")
struct StoreIngestTests {
    static func ingest(store: EmbeddingStore?) throws -> StoreIngest {
        let cfg = try BackboneConfig(.r2plus1d).applying(overrides: "planes=6,8,12,16 stem=10")
        let embedder = VideoEmbedder(
            model: try Backbone(config: cfg, seed: 7), preprocessing: Preprocessing(shortSide: 64, crop: 56),
            forwardWorkers: 2)
        let selection = ClipSelection(rule: .modelScope(clips: 2), frames: 8, stride: 4, perClip: false)
        return StoreIngest(
            embedder: ViewEmbedder(view: .video("pooled"), kind: .video(embedder), rgb: .accurate),
            selection: selection, model: cfg.modelID, store: store,
            openers: VideoOpeners(
                clips: { try VideoClipSource(path: $0, rgb: $1) }, stream: { try MotionVideoSource(path: $0, rgb: $1) })
        )
    }

    static func manifest(dimension: Int) -> EmbeddingManifest {
        EmbeddingManifest(
            model: "r2p1d-26", config: "test", weights: .init(file: nil, sha256: nil, random: true, seed: 7),
            preprocessing: Preprocessing(shortSide: 64, crop: 56),
            sampling: ClipSelection(rule: .modelScope(clips: 2), frames: 8, stride: 4, perClip: false).manifestSampling,
            dimension: dimension, count: 0, rgb: .accurate)
    }

    @Test(
        "a rerun skips what the store holds; a copy of a file is skipped too; a bad file is one sentence and the rest go on"
    )
    func resumeAndFailures() throws {
        let dir = Paths.temporaryDirectory("ingest")
        let video = Paths.asset("videos/tears_320x240.mp4")
        try FileManager.default.createDirectory(atPath: dir + "/videos", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: video, toPath: dir + "/videos/a.mp4")
        try FileManager.default.copyItem(atPath: video, toPath: dir + "/videos/b.mp4")
        try Data("not a video".utf8).write(to: URL(fileURLWithPath: dir + "/videos/c.mp4"))
        let files = VideoFiles.collect([dir + "/videos"]).files
        #expect(files.map(\.id) == ["a", "b", "c"])

        let first = try Self.ingest(store: nil)
        do {
            // In its own scope: the store's writer lock goes with it.
            let store = try StoreIngest.openStore(
                at: dir + "/store", manifest: Self.manifest(dimension: first.embedder.dimension), force: false)
            let log = EventLog()
            let tally = try Self.ingest(store: store).run(files, isCancelled: { false }) { log.add($0) }
            // b.mp4 has a.mp4's content: embedded once.
            #expect(tally.embedded == 1 && tally.skipped == 1 && tally.failed == 1 && tally.total == 3)
            #expect(log.embedded.count == 1 && log.skipped.count == 1)
            #expect(log.failed.count == 1 && log.failed[0].contains("c.mp4"))
            #expect(store.count == 1)
        }

        let again = EventLog()
        let reopened = try StoreIngest.openStore(
            at: dir + "/store", manifest: Self.manifest(dimension: first.embedder.dimension), force: false)
        let second = try Self.ingest(store: reopened).run(Array(files.prefix(2)), isCancelled: { false }) {
            again.add($0)
        }
        #expect(second.embedded == 0 && second.skipped == 2 && reopened.count == 1)
        _ = consume reopened

        // Another setup in the same store is refused with one sentence naming it.
        var other = Self.manifest(dimension: first.embedder.dimension)
        other.weights = .init(file: nil, sha256: nil, random: true, seed: 8)
        let refused = #expect(throws: StoreError.self) {
            try StoreIngest.openStore(at: dir + "/store", manifest: other, force: false)
        }
        #expect(
            refused?.description.contains("holds embeddings of another setup") == true, "\(String(describing: refused))"
        )
        // With force the store starts over: the other setup, no rows.
        let restarted = try StoreIngest.openStore(at: dir + "/store", manifest: other, force: true)
        #expect(restarted.count == 0 && restarted.manifest.weights.seed == 8)
    }

    @Test("a store that refuses an append ends the run with its one-sentence error; no video after it is embedded")
    func failingStore() throws {
        let dir = Paths.temporaryDirectory("ingest-failing-store")
        let video = Paths.asset("videos/tears_320x240.mp4")
        let files = [
            VideoFile(path: video, id: "a", shardKey: video),
            VideoFile(path: Paths.asset("videos/friday_480p.mp4"), id: "b", shardKey: video),
        ]
        let probe = try Self.ingest(store: nil)
        // A store of another model: every append is refused, as a full disk would refuse it.
        var manifest = Self.manifest(dimension: probe.embedder.dimension)
        manifest.model = "c3d"
        let store = try EmbeddingStore.create(at: dir + "/store", manifest: manifest, replace: true)
        let log = EventLog()
        let error = #expect(throws: StoreError.self) {
            try Self.ingest(store: store).run(files, isCancelled: { false }) { log.add($0) }
        }
        #expect(error?.description.contains("holds c3d embeddings") == true, "\(String(describing: error))")
        #expect(log.embedded.isEmpty && log.failed.isEmpty && store.count == 0)
    }

    @Test("without a store the rows go to the events, ids made unique; cancellation stops before the next video")
    func noStoreAndCancel() throws {
        let video = Paths.asset("videos/tears_320x240.mp4")
        let files = [
            VideoFile(path: video, id: "tears", shardKey: video), VideoFile(path: video, id: "tears", shardKey: video),
        ]
        let log = EventLog()
        let tally = try Self.ingest(store: nil).run(files, isCancelled: { false }) { log.add($0) }
        #expect(tally.embedded == 2)
        let ids = log.all.compactMap { e -> String? in
            if case .embedded(_, let rows, _, _, _) = e { return rows[0].item.id } else { return nil }
        }
        #expect(ids == ["tears", "tears_2"])

        let stopped = try Self.ingest(store: nil).run(files, isCancelled: { true }) { _ in }
        #expect(stopped.embedded == 0 && stopped.finished == 0)
    }

    @Test("weights policy: a given file (made absolute), then random, then the shipped weights with their view")
    func resolve() throws {
        let file = try ModelWeights.resolve(
            model: "r2p1d-26", config: "", weights: "w.safetensors", prefix: "p.", randomSeed: nil)
        #expect(file.choice == .file(FileManager.default.currentDirectoryPath + "/w.safetensors", prefix: "p."))
        let random = try ModelWeights.resolve(model: "c3d", config: "", weights: nil, prefix: nil, randomSeed: 3)
        #expect(random.choice == .random(seed: 3) && random.config.modelID == "c3d" && random.view == "pooled")
        // The checkout's weights/default.json (the test runs inside it): its config and view.
        let shipped = try ModelWeights.resolve(
            model: "r2p1d-26", config: "", weights: nil, prefix: nil, randomSeed: nil)
        let card = try #require(DefaultModel.find(in: Resources.searchDirectories))
        #expect(shipped.choice == .file(card.path, prefix: nil) && shipped.view == card.model.view)
        #expect(shipped.config == (try card.model.backboneConfig()))
        // Overrides have no shipped weights: weights/<model>.safetensors is searched.
        let narrow = try ModelWeights.resolve(
            model: "r2p1d-26", config: "planes=6,8,12,16 stem=10", weights: nil, prefix: nil, randomSeed: nil)
        #expect(narrow.choice == .defaultFile(directories: Resources.searchDirectories))
        #expect(throws: (any Error).self) {
            try ModelWeights.resolve(model: "r9d", config: "", weights: nil, prefix: nil, randomSeed: nil)
        }
    }

    @Test(
        "RGB conversion per model: the model card's, accurate for an older card, ModelScope's without one or for random weights"
    )
    func conversions() throws {
        let dir = Paths.temporaryDirectory("rgb-cards")
        let bare = dir + "/converted.safetensors"
        #expect(ModelWeights.conversion(forWeights: bare) == .modelscope)
        try #"{"setup": {}, "rgb": "modelscope"}"#.write(toFile: dir + "/mine.json", atomically: true, encoding: .utf8)
        #expect(ModelWeights.conversion(forWeights: dir + "/mine.safetensors") == .modelscope)
        try #"{"setup": {}}"#.write(toFile: dir + "/older.json", atomically: true, encoding: .utf8)
        #expect(ModelWeights.conversion(forWeights: dir + "/older.safetensors") == .accurate)
        // A JSON beside the weights that is not a model card says nothing.
        try #"{"rgb": "accurate"}"#.write(toFile: dir + "/other.json", atomically: true, encoding: .utf8)
        #expect(ModelWeights.conversion(forWeights: dir + "/other.safetensors") == .modelscope)

        let random = try ModelWeights.resolve(model: "r2p1d-26", config: "", weights: nil, prefix: nil, randomSeed: 1)
        #expect(random.rgb == .modelscope)
        let forced = try ModelWeights.resolve(
            model: "r2p1d-26", config: "", weights: nil, prefix: nil, randomSeed: 1, rgb: .accurate)
        #expect(forced.rgb == .accurate)
        // The shipped weights were trained on accurately converted frames, and their card says so.
        let shipped = try ModelWeights.resolve(
            model: "r2p1d-26", config: "", weights: nil, prefix: nil, randomSeed: nil)
        #expect(shipped.rgb == .accurate)
        let card = try #require(DefaultModel.find(in: Resources.searchDirectories))
        #expect(card.model.rgb == .accurate && ModelWeights.conversion(forWeights: card.path) == .accurate)
    }

    @Test("the clip cache reads back what it wrote; another window, a changed file or a cut file is a miss")
    func clipCache() throws {
        let dir = Paths.temporaryDirectory("clip-cache")
        let video = dir + "/v.mp4"
        try FileManager.default.copyItem(atPath: Paths.asset("videos/tears_320x240.mp4"), toPath: video)
        let cache = ClipEmbeddingCache(directory: dir + "/cache")
        let cfg = BackboneConfig(.r2plus1d)
        let window = ClipWindow(start: 0, frames: 16, stride: 4)
        let key = try #require(
            ClipEmbeddingCache.key(
                config: cfg, view: "pooled", weights: "w", rgb: .accurate, path: video, window: window, still: 3))
        #expect(cache.read(key) == nil)
        cache.write(key, clip: [1, 2, 3], still: [4, 5, 6])
        let hit = try #require(cache.read(key))
        #expect(hit.clip == [1, 2, 3] && hit.still == [4, 5, 6])
        let noStill = try #require(
            ClipEmbeddingCache.key(
                config: cfg, view: "pooled", weights: "w", rgb: .accurate, path: video, window: window, still: nil))
        cache.write(noStill, clip: [7], still: nil)
        #expect(cache.read(noStill)?.still == nil && cache.read(noStill)?.clip == [7])
        let other = ClipEmbeddingCache.key(
            config: cfg, view: "pooled", weights: "w", rgb: .accurate, path: video,
            window: ClipWindow(start: 4, frames: 16, stride: 4),
            still: 3)
        #expect(other != key && cache.read(other!) == nil)
        // A file cut short reads as a miss, never as a short vector.
        let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/cache").filter { $0.hasSuffix(".clip") }
        for f in files {
            let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/cache/" + f))
            try data.prefix(data.count - 2).write(to: URL(fileURLWithPath: dir + "/cache/" + f))
        }
        #expect(cache.read(key) == nil)
        // The file's modification time is part of the key.
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1)], ofItemAtPath: video)
        #expect(
            ClipEmbeddingCache.key(
                config: cfg, view: "pooled", weights: "w", rgb: .accurate, path: video, window: window, still: 3)
                != key)
        #expect(
            ClipEmbeddingCache.key(
                config: cfg, view: "pooled", weights: "w", rgb: .accurate, path: dir + "/none.mp4", window: window,
                still: 3) == nil)
    }
}
