// See threadpool.h. Written on raw pthreads rather than std::thread /
// std::condition_variable: the shipped binary must keep needing only old
// symbol versions of glibc and libstdc++ (README: objdump -T), and
// libstdc++ 12's condition_variable::wait and glibc 2.34's pthread_create
// carry new ones.
#include "threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <thread>

#if defined(__linux__)
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

// glibc 2.34 moved pthread_create into libc under a new version; bind to the
// original one, which every glibc for the architecture provides (so the
// prebuilds load on older distributions). Not in a static executable
// (NTENSOR_STATIC_LINK, test:neon's checker): static libc has no versions.
#if defined(__GLIBC__) && !defined(NTENSOR_STATIC_LINK)
#if defined(__x86_64__)
__asm__(".symver pthread_create,pthread_create@GLIBC_2.2.5");
#elif defined(__aarch64__)
__asm__(".symver pthread_create,pthread_create@GLIBC_2.17");
#endif
#endif

namespace ntensor {
namespace {

// How long a worker keeps polling for the next region after the last one it
// took part in has ended, before it sleeps.
constexpr auto kSpin = std::chrono::microseconds(30);
// While the region is still running, the caller waiting for the workers and
// a worker that has finished its share keep polling (giving the CPU to any
// other runnable thread between polls after the first kSpin) for up to
// kRegionSpin before they sleep. A sleeping thread's CPU halts, and on a VM
// a halted virtual CPU can take milliseconds to run again when woken (2-3.5
// ms on stop 18's machine), which a 6 ms product then waits for: the next
// region's start for a worker, this region's end for the caller. Nothing
// polls once the caller has returned, beyond a worker's kSpin.
constexpr auto kRegionSpin = std::chrono::milliseconds(5);

int clamp_threads(long n) {
  return n < 1 ? 1 : n > kMaxThreads ? kMaxThreads : static_cast<int>(n);
}

// NTENSOR_NUM_THREADS's value when the pool was made, if it was ignored.
std::string g_ignored_env;
bool g_env_ignored = false;

// NTENSOR_NUM_THREADS as setNumThreads takes its argument: an integer from 1
// to kMaxThreads (decimal digits, spaces around them allowed). 0: not set
// (or blank); -1: set to anything else, which is ignored (and reported by
// ignored_threads_env).
long env_threads() {
  const char* env = std::getenv("NTENSOR_NUM_THREADS");
  if (env == nullptr) return 0;
  const char* p = env;
  while (*p == ' ' || *p == '\t') ++p;
  if (*p == '\0') return 0;  // empty or blank: as if unset
  long v = 0;
  int digits = 0;
  for (; *p >= '0' && *p <= '9'; ++p, ++digits) {
    v = v * 10 + (*p - '0');
    if (v > kMaxThreads) v = kMaxThreads + 1;  // too large, and no overflow
  }
  while (*p == ' ' || *p == '\t') ++p;
  return digits > 0 && *p == '\0' && v >= 1 && v <= kMaxThreads ? v : -1;
}

int default_threads() {
  long n = 0;
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
#endif
  if (n <= 0) n = static_cast<long>(std::thread::hardware_concurrency());
  const long v = env_threads();
  if (v > 0) n = v;
  if (v < 0) {
    g_ignored_env = std::getenv("NTENSOR_NUM_THREADS");  // a copy: Node's process.env writes call setenv
    g_env_ignored = true;
  }  // a copy: Node's process.env writes setenv
  return clamp_threads(n);
}

// ---- where a woken worker runs (threadpool.h: leave_cpu) ----
// Linux places a woken thread near its waker, looking for an idle CPU only
// among those sharing the waker's last-level cache. Where the kernel sees no
// shared cache (VMs that report no cache topology, such as Firecracker's; a
// pool wider than one CCX), a worker woken after the pool has been idle for
// ~100 ms or more often lands on the owner's CPU while another sits idle, and
// the two share that CPU until the load balancer separates them tens of
// milliseconds later: a 2-thread GEMM runs at 1-thread speed (RESULTS.md,
// stop 18). A worker that finds itself on the owner's CPU therefore moves
// off it at once (leave_cpu).
int current_cpu() {
#if defined(__linux__)
  return sched_getcpu();
#else
  return -1;
#endif
}

// ---- scheduler slices (threadpool.h: LongSliceScope) ----
#if defined(__linux__) && defined(SYS_sched_setattr) && defined(SYS_sched_getattr)
// struct sched_attr as of Linux 3.14 (SCHED_ATTR_SIZE_VER0, 48 bytes), which
// every kernel with the calls accepts; glibc only wraps them from 2.41 on.
struct SchedAttr {
  std::uint32_t size;
  std::uint32_t policy;
  std::uint64_t flags;
  std::int32_t nice;
  std::uint32_t priority;
  std::uint64_t runtime;
  std::uint64_t deadline;
  std::uint64_t period;
};
static_assert(sizeof(SchedAttr) == 48, "struct sched_attr, version 0");
constexpr std::uint32_t kSchedOther = 0, kSchedBatch = 3;
constexpr std::uint64_t kResetOnFork = 1;  // SCHED_FLAG_RESET_ON_FORK

// The calling thread's slice request (sched_runtime, ns) in *ns. False if it
// cannot be read or the policy is not SCHED_OTHER or SCHED_BATCH.
bool get_slice(std::uint64_t* ns) {
  SchedAttr a{};
  if (syscall(SYS_sched_getattr, 0, &a, sizeof a, 0) != 0) return false;
  if (a.policy != kSchedOther && a.policy != kSchedBatch) return false;
  *ns = a.runtime;
  return true;
}

// Sets the calling thread's slice to `ns`, keeping its policy, nice value
// and reset-on-fork flag (clearing that would need privilege). True if the
// thread now has that slice request.
bool set_slice(std::uint64_t ns) {
  SchedAttr a{};
  if (syscall(SYS_sched_getattr, 0, &a, sizeof a, 0) != 0) return false;
  if (a.policy != kSchedOther && a.policy != kSchedBatch) return false;
  if (a.runtime == ns) return true;
  a.size = sizeof a;
  a.flags &= kResetOnFork;
  a.runtime = ns;
  a.deadline = 0;
  a.period = 0;
  return syscall(SYS_sched_setattr, 0, &a, 0) == 0;
}
#else
bool get_slice(std::uint64_t*) { return false; }
bool set_slice(std::uint64_t) { return false; }
#endif

int read_slice_ms() {
  long ms = kDefaultSliceMs;
  if (const char* env = std::getenv("NTENSOR_WORKER_SLICE_MS")) {
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && v >= 0) ms = v > 100 ? 100 : v;
  }
  return static_cast<int>(ms);
}

std::uint64_t slice_ns() { return static_cast<std::uint64_t>(worker_slice_ms()) * 1000000u; }

// The calling thread is inside a LongSliceScope: the regions it starts are
// async work, and their workers take the long slice too.
thread_local bool t_long_slice = false;

// The StopFlag of the calling thread's StopScope, or of the region this
// pool worker is running tasks for (threadpool.h).
thread_local const StopFlag* t_stop = nullptr;

// region_: generation << 32 | kClosed | workers inside (see Pool).
constexpr std::uint64_t kClosed = std::uint64_t{1} << 31;
constexpr std::uint64_t kInsideMask = kClosed - 1;

// job_: generation << 16 | kLongSliceBit (the region is async work) |
// number of participating workers (at most kMaxThreads - 1).
constexpr std::uint64_t kLongSliceBit = std::uint64_t{1} << 15;
constexpr std::uint64_t kPartsMask = kLongSliceBit - 1;
static_assert(kMaxThreads <= kLongSliceBit, "worker count fits below the flag");

class Pool {
 public:
  std::atomic<int> numThreads{default_threads()};
  // Wake-ups of a sleeping worker for a region it takes part in, and how
  // many of them found it on the region owner's CPU (pool_wake_stats).
  std::atomic<long> sleptWakes{0}, wokeOnOwnerCpu{0};
  // Wake-ups of a sleeping worker for a region it had no part in (only a
  // newer region published while it woke; pool_wake_stats).
  std::atomic<long> sleptIdle{0};

