// The GEMM driver: picks the ISA once, sends small products down the
// no-allocation loop, splits large ones over the thread pool by blocks of
// rows and columns of C (never of k), and runs the five BLIS loops around
// the ISA's micro-kernel on each thread. See gemm.h for the loop structure
// and kernels.h for the summation-order contract.
#include "gemm.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cmath>
#include <cstring>
#include <memory>
#include <new>

#include <sched.h>

#include "kernels.h"
#include "threadpool.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#endif
#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace ntensor {
namespace gemm {
namespace {

// Products with m*n*k at most the ISA's blk.small^3 take the small path (no
// packing, no threads) when B's rows are contiguous, and up to kSmallWork
// when they are not (the small path's loop for that case is scalar). With
// AVX-512 its blocks of up to 12 rows beat packing up to about 112^3
// (64^3 fp32, one thread: ~70 -> ~95 GFLOP/s through _gemm), and below
// 2 * kMinWorkPerThread a product runs on one thread anyway. So do narrow
// ones (m < 4 or n < 8, where the packed path would compute mostly padding)
// up to kNarrowWork; above that, threads pay more.
constexpr double kSmallWork = 48.0 * 48.0 * 48.0;
constexpr double kNarrowWork = double(1 << 22);
// Each thread gets at least this much of m*n*k, so waking a worker (tens of
// microseconds when it sleeps) stays a small part of its work.
constexpr double kMinWorkPerThread = 96.0 * 96.0 * 96.0;
// The same for matrix-vector products (m == 1 or n == 1), which stream their
// matrix from memory at a few multiply-adds per nanosecond.
constexpr double kMinGemvWorkPerThread = double(1 << 19);
// Threads split a matrix-vector product's outputs in multiples of this.
constexpr index_t kGemvUnit = 64;
// The thread grid's cost model (gemm_run): one packed element of A or B
// costs about as much as this many of a thread's multiply-adds of C
// (rows x columns per k). Fitted by interleaved 2-thread runs here: deep
// products with small m and n (64x4096x64, 128x4096x128, 64x8192x256) ran
// 10-40 % faster split by rows, each thread packing half of A, than by
// columns, each packing all of A; square ones keep their column split.
constexpr double kPackCostPerElement = 80.0;
// ... and one element of B read in place (from memory, rows apart) about
// this many: splitting by rows, each thread reads all of B; by columns,
// its half. 168x3136x1024 on 2 threads (B read in place, stop 18): split
// by rows (the model without this term) 1.11x the old packed column split's
// time, by columns 0.92-0.95x.
constexpr double kInPlaceCostPerElement = 16.0;

// ---- CPU detection ----

#if defined(__x86_64__) || defined(_M_X64)
// True when the OS has enabled saving of the XCR0 state components in mask
// (bits 1-2: SSE/AVX; bits 5-7: opmask, ZMM_Hi256, Hi16_ZMM).
bool os_saves(std::uint32_t mask) {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
  if (!(ecx & bit_OSXSAVE)) return false;
  std::uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (lo & mask) == mask;
}

bool cpu_has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && os_saves(0x6);
}

bool cpu_has_avx512() {
  __builtin_cpu_init();
  return cpu_has_avx2() && __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vl") && os_saves(0xe6);
}
#endif

// The ISAs this CPU can run, best first.
struct Supported {
  const Isa* list[3];
  int count;
};

const Supported& supported() {
  static const Supported s = [] {
    Supported r{{nullptr, nullptr, nullptr}, 0};
#if defined(__x86_64__) || defined(_M_X64)
    if (cpu_has_avx512()) r.list[r.count++] = &isa_avx512;
    if (cpu_has_avx2()) r.list[r.count++] = &isa_avx2;
#endif
#if defined(__aarch64__)
    r.list[r.count++] = &isa_neon;  // Advanced SIMD: part of every ARMv8-A CPU
#endif
    r.list[r.count++] = &isa_scalar;
    return r;
  }();
  return s;
}

int level_of(const char* name) {
  if (name == nullptr) return -1;
#if defined(__x86_64__) || defined(_M_X64)
  if (!std::strcmp(name, "avx512")) return 2;
  if (!std::strcmp(name, "avx2")) return 1;
#endif
#if defined(__aarch64__)
  if (!std::strcmp(name, "neon")) return 1;
#endif
  if (!std::strcmp(name, "scalar")) return 0;
  if (!std::strcmp(name, "auto")) return 99;
  return -1;
}

// The best supported ISA at or below the given level.
const Isa* at_most(int level) {
  const Supported& s = supported();
  for (int i = 0; i < s.count; ++i) {
    if (s.list[i]->level <= level) return s.list[i];
  }
  return &isa_scalar;
}

std::atomic<const Isa*>& isa_slot() {
  static std::atomic<const Isa*> slot{[] {
    const int env = level_of(std::getenv("NTENSOR_ISA"));
    return at_most(env < 0 ? 99 : env);
  }()};
  return slot;
}

// ---- the path test hook (kernels.h: set_gemm_path) ----

enum class Path { automatic, small, packed, parallel, gemv };
std::atomic<Path> g_path{Path::automatic};

// ---- sizes ----

inline index_t round_up(index_t x, index_t to) { return (x + to - 1) / to * to; }
inline index_t min_i(index_t a, index_t b) { return a < b ? a : b; }

void* aligned_grow(void*& p, std::size_t& have, std::size_t bytes) {
  if (bytes <= have) return p;
  std::free(p);
  p = nullptr;
  have = 0;
  bytes = (bytes + 4095) & ~std::size_t(4095);
  void* q = nullptr;
  if (posix_memalign(&q, 64, bytes) != 0) return nullptr;
  p = q;
  have = bytes;
  return p;
}

// C = beta * C for k == 0 or alpha == 0 (BLAS: A and B are not read, and
// beta == 0 writes zeros without reading C).
template <typename T>
void scale_c(index_t m, index_t n, T beta, T* C, index_t ldc) {
  for (index_t i = 0; i < m; ++i) {
    T* c = C + i * ldc;
    if (beta == T(0)) {
      for (index_t j = 0; j < n; ++j) c[j] = T(0);
    } else if (beta != T(1)) {
      for (index_t j = 0; j < n; ++j) c[j] = beta * c[j];
    }
  }
}

}  // namespace

