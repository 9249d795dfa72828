import Common
import Foundation
import Index
import Models
import VideoData

/// Counts and rates of a batch embedding run, for the progress line and the summary.
public struct IngestTally: Sendable {
    public var total: Int
    public var embedded = 0
    public var skipped = 0
    public var failed = 0
    public var clips = 0
    /// Clips of the video being embedded.
    public var currentClips = 0
    public var clipsPerVideo: Int?
    public let start = Date()

    public init(total: Int, failed: Int = 0, clipsPerVideo: Int? = nil) {
        self.total = total
        self.failed = failed
        self.clipsPerVideo = clipsPerVideo
    }

    public var finished: Int { embedded + skipped + failed }
    public var seconds: Double { Date().timeIntervalSince(start) }
    /// Clips of finished videos per second.
    public var rate: Double { Double(clips) / max(seconds, 1e-9) }

    /// `embed 12/50 videos [#####---------------] 24% 240/1000 clips  8 clips/s  ETA 1:33`
    public func line() -> String {
        let perVideo = clipsPerVideo ?? (embedded > 0 ? max(1, clips / embedded) : 10)
        let totalClips = clips + (total - finished) * perVideo
        return progressLine(
            label: "embed \(finished)/\(total) videos", done: clips + currentClips,
            total: max(totalClips, clips + currentClips),
            elapsed: seconds, unit: "clips")
    }
}

extension IngestTally {
    /// The closing line of a run into `store`.
    public func summary(
        store: EmbeddingStore, config: BackboneConfig, weights: EmbeddingManifest.Weights, interrupted: Bool
    ) -> String {
        let label = weights.random ? "random weights, seed \(weights.seed ?? 0)" : weights.file ?? ""
        let rows = "\(store.directory): \(store.count) row\(store.count == 1 ? "" : "s") of \(store.dimension)"
        return "\(rows) (\(config.description), \(label)); "
            + "this run embedded \(embedded), skipped \(skipped) already in the store, \(failed) failed, "
            + String(format: "%.1f s, %.2f clips/s", seconds, rate)
            + (interrupted
                ? "; interrupted after \(finished) of \(total) videos: rerun the same command to resume" : "")
    }

    /// The closing JSON line's fields (`embed` adds the store as the user named it).
    public func summaryFields(store: EmbeddingStore, interrupted: Bool) -> [String: Any] {
        [
            "event": "summary", "rows": store.count, "embedded": embedded, "skipped": skipped, "failed": failed,
            "seconds": seconds, "clips_per_second": rate, "interrupted": interrupted,
        ]
    }
}

extension EmbeddingItem {
    /// One row as `embed` prints it without a store: the item's fields, the weights, the vector.
    public static func jsonLine(_ item: EmbeddingItem, _ vector: [Float], weights: EmbeddingManifest.Weights) -> String
    {
        struct Line: Encodable {
            var item: EmbeddingItem
            var weights: EmbeddingManifest.Weights
            var embedding: [Float]
            func encode(to encoder: Encoder) throws {
                try item.encode(to: encoder)
                var c = encoder.container(keyedBy: Keys.self)
                try c.encode(weights, forKey: .weights)
                try c.encode(embedding, forKey: .embedding)
            }
            enum Keys: String, CodingKey { case weights, embedding }
        }
        return Console.json(Line(item: item, weights: weights, embedding: vector), pretty: false)
    }
}

/// What happened during a batch run, in order; the command prints these.
public enum IngestEvent: Sendable {
    /// The progress line changed.
    case progress(IngestTally)
    /// A video whose content the store already holds.
    case skipped(path: String)
    /// A video embedded; `rows` as stored (ids made unique) or, without a store, to print.
    case embedded(
        path: String, rows: [(item: EmbeddingItem, vector: [Float])], clips: Int, seconds: Double, tally: IngestTally)
    /// A video that could not be embedded: one sentence naming it.
    case failed(path: String, message: String)

    /// The event as the JSON line `embed` prints when its output is not a terminal (nil for
    /// progress, which only a terminal shows).
    public var fields: [String: Any]? {
        switch self {
        case .progress: return nil
        case .skipped(let path): return ["event": "skipped", "path": path, "reason": "already in the store"]
        case .embedded(let path, let rows, let clips, let seconds, let tally):
            return [
                "event": "embedded", "path": path, "id": rows[0].item.id, "rows": rows.count, "clips": clips,
                "seconds": seconds, "done": tally.finished, "total": tally.total,
                "clips_per_second": tally.rate,
            ]
        case .failed(let path, let message): return ["event": "failed", "path": path, "error": message]
        }
    }
}

/// Embeds videos into a store one by one: skips a video whose content (SHA-256) the store
/// already holds, so an interrupted run resumes where it stopped; appends each video's rows
/// atomically; reports every step as an `IngestEvent`. Without a store the rows only go to
/// the events, with ids made unique within the run.
public struct StoreIngest {
    public let embedder: ViewEmbedder
    public let selection: ClipSelection
    public let model: String
    public let store: EmbeddingStore?
    /// Opens a video's frames or stream (the CLI passes MediaIO's sources).
    public let openers: VideoOpeners

    public init(
        embedder: ViewEmbedder, selection: ClipSelection, model: String, store: EmbeddingStore?, openers: VideoOpeners
    ) {
        self.embedder = embedder
        self.selection = selection
        self.model = model
        self.store = store
        self.openers = openers
    }

