// float32 products and valid stride-1 convolutions of at most JS_MAX_WORK
// multiply-adds run in JS (lib/ops/tiny.ts) instead of native. Their
// results must be the native kernels' bits (the summation contract of
// native/kernels.h), which the tests here check against the native binding
// called directly, on random values and on values where a float64 rounding
// followed by a float32 one would differ from one fused rounding. NaNs
// only need to be NaN: JS's have not the sign and payload of x86's.
import { describe, expect, it } from 'vitest';

import {
  Generator, conv2d, corr2d, corr2dMultiIn, corr2dMultiInOut, corr2dMultiInOut1x1, fromTypedArray, matmul, normal, zeros,
} from '../lib/index';
import { native } from '../lib/native';
import { JS_MAX_WORK } from '../lib/ops/tiny';
import { firstDifferenceNaNAlike } from './bits';
import { mulberry32 } from './reference';

const binding = native();
const ONE_OFFSET = new Float64Array(1);

function nativeMatmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float32Array {
  const out = new Float32Array(m * n);
  binding.matmul(a, b, out, m, k, n, ONE_OFFSET, ONE_OFFSET);
  return out;
}

function nativeValidConv(x: Float32Array, w: Float32Array, n: number, c: number, h: number, wd: number,
  cout: number, kh: number, kw: number): Float32Array {
  const out = new Float32Array(n * cout * (h - kh + 1) * (wd - kw + 1));
  binding.conv2d(x, w, null, out, n, c, h, wd, cout, kh, kw, 1, 1, 0, 0, 0, 0, 1, 1, 1);
  return out;
}

// Values: normal, with signed zeros, NaN, infinities, subnormals and large
// magnitudes mixed in at random positions.
const SPECIAL = [0, -0, NaN, Infinity, -Infinity, 2 ** -149, -(2 ** -140), 3e38, -3e38, 1, -1];
function values(rng: () => number, len: number, specials: boolean): Float32Array {
  const g = new Generator(Math.floor(rng() * 2 ** 31));
  const a = normal(0, 1, [len], { generator: g }).data as Float32Array;
  if (specials) for (let i = 0; i < len; i++) if (rng() < 0.15) a[i] = SPECIAL[Math.floor(rng() * SPECIAL.length)];
  return a;
}