// A large output that is about to be written whole (beta == 0) is most
// often fresh memory (a new tensor): its pages are not there yet, and
// faulting them in 4 KB at a time costs 0.1-16 us each on this kind of VM,
// as much as the product itself for a shallow k. Ask the kernel for 2 MB
// pages over the part of an output of 2 MB or more made of whole 2 MB pages
// (numpy does the same for its own arrays of 4 MB and more; lib/dtype.ts
// starts ntensor's new outputs of 2 MB and more on a 2 MB boundary, so that
// all but their last partial 2 MB are such pages). Only a hint: pages
// already present are not touched, no value changes, and an error is
// ignored.
void advise_huge_pages(void* p, std::size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr std::uintptr_t kHuge = kHugePageBytes;
  if (bytes < kHuge) return;
  const std::uintptr_t lo = (reinterpret_cast<std::uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  const std::uintptr_t hi = (reinterpret_cast<std::uintptr_t>(p) + bytes) & ~(kHuge - 1);
  if (hi > lo) madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE);
#else
  (void)p, (void)bytes;
#endif
}

std::size_t huge_page_offset(const void* p) {
  const std::uintptr_t at = reinterpret_cast<std::uintptr_t>(p);
  return std::size_t((kHugePageBytes - at % kHugePageBytes) % kHugePageBytes);
}

// Before one thread writes a whole output of 128 KiB or more: ask the kernel
// to fault its missing pages in with one call per run of them
// (MADV_POPULATE_WRITE, Linux 5.14+; elsewhere, or on error, nothing
// happens). A fresh output (new pages from mmap, or heap memory glibc gave
// back to the OS) otherwise traps once per 4 KiB page inside the kernel's
// loops, ~1-1.5 us each on the development VM. With more threads a populate
// ahead of them measured slower (and the traps do not run in parallel on
// that VM either: bench/RESULTS.md). Which pages are there is asked first
// (mincore): on pages already present a populate call still walks and pins
// each one, 14-56 us for 800 KiB here against mincore's 2-3 us, which was
// 10-20 % of a depthwise 3x3 on 64 x 56^2 into a reused output. Runs of
// missing pages closer than kGap pages are populated as one. No value
// changes.
void populate_pages(void* p, std::size_t bytes) {
#if defined(__linux__)
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
  if (bytes < (std::size_t(128) << 10)) return;
  constexpr std::uintptr_t kPage = 4096;
  constexpr std::size_t kChunk = 4096, kGap = 16;  // pages per mincore call; pages
  const std::uintptr_t lo = (reinterpret_cast<std::uintptr_t>(p) + kPage - 1) & ~(kPage - 1);
  const std::uintptr_t hi = (reinterpret_cast<std::uintptr_t>(p) + bytes) & ~(kPage - 1);
  unsigned char there[kChunk];
  for (std::uintptr_t a = lo; a < hi; a += kChunk * kPage) {
    const std::size_t np = std::min<std::uintptr_t>(kChunk, (hi - a) / kPage);
    if (mincore(reinterpret_cast<void*>(a), np * kPage, there) != 0) {
      madvise(reinterpret_cast<void*>(a), np * kPage, MADV_POPULATE_WRITE);
      continue;
    }
    std::size_t i = 0;
    while (i < np) {
      while (i < np && (there[i] & 1) != 0) ++i;
      if (i == np) break;
      // A run of missing pages from i to j, through gaps shorter than kGap.
      std::size_t j = i;
      for (std::size_t k = i; k < np && k - j <= kGap; ++k) {
        if ((there[k] & 1) == 0) j = k + 1;
      }
      madvise(reinterpret_cast<void*>(a + i * kPage), (j - i) * kPage, MADV_POPULATE_WRITE);
      i = j;
    }
  }
#else
  (void)p, (void)bytes;
#endif
}

