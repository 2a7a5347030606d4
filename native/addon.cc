// The Node-API boundary: unpacks and validates arguments, then calls the
// kernels in kernels.h. Nothing numeric happens here. Every length, shape and
// offset is checked against the real typed arrays before a pointer is
// touched, independently of the TypeScript layer's own checks: a lie in a
// shape is a thrown RangeError, never a read past the end of a buffer.
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "async.h"
#include "gemm.h"
#include "kernels.h"
#include "threadpool.h"

namespace {

using ntensor::index_t;

enum class DType { f32, f64 };

struct Array {
  void* data;
  index_t length;        // elements
  const uint8_t* begin;  // bytes, for overlap checks
  const uint8_t* end;
  DType dtype;
};

[[noreturn]] void throwType(Napi::Env env, const std::string& msg) {
  throw Napi::TypeError::New(env, msg);
}
[[noreturn]] void throwRange(Napi::Env env, const std::string& msg) {
  throw Napi::RangeError::New(env, msg);
}

// One napi_get_typedarray_info call for kind, length, data and buffer (each
// call is a walk over V8's typed-array kinds: they dominate a small matmul).
// Error messages are only built when they are thrown.
// The buffer's kind is one more call; whether it is detached only matters
// (and is only asked) for an empty array: V8 reports a typed array over a
// detached buffer as empty.
Array getArray(napi_env env, napi_value value, const char* op, const char* name) {
  const auto what = [&] { return std::string(op) + ": argument '" + name + "'"; };
  // The raw call gives the data pointer for any backing store; the buffer
  // itself is checked to be a plain (not shared) ArrayBuffer.
  napi_typedarray_type type;
  size_t length = 0, byteOffset = 0;
  void* data = nullptr;
  napi_value buffer;
  if (napi_get_typedarray_info(env, value, &type, &length, &data, &buffer, &byteOffset) !=
      napi_ok) {
    // Not a typed array at all (napi_invalid_arg, no exception pending).
    throwType(env, what() + " must be a Float32Array or Float64Array");
  }
  Array a{};
  switch (type) {
    case napi_float32_array: a.dtype = DType::f32; break;
    case napi_float64_array: a.dtype = DType::f64; break;
    default: throwType(env, what() + " must be a Float32Array or Float64Array");
  }
  bool plain = false;
  NAPI_THROW_IF_FAILED(env, napi_is_arraybuffer(env, buffer, &plain), Array{});
  if (!plain) {
    // Another thread could change a SharedArrayBuffer while a kernel reads it.
    throwType(env, what() + " must not be backed by a SharedArrayBuffer");
  }
  bool detached = false;
  if (length == 0) {
    NAPI_THROW_IF_FAILED(env, napi_is_detached_arraybuffer(env, buffer, &detached), Array{});
  }
  if (detached || (data == nullptr && length > 0)) {
    throwType(env, what() + " has a detached buffer");
  }
  a.length = static_cast<index_t>(length);
  a.data = data;
  a.begin = static_cast<const uint8_t*>(data);
  a.end = a.begin == nullptr ? nullptr
                             : a.begin + length * (a.dtype == DType::f32 ? 4 : 8);
  return a;
}
Array getArray(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  return getArray(info.Env(), info[i], op, name);
}

// checkIndex's error, out of line (the check itself is a few instructions).
[[noreturn]] __attribute__((noinline, cold)) void throwIndex(napi_env env, double d, const char* op,
                                                            const char* name, index_t minValue) {
  throwRange(env, std::string(op) + ": argument '" + name +
                      "' must be an integer >= " + std::to_string(minValue) +
                      ", got " + Napi::Number::New(env, d).ToString().Utf8Value());
}

// A non-negative integer that fits comfortably in int64 arithmetic.
inline index_t checkIndex(napi_env env, double d, const char* op, const char* name,
                          index_t minValue = 0) {
  // In range first (NaN and infinities fail), then integral: the conversion
  // is exact there, and cheaper than std::floor (a libm call at this ISA).
  if (!(d >= static_cast<double>(minValue) && d <= 9007199254740991.0) ||
      static_cast<double>(static_cast<index_t>(d)) != d) {
    throwIndex(env, d, op, name, minValue);
  }
  return static_cast<index_t>(d);
}
// The same for a JS value. One Node-API call: napi_get_value_double fails
// exactly for non-numbers.
index_t getIndex(napi_env env, napi_value value, const char* op, const char* name,
                 index_t minValue = 0) {
  double d = 0;
  if (napi_get_value_double(env, value, &d) != napi_ok) {
    throwType(env, std::string(op) + ": argument '" + name + "' must be a number");
  }
  return checkIndex(env, d, op, name, minValue);
}
index_t getIndex(const Napi::CallbackInfo& info, size_t i, const char* op,
                 const char* name, index_t minValue = 0) {
  return getIndex(info.Env(), info[i], op, name, minValue);
}

index_t mul(Napi::Env env, const char* op, index_t a, index_t b) {
  index_t r;
  if (__builtin_mul_overflow(a, b, &r) || r > (index_t(1) << 53)) {
    throwRange(env, std::string(op) + ": the size arguments overflow: " + std::to_string(a) + " x " + std::to_string(b) +
                        " is past 2^53");
  }
  return r;
}

void requireLength(Napi::Env env, const char* op, const char* name,
                   const Array& a, index_t expected) {
  if (a.length != expected) {
    throwRange(env, std::string(op) + ": argument '" + name + "' has " +
                        std::to_string(a.length) + " elements but its shape needs " +
                        std::to_string(expected));
  }
}

void requireSameDType(Napi::Env env, const char* op, const char* name,
                      const Array& a, const Array& ref) {
  if (a.dtype != ref.dtype) {
    throwType(env, std::string(op) + ": argument '" + name +
                       "' must have the same dtype as the first input");
  }
}

void requireDisjoint(Napi::Env env, const char* op, const char* outName,
                     const Array& out, const char* inName, const Array& in) {
  // Empty ranges overlap nothing.
  if (out.begin != nullptr && in.begin != nullptr && out.begin < out.end &&
      in.begin < in.end && out.begin < in.end && in.begin < out.end) {
    throwRange(env, std::string(op) + ": output '" + outName +
                        "' overlaps input '" + inName + "'");
  }
}

// PyTorch's rule for conv2d and pooling (lib/ops/conv.ts, pool.ts): images
// without pixels only in an empty batch or without channels, so no kernel
// indexes into an input that has no elements.
void requirePixels(Napi::Env env, const char* op, index_t n, index_t c, index_t h, index_t w) {
  if ((h == 0 || w == 0) && n > 0 && c > 0) {
    throwRange(env, std::string(op) + ": argument 'input' has images with channels but no pixels (h = " +
                        std::to_string(h) + ", w = " + std::to_string(w) + "): only zero batch or zero channel inputs may be empty");
  }
}

// ---- matmul: a parse step and a run step, as conv2d's below. ----

// matmul(a, b, out, m, k, n, aOffsets, bOffsets): 8 arguments from `first`
// on. For every batch i: out[i] (m x n) = a[aOffsets[i] ..] (m x k) times
// b[bOffsets[i] ..] (k x n), all row-major and contiguous per matrix.
// Offsets are element offsets in a Float64Array (so broadcast batches need
// no copies); out must hold exactly batch * m * n elements.
constexpr size_t kMatmulArgc = 8;

struct MatmulArgs {
  DType dtype;
  const void* a;
  const void* b;
  void* out;
  index_t m, k, n, batch;
  // Every offset, copied and checked before any output is written (out may
  // alias the offsets' memory): batch i's offsets into a and b at [2i] and
  // [2i + 1]. A few batches need no heap allocation.
  index_t few[2 * 8] = {};
  std::vector<index_t> many;
  const index_t* offsets() const { return batch > 8 ? many.data() : few; }
};

// argv holds argc arguments (at least kMatmulArgc of them readable).
MatmulArgs parseMatmulArgs(napi_env env, const napi_value* argv, size_t argc) {
  static constexpr const char* op = "matmul";
  if (argc != kMatmulArgc) throwType(env, "matmul: expected 8 arguments");
  const Array a = getArray(env, argv[0], op, "a");
  const Array b = getArray(env, argv[1], op, "b");
  const Array out = getArray(env, argv[2], op, "out");
  requireSameDType(env, op, "b", b, a);
  requireSameDType(env, op, "out", out, a);
  MatmulArgs p;
  p.dtype = a.dtype;
  p.a = a.data;
  p.b = b.data;
  p.out = out.data;
  p.m = getIndex(env, argv[3], op, "m");
  p.k = getIndex(env, argv[4], op, "k");
  p.n = getIndex(env, argv[5], op, "n");
  // The offsets: one typedarray-info call each (a walk over V8's typed-array
  // kinds), or one for both when they are the same array (the JS layer's
  // single batch at 0).
  const double* offs[2] = {nullptr, nullptr};
  size_t offLen[2] = {0, 0};
  bool sameOffsets = false;
  NAPI_THROW_IF_FAILED(env, napi_strict_equals(env, argv[6], argv[7], &sameOffsets), MatmulArgs{});
  for (size_t j : {0u, 1u}) {
    if (j == 1 && sameOffsets) {
      offs[1] = offs[0];
      offLen[1] = offLen[0];
      break;
    }
    napi_typedarray_type type;
    void* data = nullptr;
    if (napi_get_typedarray_info(env, argv[6 + j], &type, &offLen[j], &data, nullptr,
                                 nullptr) != napi_ok ||
        type != napi_float64_array) {
      throwType(env, std::string(op) + ": argument '" + (j == 0 ? "aOffsets" : "bOffsets") +
                         "' must be a Float64Array");
    }
    offs[j] = static_cast<const double*>(data);
  }
  const index_t batch = p.batch = static_cast<index_t>(offLen[0]);
  if (static_cast<index_t>(offLen[1]) != batch) {
    throwRange(env, "matmul: 'aOffsets' and 'bOffsets' differ in length");
  }
  const index_t aSize = mul(env, op, p.m, p.k), bSize = mul(env, op, p.k, p.n);
  const index_t cSize = mul(env, op, p.m, p.n);
  requireLength(env, op, "out", out, mul(env, op, batch, cSize));
  requireDisjoint(env, op, "out", out, "a", a);
  requireDisjoint(env, op, "out", out, "b", b);
  const double* ao = offs[0];
  const double* bo = offs[1];
  if (batch > 0 && (ao == nullptr || bo == nullptr)) {
    throwType(env, "matmul: offsets have a detached buffer");
  }
  index_t* offsets = p.few;
  if (batch > 8) {
    p.many.resize(static_cast<size_t>(2 * batch));
    offsets = p.many.data();
  }
  for (index_t i = 0; i < batch; ++i) {
    const double oa = ao[i], ob = bo[i];
    if (!(oa >= 0) || std::floor(oa) != oa || oa + aSize > a.length ||
        (aSize > 0 && oa >= a.length)) {
      throwRange(env, "matmul: aOffsets[" + std::to_string(i) + "] is outside 'a' (" +
                          std::to_string(a.length) + " elements)");
    }
    if (!(ob >= 0) || std::floor(ob) != ob || ob + bSize > b.length ||
        (bSize > 0 && ob >= b.length)) {
      throwRange(env, "matmul: bOffsets[" + std::to_string(i) + "] is outside 'b' (" +
                          std::to_string(b.length) + " elements)");
    }
    offsets[2 * i] = static_cast<index_t>(oa);
    offsets[2 * i + 1] = static_cast<index_t>(ob);
  }
  return p;
}
// The async variant's arguments start at `first`.
MatmulArgs parseMatmulArgs(const Napi::CallbackInfo& info, size_t first) {
  if (info.Length() != first + kMatmulArgc) {
    throwType(info.Env(), "matmul: expected " + std::to_string(first + kMatmulArgc) + " arguments");
  }
  napi_value argv[kMatmulArgc];
  for (size_t i = 0; i < kMatmulArgc; ++i) argv[i] = info[first + i];
  return parseMatmulArgs(info.Env(), argv, kMatmulArgc);
}

// The GEMMs of a parsed matmul. In a StopScope (the async variant,
// threadpool.h) it checks before each batch, as the GEMM does between its
// blocks, and returns false, leaving the rest of out unspecified, once a stop
// is requested; otherwise it returns true.
bool runMatmul(const MatmulArgs& p) {
  const index_t m = p.m, k = p.k, n = p.n, cSize = m * n;
  const index_t* offsets = p.offsets();
  for (index_t i = 0; i < p.batch; ++i) {
    if (ntensor::stop_requested()) return false;
    const index_t oa = offsets[2 * i], ob = offsets[2 * i + 1];
    if (p.dtype == DType::f32) {
      ntensor::gemm_f32(false, false, m, n, k, 1.0f, static_cast<const float*>(p.a) + oa, k,
                        static_cast<const float*>(p.b) + ob, n, 0.0f,
                        static_cast<float*>(p.out) + i * cSize, n);
    } else {
      ntensor::gemm_f64(false, false, m, n, k, 1.0, static_cast<const double*>(p.a) + oa, k,
                        static_cast<const double*>(p.b) + ob, n, 0.0,
                        static_cast<double*>(p.out) + i * cSize, n);
    }
  }
  return true;
}

// ---- conv2d and pooling: a parse step (on the JS thread, every check
// before any pointer is used) and a run step (plain C++, no Node-API: safe on
// a worker thread for the async variants, which keep the buffers alive). ----

// conv2d(input, weight, bias | null, out, n, c, h, w, cout, kh, kw,
//        strideH, strideW, padTop, padBottom, padLeft, padRight,
//        dilationH, dilationW, groups): 20 arguments from `first` on.
// weight is cout x (c / groups) x kh x kw; out is n x cout x oh x ow.
constexpr size_t kConv2dArgc = 20;
// conv2d(input, weight, bias | null, out, sizes) (the sync call only): the
// 16 sizes, n .. groups in the order above, in one Float64Array: one
// typed-array lookup instead of 16 numbers (~0.07 us at d2l sizes). They are
// copied first, then checked one by one as the numbers would be, with the
// same messages.
constexpr size_t kConv2dPackedArgc = 5;
constexpr size_t kConv2dSizes = 16;
constexpr const char* kConv2dSizeNames[kConv2dSizes] = {
    "n", "c", "h", "w", "cout", "kh", "kw", "strideH", "strideW",
    "padTop", "padBottom", "padLeft", "padRight", "dilationH", "dilationW", "groups"};
constexpr index_t kConv2dSizeMin[kConv2dSizes] = {0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1};

struct Conv2dArgs {
  DType dtype;
  const void* x;
  const void* weight;
  const void* bias;  // nullptr: no bias
  void* out;
  ntensor::Conv2dShape shape;
  bool empty;  // the output has no elements: nothing to run
  const void* packed = nullptr;  // weights packed ahead in the current layout, or none
  const void* winograd = nullptr;  // Winograd's transformed weights (conv2dWinogradPack), or none
};

// ---- weights packed ahead (kernels.h: conv2d_pack_*) ----
// conv2dPack(weight, cout, k, groups) -> ArrayBuffer | null: the packing
// behind a header of four int64 (the layout, cout, k, groups), its data at
// the first 64-byte boundary after the header; null when the ISA has no
// layout for the dtype. conv2d takes it back as its last argument; there it
// is checked (header against the call, size against the buffer) before use,
// and a packing made under another layout (an ISA switched since by the
// test hook) is ignored: the call packs per call as without one.
constexpr std::size_t kPackHeader = 4 * sizeof(std::int64_t);

// Bytes of a packing's data (0: no layout for the dtype).
std::size_t packBytes(DType dtype, index_t cout, index_t k, index_t groups) {
  return dtype == DType::f32 ? sizeof(float) * std::size_t(ntensor::conv2d_pack_size_f32(cout, k, groups))
                             : sizeof(double) * std::size_t(ntensor::conv2d_pack_size_f64(cout, k, groups));
}
std::int64_t packLayout(DType dtype) {
  return dtype == DType::f32 ? ntensor::conv2d_pack_layout_f32() : ntensor::conv2d_pack_layout_f64();
}

// The aligned start of the packing's data inside a buffer at `base`.
uint8_t* packData(void* base) {
  const auto at = reinterpret_cast<std::uintptr_t>(base) + kPackHeader;
  return reinterpret_cast<uint8_t*>((at + 63) & ~std::uintptr_t(63));
}

// A new ArrayBuffer of the four-int64 header and `data` bytes after it,
// 64-byte aligned; *dst is where the data goes.
napi_value newPackBuffer(napi_env env, const std::int64_t (&header)[4], std::size_t data, void** dst) {
  napi_value result;
  void* base = nullptr;
  NAPI_THROW_IF_FAILED(env, napi_create_arraybuffer(env, kPackHeader + 63 + data, &base, &result), nullptr);
  std::memcpy(base, header, sizeof header);
  *dst = packData(base);
  return result;
}

// A packing argument of conv2d (`name`, made by `maker`): null/undefined
// (returns false), or an ArrayBuffer whose header (zeros where it is too
// short), first data byte and bytes it gives; anything else is a TypeError.
struct PackArg {
  std::int64_t header[4] = {0, 0, 0, 0};
  const uint8_t* data = nullptr;
  std::size_t bytes = 0;  // the buffer's, from its start
  std::size_t offset = 0;  // of data from the buffer's start
};
bool readPackArg(napi_env env, napi_value value, const char* name, const char* maker, PackArg& p) {
  napi_valuetype type = napi_undefined;
  NAPI_THROW_IF_FAILED(env, napi_typeof(env, value, &type), false);
  if (type == napi_null || type == napi_undefined) return false;
  bool isBuffer = false;
  NAPI_THROW_IF_FAILED(env, napi_is_arraybuffer(env, value, &isBuffer), false);
  if (!isBuffer) {
    throwType(env, std::string("conv2d: argument '") + name + "' must be an ArrayBuffer from " + maker + " or null");
  }
  void* base = nullptr;
  NAPI_THROW_IF_FAILED(env, napi_get_arraybuffer_info(env, value, &base, &p.bytes), false);
  if (base != nullptr && p.bytes >= kPackHeader) std::memcpy(p.header, base, sizeof p.header);
  p.data = packData(base);
  p.offset = std::size_t(p.data - static_cast<uint8_t*>(base));
  return true;
}

// conv2d's out must not lie in a packed buffer it reads (the kernel would
// overwrite weights it has yet to read, and the layer's packing for good).
void requireOutsidePack(napi_env env, const Conv2dArgs& a, const PackArg& p, const char* name) {
  const std::size_t elem = a.dtype == DType::f32 ? sizeof(float) : sizeof(double);
  const ntensor::Conv2dShape& s = a.shape;
  // The out length was checked against these sizes (no overflow).
  const auto* o = static_cast<const uint8_t*>(a.out);
  const uint8_t* base = p.data - p.offset;
  const Array out{a.out, 0, o, o == nullptr ? o : o + elem * std::size_t(s.n * s.cout * s.oh * s.ow), a.dtype};
  const Array pack{nullptr, 0, base, base == nullptr ? base : base + p.bytes, a.dtype};
  requireDisjoint(env, "conv2d", "out", out, name, pack);
}

// The arguments of conv2dPack and conv2dWinogradPack, (weight, cout, k,
// groups) with k named `kName`, checked: groups divides cout, and weight
// holds cout * k * kScale elements.
struct PackCall {
  Array wt;
  index_t cout, k, groups;
};
PackCall parsePackCall(napi_env env, napi_callback_info cbinfo, const char* op, const char* kName,
                       index_t kScale) {
  napi_value argv[4];
  size_t argc = 4;
  NAPI_THROW_IF_FAILED(env, napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, nullptr), PackCall{});
  if (argc != 4) throwType(env, std::string(op) + ": expected 4 arguments");
  PackCall c{getArray(env, argv[0], op, "weight"), getIndex(env, argv[1], op, "cout", 1),
             getIndex(env, argv[2], op, kName, 1), getIndex(env, argv[3], op, "groups", 1)};
  if (c.cout % c.groups != 0) {
    throwRange(env, std::string(op) + ": argument 'groups' (" + std::to_string(c.groups) + ") must divide 'cout' (" +
                        std::to_string(c.cout) + ")");
  }
  requireLength(env, op, "weight", c.wt, mul(env, op, mul(env, op, c.cout, c.k), kScale));
  return c;
}

