// Chooses which build of the simple convolution loops (the "reference" path
// of conv.cc) this CPU runs: the AVX2 one when the GEMM ISA in use (gemm.cc,
// which detects the CPU once) is avx2 or better, else the portable one. Both
// give the same bits (std::fma).
#include "conv.h"
#include "gemm.h"
#include "kernels.h"

namespace ntensor {
#define NT_DECLARE_VARIANT(ns)                                                  \
  namespace ns {                                                                \
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

#if defined(__x86_64__) || defined(_M_X64)
namespace {
bool use_avx2() { return gemm::current_isa().level >= 1; }
}  // namespace
#endif

void conv::reference_f32(const Conv2dShape& s, const float* x, const float* w,
                         const float* bias, float* y) {
#if defined(__x86_64__) || defined(_M_X64)
  if (use_avx2()) return avx2::conv2d_f32(s, x, w, bias, y);
#endif
  scalar::conv2d_f32(s, x, w, bias, y);
}
void conv::reference_f64(const Conv2dShape& s, const double* x, const double* w,
                         const double* bias, double* y) {
#if defined(__x86_64__) || defined(_M_X64)
  if (use_avx2()) return avx2::conv2d_f64(s, x, w, bias, y);
#endif
  scalar::conv2d_f64(s, x, w, bias, y);
}

}  // namespace ntensor
