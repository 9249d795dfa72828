#ifndef CONV_KERNELS_H
#define CONV_KERNELS_H

/// Direct convolutions for convs with few output channels (the motion-vector network's 3x7x7
/// stem and 16-channel layer, R(2+1)D's 36-channel stem and layer-1 spatial convs), in C so
/// they can use AVX-512 when the CPU has it (chosen once at run time) while Swift compiles for
/// the baseline CPU. Where im2col + sgemm write a K x positions column matrix and run a GEMM
/// only 16 to 36 rows tall, these keep 16 output positions (forward) or 16 output channels
/// (weight gradient) in each register and read a padded copy of the clip in place
/// (docs/backbone.md §4).
///
/// The padded clip is `[ci][tp][hp][sw][wq]`: each padded row split into its `sw` column phases
/// (`wq = ceil(wp / sw)` columns each), so that a stride-2 conv reads 16 outputs' inputs from
/// one phase with one contiguous load. Output `y [co][to][ho][wo]` with `to = (tp - kt) / st +
/// 1` and so on; weights `[co][ci][kt][kh][kw]`.
typedef struct {
    long ci, co;     ///< input and output channels
    long tp, hp, wp; ///< the padded input's size
    long kt, kh, kw; ///< kernel
    long st, sh, sw; ///< strides; sw is 1 or 2
} conv_direct_shape;

/// 1 when the direct kernels run on this CPU (AVX-512F), else 0: callers then use their GEMM
/// lowerings. `DECOUPLE_DIRECT_CONV=0` in the environment turns them off (to compare the two
/// paths in one build, or to test the other path on an AVX-512 machine).
int conv_direct_available(void);

/// Floats of the padded clip.
long conv_direct_padded_count(const conv_direct_shape *s);

/// The padded clip (see above) of `x [ci][t][h][w]` with padding `pt, ph, pw` (so that
/// `s->tp == t + 2 pt` and so on), zeros around it.
void conv_pad(const float *x, long t, long h, long w, long pt, long ph, long pw, const conv_direct_shape *s, float *xp);

/// Output channels per register block of `conv_direct_forward`: 12 when they divide co (R(2+1)D's
/// 36 mid channels), else 8.
long conv_direct_block(long co);

/// Output vectors `[v0, v1)`, vector v covering 16 consecutive positions of one output row
/// (`wo % 16 == 0`, vectors numbered over `[to][ho][wo/16]`), every output channel:
/// `y = act(conv(xp) + bias + residual)`, with `bias [co]` and `residual` (laid out as `y`)
/// optional and act ReLU when `relu` is nonzero; weights `packed [co/B][ci·kt·kh·kw][B]` with
/// B = `conv_direct_block(co)`. Requires co % B == 0 and the kernels available.
void conv_direct_forward(const conv_direct_shape *s, const float *xp, const float *packed, const float *bias,
                         const float *residual, int relu, float *y, long v0, long v1);

/// `dyT [positions][co]` from `dy [co][positions]`.
void conv_channels_last(const float *dy, long co, long positions, float *dyT);

/// The weight gradient over one clip, input channels `[c0, c1)`:
/// `dW [kt][ci][kh][kw][co] += sum over output positions p of xp[tap at p] · dyT[p]`, with
/// `dyT [to·ho·wo][co]` (`conv_channels_last`); kw 3, 5 or 7. A last block of fewer than 16
/// channels runs masked. Requires the kernels available.
void conv_direct_weight_gradient(const conv_direct_shape *s, const float *xp, const float *dyT, float *dW, long c0,
                                 long c1);

#endif
