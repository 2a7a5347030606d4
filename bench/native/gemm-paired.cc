// ntensor's GEMM against OpenBLAS's cblas_sgemm / cblas_dgemm (cblas_?gemv for a matrix-vector shape, as numpy calls it) in one
// process, call by call: the bench's "in one process" suite
// (bench/suites/inprocess.mjs) compiles this file with ntensor's own kernel
// sources (native/gemm*.cc, native/threadpool.cc: plain C++ that knows
// nothing of Node) and runs it.
//
// Why: the Node suites time ntensor in Node and OpenBLAS in a Python
// process, in rounds; on a shared machine whose speed moves by 10-40% from
// one second to the next, a round's two medians can fall in different
// phases. Here each OpenBLAS call is timed right next to an ntensor call on
// the same operands (the order alternating pair by pair), so a slow phase
// falls on both, and the ratio of the pair is the measurement.
//
//   gemm-paired --openblas PATH [--shapes 256,512,64x4096x64] [--threads 1,2]
//               [--dtypes f32,f64] [--ms 600] [--settle-ms 20] [--fp64-ratio 1024] [--scaling 1024]
//               [--peak-ratio 1024,2048]
// Shapes are n (square) or MxKxN. Prints one JSON object per (dtype,
// threads, shape) on stdout: each library's median and best GFLOP/s, and the
// median and quartiles of the pairs' OpenBLAS time / ntensor time (> 1:
// ntensor is faster), plus the largest difference between the two results
// relative to the largest |C| (both must have computed the same product).
// --fp64-ratio adds, per shape listed, each library's fp64 GFLOP/s ÷ its
// fp32 GFLOP/s, timed call by call (runDtypeRatio); --scaling, per shape and
// per thread count above 1, each library's GFLOP/s on that many threads ÷ on
// one, also call by call (runScaling); --peak-ratio, per shape, each
// library's one-thread GFLOP/s ÷ the FMA peak loop's, timed beside it
// (runPeakRatio).
// Outputs are preallocated and reused: this compares the GEMM engines, not
// allocation. OpenBLAS's core is whatever it picks under the environment
// given (the suite sets OPENBLAS_CORETYPE=SkylakeX on AVX-512 CPUs).
#include <dlfcn.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "../peak/fma_loops.h"
#include "kernels.h"
#include "threadpool.h"

namespace {
int settleMs = 20;

// CBLAS constants (row-major, transposition or not).
constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;
using Sgemm = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int,
                       float, float*, int);
using Dgemm = void (*)(int, int, int, int, int, int, double, const double*, int, const double*,
                       int, double, double*, int);
// cblas_sgemv / cblas_dgemv: order, trans, m, n, alpha, A, lda, x, incx, beta, y, incy.
using Sgemv = void (*)(int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
using Dgemv = void (*)(int, int, int, int, double, const double*, int, const double*, int, double, double*, int);
using SetThreads = void (*)(int);
using CoreName = char* (*)();

struct Shape {
  long m, k, n;
};

// CPU time used so far by all of this process's threads.
double cpuSeconds() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at <= s.size()) {
    const std::size_t comma = s.find(',', at);
    const std::size_t end = comma == std::string::npos ? s.size() : comma;
    if (end > at) out.push_back(s.substr(at, end - at));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return out;
}

bool parseShape(const std::string& s, Shape* out) {
  long a = 0, b = 0, c = 0;
  if (std::sscanf(s.c_str(), "%ldx%ldx%ld", &a, &b, &c) == 3) {
    *out = {a, b, c};
  } else if (std::sscanf(s.c_str(), "%ld", &a) == 1 && s.find('x') == std::string::npos) {
    *out = {a, a, a};
  } else {
    return false;
  }
  return out->m > 0 && out->k > 0 && out->n > 0 && out->m * out->k <= (1L << 28) &&
         out->k * out->n <= (1L << 28) && out->m * out->n <= (1L << 28);
}

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[std::size_t(q * double(v.size() - 1) + 0.5)];
}

