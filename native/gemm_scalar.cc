// The portable GEMM kernels: plain C++ for any CPU (std::fma semantics via
// __builtin_fma, which is a libm call where the CPU has no FMA instruction).
#include <cstring>

#include "gemm.h"

namespace ntensor {
namespace gemm {
namespace scalar {

#include "gemm_generic.inc"

constexpr int kMR32 = 4, kNR32 = 8, kMR64 = 4, kNR64 = 4;

}  // namespace scalar

const Isa isa_scalar = {
    "scalar",
    0,
    {{scalar::kMR32, scalar::kNR32, 64, 256, 1024},
     scalar::ukernel_generic<float, scalar::kMR32, scalar::kNR32>,
     scalar::packA<float, scalar::kMR32>,
     scalar::packB<float, scalar::kNR32>,
     scalar::small_gemm<float>},
    {{scalar::kMR64, scalar::kNR64, 64, 256, 512},
     scalar::ukernel_generic<double, scalar::kMR64, scalar::kNR64>,
     scalar::packA<double, scalar::kMR64>,
     scalar::packB<double, scalar::kNR64>,
     scalar::small_gemm<double>},
};

}  // namespace gemm
}  // namespace ntensor
