// 2-D max and average pooling (kernels.h: Pool2dShape, with the rules of
// PyTorch's CPU kernels for contiguous N-C-H-W input, 1.13's cpu_max_pool
// and cpu_avg_pool): threads over the N * C planes; each plane is the
// current ISA's kernel (conv.h: PoolPlaneFn, in conv_generic.inc: vectors
// across output columns, every lane in the contract's order).
#include "conv.h"
#include "kernels.h"
#include "threadpool.h"

namespace ntensor {
namespace {

template <typename T, bool Max>
struct PoolJob {
  const Pool2dShape* s;
  const T* x;
  T* y;
  index_t planes;
  int tasks;
  conv::PoolPlaneFn<T> plane;
};


template <typename T, bool Max>
void pool_task(void* ctx, int t) {
  const auto& j = *static_cast<const PoolJob<T, Max>*>(ctx);
  const index_t lo = j.planes * t / j.tasks, hi = j.planes * (t + 1) / j.tasks;
  const index_t in = j.s->h * j.s->w, out = j.s->oh * j.s->ow;
  if (hi > lo) j.plane(*j.s, j.x + lo * in, j.y + lo * out, hi - lo);
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
  const conv::Kernels<T>& k = conv::current_kernels<T>();
  PoolJob<T, Max> job{&s, x, y, planes, int(tasks), Max ? k.maxPool : k.avgPool};
  parallel_run(int(tasks), pool_task<T, Max>, &job);
}

}  // namespace

void max_pool2d_f32(const Pool2dShape& s, const float* x, float* y) { pool2d<float, true>(s, x, y); }
void max_pool2d_f64(const Pool2dShape& s, const double* x, double* y) { pool2d<double, true>(s, x, y); }
void avg_pool2d_f32(const Pool2dShape& s, const float* x, float* y) { pool2d<float, false>(s, x, y); }
void avg_pool2d_f64(const Pool2dShape& s, const double* x, double* y) { pool2d<double, false>(s, x, y); }

}  // namespace ntensor
