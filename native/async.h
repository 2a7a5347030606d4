// Promise-returning twins of the kernels, in sharp's baton pattern. On the JS
// thread addon.cc parses and checks the arguments with the same code as the
// synchronous call, into a plain struct captured by a Kernel; Queue() keeps
// the typed arrays the kernel reads and writes alive with references, and
// libuv's thread pool runs the kernel in AsyncWorker::Execute (no Node-API
// there). The output is a typed array the caller allocated in JS (never an
// external buffer), which no JS code can reach until the Promise settles.
//
// Cancellation: every job has an abort flag (set through Abort(token) when
// the caller's AbortSignal fires) and shares its environment's closing flag
// (set when the environment shuts down: a worker_threads Worker terminated,
// or the process exiting). A job whose flag is up when a thread picks it up
// skips the kernel; a running kernel may poll it between blocks and stop
// early (matmul and conv2d: the GEMM's and the convolution's work items,
// through a StopScope, threadpool.h; pooling runs to the end).
//
// The Promise resolves with true when the kernel ran to the end and with
// false when it was skipped or stopped (the output then holds unspecified
// values); the TypeScript layer turns false into an AbortError.
#pragma once
#include <napi.h>

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <utility>

#include "threadpool.h"

namespace ntensor {
namespace async {

// A counted reference to a T with an atomic `refs` (1 when created), as
// std::shared_ptr; which libstdc++ 12 would make need GLIBC_2.32
// (__libc_single_threaded), above what the prebuilt binary may use
// (scripts/build-prebuilds.mjs; TOOLCHAIN pitfall 12).
template <typename T>
class Ref {
 public:
  template <typename... A>
  static Ref make(A&&... a) {
    Ref r;
    r.p_ = new T(std::forward<A>(a)...);
    return r;
  }
  Ref(const Ref& o) : p_(o.p_) {
    if (p_ != nullptr) p_->refs.fetch_add(1, std::memory_order_relaxed);
  }
  Ref(Ref&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
  Ref& operator=(Ref o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~Ref() {
    if (p_ != nullptr && p_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete p_;
  }
  T* operator->() const { return p_; }
  T& operator*() const { return *p_; }

 private:
  Ref() = default;
  T* p_ = nullptr;
};

// What the jobs of one JS environment share. Held by the environment's
// addon instance and by each of its jobs, so it outlives both.
struct EnvState {
  std::atomic<int> refs{1};
  // The environment is going away: queued jobs skip, running ones stop.
  std::atomic<bool> closing{false};
  // Counters (the _asyncStats test hook): jobs queued; picked up by a
  // thread and run; skipped before starting; stopped while running; run to
  // the end; settled (Promise resolved or rejected, references released).
  std::atomic<std::int64_t> queued{0}, started{0}, skipped{0}, stopped{0},
      completed{0}, settled{0};
};

// One job's cancellation as a kernel sees it; as a StopFlag
// (threadpool.h), in a StopScope, the GEMM and conv2d loops poll it too.
class Cancellation final : public StopFlag {
 public:
  explicit Cancellation(Ref<EnvState> env) : env_(std::move(env)) {}
  bool requested() const override {
    return aborted_.load(std::memory_order_relaxed) ||
           env_->closing.load(std::memory_order_relaxed);
  }
  void abort() { aborted_.store(true, std::memory_order_relaxed); }

  std::atomic<int> refs{1};

 private:
  std::atomic<bool> aborted_{false};
  Ref<EnvState> env_;
};

// A job's work. run() is called on a libuv thread and must not touch
// Node-API; it returns false if it stopped early because
// cancel.requested() turned true.
class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual bool run(const Cancellation& cancel) = 0;
};

// A Kernel from a callable bool(const Cancellation&), moved in (never copied:
// it may own buffers, such as matmul's batch offsets).
template <typename F>
std::unique_ptr<Kernel> MakeKernel(F f) {
  struct Fn final : Kernel {
    explicit Fn(F g) : f(std::move(g)) {}
    bool run(const Cancellation& cancel) override { return f(cancel); }
    F f;
  };
  return std::unique_ptr<Kernel>(new Fn(std::move(f)));
}

// Queues kernel and returns its Promise<boolean>. `keep`: the typed arrays
// the kernel touches (at most kMaxKeep; null and undefined are skipped),
// referenced until the job settles. `token`: null/undefined, or a fresh
// object that Abort() later cancels the job through. `op` names the job in
// errors and in async_hooks ("ntensor:<op>").
constexpr std::size_t kMaxKeep = 8;  // conv2dAsync keeps 6 (input, weight, bias, out, packed, winograd)
Napi::Value Queue(Napi::Env env, const char* op, const Ref<EnvState>& state,
                  std::unique_ptr<Kernel> kernel, std::initializer_list<Napi::Value> keep,
                  Napi::Value token);

// Cancels the job queued with `token`. A token whose job has settled (or
// that was never used) is ignored.
void Abort(Napi::Env env, Napi::Value token);

// The counters as a JS object, plus `live` (queued - settled).
Napi::Object Stats(Napi::Env env, const EnvState& state);

}  // namespace async
}  // namespace ntensor
