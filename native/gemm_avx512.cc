// GEMM kernels for AVX-512 (F, BW, DQ, VL), compiled through a target
// pragma so the rest of the binary stays baseline x86-64; gemm.cc only
// selects them after checking that the CPU supports these extensions and
// that the OS saves the zmm and mask registers (xgetbv).
//
// Micro-kernels: MR rows x two zmm vectors (fp32 MR x 32, fp64 MR x 16):
// per k, 2 aligned loads of the packed B micro-panel and MR broadcasts from
// the packed A micro-panel, 2*MR FMAs into 2*MR zmm accumulators. Edge
// tiles use masked loads and stores (columns) and skip rows past mr.
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include <cstring>

#include "gemm.h"
#include "target.h"

NT_TARGET_BEGIN("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")
#ifndef __clang__
#pragma GCC target("prefer-vector-width=512")
// GCC 12 warns about the deliberately undefined pass-through operand inside
// the unpack/shuffle intrinsics (_mm512_undefined_ps).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace ntensor {
namespace gemm {
namespace avx512 {

#include "gemm_generic.inc"
#include "transpose_avx512.inc"

struct F32 {
  using T = float;
  using V = __m512;
  using M = __mmask16;
  static constexpr int W = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const T* p) { return _mm512_load_ps(p); }
  static V loadu(const T* p) { return _mm512_loadu_ps(p); }
  static void store(T* p, V v) { _mm512_store_ps(p, v); }
  static void storeu(T* p, V v) { _mm512_storeu_ps(p, v); }
  static void transpose(V r[W]) { transpose16(r); }
  // A full W x W block (rows rs apart) loaded transposed (W loads and
  // transpose in one, cheaper than both: transpose_avx512.inc).
  static void load_transposed(const T* s, index_t rs, V r[W]) { load_transposed16(s, rs, r); }
  static V maskload(M m, const T* p) { return _mm512_maskz_loadu_ps(m, p); }
  static void maskstore(T* p, M m, V v) { _mm512_mask_storeu_ps(p, m, v); }
  static V set1(T x) { return _mm512_set1_ps(x); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static M mask(int n) {
    return n >= W ? M(0xffff) : n <= 0 ? M(0) : M((1u << n) - 1);
  }
};
struct F64 {
  using T = double;
  using V = __m512d;
  using M = __mmask8;
  static constexpr int W = 8;
  static V zero() { return _mm512_setzero_pd(); }
  static V load(const T* p) { return _mm512_load_pd(p); }
  static V loadu(const T* p) { return _mm512_loadu_pd(p); }
  static void store(T* p, V v) { _mm512_store_pd(p, v); }
  static void storeu(T* p, V v) { _mm512_storeu_pd(p, v); }
  static void transpose(V r[W]) { transpose8(r); }
  static void load_transposed(const T* s, index_t rs, V r[W]) { load_transposed8(s, rs, r); }
  static V maskload(M m, const T* p) { return _mm512_maskz_loadu_pd(m, p); }
  static void maskstore(T* p, M m, V v) { _mm512_mask_storeu_pd(p, m, v); }
  static V set1(T x) { return _mm512_set1_pd(x); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
  static M mask(int n) {
    return n >= W ? M(0xff) : n <= 0 ? M(0) : M((1u << n) - 1);
  }
};

// How many k steps ahead the micro-kernel prefetches the B micro-panel
// (measured: 16 and more recover the 15-20% lost to L2 latency; 32-64 best).
constexpr index_t kPrefetchB = 48;

// RM rows (RM <= MR) x NV vectors of a tile whose A micro-panel is packed MR
// high: the full tile (RM == MR, NV == the panel's vectors), or a smaller one
// for the last rows or columns of C, so that an edge of mr <= 8 or <= 4 rows
// (nr <= W columns) costs about that many FMAs, not a full tile's. Row p of
// the tile's B is at B + p * bs: the packed micro-panel (bs = NR, aligned,
// zero-padded) or, Direct, op(B) itself (bs = its row stride; MaskB when the
// tile is narrower than NV vectors, so that nothing past column nr is read).
template <typename X, int MR, int RM, int NV, bool Direct, bool MaskB>
void ukernel_core(index_t kc, const typename X::T* A, const typename X::T* B, index_t bs,
                  typename X::T* C, index_t ldc, int mr, int nr, bool loadC,
                  typename X::T alpha, typename X::T beta) {
  using T = typename X::T;
  using V = typename X::V;
  using M = typename X::M;
  constexpr int W = X::W;
  M mask[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) mask[v] = X::mask(nr - v * W);
  // A tile as wide as its vectors reads and writes C with plain loads and
  // stores: masked ones cost more on Zen 5 (the development VM).
  const bool whole = nr >= NV * W;
  V c[RM][NV];
  if (!loadC) {
    // The tile's lines of C, fetched while the k loop runs, so that its
    // stores at the end do not wait for them (C is often far out of cache:
    // a fresh output, or rows 4 KB and more apart).
    const T* last = C + (nr - 1);
#pragma GCC unroll 32
    for (int i = 0; i < RM; ++i) {
      if (i < mr) {
        const char* row = reinterpret_cast<const char*>(C + i * ldc);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) _mm_prefetch(row + v * 64, _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(last + i * ldc), _MM_HINT_T0);
      }
    }
  }
#pragma GCC unroll 32
  for (int i = 0; i < RM; ++i) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      c[i][v] = !(loadC && i < mr) ? X::zero()
                : whole              ? X::loadu(C + i * ldc + v * W)
                                     : X::maskload(mask[v], C + i * ldc + v * W);
    }
  }
#pragma GCC unroll 2
  for (index_t p = 0; p < kc; ++p) {
    V b[NV];
    // B streams from L2 (or beyond): fetch it into L1 kPrefetchB steps
    // ahead, one prefetch per cache line (NV lines per step).
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      _mm_prefetch(reinterpret_cast<const char*>(B + (p + kPrefetchB) * bs + v * W), _MM_HINT_T0);
    }
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      const T* bp = B + p * bs + v * W;
      b[v] = MaskB ? X::maskload(mask[v], bp) : Direct ? X::loadu(bp) : X::load(bp);
    }
