import Foundation
import Tensor

/// Exact cosine top-k over a matrix of row vectors, in memory.
///
/// Rows are kept as given, with their inverse norms computed once (`FAISS`'s `IndexFlatIP`
/// normalises at `add` time; this is the same cost). A query is normalised, then
/// `score(row) = (row · q̂) / ‖row‖`, the cosine similarity; zero rows score 0.
///
/// - One query (`search(_:k:)`): memory-bound, so each thread streams its contiguous share of
///   the rows once with a SIMD dot product and keeps its own top-k heap; the heaps are merged.
/// - Many queries (`search(queries:k:)`): compute-bound, so each thread multiplies the query
///   block by blocks of its rows with single-threaded `sgemm` (OpenBLAS), scales by the
///   inverse norms, and feeds one heap per query.
///
/// Results are exact (float32 dot products) and ordered by score, ties by row.
public final class SearchIndex: @unchecked Sendable {
    public let rows: Int
    public let dimension: Int
    private let matrix: [Float]
    private let inverseNorms: [Float]

    /// Indexes `matrix` (`rows * dimension` values, row-major).
    public init(matrix: [Float], dimension: Int, threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
        precondition(dimension > 0 && matrix.count % dimension == 0, "a matrix of whole rows of \(dimension)")
        self.matrix = matrix
        self.dimension = dimension
        rows = matrix.count / dimension
        let rows = self.rows
        var norms = [Float](repeating: 0, count: rows)
        matrix.withUnsafeBufferPointer { m in
            norms.withUnsafeMutableBufferPointer { out in
                let (mp, op) = (UncheckedSendable(m.baseAddress), UncheckedSendable(out.baseAddress!))
                parallelRanges(rows, threads: threads) { range in
                    for r in range {
                        let row = mp.value! + r * dimension
                        let n = Kernels.dot(row, row, dimension).squareRoot()
                        op.value[r] = n > 0 ? 1 / n : 0
                    }
                }
            }
        }
        inverseNorms = norms
    }

    /// The `k` rows most similar to `query` (best first), leaving out the rows in `excluding`.
    public func search(
        _ query: [Float], k: Int, excluding: Set<Int> = [], threads: Int = ProcessInfo.processInfo.activeProcessorCount
    ) -> [Hit] {
        precondition(query.count == dimension, "a query of \(dimension) values")
        let q = Self.normalised(query)
        let want = min(rows, k + excluding.count)
        let d = dimension
        let heaps = HeapSlots(count: max(1, min(threads, rows)))
        matrix.withUnsafeBufferPointer { m in
            inverseNorms.withUnsafeBufferPointer { inv in
                q.withUnsafeBufferPointer { qp in
                    let ptrs = UncheckedSendable((m.baseAddress, inv.baseAddress, qp.baseAddress!))
                    let slices = heaps.count
                    parallelFor(slices, threads: slices) { slice in
                        let (mp, ip, qv) = ptrs.value
                        var top = TopK(k: want)
                        let lo = rows * slice / slices
                        let hi = rows * (slice + 1) / slices
                        for r in lo..<hi {
                            let score = Kernels.dot(mp! + r * d, qv, d) * ip![r]
                            if score > top.threshold { top.offer(row: r, score: score) }
                        }
                        heaps.set(slice, top)
                    }
                }
            }
        }
        return Array(heaps.merged(k: want).sorted().filter { !excluding.contains($0.row) }.prefix(k))
    }

