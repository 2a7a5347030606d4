// See async.h. The one place where kernels leave the JS thread.
//
// Lifetimes. A Job is created, referenced and queued on the JS thread; libuv
// runs Execute on one of its threads and then OnOK/OnError back on the JS
// thread, after which node-addon-api deletes the Job, releasing the
// references. Node's environment teardown (a Worker terminated, or the main
// thread ending) waits for queued async work to finish before it frees the
// heap, so a kernel never outlives the memory it reads and writes. In that
// teardown no JavaScript can run: the Promise cannot be settled, so OnOK
// marks the environment closing, which makes its jobs still queued skip and
// its running matmuls stop before their next batch, instead of computing
// results nobody can receive. (Node runs an environment's cleanup hooks only
// after its async work has finished: too late for this.)
// NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS covers the node-addon-api calls
// that would otherwise throw there (TOOLCHAIN pitfall 8); the settling
// below uses plain Node-API calls and checks their status instead.
#include "async.h"

#include <new>
#include <string>

#include "threadpool.h"

namespace ntensor {
namespace async {
namespace {

enum class Outcome { completed, stopped, skipped };

class Job final : public Napi::AsyncWorker {
 public:
  Job(Napi::Env env, const char* op, Ref<EnvState> state, Ref<Cancellation> cancel,
      std::unique_ptr<Kernel> kernel)
      : Napi::AsyncWorker(env, (std::string("ntensor:") + op).c_str()),
        op_(op),
        state_(std::move(state)),
        cancel_(std::move(cancel)),
        kernel_(std::move(kernel)) {
    NAPI_THROW_IF_FAILED_VOID(env, napi_create_promise(env, &deferred_, &promise_));
  }

  ~Job() override {
    for (auto& ref : keep_) ref.Reset();  // release the typed arrays before counting the job settled
    state_->settled.fetch_add(1, std::memory_order_relaxed);
  }

  void keep(Napi::Value v) {
    if (v.IsObject() && nkeep_ < kMaxKeep) keep_[nkeep_++] = Napi::Persistent(v.As<Napi::Object>());
  }
  napi_value promise() const { return promise_; }