#pragma GCC unroll 32
    for (int i = 0; i < RM; ++i) {
      const V a = X::set1(A[p * MR + i]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) c[i][v] = X::fmadd(a, b[v], c[i][v]);
    }
  }
  const bool plain = beta == T(0) && alpha == T(1);
  const V va = X::set1(alpha), vb = X::set1(beta);
#pragma GCC unroll 32
  for (int i = 0; i < RM; ++i) {
    if (i >= mr) break;
    T* cr = C + i * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      V r = c[i][v];
      if (!plain) {
        r = beta == T(0) ? X::mul(va, r)
                         : X::fmadd(va, r, X::mul(vb, whole ? X::loadu(cr + v * W) : X::maskload(mask[v], cr + v * W)));
      }
      if (whole) {
        X::storeu(cr + v * W, r);
      } else {
        X::maskstore(cr + v * W, mask[v], r);
      }
    }
  }
}

// The packed micro-kernel (gemm.h: MicroKernel): B is a micro-panel of NV
// vectors, zero-padded past nr.
template <typename X, int MR, int NV>
void ukernel(index_t kc, const typename X::T* A, const typename X::T* B,
             typename X::T* C, index_t ldc, int mr, int nr, bool loadC,
             typename X::T alpha, typename X::T beta) {
  static_assert(MR > 8 && NV == 2, "edge kernels of 8 and 4 rows, 1 vector");
  constexpr index_t NR = NV * X::W;
  if (nr > X::W) {
    if (mr > 8) return ukernel_core<X, MR, MR, 2, false, false>(kc, A, B, NR, C, ldc, mr, nr, loadC, alpha, beta);
    if (mr > 4) return ukernel_core<X, MR, 8, 2, false, false>(kc, A, B, NR, C, ldc, mr, nr, loadC, alpha, beta);
    return ukernel_core<X, MR, 4, 2, false, false>(kc, A, B, NR, C, ldc, mr, nr, loadC, alpha, beta);
  }
  if (mr > 8) return ukernel_core<X, MR, MR, 1, false, false>(kc, A, B, NR, C, ldc, mr, nr, loadC, alpha, beta);
  if (mr > 4) return ukernel_core<X, MR, 8, 1, false, false>(kc, A, B, NR, C, ldc, mr, nr, loadC, alpha, beta);
  ukernel_core<X, MR, 4, 1, false, false>(kc, A, B, NR, C, ldc, mr, nr, loadC, alpha, beta);
}