template <typename T>
struct Buffer {
  T* p = nullptr;
  explicit Buffer(std::size_t n) {
    p = static_cast<T*>(std::aligned_alloc(64, ((n * sizeof(T) + 63) / 64) * 64));
    if (p == nullptr) {
      std::fprintf(stderr, "gemm-paired: out of memory\n");
      std::exit(2);
    }
  }
  ~Buffer() { std::free(p); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
};

template <typename T>
void fill(T* p, std::size_t n, unsigned seed) {
  for (std::size_t i = 0; i < n; ++i) {
    seed = seed * 1103515245u + 12345u;
    p[i] = T(double(seed >> 8) / double(1u << 24) - 0.5);
  }
}

// More than one thread: OpenBLAS's workers keep spinning for ~125 ms after
// a call returns (ntensor's for 30 us), so before each call the process
// waits until its threads are idle: settleMs, then 10 ms windows until one
// in which they used under 2 ms of CPU (400 ms at most). The library then
// makes one untimed call to wake its threads, and the next call is timed:
// what a loop of calls sees, without the other library's threads spinning.
void settle(int threads) {
  if (threads <= 1) return;
  std::this_thread::sleep_for(std::chrono::milliseconds(settleMs));
  double before = cpuSeconds();
  for (int w = 0; w < 40; ++w) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const double after = cpuSeconds();
    if (after - before < 0.002) break;
    before = after;
  }
}

struct Peers {
  Sgemm sgemm;
  Dgemm dgemm;
  Sgemv sgemv;
  Dgemv dgemv;
  SetThreads setThreads;
};

// One shape's operands, filled once: A and B, and an output per library.
template <typename T>
struct Operands {
  Shape s;
  Buffer<T> A, B, C1, C2;
  explicit Operands(const Shape& sh)
      : s(sh), A(std::size_t(sh.m * sh.k)), B(std::size_t(sh.k * sh.n)),
        C1(std::size_t(sh.m * sh.n)), C2(std::size_t(sh.m * sh.n)) {
    fill(A.p, std::size_t(s.m * s.k), 1u);
    fill(B.p, std::size_t(s.k * s.n), 2u);
  }
  // C1 = A * B with ntensor's GEMM, C2 = A * B with OpenBLAS's.
  void ours() {
    if constexpr (sizeof(T) == 4) {
      ntensor::gemm_f32(false, false, s.m, s.n, s.k, 1.0f, A.p, s.k, B.p, s.n, 0.0f, C1.p, s.n);
    } else {
      ntensor::gemm_f64(false, false, s.m, s.n, s.k, 1.0, A.p, s.k, B.p, s.n, 0.0, C1.p, s.n);
    }
  }
  // A matrix-vector shape goes to cblas_?gemv, as numpy sends it (OpenBLAS's
  // cblas_?gemm does not: 1x4096x4096 ran at ~5 GFLOP/s through it here,
  // ~12 through numpy); anything else to cblas_?gemm.
  void theirs(const Peers& ob) {
    const int m = int(s.m), k = int(s.k), n = int(s.n);
    if (m == 1 || n == 1) {
      // m == 1: c (1 x n) = a (1 x k) B, i.e. B^T a; n == 1: c = A b.
      const bool row = m == 1;
      if constexpr (sizeof(T) == 4) {
        if (row) ob.sgemv(kRowMajor, kTrans, k, n, 1.0f, B.p, n, A.p, 1, 0.0f, C2.p, 1);
        else ob.sgemv(kRowMajor, kNoTrans, m, k, 1.0f, A.p, k, B.p, 1, 0.0f, C2.p, 1);
      } else {
        if (row) ob.dgemv(kRowMajor, kTrans, k, n, 1.0, B.p, n, A.p, 1, 0.0, C2.p, 1);
        else ob.dgemv(kRowMajor, kNoTrans, m, k, 1.0, A.p, k, B.p, 1, 0.0, C2.p, 1);
      }
      return;
    }
    if constexpr (sizeof(T) == 4) {
      ob.sgemm(kRowMajor, kNoTrans, kNoTrans, m, n, k, 1.0f, A.p, k, B.p, n, 0.0f, C2.p, n);
    } else {
      ob.dgemm(kRowMajor, kNoTrans, kNoTrans, m, n, k, 1.0, A.p, k, B.p, n, 0.0, C2.p, n);
    }
  }
};

