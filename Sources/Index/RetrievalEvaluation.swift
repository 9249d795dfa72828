import Foundation

/// The result of a retrieval evaluation (docs/method.md §9).
public struct RetrievalReport: Codable, Sendable, Equatable {
    /// Recall at one k: the share of queries with a gallery video of their class among their
    /// k nearest.
    public struct Recall: Codable, Sendable, Equatable {
        public var k: Int
        public var recall: Double

        public init(k: Int, recall: Double) {
            self.k = k
            self.recall = recall
        }
    }

    public var querySplit: String
    public var gallerySplit: String
    public var queries: Int
    public var gallery: Int
    /// Classes among the queries.
    public var classes: Int
    public var recalls: [Recall]
    /// 1-nearest-neighbour classification accuracy: the nearest gallery video's class is the
    /// query's (equal to recall at 1 by definition).
    public var nearestNeighbourAccuracy: Double
    /// The same, averaged per query class first (differs from it when classes are unbalanced).
    public var classBalancedAccuracy: Double
    /// The same for each query class: which classes a method finds and which it misses.
    /// Optional so that reports written before it existed still decode.
    public var perClassAccuracy: [String: Double]?
    /// Label lines that matched no video of the store (skipped).
    public var unmatchedLabels: Int
    /// Videos of the store with no label line (skipped).
    public var unlabelledVideos: Int

    /// Recall at `k`, when it was computed.
    public func recall(at k: Int) -> Double? { recalls.first { $0.k == k }?.recall }

    enum CodingKeys: String, CodingKey {
        case querySplit = "query_split"
        case gallerySplit = "gallery_split"
        case queries, gallery, classes, recalls
        case nearestNeighbourAccuracy = "nn_accuracy"
        case classBalancedAccuracy = "class_balanced_nn_accuracy"
        case perClassAccuracy = "per_class_nn_accuracy"
        case unmatchedLabels = "unmatched_labels"
        case unlabelledVideos = "unlabelled_videos"
    }
}

/// A labelled vector for the pure evaluation.
public struct LabelledVector: Sendable, Equatable {
    public var vector: [Float]
    public var label: String
    public init(vector: [Float], label: String) {
        self.vector = vector
        self.label = label
    }
}

/// Retrieval as in the CMD paper (docs/method.md §9, the VCOP protocol): videos of one split are
/// queries, videos of the other the gallery; one vector per video (the mean of its clips);
/// cosine similarity; a query is a hit at k when a gallery video of its class is among its k
/// nearest; recall at k for k = 1, 5, 10, 20, 50. Ties in similarity go to the earlier gallery
/// video. A k larger than the gallery counts the whole gallery.
///
/// ```swift
/// let store = try EmbeddingStore(opening: "store")
/// let labels = try RetrievalLabels(contentsOf: "synth/labels.csv")
/// let report = try RetrievalEvaluation.evaluate(store: store, labels: labels,
///                                               querySplit: "out-of-context", gallerySplit: "in-context")
/// report.recall(at: 1)
/// ```
public enum RetrievalEvaluation {
    public static let defaultKs = [1, 5, 10, 20, 50]