// The same with B read in place (gemm.h: MicroKernelDirect): row p of the
// tile's B at B + p * ldb, masked loads only on a narrow last tile.
template <typename X, int MR, int NV>
void ukernel_direct(index_t kc, const typename X::T* A, const typename X::T* B, index_t ldb,
                    typename X::T* C, index_t ldc, int mr, int nr, bool loadC,
                    typename X::T alpha, typename X::T beta) {
  static_assert(MR > 8 && NV == 2, "edge kernels of 8 and 4 rows, 1 vector");
  constexpr int W = X::W;
  if (nr == 2 * W) {
    if (mr > 8) return ukernel_core<X, MR, MR, 2, true, false>(kc, A, B, ldb, C, ldc, mr, nr, loadC, alpha, beta);
    if (mr > 4) return ukernel_core<X, MR, 8, 2, true, false>(kc, A, B, ldb, C, ldc, mr, nr, loadC, alpha, beta);
    return ukernel_core<X, MR, 4, 2, true, false>(kc, A, B, ldb, C, ldc, mr, nr, loadC, alpha, beta);
  }
  if (nr > W) {
    if (mr > 8) return ukernel_core<X, MR, MR, 2, true, true>(kc, A, B, ldb, C, ldc, mr, nr, loadC, alpha, beta);
    if (mr > 4) return ukernel_core<X, MR, 8, 2, true, true>(kc, A, B, ldb, C, ldc, mr, nr, loadC, alpha, beta);
    return ukernel_core<X, MR, 4, 2, true, true>(kc, A, B, ldb, C, ldc, mr, nr, loadC, alpha, beta);
  }
  if (mr > 8) return ukernel_core<X, MR, MR, 1, true, true>(kc, A, B, ldb, C, ldc, mr, nr, loadC, alpha, beta);
  if (mr > 4) return ukernel_core<X, MR, 8, 1, true, true>(kc, A, B, ldb, C, ldc, mr, nr, loadC, alpha, beta);
  ukernel_core<X, MR, 4, 1, true, true>(kc, A, B, ldb, C, ldc, mr, nr, loadC, alpha, beta);
}

constexpr int kMR32 = 14, kNR32 = 32, kMR64 = 14, kNR64 = 16;

// packA when op(A) is A transposed (rs == 1): the MR elements of one p are
// contiguous, one masked load and store each (rows past mc stored as 0).
template <typename X, int MR>
void packA_trans(index_t mc, index_t kc, const typename X::T* src, index_t cs,
                 typename X::T* dst) {
  constexpr int W = X::W;
  static_assert(MR <= 2 * W, "two vectors per p");
  for (index_t i0 = 0; i0 < mc; i0 += MR, dst += MR * kc) {
    const int mr = int(imin<typename X::T>(MR, mc - i0));
    const typename X::M m0 = X::mask(mr), m1 = X::mask(mr - W);
    const typename X::M s0 = X::mask(MR), s1 = X::mask(MR - W);
    const typename X::T* sp = src + i0;
    for (index_t p = 0; p < kc; ++p) {
      typename X::T* d = dst + p * MR;
      X::maskstore(d, s0, X::maskload(m0, sp + p * cs));
      if (MR > W) X::maskstore(d + W, s1, X::maskload(m1, sp + p * cs + W));
    }
  }
}

