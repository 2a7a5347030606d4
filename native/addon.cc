// The Node-API boundary: unpacks and validates arguments, then calls the
// kernels in kernels.h. Nothing numeric happens here. Every length, shape and
// offset is checked against the real typed arrays before a pointer is
// touched, independently of the TypeScript layer's own checks: a lie in a
// shape is a thrown RangeError, never a read past the end of a buffer.
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels.h"

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

Array getArray(const Napi::CallbackInfo& info, size_t i, const char* op,
               const char* name) {
  Napi::Env env = info.Env();
  const std::string what = std::string(op) + ": argument '" + name + "'";
  if (!info[i].IsTypedArray()) {
    throwType(env, what + " must be a Float32Array or Float64Array");
  }
  // The raw call gives the data pointer for any backing store; the buffer
  // itself is checked to be a plain (not shared) ArrayBuffer.
  napi_typedarray_type type;
  size_t length = 0, byteOffset = 0;
  void* data = nullptr;
  napi_value buffer;
  NAPI_THROW_IF_FAILED(env, napi_get_typedarray_info(env, info[i], &type, &length, &data,
                                                     &buffer, &byteOffset),
                       Array{});
  Array a{};
  switch (type) {
    case napi_float32_array: a.dtype = DType::f32; break;
    case napi_float64_array: a.dtype = DType::f64; break;
    default: throwType(env, what + " must be a Float32Array or Float64Array");
  }
  bool plain = false;
  NAPI_THROW_IF_FAILED(env, napi_is_arraybuffer(env, buffer, &plain), Array{});
  if (!plain) {
    // Another thread could change a SharedArrayBuffer while a kernel reads it.
    throwType(env, what + " must not be backed by a SharedArrayBuffer");
  }
  bool detached = false;
  NAPI_THROW_IF_FAILED(env, napi_is_detached_arraybuffer(env, buffer, &detached), Array{});
  if (detached || (data == nullptr && length > 0)) {
    throwType(env, what + " has a detached buffer");
  }
  a.length = static_cast<index_t>(length);
  a.data = data;
  a.begin = static_cast<const uint8_t*>(data);
  a.end = a.begin == nullptr ? nullptr
                             : a.begin + length * (a.dtype == DType::f32 ? 4 : 8);
  return a;
}

// A non-negative integer that fits comfortably in int64 arithmetic.
index_t getIndex(const Napi::CallbackInfo& info, size_t i, const char* op,
                 const char* name, index_t minValue = 0) {
  Napi::Env env = info.Env();
  if (!info[i].IsNumber()) {
    throwType(env, std::string(op) + ": argument '" + name + "' must be a number");
  }
  const double d = info[i].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::floor(d) != d || d < static_cast<double>(minValue) ||
      d > 9007199254740991.0) {
    throwRange(env, std::string(op) + ": argument '" + name +
                        "' must be an integer >= " + std::to_string(minValue) +
                        ", got " + Napi::Number::New(env, d).ToString().Utf8Value());
  }
  return static_cast<index_t>(d);
}

