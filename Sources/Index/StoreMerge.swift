import Foundation

/// Joins stores (the shards of a job array) into one: `decouple store merge A B ... -o C`.
public enum StoreMerge {
    /// What a merge did.
    public struct Summary: Sendable, Equatable {
        public var rows: Int
        /// Rows left out because an earlier store already holds the same file content and
        /// frame range (a video embedded by two shards or two runs).
        public var duplicates: Int
        /// Ids that were taken by an earlier store and got a `_2`, `_3`... suffix.
        public var renamed: Int

        public init(rows: Int, duplicates: Int, renamed: Int) {
            self.rows = rows
            self.duplicates = duplicates
            self.renamed = renamed
        }
    }

    /// Merges `inputs` in order into a new store at `output`. The output is assembled under a
    /// temporary name and renamed into place; `replace` replaces an existing `output`.
    /// - Throws: `StoreError` when an input cannot be opened, when inputs differ in model,
    ///   configuration, weights, preprocessing, sampling or dimension (naming both stores),
    ///   or when `output` exists without `replace`.
    public static func merge(_ inputs: [String], into output: String, replace: Bool = false) throws -> Summary {
        precondition(!inputs.isEmpty, "at least one store")
        if FileManager.default.fileExists(atPath: output) && !replace {
            throw StoreError("'\(output)' already exists (and replacing it was not asked for).")
        }
        let stores = try inputs.map { try EmbeddingStore(opening: $0) }
        let first = stores[0]
        for store in stores.dropFirst() {
            if let why = first.manifest.mismatch(with: store.manifest) {
                throw StoreError("'\(store.directory)' cannot be merged with '\(first.directory)': it holds \(why).")
            }
        }
        var manifest = first.manifest
        manifest = EmbeddingManifest(
            model: manifest.model, config: manifest.config, weights: manifest.weights,
            preprocessing: manifest.preprocessing,
            sampling: manifest.sampling, dimension: manifest.dimension, count: 0, rgb: manifest.rgbConversion)
        manifest.tool = "decouple store merge"

        let target = URL(fileURLWithPath: output).standardizedFileURL
        let temporary = target.deletingLastPathComponent().appendingPathComponent(
            ".\(target.lastPathComponent).\(getpid()).merging"
        ).path
        try? FileManager.default.removeItem(atPath: temporary)
        var summary = Summary(rows: 0, duplicates: 0, renamed: 0)
        do {
            let merged = try EmbeddingStore.create(at: temporary, manifest: manifest)
            var seen = Set<String>()
            for store in stores {
                // In slices, so a merge holds one slice of one store in memory at a time.
                let slice = max(1, (64 << 20) / (4 * store.dimension))
                var start = 0
                while start < store.count {
                    let range = start..<min(store.count, start + slice)
                    let rows = try store.readRows(range)
                    var keep: [Int] = []
                    for r in range {
                        let item = store.items[r]
                        let key =
                            "\(item.fileSHA256 ?? item.path)#\(item.startFrame)-\(item.endFrame)#\(item.id.contains("@") ? "clip" : "video")"
                        if seen.insert(key).inserted { keep.append(r) } else { summary.duplicates += 1 }
                    }
                    let d = store.dimension
                    let matrix = keep.flatMap { rows[($0 - range.lowerBound) * d..<($0 - range.lowerBound + 1) * d] }
                    let wanted = keep.map { store.items[$0] }
                    let stored = try merged.append(matrix: matrix, items: wanted)
                    summary.renamed += zip(wanted, stored).filter { $0.id != $1.id }.count
                    start = range.upperBound
                }
            }
            summary.rows = merged.count
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
        try StoreFiles.moveIntoPlace(temporary, output, replace: replace)
        return summary
    }
}
