// The convolution kernels (conv_generic.inc) for AVX-512 (F, BW, DQ, VL),
// through a target pragma; conv.cc selects them only when the GEMM ISA in
// use is avx512. Lane masks are k-registers; a stride-2 load is two masked
// loads and one two-source permute; other strides are masked gathers.
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "conv.h"
#include "target.h"

NT_TARGET_BEGIN("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,bmi,bmi2")
#ifndef __clang__
#pragma GCC target("prefer-vector-width=512")
// GCC 12 warns about the deliberately undefined pass-through operand inside
// some intrinsics (_mm512_undefined_ps, and _mm512_undefined_epi32 in
// _mm512_alignr_epi32).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace ntensor {
namespace conv {
namespace avx512 {

#include "transpose_avx512.inc"

// Elements [2a, 2b - 1) for the contiguous lane range [a, b) that m holds:
// what a stride-2 load of those lanes touches.
inline std::uint64_t stride2_elements(std::uint32_t m) {
  if (m == 0) return 0;
  const int a = __builtin_ctz(m), b = 32 - __builtin_clz(m);
  const int e0 = 2 * a, e1 = 2 * b - 1;
  return ((e1 >= 64 ? ~0ull : (1ull << e1) - 1)) & ~((1ull << e0) - 1);
}

struct F32 {
  using T = float;
  using V = __m512;
  using M = __mmask16;
  static constexpr int W = 16;
  static constexpr int kMaxAcc = 16;
  static constexpr int kChains = 12;
  static V zero() { return _mm512_setzero_ps(); }
  static V set1(T x) { return _mm512_set1_ps(x); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V div(V a, V b) { return _mm512_div_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V select(M m, V a, V b) { return _mm512_mask_mov_ps(a, m, b); }  // m ? b : a
  static M from_bits(std::uint32_t bits) { return M(bits); }  // lane l: bit l
  // v where v > acc or v is NaN, else acc (pooling's max)
  static V maxnan(V acc, V v) {
    return _mm512_mask_mov_ps(acc, _mm512_cmp_ps_mask(v, acc, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), v);
  }
  static M lanes(int lo, int hi) { return M(_bzhi_u32(~0u, unsigned(hi)) & ~_bzhi_u32(~0u, unsigned(lo))); }
  static V load(M m, const T* p) { return _mm512_maskz_loadu_ps(m, p); }
  static V loadu(const T* p) { return _mm512_loadu_ps(p); }
  static void storeu(T* p, V v) { _mm512_storeu_ps(p, v); }
  // Lane l: element l - 1 of the row whose vectors are prev, cur (lane 0:
  // prev's last); and element l + 1 of cur, next (the last lane: next's first).
  static V left_neighbours(V prev, V cur) {
    return _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(cur), _mm512_castps_si512(prev), 15));
  }
  static V right_neighbours(V cur, V next) {
    return _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(next), _mm512_castps_si512(cur), 1));
  }
  // Indices of the even elements of two vectors (permutex2var).
  static __m512i evens() { return _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30); }
  // The even and odd elements of the row whose vectors are lo, hi.
  static void deinterleave(V lo, V hi, V& even, V& odd) {
    const __m512i e = evens();
    even = _mm512_permutex2var_ps(lo, e, hi);
    odd = _mm512_permutex2var_ps(lo, _mm512_add_epi32(e, _mm512_set1_epi32(1)), hi);
  }
  static V load_strided(M m, const T* p, index_t stride) {
    if (stride == 2) {
      const std::uint64_t e = stride2_elements(m);
      const V lo = _mm512_maskz_loadu_ps(__mmask16(e), p);
      const V hi = _mm512_maskz_loadu_ps(__mmask16(e >> 16), p + 16);
      const __m512i even = evens();
      return _mm512_maskz_permutex2var_ps(m, lo, even, hi);
    }
    if (stride > (index_t(1) << 26)) {
      alignas(64) T v[W];
      for (int l = 0; l < W; ++l) v[l] = (m >> l) & 1 ? p[l * stride] : T(0);
      return _mm512_load_ps(v);
    }
    const __m512i idx = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32(int(stride)));
    return _mm512_mask_i32gather_ps(zero(), m, idx, p, 4);
  }
  static void store(T* p, M m, V v) { _mm512_mask_storeu_ps(p, m, v); }
  // All W lanes `stride` apart; reads no element past the last lane's.
  static V load_full(const T* p, index_t stride) {
    if (stride == 1) return _mm512_loadu_ps(p);
    if (stride == 2) {
      const __m512i even = evens();
      return _mm512_permutex2var_ps(_mm512_loadu_ps(p), even, _mm512_maskz_loadu_ps(__mmask16(0x7fff), p + 16));
    }
    return load_strided(M(0xffff), p, stride);
  }
  // As load_full, but may read up to stride - 1 elements past the last
  // lane's (the caller knows they are inside the buffer): no masked load,
  // which on the development VM (Zen 5) cost the 7x7 stride-2 stem's
  // im2col packing ~3-9 % of the layer's time.
  static V load_over(const T* p, index_t stride) {
    if (stride == 2) {
      const __m512i even = evens();
      return _mm512_permutex2var_ps(_mm512_loadu_ps(p), even, _mm512_loadu_ps(p + 16));
    }
    return load_full(p, stride);
  }
  // Lanes in m of load_over, the others zero.
  static V load_over(M m, const T* p, index_t stride) {
    if (stride == 2) {
      const __m512i even = evens();
      return _mm512_maskz_permutex2var_ps(m, _mm512_loadu_ps(p), even, _mm512_loadu_ps(p + 16));
    }
    return load_strided(m, p, stride);
  }
};