// packB when op(B) is B transposed (rs == 1: each column of op(B) is
// contiguous in p): blocks of W columns x W deep loaded column by column and
// transposed in registers into rows of the micro-panel; columns past nc are
// zero. Other layouts: the portable packB.
template <typename X, int NR>
void packB_simd(index_t kc, index_t nc, const typename X::T* src, index_t rs, index_t cs,
                typename X::T* dst) {
  using T = typename X::T;
  using V = typename X::V;
  constexpr int W = X::W;
  static_assert(NR % W == 0, "whole vectors per micro-panel");
  if (rs != 1) return packB<T, NR>(kc, nc, src, rs, cs, dst);
  for (index_t j0 = 0; j0 < nc; j0 += NR) {
    T* d = dst + j0 * kc;  // this micro-panel, 64-byte aligned
    for (int h = 0; h < NR / W; ++h) {
      const index_t jh = j0 + h * W;
      const int cols = int(imin<T>(W, nc > jh ? nc - jh : 0));
      if (cols == 0) {  // a half panel wholly past nc: zeros
        for (index_t p = 0; p < kc; ++p) X::store(d + p * NR + h * W, X::zero());
        continue;
      }
      const T* col[W];
#pragma GCC unroll 16
      for (int j = 0; j < W; ++j) col[j] = src + (jh + (j < cols ? j : 0)) * cs;
      for (index_t p0 = 0; p0 < kc; p0 += W) {
        const int np = int(imin<T>(W, kc - p0));
        const auto m = X::mask(np);
        V r[W];
        if (cols == W && np == W) {  // a whole block
          X::load_transposed(col[0] + p0, cs, r);
#pragma GCC unroll 16
          for (int q = 0; q < W; ++q) X::store(d + (p0 + q) * NR + h * W, r[q]);
          continue;
        }
#pragma GCC unroll 16
        for (int j = 0; j < W; ++j) r[j] = j < cols ? X::maskload(m, col[j] + p0) : X::zero();
        X::transpose(r);
        for (int q = 0; q < np; ++q) X::store(d + (p0 + q) * NR + h * W, r[q]);
      }
    }
  }
}

// packA for fp32 when op(A)'s rows are contiguous (A not transposed): 16 x
// 16 blocks transposed in registers instead of element by element.
void packA_f32(index_t mc, index_t kc, const float* src, index_t rs, index_t cs,
               float* dst) {
  constexpr int MR = kMR32;
  static_assert(MR <= 16, "one 16-wide transpose per block");
  if (cs != 1) {
    if (rs == 1) return packA_trans<F32, MR>(mc, kc, src, cs, dst);
    return packA<float, MR>(mc, kc, src, rs, cs, dst);
  }
  const index_t full = mc / MR * MR;
  for (index_t i0 = 0; i0 < full; i0 += MR, dst += MR * kc) {
    const float* s = src + i0 * rs;
    for (index_t p0 = 0; p0 < kc; p0 += 16) {
      const int np = int(imin<float>(16, kc - p0));
      __m512 r[16];
      if (np == 16) {
        load_transposed16<MR>(s + p0, rs, r);  // rows past MR repeat row MR - 1
      } else {
        const __mmask16 m = F32::mask(np);
#pragma GCC unroll 16
        for (int i = 0; i < 16; ++i) {
          r[i] = i < MR ? _mm512_maskz_loadu_ps(m, s + i * rs + p0) : _mm512_setzero_ps();
        }
        transpose16(r);
      }
      float* d = dst + p0 * MR;
      if (np == 16) {
        // Whole vectors: each spills 16 - MR lanes into the next row, which
        // the next store overwrites; the last one, masked, stays in the block
        // (masked stores cost more on Zen 5).
#pragma GCC unroll 16
        for (int q = 0; q < 15; ++q) _mm512_storeu_ps(d + q * MR, r[q]);
        _mm512_mask_storeu_ps(d + 15 * MR, F32::mask(MR), r[15]);
      } else {
        for (int q = 0; q < np; ++q) _mm512_mask_storeu_ps(d + q * MR, F32::mask(MR), r[q]);
      }
    }
  }
  if (full < mc) packA<float, MR>(mc - full, kc, src + full * rs, rs, cs, dst);
}

