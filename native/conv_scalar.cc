// The portable convolution kernels (conv_generic.inc) for any CPU: one-lane
// "vectors", std::fma (a libm call where the CPU has no FMA instruction).
#include <cmath>
#include <cstdint>
#include <cstring>

#include "conv.h"

namespace ntensor {
namespace conv {
namespace scalar {

template <typename Elem>
struct Lane {
  using T = Elem;
  using V = Elem;
  using M = bool;
  static constexpr int W = 1;
  static constexpr int kMaxAcc = 16;
  static constexpr int kChains = 4;
  static V zero() { return T(0); }
  static V set1(T x) { return x; }
  static V fmadd(V a, V b, V c) { return std::fma(a, b, c); }
  static V add(V a, V b) { return a + b; }
  static V sub(V a, V b) { return a - b; }
  static V div(V a, V b) { return a / b; }
  static V mul(V a, V b) { return a * b; }
  static V select(M m, V a, V b) { return m ? b : a; }
  static M from_bits(std::uint32_t bits) { return (bits & 1) != 0; }
  // v where v > acc or v is NaN, else acc (pooling's max)
  static V maxnan(V acc, V v) { return v > acc || v != v ? v : acc; }
  static M lanes(int lo, int hi) { return lo < hi; }
  static V load(M m, const T* p) { return m ? *p : T(0); }
  static V loadu(const T* p) { return *p; }
  static void storeu(T* p, V v) { *p = v; }
  static V left_neighbours(V prev, V) { return prev; }
  static V right_neighbours(V, V next) { return next; }
  static void deinterleave(V lo, V hi, V& even, V& odd) { even = lo, odd = hi; }
  static V load_strided(M m, const T* p, index_t) { return m ? *p : T(0); }
  static void store(T* p, M m, V v) {
    if (m) *p = v;
  }
  static V load_full(const T* p, index_t) { return *p; }
  static V load_over(const T* p, index_t) { return *p; }
  static V load_over(M m, const T* p, index_t stride) { return load_strided(m, p, stride); }
};
using F32 = Lane<float>;
using F64 = Lane<double>;

#include "conv_generic.inc"

}  // namespace scalar

const Isa isa_scalar = {scalar::kernels<scalar::F32>(), scalar::kernels<scalar::F64>()};

}  // namespace conv
}  // namespace ntensor
