// The conv2d driver: picks a path per call (conv.h), splits the work over
// the thread pool and runs the per-ISA kernels. Every path keeps the
// summation-order contract of kernels.h, so the path, the ISA and the thread
// count never change the bits of the result.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "conv.h"
#include "gemm.h"
#include "kernels.h"
#include "threadpool.h"

namespace ntensor {
namespace conv {
namespace {

enum class Path { automatic, reference, direct, gemm, gemmt, directt, pointwise, winograd };
std::atomic<Path> g_path{Path::automatic};

// The calling thread's last call (the bench reports it; see kernels.h).
thread_local Conv2dCallInfo g_last{};

// Each thread gets at least this many multiply-adds (waking a sleeping
// worker costs tens of microseconds); as the GEMM driver.
constexpr double kMinWorkPerThread = 96.0 * 96.0 * 96.0;

inline index_t round_up(index_t x, index_t to) { return (x + to - 1) / to * to; }
inline index_t ceil_div(index_t a, index_t b) { return (a + b - 1) / b; }

// A work item of the threaded paths: its (image, group) job and its block
// indices in a grid of jobs x `mids` blocks x `inners` blocks, from the
// item's number (inner blocks vary fastest).
struct Item {
  index_t b, g, mid, inner;
};
inline Item item_at(index_t i, index_t inners, index_t mids, index_t groups) {
  const index_t inner = i % inners, rest = i / inners;
  const index_t mid = rest % mids, job = rest / mids;
  return {job / groups, job % groups, mid, inner};
}

const Isa& conv_isa() {
#if defined(__x86_64__) || defined(_M_X64)
  const int level = gemm::current_isa().level;
  if (level >= 2) return isa_avx512;
  if (level >= 1) return isa_avx2;
#endif
  return isa_scalar;
}

template <typename T>
const gemm::Kernels<T>& gemm_kernels();
template <>
const gemm::Kernels<float>& gemm_kernels<float>() { return gemm::current_isa().f32; }
template <>
const gemm::Kernels<double>& gemm_kernels<double>() { return gemm::current_isa().f64; }


void gemm_call(index_t m, index_t n, index_t k, const float* A, index_t lda, const float* B,
               index_t ldb, float* C, index_t ldc) {
  gemm_f32(false, false, m, n, k, 1.0f, A, lda, B, ldb, 0.0f, C, ldc);
}
void gemm_call(index_t m, index_t n, index_t k, const double* A, index_t lda, const double* B,
               index_t ldb, double* C, index_t ldc) {
  gemm_f64(false, false, m, n, k, 1.0, A, lda, B, ldb, 0.0, C, ldc);
}

template <typename T>
void add_bias_rows(T* y, index_t rows, index_t ld, index_t q0, index_t q1, const T* bias) {
  for (index_t r = 0; r < rows; ++r) {
    const T b = bias[r];
    T* o = y + r * ld;
    for (index_t q = q0; q < q1; ++q) o[q] += b;
  }
}

int threads_for(double work) {
  int t = get_num_threads();
  const double byWork = work / kMinWorkPerThread;
  if (byWork < double(t)) t = byWork < 1 ? 1 : int(byWork);
  return t < 1 ? 1 : t;
}

// One grow-only, 64-byte aligned buffer.
struct Buffer {
  void* p = nullptr;
  std::size_t bytes = 0;
  ~Buffer() { std::free(p); }
  void* get(std::size_t want) {
    if (want <= bytes) return p;
    std::free(p);
    p = nullptr;
    bytes = 0;
    want = (want + 4095) & ~std::size_t(4095);
    void* q = nullptr;
    if (posix_memalign(&q, 64, want) != 0) return nullptr;
    p = q;
    bytes = want;
    return p;
  }
};

// Per thread: the B block of the implicit GEMM and its column segments;
// per calling thread: the packed weights.
struct ThreadScratch {
  Buffer b;
  Buffer a, c;  // the transposed implicit GEMM's im2col block and output tile
  std::vector<index_t> off, offStrip, offBand;  // direct_t: reduction offsets
  std::vector<Segment> segs;
};
ThreadScratch& scratch() {
  thread_local ThreadScratch s;
  return s;
}
Buffer& packed_weights() {
  thread_local Buffer b;
  return b;
}

// ---- pointwise: 1x1, stride 1, no padding ----

template <typename T>
struct PointwiseJob {
  const Conv2dShape* s;
  const T* x;
  const T* w;
  const T* bias;
  T* y;
  std::atomic<index_t> next;
  index_t jobs;
};

template <typename T>
void pointwise_task(void* ctx, int) {
  auto& j = *static_cast<PointwiseJob<T>*>(ctx);
  const Conv2dShape& s = *j.s;
  const index_t G = s.groups, cg = s.c / G, mg = s.cout / G, P = s.h * s.w;
  const gemm::Kernels<T>& kern = gemm_kernels<T>();
  for (index_t i; !stop_requested() && (i = j.next.fetch_add(1, std::memory_order_relaxed)) < j.jobs;) {
    const index_t b = i / G, g = i % G;
    const T* A = j.w + g * mg * cg;
    const T* B = j.x + (b * s.c + g * cg) * P;
    T* C = j.y + (b * s.cout + g * mg) * P;
    // On a pool thread: the GEMM's own no-packing loop for small products
    // (about where gemm.cc draws the line) or its packed path, unthreaded.
    // Every GEMM path gives the same bits (kernels.h).
    const double work = double(mg) * double(P) * double(cg);
    if (cg == 0) {
      for (index_t r = 0; r < mg; ++r) std::fill(C + r * P, C + (r + 1) * P, T(0));
    } else if (work <= 48.0 * 48.0 * 48.0 || ((mg < 4 || P < 8) && work <= double(1 << 22))) {
      kern.small(mg, P, cg, T(1), A, cg, 1, B, P, 1, T(0), C, P);
    } else {
      gemm::gemm_packed<T>(kern, mg, P, cg, T(1), A, cg, 1, B, P, 1, T(0), C, P,
                           gemm::thread_buffers());
    }
    if (j.bias != nullptr) add_bias_rows(C, mg, P, 0, P, j.bias + g * mg);
  }
}

template <typename T>
void pointwise(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  const index_t G = s.groups, cg = s.c / G, mg = s.cout / G, P = s.h * s.w;
  const index_t jobs = s.n * G;
  const double work = double(mg) * double(P) * double(cg);
  const int threads = threads_for(work * double(jobs));
  g_last = {"pointwise", 0, 0, 1};
  if (jobs >= threads || threads == 1) {
    // Whole GEMMs per thread: enough of them to go round.
    PointwiseJob<T> job{&s, x, w, bias, y, {0}, jobs};
    const int tasks = int(std::min<index_t>(threads, jobs));
    g_last.threads = tasks;
    if (tasks <= 1) {
      // One thread: gemm_f32/gemm_f64 choose their path (small, gemv, packed).
      for (index_t b = 0; b < s.n; ++b) {
        for (index_t g = 0; g < G; ++g) {
          T* C = y + (b * s.cout + g * mg) * P;
          gemm_call(mg, P, cg, w + g * mg * cg, cg, x + (b * s.c + g * cg) * P, P, C, P);
          if (bias != nullptr) add_bias_rows(C, mg, P, 0, P, bias + g * mg);
        }
      }
    } else {
      // Whole GEMMs on pool threads call gemm_packed, which leaves the
      // output's pages to the caller.
      ntensor::gemm::advise_huge_pages(y, sizeof(T) * std::size_t(s.n * s.cout * P));
      parallel_run(tasks, pointwise_task<T>, &job);
    }
    return;
  }
  // Few large GEMMs: each splits itself over the threads (gemm.cc).
  g_last.threads = threads;
  for (index_t b = 0; b < s.n; ++b) {
    for (index_t g = 0; g < G; ++g) {
      T* C = y + (b * s.cout + g * mg) * P;
      gemm_call(mg, P, cg, w + g * mg * cg, cg, x + (b * s.c + g * cg) * P, P, C, P);
      if (bias != nullptr) add_bias_rows(C, mg, P, 0, P, bias + g * mg);
    }
  }
}

// ---- implicit GEMM ----

template <typename T>
struct GemmJob {
  const Conv2dShape* s;
  const T* x;
  const T* bias;
  T* y;
  const T* ap;  // packed weights: group g, k block at pc: ap + g * mgr * K + pc * mgr
  index_t mgr;  // rows of one group's packed weights (a multiple of MR)
  index_t colBlock, colBlocks, rowBlock, rowBlocks;
  index_t items;
  std::atomic<index_t> next;
  std::atomic<int> failed;
  index_t WH = 0;  // indirect_task: one phase of a split input row (elements)
};

// Output columns [q0, q0 + nc) as segments that stay within one output row
// and one NR-wide micro-panel.
void build_segments(std::vector<Segment>& segs, index_t ow, index_t q0, index_t nc, index_t nr) {
  segs.clear();
  index_t q = q0;
  const index_t end = q0 + nc;
  while (q < end) {
    const index_t oy = q / ow, ox = q % ow;
    const index_t j = q - q0;
    index_t len = std::min(ow - ox, end - q);
    len = std::min(len, nr - j % nr);
    segs.push_back({j / nr, j % nr, oy, ox, len});
    q += len;
  }
}

template <typename T>
void gemm_task(void* ctx, int) {
  auto& j = *static_cast<GemmJob<T>*>(ctx);
  const Conv2dShape& s = *j.s;
  const gemm::Kernels<T>& kern = gemm_kernels<T>();
  const Kernels<T>& ck = current_kernels<T>();
  const index_t G = s.groups, cg = s.c / G, mg = s.cout / G;
  const index_t K = cg * s.kh * s.kw, P = s.oh * s.ow;
  const index_t MR = kern.blk.mr, NR = kern.blk.nr, KC = kern.blk.kc;
  ThreadScratch& sc = scratch();
  T* bp = static_cast<T*>(sc.b.get(sizeof(T) * std::size_t(std::min(KC, K) * round_up(j.colBlock, NR))));
  if (bp == nullptr) {
    j.failed.store(1, std::memory_order_relaxed);
    return;
  }
  for (index_t i; !stop_requested() && (i = j.next.fetch_add(1, std::memory_order_relaxed)) < j.items;) {
    // Items: (image, group) jobs x column blocks x row blocks.
    const auto [b, g, cb, rb] = item_at(i, j.rowBlocks, j.colBlocks, G);
    const index_t q0 = cb * j.colBlock, nc = std::min(j.colBlock, P - q0);
    const index_t m0 = rb * j.rowBlock, m1 = std::min(mg, m0 + j.rowBlock);
    if (nc <= 0 || m0 >= m1) continue;
    const T* xg = j.x + (b * s.c + g * cg) * s.h * s.w;
    T* yg = j.y + (b * s.cout + g * mg) * P;
    build_segments(sc.segs, s.ow, q0, nc, NR);
    for (index_t pc = 0; pc < K; pc += KC) {
      const index_t kc = std::min(KC, K - pc);
      ck.packB(s, xg, pc, kc, sc.segs.data(), index_t(sc.segs.size()), nc, int(NR), bp);
      const T* ablock = j.ap + g * j.mgr * K + pc * j.mgr;
      for (index_t ir = m0; ir < m1; ir += MR) {
        const int mr = int(std::min(MR, m1 - ir));
        T* crow = yg + ir * P + q0;
        for (index_t jr = 0; jr < nc; jr += NR) {
          kern.ukernel(kc, ablock + ir * kc, bp + jr * kc, crow + jr, P, mr,
                       int(std::min(NR, nc - jr)), pc > 0, T(1), T(0));
        }
      }
    }
    if (j.bias != nullptr) add_bias_rows(yg + m0 * P, m1 - m0, P, q0, q0 + nc, j.bias + g * mg + m0);
  }
}

// ---- implicit GEMM, column stride 2: B's rows read in place ----
//
// At column stride 2 (dilation 1) an im2col row (channel, kernel row,
// kernel column) of one output row is every other input pixel. With the
// input rows a block of output rows reads split into even and odd columns
// (padding as zeros, in a buffer of this thread), each im2col row is a
// contiguous run, and the tile kernel (conv.h: IndirectTileFn) reads it
// where it is through a table of row pointers: nothing is packed. The 7x7
// stride-2 stem spent 13 % of its time packing im2col tiles (perf), and a
// prototype of this ran it at 188 GFLOP/s against the packed path's 167
// (one thread, into out). Same products in the same order: the same bits.

// Input rows that `rows` consecutive output rows read.
inline index_t input_rows(const Conv2dShape& s, index_t rows) {
  return (rows - 1) * s.strideH + (s.kh - 1) * s.dilationH + 1;
}

// Elements of one thread's split input for `rows` output rows.
inline index_t indirect_buffer_elems(const Conv2dShape& s, index_t rows, index_t WH) {
  return (s.c / s.groups) * input_rows(s, rows) * 2 * WH;
}

template <typename T>
void indirect_task(void* ctx, int) {
  auto& j = *static_cast<GemmJob<T>*>(ctx);  // colBlock, colBlocks unused
  const Conv2dShape& s = *j.s;
  const Kernels<T>& ck = current_kernels<T>();
  const index_t G = s.groups, cg = s.c / G, mg = s.cout / G;
  const index_t K = cg * s.kh * s.kw, P = s.oh * s.ow, WH = j.WH;
  constexpr index_t MR = 14, NR = 32;
  ThreadScratch& sc = scratch();
  const std::size_t elems = std::size_t(indirect_buffer_elems(s, j.rowBlock, WH));
  T* buf = static_cast<T*>(sc.b.get(sizeof(T) * elems + sizeof(T*) * std::size_t(K)));
  if (buf == nullptr) {
    j.failed.store(1, std::memory_order_relaxed);
    return;
  }
  const T** rows = reinterpret_cast<const T**>(buf + elems);
  // Where image column 0 and 1 land in a split row: padded column
  // ixp = ix + padLeft goes to phase ixp & 1, index ixp / 2.
  const index_t first = s.padLeft & 1;
  const index_t at0 = first * WH + s.padLeft / 2, at1 = (1 - first) * WH + (s.padLeft + 1) / 2;
  for (index_t i; !stop_requested() && (i = j.next.fetch_add(1, std::memory_order_relaxed)) < j.items;) {
    const auto [b, g, unused, rb] = item_at(i, j.rowBlocks, 1, G);
    (void)unused;
    const index_t oy0 = rb * j.rowBlock, oy1 = std::min(s.oh, oy0 + j.rowBlock);
    const index_t inRows = input_rows(s, oy1 - oy0);
    const index_t iy0 = oy0 * s.strideH - s.padTop;  // the buffer's first row, in image rows
    const T* xg = j.x + (b * s.c + g * cg) * s.h * s.w;
    T* yg = j.y + (b * s.cout + g * mg) * P;
    // Split: buffer row (ci, r) holds image row iy0 + r's padded columns
    // ixp = ix + padLeft, even ones at [0][ixp / 2], odd at [1][ixp / 2].
    std::fill(buf, buf + cg * inRows * 2 * WH, T(0));
    for (index_t ci = 0; ci < cg; ++ci) {
      for (index_t r = 0; r < inRows; ++r) {
        const index_t iy = iy0 + r;
        if (iy < 0 || iy >= s.h) continue;
        const T* src = xg + (ci * s.h + iy) * s.w;
        T* dst = buf + (ci * inRows + r) * 2 * WH;
        T* d0 = dst + at0;  // ix = 0, 2, 4, ...
        T* d1 = dst + at1;  // ix = 1, 3, 5, ...
        for (index_t ix = 0; 2 * ix < s.w; ++ix) d0[ix] = src[2 * ix];
        for (index_t ix = 0; 2 * ix + 1 < s.w; ++ix) d1[ix] = src[2 * ix + 1];
      }
    }
    for (index_t oy = oy0; oy < oy1; ++oy) {
      index_t p = 0;
      for (index_t ci = 0; ci < cg; ++ci) {
        for (index_t ki = 0; ki < s.kh; ++ki) {
          const T* row = buf + (ci * inRows + (oy - oy0) * s.strideH + ki * s.dilationH) * 2 * WH;
          for (index_t kj = 0; kj < s.kw; ++kj) rows[p++] = row + (kj & 1) * WH + (kj >> 1);
        }
      }
      for (index_t ox0 = 0; ox0 < s.ow; ox0 += NR) {
        const int nr = int(std::min(NR, s.ow - ox0));
        for (index_t ir = 0; ir < mg; ir += MR) {
          ck.indirect(K, j.ap + g * j.mgr * K + ir * K, rows, ox0, yg + ir * P + oy * s.ow + ox0, P,
                      int(std::min(MR, mg - ir)), nr);
        }
      }
    }
    if (j.bias != nullptr) add_bias_rows(yg, mg, P, oy0 * s.ow, oy1 * s.ow, j.bias + g * mg);
  }
}

template <typename T>
struct PackAJob {
  const gemm::Kernels<T>* kern;
  const T* w;
  T* ap;
  index_t G, mg, mgr, K, KC;
  index_t blocks;  // (group, k block) pairs
  std::atomic<index_t> next;
};

template <typename T>
void packa_task(void* ctx, int) {
  auto& j = *static_cast<PackAJob<T>*>(ctx);
  const index_t kblocks = ceil_div(j.K, j.KC);
  for (index_t i; (i = j.next.fetch_add(1, std::memory_order_relaxed)) < j.blocks;) {
    const index_t g = i / kblocks, pc = i % kblocks * j.KC;
    const index_t kc = std::min(j.KC, j.K - pc);
    j.kern->packA(j.mg, kc, j.w + g * j.mg * j.K + pc, j.K, 1, j.ap + g * j.mgr * j.K + pc * j.mgr);
  }
}

template <typename T>
bool implicit_gemm(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  const gemm::Kernels<T>& kern = gemm_kernels<T>();
  const index_t G = s.groups, cg = s.c / G, mg = s.cout / G;
  const index_t K = cg * s.kh * s.kw, P = s.oh * s.ow;
  const index_t MR = kern.blk.mr, NR = kern.blk.nr, KC = kern.blk.kc, NC = kern.blk.nc;
  const index_t mgr = round_up(mg, MR);
  // The weights as the GEMM's A operand, packed once per call.
  const std::size_t aBytes = sizeof(T) * std::size_t(G * mgr * K);
  T* ap = static_cast<T*>(packed_weights().get(aBytes));
  if (ap == nullptr) return false;
  const double work = double(s.n) * double(s.cout) * double(K) * double(P);
  const int threads = threads_for(work);
  {
    const index_t blocks = G * ceil_div(K, KC);
    PackAJob<T> pj{&kern, w, ap, G, mg, mgr, K, KC, blocks, {0}};
    const int tasks = int(std::min<index_t>(blocks, aBytes >= (std::size_t(1) << 20) ? threads : 1));
    parallel_run(tasks, packa_task<T>, &pj);
  }
  const Kernels<T>& ck = current_kernels<T>();
  if (ck.indirect != nullptr && MR == 14 && s.strideW == 2 && s.dilationW == 1 && K <= KC) {
    // Column stride 2: the im2col rows read in place (indirect_task). Blocks
    // of output rows, about 4 per thread, the split input at most 256 KiB.
    const index_t WH = (s.padLeft + s.w + s.padRight + 1) / 2 + 32;
    const index_t jobs = s.n * G;
    index_t rowBlock = std::max<index_t>(1, ceil_div(s.oh * jobs, 4 * index_t(threads)));
    rowBlock = std::min(rowBlock, s.oh);
    while (rowBlock > 1 && sizeof(T) * std::size_t(indirect_buffer_elems(s, rowBlock, WH)) > (std::size_t(256) << 10)) {
      rowBlock = (rowBlock + 1) / 2;
    }
    const std::size_t bufBytes = sizeof(T) * std::size_t(indirect_buffer_elems(s, rowBlock, WH)) + sizeof(T*) * std::size_t(K);
    if (bufBytes <= (std::size_t(1) << 20)) {
      const index_t rowBlocks = ceil_div(s.oh, rowBlock);
      GemmJob<T> job{&s, x, bias, y, ap, mgr, 0, 1, rowBlock, rowBlocks, jobs * rowBlocks, {0}, {0}, WH};
      const int tasks = int(std::min<index_t>(threads, job.items));
      g_last = {"gemm", aBytes, bufBytes, tasks};
      parallel_run(tasks, indirect_task<T>, &job);
      return job.failed.load() == 0;
    }
  }
  // Work items: (image, group) x column blocks x row blocks. Column blocks of
  // at most NC columns, equal in size, at least ~4 per thread when the
  // images are few; rows are split only when columns cannot go round.
  const index_t jobs = s.n * G;
  const index_t panels = ceil_div(P, NR);
  index_t colBlocks = ceil_div(P, NC);
  const index_t want = ceil_div(4 * index_t(threads), jobs);
  if (threads > 1 && colBlocks < want) colBlocks = std::min(want, std::max<index_t>(1, panels / 2));
  colBlocks = std::max<index_t>(1, std::min(colBlocks, panels));
  index_t colBlock = round_up(ceil_div(P, colBlocks), NR);
  colBlocks = ceil_div(P, colBlock);
  // Few items: a multiple of the thread count, so none waits at the end.
  if (threads > 1 && jobs * colBlocks < 16 * index_t(threads)) {
    for (index_t cbs = colBlocks; cbs <= std::min(panels, 2 * colBlocks); ++cbs) {
      const index_t cw = round_up(ceil_div(P, cbs), NR);
      if (jobs * ceil_div(P, cw) % threads == 0) {
        colBlock = cw;
        colBlocks = ceil_div(P, cw);
        break;
      }
    }
  }
  index_t rowBlocks = 1;
  if (jobs * colBlocks < index_t(threads)) {
    rowBlocks = std::min(ceil_div(threads, jobs * colBlocks), ceil_div(mg, MR));
  }
  const index_t rowBlock = round_up(ceil_div(mg, rowBlocks), MR);
  rowBlocks = ceil_div(mg, rowBlock);
  GemmJob<T> job{&s, x, bias, y, ap, mgr, colBlock, colBlocks, rowBlock, rowBlocks,
                 jobs * colBlocks * rowBlocks, {0}, {0}};
  const int tasks = int(std::min<index_t>(threads, job.items));
  g_last = {"gemm", aBytes, sizeof(T) * std::size_t(std::min(KC, K) * round_up(colBlock, NR)), tasks};
  parallel_run(tasks, gemm_task<T>, &job);
  return job.failed.load() == 0;
}

// ---- transposed implicit GEMM: output pixels as the GEMM's rows ----
//
// The same products with the roles swapped: C^T (P x Cout) = im2col^T
// (P x K) * W^T (K x Cout). The micro-tile's vectors run along output
// channels and its rows are output pixels, so a layer with few pixels and
// many channels (512 x 7^2: 49 pixels, 512 channels) fills its tiles
// (4 x 14 pixel rows for 49, instead of 64 columns for 49 in the normal
// orientation), and the weights are never packed whole: each thread packs
// one KC x (<= NC) block of W^T at a time (the GEMM's own packB, transposed
// in registers) while it is used, so they are read from memory once. The
// im2col^T block is packed by pack_b with MR-wide panels (the A micro-panel
// layout). Each accumulator still takes its k products in order, across KC
// blocks through the per-thread output tile (loadC), as the GEMM does; the
// tile is then written transposed into y with the bias.

template <typename T>
struct GemmTJob {
  const Conv2dShape* s;
  const T* x;
  const T* w;
  const T* bias;
  T* y;
  int mr, nr;       // the tile: output pixels x output channels
  index_t kc;       // depth of a W^T block
  bool wholeA;      // im2col^T packed for the whole depth, once per pixel block
  index_t pixBlock, pixBlocks;  // output pixels of an item (a multiple of mr)
  index_t coBlock, coBlocks, items;
  int tasks;
  std::atomic<index_t> next;
  std::atomic<int> failed;
  const T* packed;  // W^T packed ahead (PackLayout), or null: packed per item
};

// Weights packed ahead (conv2d_pack_*): per group, for each kConvPackKC-deep
// block of the reduction (pc), for each pfNR-wide block of output channels
// (cb), that W^T block as packB writes it (kc x pfNR in NR-wide
// micro-panels, the second at NR * kc), each block kConvPackKC * pfNR
// elements apart. An item of gemm-t reads its channel blocks at one pc
// consecutively, and the next pc's (prefetched) just after.
constexpr index_t kConvPackKC = 128;
struct PackLayout {
  index_t width;   // channels per block: the tile kernel's pfNR
  index_t blocks;  // channel blocks per group
  index_t depths;  // reduction blocks
  index_t block;   // elements per block
  PackLayout(index_t width_, index_t mg, index_t k)
      : width(width_), blocks(ceil_div(mg, width_)), depths(ceil_div(k, kConvPackKC)),
        block(kConvPackKC * width_) {}
  // Offset of block (g, pc / kConvPackKC, cb).
  index_t at(index_t g, index_t pc, index_t cb) const {
    return ((g * depths + pc / kConvPackKC) * blocks + cb) * block;
  }
};

// Buffers of one thread (elements): im2col^T block, W^T block, output tile
// (P pixels x coBlock channels, coBlock a multiple of the tile's width).
struct GemmTSizes {
  index_t a, b, c;
};
template <typename T>
GemmTSizes gemmt_sizes(index_t P, index_t K, index_t mr, index_t nr, index_t kc, bool wholeA,
                       index_t coBlock) {
  return {round_up(P, mr) * (wholeA ? K : kc), kc * round_up(coBlock, nr), P * coBlock};
}

template <typename T>
void gemmt_task(void* ctx, int t) {
  auto& j = *static_cast<GemmTJob<T>*>(ctx);
  const Conv2dShape& s = *j.s;
  const gemm::Kernels<T>& kern = gemm_kernels<T>();
  const Kernels<T>& ck = current_kernels<T>();
  const index_t G = s.groups, cg = s.c / G, mg = s.cout / G;
  const index_t K = cg * s.kh * s.kw, P = s.oh * s.ow;
  const index_t NR = kern.blk.nr;          // the GEMM's B panels (packB)
  const index_t MRt = j.mr, NRt = j.nr, KC = j.kc;
  const bool own = NRt != NR;              // the ISA's own kernel (conv.h)
  const PackLayout pl(NRt, mg, K);
  const GemmTSizes z = gemmt_sizes<T>(j.pixBlock, K, MRt, NR, KC, j.wholeA, j.coBlock);
  ThreadScratch& sc = scratch();
  T* ab = static_cast<T*>(sc.a.get(sizeof(T) * std::size_t(z.a)));
  T* bb = static_cast<T*>(sc.b.get(sizeof(T) * std::size_t(z.b)));
  T* ct = static_cast<T*>(sc.c.get(sizeof(T) * std::size_t(z.c)));
  if (ab == nullptr || bb == nullptr || ct == nullptr) {
    j.failed.store(1, std::memory_order_relaxed);
    return;
  }
  // The output tile: pixBlock rows x coBlock channels, in blocks of NRt
  // channels (each pixBlock x NRt, rows NRt apart): every micro-tile has the
  // row stride the ISA's 7 x 64 assembly loop takes.
  const index_t tileBlock = j.pixBlock * NRt;
  auto tile_at = [&](index_t r, index_t c) { return ct + (c / NRt) * tileBlock + r * NRt + c % NRt; };
  index_t segBlock = -1, packedJob = -1;
  // Items from a shared counter: a thread slowed by other work on its core
  // takes fewer.
  (void)t;
  for (index_t i; !stop_requested() && (i = j.next.fetch_add(1, std::memory_order_relaxed)) < j.items;) {
    // Items: (image, group) x pixel blocks x channel blocks; pjob numbers
    // the (image, group, pixel block) whose im2col^T an item uses.
    const auto [b, g, pb, cb] = item_at(i, j.coBlocks, j.pixBlocks, G);
    const index_t pjob = i / j.coBlocks;
    const index_t co0 = cb * j.coBlock, nco = std::min(j.coBlock, mg - co0);
    const index_t q0 = pb * j.pixBlock, np = std::min(j.pixBlock, P - q0);
    if (nco <= 0 || np <= 0) continue;
    const T* xg = j.x + (b * s.c + g * cg) * s.h * s.w;
    const T* wg = j.w + (g * mg + co0) * K;
    if (segBlock != pb) {
      build_segments(sc.segs, s.ow, q0, np, MRt);
      segBlock = pb;
    }
    if (j.wholeA && packedJob != pjob) {
      ck.packB(s, xg, 0, K, sc.segs.data(), index_t(sc.segs.size()), np, int(MRt), ab);
      packedJob = pjob;
    }
    for (index_t pc = 0; pc < K; pc += KC) {
      const index_t kc = std::min(KC, K - pc);
      if (!j.wholeA) ck.packB(s, xg, pc, kc, sc.segs.data(), index_t(sc.segs.size()), np, int(MRt), ab);
      if (j.packed == nullptr) kern.packB(kc, nco, wg + pc, 1, K, bb);
      const T* a0 = j.wholeA ? ab + pc * MRt : ab;
      const index_t astride = j.wholeA ? K : kc;  // between A micro-panels, / MRt
      if (!own) {
        for (index_t jr = 0; jr < nco; jr += NR) {
          for (index_t ir = 0; ir < np; ir += MRt) {
            kern.ukernel(kc, a0 + ir * astride, bb + jr * kc, tile_at(ir, jr), NRt,
                         int(std::min(MRt, np - ir)), int(std::min(NR, nco - jr)), pc > 0, T(1), T(0));
          }
        }
        continue;
      }
      // The weights of this item's next W^T block, fetched towards L2 across
      // this block's micro-kernel calls.
      const char* pf = nullptr;
      index_t every = 0, rowLines = 1, rowSkip = 0, col = 0;
      if (j.packed != nullptr && pc + KC < K) {
        // The next depth's blocks of this item's channels: one run of
        // lines per block.
        const index_t nkc = std::min(KC, K - pc - KC), rows = ceil_div(nco, NRt);
        pf = reinterpret_cast<const char*>(j.packed + pl.at(g, pc + KC, co0 / NRt));
        rowLines = ceil_div(nkc * NRt * index_t(sizeof(T)), 64);
        rowSkip = pl.block * index_t(sizeof(T)) - rowLines * 64;
        // One line every `every` k steps of this block's kernel calls.
        const index_t steps = kc * ceil_div(np, MRt) * rows;
        every = std::max<index_t>(1, steps / (rows * rowLines));
      } else if (j.packed == nullptr) {
        const T* nw = nullptr;
        index_t rows = 0, nkc = 0;
        if (pc + KC < K) {
          nw = wg + pc + KC, rows = nco, nkc = std::min(KC, K - pc - KC);
        }
        if (nw != nullptr) {
          const std::uintptr_t lo = reinterpret_cast<std::uintptr_t>(nw) & ~std::uintptr_t(63);
          const std::uintptr_t hi = reinterpret_cast<std::uintptr_t>(nw + nkc);
          rowLines = index_t((hi - lo + 63) / 64);
          rowSkip = K * index_t(sizeof(T)) - rowLines * 64;
          pf = reinterpret_cast<const char*>(lo);
          const index_t steps = kc * ceil_div(np, MRt) * ceil_div(nco, NRt);
          every = std::max<index_t>(1, steps / (rows * rowLines));
        }
      }
      for (index_t jr = 0; jr < nco; jr += NRt) {
        const T* bj = j.packed != nullptr ? j.packed + pl.at(g, pc, (co0 + jr) / NRt) : bb + jr * kc;
        for (index_t ir = 0; ir < np; ir += MRt) {
          pf = ck.ukernelPf(kc, a0 + ir * astride, bj, NR * kc, tile_at(ir, jr), NRt,
                            int(std::min(MRt, np - ir)), int(std::min(NRt, nco - jr)), pc > 0, pf,
                            every, rowLines, rowSkip, &col);
        }
      }
    }
    // The tile (pixels x channels) into y (channels x pixels), plus the bias.
    T* yc = j.y + (b * s.cout + g * mg + co0) * P + q0;
    const T* bc = j.bias != nullptr ? j.bias + g * mg + co0 : nullptr;
    if (ck.tileOut != nullptr && NRt % 16 == 0) {
      ck.tileOut(ct, NRt, tileBlock, np, nco, bc, yc, P);
      continue;
    }
    constexpr index_t kB = 16;
    for (index_t c0 = 0; c0 < nco; c0 += kB) {
      const index_t c1 = std::min(nco, c0 + kB);
      for (index_t r0 = 0; r0 < np; r0 += kB) {
        const index_t r1 = std::min(np, r0 + kB);
        for (index_t c = c0; c < c1; ++c) {
          T* o = yc + c * P;
          const T* src = tile_at(0, c);
          if (bc != nullptr) {
            const T bv = bc[c];
            for (index_t q = r0; q < r1; ++q) o[q] = src[q * NRt] + bv;
          } else {
            for (index_t q = r0; q < r1; ++q) o[q] = src[q * NRt];
          }
        }
      }
    }
  }
}

// Output pixels per image (group) up to this take the transposed path in
// auto (one pixel block); more, when forced, are cut into pixel blocks.
// (3x3 64 -> 64 on 56^2 and 128 -> 128 on 28^2 measured slower here than
// the normal orientation: 7-wide im2col^T panels cost more to pack.)
constexpr index_t kGemmTMaxPixels = 256;
// The packed im2col^T of the whole depth, when it is at most this big.
// (1024 -> 1024 on 7^2, 1.76 MiB, went from per-item depth blocks to one
// whole-depth packing per thread with 2 MiB instead of 1.5: 0.88-0.93 of
// the time on 1 and 2 threads; 256 -> 256 on 14^2 level.)
constexpr std::size_t kGemmTMaxABytes = std::size_t(2) << 20;  // 2 MiB

// Whether the ISA has its own transposed-GEMM kernel for T (conv.h).
template <typename T>
bool gemmt_own() {
  const Kernels<T>& ck = current_kernels<T>();
  const index_t NR = gemm_kernels<T>().blk.nr;
  return ck.ukernelPf != nullptr && ck.pfNR % NR == 0 && NR == 32 / index_t(sizeof(T) / 4);
}

template <typename T>
bool implicit_gemm_t(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y, const T* packed) {
  const gemm::Kernels<T>& kern = gemm_kernels<T>();
  const Kernels<T>& ck = current_kernels<T>();
  const index_t G = s.groups, cg = s.c / G, mg = s.cout / G;
  const index_t K = cg * s.kh * s.kw, P = s.oh * s.ow;
  const index_t NR = kern.blk.nr, NC = kern.blk.nc;
  const bool own = gemmt_own<T>();
  const index_t MRt = own ? ck.pfMR : kern.blk.mr, NRt = own ? ck.pfNR : NR;
  // Own kernel: W^T blocks of 128 deep (a 64-wide pair of panels, 32 KiB,
  // stays in L1 while the pixel tiles pass); else the GEMM's KC.
  const index_t KC = own ? kConvPackKC : kern.blk.kc;
  if (!own) packed = nullptr;
  const double work = double(s.n) * double(s.cout) * double(K) * double(P);
  const int threads = threads_for(work);
  // Pixel blocks (multiples of the tile's rows, equal in size) whose
  // im2col^T of the whole depth fits kGemmTMaxABytes, packed once per block
  // and shared by its channel blocks; a depth too great for a few tiles'
  // worth takes KC-deep im2col^T blocks, packed per item.
  // Up to kGemmTMaxPixels pixels (all that auto sends here) are one block.
  const index_t byA = index_t(kGemmTMaxABytes / sizeof(T)) / K / MRt * MRt;
  const bool wholeA = byA >= round_up(P, MRt) || (P > kGemmTMaxPixels && byA >= 4 * MRt);
  index_t pixBlock = P <= kGemmTMaxPixels ? P : wholeA ? byA : round_up(kGemmTMaxPixels, MRt);
  index_t pixBlocks = ceil_div(P, pixBlock);
  pixBlock = round_up(ceil_div(P, pixBlocks), MRt);
  pixBlocks = ceil_div(P, pixBlock);
  // Channel blocks of at most NC (an output tile of at most 512 KiB), equal
  // in size; enough, and a multiple of the thread count, for the threads to
  // share them evenly. With the im2col^T packed once per pixel block, one
  // tile column per item: the W^T block (KC x 64: 32 KiB) stays in L1 and
  // the prefetch walk covers a few pages (512x7^2 -> 512: ~111 -> ~117
  // GFLOP/s against 512 channels per item); else as many channels as
  // allowed, so that the im2col^T block packed per item serves many.
  const index_t jobs = s.n * G * pixBlocks;
  const index_t panels = ceil_div(mg, NRt);
  const index_t byC = (index_t(512) << 10) / index_t(sizeof(T)) / pixBlock;
  const index_t maxBlock = wholeA ? NRt : std::max<index_t>(NRt, std::min(NC, byC) / NRt * NRt);
  index_t coBlocks = std::min(panels, ceil_div(mg, maxBlock));
  index_t coBlock = round_up(ceil_div(mg, coBlocks), NRt);
  if (threads > 1) {
    for (index_t cbs = coBlocks; cbs <= panels; ++cbs) {
      const index_t cw = round_up(ceil_div(mg, cbs), NRt);
      const index_t items = jobs * ceil_div(mg, cw);
      if (items >= threads && items % threads == 0) {
        coBlock = cw;
        break;
      }
      if (cbs == panels) coBlock = cw;
    }
  }
  coBlocks = ceil_div(mg, coBlock);
  GemmTJob<T> job{&s, x, w, bias, y, int(MRt), int(NRt), KC, wholeA, pixBlock, pixBlocks,
                  coBlock, coBlocks, jobs * coBlocks, 1, {0}, {0}, packed};
  const int tasks = int(std::min<index_t>(threads, job.items));
  job.tasks = tasks;
  const GemmTSizes z = gemmt_sizes<T>(pixBlock, K, MRt, NR, KC, wholeA, coBlock);
  g_last = {packed != nullptr ? "gemm-t packed" : "gemm-t", packed != nullptr ? 0 : sizeof(T) * std::size_t(z.b) * std::size_t(tasks),
            sizeof(T) * std::size_t(z.a + z.c), tasks};
  parallel_run(tasks, gemmt_task<T>, &job);
  return job.failed.load() == 0;
}

// ---- transposed direct: tiles of 7 output pixels read from the image ----
//
// As gemm-t (channels as vectors, pixels as tile rows, the ISA's tile
// kernel), but a tile of pixels in one output row with column stride 1 or 2
// whose receptive field lies inside the image reads its inputs where they
// are: the 7 pixels' inputs at reduction step k = (ci, ki, kj) are 7
// elements 1 or 2 apart at a fixed offset from the tile's first one. Tiles
// that touch the padding read strips or bands of the input packed with
// zeros outside the image (its columns as they are, the same stride).
// Each thread packs W^T for a block of up to 64 channels over the whole
// depth (K x 64) and runs the tiles of a band of output rows against it;
// the kernel stores its 7 x 64 accumulators transposed into y.

// Output rows up to this wide (64 tiles of 7).
constexpr index_t kDirectTMaxOw = 448;
// direct-t's packed strips and bands per thread (DirectTGeom::packedElems),
// at most: ResNet-style layers need well under 1 MiB.
constexpr std::size_t kDirectTMaxScratchBytes = std::size_t(8) << 20;

// direct_t's tiles and the input it packs (per thread). A tile whose input
// columns leave the image (the first and last on a padded row) reads a band:
// its SW columns of every input row a chunk of output rows needs, packed once
// per chunk (zeros outside the image), instead of a strip per output row
// (3x less packing for a 3x3 kernel: `perf` put the strips at 4.7 % of
// 64 -> 64 on 56^2 and 7.8 % of 128 -> 128 on 28^2). Tiles whose columns
// are inside but whose rows are not (the padded top and bottom output rows)
// still take a strip. Bands are at most ~256 KiB together; chunks of rows
// keep them there.
template <typename T>
struct DirectTGeom {
  index_t tiles, SW, stripLen;
  int bandOf[64];  // tile -> its band, or -1: columns inside the image
  index_t window;  // input rows one output row reads: (kh - 1) * dilationH + 1
  index_t bands, chunkRows, bandRows, bandLen;