napi_value ConvPack(napi_env env, napi_callback_info cbinfo) {
  try {
    const auto [wt, cout, k, groups] = parsePackCall(env, cbinfo, "conv2dPack", "k", 1);
    const std::size_t data = packBytes(wt.dtype, cout, k, groups);
    napi_value result;
    if (data == 0) {
      NAPI_THROW_IF_FAILED(env, napi_get_null(env, &result), nullptr);
      return result;
    }
    void* dst = nullptr;
    result = newPackBuffer(env, {packLayout(wt.dtype), cout, k, groups}, data, &dst);
    if (wt.dtype == DType::f32) {
      ntensor::conv2d_pack_f32(static_cast<const float*>(wt.data), cout, k, groups, static_cast<float*>(dst));
    } else {
      ntensor::conv2d_pack_f64(static_cast<const double*>(wt.data), cout, k, groups, static_cast<double*>(dst));
    }
    return result;
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
  }
  return nullptr;
}

// conv2d's last argument: null/undefined (none) or conv2dPack's buffer for
// these weights; returns its data if made under the current layout.
const void* parsePacked(napi_env env, napi_value value, const Conv2dArgs& a) {
  PackArg p;
  if (!readPackArg(env, value, "packed", "conv2dPack", p)) return nullptr;
  requireOutsidePack(env, a, p, "packed");
  const ntensor::Conv2dShape& s = a.shape;
  const index_t k = (s.c / s.groups) * s.kh * s.kw;
  if (p.header[1] != s.cout || p.header[2] != k || p.header[3] != s.groups) {
    throwRange(env, "conv2d: argument 'packed' was not packed from weights of this shape");
  }
  const std::int64_t layout = packLayout(a.dtype);
  if (layout == 0 || p.header[0] != layout) return nullptr;  // another ISA's layout, or none here
  const std::size_t need = packBytes(a.dtype, s.cout, k, s.groups);
  if (need == 0 || p.offset + need > p.bytes) {
    throwRange(env, "conv2d: argument 'packed' is too short for weights of this shape");
  }
  return p.data;
}