struct F64 {
  using T = double;
  using V = __m512d;
  using M = __mmask8;
  static constexpr int W = 8;
  static constexpr int kMaxAcc = 16;
  static constexpr int kChains = 12;
  static V zero() { return _mm512_setzero_pd(); }
  static V set1(T x) { return _mm512_set1_pd(x); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V add(V a, V b) { return _mm512_add_pd(a, b); }
  static V sub(V a, V b) { return _mm512_sub_pd(a, b); }
  static V div(V a, V b) { return _mm512_div_pd(a, b); }
  static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
  static V select(M m, V a, V b) { return _mm512_mask_mov_pd(a, m, b); }
  static M from_bits(std::uint32_t bits) { return M(bits); }
  static V maxnan(V acc, V v) {
    return _mm512_mask_mov_pd(acc, _mm512_cmp_pd_mask(v, acc, _CMP_GT_OQ) | _mm512_cmp_pd_mask(v, v, _CMP_UNORD_Q), v);
  }
  static M lanes(int lo, int hi) { return M(_bzhi_u32(~0u, unsigned(hi)) & ~_bzhi_u32(~0u, unsigned(lo))); }
  static V load(M m, const T* p) { return _mm512_maskz_loadu_pd(m, p); }
  static V loadu(const T* p) { return _mm512_loadu_pd(p); }
  static void storeu(T* p, V v) { _mm512_storeu_pd(p, v); }
  static V left_neighbours(V prev, V cur) {
    return _mm512_castsi512_pd(_mm512_alignr_epi64(_mm512_castpd_si512(cur), _mm512_castpd_si512(prev), 7));
  }
  static V right_neighbours(V cur, V next) {
    return _mm512_castsi512_pd(_mm512_alignr_epi64(_mm512_castpd_si512(next), _mm512_castpd_si512(cur), 1));
  }
  static __m512i evens() { return _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14); }
  static void deinterleave(V lo, V hi, V& even, V& odd) {
    const __m512i e = evens();
    even = _mm512_permutex2var_pd(lo, e, hi);
    odd = _mm512_permutex2var_pd(lo, _mm512_add_epi64(e, _mm512_set1_epi64(1)), hi);
  }
  static V load_strided(M m, const T* p, index_t stride) {
    if (stride == 2) {
      const std::uint64_t e = stride2_elements(m);
      const V lo = _mm512_maskz_loadu_pd(__mmask8(e), p);
      const V hi = _mm512_maskz_loadu_pd(__mmask8(e >> 8), p + 8);
      const __m512i even = evens();
      return _mm512_maskz_permutex2var_pd(m, lo, even, hi);
    }
    if (stride > (index_t(1) << 26)) {
      alignas(64) T v[W];
      for (int l = 0; l < W; ++l) v[l] = (m >> l) & 1 ? p[l * stride] : T(0);
      return _mm512_load_pd(v);
    }
    const __m256i idx = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                           _mm256_set1_epi32(int(stride)));
    return _mm512_mask_i32gather_pd(zero(), m, idx, p, 8);
  }
  static void store(T* p, M m, V v) { _mm512_mask_storeu_pd(p, m, v); }
  static V load_full(const T* p, index_t stride) {
    if (stride == 1) return _mm512_loadu_pd(p);
    if (stride == 2) {
      const __m512i even = evens();
      return _mm512_permutex2var_pd(_mm512_loadu_pd(p), even, _mm512_maskz_loadu_pd(__mmask8(0x7f), p + 8));
    }
    return load_strided(M(0xff), p, stride);
  }
  static V load_over(const T* p, index_t stride) {
    if (stride == 2) {
      const __m512i even = evens();
      return _mm512_permutex2var_pd(_mm512_loadu_pd(p), even, _mm512_loadu_pd(p + 8));
    }
    return load_full(p, stride);
  }
  static V load_over(M m, const T* p, index_t stride) {
    if (stride == 2) {
      const __m512i even = evens();
      return _mm512_maskz_permutex2var_pd(m, _mm512_loadu_pd(p), even, _mm512_loadu_pd(p + 8));
    }
    return load_strided(m, p, stride);
  }
};

#include "conv_generic.inc"

