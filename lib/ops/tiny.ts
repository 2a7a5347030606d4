// float32 products and valid stride-1 convolutions too small to be worth a
// call into native: at d2l sizes (a 2x3 by 3x9 product, 54 multiply-adds)
// the Node-API call and its argument checks cost more than these loops
// (~0.1-0.2 µs for 54), so they run in JS. They keep native's
// summation contract (native/kernels.h): each output element is one
// accumulator from +0 that takes its products in ascending reduction index,
// each step an exactly rounded float32 fused multiply-add, so the results
// are the native kernels' bits and the two formulations of a 1x1
// convolution still agree exactly. float64 always goes to native: an exact
// float64 fma in JS would cost more than the call it saves.
import type { FloatArray } from '../dtype';

/**
 * Products and convolutions of at most this many multiply-adds run in JS
 * (float32: 2-D matmul, and conv2d with stride 1, no padding, dilation 1,
 * one group and no bias, which the d2l correlations are). Against the
 * native call here: 54 (d2l's) 0.12-0.3 µs faster (~10-15 %), 64 about
 * twice as fast, 216 slower.
 */
export const JS_MAX_WORK = 128;

/** The rule for JS: float32, and 1 to JS_MAX_WORK multiply-adds (none: the caller zeroes). */
function runsInJs(work: number, out: FloatArray): out is Float32Array {
  return work > 0 && work <= JS_MAX_WORK && out instanceof Float32Array;
}

/**
 * out (m x n) = a · b (contiguous, checked) in JS when the rule above allows;
 * returns whether it did (if not, the caller runs it natively).
 */
export function matmulSmall(a: FloatArray, b: FloatArray, out: FloatArray, m: number, k: number, n: number): boolean {
  if (!runsInJs(out.length * k, out)) return false;
  matmulJs(a as Float32Array, b as Float32Array, out, m, k, n);
  return true;
}

/**
 * validConvJs in JS when the rule above allows (the caller has checked the
 * convolution is a valid, stride-1, ungrouped one without bias); returns
 * whether it did.
 */
export function validConvSmall(x: FloatArray, weight: FloatArray, out: FloatArray, n: number, c: number,
  h: number, w: number, cout: number, kh: number, kw: number): boolean {
  if (!runsInJs(out.length * c * kh * kw, out)) return false;
  validConvJs(x as Float32Array, weight as Float32Array, out, n, c, h, w, cout, kh, kw);
  return true;
}

const f32 = new Float32Array(1), i32 = new Int32Array(f32.buffer);

/**
 * fma(a, b, c) rounded once to float32, for float32 a, b, c. a * b is exact
 * in float64 (48 significant bits); s = a * b + c is one float64 rounding
 * and Math.fround(s) a second. The two give fma's result unless s was
 * inexact and lands exactly on a float32 midpoint, where the sign of s's
 * error (TwoSum) says which way the exact sum lies.
 */
export function fma32(a: number, b: number, c: number): number {
  const p = a * b, s = p + c, r = Math.fround(s);
  if (r === s) return r;
  const bb = s - p;
  const e = (p - (s - bb)) + (c - bb);
  if (e === 0) return r;
  return fma32Rounded(s, e, r);
}

/** fma32's rare case: s is not a float32 and was inexact (e != 0), or is not finite. */
function fma32Rounded(s: number, e: number, r: number): number {
  if (!Number.isFinite(s) || !Number.isFinite(r)) return r;
  // The float32 beside r on s's side; s is a midpoint when halfway.
  let other: number;
  if (r === 0) {
    other = s > 0 ? 2 ** -149 : -(2 ** -149);
  } else {
    f32[0] = r;
    i32[0] += (s > r) === (r > 0) ? 1 : -1;
    other = f32[0];
  }
  if (s !== (r + other) / 2) return r;
  return (e > 0) === (other > r) ? other : r;
}

/** out (m x n) = a (m x k) · b (k x n), contiguous float32, k > 0. */
function matmulJs(a: Float32Array, b: Float32Array, out: Float32Array, m: number, k: number, n: number): void {
  let o = 0;
  for (let row = 0; row < m * k; row += k) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = row, q = j, end = row + k; p < end; p++, q += n) s = fma32(a[p], b[q], s);
      out[o++] = s;
    }
  }
}

// validConvJs's offsets of the reduction's inputs (K <= JS_MAX_WORK).
const offsets = new Int32Array(JS_MAX_WORK);

/**
 * out (n x cout x oh x ow) = the valid, stride-1, ungrouped cross-correlation
 * of x (n x c x h x w) with weight (cout x c x kh x kw), float32, kh <= h,
 * kw <= w, 0 < c * kh * kw <= JS_MAX_WORK; reduction index (input channel,
 * kernel row, kernel column), each at its offset from the output pixel's
 * first input.
 */
function validConvJs(x: Float32Array, weight: Float32Array, out: Float32Array, n: number, c: number,
  h: number, w: number, cout: number, kh: number, kw: number): void {
  const oh = h - kh + 1, ow = w - kw + 1, K = c * kh * kw, off = offsets;
  let t = 0;
  for (let ci = 0; ci < c; ci++) {
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++) off[t++] = (ci * h + ki) * w + kj;
    }
  }
  let o = 0;
  for (let b = 0; b < n; b++) {
    for (let co = 0; co < cout; co++) {
      const wc = co * K;
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0, base = (b * c * h + oy) * w; ox < ow; ox++, base++) {
          let s = 0;
          for (let r = 0; r < K; r++) s = fma32(x[base + off[r]], weight[wc + r], s);
          out[o++] = s;
        }
      }
    }
  }
}
