// A standalone check of the thread pool (native/threadpool.cc), built with
// ThreadSanitizer by scripts/test-sanitize.mjs. Three threads start parallel
// regions at once on a 4-thread pool (so some find it busy and run their
// tasks themselves; one of them changes the thread count between 2 and 6
// now and then), with random task counts and random pauses (so workers
// often wake after the owner has taken every task). Checks that every task
// of every region runs exactly once, and, in half the regions, that a task
// may wait for the one before it to have started (threadpool.h: tasks are
// taken in order, so that one is already running). A hang (a task waiting
// for one nobody took) is caught by an alarm. Prints "pool_check: N regions
// passed"; exits 1 on a miss, a double run or a data race report.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "threadpool.h"

namespace {

constexpr int kMaxTasks = 24;

struct Region {
  std::atomic<int> runs[kMaxTasks];
  int ntasks;
  bool chained;  // task t waits until task t - 1 has started
  unsigned seed;
};

void task(void* ctx, int t) {
  Region& r = *static_cast<Region*>(ctx);
  if (r.chained && t > 0) {
    while (r.runs[t - 1].load(std::memory_order_acquire) == 0) ntensor::cpu_relax();
  }
  r.runs[t].fetch_add(1, std::memory_order_acq_rel);
  if ((r.seed >> (t % 16)) % 11 == 0) std::this_thread::sleep_for(std::chrono::microseconds(40));
}

std::atomic<long> g_regions{0}, g_bad{0};

void owner(unsigned seed, int regions, bool resizes) {
  for (int i = 0; i < regions; ++i) {
    seed = seed * 1103515245u + 12345u;
    // One owner changes the thread count now and then (2 to 6), so regions
    // run with workers that are not needed (threadpool.cc wakes only those
    // taking part) and with workers started mid-run.
    if (resizes && (seed >> 12) % 50 == 0) ntensor::set_num_threads(2 + int((seed >> 3) % 5));
    Region r;
    r.ntasks = 2 + int((seed >> 16) % (kMaxTasks - 1));
    r.chained = ((seed >> 8) & 1) != 0;
    r.seed = seed;
    for (auto& x : r.runs) x.store(0, std::memory_order_relaxed);
    ntensor::parallel_run(r.ntasks, task, &r);
    for (int t = 0; t < kMaxTasks; ++t) {
      if (r.runs[t].load(std::memory_order_relaxed) != (t < r.ntasks ? 1 : 0)) {
        std::fprintf(stderr, "pool_check: region of %d tasks ran task %d %d times\n", r.ntasks, t,
                     r.runs[t].load());
        g_bad.fetch_add(1);
      }
    }
    g_regions.fetch_add(1);
    // Now and then a pause long enough for the workers to fall asleep.
    if ((seed >> 4) % 40 == 0) std::this_thread::sleep_for(std::chrono::microseconds(50 + (seed >> 20) % 400));
  }
}

}  // namespace

int main() {
  alarm(120);  // a hang fails the check (SIGALRM)
  ntensor::set_num_threads(4);
  std::thread a(owner, 1u, 8000, false), b(owner, 2u, 8000, true);
  owner(3u, 8000, false);
  a.join();
  b.join();
  if (g_bad.load() != 0) return 1;
  std::printf("pool_check: %ld regions passed\n", g_regions.load());
  return 0;
}