// The fp32 micro-kernel of the transposed implicit GEMM (conv.h:
// PrefetchKernel): RM rows (RM >= mr) x NV vectors of 16 channels, per k NV
// aligned loads from two 32-wide packed B panels and RM broadcasts from the
// 7-high packed A panel, one FMA per (row, vector): 7 x 64 holds 28
// accumulators, and 7 divides the output sizes of ResNet-style layers (7^2,
// 14^2, 28^2, 56^2). Accumulators from 0 or from C (loadC), as the GEMM's.
// B is fetched into L1 kPfB steps ahead; every `every` steps one line of the
// prefetch walk into L2.
constexpr int kPfMR = 7, kPfNR = 64, kPanel = 32;
constexpr index_t kPfB = 32;

// One k step of the 7-pixel kernels below (ukernel_pf, tile_kernel): B's NV
// vectors at step p (each pair from one 32-wide panel row), its lines kPfB
// steps ahead fetched into L1; then the RM pixels' values a[0..RM) broadcast
// and multiplied into the RM x NV accumulators, one FMA each, in order.
template <int NV>
__attribute__((always_inline)) inline void load_b_step(const float* const bv[NV], index_t p, __m512 b[NV]) {
#pragma GCC unroll 4
  for (int v = 0; v < NV; v += 2) {
    _mm_prefetch(reinterpret_cast<const char*>(bv[v] + (p + kPfB) * kPanel), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(bv[v] + (p + kPfB) * kPanel + 16), _MM_HINT_T0);
  }
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) b[v] = _mm512_load_ps(bv[v] + p * kPanel);
}

template <int RM, int NV, int SX = 1>
__attribute__((always_inline)) inline void fma_rows(const float* a, const __m512 b[NV], __m512 c[RM][NV]) {
#pragma GCC unroll 7
  for (int i = 0; i < RM; ++i) {
    const __m512 av = _mm512_set1_ps(a[i * SX]);
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) c[i][v] = _mm512_fmadd_ps(av, b[v], c[i][v]);
  }
}

template <int RM, int NV>
const char* ukernel_pf(index_t kc, const float* A, const float* B, index_t bstride, float* C,
                       index_t ldc, int mr, int nr, bool loadC, const char* pf, index_t every,
                       index_t rowLines, index_t rowSkip, index_t* colp) {
  __mmask16 m[NV];
  const float* bv[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) {
    const int n = nr - 16 * v;
    m[v] = F32::lanes(0, n < 0 ? 0 : n > 16 ? 16 : n);
    bv[v] = B + (v / 2) * bstride + (v % 2) * 16;
  }
  __m512 c[RM][NV];
#pragma GCC unroll 7
  for (int i = 0; i < RM; ++i) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      c[i][v] = loadC && i < mr ? _mm512_maskz_loadu_ps(m[v], C + i * ldc + 16 * v) : _mm512_setzero_ps();
    }
  }
  index_t next = every > 0 ? 0 : kc, col = *colp;
#pragma GCC unroll 2
  for (index_t p = 0; p < kc; ++p) {
    __m512 b[NV];
    load_b_step<NV>(bv, p, b);
    if (p == next) {
      _mm_prefetch(pf, _MM_HINT_T1);
      pf += 64;
      if (++col == rowLines) {
        col = 0;
        pf += rowSkip;
      }
      next += every;
    }
    fma_rows<RM, NV>(A + p * kPfMR, b, c);
  }
#pragma GCC unroll 7
  for (int i = 0; i < RM; ++i) {
    if (i < mr) {
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) _mm512_mask_storeu_ps(C + i * ldc + 16 * v, m[v], c[i][v]);
    }
  }
  *colp = col;
  return pf;
}

#if defined(__GNUC__)
// The k loop of the 7 x 64 tile in assembly (GCC and clang): compiled from
// the intrinsics below, clang 14 kept most of the 28 accumulators on the
// stack (3x3 64 -> 64 on 56^2 ran at half GCC's speed), and GCC 12's loop,
// with two of them on the stack, took 1.04-1.10x this loop's time on the
// direct-t layers (bench/RESULTS.md, stop 20). Its 28 accumulators, three
// B vectors and the broadcast take all 32 zmm registers; the fourth B vector
// is each row's FMA memory operand. The accumulators start from 0, or from
// ct (loadC), and are stored to ct (ldct = 64); each takes its products in k
// order, as the contract requires, so the bits are the intrinsics loop's
// (the loop other compilers would run, and the 2-vector tiles' loop). Pixel
// i of a step is at a + off[k] + i * SX: tile_loop_7x64_s1 and _s2 for
// SX = 1 and 2 (NT_SX_BYTES, the broadcast's byte step, "4" or "8").
#define NT_CT_LOAD(r, i, v) "vmovaps " #i "*256+" #v "*64(%[ct]), %%zmm" #r "\n\t"
#define NT_CT_STORE(r, i, v) "vmovaps %%zmm" #r ", " #i "*256+" #v "*64(%[ct])\n\t"
#define NT_ZERO(r, i, v) "vpxord %%zmm" #r ", %%zmm" #r ", %%zmm" #r "\n\t"
#define NT_ROW4(M, i, r0, r1, r2, r3) M(r0, i, 0) M(r1, i, 1) M(r2, i, 2) M(r3, i, 3)
#define NT_TILE(M)                                                                          \
  NT_ROW4(M, 0, 0, 1, 2, 3) NT_ROW4(M, 1, 4, 5, 6, 7) NT_ROW4(M, 2, 8, 9, 10, 11)           \
  NT_ROW4(M, 3, 12, 13, 14, 15) NT_ROW4(M, 4, 16, 17, 18, 19) NT_ROW4(M, 5, 20, 21, 22, 23) \
  NT_ROW4(M, 6, 24, 25, 26, 27)
