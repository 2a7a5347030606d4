// The addon's one thread pool per process, shared by every JS environment
// (main thread and worker_threads). Plain C++; nothing here knows about Node.
//
// - Sized to the CPUs this process may run on (sched_getaffinity), or
//   NTENSOR_NUM_THREADS, or set_num_threads(n). The count includes the
//   calling thread: n threads means the caller plus n - 1 pool workers.
// - Workers are created lazily, on the first parallel call that needs them,
//   and never exit. Tasks are taken in order by whichever thread is free;
//   a worker that wakes after every task is taken stays out, and the call
//   does not wait for it. While its region runs, a worker that has finished
//   and the waiting caller poll (yielding the CPU; at most 5 ms); after it,
//   a worker polls for 30 us, then sleeps on a condition variable: nothing
//   spins once a call returns beyond that.
// - The pool is allocated once and deliberately never destroyed, so nothing
//   runs at process exit (no joins, no destroyed mutex a worker still
//   holds); the threads are plain OS threads, which never keep a process
//   alive. The shared library is linked -z nodelete so the workers' code
//   stays mapped even if a worker_threads environment unloads the addon.
// - A sleeping worker is woken with the owner's CPU taken out of its
//   affinity mask for the moment (it restores the mask on waking): else
//   Linux, seeing no cache shared between the CPUs (as in VMs), may wake it
//   on the owner's CPU, where it waits behind the owner's work for the rest
//   of the owner's time slice (1.5-3.7 ms measured here). A worker that
//   still finds itself on the owner's CPU (a spinning one) moves to another
//   allowed CPU at once (leave_cpu): the scheduler can put them on one CPU
//   for tens of milliseconds after the pool has been idle.
// - One parallel region at a time: a caller that finds the pool busy (a
//   GEMM running on another JS thread) runs its tasks itself, in order.
// - In async work (regions started inside a LongSliceScope) the workers ask
//   the scheduler for a long time slice, so the JS thread, which sleeps most
//   of the time, runs at once when it wakes instead of at the next
//   scheduler tick; in sync calls they keep their own.
#pragma once

namespace ntensor {

// One pause in a spin-wait loop (x86's pause; a no-op elsewhere).
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

// Upper bound accepted by set_num_threads.
constexpr int kMaxThreads = 256;

int get_num_threads();
// NTENSOR_NUM_THREADS as the pool found it when it was made, if that was not
// an integer from 1 to kMaxThreads (spaces around it allowed), so that the
// CPU count was used instead; nullptr if it was unset or used.
const char* ignored_threads_env();
// n is clamped to [1, kMaxThreads].
void set_num_threads(int n);

// Runs fn(ctx, t) for every t in [0, ntasks) and returns when all are done:
// on up to get_num_threads() threads, the caller included, each taking the
// next task in order as it comes free (the caller takes t = 0). A worker
// that wakes after every task is taken stays out, and the call does not
// wait for it. So a task may wait for an earlier one to make progress,
// never for a later one. If the pool is busy (another thread's region) or
// ntasks <= 1, the caller runs all tasks itself, in order. fn must not
// throw.
void parallel_run(int ntasks, void (*fn)(void* ctx, int t), void* ctx);

// Stopping a call's work early (async jobs: async.h's Cancellation derives
// from StopFlag). While a StopScope lives on a thread, stop_requested()
// reports its flag there and in the pool tasks of the regions that thread
// starts; elsewhere it is false. The kernels' loops that take independent
// items from a shared counter (gemm.cc, conv.cc) poll it before taking the
// next item and stop taking any once it is true: every item taken is still
// finished, so no thread waits for one that was never taken; the output
// then holds unspecified values. Loops that do not poll run to the end.
class StopFlag {
 public:
  virtual bool requested() const = 0;

 protected:
  ~StopFlag() = default;
};

class StopScope {
 public:
  explicit StopScope(const StopFlag* flag);
  ~StopScope();
  StopScope(const StopScope&) = delete;
  StopScope& operator=(const StopScope&) = delete;

 private:
  const StopFlag* saved_;
};

bool stop_requested();

// If the calling thread runs on `cpu` (sched_getcpu) and may run on others,
// moves it to one of those now: its affinity is narrowed to exclude `cpu`
// (the kernel migrates a running thread out of a mask it no longer fits)
// and restored straight after (which leaves it where it is). A pool worker
// calls it with the CPU its region's owner started on: see threadpool.cc for
// why the scheduler may put them on one CPU. Linux only; a no-op elsewhere.
void leave_cpu(int cpu);

// Test hook: how many times a sleeping pool worker was woken for a region it
// took part in, and how many of those wake-ups found it on the CPU the
// region's owner started on (before leave_cpu; Linux keeps the owner's CPU
// out of a sleeping worker's mask for the wake-up, so none should); and how
// many times one was woken for a region it had no part in (a call wakes
// only the workers it uses, so only a region published while it woke).
void pool_wake_stats(long* slept, long* onOwnerCpu, long* notNeeded);

// Test hook: puts the calling thread on the first CPU of its affinity mask,
// calls leave_cpu with it, and reports the CPU before and after and whether
// the mask is what it was. False (nothing changed) where it cannot be
// checked: not Linux, or fewer than 2 CPUs allowed.
bool check_leave_cpu(int* from, int* to, bool* maskKept);

// Compute threads and the JS event loop on few cores. Linux's EEVDF
// scheduler (6.6+) lets a running thread finish its protected slice before a
// thread that wakes up with the same slice length may run: with every core
// in a GEMM, the JS thread's 1 ms timer then waits for the next scheduler
// tick (4 ms at HZ=250). Since 6.12 a thread may ask for a longer slice
// (sched_setattr's sched_runtime for SCHED_OTHER, no privilege needed, the
// same weight and nice value), and a waking thread with a shorter slice
// preempts it at once (PREEMPT_SHORT). A thread that runs async work (a
// libuv thread in async.cc) takes the long slice for the scope's lifetime
// and then gets its own back; the workers taking part in the regions it
// starts switch to the long slice too, and back to their own when they next
// serve a sync call (a syscall only when that changes). The JS thread and
// sync calls are left as they are. Length: NTENSOR_WORKER_SLICE_MS (1-100
// ms, 0 = leave the scheduler alone), default kDefaultSliceMs. On older
// kernels or other policies (real-time, SCHED_IDLE, DEADLINE) nothing
// changes; errors are ignored.
constexpr int kDefaultSliceMs = 20;

// The long slice in ms for this process (0 = off), read once.
int worker_slice_ms();

class LongSliceScope {
 public:
  LongSliceScope();
  ~LongSliceScope();
  LongSliceScope(const LongSliceScope&) = delete;
  LongSliceScope& operator=(const LongSliceScope&) = delete;

 private:
  unsigned long long saved_ = 0;  // the thread's sched_runtime before
  bool changed_ = false;          // restore saved_ at the end
  bool active_ = false;           // the thread's outermost scope
};

}  // namespace ntensor