namespace {

// ---- the threaded driver ----

// What the micro-kernel does with C in one depth block (kernels.h's
// contract): with beta == 0 every accumulator continues from the partial sum
// the previous block left in C, and alpha is applied once, at the end; with
// beta != 0 the first block computes alpha * S_0 + beta * C and later ones
// add alpha * S_p.
template <typename T>
struct BlockScaling {
  bool loadC;
  T a, b;
  BlockScaling(T alpha, T beta, bool first, bool last)
      : loadC(beta == T(0) && !first),
        a(beta == T(0) ? (last ? alpha : T(1)) : alpha),
        b(beta == T(0) ? T(0) : (first ? beta : T(1))) {}
};

// The column block NC for a product of depth k: the packed B block (KC x
// NC) is sized for L2; a shallower product (k < KC) keeps the same bytes
// with wider blocks (up to 8 NC), so that each A block is packed fewer times
// and C is written in longer row segments.
inline index_t column_block(const Blocking& bl, index_t k) {
  const index_t kcMax = k < bl.kc ? k : bl.kc;
  return round_up(bl.nc * min_i(8, bl.kc / kcMax), bl.nr);
}

// Loops 2 and 1 over a packed A block (mc x kc) and a packed B block (kc x
// nc): every MR x NR micro-tile of C's block at c (leading dimension ldc).
template <typename T>
void macro_kernel(const Kernels<T>& kern, index_t mc, index_t nc, index_t kc, const T* ap, const T* bp,
                  T* c, index_t ldc, const BlockScaling<T>& sc) {
  const index_t MR = kern.blk.mr, NR = kern.blk.nr;
  for (index_t ir = 0; ir < mc; ir += MR) {  // loop 2: A micro-panels
    const T* a_panel = ap + ir * kc;
    T* c_row = c + ir * ldc;
    const int mr = int(min_i(MR, mc - ir));
    for (index_t jr = 0; jr < nc; jr += NR) {  // loop 1: B micro-panels
      kern.ukernel(kc, a_panel, bp + jr * kc, c_row + jr, ldc, mr, int(min_i(NR, nc - jr)), sc.loadC, sc.a, sc.b);
    }
  }
}

template <typename T>
struct Job {
  const Kernels<T>* kern;
  index_t m, n, k;
  T alpha, beta;
  const T* A;
  index_t ars, acs;
  const T* B;
  index_t brs, bcs;
  T* C;
  index_t ldc;
  int tm, tn;  // thread grid: tm blocks of rows x tn blocks of columns
  bool allowDirect;
};

// Rows (or columns) [lo, hi) of part t out of parts, in whole micro-tiles.
inline void split(index_t size, index_t unit, int parts, int t, index_t& lo, index_t& hi) {
  const index_t tiles = (size + unit - 1) / unit;
  lo = min_i(size, tiles * t / parts * unit);
  hi = min_i(size, tiles * (t + 1) / parts * unit);
}

template <typename T>
void gemm_blocked(const Kernels<T>& kern, index_t m, index_t n, index_t k, T alpha,
                  const T* A, index_t ars, index_t acs, const T* B, index_t brs,
                  index_t bcs, T beta, T* C, index_t ldc, PackBuffers& buf,
                  bool allowDirect, const T* Apacked = nullptr);

// Whether gemm_blocked reads B in place, unpacked, for m rows and depth k:
// when its panels serve one block of A, packing B costs about as much as
// the multiply-adds that use it (each packed element serves m rows:
// 64x4096x64, ~12% of the time; 64x3136x256, the 1x1 convolution 256 -> 64
// on 56^2, ~30%). One block of A: m <= MC, or all m rows packed at once
// within the usual A block's footprint (MC x KC), which gemm_blocked then
// does (256x3136x64, the 1x1 convolution 64 -> 256 on 56^2: 0.92-0.95x the
// time). Not when B's rows are a multiple of 4 KiB apart: a micro-panel's
// rows then fall on a few cache sets and evict one another (1 thread, stop
// 18, time read in place / packed: rows 12544, 16640 or 6144 bytes apart
// 0.71-0.93 at m = 64-168; 8192, 12288 or 32768 bytes apart 1.17-1.24 at
// m = 128-168).
template <typename T>
bool reads_b_in_place(const Kernels<T>& kern, index_t m, index_t k, index_t brs, index_t bcs,
                      bool allowDirect) {
  const index_t MC = round_up(kern.blk.mc, kern.blk.mr);
  return allowDirect && kern.ukernelDirect != nullptr && bcs == 1 &&
         (m <= MC || round_up(m, kern.blk.mr) * min_i(k, kern.blk.kc) <= MC * kern.blk.kc) &&
         (brs * index_t(sizeof(T))) % 4096 != 0;
}

template <typename T>
void run_task(void* ctx, int t) {
  const Job<T>& j = *static_cast<const Job<T>*>(ctx);
  index_t m0, m1, n0, n1;
  split(j.m, j.kern->blk.mr, j.tm, t / j.tn, m0, m1);
  split(j.n, j.kern->blk.nr, j.tn, t % j.tn, n0, n1);
  if (m0 >= m1 || n0 >= n1) return;
  gemm_blocked<T>(*j.kern, m1 - m0, n1 - n0, j.k, j.alpha, j.A + m0 * j.ars, j.ars, j.acs,
                  j.B + n0 * j.bcs, j.brs, j.bcs, j.beta, j.C + m0 * j.ldc + n0, j.ldc,
                  thread_buffers(), j.allowDirect);
}

// ---- the shared-B driver: row blocks handed out as threads free up ----
//
// The static grid above gives each thread a fixed share; on a shared host
// or cores of unequal speed the call then lasts as long as its slowest
// thread (measured here at 1024^2 on 2 threads: the worker's half took
// 10-17 ms while the caller's took 8). This driver runs the five loops of
// gemm_blocked with its items - (column block jc, depth block pc, row block
// ic), ic fastest - taken from a shared counter. Each step (jc, pc) packs
// its B block once, into one of two shared buffers (by step parity), and
// every thread packs its own A blocks, so nothing is packed twice. There is
// no barrier: a thread only ever waits for work that a running thread has
// already taken (the previous step of its row block, a B block being
// packed, the step two back still reading the buffer it is about to
// overwrite); when the pool is busy and the caller runs the tasks in order,
// the first task takes every item in order and never waits. Each C tile
// still takes its depth blocks in order, so the bits are gemm_blocked's.
template <typename T>
struct DynJob {
  const Job<T>* g;        // the product
  index_t MC, KC, NC;     // row, depth and column blocks
  index_t nic, npc, items;
  T* bufB[2];             // packed B of the steps s with s % 2 == b
  std::atomic<index_t>* rowDone;  // per row block: the last step done (-1: none)
  std::atomic<index_t> next{0};
  std::atomic<index_t> claimed[2] = {};  // per buffer: the last step whose packing began
  std::atomic<index_t> ready[2] = {};    // per buffer: the step packed in it
  std::atomic<index_t> finished[2] = {}; // per buffer: items of that step finished
};

// This thread's grow-only array of n row-block flags (null if out of memory).
std::atomic<index_t>* row_flags(index_t n) {
  thread_local std::unique_ptr<std::atomic<index_t>[]> flags;
  thread_local index_t have = 0;
  if (n > have) {
    flags.reset(new (std::nothrow) std::atomic<index_t>[std::size_t(n)]);
    have = flags ? n : 0;
  }
  return flags.get();
}

// Waits for a counter that only grows while anyone waits on it (a row
// block's last step; a buffer's packed step, which for one parity goes
// s - 2, s, s + 2, ... and cannot pass a step whose items are unfinished; a
// step's finished items). It yields the CPU now and then: with more threads
// than CPUs (setNumThreads above the cores, or a process pinned to fewer),
// the thread it waits for may be waiting for this CPU (taskset -c 0, 2
// threads, 1024^2: 135-179 -> 197-199 GFLOP/s; unchanged on 2 CPUs).
inline void spin_until(const std::atomic<index_t>& a, index_t at_least) {
  for (unsigned i = 1; a.load(std::memory_order_acquire) < at_least; ++i) {
    cpu_relax();
    if ((i & 1023) == 0) sched_yield();
  }
}

template <typename T>
void run_dynamic(void* ctx, int) {
  DynJob<T>& j = *static_cast<DynJob<T>*>(ctx);
  const Job<T>& g = *j.g;
  const Kernels<T>& kern = *g.kern;
  // A thread that cannot have its A buffer takes no items; the caller,
  // whose buffer run_shared_b made sure of, then does them.
  T* ap = static_cast<T*>(thread_buffers().getA(sizeof(T) * std::size_t(j.MC * min_i(j.KC, g.k))));
  if (ap == nullptr) return;
  for (index_t i; !stop_requested() && (i = j.next.fetch_add(1, std::memory_order_relaxed)) < j.items;) {
    const index_t step = i / j.nic, ic = (i % j.nic) * j.MC;
    const index_t jc = step / j.npc * j.NC, pc = step % j.npc * j.KC;
    const index_t nc = min_i(j.NC, g.n - jc), kc = min_i(j.KC, g.k - pc), mc = min_i(j.MC, g.m - ic);
    const int buf = int(step & 1);
    // This step's B block: packed by the first thread to need it, once the
    // items of the step two back (the buffer's last user) have finished.
    // That step's packing must be complete first: its packer resets the
    // count only then (with many threads on few row blocks, a thread can
    // take an item of this step while that packing still runs).
    if (j.ready[buf].load(std::memory_order_acquire) != step) {
      index_t seen = j.claimed[buf].load(std::memory_order_relaxed);
      if (seen < step && j.claimed[buf].compare_exchange_strong(seen, step, std::memory_order_acq_rel)) {
        if (step >= 2) {
          spin_until(j.ready[buf], step - 2);
          spin_until(j.finished[buf], j.nic);
        }
        kern.packB(kc, nc, g.B + pc * g.brs + jc * g.bcs, g.brs, g.bcs, j.bufB[buf]);
        j.finished[buf].store(0, std::memory_order_relaxed);
        j.ready[buf].store(step, std::memory_order_release);
      } else {
        spin_until(j.ready[buf], step);
      }
    }
    // The row block's previous step (its C partial sums) first.
    if (step > 0) spin_until(j.rowDone[i % j.nic], step - 1);
    const BlockScaling<T> sc(g.alpha, g.beta, pc == 0, pc + kc == g.k);
    kern.packA(mc, kc, g.A + ic * g.ars + pc * g.acs, g.ars, g.acs, ap);
    macro_kernel(kern, mc, nc, kc, ap, j.bufB[buf], g.C + ic * g.ldc + jc, g.ldc, sc);
    j.rowDone[i % j.nic].store(step, std::memory_order_release);
    j.finished[buf].fetch_add(1, std::memory_order_acq_rel);
  }
}

// ---- matrix-vector products ----

template <typename T>
struct GemvJob {
  const Kernels<T>* kern;
  bool dot;  // the dot form (else the axpy form), gemm.h
  index_t len, k;
  T alpha, beta;
  const T* M;
  index_t ld;
  const T* s;
  index_t ss;
  T* out;
  index_t os;
  int parts;
};

template <typename T>
void run_gemv(void* ctx, int t) {
  const GemvJob<T>& j = *static_cast<const GemvJob<T>*>(ctx);
  index_t lo, hi;
  split(j.len, kGemvUnit, j.parts, t, lo, hi);
  if (lo >= hi) return;
  if (j.dot) {
    j.kern->gemvDot(hi - lo, j.k, j.alpha, j.M + lo * j.ld, j.ld, j.s, j.ss, j.beta,
                    j.out + lo * j.os, j.os);
  } else {
    j.kern->gemvAxpy(hi - lo, j.k, j.alpha, j.s, j.ss, j.M + lo, j.ld, j.beta, j.out + lo * j.os,
                     j.os);
  }
}

// m == 1 or n == 1 (k > 0, alpha != 0): the form that reads M along its
// rows, threads splitting the outputs (never k).
template <typename T>
void gemv_run(index_t m, index_t n, index_t k, T alpha, const T* A, index_t ars, index_t acs,
              const T* B, index_t brs, index_t bcs, T beta, T* C, index_t ldc,
              const Kernels<T>& kern, bool allThreads) {
  GemvJob<T> job{&kern, false, 0, k, alpha, beta, nullptr, 0, nullptr, 0, C, 0, 1};
  if (m == 1 && n == 1) {
    // A single dot product: one sequential chain, nothing to split.
    T acc = T(0);
    for (index_t p = 0; p < k; ++p) acc = T(std::fma(A[p * acs], B[p * brs], acc));
    C[0] = beta == T(0) ? (alpha == T(1) ? acc : alpha * acc)
                        : T(std::fma(alpha, acc, beta * C[0]));
    return;
  }
  if (m == 1) {
    // C's row: c(j) = sum_p a(p) b(p, j).
    job.len = n;
    job.s = A;
    job.ss = acs;
    job.os = 1;
    job.M = B;
    if (bcs == 1) {
      job.ld = brs;
    } else {
      job.dot = true;
      job.ld = bcs;
    }
  } else {
    // C's column: c(i) = sum_p a(i, p) b(p).
    job.len = m;
    job.s = B;
    job.ss = brs;
    job.os = ldc;
    job.M = A;
    if (acs == 1) {
      job.dot = true;
      job.ld = ars;
    } else {
      job.ld = acs;
    }
  }
  const index_t units = (job.len + kGemvUnit - 1) / kGemvUnit;
  index_t threads = get_num_threads();
  const double byWork = double(m) * double(n) * double(k) / kMinGemvWorkPerThread;
  if (!allThreads && byWork < double(threads)) threads = byWork < 1 ? 1 : index_t(byWork);
  if (threads > units) threads = units;
  job.parts = int(threads);
  parallel_run(int(threads), run_gemv<T>, &job);
}

// The shared-B driver (run_dynamic) for a product of at least two row
// blocks per thread; false (nothing done) otherwise or when its buffers
// cannot be had. `forced` (the "parallel" test path) cuts even small
// products into up to two row blocks per thread, one micro-tile high at
// least, and runs them so, from two blocks on.
template <typename T>
bool run_shared_b(const Job<T>& g, int threads, bool forced) {
  const Kernels<T>& kern = *g.kern;
  const Blocking& bl = kern.blk;
  const index_t MR = bl.mr, NR = bl.nr, KC = bl.kc;
  const index_t kcMax = min_i(KC, g.k), NC = column_block(bl, g.k);
  // Row blocks of at most MC rows, equal in size.
  index_t nic = (g.m + round_up(bl.mc, MR) - 1) / round_up(bl.mc, MR);
  if (forced) nic = std::max(nic, std::min((g.m + MR - 1) / MR, 2 * index_t(threads)));
  if (nic < (forced ? 2 : 2 * index_t(threads))) return false;
  const index_t MC = round_up((g.m + nic - 1) / nic, MR);
  nic = (g.m + MC - 1) / MC;  // rounding MC up to MR can leave fewer blocks
  if (nic < 2) return false;
  const index_t ncMax = min_i(NC, round_up(g.n, NR));
  // The two B blocks in this thread's B buffer; its A buffer grown here.
  T* bb = static_cast<T*>(thread_buffers().getB(sizeof(T) * std::size_t(2 * kcMax * ncMax)));
  std::atomic<index_t>* rowDone = row_flags(nic);
  if (bb == nullptr || rowDone == nullptr || thread_buffers().getA(sizeof(T) * std::size_t(MC * kcMax)) == nullptr) {
    return false;
  }
  DynJob<T> job{&g, MC, KC, NC, nic, (g.k + KC - 1) / KC, 0, {bb, bb + kcMax * ncMax}, rowDone};
  job.items = (g.n + NC - 1) / NC * job.npc * nic;
  for (index_t r = 0; r < nic; ++r) rowDone[r].store(-1, std::memory_order_relaxed);
  // Steps -2 and -1 "packed": step 0 and 1 find their buffers free.
  for (int b = 0; b < 2; ++b) {
    job.claimed[b].store(b - 2, std::memory_order_relaxed);
    job.ready[b].store(b - 2, std::memory_order_relaxed);
  }
  parallel_run(threads, run_dynamic<T>, &job);
  return true;
}

template <typename T>
void gemm_run(bool transA, bool transB, index_t m, index_t n, index_t k, T alpha,
              const T* A, index_t lda, const T* B, index_t ldb, T beta, T* C,
              index_t ldc, const Kernels<T>& kern) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == T(0)) {
    scale_c(m, n, beta, C, ldc);
    return;
  }
  const index_t ars = transA ? 1 : lda, acs = transA ? lda : 1;
  const index_t brs = transB ? 1 : ldb, bcs = transB ? ldb : 1;
  const double work = double(m) * double(n) * double(k);
  Path path = g_path.load(std::memory_order_relaxed);
  if ((m == 1 || n == 1) && (path == Path::automatic || path == Path::gemv)) {
    gemv_run<T>(m, n, k, alpha, A, ars, acs, B, brs, bcs, beta, C, ldc, kern,
                path == Path::gemv);
    return;
  }
  if (path == Path::gemv) path = Path::automatic;
  const bool narrow = m < 4 || n < 8;
  const double small = bcs == 1 ? double(kern.blk.small) * kern.blk.small * kern.blk.small : kSmallWork;
  if (path == Path::small ||
      (path == Path::automatic && (work <= small || (narrow && work <= kNarrowWork)))) {
    kern.small(m, n, k, alpha, A, ars, acs, B, brs, bcs, beta, C, ldc);
    return;
  }
  // A whole, overwritten output: its pages (see advise_huge_pages and
  // populate_pages below).
  const std::size_t wholeC = beta == T(0) && ldc == n ? sizeof(T) * std::size_t(m) * std::size_t(n) : 0;
  if (wholeC != 0) advise_huge_pages(C, wholeC);
  Job<T> job{&kern, m, n, k, alpha, beta, A, ars, acs, B, brs, bcs, C, ldc, 1, 1,
             path != Path::packed};
  // Threads: enough work each, and no more than there are micro-tiles.
  const index_t mt = (m + kern.blk.mr - 1) / kern.blk.mr;
  const index_t nt = (n + kern.blk.nr - 1) / kern.blk.nr;
  index_t threads = get_num_threads();
  const double byWork = work / kMinWorkPerThread;
  if (path != Path::parallel && byWork < double(threads)) {
    threads = byWork < 1 ? 1 : index_t(byWork);
  }
  if (threads > mt * nt) threads = mt * nt;
  if (threads > 1) {
    // The grid tm x tn = threads whose largest block costs least: its
    // multiply-adds per k (rows x columns) plus its packing per k (its rows
    // of A, and its columns of B unless B is read in place), each packed
    // element weighted kPackCostPerElement (and each of B's read in place,
    // kInPlaceCostPerElement). Every thread packs A for its own
    // rows and B for its own columns, so a split by columns packs all of A
    // on every thread and one by rows all of B. On a tie, more column blocks.
    double best = 0;
    for (index_t tm = 1; tm <= threads; ++tm) {
      if (threads % tm != 0) continue;
      const index_t tn = threads / tm;
      if (tm > mt || tn > nt) continue;
      const double rows = double((mt + tm - 1) / tm) * double(kern.blk.mr);
      const double cols = double((nt + tn - 1) / tn) * double(kern.blk.nr);
      const bool inPlace = reads_b_in_place(kern, index_t(rows), k, brs, bcs, path != Path::packed);
      const double cost = rows * cols + kPackCostPerElement * (rows + (inPlace ? 0.0 : cols)) +
                          (inPlace ? kInPlaceCostPerElement * cols : 0.0);
      if (best == 0 || cost < best || (cost == best && tn > job.tn)) {
        best = cost;
        job.tm = int(tm);
        job.tn = int(tn);
      }
    }
  }
  const int tasks = job.tm * job.tn;
  // One thread: a fresh output's pages faulted in with one call rather
  // than one trap per 4 KiB page inside the loops (see populate_pages).
  if (tasks <= 1 && wholeC != 0) populate_pages(C, wholeC);
  if (tasks > 1 && run_shared_b<T>(job, int(threads), path == Path::parallel)) return;
  parallel_run(tasks, run_task<T>, &job);  // this thread takes part
}

}  // namespace

