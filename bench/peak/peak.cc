// Measured fp32 FMA peak: the loops of fma_loops.h (a target attribute per
// ISA, so the file builds with plain -O2 and one binary serves any x86-64
// CPU; an ISA the CPU lacks is reported, not run).
//
//   peak --isa avx512|avx2 --threads N --ms 250
// prints one JSON line: {"isa", "threads", "gflops" (all threads), "perCore", "supported"}.
// Each thread runs the same loop; the best of several timed runs is reported.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "fma_loops.h"

namespace {

using namespace fma_peak;

using Clock = std::chrono::steady_clock;
std::atomic<float> g_sink{0};

struct Isa {
  float (*loop)(long);
  double flopsPerIter;
};

// Wall time of `threads` threads each running `iters` iterations, started together.
double timed_run(const Isa& isa, int threads, long iters) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) {
      }
      g_sink.store(isa.loop(iters), std::memory_order_relaxed);
    });
  }
  while (ready.load() < threads) {
  }
  const auto t0 = Clock::now();
  go.store(true, std::memory_order_release);
  for (auto& th : pool) th.join();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string isaName = "avx512";
  int threads = 1;
  double ms = 250;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--isa")) isaName = argv[i + 1];
    else if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--ms")) ms = std::atof(argv[i + 1]);
  }
  if (threads < 1) threads = 1;
  __builtin_cpu_init();
  Isa isa{};
  bool supported = false;
  if (isaName == "avx512") {
    supported = __builtin_cpu_supports("avx512f");
    isa = {fma_avx512, 2.0 * kAcc512 * kLanes512};
  } else if (isaName == "avx2") {
    supported = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    isa = {fma_avx2, 2.0 * kAcc256 * kLanes256};
  } else {
    std::fprintf(stderr, "peak: unknown --isa %s (avx512 or avx2)\n", isaName.c_str());
    return 2;
  }
  if (!supported) {
    std::printf("{\"isa\":\"%s\",\"threads\":%d,\"supported\":false}\n", isaName.c_str(), threads);
    return 0;
  }
  // Calibrate: grow iters until one run takes >= 20 ms (also warms clocks up).
  long iters = 1 << 14;
  double t = timed_run(isa, threads, iters);
  while (t < 0.02) {
    iters *= 2;
    t = timed_run(isa, threads, iters);
  }
  const int runs = 5;
  iters = static_cast<long>(iters * (ms / 1000.0 / runs) / t) + 1;
  double best = 0;
  for (int r = 0; r < runs; ++r) {
    const double s = timed_run(isa, threads, iters);
    const double gflops = isa.flopsPerIter * static_cast<double>(iters) * threads / s / 1e9;
    if (gflops > best) best = gflops;
  }
  std::printf("{\"isa\":\"%s\",\"threads\":%d,\"supported\":true,\"gflops\":%.2f,\"perCore\":%.2f}\n",
              isaName.c_str(), threads, best, best / threads);
  return 0;
}
