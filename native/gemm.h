// Internal GEMM machinery shared by the driver (gemm.cc) and the per-ISA
// kernel files (gemm_scalar.cc, gemm_avx2.cc, gemm_avx512.cc). Plain C++,
// nothing here knows about Node.
//
// Structure (BLIS/Goto, written for row-major C whose rows are the vector
// direction): C (m x n) is cut into NC-wide column blocks (loop 5); the
// reduction into KC-deep blocks (loop 4), for which a KC x NC block of op(B)
// is packed into NR-wide micro-panels (meant to stay in L2); the rows into
// MC-high blocks (loop 3), for which an MC x KC block of op(A) is packed into
// MR-high micro-panels; then loop 2 walks the A micro-panels (each stays in
// L1 while) loop 1 walks the B micro-panels, and the micro-kernel computes
// one MR x NR tile of C in registers: per k it loads NR/vector-width vectors
// of B and broadcasts MR scalars of A, one FMA per (row, vector).
//
// Packed layouts (both 64-byte aligned at the start of each block):
//   A micro-panel: kc x MR, element (i, p) at [p * MR + i], rows past the
//                  matrix edge are zero.
//   B micro-panel: kc x NR, element (p, j) at [p * NR + j], columns past the
//                  edge are zero.
// Zero padding is never along k: every accumulator takes exactly the k
// products of its own output element, in ascending k (kernels.h).
#pragma once
#include <cstddef>

#include "kernels.h"