 protected:
  void Execute() override {
    if (cancel_->requested()) {
      outcome_ = Outcome::skipped;
      state_->skipped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    state_->started.fetch_add(1, std::memory_order_relaxed);
    // This libuv thread computes with the pool's workers: like them, it asks
    // for a long slice while it does, so the JS thread gets a core as soon
    // as it wakes (threadpool.h).
    const LongSliceScope slice;
    try {
      outcome_ = kernel_->run(*cancel_) ? Outcome::completed : Outcome::stopped;
    } catch (const std::bad_alloc&) {
      fail("out of memory");
      return;
    } catch (const std::exception& e) {
      fail(e.what());
      return;
    }
    (outcome_ == Outcome::completed ? state_->completed : state_->stopped)
        .fetch_add(1, std::memory_order_relaxed);
  }

  void OnOK() override {
    napi_env env = Env();
    napi_value done;
    settled(napi_get_boolean(env, outcome_ == Outcome::completed, &done) == napi_ok &&
            napi_resolve_deferred(env, deferred_, done) == napi_ok);
  }

  void OnError(const Napi::Error&) override {
    // Only a kernel that could not allocate its scratch memory gets here.
    napi_env env = Env();
    const std::string text = op_ + ": " + error_;
    napi_value msg, err;
    settled(napi_create_string_utf8(env, text.c_str(), text.size(), &msg) == napi_ok &&
            napi_create_range_error(env, nullptr, msg, &err) == napi_ok &&
            napi_reject_deferred(env, deferred_, err) == napi_ok);
  }

 private:
  // A Promise that cannot be settled means the environment is shutting
  // down (no JavaScript can run): its other jobs need not compute.
  void settled(bool ok) {
    if (!ok) state_->closing.store(true, std::memory_order_relaxed);
  }
  void fail(const char* what) {
    error_ = what;
    SetError(error_);  // makes node-addon-api call OnError instead of OnOK
  }

  std::string op_;
  std::string error_;
  Ref<EnvState> state_;
  Ref<Cancellation> cancel_;
  std::unique_ptr<Kernel> kernel_;
  Napi::ObjectReference keep_[kMaxKeep];
  std::size_t nkeep_ = 0;
  napi_deferred deferred_ = nullptr;
  napi_value promise_ = nullptr;
  Outcome outcome_ = Outcome::skipped;
};

// The token's native half: the job's Cancellation, shared with the job.
void deleteToken(napi_env, void* data, void*) {
  delete static_cast<Ref<Cancellation>*>(data);
}

}  // namespace

// Whether `v` (a typed array or an ArrayBuffer; anything else: no) lives on
// a resizable ArrayBuffer. Node-API cannot ask, so the buffer's own
// `resizable` getter is read (undefined before Node 20: not resizable).
bool onResizableBuffer(Napi::Env env, const Napi::Value& v) {
  napi_value buffer = v;
  bool isTyped = false, isBuffer = false;
  if (napi_is_typedarray(env, v, &isTyped) != napi_ok) return false;
  if (isTyped) {
    if (napi_get_typedarray_info(env, v, nullptr, nullptr, nullptr, &buffer, nullptr) != napi_ok) return false;
  } else if (napi_is_arraybuffer(env, v, &isBuffer) != napi_ok || !isBuffer) {
    return false;
  }
  napi_value flag;
  bool resizable = false;
  if (napi_get_named_property(env, buffer, "resizable", &flag) != napi_ok) return false;
  napi_valuetype type = napi_undefined;
  if (napi_typeof(env, flag, &type) != napi_ok || type != napi_boolean) return false;
  return napi_get_value_bool(env, flag, &resizable) == napi_ok && resizable;
}

Napi::Value Queue(Napi::Env env, const char* op, const Ref<EnvState>& state,
                  std::unique_ptr<Kernel> kernel, std::initializer_list<Napi::Value> keep,
                  Napi::Value token) {
  if (keep.size() > kMaxKeep) {
    // A buffer the kernel reads must stay referenced: never drop one.
    throw Napi::Error::New(env, std::string(op) + ": internal error, more buffers to keep than kMaxKeep");
  }
  // A resizable buffer could shrink (its pages unmapped) while the kernel
  // reads or writes it on another thread: refused, as the TypeScript layer
  // refuses such an out and copies such an input before it gets here.
  for (const Napi::Value& v : keep) {
    if (onResizableBuffer(env, v)) {
      throw Napi::TypeError::New(env, std::string(op) + ": an async call cannot use a typed array on a resizable ArrayBuffer " +
                                          "(it could shrink while the kernel runs); copy it first");
    }
  }
  const bool hasToken = !(token.IsNull() || token.IsUndefined());
  if (hasToken && !token.IsObject()) {
    throw Napi::TypeError::New(env, std::string(op) + ": argument 'token' must be an object or null");
  }
  auto cancel = Ref<Cancellation>::make(state);
  if (hasToken) {
    auto* holder = new Ref<Cancellation>(cancel);
    if (napi_wrap(env, token, holder, deleteToken, nullptr, nullptr) != napi_ok) {
      delete holder;
      throw Napi::TypeError::New(env, std::string(op) + ": argument 'token' was already used");
    }
  }
  // Owned by node-addon-api from Queue() on (deleted after OnOK/OnError).
  auto* job = new Job(env, op, state, std::move(cancel), std::move(kernel));
  state->queued.fetch_add(1, std::memory_order_relaxed);
  napi_value promise;
  try {
    for (const Napi::Value& v : keep) job->keep(v);
    promise = job->promise();
    job->Queue();
  } catch (...) {
    delete job;
    throw;
  }
  return Napi::Value(env, promise);
}

void Abort(Napi::Env env, Napi::Value token) {
  void* data = nullptr;
  if (!token.IsObject() || napi_unwrap(env, token, &data) != napi_ok || data == nullptr) return;
  (*static_cast<Ref<Cancellation>*>(data))->abort();
}

Napi::Object Stats(Napi::Env env, const EnvState& s) {
  Napi::Object o = Napi::Object::New(env);
  const auto get = [](const std::atomic<std::int64_t>& c) {
    return static_cast<double>(c.load(std::memory_order_relaxed));
  };
  o.Set("queued", get(s.queued));
  o.Set("started", get(s.started));
  o.Set("skipped", get(s.skipped));
  o.Set("stopped", get(s.stopped));
  o.Set("completed", get(s.completed));
  o.Set("settled", get(s.settled));
  o.Set("live", get(s.queued) - get(s.settled));
  o.Set("closing", s.closing.load(std::memory_order_relaxed));
  return o;
}

}  // namespace async
}  // namespace ntensor