  void run(int ntasks, void (*fn)(void*, int), void* ctx) {
    // One region at a time; a second caller does its own work.
    if (busy_.exchange(true, std::memory_order_acquire)) {
      for (int t = 0; t < ntasks; ++t) fn(ctx, t);
      return;
    }
    const int parts = ensureWorkers(ntasks - 1);  // workers 1..parts take part
    if (parts <= 0) {
      for (int t = 0; t < ntasks; ++t) fn(ctx, t);
      busy_.store(false, std::memory_order_release);
      return;
    }
    fn_ = fn;
    ctx_ = ctx;
    ntasks_ = ntasks;
    stop_ = t_stop;
    next_.store(0, std::memory_order_relaxed);
    const int cpu = current_cpu();
    ownerCpu_.store(cpu, std::memory_order_relaxed);
    const std::uint64_t gen = (job_.load(std::memory_order_relaxed) >> 16) + 1;
    region_.store(gen << 32, std::memory_order_release);  // open, no worker in it
    pthread_mutex_lock(&mu_);
    wakeOffOwner(parts, cpu);
    job_.store((gen << 16) | (t_long_slice ? kLongSliceBit : 0) | static_cast<std::uint64_t>(parts),
               std::memory_order_release);
    // Only the workers taking part are woken: after setNumThreads(256) and
    // back to 2, one broadcast woke all 255 on every call (a 160^3 product
    // went from ~0.2 to 1.5-3 ms).
    for (int id = 1; id <= parts; ++id) pthread_cond_signal(&slots_[id - 1].cv);
    pthread_mutex_unlock(&mu_);
    runTasks(fn, ctx, ntasks);
    // Every task is taken: close the region to workers still on their way,
    // and wait for those in it to finish theirs.
    if (region_.fetch_or(kClosed, std::memory_order_acq_rel) & kInsideMask) {
      spinThenWait(&cvDone_, [this] { return (region_.load(std::memory_order_acquire) & kInsideMask) == 0; },
                   [] { return true; }, nullptr);
    }
    busy_.store(false, std::memory_order_release);
  }

