#include "ConvKernels.h"

#include <stdlib.h>
#include <string.h>

static long phase_columns(const conv_direct_shape *s) { return (s->wp + s->sw - 1) / s->sw; }

long conv_direct_padded_count(const conv_direct_shape *s) {
    return s->ci * s->tp * s->hp * s->sw * phase_columns(s);
}

void conv_pad(const float *x, long t, long h, long w, long pt, long ph, long pw, const conv_direct_shape *s,
              float *xp) {
    long wq = phase_columns(s), row = s->sw * wq;
    memset(xp, 0, sizeof(float) * conv_direct_padded_count(s));
    for (long c = 0; c < s->ci; c++)
        for (long f = 0; f < t; f++)
            for (long r = 0; r < h; r++) {
                const float *src = x + ((c * t + f) * h + r) * w;
                float *dst = xp + ((c * s->tp + f + pt) * s->hp + r + ph) * row;
                if (s->sw == 1) {
                    memcpy(dst + pw, src, sizeof(float) * w);
                } else {
                    // Padded column j goes to phase j % sw, position j / sw.
                    for (long j = pw; j < pw + w; j++) dst[(j % s->sw) * wq + j / s->sw] = src[j - pw];
                }
            }
}

long conv_direct_block(long co) { return co % 12 == 0 ? 12 : 8; }

