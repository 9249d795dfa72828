import ArgumentParser
import Common
import Embed
import Foundation
import Index
import MediaIO

/// `decouple search STORE QUERY...`: exact cosine nearest neighbours in a store.
struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Nearest neighbours in a store of a video file or a stored item (exact cosine top-k).",
        discussion: """
            Each QUERY is an item id of the store, or a video file, embedded on the fly with the \
            store's model, weights, preprocessing and clips (the mean over its clips). Several \
            queries are searched as one batch (sgemm). The search is exact: every stored row is \
            compared. --exclude-same-video leaves out rows of the query's own video (same path \
            or same file content).

            A directory of per-view stores (embed --views) is searched in each view in turn.

            Example: decouple search store assets/videos/tears_320x240.mp4 -k 5
            """
    )

    @Argument(help: "Store directory (written by decouple embed -o), or a directory of per-view stores (--views).")
    var store: String

    @Argument(help: "Item ids or video files.")
    var queries: [String]

    @Option(name: .short, help: "Neighbours per query.")
    var k = 10

    @Flag(help: "Leave out rows of the query's own video.")
    var excludeSameVideo = false

    @Option(
        help: "Weights for embedding video queries, when the store's weights file has moved (same SHA-256 required).")
    var weights: String?

    @Option(help: "Key prefix of the backbone inside the weights file.")
    var prefix: String?

    @Option(help: "Forward passes run at once when embedding a video query.")
    var jobs = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Print JSON: per query, its hits with path, clip range and score.")
    var json = false

    func validate() throws {
        guard k >= 1 else { throw ValidationError("-k must be at least 1.") }
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1.") }
        guard !queries.isEmpty else { throw ValidationError("give at least one QUERY (an item id or a video file).") }
    }

    func run() throws {
        let directories = ViewStores.stores(in: store)
        for (n, directory) in (directories.isEmpty ? [store] : directories).enumerated() {
            if directories.count > 1 && !json {
                print((n > 0 ? "\n" : "") + "\((directory as NSString).lastPathComponent) view")
            }
            try search(directory)
        }
    }

    func search(_ directory: String) throws {
        do {
            let store = try EmbeddingStore(opening: directory)
            var model: StoreModel?
            var resolved: [SearchQuery] = []
            var stored: [(query: Int, row: Int)] = []
            for text in queries {
                if let row = store.index(ofID: text) {
                    stored.append((resolved.count, row))
                    resolved.append(
                        SearchQuery(
                            text: text, kind: "id", path: store.items[row].path, sha256: store.items[row].fileSHA256,
                            vector: []))
                } else if FileManager.default.fileExists(atPath: text) {
                    if model == nil {
                        model = try StoreModel(
                            manifest: store.manifest, store: directory, weights: weights, prefix: prefix, jobs: jobs,
                            openers: .files)
                    }
                    let vector: [Float]
                    do { vector = try model!.embed(text) } catch {
                        throw StoreError("'\(text)' could not be embedded: \(error).")
                    }
                    resolved.append(
                        SearchQuery(
                            text: text, kind: "file", path: text, sha256: try? SHA256.hexDigest(ofFile: text),
                            vector: vector))
                } else {
                    throw StoreError("'\(text)' is neither an item id of '\(directory)' nor a file.")
                }
            }
            let matrix = try store.readMatrix()
            let d = store.dimension
            for (q, row) in stored { resolved[q].vector = Array(matrix[row * d..<(row + 1) * d]) }
            let index = SearchIndex(matrix: matrix, dimension: d)
            let excluded = resolved.map { excludeSameVideo ? SearchReport.sameVideo(as: $0, in: store.items) : [] }
            let hits =
                resolved.count == 1
                ? [index.search(resolved[0].vector, k: k, excluding: excluded[0])]
                : index.search(queries: resolved.flatMap(\.vector), k: k, excluding: excluded)
            print(
                json
                    ? Console.json(SearchReport.report(resolved, hits, store: store))
                    : SearchReport.table(resolved, hits, store: store))
        } catch let error as StoreError {
            Console.error(error.description)
            throw ExitCode(1)
        }
    }
}
