// The portable GEMM kernels: plain C++ for any CPU (std::fma semantics via
// __builtin_fma, which is a libm call where the CPU has no FMA instruction).
#include <cstring>

#include "gemm.h"

namespace ntensor {
namespace gemm {
namespace scalar {

#include "gemm_generic.inc"

constexpr int kMR32 = 4, kNR32 = 8, kMR64 = 4, kNR64 = 4;

template <typename T>
double fma_loop_t(long iters, double* flops) {
  T acc[8];
  for (int i = 0; i < 8; ++i) acc[i] = T(i) * T(1e-3);
  volatile T va = T(0.999), vb = T(1e-7);
  const T a = va, b = vb;
  for (long it = 0; it < iters; ++it) {
    for (int i = 0; i < 8; ++i) acc[i] = fmaT(acc[i], a, b);
  }
  *flops = double(iters) * 8 * 2;
  T s = 0;
  for (int i = 0; i < 8; ++i) s += acc[i];
  return double(s);
}
double fma_loop(bool f64, long iters, double* flops) {
  return f64 ? fma_loop_t<double>(iters, flops) : fma_loop_t<float>(iters, flops);
}

}  // namespace scalar

const Isa isa_scalar = {
    "scalar",
    0,
    {{scalar::kMR32, scalar::kNR32, 64, 256, 1024, 48},
     scalar::ukernel_generic<float, scalar::kMR32, scalar::kNR32>,
     scalar::packA<float, scalar::kMR32>,
     scalar::packB<float, scalar::kNR32>,
     scalar::small_gemm<float>,
     scalar::gemv_axpy<float>,
     scalar::gemv_dot<float>,
     nullptr},
    {{scalar::kMR64, scalar::kNR64, 64, 256, 512, 48},
     scalar::ukernel_generic<double, scalar::kMR64, scalar::kNR64>,
     scalar::packA<double, scalar::kMR64>,
     scalar::packB<double, scalar::kNR64>,
     scalar::small_gemm<double>,
     scalar::gemv_axpy<double>,
     scalar::gemv_dot<double>,
     nullptr},
    scalar::fma_loop,
};

}  // namespace gemm
}  // namespace ntensor
