import Tensor
import Testing

/// OpenBLAS's sgemm against the textbook loop, on shapes chosen to miss every kernel's unroll.
@Suite("GEMM")
struct GEMMTests {
    struct Case: CustomStringConvertible, Sendable {
        var m, n, k: Int
        var ta: Transpose, tb: Transpose
        var alpha: Float, beta: Float
        var pad: Int  // extra elements per row: leading dimensions larger than the matrix
        var threads: Int
        var description: String {
            "\(m)x\(n)x\(k) \(ta == .none ? "N" : "T")\(tb == .none ? "N" : "T") alpha \(alpha) beta \(beta) pad \(pad) threads \(threads)"
        }
    }

    static let cases: [Case] = [
        Case(m: 1, n: 1, k: 1, ta: .none, tb: .none, alpha: 1, beta: 0, pad: 0, threads: 1),
        Case(m: 7, n: 13, k: 5, ta: .none, tb: .none, alpha: 1, beta: 0, pad: 0, threads: 1),
        Case(m: 17, n: 3, k: 33, ta: .transposed, tb: .none, alpha: 0.5, beta: 0, pad: 3, threads: 1),
        Case(m: 5, n: 29, k: 11, ta: .none, tb: .transposed, alpha: 1, beta: 1, pad: 1, threads: 2),
        Case(m: 31, n: 37, k: 41, ta: .transposed, tb: .transposed, alpha: -2, beta: 0.25, pad: 2, threads: 2),
        Case(m: 83, n: 197, k: 147, ta: .none, tb: .none, alpha: 1, beta: 0, pad: 0, threads: 2),
        Case(m: 65, n: 1, k: 300, ta: .none, tb: .none, alpha: 1, beta: 1, pad: 5, threads: 2),
    ]

    @Test("gemm equals gemmNaive", arguments: cases)
    func matchesNaive(_ c: Case) {
        var rng = SeededRandom(seed: UInt64(c.m * 1000 + c.n * 10 + c.k))
        let (aRows, aCols) = c.ta == .none ? (c.m, c.k) : (c.k, c.m)
        let (bRows, bCols) = c.tb == .none ? (c.k, c.n) : (c.n, c.k)
        let lda = aCols + c.pad
        let ldb = bCols + c.pad
        let ldc = c.n + c.pad
        let a = (0..<(aRows * lda)).map { _ in rng.nextNormal() }
        let b = (0..<(bRows * ldb)).map { _ in rng.nextNormal() }
        let c0 = (0..<(c.m * ldc)).map { _ in rng.nextNormal() }
        var fast = c0
        var slow = c0
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                fast.withUnsafeMutableBufferPointer { pc in
                    gemm(
                        c.ta, c.tb, m: c.m, n: c.n, k: c.k, alpha: c.alpha, a: pa.baseAddress!, lda: lda,
                        b: pb.baseAddress!, ldb: ldb, beta: c.beta, c: pc.baseAddress!, ldc: ldc, threads: c.threads)
                }
                slow.withUnsafeMutableBufferPointer { pc in
                    gemmNaive(
                        c.ta, c.tb, m: c.m, n: c.n, k: c.k, alpha: c.alpha, a: pa.baseAddress!, lda: lda,
                        b: pb.baseAddress!, ldb: ldb, beta: c.beta, c: pc.baseAddress!, ldc: ldc)
                }
            }
        }
        let scale = slow.reduce(0) { max($0, abs($1)) }
        var worst: Float = 0
        for i in 0..<c.m {
            for j in 0..<c.n { worst = max(worst, abs(fast[i * ldc + j] - slow[i * ldc + j])) }
            // The padding past n is never written.
            for j in c.n..<ldc { #expect(fast[i * ldc + j] == c0[i * ldc + j]) }
        }
        #expect(worst <= 1e-5 * max(1, scale), "max difference \(worst) for values up to \(scale)")
    }

    @Test("beta 0 ignores NaN in C; k 0 leaves beta * C")
    func betaZeroAndEmptyK() {
        let a: [Float] = [1, 2]
        let b: [Float] = [3, 4]
        var c: [Float] = [.nan]
        gemm(.none, .none, m: 1, n: 1, k: 2, a: a, lda: 2, b: b, ldb: 1, beta: 0, c: &c, ldc: 1)
        #expect(c == [11])
        var d: [Float] = [4, 8]
        gemm(.none, .none, m: 1, n: 2, k: 0, a: a, lda: 1, b: b, ldb: 2, beta: 0.5, c: &d, ldc: 2)
        #expect(d == [2, 4])
    }

    @Test("matmul of tensors, and BLAS reports its settings")
    func matmulTensors() {
        let a = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
        let b = Tensor(shape: [3, 2], data: [7, 8, 9, 10, 11, 12])
        #expect(matmul(a, b) == Tensor(shape: [2, 2], data: [58, 64, 139, 154]))
        BLAS.setThreads(2)
        #expect(BLAS.threads == 2)
        BLAS.setThreads(1)
        #expect(BLAS.threads == 1)
        #expect(!BLAS.coreName.isEmpty)
        #expect(BLAS.configuration.contains("OpenBLAS"))
    }
}