#define NT_FMA_ROW(i, r0, r1, r2, r3)                        \
  "vbroadcastss " #i "*" NT_SX_BYTES "(%[ap]), %%zmm31\n\t" \
  "vfmadd231ps %%zmm28, %%zmm31, %%zmm" #r0 "\n\t"          \
  "vfmadd231ps %%zmm29, %%zmm31, %%zmm" #r1 "\n\t"          \
  "vfmadd231ps %%zmm30, %%zmm31, %%zmm" #r2 "\n\t"          \
  "vfmadd231ps 64(%[b1]), %%zmm31, %%zmm" #r3 "\n\t"
#define NT_TILE_LOOP(NAME)                                                                             \
  void NAME(index_t K, const float* a, const index_t* off, const float* b0, const float* b1,           \
            float* ct, bool loadC) {                                                                   \
    const float* ap;                                                                                   \
    __asm__ volatile(                                                                                  \
        "test %[load], %[load]\n\t"                                                                    \
        "jz 1f\n\t" NT_TILE(NT_CT_LOAD) "jmp 2f\n"                                                     \
        "1:\n\t" NT_TILE(NT_ZERO) "2:\n\t"                                                             \
        "test %[k], %[k]\n\t"                                                                          \
        "jle 4f\n"                                                                                     \
        "3:\n\t"                                                                                       \
        "mov (%[off]), %[ap]\n\t"                                                                      \
        "prefetcht0 4096(%[b0])\n\t" /* kPfB steps of 32 floats ahead */                              \
        "prefetcht0 4160(%[b0])\n\t"                                                                   \
        "prefetcht0 4096(%[b1])\n\t"                                                                   \
        "prefetcht0 4160(%[b1])\n\t"                                                                   \
        "vmovaps (%[b0]), %%zmm28\n\t"                                                                 \
        "vmovaps 64(%[b0]), %%zmm29\n\t"                                                               \
        "vmovaps (%[b1]), %%zmm30\n\t"                                                                 \
        "lea (%[a], %[ap], 4), %[ap]\n\t" NT_FMA_ROW(0, 0, 1, 2, 3) NT_FMA_ROW(1, 4, 5, 6, 7)          \
            NT_FMA_ROW(2, 8, 9, 10, 11) NT_FMA_ROW(3, 12, 13, 14, 15) NT_FMA_ROW(4, 16, 17, 18, 19)    \
                NT_FMA_ROW(5, 20, 21, 22, 23) NT_FMA_ROW(6, 24, 25, 26, 27)                            \
        "add $128, %[b0]\n\t"                                                                          \
        "add $128, %[b1]\n\t"                                                                          \
        "add $8, %[off]\n\t"                                                                           \
        "dec %[k]\n\t"                                                                                 \
        "jnz 3b\n"                                                                                     \
        "4:\n\t" NT_TILE(NT_CT_STORE)                                                                  \
        : [k] "+r"(K), [off] "+r"(off), [b0] "+r"(b0), [b1] "+r"(b1), [ap] "=&r"(ap)                   \
        : [a] "r"(a), [ct] "r"(ct), [load] "r"(int(loadC))                                             \
        : "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",      \
          "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18",     \
          "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28",    \
          "xmm29", "xmm30", "xmm31");                                                                  \
  }