    /// Evaluates a store against labels. Label lines are matched to the store's videos by
    /// path (resolved against the labels file's directory, standardised, symbolic links
    /// resolved), else by item id or video id (the id before `@`).
    /// - Throws: `StoreError` when the store cannot be read, or when no labelled video of the
    ///   query or gallery split is in the store (naming the splits that are present).
    public static func evaluate(
        store: EmbeddingStore, labels: RetrievalLabels, querySplit: String = "test", gallerySplit: String = "train",
        ks: [Int] = defaultKs
    ) throws -> RetrievalReport {
        let videos = VideoVector.videos(of: store.items, matrix: try store.readMatrix(), dimension: store.dimension)
        var byPath: [String: Int] = [:]
        var byID: [String: Int] = [:]
        for (v, video) in videos.enumerated() {
            byPath[video.path] = v
            for r in video.rows {
                byID[store.items[r].id] = byID[store.items[r].id] ?? v
                byID[store.items[r].videoID] = byID[store.items[r].videoID] ?? v
            }
        }
        var queries: [LabelledVector] = []
        var gallery: [LabelledVector] = []
        var labelled: [Int: RetrievalLabels.Entry] = [:]
        var unmatched = 0
        for entry in labels.entries {
            let match =
                entry.path.flatMap { byPath[URL(fileURLWithPath: $0).resolvingSymlinksInPath().path] }
                ?? byID[entry.key]
            guard let v = match else {
                unmatched += 1
                continue
            }
            if let earlier = labelled[v] {
                if earlier.label != entry.label || earlier.split != entry.split {
                    throw StoreError(
                        "'\(labels.file)' lines \(earlier.line) and \(entry.line) label the same video differently.")
                }
                continue
            }
            labelled[v] = entry
            if entry.split == querySplit {
                queries.append(LabelledVector(vector: videos[v].vector, label: entry.label))
            }
            if entry.split == gallerySplit {
                gallery.append(LabelledVector(vector: videos[v].vector, label: entry.label))
            }
        }
        for (name, split, list) in [("query", querySplit, queries), ("gallery", gallerySplit, gallery)]
        where list.isEmpty {
            throw StoreError(
                "'\(labels.file)' labels no video of the \(name) split \"\(split)\" that is in '\(store.directory)' (splits in the file: \(labels.splits.joined(separator: ", ")); \(labelled.count) of its \(labels.entries.count) lines match the store)."
            )
        }
        var report = evaluate(queries: queries, gallery: gallery, ks: ks)
        report.querySplit = querySplit
        report.gallerySplit = gallerySplit
        report.unmatchedLabels = unmatched
        report.unlabelledVideos = videos.count - labelled.count
        return report
    }

    /// The protocol on vectors: every query against the whole gallery.
    public static func evaluate(queries: [LabelledVector], gallery: [LabelledVector], ks: [Int] = defaultKs)
        -> RetrievalReport
    {
        precondition(!queries.isEmpty && !gallery.isEmpty, "queries and gallery must not be empty")
        let d = gallery[0].vector.count
        precondition((queries + gallery).allSatisfy { $0.vector.count == d }, "vectors of one dimension")
        let kmax = min(gallery.count, ks.max() ?? 1)
        let index = SearchIndex(matrix: gallery.flatMap(\.vector), dimension: d)
        let hits = index.search(queries: queries.flatMap(\.vector), k: max(1, kmax))
        // Rank (0-based) of the first gallery video of the query's class, nil when none is
        // within the kmax nearest.
        let firstHit: [Int?] = zip(queries, hits).map { q, h in h.firstIndex { gallery[$0.row].label == q.label } }
        let n = Double(queries.count)
        let recalls = ks.map { k in
            RetrievalReport.Recall(k: k, recall: Double(firstHit.filter { $0 != nil && $0! < k }.count) / n)
        }
        let correct = firstHit.map { $0 == 0 }
        var perClass: [String: (right: Int, all: Int)] = [:]
        for (q, ok) in zip(queries, correct) {
            perClass[q.label, default: (0, 0)].all += 1
            if ok { perClass[q.label]!.right += 1 }
        }
        let accuracy = perClass.mapValues { Double($0.right) / Double($0.all) }
        return RetrievalReport(
            querySplit: "", gallerySplit: "", queries: queries.count, gallery: gallery.count, classes: perClass.count,
            recalls: recalls, nearestNeighbourAccuracy: Double(correct.filter { $0 }.count) / n,
            classBalancedAccuracy: accuracy.values.reduce(0, +) / Double(accuracy.count), perClassAccuracy: accuracy,
            unmatchedLabels: 0, unlabelledVideos: 0)
    }
}
