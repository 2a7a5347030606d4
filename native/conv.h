// Internal convolution machinery shared by the driver (conv.cc) and the
// per-ISA kernel files (conv_scalar.cc, conv_avx2.cc, conv_avx512.cc, which
// compile conv_generic.inc under their target pragmas). Plain C++; nothing
// here knows about Node. Shapes and the summation-order contract are in
// kernels.h (Conv2dShape).
//
// Paths (conv.cc picks one per call; test hooks can force one):
//   pointwise  1x1 kernel, stride 1, no padding: per image and group one GEMM
//              straight on the N-C-H-W buffers, weight (Cout/g x C/g) times
//              input (C/g x H*W), no copies.
//   gemm       implicit GEMM: the weights are packed once per call into the
//              GEMM's A micro-panels (packA); B micro-panels (KC x NR, gemm.h)
//              are packed straight from the image by pack_b below, one
//              cache-sized block at a time per thread (im2col is never
//              materialised); then the GEMM micro-kernel runs over them.
//   gemm-t     transposed implicit GEMM for few output pixels (<= 256) and
//              many channels (deep ResNet layers, 512 x 7^2): output pixels
//              are the tile's rows and channels its vectors; the im2col^T
//              is packed in 7-pixel panels once per image, the weights are
//              packed as W^T one 128 x 64 block at a time per thread while
//              they are used (prefetched towards L2 the block before), never
//              all at once; the tile (pixels x channels) is transposed into y.
//   direct-t   transposed direct conv for many output pixels with unit column
//              stride: tiles of 7 output pixels of one row x 64 channels read
//              their inputs from the image in place through a table of
//              reduction offsets (tiles on the padding from a small
//              zero-padded strip); W^T of 64 channels over the whole depth is
//              packed per thread. gemm-t and direct-t need the ISA's own tile
//              kernels (AVX-512 fp32); when forced elsewhere gemm-t runs the
//              GEMM's micro-kernel and direct-t falls back to auto.
//   direct     register-blocked loops for few output channels per group or
//              one input channel per group (depthwise): SIMD over output
//              columns, a few output channels at a time, padding as zero
//              lanes of masked loads; no packing, no allocation.
//   reference  the simple loops of reference_loops.inc.
// All of them keep the contract of kernels.h, so they give identical bits.
#pragma once
#include <cstddef>
#include <limits>
#include <vector>

#include "kernels.h"