 private:
  std::atomic<bool> busy_{false};  // a parallel region is running
  pthread_mutex_t mu_ = PTHREAD_MUTEX_INITIALIZER;  // guards the sleeps
  pthread_cond_t cvDone_ = PTHREAD_COND_INITIALIZER;
  // generation << 16 | kLongSliceBit | participating workers, published last.
  std::atomic<std::uint64_t> job_{0};
  // The region's tasks: fn_(ctx_, t) for t in [0, ntasks_), taken in order
  // from next_ by the owner and the workers that get in.
  std::atomic<int> next_{0};
  // Who is in the region: (generation mod 2^32) << 32 | kClosed | workers
  // inside. A worker gets in only while the region is open, and the owner
  // closes it once every task is taken, then waits for those inside: so a
  // worker that wakes late, after the owner has done the work, costs the
  // call nothing, and no worker reads the fields below after their region.
  std::atomic<std::uint64_t> region_{0};
  std::atomic<int> ownerCpu_{-1};  // the CPU the region's owner started it on (-1: unknown)
  void (*fn_)(void*, int) = nullptr;
  void* ctx_ = nullptr;
  int ntasks_ = 0;
  const StopFlag* stop_ = nullptr;  // the owner's (t_stop), for the region's tasks
  int workers_ = 0;  // started so far (only the region's owner changes it)

  // Per worker (index id - 1): what the owner needs to steer a sleeping
  // worker's wake-up off its own CPU (see wakeOffOwner). asleep, narrowed
  // and saved are guarded by mu_; tid is written once by the worker.
  struct Slot {
    std::atomic<long> tid{0};  // kernel thread id (0 until the worker runs)
    pthread_cond_t cv = PTHREAD_COND_INITIALIZER;  // where it sleeps between its regions
    bool asleep = false;       // in pthread_cond_wait on cv
    bool narrowed = false;     // the owner narrowed its mask; saved is the mask before
#if defined(__linux__)
    cpu_set_t saved;
#endif
  };
  Slot slots_[kMaxThreads];