#define NT_SX_BYTES "4"
NT_TILE_LOOP(tile_loop_7x64_s1)
#undef NT_SX_BYTES
#define NT_SX_BYTES "8"
NT_TILE_LOOP(tile_loop_7x64_s2)
#undef NT_SX_BYTES
// The same 7 x 64 loop over gemm-t's packed A panel (pixel i of step k at
// a[7k + i]) with ukernel_pf's prefetch walk: one line at pf before steps
// 0, every, 2 * every, ... (none if every is 0), the next row's after
// rowLines lines. Returns where the walk stopped; *colp is its line in the
// row. (GCC 12 kept one of the intrinsics loop's accumulators on the stack.)
#define NT_SX_BYTES "4"
const char* gemmt_loop_7x64(index_t K, const float* a, const float* b0, const float* b1, float* ct,
                            bool loadC, const char* pf, index_t every, index_t rowLines,
                            index_t rowSkip, index_t* colp) {
  index_t col = *colp, cnt = every > 0 ? 1 : K + 1;
  __asm__ volatile(
      "test %[load], %[load]\n\t"
      "jz 1f\n\t" NT_TILE(NT_CT_LOAD) "jmp 2f\n"
      "1:\n\t" NT_TILE(NT_ZERO) "2:\n\t"
      "test %[k], %[k]\n\t"
      "jle 4f\n"
      "3:\n\t"
      "prefetcht0 4096(%[b0])\n\t"
      "prefetcht0 4160(%[b0])\n\t"
      "prefetcht0 4096(%[b1])\n\t"
      "prefetcht0 4160(%[b1])\n\t"
      "vmovaps (%[b0]), %%zmm28\n\t"
      "vmovaps 64(%[b0]), %%zmm29\n\t"
      "vmovaps (%[b1]), %%zmm30\n\t"
      "dec %[cnt]\n\t"
      "jnz 5f\n\t"
      "mov %[every], %[cnt]\n\t"
      "prefetcht1 (%[pf])\n\t"
      "add $64, %[pf]\n\t"
      "inc %[col]\n\t"
      "cmp %[rowLines], %[col]\n\t"
      "jne 5f\n\t"
      "xor %[col], %[col]\n\t"
      "add %[rowSkip], %[pf]\n"
      "5:\n\t" NT_FMA_ROW(0, 0, 1, 2, 3) NT_FMA_ROW(1, 4, 5, 6, 7) NT_FMA_ROW(2, 8, 9, 10, 11)
          NT_FMA_ROW(3, 12, 13, 14, 15) NT_FMA_ROW(4, 16, 17, 18, 19) NT_FMA_ROW(5, 20, 21, 22, 23)
              NT_FMA_ROW(6, 24, 25, 26, 27)
      "add $128, %[b0]\n\t"
      "add $128, %[b1]\n\t"
      "add $28, %[ap]\n\t"
      "dec %[k]\n\t"
      "jnz 3b\n"
      "4:\n\t" NT_TILE(NT_CT_STORE)
      : [k] "+r"(K), [ap] "+r"(a), [b0] "+r"(b0), [b1] "+r"(b1), [pf] "+r"(pf), [col] "+r"(col),
        [cnt] "+r"(cnt)
      : [ct] "r"(ct), [load] "r"(int(loadC)), [every] "rm"(every), [rowLines] "rm"(rowLines),
        [rowSkip] "rm"(rowSkip)
      : "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
        "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18",
        "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28",
        "xmm29", "xmm30", "xmm31");
  *colp = col;
  return pf;
}
#undef NT_SX_BYTES
#undef NT_TILE_LOOP
#undef NT_FMA_ROW
#undef NT_TILE
#undef NT_ROW4
#undef NT_ZERO
#undef NT_CT_STORE
#undef NT_CT_LOAD
constexpr bool kTileAsm = true;
#else
constexpr bool kTileAsm = false;
inline void tile_loop_7x64_s1(index_t, const float*, const index_t*, const float*, const float*, float*, bool) {}
inline void tile_loop_7x64_s2(index_t, const float*, const index_t*, const float*, const float*, float*, bool) {}
inline const char* gemmt_loop_7x64(index_t, const float*, const float*, const float*, float*, bool,
                                   const char* pf, index_t, index_t, index_t, index_t*) {
  return pf;
}
#endif

// conv.h: PrefetchKernel. 7 x 64 tiles into a 64-wide C run the assembly
// loop (its rows past mr and columns past nr are written too: C has them,
// from zero-padded panels); others ukernel_pf.
const char* ukernel_pf_f32(index_t kc, const float* A, const float* B, index_t bstride, float* C,
                           index_t ldc, int mr, int nr, bool loadC, const char* pf, index_t every,
                           index_t rowLines, index_t rowSkip, index_t* col) {
  if (nr <= 32) {
    return ukernel_pf<kPfMR, 2>(kc, A, B, bstride, C, ldc, mr, nr, loadC, pf, every, rowLines,
                                rowSkip, col);
  }
  if (kTileAsm && ldc == 64) {
    return gemmt_loop_7x64(kc, A, B, B + bstride, C, loadC, pf, every, rowLines, rowSkip, col);
  }
  return ukernel_pf<kPfMR, 4>(kc, A, B, bstride, C, ldc, mr, nr, loadC, pf, every, rowLines,
                              rowSkip, col);
}