namespace ntensor {
namespace gemm {

// Register and cache blocking of one (ISA, dtype): data, not code.
struct Blocking {
  int mr, nr;      // micro-tile (registers)
  int mc, kc, nc;  // cache blocks: A block mc x kc, B block kc x nc
  int small;       // products of up to small^3 multiply-adds with B's rows
                   // contiguous take the small path (no packing, no threads)
};

// How a micro-kernel starts and ends (see the contract in kernels.h).
//   loadC: accumulators start from C's current values (the partial sums of
//          earlier KC blocks) instead of 0.
//   at the end: C = beta == 0 ? alpha * acc : fma(alpha, acc, beta * C),
//          and alpha == 1, beta == 0 stores the accumulators unchanged.
// Only the first mr rows and nr columns of the tile are read or written.
template <typename T>
using MicroKernel = void (*)(index_t kc, const T* A, const T* B, T* C,
                             index_t ldc, int mr, int nr, bool loadC, T alpha,
                             T beta);

// Packs rows [0, mc) x depth [0, kc) of op(A) into MR-high micro-panels.
// src points at op(A)(0, 0); element (i, p) is src[i * rs + p * cs].
template <typename T>
using PackA = void (*)(index_t mc, index_t kc, const T* src, index_t rs,
                       index_t cs, T* dst);
// Packs depth [0, kc) x columns [0, nc) of op(B) into NR-wide micro-panels.
// Element (p, j) is src[p * rs + j * cs].
template <typename T>
using PackB = void (*)(index_t kc, index_t nc, const T* src, index_t rs,
                       index_t cs, T* dst);
// The no-packing, no-allocation path for small products (same contract),
// over general strides: op(A)(i, p) = A[i * ars + p * acs], op(B)(p, j) =
// B[p * brs + j * bcs].
template <typename T>
using SmallGemm = void (*)(index_t m, index_t n, index_t k, T alpha, const T* A,
                           index_t ars, index_t acs, const T* B, index_t brs,
                           index_t bcs, T beta, T* C, index_t ldc);

// Matrix-vector products (m == 1 or n == 1), memory-bound: every element of
// the matrix operand M is read once. Same contract: each output element is
// one accumulator from +0 taking its k products in ascending p, one FMA
// each; then out = finish(acc) as in the small path (beta == 0: alpha * acc,
// else fma(alpha, acc, beta * out), over the whole k, no KC blocks).
// Axpy form, the output direction contiguous in M's rows (m == 1 with op(B)
// not transposed, n == 1 with op(A) transposed); vectorised over j, M's
// rows streamed in ascending p:
//   out[j * os] (j in [0, n)) = sum_p s[p * ss] * M[p * ld + j]
// Dot form, each output's k products contiguous in M (n == 1 with op(A) not
// transposed, m == 1 with op(B) transposed); vector lanes are outputs (a
// block of M's rows transposed in registers), k stays sequential per lane:
//   out[i * os] (i in [0, m)) = sum_p M[i * ld + p] * s[p * ss]
// Require k > 0 and alpha != 0.
template <typename T>
using GemvAxpy = void (*)(index_t n, index_t k, T alpha, const T* s, index_t ss, const T* M,
                          index_t ld, T beta, T* out, index_t os);
template <typename T>
using GemvDot = void (*)(index_t m, index_t k, T alpha, const T* M, index_t ld, const T* s,
                         index_t ss, T beta, T* out, index_t os);

// The micro-kernel with op(B) read in place instead of from a packed
// micro-panel: row p of the tile's B (nr <= NR contiguous elements) at
// B + p * ldb, nothing read past column nr. Otherwise as MicroKernel. For
// shapes whose B panels are reused by few A panels (m <= MC) and whose rows
// are short (gemm.cc), where packing B costs about as much as using it.
// Optional (nullptr: always pack).
template <typename T>
using MicroKernelDirect = void (*)(index_t kc, const T* A, const T* B, index_t ldb, T* C,
                                   index_t ldc, int mr, int nr, bool loadC, T alpha, T beta);

template <typename T>
struct Kernels {
  Blocking blk;
  MicroKernel<T> ukernel;
  PackA<T> packA;
  PackB<T> packB;
  SmallGemm<T> small;
  GemvAxpy<T> gemvAxpy;
  GemvDot<T> gemvDot;
  MicroKernelDirect<T> ukernelDirect;
};

// Everything one instruction set provides.
struct Isa {
  const char* name;  // "avx512", "avx2", "neon" or "scalar"
  int level;         // avx512 2, avx2 or neon 1, scalar 0: an ISA can be forced down, never up
  Kernels<float> f32;
  Kernels<double> f64;
  // Register-only FMA loop (the ISA's one-thread peak): runs iters steps,
  // sets *flops, returns a checksum.
  double (*fmaLoop)(bool f64, long iters, double* flops);
};

// Defined in the per-ISA files. The avx2/avx512 tables exist only on x86-64
// and may only be used when the CPU (and OS) support them.
extern const Isa isa_scalar;
#if defined(__x86_64__) || defined(_M_X64)
extern const Isa isa_avx2;
extern const Isa isa_avx512;
#endif
#if defined(__aarch64__)
extern const Isa isa_neon;
#endif

// The ISA every GEMM call uses now (chosen once from the CPU and
// NTENSOR_ISA; tests may change it with set_isa in kernels.h).
const Isa& current_isa();

// One thread's packing buffers, allocated on first use, grown when a larger
// block is needed and reused by every later call on that thread.
struct PackBuffers {
  void* a = nullptr;
  std::size_t aBytes = 0;
  void* b = nullptr;
  std::size_t bBytes = 0;
  ~PackBuffers();
  void* getA(std::size_t bytes);
  void* getB(std::size_t bytes);
};
PackBuffers& thread_buffers();

// The packed path on one thread, over a sub-problem: C (m x n) =
// alpha * op(A) (m x k) * op(B) (k x n) + beta * C, where element (i, p) of
// op(A) is A[i * ars + p * acs] and element (p, j) of op(B) is
// B[p * brs + j * bcs]. Requires k > 0 and alpha != 0. This is the
// packing-friendly entry point for other ops built on GEMM (convolution).
template <typename T>
void gemm_packed(const Kernels<T>& kern, index_t m, index_t n, index_t k,
                 T alpha, const T* A, index_t ars, index_t acs, const T* B,
                 index_t brs, index_t bcs, T beta, T* C, index_t ldc,
                 PackBuffers& buf);

// op(A) (m x k, element (i, p) at A[i * ars + p * acs]) packed ahead for
// gemm_prepacked_a under this ISA's blocking (MR, KC: its layout): for each
// KC-deep block at depth pc, all m rows as MR-high micro-panels from
// dst + round_up(m, MR) * pc, packed_a_size elements in all.
template <typename T>
index_t packed_a_size(const Kernels<T>& kern, index_t m, index_t k);
template <typename T>
void pack_a_whole(const Kernels<T>& kern, index_t m, index_t k, const T* A, index_t ars,
                  index_t acs, T* dst);
// gemm_packed's C = op(A) * op(B) (alpha 1, beta 0, k > 0) on one thread
// with op(A) packed by pack_a_whole under the same kernels; false (C not
// written) when B's packing buffer cannot be had.
template <typename T>
bool gemm_prepacked_a(const Kernels<T>& kern, index_t m, index_t n, index_t k, const T* Ap,
                      const T* B, index_t brs, index_t bcs, T* C, index_t ldc, PackBuffers& buf);

// Faults in the missing pages of an output of 128 KiB or more that one
// thread is about to write whole (mincore, then MADV_POPULATE_WRITE over
// the runs of missing pages; a no-op where unsupported).
void populate_pages(void* p, std::size_t bytes);

// The 2 MiB pages advise_huge_pages asks for.
constexpr std::size_t kHugePageBytes = std::size_t(2) << 20;

// Asks for 2 MiB pages (MADV_HUGEPAGE) over the whole 2 MiB pages inside an
// output of 2 MiB or more about to be written whole; a hint only.
void advise_huge_pages(void* p, std::size_t bytes);

// The bytes from p to the next 2 MiB boundary (0 if p is on one): where
// lib/dtype.ts starts a large new output inside its buffer.
std::size_t huge_page_offset(const void* p);

}  // namespace gemm
}  // namespace ntensor