// Steps of `calls` calls, call(0..calls-1), in an order rotating step by
// step (with two: which goes first alternates), each after settle(most);
// at more than one thread an untimed call first wakes that library's
// threads, as a loop of calls has them. Two warm-up rounds first, then steps
// until the budget is spent (at least minSteps, at most 400). Returns each
// step's times, indexed by call.
template <typename Call>
std::vector<std::vector<double>> timeSteps(int calls, Call call, int most, double budgetS, int minSteps) {
  for (int w = 0; w < 2; ++w) {
    for (int i = 0; i < calls; ++i) {
      settle(most);
      call(i);
    }
  }
  std::vector<std::vector<double>> steps;
  const double start = now();
  for (int step = 0; step < 400 && (step < minSteps || now() - start < budgetS); ++step) {
    std::vector<double> t(static_cast<std::size_t>(calls));
    for (int i = 0; i < calls; ++i) {
      const int which = (i + step) % calls;
      settle(most);
      if (most > 1) call(which);
      const double t0 = now();
      call(which);
      t[std::size_t(which)] = now() - t0;
    }
    steps.push_back(t);
  }
  return steps;
}

// One (dtype, threads, shape): ntensor against OpenBLAS in pairs (at least
// 9, since the big shapes spend the budget in a few calls).
template <typename T>
void runCase(const Peers& ob, const char* dtype, int threads, const Shape& s, double budgetS) {
  Operands<T> o(s);
  ntensor::set_num_threads(threads);
  ob.setThreads(threads);
  const auto pairs = timeSteps(
      2, [&](int which) { which == 0 ? o.ours() : o.theirs(ob); }, threads, budgetS, 9);
  double maxAbs = 0, maxDiff = 0;
  for (std::size_t i = 0; i < std::size_t(s.m * s.n); ++i) {
    maxAbs = std::max(maxAbs, std::fabs(double(o.C2.p[i])));
    maxDiff = std::max(maxDiff, std::fabs(double(o.C1.p[i]) - double(o.C2.p[i])));
  }
  std::vector<double> tOurs, tTheirs, ratio;
  for (const auto& t : pairs) {
    tOurs.push_back(t[0]);
    tTheirs.push_back(t[1]);
    ratio.push_back(t[1] / t[0]);
  }
  const double flops = 2.0 * double(s.m) * double(s.n) * double(s.k);
  const auto gf = [&](double t) { return flops / t / 1e9; };
  std::printf(
      "{\"dtype\":\"%s\",\"threads\":%d,\"m\":%ld,\"k\":%ld,\"n\":%ld,\"pairs\":%zu,"
      "\"ntensor\":{\"median\":%.4g,\"best\":%.4g},\"openblas\":{\"median\":%.4g,\"best\":%.4g},"
      "\"ratio\":{\"median\":%.4g,\"q1\":%.4g,\"q3\":%.4g,\"min\":%.4g,\"max\":%.4g},"
      "\"maxRelDiff\":%.3g}\n",
      dtype, threads, s.m, s.k, s.n, ratio.size(), gf(quantile(tOurs, 0.5)),
      gf(quantile(tOurs, 0.0)), gf(quantile(tTheirs, 0.5)), gf(quantile(tTheirs, 0.0)),
      quantile(ratio, 0.5), quantile(ratio, 0.25), quantile(ratio, 0.75), quantile(ratio, 0.0),
      quantile(ratio, 1.0), maxAbs > 0 ? maxDiff / maxAbs : maxDiff);
  std::fflush(stdout);
}

// Each library's ratio of two of its own runs, from steps of four calls:
// the median and quartiles over the steps of time[0] ÷ time[1] (ntensor)
// and time[2] ÷ time[3] (OpenBLAS), printed as one JSON object.
void printRatios(const char* kind, int threads, const Shape& s,
                 const std::vector<std::vector<double>>& steps) {
  std::vector<double> ours, theirs;
  for (const auto& t : steps) {
    ours.push_back(t[0] / t[1]);
    theirs.push_back(t[2] / t[3]);
  }
  std::printf(
      "{\"kind\":\"%s\",\"threads\":%d,\"m\":%ld,\"k\":%ld,\"n\":%ld,\"pairs\":%zu,"
      "\"ntensor\":{\"median\":%.4g,\"q1\":%.4g,\"q3\":%.4g},"
      "\"openblas\":{\"median\":%.4g,\"q1\":%.4g,\"q3\":%.4g}}\n",
      kind, threads, s.m, s.k, s.n, steps.size(), quantile(ours, 0.5), quantile(ours, 0.25),
      quantile(ours, 0.75), quantile(theirs, 0.5), quantile(theirs, 0.25), quantile(theirs, 0.75));
  std::fflush(stdout);
}

