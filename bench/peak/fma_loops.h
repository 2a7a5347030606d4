// The fp32 FMA peak loops: independent chains of vector fused multiply-adds,
// enough of them (16 for AVX-512, 12 for AVX2) to cover FMA latency × ports on
// current x86 cores, so a loop is bound by FMA throughput alone. Each carries
// its own target attribute (plain -O2 builds; the caller checks the CPU).
// Shared by bench/peak/peak.cc (the bench's peak) and
// bench/native/gemm-paired.cc (% of peak timed call by call next to GEMMs).
#pragma once
#include <immintrin.h>

namespace fma_peak {

// acc = acc * a + b with a just below 1 converges: no overflow, no denormals.
#define FMA16(OP) OP(0) OP(1) OP(2) OP(3) OP(4) OP(5) OP(6) OP(7) \
                  OP(8) OP(9) OP(10) OP(11) OP(12) OP(13) OP(14) OP(15)
#define FMA12(OP) OP(0) OP(1) OP(2) OP(3) OP(4) OP(5) OP(6) OP(7) \
                  OP(8) OP(9) OP(10) OP(11)

constexpr int kAcc512 = 16, kLanes512 = 16;
constexpr int kAcc256 = 12, kLanes256 = 8;

__attribute__((target("avx512f"), noinline)) inline float fma_avx512(long iters) {
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-6f);
#define DECL(i) __m512 c##i = _mm512_set1_ps(1.0f + (i) * 1e-3f);
  FMA16(DECL)
#undef DECL
  for (long it = 0; it < iters; ++it) {
#define STEP(i) c##i = _mm512_fmadd_ps(c##i, a, b);
    FMA16(STEP)
#undef STEP
  }
  __m512 s = _mm512_setzero_ps();
#define SUM(i) s = _mm512_add_ps(s, c##i);
  FMA16(SUM)
#undef SUM
  return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"), noinline)) inline float fma_avx2(long iters) {
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-6f);
#define DECL(i) __m256 c##i = _mm256_set1_ps(1.0f + (i) * 1e-3f);
  FMA12(DECL)
#undef DECL
  for (long it = 0; it < iters; ++it) {
#define STEP(i) c##i = _mm256_fmadd_ps(c##i, a, b);
    FMA12(STEP)
#undef STEP
  }
  __m256 s = _mm256_setzero_ps();
#define SUM(i) s = _mm256_add_ps(s, c##i);
  FMA12(SUM)
#undef SUM
  float lanes[8];
  _mm256_storeu_ps(lanes, s);
  float t = 0;
  for (float v : lanes) t += v;
  return t;
}

}  // namespace fma_peak
