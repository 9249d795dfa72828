#include "IndexKernels.h"

// Portable loops: four independent accumulators so the compiler can vectorise and pipeline
// them (SSE2 on baseline x86-64, NEON on ARM).
static float dot_portable(const float *a, const float *b, long n) {
    float s[16] = {0};
    long i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) s[j] += a[i + j] * b[i + j];
    float total = 0;
    for (int j = 0; j < 16; j++) total += s[j];
    for (; i < n; i++) total += a[i] * b[i];
    return total;
}

static float sum_portable(const float *a, long n) {
    float s[16] = {0};
    long i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) s[j] += a[i + j];
    float total = 0;
    for (int j = 0; j < 16; j++) total += s[j];
    for (; i < n; i++) total += a[i];
    return total;
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#include <stdatomic.h>

__attribute__((target("avx2,fma"))) static float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma"))) static float dot_avx2(const float *a, const float *b, long n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    long i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    float total = hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++) total += a[i] * b[i];
    return total;
}

__attribute__((target("avx2,fma"))) static float sum_avx2(const float *a, long n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    long i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_add_ps(_mm256_loadu_ps(a + i), s0);
        s1 = _mm256_add_ps(_mm256_loadu_ps(a + i + 8), s1);
        s2 = _mm256_add_ps(_mm256_loadu_ps(a + i + 16), s2);
        s3 = _mm256_add_ps(_mm256_loadu_ps(a + i + 24), s3);
    }
    float total = hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++) total += a[i];
    return total;
}

// Search threads call this at once: the cached answer is atomic (a plain static int is a data
// race ThreadSanitizer reports, even though every thread would store the same value).
static int has_avx2(void) {
    static _Atomic int cached = -1;
    int value = atomic_load_explicit(&cached, memory_order_relaxed);
    if (value < 0) {
        __builtin_cpu_init();
        value = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        atomic_store_explicit(&cached, value, memory_order_relaxed);
    }
    return value;
}

float index_dot(const float *a, const float *b, long n) { return has_avx2() ? dot_avx2(a, b, n) : dot_portable(a, b, n); }
float index_sum(const float *a, long n) { return has_avx2() ? sum_avx2(a, n) : sum_portable(a, n); }
const char *index_kernel_name(void) { return has_avx2() ? "avx2+fma" : "portable"; }
#else
float index_dot(const float *a, const float *b, long n) { return dot_portable(a, b, n); }
float index_sum(const float *a, long n) { return sum_portable(a, n); }
const char *index_kernel_name(void) { return "portable"; }
#endif
