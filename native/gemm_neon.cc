// GEMM kernels for aarch64 Advanced SIMD (NEON), which every ARMv8-A CPU
// has, so gemm.cc selects them on every aarch64 build; the file compiles to
// nothing elsewhere.
//
// Micro-kernels: fp32 8 x 12 and fp64 8 x 6, i.e. 8 rows of three q-register
// vectors: 24 accumulators, 3 loads of B and 8 broadcasts of A per k, one
// fused multiply-add (vfmaq, one rounding) per accumulator and k, so the
// results are the other ISAs' bits (kernels.h). Edge tiles go through a
// temporary tile (gemm_generic.inc); partial vectors in the small and
// matrix-vector paths through a small buffer (NEON has no masked loads).
#if defined(__aarch64__)
#include <arm_neon.h>

#include <cstring>

#include "gemm.h"

namespace ntensor {
namespace gemm {
namespace neon {

#include "gemm_generic.inc"

struct F32 {
  using T = float;
  using V = float32x4_t;
  using M = int;  // the number of leading lanes in use
  static constexpr int W = 4;
  static M mask(int n) { return n < 0 ? 0 : n > W ? W : n; }
  static V maskload(M m, const T* p) {
    if (m == W) return vld1q_f32(p);
    T t[W] = {0, 0, 0, 0};
    std::memcpy(t, p, sizeof(T) * std::size_t(m));
    return vld1q_f32(t);
  }
  static void maskstore(T* p, M m, V v) {
    if (m == W) return vst1q_f32(p, v);
    T t[W];
    vst1q_f32(t, v);
    std::memcpy(p, t, sizeof(T) * std::size_t(m));
  }
  static V zero() { return vdupq_n_f32(0.0f); }
  static V load(const T* p) { return vld1q_f32(p); }
  static void store(T* p, V v) { vst1q_f32(p, v); }
  static V loadu(const T* p) { return vld1q_f32(p); }
  static void storeu(T* p, V v) { vst1q_f32(p, v); }
  // r[c] becomes column c of the 4 x 4 block of rows r[0..3].
  static void transpose(V r[W]) {
    const float32x4_t t0 = vtrn1q_f32(r[0], r[1]), t1 = vtrn2q_f32(r[0], r[1]);
    const float32x4_t t2 = vtrn1q_f32(r[2], r[3]), t3 = vtrn2q_f32(r[2], r[3]);
    r[0] = vreinterpretq_f32_f64(vtrn1q_f64(vreinterpretq_f64_f32(t0), vreinterpretq_f64_f32(t2)));
    r[1] = vreinterpretq_f32_f64(vtrn1q_f64(vreinterpretq_f64_f32(t1), vreinterpretq_f64_f32(t3)));
    r[2] = vreinterpretq_f32_f64(vtrn2q_f64(vreinterpretq_f64_f32(t0), vreinterpretq_f64_f32(t2)));
    r[3] = vreinterpretq_f32_f64(vtrn2q_f64(vreinterpretq_f64_f32(t1), vreinterpretq_f64_f32(t3)));
  }
  static V set1(T x) { return vdupq_n_f32(x); }
  static V bcast(const T* p) { return vld1q_dup_f32(p); }
  static V fmadd(V a, V b, V c) { return vfmaq_f32(c, a, b); }
  static V mul(V a, V b) { return vmulq_f32(a, b); }
};

struct F64 {
  using T = double;
  using V = float64x2_t;
  using M = int;
  static constexpr int W = 2;
  static M mask(int n) { return n < 0 ? 0 : n > W ? W : n; }
  static V maskload(M m, const T* p) {
    if (m == W) return vld1q_f64(p);
    return vsetq_lane_f64(m == 1 ? p[0] : 0.0, vdupq_n_f64(0.0), 0);
  }
  static void maskstore(T* p, M m, V v) {
    if (m == W) return vst1q_f64(p, v);
    if (m == 1) p[0] = vgetq_lane_f64(v, 0);
  }
  static V zero() { return vdupq_n_f64(0.0); }
  static V load(const T* p) { return vld1q_f64(p); }
  static void store(T* p, V v) { vst1q_f64(p, v); }
  static V loadu(const T* p) { return vld1q_f64(p); }
  static void storeu(T* p, V v) { vst1q_f64(p, v); }
  static void transpose(V r[W]) {
    const float64x2_t t0 = vtrn1q_f64(r[0], r[1]), t1 = vtrn2q_f64(r[0], r[1]);
    r[0] = t0;
    r[1] = t1;
  }
  static V set1(T x) { return vdupq_n_f64(x); }
  static V bcast(const T* p) { return vld1q_dup_f64(p); }
  static V fmadd(V a, V b, V c) { return vfmaq_f64(c, a, b); }
  static V mul(V a, V b) { return vmulq_f64(a, b); }
};

// How many k steps ahead the micro-kernel prefetches the B micro-panel.
constexpr index_t kPrefetchB = 16;

// Tiles: fp32 8 x 12 (three q-registers), fp64 8 x 6.
constexpr int kMR32 = 8, kMR64 = 8;

}  // namespace neon

const Isa isa_neon = {
    "neon",
    1,
    neon::simd_kernels<neon::F32, neon::kMR32, 3, neon::kPrefetchB>(128, 256, 1024, 48),
    neon::simd_kernels<neon::F64, neon::kMR64, 3, neon::kPrefetchB>(128, 256, 512, 48),
    neon::fma_loop_pair<neon::F32, neon::F64>,
};

}  // namespace gemm
}  // namespace ntensor

#endif