  struct Start {
    Pool* pool;
    int id;
    std::uint64_t seen;
    bool longSlice;  // created by a thread in a LongSliceScope (inherits its slice)
  };

  // Waits until pred() holds: polls for kSpin, and on while running() holds
  // (yielding the CPU between polls) for up to kRegionSpin in all; then
  // sleeps on cv, marked asleep in `slot` (a worker's; null for the owner).
  // A worker whose mask the owner narrowed while it slept gets its own back.
  // True if it slept.
  template <typename Pred, typename Running>
  bool spinThenWait(pthread_cond_t* cv, Pred pred, Running running, Slot* slot) {
    if (pred()) return false;
    const auto start = std::chrono::steady_clock::now();
    auto until = start + kSpin;  // poll at least until then
    for (int i = 1;; ++i) {
      cpu_relax();
      if (pred()) return false;
      if ((i & 63) != 0) continue;
      const auto now = std::chrono::steady_clock::now();
      if (now - start < kRegionSpin && running()) {
        until = now + kSpin;
        if (now - start >= kSpin) sched_yield();
      } else if (now >= until) {
        break;
      }
    }
    pthread_mutex_lock(&mu_);
    if (slot != nullptr) slot->asleep = true;
    while (!pred()) pthread_cond_wait(cv, &mu_);
    bool restore = false;
    if (slot != nullptr) {
      slot->asleep = false;
      restore = slot->narrowed;
      slot->narrowed = false;
    }
    pthread_mutex_unlock(&mu_);
#if defined(__linux__)
    // It is on one of the CPUs the narrowed mask allowed; giving the whole
    // mask back leaves it there.
    if (restore) sched_setaffinity(0, sizeof slot->saved, &slot->saved);
#else
    (void)restore;
#endif
    return true;
  }

  // Called by the owner, holding mu_, just before it wakes the workers of a
  // region: the sleeping ones among workers 1..parts may no longer run on
  // `cpu` (the owner's) until they are awake. Linux wakes a thread on its
  // waker's CPU when it sees no cache shared with the CPU the thread last
  // ran on (VMs that report no cache topology, such as Firecracker's), and
  // there the worker waits behind the owner's own work until the owner's
  // time slice ends: measured here after 5-50 ms of idling, a 1.5-3.7 ms
  // wait before the worker ran (then leave_cpu moved it), which a 256^2 or
  // 512^2 product never saw and a 1024^2 one lost half of. With the owner's
  // CPU out of its mask, the kernel wakes it on another: 130-250 us (the
  // idle virtual CPU's own wake-up). The worker restores its mask on waking
  // (spinThenWait); a failed call changes nothing.
  void wakeOffOwner(int parts, int cpu) {
#if defined(__linux__)
    if (cpu < 0 || cpu >= CPU_SETSIZE) return;
    for (int id = 1; id <= parts; ++id) {
      Slot& w = slots_[id - 1];
      const long tid = w.tid.load(std::memory_order_acquire);
      if (!w.asleep || w.narrowed || tid <= 0) continue;
      if (sched_getaffinity(static_cast<pid_t>(tid), sizeof w.saved, &w.saved) != 0) continue;
      if (!CPU_ISSET(cpu, &w.saved)) continue;
      cpu_set_t others = w.saved;
      CPU_CLR(cpu, &others);
      if (CPU_COUNT(&others) == 0) continue;
      if (sched_setaffinity(static_cast<pid_t>(tid), sizeof others, &others) == 0) w.narrowed = true;
    }
#else
    (void)parts;
    (void)cpu;
#endif
  }