namespace ntensor {
namespace conv {

// Output columns q in [q0, q0 + nc) of one image, cut into pieces that stay
// within one output row and one micro-panel: output row oy, columns
// [ox, ox + len), landing at column q - q0 = panel * NR + lane of the packed
// block. Built once per block, reused for every reduction row of it.
struct Segment {
  index_t panel, lane, oy, ox, len;
};

// Packs reduction rows [p0, p0 + kc) (p = (ci * KH + ki) * KW + kj, ci local
// to the group whose first input plane is x) of the implicit im2col matrix,
// for the output columns described by segs (nc columns in all), into
// NR-wide micro-panels at dst: element (p - p0, j) at
// dst[(j / NR) * kc * NR + (p - p0) * NR + j % NR]; columns past nc up to the
// next multiple of NR are zero, and so is every element on the padding.
template <typename T>
using PackBFn = void (*)(const Conv2dShape& s, const T* x, index_t p0, index_t kc,
                         const Segment* segs, index_t nsegs, index_t nc, int nr, T* dst);

// Kernel widths up to this take the direct kernel (it keeps the lane masks
// and offsets of every kernel column on the stack); wider ones never do.
constexpr index_t kDirectMaxKw = 16;

// The direct kernel for output channels [co0, co1) of one group of one
// image, output rows [oy0, oy1): x points at the group's first input plane,
// w at output channel co0's weights, y at output channel co0's plane;
// bias (or null) at co0's bias.
template <typename T>
using DirectFn = void (*)(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y,
                          index_t ncout, index_t oy0, index_t oy1);

// The micro-kernel of the transposed implicit GEMM where the ISA has its
// own (gemm.h's MicroKernel contract with alpha = 1, beta = 0): an
// mr x nr tile (mr <= pfMR, nr <= pfNR) of C = A * B over kc steps, A an
// MR-high micro-panel of pfMR rows (element (i, p) at A[p * pfMR + i]), B
// pfNR / NR of the GEMM's NR-wide micro-panels, the second at B + bstride,
// ... (element (p, j) at B[(j / NR) * bstride + p * NR + j % NR]); the
// accumulators start from 0 or from C (loadC). One more stream: before k
// steps 0, every, 2 * every, ... (every > 0; 0: none) it prefetches the next
// 64-byte line of a block of rows towards L2 (pf, then pf + 64, ...; after
// rowLines lines of a row, the next row, rowSkip bytes further): the next
// weights, so that packing them does not wait for memory. Returns where the
// walk stopped (pf, and the line within the row in *col).
template <typename T>
using PrefetchKernel = const char* (*)(index_t kc, const T* A, const T* B, index_t bstride, T* C,
                                       index_t ldc, int mr, int nr, bool loadC, const char* pf,
                                       index_t every, index_t rowLines, index_t rowSkip,
                                       index_t* col);

// The tile kernel of the transposed direct path (conv.cc: direct_t): mr
// (<= pfMR) output pixels x nr (<= pfNR) output channels over the whole
// reduction, accumulators from 0 taking k = 0, 1, ..., K - 1 in order; the
// products of pixel i at step k are a[off[k] + i * sx] * B(k, channel)
// (sx, the pixels' column stride, 1 or 2), B as in
// PrefetchKernel (NR-wide panels, K deep, bstride elements apart). Stores
// acc (+ bias[c], or nothing added if bias is null) to y[c * ldy + i].
// Over reduction steps [0, kc) of a block (off and B already at its first
// step): the accumulators start from 0, or from ct (loadC: pixel i's row at
// ct + i * ldct, channels contiguous); if y is null they are stored back to
// ct, else (the last block) stored as above.
template <typename T>
using TileKernel = void (*)(index_t kc, const T* a, index_t sx, const index_t* off, const T* B,
                            index_t bstride, T* ct, index_t ldct, bool loadC, const T* bias, T* y,
                            index_t ldy, int mr, int nr);

// The input strip of one direct_t tile on the padding: for every input
// channel ci < C / groups and kernel row ki, the sw input columns
// [ix0, ix0 + sw) of input row iy0 + ki * dilationH (zeros outside the
// image) at dst[(ci * KH + ki) * sw + u]; x at the group's first plane.
template <typename T>
using StripFn = void (*)(const Conv2dShape& s, const T* x, index_t iy0, index_t ix0, index_t sw,
                         T* dst);

// gemm-t's output tile into y: np pixels x nco channels, channel c of
// pixel r at tile[(c / ldt) * block + r * ldt + c % ldt] (blocks of ldt
// channels, `block` elements apart), written to y[c * P + r] plus bias[c]
// (bias may be null). ldt is a multiple of 16.
template <typename T>
using TileOutFn = void (*)(const T* tile, index_t ldt, index_t block, index_t np, index_t nco,
                           const T* bias, T* y, index_t P);

// Pooling of `planes` consecutive N-C-H-W planes (kernels.h: Pool2dShape
// and its contract): each plane of `in` is h x w, of `out` oh x ow.
template <typename T>
using PoolPlaneFn = void (*)(const Pool2dShape& s, const T* in, T* out, index_t planes);

// Winograd F(2x2, 3x3)'s transforms of one chunk of tile rows
// (conv_generic.inc: wino_in, wino_out).
template <typename T>
using WinoInFn = void (*)(const Conv2dShape& s, const T* x, index_t cg, index_t ty0, index_t ty1,
                          index_t tw, T* v, index_t nt);
template <typename T>
using WinoOutFn = void (*)(const Conv2dShape& s, const T* m, index_t mg, index_t ty0, index_t ty1,
                           index_t tw, index_t nt, const T* bias, T* y);

// One mr x nr output tile of the implicit GEMM with B's rows read in place
// (no packing): row p of B is rows[p] + off, contiguous; a is the GEMM's
// packed A micro-panel (kc x MR, MR = the GEMM's mr); the tile is written to
// c (rows ldc apart), not added to. Each element: one accumulator from 0,
// products in ascending p, one fused multiply-add each (kernels.h), so the
// bits are the packed path's.
template <typename T>
using IndirectTileFn = void (*)(index_t kc, const T* a, const T* const* rows, index_t off, T* c,
                                index_t ldc, int mr, int nr);

template <typename T>
struct Kernels {
  PackBFn<T> packB;
  DirectFn<T> direct;
  PrefetchKernel<T> ukernelPf;  // null where the ISA has none
  int pfMR, pfNR;               // its tile (rows, columns)
  TileKernel<T> tile;           // null where the ISA has none (same tile)
  StripFn<T> strip;
  PoolPlaneFn<T> maxPool, avgPool;
  WinoInFn<T> winoIn;
  WinoOutFn<T> winoOut;
  TileOutFn<T> tileOut;  // null where the ISA has none (conv.cc's loop)
  IndirectTileFn<T> indirect;  // null where the ISA has none (conv.cc: implicit_gemm)
};

struct Isa {
  Kernels<float> f32;
  Kernels<double> f64;
};

// The kernels conv2d and pooling use now: the table of the GEMM's ISA
// (gemm::current_isa(), so NTENSOR_ISA and the test hook apply).
template <typename T>
const Kernels<T>& current_kernels();
template <>
const Kernels<float>& current_kernels<float>();
template <>
const Kernels<double>& current_kernels<double>();

extern const Isa isa_scalar;
#if defined(__x86_64__) || defined(_M_X64)
extern const Isa isa_avx2;
extern const Isa isa_avx512;
#endif

// The simple loops (reference_loops.inc through dispatch.cc).
void reference_f32(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                   float* y);
void reference_f64(const Conv2dShape& s, const double* x, const double* w, const double* bias,
                   double* y);

}  // namespace conv
}  // namespace ntensor
