// The addon's one thread pool per process, shared by every JS environment
// (main thread and worker_threads). Plain C++; nothing here knows about Node.
//
// - Sized to the CPUs this process may run on (sched_getaffinity), or
//   NTENSOR_NUM_THREADS, or set_num_threads(n). The count includes the
//   calling thread: n threads means the caller plus n - 1 pool workers.
// - Workers are created lazily, on the first parallel call that needs them,
//   and never exit. After a task they spin briefly (tens of microseconds),
//   then sleep on a condition variable: nothing spins once a call returns.
// - The pool is allocated once and deliberately never destroyed, so nothing
//   runs at process exit (no joins, no destroyed mutex a worker still
//   holds); the threads are plain OS threads, which never keep a process
//   alive. The shared library is linked -z nodelete so the workers' code
//   stays mapped even if a worker_threads environment unloads the addon.
// - One parallel region at a time: a caller that finds the pool busy (a
//   GEMM running on another JS thread) runs its tasks itself, in order.
#pragma once

namespace ntensor {

// Upper bound accepted by set_num_threads.
constexpr int kMaxThreads = 256;

int get_num_threads();
// n is clamped to [1, kMaxThreads].
void set_num_threads(int n);

// Runs fn(ctx, t) for every t in [0, ntasks) and returns when all are done:
// on up to get_num_threads() threads, the caller included (the caller runs
// t = 0; with P threads taking part, thread i runs t = i, i + P, ...). If
// the pool is busy (another thread's region) or ntasks <= 1, the caller
// runs all tasks itself, in order. fn must not throw.
void parallel_run(int ntasks, void (*fn)(void* ctx, int t), void* ctx);

}  // namespace ntensor