    /// The store at `directory` for a run described by `manifest`: resumed when it exists and
    /// was made the same way (model, weights, preprocessing, clips), started over when
    /// `force`, created otherwise.
    /// - Throws: `StoreError` naming the directory, e.g. when it holds another setup.
    public static func openStore(at directory: String, manifest: EmbeddingManifest, force: Bool) throws
        -> EmbeddingStore
    {
        guard FileManager.default.fileExists(atPath: directory) && !force else {
            return try EmbeddingStore.create(at: directory, manifest: manifest, replace: force)
        }
        let existing = try EmbeddingStore(opening: directory, forWriting: true)
        if let why = existing.manifest.mismatch(with: manifest) {
            throw StoreError(
                "'\(directory)' holds embeddings of another setup (this run has \(why)); use another store, or start this one over."
            )
        }
        return existing
    }

    /// Rows of the store that carry no file hash (written before resumable embedding): their
    /// videos are embedded again when given.
    public var rowsWithoutHash: Int { store?.items.filter { $0.fileSHA256 == nil }.count ?? 0 }

    /// Embeds `files` in order; `failed` counts arguments that were already found missing.
    /// Views that read the compressed stream work on `embedder.videosAtOnce` videos at once
    /// (their decoding runs on one thread a video); rows are still stored and reported in order.
    /// - Throws: `StoreError` when the store itself fails (disk full, ...): it still holds what
    ///   was committed before, and every video after would fail the same way.
    public func run(
        _ files: [VideoFile], failed: Int = 0, isCancelled: @escaping @Sendable () -> Bool,
        report: @escaping @Sendable (IngestEvent) -> Void
    ) throws -> IngestTally {
        var tally = IngestTally(total: files.count + failed, failed: failed)
        if case .modelScope(let n) = selection.rule { tally.clipsPerVideo = n }
        var seen = Set(store?.items.compactMap(\.fileSHA256) ?? [])
        var usedIDs = Set<String>()
        // What the videos already consumed make of the progress line, for the one being embedded.
        // Only a view that embeds one video at a time reports within a video: every report then
        // comes from one thread at a time.
        let progressBase = Locked(tally)
        var within: (@Sendable (EmbedProgress) -> Void)?
        if embedder.videosAtOnce == 1 {
            within = { p in
                var t = progressBase.value
                t.currentClips = p.clipsDone
                report(.progress(t))
            }
        }
        let progress = within
        let inStore = seen
        let hasStore = store != nil
        let embedder = self.embedder
        let openers = self.openers
        let selection = self.selection
        let work: @Sendable (Int) -> Prepared = { i in
            let file = files[i]
            if isCancelled() { return Prepared(hash: nil, size: nil, video: .failure(CancellationError())) }
            let size = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? NSNumber)?.intValue
            guard let hash = try? SHA256.hexDigest(ofFile: file.path) else {
                return Prepared(hash: nil, size: size, video: .failure(StoreError("'\(file.path)' could not be read.")))
            }
            if hasStore && inStore.contains(hash) { return Prepared(hash: hash, size: size, video: nil) }
            let started = Date()
            let video = Result {
                try embedder.embed(
                    file.path, openers: openers, windows: { selection.windows(frameCount: $0) },
                    progress: progress, isCancelled: isCancelled)
            }
            return Prepared(hash: hash, size: size, video: video, seconds: Date().timeIntervalSince(started))
        }
        try pipelined(count: files.count, inFlight: embedder.videosAtOnce, work: work) { i, prepared in
            let file = files[i]
            let path = URL(fileURLWithPath: file.path).standardizedFileURL.path
            do {
                if let hash = prepared.hash, store != nil && seen.contains(hash) {
                    tally.skipped += 1
                    report(.skipped(path: path))
                    return true
                }
                let video = try prepared.video!.get()
                let windows = video.windows
                var name = file.id
                if store == nil {
                    name = EmbeddingStore.uniqueID(name, avoiding: usedIDs)
                    usedIDs.insert(name)
                }
                var rows = selection.rows(
                    name: name, path: path, windows: windows, vectors: video.vectors, frameCount: video.frameCount,
                    fps: video.fps, model: model)
                for r in rows.indices {
                    rows[r].item.fileSize = prepared.size
                    rows[r].item.fileSHA256 = prepared.hash
                }
                if let store {
                    let stored = try Self.append(rows, to: store)
                    rows = Array(zip(stored, rows.map(\.vector)))
                }
                seen.insert(prepared.hash!)
                tally.embedded += 1
                tally.clips += windows.count
                progressBase.value = tally
                report(.embedded(path: path, rows: rows, clips: windows.count, seconds: prepared.seconds, tally: tally))
                report(.progress(tally))
                return true
            } catch is CancellationError {
                return false
            } catch let error as StoreAppendError {
                throw error.underlying
            } catch {
                tally.failed += 1
                progressBase.value = tally
                report(
                    .failed(
                        path: path,
                        message: (error as? SentenceError)?.description
                            ?? "'\(file.path)' could not be embedded: \(error)."))
                return true
            }
        }
        return tally
    }

    /// A video's hash and size, and its vectors (nil when the store already holds it).
    private struct Prepared: Sendable {
        var hash: String?
        var size: Int?
        var video: Result<ViewEmbedder.Embedded, Error>?
        var seconds = 0.0
    }

    /// A failure of the store itself, kept apart from a failure of one video.
    private struct StoreAppendError: Error { var underlying: Error }

    private static func append(_ rows: [(item: EmbeddingItem, vector: [Float])], to store: EmbeddingStore) throws
        -> [EmbeddingItem]
    {
        do { return try store.append(vectors: rows.map(\.vector), items: rows.map(\.item)) } catch {
            throw StoreAppendError(underlying: error)
        }
    }
}
