#ifndef INDEX_KERNELS_H
#define INDEX_KERNELS_H

/// The memory-bound inner loops of exact search, in C so they can use AVX2 and FMA when the CPU
/// has them (chosen once at run time) while the binary still runs on any x86-64 or ARM CPU.
/// Swift compiles for the baseline CPU (SSE2 on x86-64), which leaves a single core short of
/// the memory bandwidth a one-query search needs.

/// a · b over n floats (float32 sums in four 8-wide accumulators).
float index_dot(const float *a, const float *b, long n);

/// The sum of n floats, read once with the same loads as index_dot: the time to stream a
/// matrix through memory, which a one-query search is compared with.
float index_sum(const float *a, long n);

/// The kernel family in use: "avx2+fma" or "portable".
const char *index_kernel_name(void);

#endif
