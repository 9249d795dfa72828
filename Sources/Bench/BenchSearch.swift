import ArgumentParser
import Common
import Foundation
import Index
import Tensor
import VideoData

/// `decouple bench search`: exact top-k over a large random store, next to reading the matrix
/// once and next to FAISS `IndexFlatIP`, in the same run.
struct BenchSearch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Exact cosine top-k over 100k x 2048 stored vectors next to memory streaming and FAISS IndexFlatIP.",
        discussion: """
            A seeded random matrix (uniform in [-1, 1]) is indexed once; then, each as the median \
            of --repeats runs: reading the matrix once (a SIMD sum, the memory-streaming floor of \
            a single query), one query, and one batch of --batch queries, with 1 and 2 threads. \
            The matrix is then written as a store and scripts/faiss_search_peer.py loads its \
            embeddings.npy with np.load unchanged, normalises it and times IndexFlatIP on the \
            same queries; the batch's top-k of both are compared. The peer runs when \
            --faiss-python or \(PythonPeer.Environment.faiss.helpText) exists \
            (\(PythonPeer.Environment.faiss.setup)). \
            Build in release: swift build -c release.

            Example: decouple bench search --rows 100000 --dimension 2048
            """
    )

    @Option(help: "Rows in the store.")
    var rows = 100_000

    @Option(help: "Values per row.")
    var dimension = 2048

    @Option(help: "Queries in a batch.")
    var batch = 64

    @Option(help: "Neighbours per query.")
    var k = 10

    @Option(help: "Runs per figure (median reported) for streaming and single queries.")
    var repeats = 21

    @Option(help: "Runs per batch figure.")
    var batchRepeats = 3

    @Option(help: "Seed of the random matrix and queries.")
    var seed: UInt64 = 0

    @Option(help: "Python with faiss-cpu and numpy (default \(PythonPeer.Environment.faiss.helpText)).")
    var faissPython: String?

    @Flag(help: "Skip the FAISS peer.")
    var noFaiss = false

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        guard rows >= 1, dimension >= 1, batch >= 1, k >= 1, repeats >= 1, batchRepeats >= 1 else {
            throw ValidationError("--rows, --dimension, --batch, -k, --repeats and --batch-repeats must be at least 1.")
        }
    }

    /// Milliseconds of each measurement (medians); `perQuery` figures are a batch's time / batch.
    struct Threads: Codable {
        var streamMs: Double
        var singleMs: Double
        var batchPerQueryMs: Double
        var faissSingleMs: Double?
        var faissBatchPerQueryMs: Double?
        /// The fastest run of each.
        var fastest: Fastest
    }

    struct Fastest: Codable {
        var streamMs: Double
        var singleMs: Double
        var batchPerQueryMs: Double
        var faissSingleMs: Double?
        var faissBatchPerQueryMs: Double?
    }

    struct Report: Codable {
        var machine: String
        var blas: String
        var rows: Int
        var dimension: Int
        var k: Int
        var batch: Int
        var indexSeconds: Double
        var threads: [String: Threads]
        var faiss: String?
        var faissNote: String?
        var batchMatchesSingle: Int
        var faissMatches: Int?
        var maxScoreDifference: Double?
        /// The 1-minute load average when the run started (the machine is shared).
        var loadAverage: Double
    }

    func run() throws {
        let load = Machine.loadAverage()
        let cores = Machine.cores
        let threadCounts = cores >= 2 ? [1, 2] : [1]
        note("generating \(rows) x \(dimension) random float32 (\(humanBytes(rows * dimension * 4)))")
        let matrix = Self.randomMatrix(rows: rows, dimension: dimension, seed: seed, threads: cores)
        let queries = Self.randomMatrix(rows: batch, dimension: dimension, seed: seed &+ 0x9E37_79B9, threads: 1)
        var clock = Date()
        let index = SearchIndex(matrix: matrix, dimension: dimension, threads: cores)
        let indexSeconds = Date().timeIntervalSince(clock)

        var threads: [String: Threads] = [:]
        var batchHits: [[Hit]] = []
        var singleHits: [[Hit]] = []
        for t in threadCounts {
            note("measuring with \(t) thread\(t == 1 ? "" : "s")")
            // Streaming and single queries alternate, so both see the same machine (it is
            // shared); each figure is the median, and the fastest run is kept too.
            _ = SearchIndex.streamOnce(matrix, threads: t)
            _ = index.search(Array(queries[0..<dimension]), k: k, threads: t)
            var streams: [Double] = []
            var singles: [Double] = []
            var hits: [[Hit]] = []
            for r in 0..<repeats {
                clock = Date()
                blackHole(SearchIndex.streamOnce(matrix, threads: t))
                streams.append(Date().timeIntervalSince(clock))
                let i = r % batch
                let q = Array(queries[i * dimension..<(i + 1) * dimension])
                clock = Date()
                let h = index.search(q, k: k, threads: t)
                singles.append(Date().timeIntervalSince(clock))
                if hits.count < batch { hits.append(h) }
            }
            var result: [[Hit]] = []
            var batches: [Double] = []
            for _ in 0..<batchRepeats {
                clock = Date()
                result = index.search(queries: queries, k: k, threads: t)
                batches.append(Date().timeIntervalSince(clock))
            }
            batchHits = result
            singleHits = hits
            let (stream, single, batchSeconds) = (Stats.median(streams), Stats.median(singles), Stats.median(batches))
            threads["\(t)"] = Threads(
                streamMs: stream * 1000, singleMs: single * 1000, batchPerQueryMs: batchSeconds * 1000 / Double(batch),
                fastest: .init(
                    streamMs: streams.min()! * 1000, singleMs: singles.min()! * 1000,
                    batchPerQueryMs: batches.min()! * 1000 / Double(batch)))
        }
        // The single-query path (SIMD dots) and the batch path (sgemm) must rank alike.
        let compared = singleHits.count
        let batchMatchesSingle = (0..<compared).filter { singleHits[$0].map(\.row) == batchHits[$0].map(\.row) }.count

        var report = Report(
            machine: Machine.description, blas: "OpenBLAS \(BLAS.coreName), search kernels \(SearchIndex.kernelName)",
            rows: rows, dimension: dimension, k: k, batch: batch,
            indexSeconds: indexSeconds, threads: threads, batchMatchesSingle: batchMatchesSingle, loadAverage: load)
        if !noFaiss {
            do {
                let peer = try PythonPeer.find(.faiss, script: "faiss_search_peer.py", python: faissPython)
                try runFaiss(
                    peer, matrix: matrix, queries: queries, threadCounts: threadCounts, ours: batchHits, report: &report
                )
            } catch let failure as PythonPeer.Failure {
                report.faissNote = failure.description
            } catch {
                report.faissNote = "FAISS peer failed: \(error)"
            }
        }
        print(json ? Console.json(report) : Self.table(report))
    }

    /// Writes the matrix as a store and the queries as .npy, runs the peer, reads its JSON.
    private func runFaiss(
        _ faiss: PythonPeer, matrix: [Float], queries: [Float], threadCounts: [Int], ours: [[Hit]], report: inout Report
    ) throws {
        let dir = NSTemporaryDirectory() + "decouple-bench-search-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        note("writing the store for FAISS (\(humanBytes(matrix.count * 4)))")
        let manifest = EmbeddingManifest(
            model: "random", config: "random", weights: .init(file: nil, sha256: nil, random: true, seed: seed),
            preprocessing: .modelScope,
            sampling: .init(rule: "none", clips: nil, frames: 0, stride: 0, hop: nil, pooling: "none"),
            dimension: dimension, count: rows, rgb: .modelscope)
        let items = (0..<rows).map {
            EmbeddingItem(
                id: "r\($0)", path: "random", startFrame: 0, endFrame: 0, startSeconds: 0, endSeconds: 0,
                model: "random", clips: 0)
        }
        try EmbeddingStore.write(to: dir + "/store", matrix: matrix, items: items, manifest: manifest)
        var npy = Data(NPY.header(dtype: .float32, shape: [batch, dimension]))
        queries.withUnsafeBytes { npy.append(contentsOf: $0) }
        try npy.write(to: URL(fileURLWithPath: dir + "/queries.npy"))
        note("running FAISS IndexFlatIP")
        struct Peer: Decodable {
            struct T: Decodable {
                var single_median_seconds: Double, batch_median_seconds: Double, single_min_seconds: Double,
                    batch_min_seconds: Double
                var batch_queries: Int
            }
            var faiss: String
            var threads: [String: T]
            var ids: [[Int]]
            var scores: [[Double]]
        }
        let peer = try faiss.run(
            [
                "--store", dir + "/store", "--queries", dir + "/queries.npy", "--k", "\(k)", "--threads",
                threadCounts.map(String.init).joined(separator: ","),
                "--repeats", "\(repeats)", "--batch-repeats", "\(batchRepeats)",
            ], as: Peer.self)
        report.faiss = peer.faiss
        for (t, f) in peer.threads {
            report.threads[t]?.faissSingleMs = f.single_median_seconds * 1000
            report.threads[t]?.faissBatchPerQueryMs = f.batch_median_seconds * 1000 / Double(f.batch_queries)
            report.threads[t]?.fastest.faissSingleMs = f.single_min_seconds * 1000
            report.threads[t]?.fastest.faissBatchPerQueryMs = f.batch_min_seconds * 1000 / Double(f.batch_queries)
        }
        report.faissMatches = zip(ours, peer.ids).filter { a, b in a.map(\.row) == b }.count
        report.maxScoreDifference = zip(ours, peer.scores).flatMap { a, b in
            zip(a, b).map { abs(Double($0.score) - $1) }
        }.max()
    }

    static func table(_ r: Report) -> String {
        func ms(_ v: Double?) -> String { v.map { String(format: "%8.2f ms", $0) } ?? "           —" }
        func ratio(_ a: Double?, _ b: Double?) -> String {
            guard let a, let b, b > 0 else { return "      " }
            return String(format: " %5.2fx", a / b)
        }
        let ts = r.threads.keys.sorted()
        var lines = [
            r.machine + String(format: ", load average %.2f at the start", r.loadAverage),
            "\(r.blas); \(r.rows) x \(r.dimension) float32 (\(humanBytes(r.rows * r.dimension * 4))), top-\(r.k), index built in \(String(format: "%.2f", r.indexSeconds)) s",
        ]
        lines.append(
            "".padding(toLength: 40, withPad: " ", startingAt: 0)
                + ts.map { "\($0) thread\($0 == "1" ? "" : "s")".padding(toLength: 30, withPad: " ", startingAt: 0) }
                .joined())
        func row(_ label: String, _ cell: (Threads) -> String) {
            lines.append(
                label.padding(toLength: 40, withPad: " ", startingAt: 0)
                    + ts.map { cell(r.threads[$0]!).padding(toLength: 30, withPad: " ", startingAt: 0) }.joined())
        }
        row("read the matrix once (memory stream)") { ms($0.streamMs) }
        row("ours, one query (x stream)") { ms($0.singleMs) + ratio($0.singleMs, $0.streamMs) }
        row("FAISS IndexFlatIP, one query") { ms($0.faissSingleMs) }
        row("ours / FAISS, one query") { ratio($0.singleMs, $0.faissSingleMs) }
        row("ours, batch of \(r.batch), per query") { ms($0.batchPerQueryMs) }
        row("FAISS, batch of \(r.batch), per query") { ms($0.faissBatchPerQueryMs) }
        row("ours / FAISS, batch") { ratio($0.batchPerQueryMs, $0.faissBatchPerQueryMs) }
        lines.append("fastest of the runs:")
        row("  read once / one query (x stream)") {
            String(format: "%.2f / %.2f ms", $0.fastest.streamMs, $0.fastest.singleMs)
                + ratio($0.fastest.singleMs, $0.fastest.streamMs)
        }
        row("  FAISS one query (ours / FAISS)") {
            ms($0.fastest.faissSingleMs) + ratio($0.fastest.singleMs, $0.fastest.faissSingleMs)
        }
        row("  batch per query, ours / FAISS") {
            String(format: "%.2f / ", $0.fastest.batchPerQueryMs)
                + (ms($0.fastest.faissBatchPerQueryMs).trimmingCharacters(in: .whitespaces))
                + ratio($0.fastest.batchPerQueryMs, $0.fastest.faissBatchPerQueryMs)
        }
        lines.append(
            "single-query and batch paths agree on \(r.batchMatchesSingle) of the first queries' top-\(r.k) lists")
        if let f = r.faiss, let m = r.faissMatches {
            lines.append(
                "FAISS \(f): same top-\(r.k) rows for \(m) of \(r.batch) batch queries, max score difference \(String(format: "%.1e", r.maxScoreDifference ?? 0))"
            )
        }
        if let n = r.faissNote { lines.append(n) }
        return lines.joined(separator: "\n")
    }

    /// Uniform values in [-1, 1]: chunks of 1024 rows, each from its own seed, so the matrix
    /// does not depend on the thread count.
    static func randomMatrix(rows: Int, dimension: Int, seed: UInt64, threads: Int) -> [Float] {
        var out = [Float](repeating: 0, count: rows * dimension)
        let chunk = 1024
        out.withUnsafeMutableBufferPointer { buffer in
            let base = UncheckedSendable(buffer.baseAddress!)
            parallelFor((rows + chunk - 1) / chunk, threads: threads) { c in
                var rng = SeededRandom(seed: seed &+ UInt64(c) &* 0x9E37_79B9_7F4A_7C15)
                let lo = c * chunk * dimension
                let hi = min(rows, (c + 1) * chunk) * dimension
                for i in lo..<hi { base.value[i] = rng.nextFloat() * 2 - 1 }
            }
        }
        return out
    }

    private func note(_ s: String) {
        if !json { Console.note(s) }
    }
}

/// Keeps a result alive so the optimiser cannot drop the work that produced it.
@inline(never)
func blackHole<T>(_ value: T) { withExtendedLifetime(value) {} }
