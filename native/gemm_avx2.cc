// GEMM kernels for AVX2 + FMA, compiled through a target pragma so the rest
// of the binary stays baseline x86-64; gemm.cc only selects them after
// checking that the CPU and the OS support AVX2 and FMA.
//
// Micro-kernels: fp32 6 x 16 and fp64 6 x 8, i.e. 6 rows of two ymm vectors:
// 12 accumulators, 2 loads of B and 6 broadcasts of A per k. Edge tiles go
// through a temporary tile (gemm_generic.inc). The small path uses
// maskload/maskstore lane masks.
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include <cstring>

#include "gemm.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma")

namespace ntensor {
namespace gemm {
namespace avx2 {

#include "gemm_generic.inc"

struct F32 {
  using T = float;
  using V = __m256;
  using M = __m256i;  // lane masks for maskload/maskstore
  static constexpr int W = 8;
  static M mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static V maskload(M m, const T* p) { return _mm256_maskload_ps(p, m); }
  static void maskstore(T* p, M m, V v) { _mm256_maskstore_ps(p, m, v); }
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const T* p) { return _mm256_load_ps(p); }
  static V loadu(const T* p) { return _mm256_loadu_ps(p); }
  static void storeu(T* p, V v) { _mm256_storeu_ps(p, v); }
  static V set1(T x) { return _mm256_set1_ps(x); }
  static V bcast(const T* p) { return _mm256_broadcast_ss(p); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
};
struct F64 {
  using T = double;
  using V = __m256d;
  using M = __m256i;
  static constexpr int W = 4;
  static M mask(int n) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
  }
  static V maskload(M m, const T* p) { return _mm256_maskload_pd(p, m); }
  static void maskstore(T* p, M m, V v) { _mm256_maskstore_pd(p, m, v); }
  static V zero() { return _mm256_setzero_pd(); }
  static V load(const T* p) { return _mm256_load_pd(p); }
  static V loadu(const T* p) { return _mm256_loadu_pd(p); }
  static void storeu(T* p, V v) { _mm256_storeu_pd(p, v); }
  static V set1(T x) { return _mm256_set1_pd(x); }
  static V bcast(const T* p) { return _mm256_broadcast_sd(p); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
};

// How many k steps ahead the micro-kernel prefetches the B micro-panel.
constexpr index_t kPrefetchB = 32;

// One full MR x (NV * W) tile.
template <typename X, int MR, int NV>
void ukernel_full(index_t kc, const typename X::T* A, const typename X::T* B,
                  typename X::T* C, index_t ldc, bool loadC, typename X::T alpha,
                  typename X::T beta) {
  using T = typename X::T;
  using V = typename X::V;
  constexpr int W = X::W, NR = NV * W;
  V c[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) c[i][v] = loadC ? X::loadu(C + i * ldc + v * W) : X::zero();
  }
#pragma GCC unroll 2
  for (index_t p = 0; p < kc; ++p) {
    V b[NV];
    // The B block streams from L2: fetch it kPrefetchB steps ahead (one
    // cache line per step for both dtypes).
    _mm_prefetch(reinterpret_cast<const char*>(B + (p + kPrefetchB) * NR), _MM_HINT_T0);
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) b[v] = X::load(B + p * NR + v * W);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const V a = X::bcast(A + p * MR + i);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) c[i][v] = X::fmadd(a, b[v], c[i][v]);
    }
  }
  if (beta == T(0)) {
    const bool scale = alpha != T(1);
    const V va = X::set1(alpha);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        X::storeu(C + i * ldc + v * W, scale ? X::mul(va, c[i][v]) : c[i][v]);
      }
    }
  } else {
    const V va = X::set1(alpha), vb = X::set1(beta);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        T* cp = C + i * ldc + v * W;
        X::storeu(cp, X::fmadd(va, c[i][v], X::mul(vb, X::loadu(cp))));
      }
    }
  }
}

constexpr int kMR32 = 6, kNR32 = 16, kMR64 = 6, kNR64 = 8;


double fma_loop(bool f64, long iters, double* flops) {
  return f64 ? fma_loop_simd<F64>(iters, flops) : fma_loop_simd<F32>(iters, flops);
}

}  // namespace avx2

const Isa isa_avx2 = {
    "avx2",
    1,
    {{avx2::kMR32, avx2::kNR32, 144, 256, 1024},
     avx2::ukernel_tiled<float, avx2::kMR32, avx2::kNR32,
                         avx2::ukernel_full<avx2::F32, avx2::kMR32, 2>>,
     avx2::packA<float, avx2::kMR32>,
     avx2::packB<float, avx2::kNR32>,
     avx2::small_gemm_simd<avx2::F32>},
    {{avx2::kMR64, avx2::kNR64, 144, 256, 512},
     avx2::ukernel_tiled<double, avx2::kMR64, avx2::kNR64,
                         avx2::ukernel_full<avx2::F64, avx2::kMR64, 2>>,
     avx2::packA<double, avx2::kMR64>,
     avx2::packB<double, avx2::kNR64>,
     avx2::small_gemm_simd<avx2::F64>},
    avx2::fma_loop,
};

}  // namespace gemm
}  // namespace ntensor

#pragma GCC pop_options
#endif