  DirectTGeom(const Conv2dShape& s, index_t MRt) {
    const index_t cg = s.c / s.groups;
    tiles = ceil_div(s.ow, MRt);
    SW = (MRt - 1) * s.strideW + (s.kw - 1) * s.dilationW + 1;
    stripLen = cg * s.kh * SW;
    bands = 0;
    for (index_t tt = 0; tt < tiles; ++tt) {
      const index_t ix0 = tt * MRt * s.strideW - s.padLeft;  // all MRt pixels' columns are read
      bandOf[tt] = ix0 >= 0 && ix0 + SW - 1 < s.w ? -1 : int(bands++);
    }
    window = (s.kh - 1) * s.dilationH + 1;
    chunkRows = s.oh;
    if (bands > 0) {
      const index_t cap = (index_t(256) << 10) / index_t(sizeof(T)), perInputRow = bands * cg * SW;
      const index_t fit = cap / perInputRow - window;  // input rows beyond the first window
      chunkRows = std::min(s.oh, std::max<index_t>(1, fit / s.strideH + 1));
    }
    bandRows = (chunkRows - 1) * s.strideH + window;
    bandLen = cg * bandRows * SW;
  }
  std::size_t packedElems() const { return std::size_t(tiles * stripLen + bands * bandLen); }
};

template <typename T>
struct DirectTJob {
  const Conv2dShape* s;
  const T* x;
  const T* w;
  const T* bias;
  T* y;
  index_t coBlock, coBlocks, rowBlock, rowBlocks, items;
  int tasks;
  std::atomic<index_t> next;
  std::atomic<int> failed;
};

template <typename T>
void directt_task(void* ctx, int t) {
  auto& j = *static_cast<DirectTJob<T>*>(ctx);
  const Conv2dShape& s = *j.s;
  const gemm::Kernels<T>& kern = gemm_kernels<T>();
  const Kernels<T>& ck = current_kernels<T>();
  const index_t G = s.groups, cg = s.c / G, mg = s.cout / G;
  const index_t K = cg * s.kh * s.kw, P = s.oh * s.ow;
  const index_t NR = kern.blk.nr, MRt = ck.pfMR;
  ThreadScratch& sc = scratch();
  T* bb = static_cast<T*>(sc.b.get(sizeof(T) * std::size_t(K * round_up(j.coBlock, NR))));
  // The strips of one output row's tiles on the padding rows (per input
  // channel and kernel row, the SW input columns the tile reads, zeros
  // outside the image), the bands (DirectTGeom), and the partial sums of the
  // row's tiles between depth blocks.
  const DirectTGeom<T> geo(s, MRt);
  const index_t tiles = geo.tiles, SW = geo.SW, stripLen = geo.stripLen;
  T* ab = static_cast<T*>(sc.a.get(sizeof(T) * geo.packedElems()));
  T* band = ab + tiles * stripLen;
  const index_t ldct = 64;
  T* ct = static_cast<T*>(sc.c.get(sizeof(T) * std::size_t(tiles * MRt * ldct)));
  if (bb == nullptr || ab == nullptr || ct == nullptr) {
    j.failed.store(1, std::memory_order_relaxed);
    return;
  }
  sc.off.resize(std::size_t(K));
  sc.offStrip.resize(std::size_t(K));
  sc.offBand.resize(std::size_t(K));
  {
    index_t k = 0;
    for (index_t ci = 0; ci < cg; ++ci) {
      for (index_t ki = 0; ki < s.kh; ++ki) {
        for (index_t kj = 0; kj < s.kw; ++kj, ++k) {
          sc.off[std::size_t(k)] = ci * s.h * s.w + ki * s.dilationH * s.w + kj * s.dilationW;
          sc.offStrip[std::size_t(k)] = (ci * s.kh + ki) * SW + kj * s.dilationW;
        }
      }
    }
  }
  const index_t* off = sc.off.data();
  const index_t* offStrip = sc.offStrip.data();
  const index_t* offBand = sc.offBand.data();
  // A band is a strip sb.kh input rows high with unit row step (pack_strip's
  // layout): the rows of one chunk, chunks of equal size per item.
  Conv2dShape sb = s;
  sb.kh = 0;
  sb.dilationH = 1;
  // Depth blocks: the whole depth up to 2048 (the tile's accumulators stay
  // in registers; W^T streams from L2: measured faster than 256-deep blocks,
  // 3x3 64 -> 64 on 56^2 ~135 -> ~140 GFLOP/s), else equal blocks of at
  // most 1024 whose partial sums continue through ct.
  const index_t KCd = K <= 2048 ? K : ceil_div(K, ceil_div(K, 1024));
  index_t packedW = -1;
  // Items from a shared counter: a thread slowed by other work on its core
  // takes fewer.
  (void)t;
  for (index_t i; !stop_requested() && (i = j.next.fetch_add(1, std::memory_order_relaxed)) < j.items;) {
    // Items: (image, group) x channel blocks x bands of output rows.
    const auto [b, g, cb, rb] = item_at(i, j.rowBlocks, j.coBlocks, G);
    const index_t co0 = cb * j.coBlock, nco = std::min(j.coBlock, mg - co0);
    const index_t oy0 = rb * j.rowBlock, oy1 = std::min(s.oh, oy0 + j.rowBlock);
    if (nco <= 0 || oy0 >= oy1) continue;
    const index_t wkey = g * j.coBlocks + cb;
    if (packedW != wkey) {
      kern.packB(K, nco, j.w + (g * mg + co0) * K, 1, K, bb);
      packedW = wkey;
    }
    const T* xg = j.x + (b * s.c + g * cg) * s.h * s.w;
    T* yc = j.y + (b * s.cout + g * mg + co0) * P;
    const T* bc = j.bias != nullptr ? j.bias + g * mg + co0 : nullptr;
    // This item's chunks of output rows, and the input rows one chunk's bands hold.
    const index_t chunks = ceil_div(oy1 - oy0, geo.chunkRows), chunk = ceil_div(oy1 - oy0, chunks);
    const index_t bandRows = (chunk - 1) * s.strideH + geo.window;
    if (geo.bands > 0 && sb.kh != bandRows) {
      sb.kh = bandRows;
      index_t k = 0;
      for (index_t ci = 0; ci < cg; ++ci) {
        for (index_t ki = 0; ki < s.kh; ++ki) {
          for (index_t kj = 0; kj < s.kw; ++kj, ++k) {
            sc.offBand[std::size_t(k)] = (ci * bandRows + ki * s.dilationH) * SW + kj * s.dilationW;
          }
        }
      }
    }
    for (index_t oyc = oy0; oyc < oy1; oyc += chunk) {
      // The bands of this chunk of output rows: input rows from iyA on.
      const index_t iyA = oyc * s.strideH - s.padTop;
      for (index_t tt = 0; tt < tiles; ++tt) {
        if (geo.bandOf[tt] >= 0) ck.strip(sb, xg, iyA, tt * MRt * s.strideW - s.padLeft, SW, band + geo.bandOf[tt] * geo.bandLen);
      }
      for (index_t oy = oyc, oye = std::min(oy1, oyc + chunk); oy < oye; ++oy) {
        const index_t iy0 = oy * s.strideH - s.padTop;
        const bool rowsIn = iy0 >= 0 && iy0 + geo.window <= s.h;
        // Tiles with their columns inside the image read it in place when
        // their rows are too, else a strip.
        if (!rowsIn) {
          for (index_t tt = 0; tt < tiles; ++tt) {
            if (geo.bandOf[tt] < 0) ck.strip(s, xg, iy0, tt * MRt * s.strideW - s.padLeft, SW, ab + tt * stripLen);
          }
        }
        for (index_t pc = 0; pc < K; pc += KCd) {
          const index_t kc = std::min(KCd, K - pc);
          const bool last = pc + kc == K;
          for (index_t tt = 0; tt < tiles; ++tt) {
            const index_t ox = tt * MRt;
            const int mr = int(std::min(MRt, s.ow - ox));
            T* yt = last ? yc + oy * s.ow + ox : nullptr;
            T* ctt = ct + tt * MRt * ldct;
            const T* a;
            const index_t* o;
            if (geo.bandOf[tt] >= 0) {
              a = band + geo.bandOf[tt] * geo.bandLen + (iy0 - iyA) * SW;
              o = offBand;
            } else if (rowsIn) {
              a = xg + iy0 * s.w + (ox * s.strideW - s.padLeft);
              o = off;
            } else {
              a = ab + tt * stripLen;
              o = offStrip;
            }
            ck.tile(kc, a, s.strideW, o + pc, bb + pc * NR, NR * K, ctt, ldct, pc > 0, bc, yt, P, mr, int(nco));
          }
        }
      }
    }
  }
}

// Whether the ISA has the tile kernel for T.
template <typename T>
bool directt_own() {
  const Kernels<T>& ck = current_kernels<T>();
  const index_t NR = gemm_kernels<T>().blk.nr;
  return ck.tile != nullptr && ck.pfNR % NR == 0 && NR == 32 / index_t(sizeof(T) / 4);
}

// Whether direct_t can run s at all (forced or chosen): the tile kernel,
// column stride 1 or 2, rows of at most kDirectTMaxOw.
template <typename T>
bool directt_fits(const Conv2dShape& s) {
  if (!((s.strideW == 1 || s.strideW == 2) && s.ow <= kDirectTMaxOw && directt_own<T>())) return false;
  // Its strips and bands grow with the dilated kernel's extent, not with the
  // data (a 1x2 kernel with dilation 20000 on a 10-pixel row: 328 MB per
  // thread): past kDirectTMaxScratchBytes another path takes the layer.
  const DirectTGeom<T> geo(s, current_kernels<T>().pfMR);
  return sizeof(T) * geo.packedElems() <= kDirectTMaxScratchBytes;
}

template <typename T>
bool direct_t(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  const Kernels<T>& ck = current_kernels<T>();
  const index_t G = s.groups, cg = s.c / G, mg = s.cout / G;
  const index_t K = cg * s.kh * s.kw;
  const index_t NRt = ck.pfNR;
  const double work = double(s.n) * double(s.cout) * double(K) * double(s.oh * s.ow);
  const int threads = threads_for(work);
  const index_t jobs = s.n * G;
  const index_t coBlock = std::min(round_up(mg, 16), NRt);
  const index_t coBlocks = ceil_div(mg, coBlock);
  // Bands of output rows: about 4 items per thread when images and channel
  // blocks are few.
  index_t rowBlocks = 1;
  const index_t want = 4 * index_t(threads);
  if (threads > 1 && jobs * coBlocks < want) rowBlocks = std::min(s.oh, ceil_div(want, jobs * coBlocks));
  const index_t rowBlock = ceil_div(s.oh, rowBlocks);
  rowBlocks = ceil_div(s.oh, rowBlock);
  DirectTJob<T> job{&s, x, w, bias, y, coBlock, coBlocks, rowBlock, rowBlocks,
                    jobs * coBlocks * rowBlocks, 1, {0}, {0}};
  const int tasks = int(std::min<index_t>(threads, job.items));
  job.tasks = tasks;
  const DirectTGeom<T> geo(s, ck.pfMR);
  g_last = {"direct-t", sizeof(T) * std::size_t(K * round_up(coBlock, gemm_kernels<T>().blk.nr)) * std::size_t(tasks),
            sizeof(T) * (geo.packedElems() + std::size_t(geo.tiles * ck.pfMR * 64)), tasks};
  parallel_run(tasks, directt_task<T>, &job);
  return job.failed.load() == 0;
}

// ---- direct ----

template <typename T>
struct DirectJob {
  const Conv2dShape* s;
  const T* x;
  const T* w;
  const T* bias;
  T* y;
  index_t coBlock, coBlocks, rowBlock, rowBlocks, items;
  std::atomic<index_t> next;
};

template <typename T>
void direct_task(void* ctx, int) {
  auto& j = *static_cast<DirectJob<T>*>(ctx);
  const Conv2dShape& s = *j.s;
  const Kernels<T>& ck = current_kernels<T>();
  const index_t G = s.groups, cg = s.c / G, mg = s.cout / G;
  const index_t wstride = cg * s.kh * s.kw, P = s.oh * s.ow;
  for (index_t i; !stop_requested() && (i = j.next.fetch_add(1, std::memory_order_relaxed)) < j.items;) {
    // Items: (image, group) x blocks of output channels x blocks of rows.
    const auto [b, g, cb, rb] = item_at(i, j.rowBlocks, j.coBlocks, G);
    const index_t c0 = cb * j.coBlock, c1 = std::min(mg, c0 + j.coBlock);
    const index_t oy0 = rb * j.rowBlock, oy1 = std::min(s.oh, oy0 + j.rowBlock);
    if (c0 >= c1 || oy0 >= oy1) continue;
    const index_t co = g * mg + c0;
    ck.direct(s, j.x + (b * s.c + g * cg) * s.h * s.w, j.w + co * wstride,
              j.bias != nullptr ? j.bias + co : nullptr, j.y + (b * s.cout + co) * P, c1 - c0,
              oy0, oy1);
  }
}

template <typename T>
void direct(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  const index_t G = s.groups, cg = s.c / G, mg = s.cout / G;
  const double work = double(s.n) * double(s.cout) * double(cg * s.kh * s.kw) * double(s.oh * s.ow);
  const int threads = threads_for(work);
  // Items: (image, group) x blocks of 4 output channels x blocks of rows,
  // about 4 per thread.
  const index_t jobs = s.n * G;
  index_t coBlock = std::min<index_t>(mg, 4);
  index_t coBlocks = ceil_div(mg, coBlock);
  index_t rowBlocks = 1;
  const index_t want = 4 * index_t(threads);
  if (threads > 1 && jobs * coBlocks < want) rowBlocks = std::min(s.oh, ceil_div(want, jobs * coBlocks));
  const index_t rowBlock = ceil_div(s.oh, rowBlocks);
  rowBlocks = ceil_div(s.oh, rowBlock);
  DirectJob<T> job{&s, x, w, bias, y, coBlock, coBlocks, rowBlock, rowBlocks,
                   jobs * coBlocks * rowBlocks, {0}};
  const int tasks = int(std::min<index_t>(threads, job.items));
  g_last = {"direct", 0, 0, tasks};
  parallel_run(tasks, direct_task<T>, &job);
}

// The share of the transposed paths' tile work that is real: channels in
// blocks of 64 (a last block of <= 32 computes 32), pixels (per output row
// for direct_t, per image for gemm-t) in tiles of 7. Below ~0.85 the normal
// orientation measured faster (3x3 64 -> 200 on 30^2: 0.76, ~136 vs ~85
// GFLOP/s; 40 -> 40 on 13^2: 0.6, ~83 vs ~57).
// The transposed paths only for an (image, group) of at least this many
// multiply-adds, and direct_t only for output rows of at least 28 (4 tiles,
// 2 of them on the padding): smaller ones measured faster with gemm
// (16 -> 32 on 10^2, 32 -> 64 on 20^2, 64 -> 64 on 8^2, one thread).
constexpr double kTransposedMinMacs = double(1 << 24);

inline double tile_fill(index_t channels, index_t pixels) {
  const index_t r = channels % 64;
  const index_t computed = channels - r + (r == 0 ? 0 : r <= 32 ? 32 : 64);
  return double(channels) / double(computed) * double(pixels) / double(round_up(pixels, 7));
}

// ---- choosing ----

void reference(const Conv2dShape& s, const float* x, const float* w, const float* b, float* y) {
  reference_f32(s, x, w, b, y);
}
void reference(const Conv2dShape& s, const double* x, const double* w, const double* b, double* y) {
  reference_f64(s, x, w, b, y);
}

template <typename T>
void run(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y, const T* packed) {
  if (s.n == 0 || s.cout == 0 || s.oh == 0 || s.ow == 0) return;
  const index_t G = s.groups, cg = s.c / G, mg = s.cout / G;
  if (cg == 0) {
    // No products: the bias (or zeros) everywhere.
    const index_t P = s.oh * s.ow;
    for (index_t b = 0; b < s.n; ++b) {
      for (index_t co = 0; co < s.cout; ++co) {
        std::fill(y + (b * s.cout + co) * P, y + (b * s.cout + co + 1) * P,
                  bias != nullptr ? bias[co] : T(0));
      }
    }
    g_last = {"empty", 0, 0, 1};
    return;
  }
  const bool isPointwise = s.kh == 1 && s.kw == 1 && s.strideH == 1 && s.strideW == 1 &&
                           s.padTop == 0 && s.padBottom == 0 && s.padLeft == 0 &&
                           s.padRight == 0;
  const bool directOk = s.kw <= kDirectMaxKw;
  Path path = g_path.load(std::memory_order_relaxed);
  if (path == Path::winograd) path = Path::automatic;  // only with Winograd's weights (winograd())
  if (path == Path::pointwise && !isPointwise) path = Path::automatic;
  if (path == Path::direct && !directOk) path = Path::automatic;
  if (path == Path::directt && !directt_fits<T>(s)) path = Path::automatic;
  if (path == Path::automatic) {
    const double jobMacs = double(mg) * double(cg * s.kh * s.kw) * double(s.oh * s.ow);
    if (isPointwise) {
      path = Path::pointwise;
    } else if (directOk && (cg == 1 || mg <= 4 || (mg <= 12 && cg * s.kh * s.kw <= 256))) {
      // One input channel per group (depthwise) or few output channels:
      // the GEMM's MR-high tiles would compute mostly padding rows, and for
      // short reductions packing would cost more than it saves (measured).
      path = Path::direct;
    } else if (s.oh * s.ow > kGemmTMaxPixels && mg >= 32 && directt_fits<T>(s) &&
               (s.strideW == 1 || cg * s.kh * s.kw >= 256) && s.ow >= 28 &&
               tile_fill(mg, s.ow) >= 0.85 && jobMacs >= kTransposedMinMacs) {
      // Many output pixels, column stride 1 or 2: tiles of 7 pixels read
      // from the image in place, channels as vectors (direct_t; 3x3 64 -> 64
      // on 56^2, one thread: ~126 -> ~135 GFLOP/s against gemm; 3x3 stride
      // 2, 32 -> 64 on 112^2 to 128 -> 128 on 56^2: 147-166 -> 171-185 on
      // one thread, 248-271 -> 322-344 on two). Stride 2 only with a depth
      // of 256 or more: the 3-channel 7x7 stem (depth 147) measured ~3 %
      // slower than gemm, each tile's transposed stores and strips weighing
      // more against a short reduction.
      path = Path::directt;
    } else if (s.oh * s.ow <= kGemmTMaxPixels && mg >= 32 && gemmt_own<T>() &&
               tile_fill(mg, s.oh * s.ow) >= 0.85 && jobMacs >= kTransposedMinMacs) {
      // Few output pixels, many channels (deep ResNet layers: 7^2, 14^2):
      // channels as the vector direction fill the tiles, and the weights
      // are packed block by block as they are used (implicit_gemm_t).
      path = Path::gemmt;
    } else {
      path = Path::gemm;
    }
  }
  // The output's pages: a fresh output's fault in one at a time as they are
  // first written, 1.5-2.7 us each on the development VM
  // (bench/peak/pagefault.cc), as much as the arithmetic of a 64x56^2 ->
  // 256 1x1 convolution; 2 MiB pages where whole ones fit, and one
  // populate call for a one-thread job (gemm.cc). The pointwise path's GEMMs
  // do this themselves, per GEMM (gemm.cc, or the parallel branch of
  // pointwise()): twice over the same pages measured 3-7 % slower with one
  // thread (64 x 56^2 -> 256).
  if (path != Path::pointwise) {
    const std::size_t yBytes = sizeof(T) * std::size_t(s.n * s.cout * s.oh * s.ow);
    ntensor::gemm::advise_huge_pages(y, yBytes);
    // One thread only: with more, a populate ahead of the threads (serial,
    // or split over them) measured slower (3x3 64 -> 64 on 56^2, 2 threads:
    // median ~205 -> ~180-190 GFLOP/s).
    if (threads_for(double(s.n) * double(s.cout) * double(cg * s.kh * s.kw) * double(s.oh * s.ow)) <= 1) {
      ntensor::gemm::populate_pages(y, yBytes);
    }
  }
  switch (path) {
    case Path::pointwise: pointwise(s, x, w, bias, y); return;
    case Path::direct: direct(s, x, w, bias, y); return;
    case Path::gemm:
      if (implicit_gemm(s, x, w, bias, y)) return;
      break;  // out of memory for the packed weights: the loops need none
    case Path::gemmt:
      if (implicit_gemm_t(s, x, w, bias, y, packed)) return;
      break;
    case Path::directt:
      if (direct_t(s, x, w, bias, y)) return;
      break;
    default: break;
  }
  g_last = {"reference", 0, 0, 1};
  reference(s, x, w, bias, y);
}

// ---- Winograd F(2x2, 3x3) (kernels.h: conv2d_winograd_*) ----
//
// Each 2 x 2 block of output pixels (a tile) is A^T [(G g G^T) .* (B^T d B)] A
// for its 4 x 4 input patch d and each 3 x 3 kernel g: 16 multiplies per
// tile and channel pair instead of 36. The 16 elementwise products, summed
// over input channels, are 16 GEMMs per chunk of tiles: U_xi (mg x cg, the
// transformed weights, made once by conv2d_winograd_pack_*) times V_xi (cg x
// tiles, wino_in). wino_out turns the 16 results into the outputs. The
// transforms add and subtract, so results are within a few ulps of the exact
// sum but not its bits (the contract of kernels.h does not hold here).
//
// Work items: (image, group, chunk of tile rows), taken from a shared
// counter; each thread transforms its chunk's input into its own V, runs the
// 16 GEMMs on itself into its own M, and writes the chunk's outputs.

// Tiles per chunk: at most 1 KiB of V's rows (the GEMMs read them in place:
// gemm.cc, reads_b_in_place; chunk sizes were measured with that limit),
// and V and M together within kWinoChunkBytes.
constexpr std::size_t kWinoChunkBytes = std::size_t(4) << 20;

template <typename T>
struct WinoJob {
  const Conv2dShape* s;
  const T* x;
  const T* u;
  const T* bias;
  T* y;
  index_t cg, mg, th, tw, rows, chunks, items, ublock;
  std::atomic<index_t> next{0};
  std::atomic<bool> failed{false};  // a thread could not have its buffers
};

// This thread's V (16 x cg x nt) and M (16 x mg x nt) in its scratch; false
// when either cannot be had.
template <typename T>
bool wino_buffers(index_t cg, index_t mg, index_t nt, T** v, T** m) {
  ThreadScratch& sc = scratch();
  *v = static_cast<T*>(sc.a.get(sizeof(T) * std::size_t(16 * cg * nt)));
  *m = static_cast<T*>(sc.c.get(sizeof(T) * std::size_t(16 * mg * nt)));
  return *v != nullptr && *m != nullptr;
}

template <typename T>
void wino_task(void* ctx, int) {
  WinoJob<T>& j = *static_cast<WinoJob<T>*>(ctx);
  const Conv2dShape& s = *j.s;
  const Kernels<T>& ck = current_kernels<T>();
  const gemm::Kernels<T>& kern = gemm_kernels<T>();
  T *v, *m;
  if (!wino_buffers(j.cg, j.mg, j.rows * j.tw, &v, &m)) return;  // the caller's own were checked
  for (index_t i; !j.failed.load(std::memory_order_relaxed) && !stop_requested() &&
                  (i = j.next.fetch_add(1, std::memory_order_relaxed)) < j.items;) {
    const index_t chunk = i % j.chunks, job = i / j.chunks;
    const index_t b = job / s.groups, g = job % s.groups;
    const index_t ty0 = chunk * j.rows, ty1 = std::min(j.th, ty0 + j.rows), nt = (ty1 - ty0) * j.tw;
    ck.winoIn(s, j.x + (b * s.c + g * j.cg) * s.h * s.w, j.cg, ty0, ty1, j.tw, v, nt);
    const T* ug = j.u + g * 16 * j.ublock;
    for (index_t xi = 0; xi < 16; ++xi) {
      if (!gemm::gemm_prepacked_a<T>(kern, j.mg, nt, j.cg, ug + xi * j.ublock, v + xi * j.cg * nt, nt, 1,
                                     m + xi * j.mg * nt, nt, gemm::thread_buffers())) {
        j.failed.store(true, std::memory_order_relaxed);
        return;
      }
    }
    ck.winoOut(s, m, j.mg, ty0, ty1, j.tw, nt, j.bias == nullptr ? nullptr : j.bias + g * j.mg,
               j.y + (b * s.cout + g * j.mg) * s.oh * s.ow);
  }
}

// Where Winograd is faster than conv2d's own paths (3x3, against the path
// conv2d picks, time ratio), by channels per group and tiles per thread.
// One thread: 64 -> 64 on 56^2 0.71, 128 -> 128 on 28^2 0.64, 256 -> 256
// on 14^2 (49 tiles) 0.76; slower with few tiles or channels: 512 -> 512 on
// 7^2 (16 tiles) 1.26, 17 -> 19 on 33x35 1.05, 5 -> 3 on 9x11 3.1. Two
// threads: 0.81 and 0.82 on the first two, 1.12 on 256 -> 256 on 14^2 (25
// tiles each). (Measured with the weights repacked per chunk; stored packed
// since, the bench's ratios to conv2d are 0.58-0.70 on one thread and
// 0.66-0.81 on two.) Elsewhere conv2d's own path runs (with its bits).
bool winograd_pays(index_t cg, index_t mg, index_t tilesPerThread) {
  return cg >= 32 && mg >= 32 && tilesPerThread >= 36;
}

bool winograd_applies(const Conv2dShape& s) {
  return s.kh == 3 && s.kw == 3 && s.strideH == 1 && s.strideW == 1 && s.dilationH == 1 &&
         s.dilationW == 1;
}

template <typename T>
void winograd(const Conv2dShape& s, const T* x, const T* w, const T* u, const T* bias, T* y,
              const T* packed) {
  if (s.n == 0 || s.cout == 0 || s.oh == 0 || s.ow == 0) return;
  const index_t cg = s.c / s.groups, mg = s.cout / s.groups;
  const index_t th = (s.oh + 1) / 2, tw = (s.ow + 1) / 2;
  const index_t jobs = s.n * s.groups;
  const int threads = threads_for(double(jobs) * double(th * tw) * 16.0 * double(mg * cg));
  const Path forced = g_path.load(std::memory_order_relaxed);
  if (cg == 0 || (forced != Path::winograd &&
                  (forced != Path::automatic || !winograd_pays(cg, mg, jobs * th * tw / threads)))) {
    return run<T>(s, x, w, bias, y, packed);
  }
  const std::size_t perTile = sizeof(T) * std::size_t(16 * (cg + mg));
  index_t maxNt = index_t(1024 / sizeof(T));
  maxNt = std::min<index_t>(maxNt, index_t(kWinoChunkBytes / perTile));
  index_t rows = std::max<index_t>(1, maxNt / tw);
  // Enough items for the threads to share (two each where the image
  // allows), and chunks of equal height.
  index_t chunks = ceil_div(th, rows);
  if (threads > 1 && jobs * chunks < 2 * index_t(threads)) chunks = ceil_div(2 * index_t(threads), jobs);
  rows = ceil_div(th, std::min(chunks, th));
  WinoJob<T> job;
  job.s = &s;
  job.x = x;
  job.u = u;
  job.bias = bias;
  job.y = y;
  job.cg = cg;
  job.mg = mg;
  job.th = th;
  job.tw = tw;
  job.rows = std::min(rows, th);
  job.chunks = ceil_div(th, job.rows);
  job.items = jobs * job.chunks;
  job.ublock = gemm::packed_a_size(gemm_kernels<T>(), mg, cg);
  const index_t nt = job.rows * tw;
  T *v, *m;
  if (!wino_buffers(cg, mg, nt, &v, &m)) return run<T>(s, x, w, bias, y, packed);  // out of memory: conv2d's own paths
  const std::size_t yBytes = sizeof(T) * std::size_t(s.n * s.cout * s.oh * s.ow);
  ntensor::gemm::advise_huge_pages(y, yBytes);
  const int tasks = int(std::min<index_t>(threads, job.items));
  if (tasks <= 1) ntensor::gemm::populate_pages(y, yBytes);
  // The transformed weights were made with the layer (as gemm-t's packed ones): none per call.
  g_last = {"winograd", 0, sizeof(T) * std::size_t(16 * (cg + mg) * nt), tasks};
  parallel_run(tasks, wino_task<T>, &job);
  if (job.failed.load(std::memory_order_relaxed)) run<T>(s, x, w, bias, y, packed);  // out of memory: all of y again
}

// The transformed weights' layout: the GEMM's A packing (gemm.h:
// pack_a_whole) of the current ISA, its element size, MR and KC.
template <typename T>
std::int64_t winograd_layout() {
  const gemm::Blocking& bl = gemm_kernels<T>().blk;
  return (std::int64_t(sizeof(T)) << 32) | (std::int64_t(bl.mr) << 16) | std::int64_t(bl.kc);
}

template <typename T>
index_t winograd_size(index_t cout, index_t cg, index_t groups) {
  if (groups <= 0 || cout % groups != 0) return 0;
  return groups * 16 * gemm::packed_a_size(gemm_kernels<T>(), cout / groups, cg);
}

// U = G g G^T for each kernel g, G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
// computed in double and rounded once; U_xi of group g (mg x cg, element
// (co, ci)) packed as the GEMM's A operand (pack_a_whole) at
// u + (g * 16 + xi) * packed_a_size(mg, cg). False when the scratch
// matrices cannot be had.
template <typename T>
bool winograd_pack(const T* w, index_t cout, index_t cg, index_t groups, T* u) {
  const index_t mg = cout / groups;
  const gemm::Kernels<T>& kern = gemm_kernels<T>();
  const index_t block = gemm::packed_a_size(kern, mg, cg);
  std::vector<T> plain;
  try {
    plain.resize(std::size_t(16 * mg * cg));
  } catch (const std::bad_alloc&) {
    return false;
  }
  for (index_t g = 0; g < groups; ++g) {
    for (index_t co = 0; co < mg; ++co) {
      for (index_t ci = 0; ci < cg; ++ci) {
        const T* k = w + ((g * mg + co) * cg + ci) * 9;
        double t[4][3];
        for (int c = 0; c < 3; ++c) {
          const double a = k[c], b = k[3 + c], d = k[6 + c];
          t[0][c] = a;
          t[1][c] = 0.5 * (a + b + d);
          t[2][c] = 0.5 * (a - b + d);
          t[3][c] = d;
        }
        for (int r = 0; r < 4; ++r) {
          const double a = t[r][0], b = t[r][1], d = t[r][2];
          const double row[4] = {a, 0.5 * (a + b + d), 0.5 * (a - b + d), d};
          for (int c = 0; c < 4; ++c) plain[std::size_t(((r * 4 + c) * mg + co) * cg + ci)] = T(row[c]);
        }
      }
    }
    for (index_t xi = 0; xi < 16; ++xi) {
      gemm::pack_a_whole(kern, mg, cg, plain.data() + xi * mg * cg, cg, 1, u + (g * 16 + xi) * block);
    }
  }
  return true;
}

// The current packing layout (kernels.h: conv2d_pack_layout_*): the
// element size, NR (the micro-panels' width inside a block) and the tile's
// width (the block's), or 0 without a gemm-t kernel.
template <typename T>
std::int64_t pack_layout() {
  if (!gemmt_own<T>()) return 0;
  const Kernels<T>& ck = current_kernels<T>();
  return (std::int64_t(sizeof(T)) << 32) | (std::int64_t(gemm_kernels<T>().blk.nr) << 16) |
         std::int64_t(ck.pfNR);
}

template <typename T>
index_t pack_size(index_t cout, index_t k, index_t groups) {
  if (pack_layout<T>() == 0 || groups <= 0 || cout % groups != 0) return 0;
  const PackLayout pl(current_kernels<T>().pfNR, cout / groups, k);
  const index_t size = groups * pl.depths * pl.blocks * pl.block;
  // Past conv2d_packing_pays (a 1x1 depthwise layer: 137 GB for 16 MB of
  // weights) nothing is packed, and run() packs per call.
  return conv2d_packing_pays(double(size), double(cout) * double(k), sizeof(T)) ? size : 0;
}

template <typename T>
void pack_weights(const T* w, index_t cout, index_t k, index_t groups, T* dst) {
  if (pack_size<T>(cout, k, groups) == 0) return;
  const index_t mg = cout / groups;
  const PackLayout pl(current_kernels<T>().pfNR, mg, k);
  const gemm::Kernels<T>& kern = gemm_kernels<T>();
  for (index_t g = 0; g < groups; ++g) {
    for (index_t pc = 0; pc < k; pc += kConvPackKC) {
      for (index_t cb = 0; cb < pl.blocks; ++cb) {
        const index_t co0 = cb * pl.width;
        kern.packB(std::min(kConvPackKC, k - pc), std::min(pl.width, mg - co0),
                   w + (g * mg + co0) * k + pc, 1, k, dst + pl.at(g, pc, cb));
      }
    }
  }
}

}  // namespace

template <>
const Kernels<float>& current_kernels<float>() { return conv_isa().f32; }
template <>
const Kernels<double>& current_kernels<double>() { return conv_isa().f64; }
}  // namespace conv

void conv2d_f32(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                float* y, const float* packed) {
  conv::run<float>(s, x, w, bias, y, packed);
}
void conv2d_f64(const Conv2dShape& s, const double* x, const double* w, const double* bias,
                double* y, const double* packed) {
  conv::run<double>(s, x, w, bias, y, packed);
}

std::int64_t conv2d_pack_layout_f32() { return conv::pack_layout<float>(); }
std::int64_t conv2d_pack_layout_f64() { return conv::pack_layout<double>(); }
index_t conv2d_pack_size_f32(index_t cout, index_t k, index_t groups) {
  return conv::pack_size<float>(cout, k, groups);
}
index_t conv2d_pack_size_f64(index_t cout, index_t k, index_t groups) {
  return conv::pack_size<double>(cout, k, groups);
}
bool conv2d_winograd_applies(const Conv2dShape& s) { return conv::winograd_applies(s); }
std::int64_t conv2d_winograd_layout_f32() { return conv::winograd_layout<float>(); }
std::int64_t conv2d_winograd_layout_f64() { return conv::winograd_layout<double>(); }
index_t conv2d_winograd_size_f32(index_t cout, index_t cg, index_t groups) {
  return conv::winograd_size<float>(cout, cg, groups);
}
index_t conv2d_winograd_size_f64(index_t cout, index_t cg, index_t groups) {
  return conv::winograd_size<double>(cout, cg, groups);
}
bool conv2d_winograd_pack_f32(const float* w, index_t cout, index_t cg, index_t groups, float* u) {
  return conv::winograd_pack<float>(w, cout, cg, groups, u);
}
bool conv2d_winograd_pack_f64(const double* w, index_t cout, index_t cg, index_t groups, double* u) {
  return conv::winograd_pack<double>(w, cout, cg, groups, u);
}
void conv2d_winograd_f32(const Conv2dShape& s, const float* x, const float* w, const float* u,
                         const float* bias, float* y, const float* packed) {
  conv::winograd<float>(s, x, w, u, bias, y, packed);
}
void conv2d_winograd_f64(const Conv2dShape& s, const double* x, const double* w, const double* u,
                         const double* bias, double* y, const double* packed) {
  conv::winograd<double>(s, x, w, u, bias, y, packed);
}
void conv2d_pack_f32(const float* w, index_t cout, index_t k, index_t groups, float* dst) {
  conv::pack_weights<float>(w, cout, k, groups, dst);
}
void conv2d_pack_f64(const double* w, index_t cout, index_t k, index_t groups, double* dst) {
  conv::pack_weights<double>(w, cout, k, groups, dst);
}

const char* set_conv_path(const char* name) {
  using conv::Path;
  static const struct {
    const char* name;
    Path path;
  } modes[] = {{"auto", Path::automatic},
               {"reference", Path::reference},
               {"direct", Path::direct},
               {"gemm", Path::gemm},
               {"gemm-t", Path::gemmt},
               {"direct-t", Path::directt},
               {"pointwise", Path::pointwise},
               {"winograd", Path::winograd}};
  if (name == nullptr) return nullptr;
  for (const auto& m : modes) {
    if (!std::strcmp(name, m.name)) {
      conv::g_path.store(m.path, std::memory_order_relaxed);
      return m.name;
    }
  }
  return nullptr;
}

Conv2dCallInfo conv2d_last_call() { return conv::g_last; }

}  // namespace ntensor
