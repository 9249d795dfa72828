import CBLAS

/// OpenBLAS's process-wide settings.
///
/// OpenBLAS keeps one thread count for the whole process. `gemm(..., threads:)` sets it per
/// call when it differs from what the call wants, so a single forward pass can use 2 threads
/// for large GEMMs and 1 for thin ones. Code that runs one clip per core on several Swift
/// threads calls `BLAS.setThreads(1)` first; every call then runs on its caller's thread and
/// never touches the setting again.
public enum BLAS {
    /// Sets OpenBLAS's thread count (at least 1).
    public static func setThreads(_ n: Int) {
        openblas_set_num_threads(Int32(max(1, n)))
    }

    /// OpenBLAS's current thread count.
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// The kernel family OpenBLAS chose for this CPU ("Haswell", "Cooperlake", ...). Set
    /// `OPENBLAS_CORETYPE` in the environment before the process starts to override it.
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// OpenBLAS's build description (version, threading model).
    public static var configuration: String { String(cString: openblas_get_config()) }
}

/// Whether a GEMM operand is used as stored or transposed.
public enum Transpose: Sendable {
    case none
    case transposed
}

/// Dimensions must fit OpenBLAS's 32-bit `blasint`.
@inline(__always)
func blasInt(_ v: Int) -> Int32 {
    precondition(v >= 0 && v <= Int(Int32.max), "GEMM dimension \(v) does not fit OpenBLAS's 32-bit integers")
    return Int32(v)
}

/// `C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C`, row-major, through OpenBLAS's
/// `cblas_sgemm`. Leading dimensions are in elements: `lda` is the row length of A as stored
/// (k without transpose, m with), and so on. `threads` is the OpenBLAS thread count for this call.
///
/// With `beta == 0`, C is written without being read (it may hold garbage, even NaN).
public func gemm(
    _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int = 1
) {
    if m == 0 || n == 0 { return }
    if k == 0 {
        // OpenBLAS rejects lda < 1; the product is empty, so only the beta scaling remains.
        for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
        return
    }
    let want = Int32(max(1, threads))
    if openblas_get_num_threads() != want { openblas_set_num_threads(want) }
    cblas_sgemm(
        CblasRowMajor, transA == .none ? CblasNoTrans : CblasTrans, transB == .none ? CblasNoTrans : CblasTrans,
        blasInt(m), blasInt(n), blasInt(k), alpha, a, blasInt(lda), b, blasInt(ldb), beta, c, blasInt(ldc))
}

/// The reference for `gemm`: the textbook triple loop with a double accumulator. It serves as
/// the algorithmic definition and as the oracle in tests; it is never on a fast path.
public func gemmNaive(
    _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    for i in 0..<m {
        for j in 0..<n {
            var sum: Double = 0
            for p in 0..<k {
                let av = transA == .none ? a[i * lda + p] : a[p * lda + i]
                let bv = transB == .none ? b[p * ldb + j] : b[j * ldb + p]
                sum += Double(av) * Double(bv)
            }
            let prior = beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j])
            c[i * ldc + j] = Float(Double(alpha) * sum + prior)
        }
    }
}

/// Matrix product of two rank-2 tensors, `a[m,k] · b[k,n]`, through OpenBLAS.
public func matmul(_ a: Tensor, _ b: Tensor, threads: Int = 1) -> Tensor {
    precondition(a.rank == 2 && b.rank == 2 && a.shape[1] == b.shape[0], "matmul of \(a.shape) and \(b.shape)")
    let (m, k, n) = (a.shape[0], a.shape[1], b.shape[1])
    return Tensor(shape: [m, n]) { out in
        if k == 0 {
            out.initialize(repeating: 0)
            return
        }
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                gemm(
                    .none, .none, m: m, n: n, k: k, a: pa.baseAddress!, lda: k, b: pb.baseAddress!, ldb: n,
                    c: out.baseAddress!, ldc: n, threads: threads)
            }
        }
    }
}