describe('tiny float32 products run in JS with the native bits', () => {
  it(`every m, k, n with m*k*n <= ${JS_MAX_WORK}: matmul (fresh and into out) equals the native kernel bit for bit`, () => {
    const rng = mulberry32(7);
    let shapes = 0;
    for (let m = 1; m <= JS_MAX_WORK; m++) {
      for (let k = 1; m * k <= JS_MAX_WORK; k++) {
        for (let n = 1; m * k * n <= JS_MAX_WORK; n++) {
          for (const specials of [false, true]) {
            const a = values(rng, m * k, specials), b = values(rng, k * n, specials);
            const A = fromTypedArray(a, [m, k]), B = fromTypedArray(b, [k, n]);
            const want = nativeMatmul(a, b, m, k, n);
            const label = `${m}x${k} by ${k}x${n}${specials ? ' with special values' : ''}`;
            expect(firstDifferenceNaNAlike(matmul(A, B).data, want), label).toBe(-1);
            const out = zeros([m, n]);
            expect(matmul(A, B, { out })).toBe(out);
            expect(firstDifferenceNaNAlike(out.data, want), `${label}, out`).toBe(-1);
          }
          shapes++;
        }
      }
    }
    expect(shapes).toBeGreaterThan(500);
  });

  it('a product whose float64 sum double-rounds: one fused rounding, as native', () => {
    // k = 2: 1 * 1, then a * b = 2^-24 (1 + 2^-32) onto 1. The exact sum
    // 1 + 2^-24 + 2^-56 rounds up to 1 + 2^-23 (fma); through float64 it
    // would land on the midpoint 1 + 2^-24 and round to even, 1.
    const a = 10502144 * 2 ** -23, b = 13400834 * 2 ** -48;
    const A = fromTypedArray(Float32Array.from([1, a, -1, -a]), [2, 2]);
    const B = fromTypedArray(Float32Array.from([1, b]), [2, 1]);
    const y = matmul(A, B).data;
    expect(Array.from(y)).toEqual([1 + 2 ** -23, -(1 + 2 ** -23)]);
    expect(firstDifferenceNaNAlike(y, nativeMatmul(A.data as Float32Array, B.data as Float32Array, 2, 2, 1))).toBe(-1);
  });

  it(`around the cut-off (${JS_MAX_WORK} and ${JS_MAX_WORK + 1} multiply-adds, JS and native): the same bits as native`, () => {
    const rng = mulberry32(8);
    for (const [m, k, n] of [[1, JS_MAX_WORK, 1], [1, JS_MAX_WORK + 1, 1], [2, 8, 8], [3, 43, 1], [JS_MAX_WORK, 1, 1], [1, 1, JS_MAX_WORK + 1]]) {
      const a = values(rng, m * k, true), b = values(rng, k * n, true);
      const y = matmul(fromTypedArray(a, [m, k]), fromTypedArray(b, [k, n]));
      expect(firstDifferenceNaNAlike(y.data, nativeMatmul(a, b, m, k, n)), `${m}x${k}x${n}`).toBe(-1);
    }
  });

  it('float64 stays native: a tiny float64 product has float64 results', () => {
    const A = fromTypedArray(Float64Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
    const B = fromTypedArray(Float64Array.from([1e-10, 1, 1, 0, 0, 1]), [3, 2]);
    const y = matmul(A, B);
    expect(y.dtype).toBe('float64');
    expect(Array.from(y.data)).toEqual([1e-10 + 2, 4, 4e-10 + 5, 10]); // float32 would give 2 and 5
  });

  it('conv2d (fast and general paths), corr2d, corr2dMultiIn, corr2dMultiInOut and the 1x1 formulation: the native bits, for every small valid stride-1 shape', () => {
    const rng = mulberry32(9);
    let cases = 0;
    for (const n of [1, 2]) {
      for (const c of [1, 2, 3]) {
        for (const [h, w] of [[1, 1], [3, 3], [2, 5], [6, 8]]) {
          for (const [kh, kw] of [[1, 1], [1, 2], [2, 1], [2, 2], [3, 3]]) {
            for (const cout of [1, 2, 3]) {
              if (kh > h || kw > w) continue;
              const out = n * cout * (h - kh + 1) * (w - kw + 1);
              const work = out * c * kh * kw;
              if (work > 2 * JS_MAX_WORK) continue; // both sides of the cut-off
              const specials = rng() < 0.5;
              const x = values(rng, n * c * h * w, specials), wt = values(rng, cout * c * kh * kw, specials);
              const want = nativeValidConv(x, wt, n, c, h, w, cout, kh, kw);
              const X = fromTypedArray(x, [n, c, h, w]), W = fromTypedArray(wt, [cout, c, kh, kw]);
              const label = `${n}x${c}x${h}x${w} * ${cout}x${c}x${kh}x${kw} (${work} multiply-adds)${specials ? ' with special values' : ''}`;
              expect(firstDifferenceNaNAlike(conv2d(X, W).data, want), label).toBe(-1);
              const into = zeros([n, cout, h - kh + 1, w - kw + 1]);
              conv2d(X, W, { stride: 1, padding: 0, out: into });
              expect(firstDifferenceNaNAlike(into.data, want), `${label}, out`).toBe(-1);
              // The general path (options in array form), also in JS at these sizes.
              expect(firstDifferenceNaNAlike(conv2d(X, W, { stride: [1, 1], dilation: [1, 1], padding: [0, 0] }).data, want), `${label}, general path`).toBe(-1);
              if (n === 1) {
                const X3 = X.reshape(c, h, w);
                expect(firstDifferenceNaNAlike(corr2dMultiInOut(X3, W).data, want), `${label}, corr2dMultiInOut`).toBe(-1);
                if (cout === 1) {
                  expect(firstDifferenceNaNAlike(corr2dMultiIn(X3, W.reshape(c, kh, kw)).data, want), `${label}, corr2dMultiIn`).toBe(-1);
                  if (c === 1) expect(firstDifferenceNaNAlike(corr2d(X.reshape(h, w), W.reshape(kh, kw)).data, want), `${label}, corr2d`).toBe(-1);
                }
                if (kh === 1 && kw === 1) {
                  expect(firstDifferenceNaNAlike(corr2dMultiInOut1x1(X3, W).data, want), `${label}, corr2dMultiInOut1x1`).toBe(-1);
                }
              }
              cases++;
            }
          }
        }
      }
    }
    expect(cases).toBeGreaterThan(150);
  });

  it('the d2l seed: 1x1 as a convolution and as a matmul agree exactly, and equal the values written out by hand', () => {
    const X = fromTypedArray(Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5, 6, 7, 8, 9, 10]), [3, 3, 3]);
    const K = fromTypedArray(Float32Array.from([1, 0.5, 0.25, -1, 2, 0.125]), [2, 3, 1, 1]);
    const y1 = corr2dMultiInOut1x1(X, K), y2 = corr2dMultiInOut(X, K);
    expect(firstDifferenceNaNAlike(y1.data, y2.data)).toBe(-1);
    const expected: number[] = [];
    for (let co = 0; co < 2; co++) {
      for (let p = 0; p < 9; p++) {
        let s = 0;
        for (let ci = 0; ci < 3; ci++) s += K.data[co * 3 + ci] * X.data[ci * 9 + p];
        expected.push(s); // small integers and eighths: exact in any order
      }
    }
    expect(Array.from(y1.data)).toEqual(expected);
    expect(y1.shape).toEqual([2, 3, 3]);
  });
});