// ---- Winograd's transformed weights (kernels.h: conv2d_winograd_*) ----
// conv2dWinogradPack(weight, cout, cg, groups) -> ArrayBuffer: the
// transformed weights of cout x cg x 3 x 3 weights, packed for the current
// ISA's GEMM, behind the same four-int64 header as conv2dPack's: its first
// word kWinogradTag plus the layout, k = cg * 9. conv2d takes it as the
// argument after `packed` and checks it as that one before use; one made
// under another layout (the test hook switched the ISA since) is ignored.
constexpr std::int64_t kWinogradTag = std::int64_t('W') << 56;
constexpr std::int64_t kLayoutBits = (std::int64_t(1) << 56) - 1;

std::size_t winogradBytes(DType dtype, index_t cout, index_t cg, index_t groups) {
  return dtype == DType::f32 ? sizeof(float) * std::size_t(ntensor::conv2d_winograd_size_f32(cout, cg, groups))
                             : sizeof(double) * std::size_t(ntensor::conv2d_winograd_size_f64(cout, cg, groups));
}
std::int64_t winogradLayout(DType dtype) {
  return dtype == DType::f32 ? ntensor::conv2d_winograd_layout_f32() : ntensor::conv2d_winograd_layout_f64();
}

napi_value ConvWinogradPack(napi_env env, napi_callback_info cbinfo) {
  try {
    const auto [wt, cout, cg, groups] = parsePackCall(env, cbinfo, "conv2dWinogradPack", "cg", 9);
    // About 16/9 of the weights' own length (cout rounded up to MR).
    const std::size_t data = winogradBytes(wt.dtype, cout, cg, groups);
    // A depthwise layer's comes to ~25x its weights (each group rounded up
    // to the GEMM's MR rows), and Winograd never runs there (it needs 32
    // channels per group in and out): past conv2d_packing_pays, null
    // (PackedConv2d then runs conv2d's paths).
    const std::size_t elem = wt.dtype == DType::f32 ? sizeof(float) : sizeof(double);
    if (!ntensor::conv2d_packing_pays(double(data / elem), double(cout) * double(cg) * 9.0, elem)) {
      napi_value none;
      NAPI_THROW_IF_FAILED(env, napi_get_null(env, &none), nullptr);
      return none;
    }
    void* dst = nullptr;
    const napi_value result = newPackBuffer(env, {kWinogradTag | winogradLayout(wt.dtype), cout, cg * 9, groups}, data, &dst);
    const bool ok = wt.dtype == DType::f32
        ? ntensor::conv2d_winograd_pack_f32(static_cast<const float*>(wt.data), cout, cg, groups, static_cast<float*>(dst))
        : ntensor::conv2d_winograd_pack_f64(static_cast<const double*>(wt.data), cout, cg, groups, static_cast<double*>(dst));
    if (!ok) throwRange(env, "conv2dWinogradPack: out of memory");
    return result;
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
  }
  return nullptr;
}