// ---- per-thread packing buffers ----

PackBuffers::~PackBuffers() {
  std::free(a);
  std::free(b);
}
void* PackBuffers::getA(std::size_t bytes) { return aligned_grow(a, aBytes, bytes); }
void* PackBuffers::getB(std::size_t bytes) { return aligned_grow(b, bBytes, bytes); }

PackBuffers& thread_buffers() {
  thread_local PackBuffers buffers;
  return buffers;
}

const Isa& current_isa() { return *isa_slot().load(std::memory_order_acquire); }

// ---- the five loops on one thread ----

namespace {

// The five loops; allowDirect lets B be read in place where that pays
// (the "packed" test mode turns it off, so that both ways stay tested).
// Apacked: op(A) packed ahead by pack_a_whole (A, ars, acs unused), else null.
template <typename T>
void gemm_blocked(const Kernels<T>& kern, index_t m, index_t n, index_t k, T alpha,
                  const T* A, index_t ars, index_t acs, const T* B, index_t brs,
                  index_t bcs, T beta, T* C, index_t ldc, PackBuffers& buf,
                  bool allowDirect, const T* Apacked) {
  const Blocking& bl = kern.blk;
  const index_t MR = bl.mr, NR = bl.nr;
  const index_t KC = bl.kc;
  const bool directB = reads_b_in_place(kern, m, k, brs, bcs, allowDirect);
  // B in place: one block of A, all m rows (reads_b_in_place).
  const index_t MC = directB ? round_up(m, MR) : round_up(bl.mc, MR);
  const index_t kcMax = min_i(KC, k), NC = column_block(bl, k);
  const index_t ncMax = min_i(NC, round_up(n, NR));
  const index_t mcMax = min_i(MC, round_up(m, MR));
  T* bp = directB ? nullptr : static_cast<T*>(buf.getB(sizeof(T) * std::size_t(kcMax * ncMax)));
  T* aBuf = Apacked != nullptr ? nullptr : static_cast<T*>(buf.getA(sizeof(T) * std::size_t(mcMax * kcMax)));
  if ((bp == nullptr && !directB) || (aBuf == nullptr && Apacked == nullptr)) {
    // Out of memory for packing: the small path needs none (nor can it read
    // a packed A: the caller, gemm_prepacked_a, says so).
    if (Apacked == nullptr) kern.small(m, n, k, alpha, A, ars, acs, B, brs, bcs, beta, C, ldc);
    return;
  }
  const index_t mPanels = round_up(m, MR);
  for (index_t jc = 0; jc < n; jc += NC) {  // loop 5: columns of C
    const index_t nc = min_i(NC, n - jc);
    for (index_t pc = 0; pc < k; pc += KC) {  // loop 4: k, in order
      const index_t kc = min_i(KC, k - pc);
      const BlockScaling<T> sc(alpha, beta, pc == 0, pc + kc == k);
      if (!directB) kern.packB(kc, nc, B + pc * brs + jc * bcs, brs, bcs, bp);
      const T* bsrc = B + pc * brs + jc;  // directB: the block in place
      for (index_t ic = 0; ic < m; ic += MC) {  // loop 3: rows of C
        if (stop_requested()) return;  // async work cancelled (threadpool.h)
        const index_t mc = min_i(MC, m - ic);
        const T* ap = aBuf;
        if (Apacked != nullptr) {
          ap = Apacked + mPanels * pc + ic * kc;
        } else {
          kern.packA(mc, kc, A + ic * ars + pc * acs, ars, acs, aBuf);
        }
        if (!directB) {
          macro_kernel(kern, mc, nc, kc, ap, bp, C + ic * ldc + jc, ldc, sc);
          continue;
        }
        // B in place: each of its micro-panels, read once from memory, serves
        // every A micro-panel (from L2) while it is in cache (the other way
        // round, each was read again per A micro-panel: 64x3136x256 took
        // 1.10x this order's time).
        for (index_t jr = 0; jr < nc; jr += NR) {  // loop 2: B micro-panels, in place
          const int nr = int(min_i(NR, nc - jr));
          for (index_t ir = 0; ir < mc; ir += MR) {  // loop 1: A micro-panels
            kern.ukernelDirect(kc, ap + ir * kc, bsrc + jr, brs, C + (ic + ir) * ldc + jc + jr, ldc,
                               int(min_i(MR, mc - ir)), nr, sc.loadC, sc.a, sc.b);
          }
        }
      }
    }
  }
}

}  // namespace

