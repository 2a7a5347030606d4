// Bit-for-bit comparison of typed arrays, for the tests that check the
// summation-order contract (native/kernels.h): same bits across paths, ISAs
// and thread counts, -0 and NaN payloads included.

/** True when two typed arrays are of one kind and hold the same bits. */
export function sameBits(a: Float32Array | Float64Array, b: Float32Array | Float64Array): boolean {
  if (a.constructor !== b.constructor || a.length !== b.length) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/**
 * Index of the first element whose bits differ, or -1 when identical; -2 for
 * arrays of different kinds, -3 for different lengths.
 */
export function firstBitDifference(a: Float32Array | Float64Array, b: Float32Array | Float64Array): number {
  if (a.constructor !== b.constructor) return -2;
  if (a.length !== b.length) return -3;
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength), y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  const n = a.BYTES_PER_ELEMENT;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return Math.floor(i / n);
  return -1;
}

/**
 * firstBitDifference, except that any two NaNs count as equal: for results
 * computed in JS (lib/ops/tiny.ts), whose NaNs are JS's, without the sign
 * and payload a native NaN carries (x86's default NaN is negative).
 */
export function firstDifferenceNaNAlike(a: Float32Array | Float64Array, b: Float32Array | Float64Array): number {
  if (a.constructor !== b.constructor) return -2;
  if (a.length !== b.length) return -3;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]) && Number.isNaN(b[i])) continue;
    if (!Object.is(a[i], b[i])) return i;
  }
  return -1;
}