// fp64 GFLOP/s ÷ fp32 GFLOP/s of each library on one shape at `threads`:
// steps of ntensor fp32, ntensor fp64, OpenBLAS sgemm, OpenBLAS dgemm.
void runDtypeRatio(const Peers& ob, int threads, const Shape& s, double budgetS) {
  Operands<float> o32(s);
  Operands<double> o64(s);
  ntensor::set_num_threads(threads);
  ob.setThreads(threads);
  const auto call = [&](int which) {
    switch (which) {
      case 0: o32.ours(); break;
      case 1: o64.ours(); break;
      case 2: o32.theirs(ob); break;
      default: o64.theirs(ob); break;
    }
  };
  printRatios("fp64/fp32", threads, s, timeSteps(4, call, threads, budgetS, 5));
}

// fp32 GFLOP/s on `threads` threads ÷ on one, of each library: steps of
// ntensor on 1 thread, ntensor on `threads`, OpenBLAS on 1, OpenBLAS on
// `threads` (the thread count set before each call).
void runScaling(const Peers& ob, int threads, const Shape& s, double budgetS) {
  Operands<float> o(s);
  const auto call = [&](int which) {
    const int t = which % 2 == 0 ? 1 : threads;
    if (which < 2) {
      ntensor::set_num_threads(t);
      o.ours();
    } else {
      ob.setThreads(t);
      o.theirs(ob);
    }
  };
  printRatios("scaling", threads, s, timeSteps(4, call, threads, budgetS, 5));
}

// Each library's fp32 GFLOP/s on one thread as a fraction of the FMA peak,
// timed call by call: steps of an ntensor call, an OpenBLAS call and the
// peak loop (AVX-512, else AVX2+FMA: fma_loops.h) sized to last about as long
// as one ntensor call, so each step's fraction compares runs of the same
// moment. The median and quartiles over the steps, and the loop's median
// GFLOP/s, as one JSON object (nothing on a CPU with neither ISA).
void runPeakRatio(const Peers& ob, const Shape& s, double budgetS) {
  __builtin_cpu_init();
  float (*loop)(long) = nullptr;
  double loopFlops = 0;
  const char* isa = "";
  if (__builtin_cpu_supports("avx512f")) {
    loop = fma_peak::fma_avx512, loopFlops = 2.0 * fma_peak::kAcc512 * fma_peak::kLanes512, isa = "avx512";
  } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    loop = fma_peak::fma_avx2, loopFlops = 2.0 * fma_peak::kAcc256 * fma_peak::kLanes256, isa = "avx2";
  } else {
    return;
  }
  Operands<float> o(s);
  ntensor::set_num_threads(1);
  ob.setThreads(1);
  volatile float sink = 0;
  // Calibrate: the loop's iterations for about one ntensor call.
  o.ours();
  double t0 = now();
  o.ours();
  const double tGemm = now() - t0;
  long iters = 1 << 12;
  for (;;) {
    t0 = now();
    sink = loop(iters);
    const double t = now() - t0;
    if (t > 0.002 || iters > (1L << 40)) {
      iters = std::max(1L, long(double(iters) * tGemm / t));
      break;
    }
    iters *= 4;
  }
  const auto steps = timeSteps(
      3,
      [&](int which) {
        if (which == 0) o.ours();
        else if (which == 1) o.theirs(ob);
        else sink = loop(iters);
      },
      1, budgetS, 9);
  (void)sink;
  const double flops = 2.0 * double(s.m) * double(s.n) * double(s.k);
  const double peakFlops = loopFlops * double(iters);
  std::vector<double> ours, theirs, peak;
  for (const auto& t : steps) {
    const double p = peakFlops / t[2];
    ours.push_back(flops / t[0] / p);
    theirs.push_back(flops / t[1] / p);
    peak.push_back(p / 1e9);
  }
  std::printf(
      "{\"kind\":\"peak\",\"isa\":\"%s\",\"threads\":1,\"m\":%ld,\"k\":%ld,\"n\":%ld,\"pairs\":%zu,"
      "\"ntensor\":{\"median\":%.4g,\"q1\":%.4g,\"q3\":%.4g},"
      "\"openblas\":{\"median\":%.4g,\"q1\":%.4g,\"q3\":%.4g},\"peakGflops\":%.4g}\n",
      isa, s.m, s.k, s.n, steps.size(), quantile(ours, 0.5), quantile(ours, 0.25), quantile(ours, 0.75),
      quantile(theirs, 0.5), quantile(theirs, 0.25), quantile(theirs, 0.75), quantile(peak, 0.5));
  std::fflush(stdout);
}