index_t mul(Napi::Env env, const char* op, index_t a, index_t b) {
  index_t r;
  if (__builtin_mul_overflow(a, b, &r) || r > (index_t(1) << 53)) {
    throwRange(env, std::string(op) + ": sizes overflow");
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

class NtensorAddon : public Napi::Addon<NtensorAddon> {
 public:
  NtensorAddon(Napi::Env /*env*/, Napi::Object exports) {
    DefineAddon(exports, {
        InstanceMethod("matmul", &NtensorAddon::Matmul),
        InstanceMethod("conv2d", &NtensorAddon::Conv2d),
        InstanceMethod("backendInfo", &NtensorAddon::BackendInfo),
    });
  }

 private:
  // matmul(a, b, out, m, k, n, aOffsets, bOffsets)
  // For every batch i: out[i] (m x n) = a[aOffsets[i] ..] (m x k) times
  // b[bOffsets[i] ..] (k x n), all row-major and contiguous per matrix.
  // Offsets are element offsets in a Float64Array (so broadcast batches need
  // no copies); out must hold exactly batch * m * n elements.
  Napi::Value Matmul(const Napi::CallbackInfo& info) {
    static constexpr const char* op = "matmul";
    Napi::Env env = info.Env();
    if (info.Length() != 8) throwType(env, "matmul: expected 8 arguments");
    const Array a = getArray(info, 0, op, "a");
    const Array b = getArray(info, 1, op, "b");
    const Array out = getArray(info, 2, op, "out");
    requireSameDType(env, op, "b", b, a);
    requireSameDType(env, op, "out", out, a);
    const index_t m = getIndex(info, 3, op, "m");
    const index_t k = getIndex(info, 4, op, "k");
    const index_t n = getIndex(info, 5, op, "n");
    for (size_t i : {6u, 7u}) {
      Napi::Value v = info[i];
      if (!v.IsTypedArray() ||
          v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
        throwType(env, std::string(op) + ": argument '" +
                           (i == 6 ? "aOffsets" : "bOffsets") +
                           "' must be a Float64Array");
      }
    }
    Napi::Float64Array aOffs = info[6].As<Napi::Float64Array>();
    Napi::Float64Array bOffs = info[7].As<Napi::Float64Array>();
    const index_t batch = static_cast<index_t>(aOffs.ElementLength());
    if (static_cast<index_t>(bOffs.ElementLength()) != batch) {
      throwRange(env, "matmul: 'aOffsets' and 'bOffsets' differ in length");
    }
    const index_t aSize = mul(env, op, m, k), bSize = mul(env, op, k, n);
    const index_t cSize = mul(env, op, m, n);
    requireLength(env, op, "out", out, mul(env, op, batch, cSize));
    requireDisjoint(env, op, "out", out, "a", a);
    requireDisjoint(env, op, "out", out, "b", b);
    const double* ao = aOffs.Data();
    const double* bo = bOffs.Data();
    if (batch > 0 && (ao == nullptr || bo == nullptr)) {
      throwType(env, "matmul: offsets have a detached buffer");
    }
    // Copy and check every offset before any output is written: the kernels
    // then never read the offsets again (out could alias them).
    std::vector<index_t> offsets(static_cast<size_t>(2 * batch));
    for (index_t i = 0; i < batch; ++i) {
      const double oa = ao[i], ob = bo[i];
      if (!(oa >= 0) || std::floor(oa) != oa || oa + aSize > a.length ||
          (aSize > 0 && oa >= a.length)) {
        throwRange(env, "matmul: aOffsets[" + std::to_string(i) +
                            "] is outside 'a' (" + std::to_string(a.length) +
                            " elements)");
      }
      if (!(ob >= 0) || std::floor(ob) != ob || ob + bSize > b.length ||
          (bSize > 0 && ob >= b.length)) {
        throwRange(env, "matmul: bOffsets[" + std::to_string(i) +
                            "] is outside 'b' (" + std::to_string(b.length) +
                            " elements)");
      }
      offsets[2 * i] = static_cast<index_t>(oa);
      offsets[2 * i + 1] = static_cast<index_t>(ob);
    }
    for (index_t i = 0; i < batch; ++i) {
      const index_t oa = offsets[2 * i], ob = offsets[2 * i + 1];
      if (a.dtype == DType::f32) {
        ntensor::gemm_f32(false, false, m, n, k, 1.0f,
                          static_cast<const float*>(a.data) + oa, k,
                          static_cast<const float*>(b.data) + ob, n, 0.0f,
                          static_cast<float*>(out.data) + i * cSize, n);
      } else {
        ntensor::gemm_f64(false, false, m, n, k, 1.0,
                          static_cast<const double*>(a.data) + oa, k,
                          static_cast<const double*>(b.data) + ob, n, 0.0,
                          static_cast<double*>(out.data) + i * cSize, n);
      }
    }
    return env.Undefined();
  }

  // conv2d(x, weight, bias | null, out, n, c, h, w, cout, kh, kw,
  //        strideH, strideW, padH, padW)
  Napi::Value Conv2d(const Napi::CallbackInfo& info) {
    static constexpr const char* op = "conv2d";
    Napi::Env env = info.Env();
    if (info.Length() != 15) throwType(env, "conv2d: expected 15 arguments");
    const Array x = getArray(info, 0, op, "input");
    const Array wt = getArray(info, 1, op, "weight");
    const bool hasBias = !(info[2].IsNull() || info[2].IsUndefined());
    Array bias{};
    if (hasBias) bias = getArray(info, 2, op, "bias");
    const Array out = getArray(info, 3, op, "out");
    requireSameDType(env, op, "weight", wt, x);
    if (hasBias) requireSameDType(env, op, "bias", bias, x);
    requireSameDType(env, op, "out", out, x);
    ntensor::Conv2dShape s{};
    s.n = getIndex(info, 4, op, "n");
    s.c = getIndex(info, 5, op, "c");
    s.h = getIndex(info, 6, op, "h");
    s.w = getIndex(info, 7, op, "w");
    s.cout = getIndex(info, 8, op, "cout");
    s.kh = getIndex(info, 9, op, "kh", 1);
    s.kw = getIndex(info, 10, op, "kw", 1);
    s.strideH = getIndex(info, 11, op, "strideH", 1);
    s.strideW = getIndex(info, 12, op, "strideW", 1);
    s.padH = getIndex(info, 13, op, "padH");
    s.padW = getIndex(info, 14, op, "padW");
    const index_t ph = s.h + 2 * s.padH, pw = s.w + 2 * s.padW;
    if (ph < s.kh || pw < s.kw) {
      throwRange(env, "conv2d: kernel size can't be greater than the padded input size");
    }
    s.oh = (ph - s.kh) / s.strideH + 1;
    s.ow = (pw - s.kw) / s.strideW + 1;
    requireLength(env, op, "input", x,
                  mul(env, op, mul(env, op, s.n, s.c), mul(env, op, s.h, s.w)));
    requireLength(env, op, "weight", wt,
                  mul(env, op, mul(env, op, s.cout, s.c), mul(env, op, s.kh, s.kw)));
    if (hasBias) requireLength(env, op, "bias", bias, s.cout);
    requireLength(env, op, "out", out,
                  mul(env, op, mul(env, op, s.n, s.cout), mul(env, op, s.oh, s.ow)));
    requireDisjoint(env, op, "out", out, "input", x);
    requireDisjoint(env, op, "out", out, "weight", wt);
    if (hasBias) requireDisjoint(env, op, "out", out, "bias", bias);
    if (x.dtype == DType::f32) {
      ntensor::conv2d_f32(s, static_cast<const float*>(x.data),
                          static_cast<const float*>(wt.data),
                          hasBias ? static_cast<const float*>(bias.data) : nullptr,
                          static_cast<float*>(out.data));
    } else {
      ntensor::conv2d_f64(s, static_cast<const double*>(x.data),
                          static_cast<const double*>(wt.data),
                          hasBias ? static_cast<const double*>(bias.data) : nullptr,
                          static_cast<double*>(out.data));
    }
    return env.Undefined();
  }

  Napi::Value BackendInfo(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("isa", ntensor::kernel_isa());
    o.Set("threads", 1);
    o.Set("napiVersion", NAPI_VERSION);
    return o;
  }
};

}  // namespace

NODE_API_ADDON(NtensorAddon)