// conv.h: TileKernel for 7 pixels SX apart x NV vectors of 16 channels
// (two 32-wide panels). Per k: one offset, 7 broadcasts, NV loads, 7 * NV
// FMAs. Asm: the k loop is tile_loop_7x64_s1 / _s2 (NV = 4, ldct = 64).
template <int NV, bool Asm, int SX>
void tile_kernel(index_t K, const float* a, const index_t* off, const float* B, index_t bstride,
                 float* ct, index_t ldct, bool loadC, const float* bias, float* y, index_t ldy,
                 int mr, int nr) {
  constexpr int RM = kPfMR;
  const float* bv[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) bv[v] = B + (v / 2) * bstride + (v % 2) * 16;
  __m512 c[RM][NV];
  if constexpr (Asm) {
    static_assert(NV == 4, "the assembly loop is 7 x 64");
    if constexpr (SX == 1) {
      tile_loop_7x64_s1(K, a, off, bv[0], bv[2], ct, loadC);
    } else {
      tile_loop_7x64_s2(K, a, off, bv[0], bv[2], ct, loadC);
    }
    if (y == nullptr) return;
#pragma GCC unroll 7
    for (int i = 0; i < RM; ++i) {
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) c[i][v] = _mm512_load_ps(ct + i * 64 + 16 * v);
    }
  } else {
#pragma GCC unroll 7
    for (int i = 0; i < RM; ++i) {
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) c[i][v] = loadC ? _mm512_load_ps(ct + i * ldct + 16 * v) : _mm512_setzero_ps();
    }
#pragma GCC unroll 2
    for (index_t p = 0; p < K; ++p) {
      __m512 b[NV];
      load_b_step<NV>(bv, p, b);
      fma_rows<RM, NV, SX>(a + off[p], b, c);
    }
  }
  if (y == nullptr) {
#pragma GCC unroll 7
    for (int i = 0; i < RM; ++i) {
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) _mm512_store_ps(ct + i * ldct + 16 * v, c[i][v]);
    }
    return;
  }
  // Bias, then 16 channels x 7 pixels at a time transposed into channel rows.
  const __mmask16 pm = F32::lanes(0, mr);
#pragma GCC unroll 1
  for (int v = 0; v < NV; ++v) {
    const int n = nr - 16 * v;
    if (n <= 0) break;
    __m512 r[16];
    const __m512 bsv = bias != nullptr ? _mm512_maskz_loadu_ps(F32::lanes(0, n < 16 ? n : 16), bias + 16 * v) : _mm512_setzero_ps();
#pragma GCC unroll 7
    for (int i = 0; i < RM; ++i) r[i] = bias != nullptr ? _mm512_add_ps(c[i][v], bsv) : c[i][v];
#pragma GCC unroll 9
    for (int i = RM; i < 16; ++i) r[i] = _mm512_setzero_ps();
    transpose16(r);
    float* yv = y + 16 * v * ldy;
    const int m = n < 16 ? n : 16;
    for (int l = 0; l < m; ++l) _mm512_mask_storeu_ps(yv + l * ldy, pm, r[l]);
  }
}

template <int SX>
void tile_kernel_sx(index_t K, const float* a, const index_t* off, const float* B, index_t bstride,
                    float* ct, index_t ldct, bool loadC, const float* bias, float* y, index_t ldy,
                    int mr, int nr) {
  if (nr <= 32) return tile_kernel<2, false, SX>(K, a, off, B, bstride, ct, ldct, loadC, bias, y, ldy, mr, nr);
  if (kTileAsm && ldct == 64) return tile_kernel<4, kTileAsm, SX>(K, a, off, B, bstride, ct, ldct, loadC, bias, y, ldy, mr, nr);
  tile_kernel<4, false, SX>(K, a, off, B, bstride, ct, ldct, loadC, bias, y, ldy, mr, nr);
}

void tile_kernel_f32(index_t K, const float* a, index_t sx, const index_t* off, const float* B,
                     index_t bstride, float* ct, index_t ldct, bool loadC, const float* bias, float* y,
                     index_t ldy, int mr, int nr) {
  if (sx == 2) return tile_kernel_sx<2>(K, a, off, B, bstride, ct, ldct, loadC, bias, y, ldy, mr, nr);
  tile_kernel_sx<1>(K, a, off, B, bstride, ct, ldct, loadC, bias, y, ldy, mr, nr);
}

// pack_b_f32's permutes, the same for every call (built once): output lane
// e (of 64) takes window lane idx[e] (+16: the second of the two windows
// its vector's permute takes), and the lanes of the left and right columns
// and of the top and bottom kernel rows, zeroed at the image's edges.
struct PermTables {
  alignas(64) std::int32_t idx[64];
  std::uint64_t left, right, top, bottom;
};
const PermTables& perm_tables() {
  static const PermTables t = [] {
    PermTables p{};
    for (int e = 0; e < 63; ++e) {
      const int ki = e / 21, kj = e % 21 / 7, wl = e % 7 + kj;
      // Vector e / 16 permutes window 0, windows 0 and 1, 1 and 2, window 2:
      // its first window.
      const int first = e < 32 ? 0 : e < 48 ? 1 : 2;
      p.idx[e] = wl + (ki > first ? 16 : 0);
      if (wl == 0) p.left |= std::uint64_t(1) << e;
      if (wl == 8) p.right |= std::uint64_t(1) << e;
      if (ki == 0) p.top |= std::uint64_t(1) << e;
      if (ki == 2) p.bottom |= std::uint64_t(1) << e;
    }
    return p;
  }();
  return t;
}

