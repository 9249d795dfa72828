import Foundation

/// The scene-bias benchmark's numbers for one way of describing videos: how well it retrieves
/// the right motion class when the scene agrees (in context) and when it does not (out of
/// context). A method that reads the scene does well in context and fails out of context; a
/// method that reads the motion does about as well in both.
public struct SceneBiasRow: Codable, Sendable, Equatable {
    public var method: String
    /// Out-of-context queries against the in-context gallery: R@1, R@5, R@10.
    public var outOfContext: [RetrievalReport.Recall]
    /// The control: in-context queries against the other in-context videos (leave one out).
    public var inContext: [RetrievalReport.Recall]
    /// In-context R@1 minus out-of-context R@1.
    public var sceneReliance: Double
    public var queries: Int
    public var gallery: Int
    public var classes: Int
    /// Out-of-context R@1 of each query class (`--per-class`); nil in rows written before it.
    public var outOfContextPerClass: [String: Double]?

    public init(
        method: String, outOfContext: [RetrievalReport.Recall], inContext: [RetrievalReport.Recall],
        sceneReliance: Double,
        queries: Int, gallery: Int, classes: Int, outOfContextPerClass: [String: Double]? = nil
    ) {
        self.method = method
        self.outOfContext = outOfContext
        self.inContext = inContext
        self.sceneReliance = sceneReliance
        self.queries = queries
        self.gallery = gallery
        self.classes = classes
        self.outOfContextPerClass = outOfContextPerClass
    }

    public func outOfContext(at k: Int) -> Double? { outOfContext.first { $0.k == k }?.recall }
    public func inContext(at k: Int) -> Double? { inContext.first { $0.k == k }?.recall }

    enum CodingKeys: String, CodingKey {
        case method, queries, gallery, classes
        case outOfContext = "out_of_context"
        case inContext = "in_context"
        case sceneReliance = "scene_reliance"
        case outOfContextPerClass = "out_of_context_per_class"
    }
}

public enum SceneBias {
    public static let ks = [1, 5, 10]

    /// Evaluates vectors of the two splits (`gallery`: in context; `queries`: out of context).
    public static func evaluate(
        method: String, inContext: [LabelledVector], outOfContext: [LabelledVector], ks: [Int] = ks
    ) -> SceneBiasRow {
        let out = RetrievalEvaluation.evaluate(queries: outOfContext, gallery: inContext, ks: ks)
        // Leave one out: each in-context video against all the other in-context videos.
        var firstHits: [Int?] = []
        for (i, q) in inContext.enumerated() {
            var rest = inContext
            rest.remove(at: i)
            let r = RetrievalEvaluation.evaluate(queries: [q], gallery: rest, ks: ks)
            firstHits.append(ks.first { r.recall(at: $0)! > 0 })
        }
        let control = ks.map { k in
            RetrievalReport.Recall(
                k: k, recall: Double(firstHits.filter { $0 != nil && $0! <= k }.count) / Double(max(1, inContext.count))
            )
        }
        let outR1 = out.recall(at: ks[0]) ?? 0
        let inR1 = control[0].recall
        return SceneBiasRow(
            method: method, outOfContext: out.recalls, inContext: control, sceneReliance: inR1 - outR1,
            queries: outOfContext.count, gallery: inContext.count, classes: out.classes,
            outOfContextPerClass: out.perClassAccuracy)
    }
}

extension SceneBias {
    /// The labelled vectors of the in-context and out-of-context videos (other splits dropped).
    public static func split(_ videos: [(entry: RetrievalLabels.Entry, vector: [Float])]) -> (
        inContext: [LabelledVector], outOfContext: [LabelledVector]
    ) {
        func vectors(_ name: String) -> [LabelledVector] {
            videos.filter { $0.entry.split == name }.map { LabelledVector(vector: $0.vector, label: $0.entry.label) }
        }
        return (vectors("in-context"), vectors("out-of-context"))
    }

    /// The store's per-video vectors (mean of each video's rows) for the labelled in-context
    /// and out-of-context videos, matched by path or id as `RetrievalEvaluation` does.
    public static func evaluate(method: String, store: EmbeddingStore, labels: RetrievalLabels) throws -> SceneBiasRow {
        let videos = VideoVector.videos(of: store.items, matrix: try store.readMatrix(), dimension: store.dimension)
        var byKey: [String: Int] = [:]
        for (v, video) in videos.enumerated() {
            byKey[video.path] = v
            for r in video.rows {
                byKey[store.items[r].id] = byKey[store.items[r].id] ?? v
                byKey[store.items[r].videoID] = byKey[store.items[r].videoID] ?? v
            }
        }
        let (inCtx, outCtx) = split(
            labels.entries.compactMap { e in
                let path = e.path.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path }
                return (path.flatMap { byKey[$0] } ?? byKey[e.key]).map { (e, videos[$0].vector) }
            })
        guard inCtx.count > 1, !outCtx.isEmpty else {
            throw StoreError(
                "'\(store.directory)' holds \(inCtx.count) in-context and \(outCtx.count) out-of-context videos of '\(labels.file)'; embed the synth set into it first."
            )
        }
        return evaluate(method: method, inContext: inCtx, outOfContext: outCtx)
    }
}