// conv2d's argument after `packed`: null/undefined (none) or
// conv2dWinogradPack's buffer for these weights, for a 3 x 3, stride-1,
// undilated conv2d; returns its data.
const void* parseWinograd(napi_env env, napi_value value, const Conv2dArgs& a) {
  PackArg p;
  if (!readPackArg(env, value, "winograd", "conv2dWinogradPack", p)) return nullptr;
  requireOutsidePack(env, a, p, "winograd");
  const ntensor::Conv2dShape& s = a.shape;
  const index_t cg = s.c / s.groups;
  if ((p.header[0] & ~kLayoutBits) != kWinogradTag || p.header[1] != s.cout || p.header[2] != cg * s.kh * s.kw ||
      p.header[3] != s.groups || !ntensor::conv2d_winograd_applies(s)) {
    throwRange(env, "conv2d: argument 'winograd' was not made from 3x3 weights of this shape for a stride-1, undilated conv2d");
  }
  if ((p.header[0] & kLayoutBits) != winogradLayout(a.dtype)) return nullptr;  // another ISA's layout
  if (p.offset + winogradBytes(a.dtype, s.cout, cg, s.groups) > p.bytes) {
    throwRange(env, "conv2d: argument 'winograd' is too short for weights of this shape");
  }
  return p.data;
}

