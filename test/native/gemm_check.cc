// A standalone check of the GEMM and conv2d kernels, without Node: built
// for aarch64 by scripts/test-neon.sh and run under qemu-aarch64 (it builds
// and runs on x86-64 too). For every ISA this CPU supports, every GEMM path
// and 1 and 3 threads it compares gemm_f32 / gemm_f64 with a plain loop of
// fused multiply-adds in the contract's order (kernels.h), bit for bit, over
// sizes at the blocking edges (MR, NR, KC +- 1), with transposes, leading
// dimensions, alpha and beta; and conv2d_f32 with the reference path's
// bits. Prints one line per ISA and "gemm_check: N checks passed"; exits 1
// on the first difference.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "kernels.h"
#include "threadpool.h"

using ntensor::index_t;

namespace {

unsigned long long g_state = 0x9E3779B97F4A7C15ull;
double uniform() {  // splitmix64 -> [-1, 1)
  unsigned long long z = (g_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return double(z >> 11) / double(1ull << 52) - 1.0;
}

template <typename T>
T fmaT(T a, T b, T c) {
  return sizeof(T) == 4 ? T(std::fmaf(float(a), float(b), float(c))) : T(std::fma(double(a), double(b), double(c)));
}

long g_checks = 0;

template <typename T>
bool same(T a, T b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0 || (std::isnan(a) && std::isnan(b));
}

// C = alpha * op(A) op(B) + beta * C against the contract's loop (beta == 0:
// alpha * S; beta != 0 and k <= KC: fma(alpha, S, beta * C)).
template <typename T>
bool check_gemm(const char* isa, const char* path, int threads, bool ta, bool tb, index_t m, index_t n,
                index_t k, T alpha, T beta, index_t kc) {
  const index_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 1;
  std::vector<T> A((ta ? k : m) * lda + 1), B((tb ? n : k) * ldb + 1), C(m * ldc + 1), want;
  for (auto& v : A) v = T(uniform());
  for (auto& v : B) v = T(uniform());
  for (auto& v : C) v = T(uniform());
  want = C;
  for (index_t i = 0; i < m; ++i) {
    for (index_t j = 0; j < n; ++j) {
      T s = T(0);
      for (index_t p = 0; p < k; ++p) {
        const T a = ta ? A[p * lda + i] : A[i * lda + p];
        const T b = tb ? B[j * ldb + p] : B[p * ldb + j];
        s = fmaT(a, b, s);
      }
      T& c = want[i * ldc + j];
      c = beta == T(0) ? (alpha == T(1) ? s : alpha * s) : (k == 0 || alpha == T(0) ? beta * c : fmaT(alpha, s, beta * c));
    }
  }
  if (beta != T(0) && k > kc) return true;  // not promised bit for bit (kernels.h)
  if (sizeof(T) == 4) {
    ntensor::gemm_f32(ta, tb, m, n, k, float(alpha), reinterpret_cast<const float*>(A.data()), lda,
                      reinterpret_cast<const float*>(B.data()), ldb, float(beta), reinterpret_cast<float*>(C.data()), ldc);
  } else {
    ntensor::gemm_f64(ta, tb, m, n, k, double(alpha), reinterpret_cast<const double*>(A.data()), lda,
                      reinterpret_cast<const double*>(B.data()), ldb, double(beta), reinterpret_cast<double*>(C.data()), ldc);
  }
  ++g_checks;
  for (index_t i = 0; i < index_t(C.size()); ++i) {
    if (!same(C[i], want[i])) {
      std::printf("gemm_check: FAIL %s %s %d threads fp%d %s%s m=%lld n=%lld k=%lld alpha=%g beta=%g: C[%lld] = %.9g, want %.9g\n",
                  isa, path, threads, int(8 * sizeof(T)), ta ? "A^T " : "", tb ? "B^T " : "", (long long)m, (long long)n,
                  (long long)k, double(alpha), double(beta), (long long)i, double(C[i]), double(want[i]));
      return false;
    }
  }
  return true;
}

bool check_conv(const char* isa) {
  // 3x3, padding 1, 8 -> 12 channels on 9 x 10, against the reference path.
  ntensor::Conv2dShape s{1, 8, 9, 10, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 9, 10};
  std::vector<float> x(8 * 9 * 10), w(12 * 8 * 9), b(12), y(12 * 90), want(12 * 90);
  for (auto& v : x) v = float(uniform());
  for (auto& v : w) v = float(uniform());
  for (auto& v : b) v = float(uniform());
  ntensor::set_conv_path("reference");
  ntensor::conv2d_f32(s, x.data(), w.data(), b.data(), want.data());
  for (const char* path : {"auto", "direct", "gemm", "gemm-t", "direct-t"}) {
    ntensor::set_conv_path(path);
    ntensor::conv2d_f32(s, x.data(), w.data(), b.data(), y.data());
    ++g_checks;
    for (std::size_t i = 0; i < y.size(); ++i) {
      if (!same(y[i], want[i])) {
        std::printf("gemm_check: FAIL %s conv2d path %s: y[%zu] = %.9g, want %.9g\n", isa, path, i, double(y[i]), double(want[i]));
        return false;
      }
    }
  }
  ntensor::set_conv_path("auto");
  return true;
}

template <typename T>
bool check_isa(const char* isa, bool f64) {
  const ntensor::GemmBlocking blk = ntensor::gemm_blocking(f64);
  const index_t mr = blk.mr, nr = blk.nr, kc = blk.kc;
  const index_t ms[] = {1, mr - 1, mr, mr + 1, 2 * mr + 3, 37};
  const index_t ns[] = {1, nr - 1, nr, nr + 1, 2 * nr + 5};
  const index_t ks[] = {0, 1, 7, kc - 1, kc, kc + 1};
  for (const char* path : {"auto", "small", "packed", "parallel"}) {
    if (ntensor::set_gemm_path(path) == nullptr) continue;
    for (int threads : {1, 3}) {
      ntensor::set_num_threads(threads);
      for (index_t m : ms) {
        for (index_t n : ns) {
          for (index_t k : ks) {
            if (m <= 0 || n <= 0 || k < 0) continue;
            const int variant = int((m + 3 * n + 7 * k) % 4);
            const bool ta = variant & 1, tb = variant & 2;
            if (!check_gemm<T>(isa, path, threads, ta, tb, m, n, k, T(1), T(0), kc)) return false;
            if ((m + n + k) % 3 == 0 && !check_gemm<T>(isa, path, threads, tb, ta, m, n, k, T(0.5), T(-2), kc)) return false;
          }
        }
      }
    }
  }
  // The shared-B driver (gemm.cc: run_dynamic), forced by the "parallel"
  // path onto a few row blocks: three or more depth blocks, so that its two
  // B buffers are reused, with alpha and beta, on 2 and 3 threads, and on 8
  // (more threads than the items of two steps of 3 row blocks).
  if (ntensor::set_gemm_path("parallel") != nullptr) {
    for (int threads : {2, 3, 8}) {
      ntensor::set_num_threads(threads);
      for (index_t m : {2 * mr + 1, 6 * mr + 5}) {
        for (index_t k : {2 * kc + 1, 3 * kc + 2}) {
          const index_t n = m == 2 * mr + 1 ? nr + 1 : 2 * nr + 5;
          if (!check_gemm<T>(isa, "parallel (shared B)", threads, false, false, m, n, k, T(1), T(0), kc)) return false;
          if (!check_gemm<T>(isa, "parallel (shared B)", threads, k % 2 == 0, true, m, n, k, T(0.5), T(-2), kc)) return false;
        }
      }
    }
  }
  ntensor::set_gemm_path("auto");
  return true;
}

}  // namespace

int main() {
  const char* names[8];
  const int count = ntensor::supported_isas(names, 8);
  std::string list;
  for (int i = 0; i < count; ++i) list += std::string(i ? ", " : "") + names[i];
  std::printf("gemm_check: ISAs %s (default %s)\n", list.c_str(), ntensor::kernel_isa());
  const char* want = std::getenv("GEMM_CHECK_EXPECT_ISA");
  if (want != nullptr && std::strcmp(want, ntensor::kernel_isa()) != 0) {
    std::printf("gemm_check: FAIL the default ISA is %s, expected %s\n", ntensor::kernel_isa(), want);
    return 1;
  }
  for (int i = 0; i < count; ++i) {
    ntensor::set_kernel_isa(names[i]);
    const long before = g_checks;
    if (!check_isa<float>(names[i], false) || !check_isa<double>(names[i], true) || !check_conv(names[i])) return 1;
    std::printf("gemm_check: %s: %ld checks, same bits as the fma loops\n", names[i], g_checks - before);
  }
  std::printf("gemm_check: %ld checks passed\n", g_checks);
  return 0;
}
