// 2-D max and average pooling (kernels.h: Pool2dShape), with the rules of
// PyTorch's CPU kernels for contiguous N-C-H-W input: max pooling starts from
// -inf, takes an element when it is greater or NaN (so NaN propagates and
// the padding, never read, acts as -inf); average pooling sums the window's
// real elements from 0 in ascending (row, column) order and divides by
// KH * KW (count_include_pad = true; with ceil_mode false every window lies
// inside the padded input). Plain loops: pooling reads each input element
// about (KH / strideH) * (KW / strideW) times and is memory-bound; the
// interior rows, where no column is clipped, are written so the compiler
// vectorises them for unit stride.
#include <cmath>
#include <limits>

#include "kernels.h"
#include "threadpool.h"

namespace ntensor {
namespace {

inline index_t max_i(index_t a, index_t b) { return a > b ? a : b; }
inline index_t min_i(index_t a, index_t b) { return a < b ? a : b; }

template <typename T, bool Max>
void pool_plane(const Pool2dShape& s, const T* in, T* out) {
  const T divisor = T(s.kh * s.kw);
  for (index_t oy = 0; oy < s.oh; ++oy) {
    const index_t y0 = oy * s.strideH - s.padH;
    const index_t ya = max_i(y0, 0), yb = min_i(y0 + s.kh, s.h);
    T* o = out + oy * s.ow;
    for (index_t ox = 0; ox < s.ow; ++ox) {
      const index_t x0 = ox * s.strideW - s.padW;
      const index_t xa = max_i(x0, 0), xb = min_i(x0 + s.kw, s.w);
      T acc = Max ? -std::numeric_limits<T>::infinity() : T(0);
      for (index_t iy = ya; iy < yb; ++iy) {
        const T* row = in + iy * s.w;
        for (index_t ix = xa; ix < xb; ++ix) {
          const T v = row[ix];
          if (Max) {
            if (v > acc || std::isnan(v)) acc = v;
          } else {
            acc += v;
          }
        }
      }
      o[ox] = Max ? acc : acc / divisor;
    }
  }
}

template <typename T, bool Max>
struct PoolJob {
  const Pool2dShape* s;
  const T* x;
  T* y;
  index_t planes;
  int tasks;
};

template <typename T, bool Max>
void pool_task(void* ctx, int t) {
  const auto& j = *static_cast<const PoolJob<T, Max>*>(ctx);
  const index_t lo = j.planes * t / j.tasks, hi = j.planes * (t + 1) / j.tasks;
  const index_t in = j.s->h * j.s->w, out = j.s->oh * j.s->ow;
  for (index_t p = lo; p < hi; ++p) pool_plane<T, Max>(*j.s, j.x + p * in, j.y + p * out);
}

template <typename T, bool Max>
void pool2d(const Pool2dShape& s, const T* x, T* y) {
  const index_t planes = s.n * s.c;
  if (planes == 0 || s.oh == 0 || s.ow == 0) return;
  // Threads over planes, each with enough work to be worth waking a worker.
  const double work = double(planes) * double(s.oh * s.ow) * double(s.kh * s.kw);
  index_t tasks = get_num_threads();
  if (tasks > planes) tasks = planes;
  if (work < 1 << 17) tasks = 1;
  PoolJob<T, Max> job{&s, x, y, planes, int(tasks)};
  parallel_run(int(tasks), pool_task<T, Max>, &job);
}

}  // namespace

void max_pool2d_f32(const Pool2dShape& s, const float* x, float* y) { pool2d<float, true>(s, x, y); }
void max_pool2d_f64(const Pool2dShape& s, const double* x, double* y) { pool2d<double, true>(s, x, y); }
void avg_pool2d_f32(const Pool2dShape& s, const float* x, float* y) { pool2d<float, false>(s, x, y); }
void avg_pool2d_f64(const Pool2dShape& s, const double* x, double* y) { pool2d<double, false>(s, x, y); }

}  // namespace ntensor
