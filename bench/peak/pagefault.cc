// What memory costs on this machine, per 4 KiB: the first write to a fresh
// anonymous page (mmap'd, or given back with MADV_DONTNEED: the kernel traps,
// zeroes a page and maps it; under a hypervisor the host may fault too), the
// same with transparent huge pages asked for (2 MiB at a time), and writing
// over pages already resident (memset), the floor any output pays. An op's
// fresh output pays the first; one written into a reused output (`out`) the
// last. Best of several rounds over 64 MiB, in microseconds per 4 KiB.
//
//   pagefault   prints one JSON line: {"freshUs", "hugeUs", "residentUs"}
#include <sys/mman.h>

#include <chrono>
#include <cstdio>
#include <cstring>

namespace {

double seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

constexpr std::size_t kBytes = std::size_t(64) << 20, kPage = 4096, kPages = kBytes / kPage;

// Best per-4-KiB time of the first write to each page, over `rounds` fresh mappings.
double first_touch(int advice, int rounds) {
  double best = 1e30;
  for (int r = 0; r < rounds; ++r) {
    void* m = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return -1;
    char* p = static_cast<char*>(m);
    madvise(p, kBytes, advice);
    const double t0 = seconds();
    for (std::size_t i = 0; i < kBytes; i += kPage) p[i] = 1;
    const double t = seconds() - t0;
    munmap(p, kBytes);
    if (t < best) best = t;
  }
  return best * 1e6 / kPages;
}

double resident(int rounds) {
  void* m = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (m == MAP_FAILED) return -1;
  char* p = static_cast<char*>(m);
  std::memset(p, 1, kBytes);
  double best = 1e30;
  for (int r = 0; r < rounds; ++r) {
    const double t0 = seconds();
    std::memset(p, r & 0xff, kBytes);
    asm volatile("" : : "r"(p) : "memory");
    const double t = seconds() - t0;
    if (t < best) best = t;
  }
  munmap(p, kBytes);
  return best * 1e6 / kPages;
}

}  // namespace

int main() {
  const double fresh = first_touch(MADV_NOHUGEPAGE, 4);
  const double huge = first_touch(MADV_HUGEPAGE, 4);
  const double res = resident(4);
  std::printf("{\"freshUs\":%.3f,\"hugeUs\":%.3f,\"residentUs\":%.3f}\n", fresh, huge, res);
  return 0;
}