template <typename T>
void gemm_packed(const Kernels<T>& kern, index_t m, index_t n, index_t k, T alpha,
                 const T* A, index_t ars, index_t acs, const T* B, index_t brs,
                 index_t bcs, T beta, T* C, index_t ldc, PackBuffers& buf) {
  gemm_blocked<T>(kern, m, n, k, alpha, A, ars, acs, B, brs, bcs, beta, C, ldc, buf, true);
}

template <typename T>
index_t packed_a_size(const Kernels<T>& kern, index_t m, index_t k) {
  return round_up(m, kern.blk.mr) * k;
}

template <typename T>
void pack_a_whole(const Kernels<T>& kern, index_t m, index_t k, const T* A, index_t ars,
                  index_t acs, T* dst) {
  const index_t MR = kern.blk.mr, KC = kern.blk.kc, MC = round_up(kern.blk.mc, MR);
  const index_t mPanels = round_up(m, MR);
  for (index_t pc = 0; pc < k; pc += KC) {
    const index_t kc = min_i(KC, k - pc);
    for (index_t ic = 0; ic < m; ic += MC) {
      kern.packA(min_i(MC, m - ic), kc, A + ic * ars + pc * acs, ars, acs, dst + mPanels * pc + ic * kc);
    }
  }
}

template <typename T>
bool gemm_prepacked_a(const Kernels<T>& kern, index_t m, index_t n, index_t k, const T* Ap,
                      const T* B, index_t brs, index_t bcs, T* C, index_t ldc, PackBuffers& buf) {
  const index_t KC = kern.blk.kc, NR = kern.blk.nr;
  const bool directB = reads_b_in_place(kern, m, k, brs, bcs, true);
  if (!directB && buf.getB(sizeof(T) * std::size_t(min_i(KC, k) * min_i(column_block(kern.blk, k), round_up(n, NR)))) == nullptr) {
    return false;
  }
  gemm_blocked<T>(kern, m, n, k, T(1), nullptr, 0, 0, B, brs, bcs, T(0), C, ldc, buf, true, Ap);
  return true;
}

