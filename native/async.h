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
// early (matmul: before each batch; conv2d runs to the end).
//
// The Promise resolves with true when the kernel ran to the end and with
// false when it was skipped or stopped (the output then holds unspecified
// values); the TypeScript layer turns false into an AbortError.
#pragma once
#include <napi.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>

namespace ntensor {
namespace async {

// What the jobs of one JS environment share. Held by the environment's
// addon instance and by each of its jobs, so it outlives both.
struct EnvState {
  // The environment is going away: queued jobs skip, running ones stop.
  std::atomic<bool> closing{false};
  // Counters (the _asyncStats test hook): jobs queued; picked up by a
  // thread and run; skipped before starting; stopped while running; run to
  // the end; settled (Promise resolved or rejected, references released).
  std::atomic<std::int64_t> queued{0}, started{0}, skipped{0}, stopped{0},
      completed{0}, settled{0};
};

// One job's cancellation as a kernel sees it.
class Cancellation {
 public:
  explicit Cancellation(std::shared_ptr<EnvState> env) : env_(std::move(env)) {}
  bool requested() const {
    return aborted_.load(std::memory_order_relaxed) ||
           env_->closing.load(std::memory_order_relaxed);
  }
  void abort() { aborted_.store(true, std::memory_order_relaxed); }

 private:
  std::atomic<bool> aborted_{false};
  std::shared_ptr<EnvState> env_;
};

// Runs on a libuv thread; must not touch Node-API. Returns false if it
// stopped early because cancel.requested() turned true.
using Kernel = std::function<bool(const Cancellation& cancel)>;

// Queues kernel and returns its Promise<boolean>. `keep`: the typed arrays
// the kernel touches (null and undefined are skipped), referenced until the
// job settles. `token`: null/undefined, or a fresh object that Abort()
// later cancels the job through. `op` names the job in errors and in
// async_hooks ("ntensor:<op>").
Napi::Value Queue(Napi::Env env, const char* op,
                  const std::shared_ptr<EnvState>& state, Kernel kernel,
                  std::initializer_list<Napi::Value> keep, Napi::Value token);

// Cancels the job queued with `token`. A token whose job has settled (or
// that was never used) is ignored.
void Abort(Napi::Env env, Napi::Value token);

// The counters as a JS object, plus `live` (queued - settled).
Napi::Object Stats(Napi::Env env, const EnvState& state);

}  // namespace async
}  // namespace ntensor
