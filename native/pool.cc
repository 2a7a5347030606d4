// 2-D max and average pooling (kernels.h: Pool2dShape), with the rules of
// PyTorch's CPU kernels for contiguous N-C-H-W input (1.13's cpu_max_pool
// and cpu_avg_pool): max pooling walks the window's rows and columns that
// lie in the input, `dilation` apart, from -inf, taking an element when it
// is greater or NaN (so NaN propagates and the padding, never read, acts as
// -inf); average pooling sums the window's real elements from 0 in
// ascending (row, column) order and divides once, by the divisor override,
// the window clipped to the padded input, or its real elements. Plain loops:
// pooling reads each input element about (KH / strideH) * (KW / strideW)
// times and is memory-bound.
#include <cmath>
#include <limits>

#include "kernels.h"
#include "threadpool.h"

namespace ntensor {
namespace {

inline index_t max_i(index_t a, index_t b) { return a > b ? a : b; }
inline index_t min_i(index_t a, index_t b) { return a < b ? a : b; }

// The first in-range position of a window starting at `start`, `step` apart
// (start + k * step >= 0), as PyTorch's `while (start < 0) start += step`.
inline index_t first_inside(index_t start, index_t step) {
  return start >= 0 ? start : start + (-start + step - 1) / step * step;
}

template <typename T>
void max_plane(const Pool2dShape& s, const T* in, T* out) {
  for (index_t oy = 0; oy < s.oh; ++oy) {
    const index_t y0 = oy * s.strideH - s.padH;
    const index_t ya = first_inside(y0, s.dilationH), yb = min_i(y0 + (s.kh - 1) * s.dilationH + 1, s.h);
    T* o = out + oy * s.ow;
    for (index_t ox = 0; ox < s.ow; ++ox) {
      const index_t x0 = ox * s.strideW - s.padW;
      const index_t xa = first_inside(x0, s.dilationW), xb = min_i(x0 + (s.kw - 1) * s.dilationW + 1, s.w);
      T acc = -std::numeric_limits<T>::infinity();
      for (index_t iy = ya; iy < yb; iy += s.dilationH) {
        const T* row = in + iy * s.w;
        for (index_t ix = xa; ix < xb; ix += s.dilationW) {
          const T v = row[ix];
          if (v > acc || std::isnan(v)) acc = v;
        }
      }
      o[ox] = acc;
    }
  }
}

template <typename T>
void avg_plane(const Pool2dShape& s, const T* in, T* out) {
  for (index_t oy = 0; oy < s.oh; ++oy) {
    const index_t y0 = oy * s.strideH - s.padH, y1 = min_i(y0 + s.kh, s.h + s.padH);
    const index_t ya = max_i(y0, 0), yb = min_i(y1, s.h);
    T* o = out + oy * s.ow;
    for (index_t ox = 0; ox < s.ow; ++ox) {
      const index_t x0 = ox * s.strideW - s.padW, x1 = min_i(x0 + s.kw, s.w + s.padW);
      const index_t xa = max_i(x0, 0), xb = min_i(x1, s.w);
      T acc = T(0);
      for (index_t iy = ya; iy < yb; ++iy) {
        const T* row = in + iy * s.w;
        for (index_t ix = xa; ix < xb; ++ix) acc += row[ix];
      }
      const index_t divide = s.divisor != 0 ? s.divisor
                             : s.countIncludePad ? (y1 - y0) * (x1 - x0)
                                                 : (yb - ya) * (xb - xa);
      o[ox] = acc / T(divide);
    }
  }
}

template <typename T, bool Max>
void pool_plane(const Pool2dShape& s, const T* in, T* out) {
  if constexpr (Max) {
    max_plane(s, in, out);
  } else {
    avg_plane(s, in, out);
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