  // Called by the region's owner: makes sure min(want, numThreads - 1)
  // workers exist and returns how many may take part.
  int ensureWorkers(int want) {
    const int limit = numThreads.load(std::memory_order_relaxed) - 1;
    if (want > limit) want = limit;
    while (workers_ < want) {
      // The generation is read here, before the owner publishes the next
      // region, so a worker that starts late still sees that region as new.
      Start* s = new (std::nothrow) Start{this, workers_ + 1,
                                          job_.load(std::memory_order_relaxed) >> 16, t_long_slice};
      if (s == nullptr) break;
      // Workers block every signal, so Node's own threads handle them; the
      // mask is inherited from the creating thread, then restored.
      sigset_t all, old;
      sigfillset(&all);
      sigprocmask(SIG_SETMASK, &all, &old);
      pthread_t thread;
      const int err = pthread_create(&thread, nullptr, &Pool::entry, s);
      sigprocmask(SIG_SETMASK, &old, nullptr);
      if (err != 0) {
        delete s;
        break;  // no more threads: use the ones there are
      }
      ++workers_;  // never joined: the pool and its threads live forever
    }
    return want < workers_ ? want : workers_;
  }

  static void* entry(void* arg) {
    const Start s = *static_cast<Start*>(arg);
    delete static_cast<Start*>(arg);
#if defined(__linux__)
    prctl(PR_SET_NAME, "ntensor-gemm", 0, 0, 0);
#endif
    s.pool->loop(s.id, s.seen, s.longSlice);
    return nullptr;
  }

