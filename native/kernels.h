// ntensor's numeric core: plain C++ over raw pointers and sizes. Nothing here
// knows about Node; the Node-API boundary (addon.cc) validates every size and
// pointer before calling in, so these functions assume their preconditions.
//
// Summation order (the contract every kernel keeps): each output element is
// one accumulator that starts at 0 and takes its products in ascending
// reduction index, each step a fused multiply-add (one rounding per product).
// Two code paths that reduce the same products in the same order therefore
// give the same bits. That is what makes d2l §6.4.3's two formulations of a
// 1x1 convolution (matmul, and the per-channel cross-correlation sum) agree
// exactly rather than to within a tolerance: the reduction index of GEMM is
// k, and that of conv2d is (input channel, kernel row, kernel column) in that
// order, which for a 1x1 kernel is the input channel alone.
#pragma once
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
// conv2d): input N x C x H x W, weight Cout x C x KH x KW, output
// N x Cout x OH x OW with OH = (H + 2*padH - KH) / strideH + 1 (same for W).
struct Conv2dShape {
  index_t n, c, h, w;
  index_t cout, kh, kw;
  index_t strideH, strideW, padH, padW;
  index_t oh, ow;
};

// y = conv2d(x, weight) + bias (bias may be null). y is fully written.
void conv2d_f32(const Conv2dShape& s, const float* x, const float* weight,
                const float* bias, float* y);
void conv2d_f64(const Conv2dShape& s, const double* x, const double* weight,
                const double* bias, double* y);

// The instruction set the kernels dispatch to on this CPU ("avx2-fma" or
// "scalar"). Decided once, the first time any kernel runs.
const char* kernel_isa();

}  // namespace ntensor