void conv_channels_last(const float *dy, long co, long positions, float *dyT) {
    // Blocks of 64 positions keep the rows being written in cache.
    for (long p0 = 0; p0 < positions; p0 += 64) {
        long p1 = p0 + 64 < positions ? p0 + 64 : positions;
        for (long o = 0; o < co; o++)
            for (long p = p0; p < p1; p++) dyT[p * co + o] = dy[o * positions + p];
    }
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#include <stdatomic.h>

int conv_direct_available(void) {
    static _Atomic int cached = -1;
    int value = atomic_load_explicit(&cached, memory_order_relaxed);
    if (value < 0) {
        __builtin_cpu_init();
        const char *off = getenv("DECOUPLE_DIRECT_CONV");
        value = __builtin_cpu_supports("avx512f") && !(off && strcmp(off, "0") == 0);
        atomic_store_explicit(&cached, value, memory_order_relaxed);
    }
    return value;
}

#define TARGET __attribute__((target("avx512f")))
#define INLINE static inline __attribute__((always_inline))

// B output channels (8 or 12) x 2 vectors of 16 positions: 2B accumulators, each tap one
// weight broadcast per channel and two input loads. Inlined with constant B and SW (the
// column stride); the arrays have fixed sizes, as arrays sized by B would be VLAs kept in
// memory.
INLINE TARGET void forward_block(const conv_direct_shape *s, const float *xp, const float *wb, const float *bias,
                                 const float *residual, int relu, float *y, long v0, long v1, const int B,
                                 const int SW) {
    long to = (s->tp - s->kt) / s->st + 1, ho = (s->hp - s->kh) / s->sh + 1, wo = (s->wp - s->kw) / SW + 1;
    long wq = phase_columns(s), row = SW * wq, plane = s->hp * row;
    long nv = wo / 16, volume = to * ho * wo;
    for (long v = v0; v < v1; v += 2) {
        int two = v + 1 < v1;
        long va = v, vb = two ? v + 1 : v;
        long ra = va / nv, rb = vb / nv;
        // Where each vector's window starts in the padded clip, and its first output.
        long xa = ((ra / ho) * s->st * s->hp + (ra % ho) * s->sh) * row + (va % nv) * 16;
        long xb = ((rb / ho) * s->st * s->hp + (rb % ho) * s->sh) * row + (vb % nv) * 16;
        long ya = ra * wo + (va % nv) * 16, yb = rb * wo + (vb % nv) * 16;
        __m512 a[12], b[12];
#pragma clang loop unroll(full)
        for (int i = 0; i < B; i++) {
            a[i] = bias ? _mm512_set1_ps(bias[i]) : _mm512_setzero_ps();
            b[i] = a[i];
        }
        const float *wt = wb;
        for (long c = 0; c < s->ci; c++)
            for (long dt = 0; dt < s->kt; dt++)
                for (long dh = 0; dh < s->kh; dh++) {
                    const float *taps = xp + (c * s->tp + dt) * plane + dh * row;
                    for (long dw = 0; dw < s->kw; dw++, wt += B) {
                        // Column w·SW + dw is in phase dw % SW at w + dw / SW.
                        const float *at = taps + (dw % SW) * wq + dw / SW;
                        __m512 x0 = _mm512_loadu_ps(at + xa), x1 = _mm512_loadu_ps(at + xb);
#pragma clang loop unroll(full)
                        for (int i = 0; i < B; i++) {
                            __m512 w = _mm512_set1_ps(wt[i]);
                            a[i] = _mm512_fmadd_ps(w, x0, a[i]);
                            b[i] = _mm512_fmadd_ps(w, x1, b[i]);
                        }
                    }
                }
#pragma clang loop unroll(full)
        for (int i = 0; i < B; i++) {
            long o = i * volume;
            __m512 sa = a[i], sb = b[i];
            if (residual) {
                sa = _mm512_add_ps(sa, _mm512_loadu_ps(residual + o + ya));
                sb = _mm512_add_ps(sb, _mm512_loadu_ps(residual + o + yb));
            }
            if (relu) {
                sa = _mm512_max_ps(sa, _mm512_setzero_ps());
                sb = _mm512_max_ps(sb, _mm512_setzero_ps());
            }
            _mm512_storeu_ps(y + o + ya, sa);
            if (two) _mm512_storeu_ps(y + o + yb, sb);
        }
    }
}

TARGET void conv_direct_forward(const conv_direct_shape *s, const float *xp, const float *packed, const float *bias,
                                const float *residual, int relu, float *y, long v0, long v1) {
    long block = conv_direct_block(s->co), taps = s->ci * s->kt * s->kh * s->kw;
    long volume = ((s->tp - s->kt) / s->st + 1) * ((s->hp - s->kh) / s->sh + 1) * ((s->wp - s->kw) / s->sw + 1);
    for (long o = 0; o < s->co; o += block) {
        const float *wb = packed + o * taps, *bb = bias ? bias + o : 0, *rb = residual ? residual + o * volume : 0;
        float *yb = y + o * volume;
        if (block == 12 && s->sw == 2) forward_block(s, xp, wb, bb, rb, relu, yb, v0, v1, 12, 2);
        else if (block == 12) forward_block(s, xp, wb, bb, rb, relu, yb, v0, v1, 12, 1);
        else if (s->sw == 2) forward_block(s, xp, wb, bb, rb, relu, yb, v0, v1, 8, 2);
        else forward_block(s, xp, wb, bb, rb, relu, yb, v0, v1, 8, 1);
    }
}

// R kernel rows of KW taps (R·KW ≤ 28 accumulators) of one input channel, up to 16 output
// channels (`lanes`): per output position one load of dy's channels and one broadcast of the
// input per tap. Inlined with constant R, KW and SW, so the accumulators live in registers.
INLINE TARGET void gradient_rows(const conv_direct_shape *s, const float *xc, const float *dyT, const long *rowoff,
                                 float *const *out, __mmask16 lanes, const int R, const int KW, const int SW) {
    long to = (s->tp - s->kt) / s->st + 1, ho = (s->hp - s->kh) / s->sh + 1, wo = (s->wp - s->kw) / SW + 1;
    long wq = phase_columns(s), row = SW * wq, co = s->co;
    __m512 acc[28];
    for (int i = 0; i < R * KW; i++) acc[i] = _mm512_setzero_ps();
    for (long t = 0; t < to; t++)
        for (long h = 0; h < ho; h++) {
            const float *xr = xc + (t * s->st * s->hp + h * s->sh) * row;
            const float *dr = dyT + (t * ho + h) * wo * co;
            for (long w = 0; w < wo; w++) {
                __m512 d = _mm512_maskz_loadu_ps(lanes, dr + w * co);
#pragma clang loop unroll(full)
                for (int r = 0; r < R; r++)
#pragma clang loop unroll(full)
                    for (int j = 0; j < KW; j++) {
                        float x = xr[rowoff[r] + (j % SW) * wq + j / SW + w];
                        acc[r * KW + j] = _mm512_fmadd_ps(_mm512_set1_ps(x), d, acc[r * KW + j]);
                    }
            }
        }
    for (int r = 0; r < R; r++)
        for (int j = 0; j < KW; j++) {
            float *o = out[r] + j * co;
            _mm512_mask_storeu_ps(o, lanes, _mm512_add_ps(_mm512_maskz_loadu_ps(lanes, o), acc[r * KW + j]));
        }
}

#define ROWS(KW, R)                                                                                                \
    case R:                                                                                                        \
        if (s->sw == 2) gradient_rows(s, xc, dyT + ov * 16, rowoff, out, lanes, R, KW, 2);                         \
        else gradient_rows(s, xc, dyT + ov * 16, rowoff, out, lanes, R, KW, 1);                                    \
        break;

TARGET void conv_direct_weight_gradient(const conv_direct_shape *s, const float *xp, const float *dyT, float *dW,
                                        long c0, long c1) {
    long co = s->co, kh = s->kh, kw = s->kw, row = s->sw * phase_columns(s);
    long rows = s->kt * kh, most = 28 / kw;
    for (long ov = 0; ov < (co + 15) / 16; ov++)
        for (long c = c0; c < c1; c++) {
            __mmask16 lanes = co - ov * 16 >= 16 ? 0xFFFF : (__mmask16)((1u << (co - ov * 16)) - 1);
            const float *xc = xp + c * s->tp * s->hp * row;
            for (long r0 = 0; r0 < rows; r0 += most) {
                long n = rows - r0 < most ? rows - r0 : most;
                long rowoff[28];
                float *out[28];
                for (long r = 0; r < n; r++) {
                    long dt = (r0 + r) / kh, dh = (r0 + r) % kh;
                    rowoff[r] = (dt * s->hp + dh) * row;
                    out[r] = dW + ((dt * s->ci + c) * kh + dh) * kw * co + ov * 16;
                }
                switch (kw) {
                case 3:
                    switch (n) { ROWS(3, 1) ROWS(3, 2) ROWS(3, 3) ROWS(3, 4) ROWS(3, 5) ROWS(3, 6) ROWS(3, 7)
                                     ROWS(3, 8) ROWS(3, 9) }
                    break;
                case 5:
                    switch (n) { ROWS(5, 1) ROWS(5, 2) ROWS(5, 3) ROWS(5, 4) ROWS(5, 5) }
                    break;
                case 7:
                    switch (n) { ROWS(7, 1) ROWS(7, 2) ROWS(7, 3) ROWS(7, 4) }
                    break;
                }
            }
        }
}
#else
int conv_direct_available(void) { return 0; }
void conv_direct_forward(const conv_direct_shape *s, const float *xp, const float *packed, const float *bias,
                         const float *residual, int relu, float *y, long v0, long v1) {}
void conv_direct_weight_gradient(const conv_direct_shape *s, const float *xp, const float *dyT, float *dW, long c0,
                                 long c1) {}
#endif
