// Chooses, once, which build of the kernels this CPU runs.
#include "kernels.h"

namespace ntensor {
#define NT_DECLARE_VARIANT(ns)                                                  \
  namespace ns {                                                                \
  void gemm_f32(bool, bool, index_t, index_t, index_t, float, const float*,     \
                index_t, const float*, index_t, float, float*, index_t);        \
  void gemm_f64(bool, bool, index_t, index_t, index_t, double, const double*,   \
                index_t, const double*, index_t, double, double*, index_t);     \
  void conv2d_f32(const Conv2dShape&, const float*, const float*, const float*, \
                  float*);                                                      \
  void conv2d_f64(const Conv2dShape&, const double*, const double*,             \
                  const double*, double*);                                      \
  }
NT_DECLARE_VARIANT(scalar)
#if defined(__x86_64__) || defined(_M_X64)
NT_DECLARE_VARIANT(avx2)
#endif
#undef NT_DECLARE_VARIANT

namespace {
struct Kernels {
  const char* isa;
  decltype(&scalar::gemm_f32) gemm_f32;
  decltype(&scalar::gemm_f64) gemm_f64;
  decltype(&scalar::conv2d_f32) conv2d_f32;
  decltype(&scalar::conv2d_f64) conv2d_f64;
};

Kernels choose() {
#if defined(__x86_64__) || defined(_M_X64)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    return {"avx2-fma", avx2::gemm_f32, avx2::gemm_f64, avx2::conv2d_f32,
            avx2::conv2d_f64};
  }
#endif
  return {"scalar", scalar::gemm_f32, scalar::gemm_f64, scalar::conv2d_f32,
          scalar::conv2d_f64};
}

// A function-local static is initialised once, thread-safely (C++11), and is
// read-only afterwards: safe to share across worker_threads.
const Kernels& kernels() {
  static const Kernels k = choose();
  return k;
}
}  // namespace

void gemm_f32(bool ta, bool tb, index_t m, index_t n, index_t k, float alpha,
              const float* A, index_t lda, const float* B, index_t ldb,
              float beta, float* C, index_t ldc) {
  kernels().gemm_f32(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}
void gemm_f64(bool ta, bool tb, index_t m, index_t n, index_t k, double alpha,
              const double* A, index_t lda, const double* B, index_t ldb,
              double beta, double* C, index_t ldc) {
  kernels().gemm_f64(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}
void conv2d_f32(const Conv2dShape& s, const float* x, const float* w,
                const float* bias, float* y) {
  kernels().conv2d_f32(s, x, w, bias, y);
}
void conv2d_f64(const Conv2dShape& s, const double* x, const double* w,
                const double* bias, double* y) {
  kernels().conv2d_f64(s, x, w, bias, y);
}
const char* kernel_isa() { return kernels().isa; }

}  // namespace ntensor