    /// The `k` best rows for each of `queries` (`m * dimension` values, row-major), best first;
    /// `excluding[i]` are rows left out for query i.
    public func search(
        queries: [Float], k: Int, excluding: [Set<Int>]? = nil,
        threads: Int = ProcessInfo.processInfo.activeProcessorCount,
        blockRows: Int = 2048
    ) -> [[Hit]] {
        precondition(queries.count % dimension == 0, "queries of \(dimension) values")
        let m = queries.count / dimension
        guard m > 0 else { return [] }
        if let excluding { precondition(excluding.count == m, "one exclusion set per query") }
        let d = dimension
        var q = [Float](repeating: 0, count: queries.count)
        for i in 0..<m {
            q.replaceSubrange(i * d..<(i + 1) * d, with: Self.normalised(Array(queries[i * d..<(i + 1) * d])))
        }
        let rows = self.rows
        let wants = (0..<m).map { min(rows, k + (excluding?[$0].count ?? 0)) }
        let slices = max(1, min(threads, (rows + blockRows - 1) / blockRows))
        let results = HeapListSlots(count: slices)
        matrix.withUnsafeBufferPointer { mat in
            inverseNorms.withUnsafeBufferPointer { inv in
                q.withUnsafeBufferPointer { qp in
                    let ptrs = UncheckedSendable((mat.baseAddress, inv.baseAddress, qp.baseAddress!))
                    parallelFor(slices, threads: slices) { slice in
                        let (mp, ip, qv) = ptrs.value
                        var tops = wants.map { TopK(k: $0) }
                        var scores = [Float](repeating: 0, count: m * blockRows)
                        let lo = rows * slice / slices
                        let hi = rows * (slice + 1) / slices
                        var start = lo
                        scores.withUnsafeMutableBufferPointer { s in
                            while start < hi {
                                let n = min(blockRows, hi - start)
                                // scores[m × n] = q̂[m × d] · rows[start..<start+n]ᵀ
                                gemm(
                                    .none, .transposed, m: m, n: n, k: d, a: qv, lda: d, b: mp! + start * d, ldb: d,
                                    c: s.baseAddress!, ldc: n, threads: 1)
                                for i in 0..<m {
                                    let row = s.baseAddress! + i * n
                                    // Mutated in place (a copy would duplicate the heap).
                                    var threshold = tops[i].threshold
                                    for j in 0..<n {
                                        let score = row[j] * ip![start + j]
                                        if score > threshold {
                                            tops[i].offer(row: start + j, score: score)
                                            threshold = tops[i].threshold
                                        }
                                    }
                                }
                                start += n
                            }
                        }
                        results.set(slice, tops)
                    }
                }
            }
        }
        return (0..<m).map { i in
            var top = TopK(k: wants[i])
            for slice in 0..<slices { top.merge(results.get(slice)[i]) }
            let excluded = excluding?[i] ?? []
            return Array(top.sorted().filter { !excluded.contains($0.row) }.prefix(k))
        }
    }

    /// The inner loops in use: "avx2+fma" or "portable" (chosen for this CPU at run time).
    public static var kernelName: String { Kernels.name }

    /// Row `r` of the matrix.
    public func row(_ r: Int) -> [Float] { Array(matrix[r * dimension..<(r + 1) * dimension]) }

    /// `v / ‖v‖` (a zero vector stays zero).
    public static func normalised(_ v: [Float]) -> [Float] {
        let n = v.withUnsafeBufferPointer { Kernels.dot($0.baseAddress!, $0.baseAddress!, v.count) }.squareRoot()
        return n > 0 ? v.map { $0 / n } : v
    }

    /// Reads every value of `matrix` once on `threads` threads and returns their sum: the
    /// memory-streaming time a single-query search is compared with.
    public static func streamOnce(_ matrix: [Float], threads: Int) -> Float {
        let parts = SumSlots(count: max(1, threads))
        matrix.withUnsafeBufferPointer { m in
            let base = UncheckedSendable(m.baseAddress)
            let count = m.count
            parallelFor(parts.count, threads: parts.count) { p in
                let lo = count * p / parts.count
                let hi = count * (p + 1) / parts.count
                if hi > lo { parts.set(p, Kernels.sum(base.value! + lo, hi - lo)) }
            }
        }
        return parts.total
    }
}

/// Per-thread results, written once each under a lock.
private final class HeapSlots: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [TopK?]
    var count: Int { slots.count }
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ top: TopK) { lock.withLock { slots[i] = top } }
    func merged(k: Int) -> TopK {
        var all = TopK(k: k)
        for case let top? in lock.withLock({ slots }) { all.merge(top) }
        return all
    }
}

private final class HeapListSlots: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [[TopK]]
    init(count: Int) { slots = Array(repeating: [], count: count) }
    func set(_ i: Int, _ tops: [TopK]) { lock.withLock { slots[i] = tops } }
    func get(_ i: Int) -> [TopK] { lock.withLock { slots[i] } }
}

private final class SumSlots: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Float]
    var count: Int { slots.count }
    init(count: Int) { slots = Array(repeating: 0, count: count) }
    func set(_ i: Int, _ v: Float) { lock.withLock { slots[i] = v } }
    var total: Float { lock.withLock { slots.reduce(0, +) } }
}