// packA for fp64 when op(A)'s rows are contiguous: the 14 rows of a panel as
// an 8 x 8 and a 6 x 8 (zero-padded) block, transposed in registers.
void packA_f64(index_t mc, index_t kc, const double* src, index_t rs, index_t cs,
               double* dst) {
  constexpr int MR = kMR64;
  static_assert(MR > 8 && MR <= 16, "two 8-wide transposes per block");
  if (cs != 1) {
    if (rs == 1) return packA_trans<F64, MR>(mc, kc, src, cs, dst);
    return packA<double, MR>(mc, kc, src, rs, cs, dst);
  }
  const index_t full = mc / MR * MR;
  for (index_t i0 = 0; i0 < full; i0 += MR, dst += MR * kc) {
    const double* s = src + i0 * rs;
    for (index_t p0 = 0; p0 < kc; p0 += 8) {
      const int np = int(imin<double>(8, kc - p0));
      __m512d lo[8], hi[8];
      if (np == 8) {
        load_transposed8(s + p0, rs, lo);
        load_transposed8<MR - 8>(s + 8 * rs + p0, rs, hi);  // rows past MR repeat row MR - 1
      } else {
        const __mmask8 m = F64::mask(np);
#pragma GCC unroll 8
        for (int i = 0; i < 8; ++i) {
          lo[i] = _mm512_maskz_loadu_pd(m, s + i * rs + p0);
          hi[i] = 8 + i < MR ? _mm512_maskz_loadu_pd(m, s + (8 + i) * rs + p0) : _mm512_setzero_pd();
        }
        transpose8(lo);
        transpose8(hi);
      }
      double* d = dst + p0 * MR;
      // As fp32's: whole vectors but the last row's (spilling into the next
      // row, which its own stores overwrite).
      for (int q = 0; q < np; ++q) {
        _mm512_storeu_pd(d + q * MR, lo[q]);
        if (q + 1 < np) {
          _mm512_storeu_pd(d + q * MR + 8, hi[q]);
        } else {
          _mm512_mask_storeu_pd(d + q * MR + 8, F64::mask(MR - 8), hi[q]);
        }
      }
    }
  }
  if (full < mc) packA<double, MR>(mc - full, kc, src + full * rs, rs, cs, dst);
}


}  // namespace avx512

// Cache blocks: the packed B block (KC x NC) and the A block (MC x KC) fit
// a 2 MiB L2 together: fp32 1.5 MiB + 252 KiB; fp64 1 MiB + 336 KiB (with
// NC = 1024 the fp64 B block alone was the whole L2: its fp64/fp32 GFLOP/s
// at 1024 and 2048 was 2.5-6 % lower, timed call by call in one process).
const Isa isa_avx512 = {
    "avx512",
    2,
    {{avx512::kMR32, avx512::kNR32, 168, 384, 1024, 112},
     avx512::ukernel<avx512::F32, avx512::kMR32, 2>,
     avx512::packA_f32,
     avx512::packB_simd<avx512::F32, avx512::kNR32>,
     avx512::small_gemm_simd<avx512::F32>,
     avx512::gemv_axpy_simd<avx512::F32>,
     avx512::gemv_dot_simd<avx512::F32>,
     avx512::ukernel_direct<avx512::F32, avx512::kMR32, 2>},
    {{avx512::kMR64, avx512::kNR64, 168, 256, 512, 112},
     avx512::ukernel<avx512::F64, avx512::kMR64, 2>,
     avx512::packA_f64,
     avx512::packB_simd<avx512::F64, avx512::kNR64>,
     avx512::small_gemm_simd<avx512::F64>,
     avx512::gemv_axpy_simd<avx512::F64>,
     avx512::gemv_dot_simd<avx512::F64>,
     avx512::ukernel_direct<avx512::F64, avx512::kMR64, 2>},
    avx512::fma_loop_pair<avx512::F32, avx512::F64>,
};

}  // namespace gemm
}  // namespace ntensor

#ifndef __clang__
#pragma GCC diagnostic pop
#endif
NT_TARGET_END
#endif
