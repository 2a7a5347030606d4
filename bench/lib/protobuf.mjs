// A minimal protobuf *writer*: just enough wire format to serialise ONNX
// models (varint, 64-bit-safe int64 via BigInt, fixed32 floats, length-
// delimited bytes/strings/sub-messages). Repeated scalars are written
// unpacked, the proto2 default that every ONNX parser accepts.
//
// Usage: const w = new Writer(); w.string(1, 'name'); w.message(2, sub); w.finish()

const WIRE_VARINT = 0;
const WIRE_FIXED32 = 5;
const WIRE_LEN = 2;

export class Writer {
  constructor() {
    this.chunks = [];
    this.length = 0;
  }

  #push(bytes) {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  #tag(field, wire) {
    this.#push(encodeVarint(BigInt((field << 3) | wire)));
  }

  /** int32/int64/enum/bool field. Negative values take 10 bytes (two's complement), as protobuf requires. */
  int(field, value) {
    this.#tag(field, WIRE_VARINT);
    this.#push(encodeVarint(BigInt.asUintN(64, BigInt(value))));
    return this;
  }

  ints(field, values) {
    for (const v of values) this.int(field, v);
    return this;
  }

  float(field, value) {
    this.#tag(field, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.#push(b);
    return this;
  }

  floats(field, values) {
    for (const v of values) this.float(field, v);
    return this;
  }

  bytes(field, value) {
    const b = value instanceof Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    this.#tag(field, WIRE_LEN);
    this.#push(encodeVarint(BigInt(b.length)));
    this.#push(b);
    return this;
  }

  string(field, value) {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  strings(field, values) {
    for (const v of values) this.string(field, v);
    return this;
  }

  /** A sub-message: a Writer or already-encoded bytes. */
  message(field, sub) {
    return this.bytes(field, sub instanceof Writer ? sub.finish() : sub);
  }

  messages(field, subs) {
    for (const s of subs) this.message(field, s);
    return this;
  }

  finish() {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

export function encodeVarint(value) {
  let v = BigInt.asUintN(64, BigInt(value));
  const bytes = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    bytes.push(byte);
  } while (v !== 0n);
  return Uint8Array.from(bytes);
}