  [[noreturn]] void loop(int id, std::uint64_t seen, bool longNow) {
    // The slice this worker asks for follows the regions it takes part in:
    // long for async work, the scheduler's default (sched_runtime 0) for
    // sync calls. A new thread inherits its creator's slice, so a worker
    // created in async work starts with the long one. Switched only when
    // that changes; given up for good if the kernel refuses.
    std::uint64_t current = 0;
    bool slicesWork = worker_slice_ms() > 0 && get_slice(&current);
    bool tookPart = false;  // in the region `seen`
    Slot& slot = slots_[id - 1];
#if defined(__linux__)
    slot.tid.store(static_cast<long>(syscall(SYS_gettid)), std::memory_order_release);
#endif
    for (;;) {
      // Waits for a region that needs it (a new generation with this worker
      // among its parts); polls on while the region it took part in runs
      // (its generation still current and the pool busy), so the next one
      // finds it awake. A region without it neither wakes it nor keeps it
      // polling.
      const bool slept = spinThenWait(
          &slot.cv,
          [&] {
            const std::uint64_t j = job_.load(std::memory_order_acquire);
            return (j >> 16) != seen && id <= static_cast<int>(j & kPartsMask);
          },
          [&] {
            return tookPart && busy_.load(std::memory_order_relaxed) &&
                   (job_.load(std::memory_order_relaxed) >> 16) == seen;
          },
          &slot);
      const std::uint64_t job = job_.load(std::memory_order_acquire);
      seen = job >> 16;
      const int parts = static_cast<int>(job & kPartsMask);
      tookPart = id <= parts;
      if (!tookPart) {  // not needed this time (fields not read)
        if (slept) sleptIdle.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      const int owner = ownerCpu_.load(std::memory_order_relaxed);
      if (slept) {
        sleptWakes.fetch_add(1, std::memory_order_relaxed);
        if (owner >= 0 && current_cpu() == owner) wokeOnOwnerCpu.fetch_add(1, std::memory_order_relaxed);
      }
      const bool wantLong = (job & kLongSliceBit) != 0;
      if (slicesWork && wantLong != longNow) {
        slicesWork = set_slice(wantLong ? slice_ns() : 0);
        longNow = wantLong;
      }
      leave_cpu(owner);
      if (!enter(seen)) {
        tookPart = false;  // closed: the owner and others took every task
        continue;
      }
      t_stop = stop_;
      runTasks(fn_, ctx_, ntasks_);
      t_stop = nullptr;
      const std::uint64_t left = region_.fetch_sub(1, std::memory_order_acq_rel) - 1;
      if ((left & kClosed) != 0 && (left & kInsideMask) == 0) {
        pthread_mutex_lock(&mu_);  // the owner may be asleep waiting
        pthread_cond_broadcast(&cvDone_);
        pthread_mutex_unlock(&mu_);
      }
    }
  }

  // Takes the region's tasks in order until none is left.
  void runTasks(void (*fn)(void*, int), void* ctx, int ntasks) {
    for (int t; (t = next_.fetch_add(1, std::memory_order_relaxed)) < ntasks;) fn(ctx, t);
  }

  // A worker's way into region `gen`: true (and counted inside) if it is
  // still the current one and open.
  bool enter(std::uint64_t gen) {
    std::uint64_t v = region_.load(std::memory_order_acquire);
    for (;;) {
      if ((v >> 32) != (gen & 0xFFFFFFFFu) || (v & kClosed) != 0) return false;
      if (region_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
        return true;
      }
    }
  }
};

Pool& pool() {
  static Pool* const p = new Pool();  // never deleted, see threadpool.h
  return *p;
}

}  // namespace

void leave_cpu(int cpu) {
#if defined(__linux__)
  if (cpu < 0 || cpu >= CPU_SETSIZE || sched_getcpu() != cpu) return;
  cpu_set_t mine, others;
  if (sched_getaffinity(0, sizeof mine, &mine) != 0) return;
  others = mine;
  CPU_CLR(cpu, &others);
  if (CPU_COUNT(&others) == 0) return;
  if (sched_setaffinity(0, sizeof others, &others) == 0) sched_setaffinity(0, sizeof mine, &mine);
#else
  (void)cpu;
#endif
}

bool check_leave_cpu(int* from, int* to, bool* maskKept) {
#if defined(__linux__)
  cpu_set_t mine, one;
  if (sched_getaffinity(0, sizeof mine, &mine) != 0 || CPU_COUNT(&mine) < 2) return false;
  int first = 0;
  while (!CPU_ISSET(first, &mine)) ++first;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  // Onto `first`, then the whole mask back: the thread stays on `first`.
  if (sched_setaffinity(0, sizeof one, &one) != 0) return false;
  sched_setaffinity(0, sizeof mine, &mine);
  *from = sched_getcpu();
  leave_cpu(*from);
  *to = sched_getcpu();
  cpu_set_t after;
  *maskKept = sched_getaffinity(0, sizeof after, &after) == 0 && CPU_EQUAL(&after, &mine);
  if (!*maskKept) sched_setaffinity(0, sizeof mine, &mine);
  return true;
#else
  (void)from;
  (void)to;
  (void)maskKept;
  return false;
#endif
}

int worker_slice_ms() {
  static const int ms = read_slice_ms();
  return ms;
}

LongSliceScope::LongSliceScope() {
  if (worker_slice_ms() <= 0) return;
  active_ = !t_long_slice;  // the outermost scope of this thread
  if (!active_) return;
  t_long_slice = true;
  std::uint64_t old = 0;
  if (get_slice(&old) && old != slice_ns() && set_slice(slice_ns())) {
    saved_ = old;
    changed_ = true;
  }
}

LongSliceScope::~LongSliceScope() {
  if (!active_) return;
  if (changed_) set_slice(saved_);
  t_long_slice = false;
}

void pool_wake_stats(long* slept, long* onOwnerCpu, long* notNeeded) {
  *notNeeded = pool().sleptIdle.load(std::memory_order_relaxed);
  *slept = pool().sleptWakes.load(std::memory_order_relaxed);
  *onOwnerCpu = pool().wokeOnOwnerCpu.load(std::memory_order_relaxed);
}

int get_num_threads() { return pool().numThreads.load(std::memory_order_relaxed); }

const char* ignored_threads_env() {
  (void)pool();  // made (and the variable read) once
  return g_env_ignored ? g_ignored_env.c_str() : nullptr;
}

void set_num_threads(int n) {
  pool().numThreads.store(clamp_threads(n), std::memory_order_relaxed);
}

StopScope::StopScope(const StopFlag* flag) : saved_(t_stop) { t_stop = flag; }
StopScope::~StopScope() { t_stop = saved_; }

bool stop_requested() {
  const StopFlag* f = t_stop;
  return f != nullptr && f->requested();
}

void parallel_run(int ntasks, void (*fn)(void*, int), void* ctx) {
  if (ntasks <= 1) {
    if (ntasks == 1) fn(ctx, 0);
    return;
  }
  pool().run(ntasks, fn, ctx);
}

}  // namespace ntensor
