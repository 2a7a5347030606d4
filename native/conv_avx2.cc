// The convolution kernels (conv_generic.inc) for AVX2 + FMA, through a
// target pragma (the rest of the binary stays baseline x86-64); conv.cc
// selects them only when the GEMM ISA in use is avx2 or better. Lane masks
// for maskload/maskstore; strided loads are masked gathers.
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "conv.h"
#include "target.h"

NT_TARGET_BEGIN("avx2,fma")

namespace ntensor {
namespace conv {
namespace avx2 {

// For elements of B bytes: lane l of the result is element l - 1 of the row
// whose vectors are prev, cur (lane 0: prev's last), or element l + 1 of
// cur, next (the last lane: next's first). A 128-bit lane swap, then a byte
// shift within each 128-bit lane.
template <int B>
inline __m256i left_neighbours_bytes(__m256i prev, __m256i cur) {
  return _mm256_alignr_epi8(cur, _mm256_permute2x128_si256(prev, cur, 0x21), 16 - B);
}
template <int B>
inline __m256i right_neighbours_bytes(__m256i cur, __m256i next) {
  return _mm256_alignr_epi8(_mm256_permute2x128_si256(cur, next, 0x21), cur, B);
}

struct F32 {
  using T = float;
  using V = __m256;
  using M = __m256i;
  static constexpr int W = 8;
  static constexpr int kMaxAcc = 8;
  static constexpr int kChains = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V set1(T x) { return _mm256_set1_ps(x); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V div(V a, V b) { return _mm256_div_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V select(M m, V a, V b) { return _mm256_blendv_ps(a, b, _mm256_castsi256_ps(m)); }  // m ? b : a
  static M from_bits(std::uint32_t bits) {  // lane l: bit l
    const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    return _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(int(bits)), bit), bit);
  }
  // v where v > acc or v is NaN, else acc (pooling's max)
  static V maxnan(V acc, V v) {
    return _mm256_blendv_ps(acc, v, _mm256_or_ps(_mm256_cmp_ps(v, acc, _CMP_GT_OQ), _mm256_cmp_ps(v, v, _CMP_UNORD_Q)));
  }
  static M lanes(int lo, int hi) {
    const __m256i i = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(lo), i),
                               _mm256_cmpgt_epi32(_mm256_set1_epi32(hi), i));
  }
  static V load(M m, const T* p) { return _mm256_maskload_ps(p, m); }
  static V loadu(const T* p) { return _mm256_loadu_ps(p); }
  static void storeu(T* p, V v) { _mm256_storeu_ps(p, v); }
  static V left_neighbours(V prev, V cur) {
    return _mm256_castsi256_ps(left_neighbours_bytes<4>(_mm256_castps_si256(prev), _mm256_castps_si256(cur)));
  }
  static V right_neighbours(V cur, V next) {
    return _mm256_castsi256_ps(right_neighbours_bytes<4>(_mm256_castps_si256(cur), _mm256_castps_si256(next)));
  }
  // The even and odd elements of the row whose vectors are lo, hi: pairs
  // picked within 128-bit lanes, then the 64-bit quarters put in order.
  static void deinterleave(V lo, V hi, V& even, V& odd) {
    even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, 0x88)), 0xD8));
    odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, 0xDD)), 0xD8));
  }
  static V load_strided(M m, const T* p, index_t stride) {
    if (stride > (index_t(1) << 27)) {
      alignas(32) T v[W];
      alignas(32) std::int32_t mk[W];
      _mm256_store_si256(reinterpret_cast<__m256i*>(mk), m);
      for (int l = 0; l < W; ++l) v[l] = mk[l] ? p[l * stride] : T(0);
      return _mm256_load_ps(v);
    }
    const __m256i idx = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                           _mm256_set1_epi32(int(stride)));
    return _mm256_mask_i32gather_ps(zero(), p, idx, _mm256_castsi256_ps(m), 4);
  }
  static void store(T* p, M m, V v) { _mm256_maskstore_ps(p, m, v); }
  // All W lanes `stride` apart; reads no element past the last lane's.
  static V load_full(const T* p, index_t stride) {
    if (stride == 1) return _mm256_loadu_ps(p);
    if (stride == 2) {
      // [0 2 8 10 | 4 6 12 14], then the 64-bit quarters in order.
      const V lo = _mm256_loadu_ps(p), hi = _mm256_maskload_ps(p + 8, lanes(0, 7));
      const V q = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
      return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(q), _MM_SHUFFLE(3, 1, 2, 0)));
    }
    return load_strided(lanes(0, W), p, stride);
  }
  // As load_full, but may read up to stride - 1 elements past the last
  // lane's (the caller knows they are inside the buffer): no masked load.
  static V load_over(const T* p, index_t stride) {
    if (stride == 2) {
      const V q = _mm256_shuffle_ps(_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8), _MM_SHUFFLE(2, 0, 2, 0));
      return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(q), _MM_SHUFFLE(3, 1, 2, 0)));
    }
    return load_full(p, stride);
  }
  // Lanes in m of load_over, the others zero.
  static V load_over(M m, const T* p, index_t stride) {
    if (stride == 2) return _mm256_and_ps(load_over(p, stride), _mm256_castsi256_ps(m));
    return load_strided(m, p, stride);
  }
};

