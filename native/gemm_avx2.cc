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
#include "target.h"

NT_TARGET_BEGIN("avx2,fma")

namespace ntensor {
namespace gemm {
namespace avx2 {

#include "gemm_generic.inc"

// Transposes an 8 x 8 block of floats held as 8 row vectors: afterwards r[c]
// holds column c.
inline void transpose8x8(__m256 r[8]) {
  __m256 t[8], u[8];
#pragma GCC unroll 4
  for (int q = 0; q < 4; ++q) {
    t[2 * q] = _mm256_unpacklo_ps(r[2 * q], r[2 * q + 1]);
    t[2 * q + 1] = _mm256_unpackhi_ps(r[2 * q], r[2 * q + 1]);
  }
  // u[4h + e], 128-bit lane L: rows 4h..4h+3 of column 4L + e.
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h) {
    u[4 * h + 0] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0x44);
    u[4 * h + 1] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0xEE);
    u[4 * h + 2] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0x44);
    u[4 * h + 3] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0xEE);
  }
#pragma GCC unroll 4
  for (int e = 0; e < 4; ++e) {
    r[e] = _mm256_permute2f128_ps(u[e], u[4 + e], 0x20);
    r[4 + e] = _mm256_permute2f128_ps(u[e], u[4 + e], 0x31);
  }
}

// Transposes a 4 x 4 block of doubles held as 4 row vectors.
inline void transpose4x4(__m256d r[4]) {
  const __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
  const __m256d t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
  r[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
  r[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
  r[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
  r[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
}

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
  static void store(T* p, V v) { _mm256_store_ps(p, v); }
  static void transpose(V r[W]) { transpose8x8(r); }
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
  static void store(T* p, V v) { _mm256_store_pd(p, v); }
  static void transpose(V r[W]) { transpose4x4(r); }
  static V loadu(const T* p) { return _mm256_loadu_pd(p); }
  static void storeu(T* p, V v) { _mm256_storeu_pd(p, v); }
  static V set1(T x) { return _mm256_set1_pd(x); }
  static V bcast(const T* p) { return _mm256_broadcast_sd(p); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
};

// How many k steps ahead the micro-kernel prefetches the B micro-panel.
constexpr index_t kPrefetchB = 32;

// Tiles: fp32 6 x 16 (two vectors), fp64 6 x 8.
constexpr int kMR32 = 6, kMR64 = 6;

}  // namespace avx2

const Isa isa_avx2 = {
    "avx2",
    1,
    avx2::simd_kernels<avx2::F32, avx2::kMR32, 2, avx2::kPrefetchB>(144, 256, 1024, 48),
    avx2::simd_kernels<avx2::F64, avx2::kMR64, 2, avx2::kPrefetchB>(144, 256, 512, 48),
    avx2::fma_loop_pair<avx2::F32, avx2::F64>,
};

}  // namespace gemm
}  // namespace ntensor

NT_TARGET_END
#endif