// argv holds argc arguments (at least kConv2dArgc of them readable); with
// `packed`, 5 (sizes in a Float64Array) are accepted too.
Conv2dArgs parseConv2dArgs(napi_env env, const napi_value* argv, size_t argc, bool packed = false) {
  static constexpr const char* op = "conv2d";
  if (argc != kConv2dArgc && !(packed && argc == kConv2dPackedArgc)) {
    throwType(env, "conv2d: expected 20 arguments");
  }
  const Array x = getArray(env, argv[0], op, "input");
  const Array wt = getArray(env, argv[1], op, "weight");
  napi_valuetype biasType = napi_undefined;
  NAPI_THROW_IF_FAILED(env, napi_typeof(env, argv[2], &biasType), Conv2dArgs{});
  const bool hasBias = !(biasType == napi_null || biasType == napi_undefined);
  Array bias{};
  if (hasBias) bias = getArray(env, argv[2], op, "bias");
  const Array out = getArray(env, argv[3], op, "out");
  requireSameDType(env, op, "weight", wt, x);
  if (hasBias) requireSameDType(env, op, "bias", bias, x);
  requireSameDType(env, op, "out", out, x);
  index_t z[kConv2dSizes];
  if (argc == kConv2dPackedArgc) {
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    if (napi_get_typedarray_info(env, argv[4], &type, &length, &data, nullptr, nullptr) != napi_ok ||
        type != napi_float64_array || length != kConv2dSizes || data == nullptr) {
      throwType(env, "conv2d: argument 'sizes' must be a Float64Array of 16 sizes");
    }
    double d[kConv2dSizes];  // copied before any check (out may share its memory)
    for (size_t i = 0; i < kConv2dSizes; ++i) d[i] = static_cast<const double*>(data)[i];
    for (size_t i = 0; i < kConv2dSizes; ++i) {
      z[i] = checkIndex(env, d[i], op, kConv2dSizeNames[i], kConv2dSizeMin[i]);
    }
  } else {
    for (size_t i = 0; i < kConv2dSizes; ++i) {
      z[i] = getIndex(env, argv[4 + i], op, kConv2dSizeNames[i], kConv2dSizeMin[i]);
    }
  }
  ntensor::Conv2dShape s{};
  s.n = z[0];
  s.c = z[1];
  s.h = z[2];
  s.w = z[3];
  s.cout = z[4];
  s.kh = z[5];
  s.kw = z[6];
  s.strideH = z[7];
  s.strideW = z[8];
  s.padTop = z[9];
  s.padBottom = z[10];
  s.padLeft = z[11];
  s.padRight = z[12];
  s.dilationH = z[13];
  s.dilationW = z[14];
  s.groups = z[15];
  if (s.c % s.groups != 0 || s.cout % s.groups != 0) {
    throwRange(env, "conv2d: groups (" + std::to_string(s.groups) +
                        ") must divide both c (" + std::to_string(s.c) + ") and cout (" +
                        std::to_string(s.cout) + ")");
  }
  // Every size is at most 2^53, so these sums and products of two stay far
  // inside int64; larger products go through mul().
  requirePixels(env, op, s.n, s.c, s.h, s.w);
  const index_t ph = s.h + s.padTop + s.padBottom, pw = s.w + s.padLeft + s.padRight;
  const index_t ekh = mul(env, op, s.dilationH, s.kh - 1) + 1;
  const index_t ekw = mul(env, op, s.dilationW, s.kw - 1) + 1;
  if (ph < ekh || pw < ekw) {
    throwRange(env, "conv2d: the dilated kernel (" + std::to_string(ekh) + " x " + std::to_string(ekw) +
                        ", from 'kh', 'kw', 'dilationH', 'dilationW') can't be greater than the padded input (" +
                        std::to_string(ph) + " x " + std::to_string(pw) + ", from 'h', 'w' and the padding)");
  }
  s.oh = (ph - ekh) / s.strideH + 1;
  s.ow = (pw - ekw) / s.strideW + 1;
  requireLength(env, op, "input", x,
                mul(env, op, mul(env, op, s.n, s.c), mul(env, op, s.h, s.w)));
  requireLength(env, op, "weight", wt,
                mul(env, op, mul(env, op, s.cout, s.c / s.groups), mul(env, op, s.kh, s.kw)));
  if (hasBias) requireLength(env, op, "bias", bias, s.cout);
  const index_t outLen = mul(env, op, mul(env, op, s.n, s.cout), mul(env, op, s.oh, s.ow));
  requireLength(env, op, "out", out, outLen);
  requireDisjoint(env, op, "out", out, "input", x);
  requireDisjoint(env, op, "out", out, "weight", wt);
  if (hasBias) requireDisjoint(env, op, "out", out, "bias", bias);
  return Conv2dArgs{x.dtype, x.data, wt.data, hasBias ? bias.data : nullptr, out.data, s,
                    outLen == 0};
}
// The async variant's arguments start at `first`; up to two more after them
// are the weights packed ahead and Winograd's (each may be null).
Conv2dArgs parseConv2dArgs(const Napi::CallbackInfo& info, size_t first) {
  const size_t n = info.Length();
  if (n < first + kConv2dArgc || n > first + kConv2dArgc + 2) {
    throwType(info.Env(), "conv2d: expected " + std::to_string(first + kConv2dArgc) + " to " +
                              std::to_string(first + kConv2dArgc + 2) + " arguments");
  }
  napi_value argv[kConv2dArgc];
  for (size_t i = 0; i < kConv2dArgc; ++i) argv[i] = info[first + i];
  Conv2dArgs a = parseConv2dArgs(info.Env(), argv, kConv2dArgc);
  if (n > first + kConv2dArgc) a.packed = parsePacked(info.Env(), info[first + kConv2dArgc], a);
  if (n > first + kConv2dArgc + 1) a.winograd = parseWinograd(info.Env(), info[first + kConv2dArgc + 1], a);
  return a;
}


void runConv2d(const Conv2dArgs& a) {
  if (a.empty) return;
  if (a.winograd != nullptr) {
    if (a.dtype == DType::f32) {
      ntensor::conv2d_winograd_f32(a.shape, static_cast<const float*>(a.x), static_cast<const float*>(a.weight),
                                   static_cast<const float*>(a.winograd), static_cast<const float*>(a.bias),
                                   static_cast<float*>(a.out), static_cast<const float*>(a.packed));
    } else {
      ntensor::conv2d_winograd_f64(a.shape, static_cast<const double*>(a.x), static_cast<const double*>(a.weight),
                                   static_cast<const double*>(a.winograd), static_cast<const double*>(a.bias),
                                   static_cast<double*>(a.out), static_cast<const double*>(a.packed));
    }
    return;
  }
  if (a.dtype == DType::f32) {
    ntensor::conv2d_f32(a.shape, static_cast<const float*>(a.x),
                        static_cast<const float*>(a.weight),
                        static_cast<const float*>(a.bias), static_cast<float*>(a.out),
                        static_cast<const float*>(a.packed));
  } else {
    ntensor::conv2d_f64(a.shape, static_cast<const double*>(a.x),
                        static_cast<const double*>(a.weight),
                        static_cast<const double*>(a.bias), static_cast<double*>(a.out),
                        static_cast<const double*>(a.packed));
  }
}

