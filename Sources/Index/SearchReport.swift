import Foundation

/// A resolved query of `decouple search`: its vector and what identifies its video.
public struct SearchQuery: Sendable {
    public var text: String
    /// `id` (a stored item) or `file` (a video embedded for the query).
    public var kind: String
    public var path: String
    public var sha256: String?
    public var vector: [Float]

    public init(text: String, kind: String, path: String, sha256: String?, vector: [Float]) {
        self.text = text
        self.kind = kind
        self.path = path
        self.sha256 = sha256
        self.vector = vector
    }
}

/// What `decouple search` prints: per query, its hits with path, clip range and score, as
/// JSON or as a table.
public enum SearchReport {
    /// Rows of the query's video: the same path, or the same file content.
    public static func sameVideo(as query: SearchQuery, in items: [EmbeddingItem]) -> Set<Int> {
        let cwd = FileManager.default.currentDirectoryPath
        let path = VideoVector.canonicalPath(query.path, relativeTo: cwd)
        return Set(
            items.indices.filter { r in
                (query.sha256 != nil && items[r].fileSHA256 == query.sha256)
                    || VideoVector.canonicalPath(items[r].path, relativeTo: cwd) == path
            })
    }

    public struct HitRow: Codable, Sendable {
        public var rank: Int
        public var id: String
        public var path: String
        public var startFrame: Int
        public var endFrame: Int
        public var startSeconds: Double
        public var endSeconds: Double
        public var score: Float
        enum CodingKeys: String, CodingKey {
            case rank, id, path, score
            case startFrame = "start_frame"
            case endFrame = "end_frame"
            case startSeconds = "start_seconds"
            case endSeconds = "end_seconds"
        }
    }

    public struct QueryReport: Codable, Sendable {
        public var query: String
        public var kind: String
        public var path: String
        public var hits: [HitRow]
    }

    /// The hits of each query with their items' fields (the JSON form).
    public static func report(_ queries: [SearchQuery], _ hits: [[Hit]], store: EmbeddingStore) -> [QueryReport] {
        zip(queries, hits).map { q, hs in
            QueryReport(
                query: q.text, kind: q.kind, path: q.path,
                hits: hs.enumerated().map { i, h in
                    let item = store.items[h.row]
                    return HitRow(
                        rank: i + 1, id: item.id, path: item.path, startFrame: item.startFrame, endFrame: item.endFrame,
                        startSeconds: item.startSeconds, endSeconds: item.endSeconds, score: h.score)
                })
        }
    }

    /// The table form: a heading line per query, then a line per hit.
    public static func table(_ queries: [SearchQuery], _ hits: [[Hit]], store: EmbeddingStore) -> String {
        var lines: [String] = []
        for (q, r) in zip(queries, report(queries, hits, store: store)) {
            if !lines.isEmpty { lines.append("") }
            let source = q.kind == "id" ? "stored item" : "embedded with \(store.manifest.model)"
            lines.append("query \(q.text) (\(source)), \(r.hits.count) of \(store.count) rows")
            let idWidth = min(40, max(2, r.hits.map(\.id.count).max() ?? 2))
            lines.append(
                " rank   score  " + "id".padding(toLength: idWidth, withPad: " ", startingAt: 0)
                    + "  frames       seconds        path")
            for h in r.hits {
                let frames = "\(h.startFrame)-\(h.endFrame)".padding(toLength: 11, withPad: " ", startingAt: 0)
                let seconds = String(format: "%.2f-%.2f", h.startSeconds, h.endSeconds).padding(
                    toLength: 13, withPad: " ", startingAt: 0)
                let id = h.id.padding(toLength: idWidth, withPad: " ", startingAt: 0)
                lines.append(
                    String(format: "%5d  %6.4f  ", h.rank, h.score) + id + "  \(frames)  \(seconds)  \(h.path)")
            }
        }
        return lines.joined(separator: "\n")
    }
}