template index_t packed_a_size<float>(const Kernels<float>&, index_t, index_t);
template index_t packed_a_size<double>(const Kernels<double>&, index_t, index_t);
template void pack_a_whole<float>(const Kernels<float>&, index_t, index_t, const float*, index_t, index_t, float*);
template void pack_a_whole<double>(const Kernels<double>&, index_t, index_t, const double*, index_t, index_t,
                                   double*);
template bool gemm_prepacked_a<float>(const Kernels<float>&, index_t, index_t, index_t, const float*,
                                      const float*, index_t, index_t, float*, index_t, PackBuffers&);
template bool gemm_prepacked_a<double>(const Kernels<double>&, index_t, index_t, index_t, const double*,
                                       const double*, index_t, index_t, double*, index_t, PackBuffers&);

template void gemm_packed<float>(const Kernels<float>&, index_t, index_t, index_t, float,
                                 const float*, index_t, index_t, const float*, index_t,
                                 index_t, float, float*, index_t, PackBuffers&);
template void gemm_packed<double>(const Kernels<double>&, index_t, index_t, index_t,
                                  double, const double*, index_t, index_t, const double*,
                                  index_t, index_t, double, double*, index_t, PackBuffers&);

}  // namespace gemm

// ---- kernels.h ----

void gemm_f32(bool ta, bool tb, index_t m, index_t n, index_t k, float alpha,
              const float* A, index_t lda, const float* B, index_t ldb, float beta,
              float* C, index_t ldc) {
  gemm::gemm_run<float>(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc,
                        gemm::current_isa().f32);
}

