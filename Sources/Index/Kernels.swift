import IndexKernels

/// The inner loops of exact search. A single query over a large matrix is bound by memory
/// bandwidth, not arithmetic, so a loop that reads each row once is as fast as the hardware
/// allows; `sum` is the same loop without the multiply, the reference a benchmark compares a
/// search with ("how long does reading the matrix once take"). Both are C (IndexKernels) so
/// they can use AVX2 and FMA when the CPU has them: Swift's baseline x86-64 code (SSE2) left a
/// single core about 15-25 % short of the bandwidth here.
enum Kernels {
    /// `a · b` over `count` floats.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
        index_dot(a, b, count)
    }

    /// The sum of `count` floats, read once with the same loads as `dot`.
    @inline(__always)
    static func sum(_ a: UnsafePointer<Float>, _ count: Int) -> Float {
        index_sum(a, count)
    }

    /// The kernel family chosen for this CPU ("avx2+fma" or "portable").
    static var name: String { String(cString: index_kernel_name()) }
}
