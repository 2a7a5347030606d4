// ntensor's numeric core: plain C++ over raw pointers and sizes. Nothing here
// knows about Node; the Node-API boundary (addon.cc) validates every size and
// pointer before calling in, so these functions assume their preconditions.
//
// Summation order (the contract every kernel keeps): each output element is
// one accumulator that starts at 0 and takes its products in ascending
// reduction index, each step a fused multiply-add (one rounding per product:
// std::fma / __builtin_fma in scalar code, vfmadd in SIMD code). Two code
// paths that reduce the same products in the same order therefore give the
// same bits. That is what makes d2l §6.4.3's two formulations of a 1x1
// convolution (matmul, and the per-channel cross-correlation sum) agree
// exactly rather than to within a tolerance: the reduction index of GEMM is
// k, and that of conv2d is (input channel, kernel row, kernel column) in that
// order, which for a 1x1 kernel is the input channel alone.
//
// GEMM keeps it on every path: the small loop, the packed (BLIS) path with
// any blocking, every ISA (avx512, avx2, scalar) and every thread count.
// Threads split C by blocks of rows and columns, never k. The packed path
// cuts k into KC-deep blocks; for blocks after the first the micro-kernel
// loads the partial sums from C into its accumulators instead of starting
// from 0, so the accumulator simply continues. Exactly:
//   S(i, j) = fma(a(i,k-1), b(k-1,j), ... fma(a(i,1), b(1,j), fma(a(i,0), b(0,j), +0)))
//   beta == 0 (any alpha):  C(i, j) = alpha * S(i, j)   (alpha == 1: S itself;
//                           C is not read, so NaN in C does not leak)
//   beta != 0, k <= KC of the ISA (or the small path, or the matrix-vector
//                           path that m == 1 or n == 1 takes):
//                           C(i, j) = fma(alpha, S(i, j), beta * C(i, j))
//   beta != 0, k > KC:      C = fma(alpha, S_0, beta * C), then
//                           C = fma(alpha, S_p, C) for each later KC block p
//                           (BLAS-style; within the usual error bound, and
//                           not promised bit-identical across ISAs).
// In particular, for alpha = 1, beta = 0 (matmul and conv2d use only that)
// the fast GEMM is bit-identical to the naive sequential-fma triple loop.
// k == 0 or alpha == 0: C = beta * C (zeros if beta == 0); A, B not read.
#pragma once
#include <cstddef>
#include <cstdint>