void gemm_f64(bool ta, bool tb, index_t m, index_t n, index_t k, double alpha,
              const double* A, index_t lda, const double* B, index_t ldb, double beta,
              double* C, index_t ldc) {
  gemm::gemm_run<double>(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc,
                         gemm::current_isa().f64);
}

const char* kernel_isa() { return gemm::current_isa().name; }

const char* set_kernel_isa(const char* name) {
  const int level = gemm::level_of(name);
  if (level < 0) return nullptr;
  const gemm::Isa* isa = gemm::at_most(level);
  gemm::isa_slot().store(isa, std::memory_order_release);
  return isa->name;
}

const char* set_gemm_path(const char* name) {
  using gemm::Path;
  static const struct {
    const char* name;
    Path path;
  } modes[] = {{"auto", Path::automatic},
               {"small", Path::small},
               {"packed", Path::packed},
               {"parallel", Path::parallel},
               {"gemv", Path::gemv}};
  if (name == nullptr) return nullptr;
  for (const auto& m : modes) {
    if (!std::strcmp(name, m.name)) {
      gemm::g_path.store(m.path, std::memory_order_relaxed);
      return m.name;
    }
  }
  return nullptr;
}

int supported_isas(const char** names, int max) {
  const gemm::Supported& s = gemm::supported();
  int i = 0;
  for (; i < s.count && i < max; ++i) names[i] = s.list[i]->name;
  return i;
}

double fma_peak_gflops(bool f64, double seconds) {
  const gemm::Isa& isa = gemm::current_isa();
  double flops = 0, best = 0, spent = 0;
  long iters = 1000;
  volatile double sink = 0;
  while (spent < seconds) {
    const auto t0 = std::chrono::steady_clock::now();
    sink = sink + isa.fmaLoop(f64, iters, &flops);
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    spent += dt;
    if (dt < 1e-3) {
      iters *= 4;  // too short to time well
      continue;
    }
    if (flops / dt > best) best = flops / dt;
  }
  return best / 1e9;
}

GemmBlocking gemm_blocking(bool f64) {
  const gemm::Isa& isa = gemm::current_isa();
  const gemm::Blocking& b = f64 ? isa.f64.blk : isa.f32.blk;
  return {b.mr, b.nr, b.mc, b.kc, b.nc, b.small};
}

}  // namespace ntensor