// The sync matmul and conv2d are plain Node-API functions rather than
// node-addon-api instance methods: no CallbackInfo (two napi_get_cb_info
// calls and a heap array above 6 arguments), no unwrapping of the addon
// object. At the d2l sizes the call costs more than the kernel. The checks
// are the same parse steps; their Napi::Error is thrown into JS here, as
// node-addon-api's wrapper does.
napi_value SyncMatmul(napi_env env, napi_callback_info cbinfo) {
  napi_value argv[kMatmulArgc];
  size_t argc = kMatmulArgc;  // becomes the actual count; argv keeps the first 8
  if (napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  try {
    runMatmul(parseMatmulArgs(env, argv, argc));
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
  }
  return nullptr;
}

napi_value SyncConv2d(napi_env env, napi_callback_info cbinfo) {
  napi_value argv[kConv2dArgc];
  size_t argc = kConv2dArgc;
  if (napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  try {
    // (input, weight, bias, out, sizes, packed[, winograd]): the
    // packed-sizes call with weights packed ahead (either may be null).
    if (argc == kConv2dPackedArgc + 1 || argc == kConv2dPackedArgc + 2) {
      Conv2dArgs a = parseConv2dArgs(env, argv, kConv2dPackedArgc, /*packed=*/true);
      a.packed = parsePacked(env, argv[kConv2dPackedArgc], a);
      if (argc == kConv2dPackedArgc + 2) a.winograd = parseWinograd(env, argv[kConv2dPackedArgc + 1], a);
      runConv2d(a);
      return nullptr;
    }
    runConv2d(parseConv2dArgs(env, argv, argc, /*packed=*/true));
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
  }
  return nullptr;
}

// maxPool2d / avgPool2d(input, out, n, c, h, w, kh, kw, strideH, strideW,
//   padH, padW, dilationH, dilationW, ceilMode, countIncludePad, divisor):
//   17 arguments from `first` on. ceilMode and countIncludePad are booleans;
//   divisor is an integer, 0 for none. Average pooling takes dilation 1;
//   max pooling ignores countIncludePad and divisor.
constexpr size_t kPool2dArgc = 17;
enum class PoolKind { max, avg };

struct Pool2dArgs {
  PoolKind kind;
  DType dtype;
  const void* x;
  void* out;
  ntensor::Pool2dShape shape;
  bool empty;
};

bool getBool(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  bool b = false;
  if (napi_get_value_bool(info.Env(), info[i], &b) != napi_ok) {
    throwType(info.Env(), std::string(op) + ": argument '" + name + "' must be a boolean");
  }
  return b;
}

// PyTorch's pooling output size (pooling_output_shape): the windows that
// start inside the input or its left padding; may be 0 or negative.
index_t poolOutputSize(Napi::Env env, const char* op, index_t in, index_t k, index_t stride,
                       index_t pad, index_t dilation, bool ceilMode) {
  index_t num = in + 2 * pad - mul(env, op, dilation, k - 1) - 1 + (ceilMode ? stride - 1 : 0);
  index_t out = (num >= 0 ? num / stride : -((-num + stride - 1) / stride)) + 1;  // floor division
  if (ceilMode && (out - 1) * stride >= in + pad) --out;
  return out;
}

Pool2dArgs parsePool2dArgs(const Napi::CallbackInfo& info, size_t first, PoolKind kind) {
  const char* op = kind == PoolKind::max ? "maxPool2d" : "avgPool2d";
  Napi::Env env = info.Env();
  if (info.Length() != first + kPool2dArgc) throwType(env, std::string(op) + ": expected 17 arguments");
  const Array x = getArray(info, first + 0, op, "input");
  const Array out = getArray(info, first + 1, op, "out");
  requireSameDType(env, op, "out", out, x);
  ntensor::Pool2dShape s{};
  size_t i = first + 2;
  s.n = getIndex(info, i++, op, "n");
  s.c = getIndex(info, i++, op, "c");
  s.h = getIndex(info, i++, op, "h");
  s.w = getIndex(info, i++, op, "w");
  s.kh = getIndex(info, i++, op, "kh", 1);
  s.kw = getIndex(info, i++, op, "kw", 1);
  s.strideH = getIndex(info, i++, op, "strideH", 1);
  s.strideW = getIndex(info, i++, op, "strideW", 1);
  s.padH = getIndex(info, i++, op, "padH");
  s.padW = getIndex(info, i++, op, "padW");
  s.dilationH = getIndex(info, i++, op, "dilationH", 1);
  s.dilationW = getIndex(info, i++, op, "dilationW", 1);
  const bool ceilMode = getBool(info, i++, op, "ceilMode");
  s.countIncludePad = getBool(info, i++, op, "countIncludePad");
  double divisor = 0;
  if (napi_get_value_double(env, info[i], &divisor) != napi_ok || !(std::fabs(divisor) <= 9007199254740991.0) ||
      std::trunc(divisor) != divisor) {
    throwType(env, std::string(op) + ": argument 'divisor' must be an integer");
  }
  s.divisor = static_cast<index_t>(divisor);
  if (kind == PoolKind::max) {
    s.countIncludePad = true;
    s.divisor = 0;
  } else if (s.dilationH != 1 || s.dilationW != 1) {
    throwRange(env, std::string(op) + ": arguments 'dilationH' and 'dilationW' must be 1 (average pooling has no dilation)");
  }
  if (s.padH > s.kh / 2 || s.padW > s.kw / 2) {
    throwRange(env, std::string(op) + ": pad should be at most half of kernel size (arguments 'padH', 'padW' against 'kh', 'kw')");
  }
  s.oh = poolOutputSize(env, op, s.h, s.kh, s.strideH, s.padH, s.dilationH, ceilMode);
  s.ow = poolOutputSize(env, op, s.w, s.kw, s.strideW, s.padW, s.dilationW, ceilMode);
  if (s.oh < 1 || s.ow < 1) {
    throwRange(env, std::string(op) + ": output size is too small (" + std::to_string(s.oh) + " x " + std::to_string(s.ow) +
                        " from 'h', 'w', the kernel, stride, padding and dilation)");
  }
  requirePixels(env, op, s.n, s.c, s.h, s.w);
  requireLength(env, op, "input", x,
                mul(env, op, mul(env, op, s.n, s.c), mul(env, op, s.h, s.w)));
  const index_t outLen = mul(env, op, mul(env, op, s.n, s.c), mul(env, op, s.oh, s.ow));
  requireLength(env, op, "out", out, outLen);
  requireDisjoint(env, op, "out", out, "input", x);
  return Pool2dArgs{kind, x.dtype, x.data, out.data, s, outLen == 0};
}

void runPool2d(const Pool2dArgs& a) {
  if (a.empty) return;
  const bool mx = a.kind == PoolKind::max;
  if (a.dtype == DType::f32) {
    const auto* x = static_cast<const float*>(a.x);
    auto* y = static_cast<float*>(a.out);
    mx ? ntensor::max_pool2d_f32(a.shape, x, y) : ntensor::avg_pool2d_f32(a.shape, x, y);
  } else {
    const auto* x = static_cast<const double*>(a.x);
    auto* y = static_cast<double*>(a.out);
    mx ? ntensor::max_pool2d_f64(a.shape, x, y) : ntensor::avg_pool2d_f64(a.shape, x, y);
  }
}

class NtensorAddon : public Napi::Addon<NtensorAddon> {
 public:
  NtensorAddon(Napi::Env env, Napi::Object exports) {
    // matmul and conv2d: plain functions (see SyncMatmul), with the
    // attributes InstanceMethod gives (napi_default).
    const napi_property_descriptor sync[] = {
        {"matmul", nullptr, SyncMatmul, nullptr, nullptr, nullptr, napi_default, nullptr},
        {"conv2d", nullptr, SyncConv2d, nullptr, nullptr, nullptr, napi_default, nullptr},
        {"conv2dPack", nullptr, ConvPack, nullptr, nullptr, nullptr, napi_default, nullptr},
        {"conv2dWinogradPack", nullptr, ConvWinogradPack, nullptr, nullptr, nullptr, napi_default, nullptr},
    };
    NAPI_THROW_IF_FAILED_VOID(env, napi_define_properties(env, exports, sizeof sync / sizeof sync[0], sync));
    DefineAddon(exports, {
        InstanceMethod("maxPool2d", &NtensorAddon::MaxPool2d),
        InstanceMethod("avgPool2d", &NtensorAddon::AvgPool2d),
        InstanceMethod("matmulAsync", &NtensorAddon::MatmulAsync),
        InstanceMethod("conv2dAsync", &NtensorAddon::Conv2dAsync),
        InstanceMethod("maxPool2dAsync", &NtensorAddon::MaxPool2dAsync),
        InstanceMethod("avgPool2dAsync", &NtensorAddon::AvgPool2dAsync),
        InstanceMethod("abortAsync", &NtensorAddon::AbortAsync),
        InstanceMethod("closeAsync", &NtensorAddon::CloseAsync),
        InstanceMethod("_asyncStats", &NtensorAddon::AsyncStats),
        InstanceMethod("backendInfo", &NtensorAddon::BackendInfo),
        InstanceMethod("setNumThreads", &NtensorAddon::SetNumThreads),
        InstanceMethod("getNumThreads", &NtensorAddon::GetNumThreads),
        InstanceMethod("_setIsa", &NtensorAddon::SetIsa),
        InstanceMethod("_gemm", &NtensorAddon::Gemm),
        InstanceMethod("_setGemmPath", &NtensorAddon::SetGemmPath),
        InstanceMethod("_setConvPath", &NtensorAddon::SetConvPath),
        InstanceMethod("_lastConv2d", &NtensorAddon::LastConv2d),
        InstanceMethod("_fmaPeak", &NtensorAddon::FmaPeak),
        InstanceMethod("_checkLeaveCpu", &NtensorAddon::CheckLeaveCpu),
        InstanceMethod("_poolWakeStats", &NtensorAddon::PoolWakeStats),
        InstanceMethod("_hugePageOffset", &NtensorAddon::HugePageOffset),
    });
  }

 private:
  // What this environment's async jobs share (async.h).
  ntensor::async::Ref<ntensor::async::EnvState> async_ = ntensor::async::Ref<ntensor::async::EnvState>::make();

  // matmul(...) and conv2d(...): SyncMatmul and SyncConv2d above.

  // maxPool2d(...) / avgPool2d(...): see parsePool2dArgs.
  Napi::Value MaxPool2d(const Napi::CallbackInfo& info) {
    runPool2d(parsePool2dArgs(info, 0, PoolKind::max));
    return info.Env().Undefined();
  }
  Napi::Value AvgPool2d(const Napi::CallbackInfo& info) {
    runPool2d(parsePool2dArgs(info, 0, PoolKind::avg));
    return info.Env().Undefined();
  }

  // ---- async variants (async.h): (token, ...the sync call's arguments) ->
  // Promise<boolean>, parsed and checked here by the sync call's parse step,
  // run on libuv's thread pool. ----

  Napi::Value MatmulAsync(const Napi::CallbackInfo& info) {
    MatmulArgs args = parseMatmulArgs(info, 1);
    return ntensor::async::Queue(
        info.Env(), "matmul", async_,
        ntensor::async::MakeKernel([args = std::move(args)](const ntensor::async::Cancellation& c) {
          const ntensor::StopScope scope(&c);  // between batches and the GEMM's blocks
          return runMatmul(args) && !c.requested();
        }),
        {info[1], info[2], info[3]}, info[0]);
  }

  Napi::Value Conv2dAsync(const Napi::CallbackInfo& info) {
    const Conv2dArgs args = parseConv2dArgs(info, 1);
    return ntensor::async::Queue(
        info.Env(), "conv2d", async_,
        ntensor::async::MakeKernel([args](const ntensor::async::Cancellation& c) {
          const ntensor::StopScope scope(&c);  // conv2d's work items stop taking more
          runConv2d(args);
          return !c.requested();
        }),
        {info[1], info[2], info[3], info[4], info[21], info[22]}, info[0]);  // packed, winograd, or undefined
  }

  // maxPool2dAsync / avgPool2dAsync(token, ...maxPool2d's arguments): the
  // kernel runs to the end once started (a cancel skips it before).
  Napi::Value Pool2dAsync(const Napi::CallbackInfo& info, PoolKind kind) {
    const Pool2dArgs args = parsePool2dArgs(info, 1, kind);
    return ntensor::async::Queue(
        info.Env(), kind == PoolKind::max ? "maxPool2d" : "avgPool2d", async_,
        ntensor::async::MakeKernel([args](const ntensor::async::Cancellation&) {
          runPool2d(args);
          return true;
        }),
        {info[1], info[2]}, info[0]);
  }
  Napi::Value MaxPool2dAsync(const Napi::CallbackInfo& info) { return Pool2dAsync(info, PoolKind::max); }
  Napi::Value AvgPool2dAsync(const Napi::CallbackInfo& info) { return Pool2dAsync(info, PoolKind::avg); }

  // abortAsync(token): cancels the job queued with token (see async.h).
  Napi::Value AbortAsync(const Napi::CallbackInfo& info) {
    ntensor::async::Abort(info.Env(), info[0]);
    return info.Env().Undefined();
  }

  // closeAsync(): this environment is exiting (process.exit): its queued
  // jobs skip and its running ones stop, so exit does not wait for them.
  Napi::Value CloseAsync(const Napi::CallbackInfo& info) {
    async_->closing.store(true, std::memory_order_relaxed);
    return info.Env().Undefined();
  }

  // _asyncStats() (tests): this environment's job counters (async.h).
  Napi::Value AsyncStats(const Napi::CallbackInfo& info) {
    return ntensor::async::Stats(info.Env(), *async_);
  }

  Napi::Value BackendInfo(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("isa", ntensor::kernel_isa());
    o.Set("threads", ntensor::get_num_threads());
    // NTENSOR_NUM_THREADS when the pool ignored it (lib/native.ts warns once)
    if (const char* bad = ntensor::ignored_threads_env()) o.Set("ignoredNumThreadsEnv", bad);
    o.Set("napiVersion", NAPI_VERSION);
    const char* names[8];
    const int count = ntensor::supported_isas(names, 8);
    Napi::Array isas = Napi::Array::New(env, count);
    for (int i = 0; i < count; ++i) isas.Set(uint32_t(i), names[i]);
    o.Set("supportedIsas", isas);
    Napi::Object blocking = Napi::Object::New(env);
    for (bool f64 : {false, true}) {
      const ntensor::GemmBlocking b = ntensor::gemm_blocking(f64);
      Napi::Object d = Napi::Object::New(env);
      d.Set("mr", b.mr);
      d.Set("nr", b.nr);
      d.Set("mc", b.mc);
      d.Set("kc", b.kc);
      d.Set("nc", b.nc);
      d.Set("small", b.small);
      blocking.Set(f64 ? "float64" : "float32", d);
    }
    o.Set("blocking", blocking);
    return o;
  }

  // setNumThreads(n): threads GEMM may use (the caller included), 1..256.
  Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
    static constexpr const char* op = "setNumThreads";
    Napi::Env env = info.Env();
    if (info.Length() != 1) throwType(env, "setNumThreads: expected 1 argument");
    const index_t n = getIndex(info, 0, op, "n", 1);
    if (n > ntensor::kMaxThreads) {
      throwRange(env, "setNumThreads: argument 'n' must be at most " +
                          std::to_string(ntensor::kMaxThreads) + ", got " + std::to_string(n));
    }
    ntensor::set_num_threads(static_cast<int>(n));
    return env.Undefined();
  }

  Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), ntensor::get_num_threads());
  }

  // _setIsa(name) (tests): 'avx512' | 'avx2' (x86-64) | 'neon' (aarch64) |
  // 'scalar' | 'auto'. The ISA
  // can only go down to what this CPU supports; returns the one now in use.
  Napi::Value SetIsa(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() != 1 || !info[0].IsString()) {
      throwType(env, "_setIsa: expected a string ('avx512', 'avx2', 'neon', 'scalar' or 'auto')");
    }
    const std::string name = info[0].As<Napi::String>().Utf8Value();
    const char* set = ntensor::set_kernel_isa(name.c_str());
    if (set == nullptr) {
      throwRange(env, "_setIsa: unknown ISA '" + name +
                          "' (expected 'avx512' or 'avx2' on x86-64, 'neon' on aarch64, 'scalar' or 'auto')");
    }
    return Napi::String::New(env, set);
  }

  // _checkLeaveCpu() (tests): threadpool.h's check_leave_cpu on this
  // thread: { from, to, maskKept }, or null where it cannot be checked.
  Napi::Value CheckLeaveCpu(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int from = -1, to = -1;
    bool maskKept = false;
    if (!ntensor::check_leave_cpu(&from, &to, &maskKept)) return env.Null();
    Napi::Object o = Napi::Object::New(env);
    o.Set("from", from);
    o.Set("to", to);
    o.Set("maskKept", maskKept);
    return o;
  }

  // _hugePageOffset(buffer) (lib/dtype.ts): gemm.h's huge_page_offset of
  // an ArrayBuffer's memory.
  Napi::Value HugePageOffset(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() != 1 || !info[0].IsArrayBuffer()) {
      throwType(env, "_hugePageOffset: expected an ArrayBuffer");
    }
    return Napi::Number::New(env, double(ntensor::gemm::huge_page_offset(info[0].As<Napi::ArrayBuffer>().Data())));
  }

  // _poolWakeStats() (tests): threadpool.h's pool_wake_stats, as
  // { slept, onOwnerCpu, notNeeded }.
  Napi::Value PoolWakeStats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    long slept = 0, onOwnerCpu = 0, notNeeded = 0;
    ntensor::pool_wake_stats(&slept, &onOwnerCpu, &notNeeded);
    Napi::Object o = Napi::Object::New(env);
    o.Set("slept", double(slept));
    o.Set("onOwnerCpu", double(onOwnerCpu));
    o.Set("notNeeded", double(notNeeded));
    return o;
  }

  // _fmaPeak(dtype, seconds) (speed scripts): the current ISA's one-thread
  // FMA peak in GFLOP/s, measured for about `seconds` (0 to 10).
  Napi::Value FmaPeak(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() != 2 || !info[0].IsString() || !info[1].IsNumber()) {
      throwType(env, "_fmaPeak: expected (dtype: 'float32' | 'float64', seconds: number)");
    }
    const std::string dt = info[0].As<Napi::String>().Utf8Value();
    const double seconds = info[1].As<Napi::Number>().DoubleValue();
    if ((dt != "float32" && dt != "float64") || !(seconds >= 0 && seconds <= 10)) {
      throwRange(env, "_fmaPeak: dtype must be 'float32' or 'float64' and seconds in [0, 10]");
    }
    return Napi::Number::New(env, ntensor::fma_peak_gflops(dt == "float64", seconds));
  }

  // _setGemmPath(mode) (tests): 'auto' | 'small' | 'packed' | 'parallel' |
  // 'gemv' (kernels.h: set_gemm_path); returns the mode set.
  Napi::Value SetGemmPath(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() != 1 || !info[0].IsString()) {
      throwType(env, "_setGemmPath: expected a string ('auto', 'small', 'packed', 'parallel' or 'gemv')");
    }
    const std::string name = info[0].As<Napi::String>().Utf8Value();
    const char* set = ntensor::set_gemm_path(name.c_str());
    if (set == nullptr) {
      throwRange(env, "_setGemmPath: unknown mode '" + name +
                          "' (expected 'auto', 'small', 'packed', 'parallel' or 'gemv')");
    }
    return Napi::String::New(env, set);
  }

  // _setConvPath(mode) (tests, bench): 'auto' | 'reference' | 'direct' |
  // 'gemm' | 'gemm-t' | 'direct-t' | 'pointwise' | 'winograd' (kernels.h: set_conv_path); returns the mode set.
  Napi::Value SetConvPath(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    static constexpr const char* modes = "'auto', 'reference', 'direct', 'gemm', 'gemm-t', 'direct-t', 'pointwise' or 'winograd'";
    if (info.Length() != 1 || !info[0].IsString()) {
      throwType(env, std::string("_setConvPath: expected a string (") + modes + ")");
    }
    const std::string name = info[0].As<Napi::String>().Utf8Value();
    const char* set = ntensor::set_conv_path(name.c_str());
    if (set == nullptr) {
      throwRange(env, "_setConvPath: unknown mode '" + name + "' (expected " + modes + ")");
    }
    return Napi::String::New(env, set);
  }

  // _lastConv2d() (tests, bench): what this thread's last conv2d did:
  // { path, packedWeightBytes, tileBytesPerThread, threads }.
  Napi::Value LastConv2d(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const ntensor::Conv2dCallInfo c = ntensor::conv2d_last_call();
    Napi::Object o = Napi::Object::New(env);
    o.Set("path", c.path != nullptr ? c.path : "none");
    o.Set("packedWeightBytes", double(c.packedWeightBytes));
    o.Set("tileBytesPerThread", double(c.tileBytesPerThread));
    o.Set("threads", c.threads);
    return o;
  }

  // Checks that a row-major rows x cols matrix with leading dimension ld
  // lies inside a.
  static void requireMatrix(Napi::Env env, const char* op, const char* name,
                            const Array& a, index_t rows, index_t cols, index_t ld) {
    if (ld < (cols > 1 ? cols : 1)) {
      throwRange(env, std::string(op) + ": leading dimension of '" + name + "' (" +
                          std::to_string(ld) + ") is less than its " +
                          std::to_string(cols) + " columns");
    }
    if (rows == 0 || cols == 0) return;
    const index_t need = mul(env, op, rows - 1, ld) + cols;
    if (need > a.length) {
      throwRange(env, std::string(op) + ": '" + name + "' (" + std::to_string(rows) + "x" +
                          std::to_string(cols) + ", leading dimension " + std::to_string(ld) +
                          ") needs " + std::to_string(need) + " elements but has " +
                          std::to_string(a.length));
    }
  }

  // _gemm(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc)
  // (tests): C = alpha * op(A) * op(B) + beta * C exactly as kernels.h's
  // gemm_f32/gemm_f64, row-major with leading dimensions; C is written in
  // place.
  Napi::Value Gemm(const Napi::CallbackInfo& info) {
    static constexpr const char* op = "_gemm";
    Napi::Env env = info.Env();
    if (info.Length() != 13) throwType(env, "_gemm: expected 13 arguments");
    for (size_t i : {0u, 1u}) {
      if (!info[i].IsBoolean()) {
        throwType(env, std::string("_gemm: argument '") + (i == 0 ? "transA" : "transB") +
                           "' must be a boolean");
      }
    }
    const bool transA = info[0].As<Napi::Boolean>().Value();
    const bool transB = info[1].As<Napi::Boolean>().Value();
    const index_t m = getIndex(info, 2, op, "m");
    const index_t n = getIndex(info, 3, op, "n");
    const index_t k = getIndex(info, 4, op, "k");
    for (size_t i : {5u, 10u}) {
      if (!info[i].IsNumber()) {
        throwType(env, std::string("_gemm: argument '") + (i == 5 ? "alpha" : "beta") +
                           "' must be a number");
      }
    }
    const double alpha = info[5].As<Napi::Number>().DoubleValue();
    const double beta = info[10].As<Napi::Number>().DoubleValue();
    const Array A = getArray(info, 6, op, "A");
    const index_t lda = getIndex(info, 7, op, "lda", 1);
    const Array B = getArray(info, 8, op, "B");
    const index_t ldb = getIndex(info, 9, op, "ldb", 1);
    const Array C = getArray(info, 11, op, "C");
    const index_t ldc = getIndex(info, 12, op, "ldc", 1);
    requireSameDType(env, op, "B", B, A);
    requireSameDType(env, op, "C", C, A);
    requireMatrix(env, op, "A", A, transA ? k : m, transA ? m : k, lda);
    requireMatrix(env, op, "B", B, transB ? n : k, transB ? k : n, ldb);
    requireMatrix(env, op, "C", C, m, n, ldc);
    requireDisjoint(env, op, "C", C, "A", A);
    requireDisjoint(env, op, "C", C, "B", B);
    if (A.dtype == DType::f32) {
      ntensor::gemm_f32(transA, transB, m, n, k, static_cast<float>(alpha),
                        static_cast<const float*>(A.data), lda,
                        static_cast<const float*>(B.data), ldb, static_cast<float>(beta),
                        static_cast<float*>(C.data), ldc);
    } else {
      ntensor::gemm_f64(transA, transB, m, n, k, alpha, static_cast<const double*>(A.data),
                        lda, static_cast<const double*>(B.data), ldb, beta,
                        static_cast<double*>(C.data), ldc);
    }
    return env.Undefined();
  }
};

}  // namespace

NODE_API_ADDON(NtensorAddon)