// conv.h: PackBFn. gemm-t's im2col^T of a 3x3 layer with stride 1 and
// padding 1 on images whose width is a multiple of 7 (512 x 7^2, 256 x
// 14^2 and the like), whose 7-pixel panels each lie in one output row: per
// input channel a panel holds 63 consecutive elements (kernel row ki,
// column kj, pixel px at 21 ki + 7 kj + px), element px + kj of the 9-wide
// window of input row oy + ki - 1 that starts one column left of the
// panel's first pixel; zero left and right of the image and on a padding
// row. Three window loads and four permutes (zeroing lanes; two of them
// take two windows) make them, stored as four whole vectors; each
// channel's last store spills one lane into the next channel's first
// element, which that channel's own store then overwrites (the panel's last
// is masked). 3 loads, 4 permutes and 4 stores per channel and panel
// instead of pack_b's 9 masked loads and 9 stores. Other shapes: pack_b.
void pack_b_f32(const Conv2dShape& s, const float* x, index_t p0, index_t kc, const Segment* segs,
                index_t nsegs, index_t nc, int nr, float* dst) {
  bool rows = nr == 7 && s.ow == s.w && s.w % 7 == 0 && s.kh == 3 && s.kw == 3 && s.strideH == 1 &&
              s.strideW == 1 && s.dilationH == 1 && s.dilationW == 1 && s.padTop == 1 &&
              s.padLeft == 1 && s.padBottom == 1 && s.padRight == 1 && p0 % 9 == 0 && kc % 9 == 0 &&
              kc > 0 && nc == 7 * nsegs;
  for (index_t g = 0; rows && g < nsegs; ++g) rows = segs[g].lane == 0 && segs[g].len == 7 && segs[g].panel == g;
  if (!rows) return pack_b<F32>(s, x, p0, kc, segs, nsegs, nc, nr, dst);
  const PermTables& pt = perm_tables();
  const std::uint64_t left = pt.left, right = pt.right, top = pt.top, bottom = pt.bottom;
  const std::uint64_t all = (std::uint64_t(1) << 63) - 1;
  __m512i ix[4];
  for (int o = 0; o < 4; ++o) ix[o] = _mm512_load_si512(pt.idx + 16 * o);
  const index_t w = s.w, plane = s.h * w, c0 = p0 / 9, nch = kc / 9;
  // Whether 16 elements at a lie inside this group's planes (as integers:
  // a may point before them).
  const std::uintptr_t xLo = reinterpret_cast<std::uintptr_t>(x);
  const std::uintptr_t xHi = reinterpret_cast<std::uintptr_t>(x + s.c / s.groups * plane);
  auto whole = [&](std::uintptr_t a) { return a >= xLo && a + 64 <= xHi; };
  for (index_t g = 0; g < nsegs; ++g) {
    const index_t oy = segs[g].oy, ox = segs[g].ox;
    const bool noLeft = ox == 0, noRight = ox + 7 == w, noTop = oy == 0, noBottom = oy + 1 == s.h;
    const std::uint64_t keep = all & ~(noLeft ? left : 0) & ~(noRight ? right : 0) &
                               ~(noTop ? top : 0) & ~(noBottom ? bottom : 0);
    __mmask16 zm[4];
    for (int o = 0; o < 4; ++o) zm[o] = __mmask16(keep >> (16 * o));
    // A window's lanes inside the image's columns (a masked load's).
    const __mmask16 cols = F32::lanes(noLeft ? 1 : 0, noRight ? 8 : 9);
    float* d = dst + g * kc * 7;
    const std::uintptr_t step = std::uintptr_t(plane) * sizeof(float), rowBytes = std::uintptr_t(w) * sizeof(float);
    std::uintptr_t b = reinterpret_cast<std::uintptr_t>(x + c0 * plane + ox - 1) +
                       std::uintptr_t((oy - 1) * w * index_t(sizeof(float)));
    // The window at a, or zeros for a row on the padding.
    auto window = [&](std::uintptr_t a, bool onImage) {
      const float* p = reinterpret_cast<const float*>(a);
      return !onImage ? _mm512_setzero_ps() : whole(a) ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(cols, p);
    };
    for (index_t ci = 0; ci < nch; ++ci, d += 63, b += step) {
      const __m512 r0 = window(b, !noTop), r1 = window(b + rowBytes, true);
      const __m512 r2 = window(b + 2 * rowBytes, !noBottom);
      _mm512_storeu_ps(d, _mm512_maskz_permutexvar_ps(zm[0], ix[0], r0));
      _mm512_storeu_ps(d + 16, _mm512_maskz_permutex2var_ps(zm[1], r0, ix[1], r1));
      _mm512_storeu_ps(d + 32, _mm512_maskz_permutex2var_ps(zm[2], r1, ix[2], r2));
      const __m512 v3 = _mm512_maskz_permutexvar_ps(zm[3], ix[3], r2);
      if (ci + 1 < nch) {
        _mm512_storeu_ps(d + 48, v3);
      } else {
        _mm512_mask_storeu_ps(d + 48, 0x7FFF, v3);
      }
    }
  }
}

