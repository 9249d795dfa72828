import Foundation

/// One vector per video of a store: the mean of the video's rows (its clips, or its one
/// mean-over-clips row), as the retrieval protocol asks (docs/method.md §9).
public struct VideoVector: Sendable, Equatable {
    /// The video's path, absolute, standardised, symbolic links resolved (the matching key).
    public var path: String
    /// The id of the video's first row, up to `@` for clip rows.
    public var id: String
    /// Its rows in the store.
    public var rows: [Int]
    /// The mean of those rows.
    public var vector: [Float]

    /// Groups the store's rows by video path, in order of first appearance. `matrix` is the
    /// store's matrix (`EmbeddingStore.readMatrix()`); relative item paths resolve against
    /// the working directory.
    public static func videos(of items: [EmbeddingItem], matrix: [Float], dimension d: Int) -> [VideoVector] {
        precondition(matrix.count == items.count * d, "one row per item")
        let cwd = FileManager.default.currentDirectoryPath
        var order: [String] = []
        var groups: [String: (id: String, rows: [Int])] = [:]
        for (r, item) in items.enumerated() {
            let key = canonicalPath(item.path, relativeTo: cwd)
            if groups[key] == nil {
                order.append(key)
                groups[key] = (item.videoID, [])
            }
            groups[key]!.rows.append(r)
        }
        return order.map { key in
            let g = groups[key]!
            var sum = [Double](repeating: 0, count: d)
            for r in g.rows { for j in 0..<d { sum[j] += Double(matrix[r * d + j]) } }
            return VideoVector(path: key, id: g.id, rows: g.rows, vector: sum.map { Float($0 / Double(g.rows.count)) })
        }
    }

    /// `path` absolute against `directory`, standardised, with symbolic links resolved when
    /// the file exists: two spellings of one file give one key.
    public static func canonicalPath(_ path: String, relativeTo directory: String) -> String {
        let absolute = RetrievalLabels.resolve(path, against: directory)
        return URL(fileURLWithPath: absolute).resolvingSymlinksInPath().path
    }
}
