import Foundation
import Index
import Tensor
import Testing

@Suite("SearchIndex: exact cosine top-k")
struct SearchIndexTests {
    /// Cosine similarities in double precision, the oracle.
    static func naive(_ matrix: [Float], _ d: Int, _ q: [Float]) -> [Double] {
        let qn = q.map { Double($0) * Double($0) }.reduce(0, +).squareRoot()
        return stride(from: 0, to: matrix.count, by: d).map { start in
            var dot = 0.0
            var n = 0.0
            for j in 0..<d {
                dot += Double(matrix[start + j]) * Double(q[j])
                n += Double(matrix[start + j]) * Double(matrix[start + j])
            }
            return n > 0 && qn > 0 ? dot / (n.squareRoot() * qn) : 0
        }
    }

    static func random(_ count: Int, seed: UInt64) -> [Float] {
        var rng = SeededRandom(seed: seed)
        return (0..<count).map { _ in rng.nextFloat() * 2 - 1 }
    }

    /// Every hit's score is its true cosine, and the list is the true top-k up to float
    /// rounding (a swap is allowed only between scores within 1e-5).
    static func expectExact(_ hits: [Hit], truth: [Double], k: Int, excluding: Set<Int> = []) {
        let ranked = truth.indices.filter { !excluding.contains($0) }.sorted { truth[$0] > truth[$1] }
        #expect(hits.count == min(k, ranked.count))
        for (rank, hit) in hits.enumerated() {
            #expect(abs(Double(hit.score) - truth[hit.row]) < 1e-5)
            #expect(abs(truth[hit.row] - truth[ranked[rank]]) < 1e-5, "rank \(rank): row \(hit.row) vs \(ranked[rank])")
            #expect(!excluding.contains(hit.row))
        }
    }

    @Test("one query and batches equal the double-precision oracle (odd dimension, 1 and 2 threads, exclusions)")
    func matchesOracle() {
        let d = 37
        let rows = 1500
        var matrix = Self.random(rows * d, seed: 1)
        for j in 0..<d { matrix[7 * d + j] = 0 }  // a zero row scores 0
        let queries = Self.random(5 * d, seed: 2)
        for threads in [1, 2] {
            let index = SearchIndex(matrix: matrix, dimension: d, threads: threads)
            let batch = index.search(
                queries: queries, k: 10, excluding: (0..<5).map { [$0, 100 + $0] }, threads: threads, blockRows: 256)
            for i in 0..<5 {
                let q = Array(queries[i * d..<(i + 1) * d])
                let truth = Self.naive(matrix, d, q)
                Self.expectExact(index.search(q, k: 10, threads: threads), truth: truth, k: 10)
                Self.expectExact(batch[i], truth: truth, k: 10, excluding: [i, 100 + i])
            }
        }
    }

    @Test("k beyond the rows returns every row, best first; ties go to the lower row")
    func smallAndTies() {
        let matrix: [Float] = [1, 0, 0, 1, 2, 0, -1, 0]  // rows 0 and 2 point the same way
        let index = SearchIndex(matrix: matrix, dimension: 2)
        let hits = index.search([3, 0], k: 10)
        #expect(hits.map(\.row) == [0, 2, 1, 3])
        #expect(hits.map(\.score) == [1, 1, 0, -1])
        #expect(index.search(queries: [3, 0, 0, 5], k: 2).map { $0.map(\.row) } == [[0, 2], [1, 0]])
    }

    @Test("streaming the matrix reads every value")
    func stream() {
        let values = (0..<10_001).map { Float($0 % 7) }
        let expected = values.reduce(0, +)
        #expect(SearchIndex.streamOnce(values, threads: 1) == expected)
        #expect(SearchIndex.streamOnce(values, threads: 2) == expected)
    }
}