struct F64 {
  using T = double;
  using V = __m256d;
  using M = __m256i;
  static constexpr int W = 4;
  static constexpr int kMaxAcc = 8;
  static constexpr int kChains = 8;
  static V zero() { return _mm256_setzero_pd(); }
  static V set1(T x) { return _mm256_set1_pd(x); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V add(V a, V b) { return _mm256_add_pd(a, b); }
  static V sub(V a, V b) { return _mm256_sub_pd(a, b); }
  static V div(V a, V b) { return _mm256_div_pd(a, b); }
  static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
  static V select(M m, V a, V b) { return _mm256_blendv_pd(a, b, _mm256_castsi256_pd(m)); }
  static M from_bits(std::uint32_t bits) {
    const __m256i bit = _mm256_setr_epi64x(1, 2, 4, 8);
    return _mm256_cmpeq_epi64(_mm256_and_si256(_mm256_set1_epi64x(bits), bit), bit);
  }
  static V maxnan(V acc, V v) {
    return _mm256_blendv_pd(acc, v, _mm256_or_pd(_mm256_cmp_pd(v, acc, _CMP_GT_OQ), _mm256_cmp_pd(v, v, _CMP_UNORD_Q)));
  }
  static M lanes(int lo, int hi) {
    const __m256i i = _mm256_setr_epi64x(0, 1, 2, 3);
    return _mm256_andnot_si256(_mm256_cmpgt_epi64(_mm256_set1_epi64x(lo), i),
                               _mm256_cmpgt_epi64(_mm256_set1_epi64x(hi), i));
  }
  static V load(M m, const T* p) { return _mm256_maskload_pd(p, m); }
  static V loadu(const T* p) { return _mm256_loadu_pd(p); }
  static void storeu(T* p, V v) { _mm256_storeu_pd(p, v); }
  static V left_neighbours(V prev, V cur) {
    return _mm256_castsi256_pd(left_neighbours_bytes<8>(_mm256_castpd_si256(prev), _mm256_castpd_si256(cur)));
  }
  static V right_neighbours(V cur, V next) {
    return _mm256_castsi256_pd(right_neighbours_bytes<8>(_mm256_castpd_si256(cur), _mm256_castpd_si256(next)));
  }
  static void deinterleave(V lo, V hi, V& even, V& odd) {
    even = _mm256_permute4x64_pd(_mm256_unpacklo_pd(lo, hi), 0xD8);
    odd = _mm256_permute4x64_pd(_mm256_unpackhi_pd(lo, hi), 0xD8);
  }
  static V load_strided(M m, const T* p, index_t stride) {
    if (stride > (index_t(1) << 27)) {
      alignas(32) T v[W];
      alignas(32) std::int64_t mk[W];
      _mm256_store_si256(reinterpret_cast<__m256i*>(mk), m);
      for (int l = 0; l < W; ++l) v[l] = mk[l] ? p[l * stride] : T(0);
      return _mm256_load_pd(v);
    }
    const __m128i idx = _mm_mullo_epi32(_mm_setr_epi32(0, 1, 2, 3), _mm_set1_epi32(int(stride)));
    return _mm256_mask_i32gather_pd(zero(), p, idx, _mm256_castsi256_pd(m), 8);
  }
  static void store(T* p, M m, V v) { _mm256_maskstore_pd(p, m, v); }
  static V load_full(const T* p, index_t stride) {
    if (stride == 1) return _mm256_loadu_pd(p);
    if (stride == 2) {
      // [0 4 2 6] from the two unpacks, then in order.
      const V lo = _mm256_loadu_pd(p), hi = _mm256_maskload_pd(p + 4, lanes(0, 3));
      return _mm256_permute4x64_pd(_mm256_unpacklo_pd(lo, hi), _MM_SHUFFLE(3, 1, 2, 0));
    }
    return load_strided(lanes(0, W), p, stride);
  }
  static V load_over(const T* p, index_t stride) {
    if (stride == 2) {
      return _mm256_permute4x64_pd(_mm256_unpacklo_pd(_mm256_loadu_pd(p), _mm256_loadu_pd(p + 4)),
                                   _MM_SHUFFLE(3, 1, 2, 0));
    }
    return load_full(p, stride);
  }
  static V load_over(M m, const T* p, index_t stride) {
    if (stride == 2) return _mm256_and_pd(load_over(p, stride), _mm256_castsi256_pd(m));
    return load_strided(m, p, stride);
  }
};

#include "conv_generic.inc"

}  // namespace avx2

const Isa isa_avx2 = {avx2::kernels<avx2::F32>(), avx2::kernels<avx2::F64>()};

}  // namespace conv
}  // namespace ntensor

NT_TARGET_END
#endif