int usage(const char* why) {
  std::fprintf(stderr,
               "gemm-paired: %s\nusage: gemm-paired --openblas PATH [--shapes 256,64x4096x64] "
               "[--threads 1,2] [--dtypes f32,f64] [--ms 600] [--settle-ms 20] [--fp64-ratio 1024] [--scaling 1024] "
               "[--peak-ratio 1024,2048]\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string lib, shapes = "256,512,1024,2048", threads = "1", dtypes = "f32", ratioShapes, scalingShapes,
      peakShapes;
  double ms = 600;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return usage(("no value after " + a).c_str());
    const std::string v = argv[++i];
    if (a == "--openblas") lib = v;
    else if (a == "--shapes") shapes = v;
    else if (a == "--threads") threads = v;
    else if (a == "--dtypes") dtypes = v;
    else if (a == "--ms") ms = std::atof(v.c_str());
    else if (a == "--settle-ms") settleMs = std::atoi(v.c_str());
    else if (a == "--fp64-ratio") ratioShapes = v;
    else if (a == "--scaling") scalingShapes = v;
    else if (a == "--peak-ratio") peakShapes = v;
    else return usage(("unknown flag " + a).c_str());
  }
  if (lib.empty()) return usage("--openblas is required");
  if (!(ms > 0)) return usage("--ms must be positive");
  void* h = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) {
    std::fprintf(stderr, "gemm-paired: cannot load %s: %s\n", lib.c_str(), dlerror());
    return 3;
  }
  Peers ob{reinterpret_cast<Sgemm>(dlsym(h, "cblas_sgemm")), reinterpret_cast<Dgemm>(dlsym(h, "cblas_dgemm")),
           reinterpret_cast<Sgemv>(dlsym(h, "cblas_sgemv")), reinterpret_cast<Dgemv>(dlsym(h, "cblas_dgemv")),
           reinterpret_cast<SetThreads>(dlsym(h, "openblas_set_num_threads"))};
  const auto coreName = reinterpret_cast<CoreName>(dlsym(h, "openblas_get_corename"));
  const auto config = reinterpret_cast<CoreName>(dlsym(h, "openblas_get_config"));
  if (ob.sgemm == nullptr || ob.dgemm == nullptr || ob.sgemv == nullptr || ob.dgemv == nullptr ||
      ob.setThreads == nullptr) {
    std::fprintf(stderr, "gemm-paired: %s has no cblas_sgemm/cblas_dgemm/cblas_sgemv/cblas_dgemv/openblas_set_num_threads\n",
                 lib.c_str());
    return 3;
  }
  std::printf("{\"openblas\":{\"path\":\"%s\",\"core\":\"%s\",\"config\":\"%s\"},\"ntensorIsa\":\"%s\"}\n",
              lib.c_str(), coreName ? coreName() : "?", config ? config() : "?", ntensor::kernel_isa());
  std::fflush(stdout);
  std::vector<Shape> list;
  for (const auto& s : split(shapes)) {
    Shape sh;
    if (!parseShape(s, &sh)) return usage(("bad shape " + s).c_str());
    list.push_back(sh);
  }
  for (const auto& d : split(dtypes)) {
    if (d != "f32" && d != "f64") return usage(("bad dtype " + d).c_str());
    for (const auto& t : split(threads)) {
      const int nt = std::atoi(t.c_str());
      if (nt < 1) return usage(("bad thread count " + t).c_str());
      for (const auto& s : list) {
        if (d == "f32") runCase<float>(ob, "float32", nt, s, ms / 1e3);
        else runCase<double>(ob, "float64", nt, s, ms / 1e3);
      }
    }
  }
  for (const auto& sh : split(ratioShapes)) {
    Shape r;
    if (!parseShape(sh, &r)) return usage(("bad shape " + sh).c_str());
    for (const auto& t : split(threads)) runDtypeRatio(ob, std::atoi(t.c_str()), r, ms / 1e3);
  }
  for (const auto& sh : split(scalingShapes)) {
    Shape r;
    if (!parseShape(sh, &r)) return usage(("bad shape " + sh).c_str());
    for (const auto& t : split(threads)) {
      if (std::atoi(t.c_str()) > 1) runScaling(ob, std::atoi(t.c_str()), r, ms / 1e3);
    }
  }
  for (const auto& sh : split(peakShapes)) {
    Shape r;
    if (!parseShape(sh, &r)) return usage(("bad shape " + sh).c_str());
    runPeakRatio(ob, r, ms / 1e3);
  }
  return 0;
}