namespace ntensor {

using index_t = std::int64_t;

// C = alpha * op(A) * op(B) + beta * C, row-major, with leading dimensions.
// op(A) is m x k, op(B) is k x n, C is m x n. transA means A is stored k x m.
// When beta == 0, C is not read (BLAS convention: NaN in C does not leak).
void gemm_f32(bool transA, bool transB, index_t m, index_t n, index_t k,
              float alpha, const float* A, index_t lda, const float* B,
              index_t ldb, float beta, float* C, index_t ldc);
void gemm_f64(bool transA, bool transB, index_t m, index_t n, index_t k,
              double alpha, const double* A, index_t lda, const double* B,
              index_t ldb, double beta, double* C, index_t ldc);

// Shapes and arguments of a 2-D convolution (cross-correlation, as PyTorch's
// conv2d): input N x C x H x W, weight Cout x (C / groups) x KH x KW, output
// N x Cout x OH x OW with
//   OH = (H + padTop + padBottom - dilationH * (KH - 1) - 1) / strideH + 1
// (the same for W). Output channel co of group g = co / (Cout / groups) reads
// input channels [g * C / groups, (g + 1) * C / groups). The caller (addon.cc)
// has checked every size: groups divides C and Cout, the dilated kernel fits
// the padded input, and no size product overflows.
//
// Reduction order (the contract above): per output element, (input channel
// of its group, kernel row, kernel column) ascending, every product one FMA,
// products that fall on the zero padding included as fma(0, w, acc) (so a
// non-finite weight over the padding gives NaN, as PyTorch's im2col does);
// the bias, if any, is added once after the reduction.
struct Conv2dShape {
  index_t n, c, h, w;
  index_t cout, kh, kw;
  index_t strideH, strideW;
  index_t padTop, padLeft, padBottom, padRight;
  index_t dilationH, dilationW;
  index_t groups;
  index_t oh, ow;
};

// y = conv2d(x, weight) + bias (bias may be null). y is fully written.
// Threads over images, output channels and output pixel blocks (conv.cc).
// `packed`, if not null, holds the weights packed ahead by conv2d_pack_*
// for the current layout (conv2d_pack_layout_*) from the same cout x
// (c / groups * kh * kw) weights in the same groups: the transposed implicit
// GEMM then reads them instead of packing the weights it needs per call
// (the other paths read `weight`; the bits are the same either way).
void conv2d_f32(const Conv2dShape& s, const float* x, const float* weight,
                const float* bias, float* y, const float* packed = nullptr);
void conv2d_f64(const Conv2dShape& s, const double* x, const double* weight,
                const double* bias, double* y, const double* packed = nullptr);

// Weights packed once for many conv2d calls (JS: packConv2d): for each
// group, the transposed implicit GEMM's W^T blocks (kConvPackKC reduction
// steps x the tile kernel's pfNR output channels, in the GEMM's NR-wide
// micro-panels) in the order it reads them. The layout depends on the ISA's
// kernels: conv2d_pack_layout_* names the current one (0: this ISA has no
// such kernel for the dtype, nothing to pack), and a packing is used only
// under the layout it was made for. conv2d_pack_size_* is the elements a
// packing of cout x k weights in `groups` groups takes (0 when the layout
// is 0); conv2d_pack_* writes it to dst, which must be 64-byte aligned.
std::int64_t conv2d_pack_layout_f32();
std::int64_t conv2d_pack_layout_f64();

// Whether a packing of `packed` elements made from `weights` elements is
// worth making: at most 4x the weights plus 1 MiB. Packings round each
// group's blocks up (kConvPackKC x pfNR, or the GEMM's MR rows for
// Winograd), so few channels per group blow them up (a 1x1 depthwise
// layer: 8192x its weights), and such layers never take a packed path.
// conv2d_pack_size_* is 0 past it; conv2dWinogradPack makes nothing.
inline bool conv2d_packing_pays(double packed, double weights, std::size_t elementBytes) {
  return packed <= 4.0 * weights + double(std::size_t(1) << 20) / double(elementBytes);
}
index_t conv2d_pack_size_f32(index_t cout, index_t k, index_t groups);
index_t conv2d_pack_size_f64(index_t cout, index_t k, index_t groups);
void conv2d_pack_f32(const float* weight, index_t cout, index_t k, index_t groups, float* dst);
void conv2d_pack_f64(const double* weight, index_t cout, index_t k, index_t groups, double* dst);

// Winograd F(2x2, 3x3) (JS: packConv2d's winograd option), for a conv2d
// whose kernel is 3 x 3 with stride 1 and dilation 1 (conv2d_winograd_applies;
// any padding, groups, bias, batch). 16 multiplies per 2 x 2 output pixels
// and input channel instead of 36, through 16 GEMMs per chunk of tiles. The
// transforms add and subtract, so the results are within a few ulps of the
// exact convolution but NOT bit-identical to conv2d_*: the summation
// contract above does not hold for it. conv2d_winograd_pack_* writes the
// transformed weights, conv2d_winograd_size_* elements (16 matrices of
// cout/groups x cg per group, cg = input channels per group, packed for the
// current ISA's GEMM: conv2d_winograd_layout_* names the layout; a packing is
// only used under the layout it was made for), from cout x cg x 3 x 3
// weights in `groups` groups (false: out of memory, nothing usable written);
// conv2d_winograd_* takes them with the same weights w (and conv2d_*'s
// `packed`, or null): where Winograd would not be faster (few input or
// output channels per group, few output pixels: conv.cc, winograd_pays), a
// test hook has forced a conv2d path, or its buffers cannot be had, it runs
// conv2d_* instead, with conv2d's bits. y is fully written.
bool conv2d_winograd_applies(const Conv2dShape& s);
std::int64_t conv2d_winograd_layout_f32();
std::int64_t conv2d_winograd_layout_f64();
index_t conv2d_winograd_size_f32(index_t cout, index_t cg, index_t groups);
index_t conv2d_winograd_size_f64(index_t cout, index_t cg, index_t groups);
bool conv2d_winograd_pack_f32(const float* w, index_t cout, index_t cg, index_t groups, float* u);
bool conv2d_winograd_pack_f64(const double* w, index_t cout, index_t cg, index_t groups, double* u);
void conv2d_winograd_f32(const Conv2dShape& s, const float* x, const float* w, const float* u,
                         const float* bias, float* y, const float* packed = nullptr);
void conv2d_winograd_f64(const Conv2dShape& s, const double* x, const double* w, const double* u,
                         const double* bias, double* y, const double* packed = nullptr);

// What the calling thread's last conv2d did: the path ("pointwise", "gemm",
// "gemm-t", "direct-t", "direct", "winograd", "reference" or "empty"; conv.h describes them), the bytes of packed weights it
// allocated (implicit GEMM), the bytes of the packed input block each
// thread used, and the threads it ran on. For benchmarks and tests.
struct Conv2dCallInfo {
  const char* path;
  std::size_t packedWeightBytes;
  std::size_t tileBytesPerThread;
  int threads;
};
Conv2dCallInfo conv2d_last_call();

// Test hook: which conv2d path later calls take: "auto" (the default),
// "reference" (the simple loops), "direct", "gemm" (implicit GEMM), "gemm-t"
// (transposed implicit GEMM), "direct-t" (transposed direct; only with unit
// column stride and AVX-512 fp32, else auto), "pointwise" (1x1 GEMM; only
// where it applies, else auto) or "winograd" (conv2d_winograd_* always
// computes by Winograd, even where it does not pay; conv2d_* as auto). Every
// path but Winograd gives the same bits; any mode but "auto" and
// "winograd" makes conv2d_winograd_* run conv2d_* with that mode. Returns the mode set, or nullptr for an unknown name.
const char* set_conv_path(const char* name);

// 2-D max and average pooling over N x C x H x W, the rules of
// torch.nn.functional's max_pool2d / avg_pool2d on the CPU: output
// N x C x OH x OW (OH, OW computed and checked by the caller, ceil_mode
// included). Window oy starts at row oy * strideH - padH.
// Max pooling reads rows start, start + dilationH, ... (KH of them) that lie
// in the input, from -inf, taking an element when it is greater or NaN (so
// NaN propagates and the padding acts as -inf; a window with no real
// element, possible with dilation, gives -inf).
// Average pooling (dilation 1) sums the window's real elements in ascending
// (row, column) order from 0 and divides by `divisor` when it is not 0, else
// by the window's size clipped to the padded input (countIncludePad: rows
// up to H + padH, which is KH * KW unless ceil_mode lets the last window
// run past it) or by its number of real elements (!countIncludePad; never 0:
// every average window holds a real element).
struct Pool2dShape {
  index_t n, c, h, w;
  index_t kh, kw;
  index_t strideH, strideW;
  index_t padH, padW;
  index_t dilationH, dilationW;  // max pooling; 1 for average pooling
  index_t oh, ow;
  bool countIncludePad;  // average pooling
  index_t divisor;       // average pooling: 0, or divide every window by this
};
void max_pool2d_f32(const Pool2dShape& s, const float* x, float* y);
void max_pool2d_f64(const Pool2dShape& s, const double* x, double* y);
void avg_pool2d_f32(const Pool2dShape& s, const float* x, float* y);
void avg_pool2d_f64(const Pool2dShape& s, const double* x, double* y);

// The instruction set the kernels run now: "avx512", "avx2" or "scalar".
// Chosen once, the first time a kernel runs: the best the CPU (and, for the
// vector registers' state, the OS) supports, or a lower one named by the
// environment variable NTENSOR_ISA=avx512|avx2|scalar (never a higher one).
const char* kernel_isa();
// Test hook: switches every later kernel call to the best supported ISA at
// or below `name` ("avx512", "avx2", "scalar", or "auto" for the best).
// Returns the ISA now in use, or nullptr (nothing changed) for an unknown
// name. Safe while other threads run kernels: each call reads the choice
// once.
const char* set_kernel_isa(const char* name);
// Fills names with the ISAs this CPU supports, best first; returns how many.
int supported_isas(const char** names, int max);

// Test hook: which GEMM path later calls take. "auto" (the default:
// matrix-vector products (m == 1 or n == 1) take the GEMV kernels, other
// small products the no-packing loop, large ones the packed path, threads by
// amount of work), "small" (always the loop), "packed" (always the packed
// path, both operands packed, threads as in auto), "parallel" (the packed
// path, B read in place where auto would (gemm.cc), and split over every
// thread whenever there are enough micro-tiles, however little the work) or
// "gemv" (as auto, but matrix-vector products split over every thread
// whenever they have more than 64 outputs).
// Returns the mode set, or nullptr for an unknown name.
const char* set_gemm_path(const char* name);

// The current ISA's FMA peak on the calling thread, in GFLOP/s, from a
// register-only loop run for about `seconds` (for speed scripts: a shared
// machine's clock varies, so GEMM speed is best read next to it).
double fma_peak_gflops(bool f64, double seconds);

// Register and cache blocking of the current ISA's GEMM for one dtype.
struct GemmBlocking {
  int mr, nr, mc, kc, nc, small;
};
GemmBlocking gemm_blocking(bool f64);

}  // namespace ntensor