// conv.h: TileOutFn. Blocks of 16 pixels x 16 channels loaded transposed
// (load_transposed16: vector j = channel c0 + j over the 16 pixels), the
// bias added, stored as 16-pixel runs of the channels' rows; pixels past a
// multiple of 16 one at a time.
void tile_out_f32(const float* tile, index_t ldt, index_t block, index_t np, index_t nco,
                  const float* bias, float* y, index_t P) {
  const index_t npv = np / 16 * 16;
  for (index_t c0 = 0; c0 < nco; c0 += 16) {
    const int nc = int(std::min<index_t>(16, nco - c0));
    const float* t = tile + (c0 / ldt) * block + c0 % ldt;
    float* yc = y + c0 * P;
    const __m512 bv = bias != nullptr ? _mm512_maskz_loadu_ps(F32::lanes(0, nc), bias + c0) : _mm512_setzero_ps();
    alignas(64) float bs[16];
    _mm512_store_ps(bs, bv);
    for (index_t r0 = 0; r0 < npv; r0 += 16) {
      __m512 r[16];
      load_transposed16(t + r0 * ldt, ldt, r);
      for (int j = 0; j < nc; ++j) _mm512_storeu_ps(yc + j * P + r0, _mm512_add_ps(r[j], _mm512_set1_ps(bs[j])));
    }
    for (index_t q = npv; q < np; ++q) {
      const __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(F32::lanes(0, nc), t + q * ldt), bv);
      alignas(64) float o[16];
      _mm512_store_ps(o, v);
      for (int j = 0; j < nc; ++j) yc[j * P + q] = o[j];
    }
  }
}

// conv.h: IndirectTileFn. RM rows (of the 14-high A panel) x NV vectors;
// B's row p at rows[p] + off, read whole (the caller's rows have room past
// the tile: conv.cc, indirect_task: WH).
template <int RM, int NV>
void indirect_tile(index_t kc, const float* a, const float* const* rows, index_t off, float* c,
                   index_t ldc, int mr, int nr) {
  constexpr int MR = 14;
  __m512 acc[RM][NV];
#pragma GCC unroll 16
  for (int i = 0; i < RM; ++i) {
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();
  }
#pragma GCC unroll 2
  for (index_t p = 0; p < kc; ++p) {
    const float* r = rows[p] + off;
    __m512 b[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) b[v] = _mm512_loadu_ps(r + 16 * v);
#pragma GCC unroll 16
    for (int i = 0; i < RM; ++i) {
      const __m512 av = _mm512_set1_ps(a[p * MR + i]);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(av, b[v], acc[i][v]);
    }
  }
  const __mmask16 m = F32::lanes(0, nr - 16 * (NV - 1));  // the last vector's columns, 1..16
#pragma GCC unroll 16
  for (int i = 0; i < RM; ++i) {
    if (i >= mr) break;
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
      if (v == NV - 1) _mm512_mask_storeu_ps(c + i * ldc + 16 * v, m, acc[i][v]);
      else _mm512_storeu_ps(c + i * ldc + 16 * v, acc[i][v]);
    }
  }
}

void indirect_tile_f32(index_t kc, const float* a, const float* const* rows, index_t off, float* c,
                       index_t ldc, int mr, int nr) {
  if (nr > 16) {
    if (mr > 8) return indirect_tile<14, 2>(kc, a, rows, off, c, ldc, mr, nr);
    if (mr > 4) return indirect_tile<8, 2>(kc, a, rows, off, c, ldc, mr, nr);
    return indirect_tile<4, 2>(kc, a, rows, off, c, ldc, mr, nr);
  }
  if (mr > 8) return indirect_tile<14, 1>(kc, a, rows, off, c, ldc, mr, nr);
  if (mr > 4) return indirect_tile<8, 1>(kc, a, rows, off, c, ldc, mr, nr);
  indirect_tile<4, 1>(kc, a, rows, off, c, ldc, mr, nr);
}

}  // namespace avx512

const Isa isa_avx512 = {
    {avx512::pack_b_f32, avx512::direct<avx512::F32>, avx512::ukernel_pf_f32,
     avx512::kPfMR, avx512::kPfNR, avx512::tile_kernel_f32, avx512::pack_strip<avx512::F32>,
     avx512::pool_planes<avx512::F32, true>, avx512::pool_planes<avx512::F32, false>,
     avx512::wino_in<avx512::F32>, avx512::wino_out<avx512::F32>, avx512::tile_out_f32,
     avx512::indirect_tile_f32},
    avx512::kernels<avx512::F64>()};

}  // namespace conv
}  // namespace ntensor

#ifndef __clang__
#pragma GCC diagnostic pop
#endif
NT_TARGET_END
#endif
