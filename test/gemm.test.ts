// The GEMM engine (native/gemm*.cc) through the raw test binding
// _gemm(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc), for
// every ISA this CPU supports (forced with _setIsa), on every path (forced
// with _setGemmPath: the small loop, the packed path, the packed path split
// over threads), at the sizes where blocking has edges (read from
// backendInfo().blocking): 1, MR-1, MR, MR+1, MR+5, MR+8, 2MR+3, NR/2,
// NR/2+1, NR-1, NR, NR+1, KC-1, KC, KC+1, 2KC+1.
//
// The summation-order contract (native/kernels.h) makes float32 results
// predictable to the bit: S(i,j) is the sequential fused multiply-add of the
// k products starting from +0, and C = alpha*S for beta == 0, C =
// fma(alpha, S, beta*C) for beta != 0 and k <= KC. fma32 (lib/ops/tiny.ts) computes a
// float32 fused multiply-add exactly in JS, so float32 results are compared
// bit for bit against a plain triple loop. float64 has no exact JS fma: each
// ISA is compared bit for bit with the scalar ISA (libm fma, correctly
// rounded), which is checked against a float64 loop within the rounding
// bound, and exactly on small integers.
//
// Error bound used against float64 references (Higham, sequential sums):
// |C(i,j) - exact(i,j)| <= gamma_k * sum_p |a(i,p) b(p,j)|, gamma_k =
// k u / (1 - k u), u = 2^-24 (float32) or 2^-53 (float64).
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';

import {
  Generator, backendInfo, corr2dMultiInOut, corr2dMultiInOut1x1, getNumThreads, normal, setNumThreads,
} from '../lib/index';
import { native } from '../lib/native';
import { fma32 } from '../lib/ops/tiny';
import { mulberry32 } from './reference';

type Isa = 'avx512' | 'avx2' | 'scalar';
type DT = 'float32' | 'float64';
type Arr = Float32Array | Float64Array;

const nt = native();
const root = path.resolve(__dirname, '..');
const DEFAULT_THREADS = nt.getNumThreads();
const ISAS = nt.backendInfo().supportedIsas as Isa[];

afterEach(() => {
  nt._setIsa('auto');
  nt._setGemmPath('auto');
  nt.setNumThreads(DEFAULT_THREADS);
});

// ---- exact float32 fused multiply-add in JS (lib/ops/tiny.ts's fma32) ----

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The next float32 above x (x a finite float32). */
function nextUp32(x: number): number {
  if (x === 0) return 2 ** -149;
  f32[0] = x;
  u32[0] += x > 0 ? 1 : -1;
  return f32[0];
}

describe('fma32 (lib/ops/tiny.ts: the tests\' reference, and the d2l-size products\' arithmetic)', () => {
  it('rounds once, where rounding through float64 would round twice', () => {
    expect(fma32(3, 5, 7)).toBe(22);
    const one = 1 + 2 ** -23, eps = 2 ** -24;
    // a*b = -2^-24 + 2^-70, c = 1 + 2^-23: exactly 1 + 2^-24 + 2^-70, just
    // above the midpoint of 1 and 1 + 2^-23, so it rounds up. Through float64
    // the 2^-70 is lost first, and the tie then goes to the even 1.
    const a = -one * eps, b = 1 - 2 ** -23;
    expect(Math.fround(a)).toBe(a);
    expect(Math.fround(b)).toBe(b);
    expect(fma32(a, b, one)).toBe(one);
    expect(Math.fround(a * b + one)).toBe(1);
    // Mirror image: 1 + 3*2^-24 - 2^-70 rounds down to 1 + 2^-23.
    expect(fma32(one * eps, b, one)).toBe(one);
    expect(Math.fround(one * eps * b + one)).toBe(1 + 2 ** -22);
    // An exact tie still goes to even.
    expect(fma32(1, one, eps)).toBe(1 + 2 ** -22);
  });

  // x * 2^300 is an integer for every float32 x (granularity 2^-149), and
  // a * b * 2^300 too (granularity 2^-298).
  const big = (x: number): bigint => {
    const v = BigInt(Math.abs(x) * 2 ** 149) << 151n;
    return x < 0 ? -v : v;
  };
  const dist = (exact: bigint, x: number): bigint => {
    const d = exact - big(x);
    return d < 0n ? -d : d;
  };
  /** Whether got is a float32 nearest to a * b + c, computed exactly. */
  const nearest = (a: number, b: number, c: number, got: number): boolean => {
    const exact = ((big(a) * big(b)) >> 300n) + big(c);
    return dist(exact, got) <= dist(exact, nextUp32(got)) && dist(exact, got) <= dist(exact, -nextUp32(-got));
  };

  it('agrees with exact BigInt arithmetic on random float32 triples', () => {
    const rng = mulberry32(99);
    for (let t = 0; t < 20000; t++) {
      const a = Math.fround((rng() - 0.5) * 2 ** Math.floor(rng() * 20 - 10));
      const b = Math.fround((rng() - 0.5) * 2 ** Math.floor(rng() * 20 - 10));
      const c = Math.fround((rng() - 0.5) * 2 ** Math.floor(rng() * 30 - 15));
      expect(nearest(a, b, c, fma32(a, b, c))).toBe(true);
    }
  });

  it('agrees with exact BigInt arithmetic where float64 double-rounds (constructed near-midpoint sums)', () => {
    // A = 2^24 - 2y and B = 2^23 + y (y < 2^8) multiply to 2^47 - 2y^2: with
    // a = A * 2^-24 and b = B * 2^-47, a * b = 2^-24 - 2y^2 * 2^-71, half an
    // ulp of c in [1, 2) minus less than a float64 ulp of c. c + a * b then
    // rounds in float64 to the float32 midpoint c + 2^-24, whose tie goes to
    // even; fma goes to the side of the exact sum. Signs and a scale by 2^s
    // (a's and c's together) vary the case.
    const rng = mulberry32(7);
    let doubleRounded = 0;
    for (let t = 0; t < 4000; t++) {
      const y = 1 + Math.floor(rng() * 255), s = Math.floor(rng() * 40) - 20;
      const sa = rng() < 0.5 ? 1 : -1, sc = rng() < 0.5 ? 1 : -1;
      const a = sa * (2 ** 24 - 2 * y) * 2 ** (s - 24), b = (2 ** 23 + y) * 2 ** -47;
      const c = sc * (2 ** 23 + Math.floor(rng() * 2 ** 23)) * 2 ** (s - 23);
      expect(Math.fround(a)).toBe(a);
      expect(Math.fround(b)).toBe(b);
      expect(Math.fround(c)).toBe(c);
      const got = fma32(a, b, c);
      if (got !== Math.fround(a * b + c)) doubleRounded++;
      expect(nearest(a, b, c, got), `a ${a} b ${b} c ${c}`).toBe(true);
    }
    expect(doubleRounded).toBeGreaterThan(1000); // the cases do exercise the midpoint branch
  });
});

// ---- operands with leading dimensions ----

interface Mat {
  data: Arr;
  ld: number;
}

/**
 * A rows x cols matrix stored with leading dimension ld >= cols; elements
 * outside it (padding) are NaN, so a kernel reading them poisons its result.
 */
function makeMat(dt: DT, rows: number, cols: number, ld: number, rng: () => number, ints = false): Mat {
  const len = rows === 0 || cols === 0 ? 0 : (rows - 1) * ld + cols;
  const data = dt === 'float32' ? new Float32Array(len + 3) : new Float64Array(len + 3);
  data.fill(NaN);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      data[r * ld + c] = ints ? Math.floor(rng() * 17) - 8 : rng() * 2 - 1;
    }
  }
  return { data, ld };
}

interface Problem {
  ta: boolean;
  tb: boolean;
  m: number;
  n: number;
  k: number;
  A: Mat;
  B: Mat;
}

function makeProblem(dt: DT, ta: boolean, tb: boolean, m: number, n: number, k: number, rng: () => number,
  pad = 0, ints = false): Problem {
  const ld = (cols: number): number => Math.max(1, cols + pad);
  const A = ta ? makeMat(dt, k, m, ld(m), rng, ints) : makeMat(dt, m, k, ld(k), rng, ints);
  const B = tb ? makeMat(dt, n, k, ld(k), rng, ints) : makeMat(dt, k, n, ld(n), rng, ints);
  return { ta, tb, m, n, k, A, B };
}

const aAt = (P: Problem, i: number, p: number): number => (P.ta ? P.A.data[p * P.A.ld + i] : P.A.data[i * P.A.ld + p]);
const bAt = (P: Problem, p: number, j: number): number => (P.tb ? P.B.data[j * P.B.ld + p] : P.B.data[p * P.B.ld + j]);

/** C as the kernel leaves it: m x n with leading dimension ldc, padding set to a sentinel. */
function makeC(dt: DT, m: number, n: number, ldc: number, fill: (i: number, j: number) => number): Arr {
  const C = dt === 'float32' ? new Float32Array(Math.max(0, (m - 1) * ldc + n) + 2) : new Float64Array(Math.max(0, (m - 1) * ldc + n) + 2);
  C.fill(-12345.5);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) C[i * ldc + j] = fill(i, j);
  return C;
}

function runGemm(P: Problem, alpha: number, beta: number, C: Arr, ldc: number): Arr {
  nt._gemm(P.ta, P.tb, P.m, P.n, P.k, alpha, P.A.data, P.A.ld, P.B.data, P.B.ld, beta, C, ldc);
  return C;
}

/** Sequential exact-fma sums S(i,j) over p in [p0, p1) starting from +0 (float32). */
function seqSums32(P: Problem, p0 = 0, p1 = P.k): Float64Array {
  const S = new Float64Array(P.m * P.n);
  const arow = new Float64Array(p1 - p0);
  for (let i = 0; i < P.m; i++) {
    for (let p = p0; p < p1; p++) arow[p - p0] = aAt(P, i, p);
    for (let j = 0; j < P.n; j++) {
      let acc = 0;
      for (let p = p0; p < p1; p++) acc = fma32(arow[p - p0], bAt(P, p, j), acc);
      S[i * P.n + j] = acc;
    }
  }
  return S;
}

/**
 * What kernels.h promises for float32, to the bit: beta == 0: alpha*S;
 * beta != 0 and k <= kc: fma(alpha, S, beta*C); beta != 0 and k > kc:
 * fma(alpha, S_0, beta*C), then fma(alpha, S_p, C) per later KC block.
 */
function expected32(P: Problem, alpha: number, beta: number, C0: Arr, ldc: number, kc: number, small: boolean): Float32Array {
  const a32 = Math.fround(alpha), b32 = Math.fround(beta);
  const out = new Float32Array(C0);
  if (P.k === 0 || a32 === 0) {
    for (let i = 0; i < P.m; i++) {
      for (let j = 0; j < P.n; j++) out[i * ldc + j] = b32 === 0 ? 0 : b32 === 1 ? C0[i * ldc + j] : Math.fround(b32 * C0[i * ldc + j]);
    }
    return out;
  }
  if (b32 === 0 || small || P.k <= kc) {
    const S = seqSums32(P);
    for (let i = 0; i < P.m; i++) {
      for (let j = 0; j < P.n; j++) {
        const s = S[i * P.n + j];
        out[i * ldc + j] = b32 === 0 ? (a32 === 1 ? s : Math.fround(a32 * s)) : fma32(a32, s, Math.fround(b32 * C0[i * ldc + j]));
      }
    }
    return out;
  }
  for (let p0 = 0; p0 < P.k; p0 += kc) {
    const S = seqSums32(P, p0, Math.min(P.k, p0 + kc));
    for (let i = 0; i < P.m; i++) {
      for (let j = 0; j < P.n; j++) {
        const c = p0 === 0 ? Math.fround(b32 * C0[i * ldc + j]) : out[i * ldc + j];
        out[i * ldc + j] = fma32(a32, S[i * P.n + j], c);
      }
    }
  }
  return out;
}

/** float64 reference (plain loop) and the per-element rounding bound vs the exact sum. */
function ref64(P: Problem, alpha: number, beta: number, C0: Arr, ldc: number, u: number): { val: Float64Array; tol: Float64Array } {
  const val = new Float64Array(P.m * P.n), tol = new Float64Array(P.m * P.n);
  const g = (P.k + 2) * u / (1 - (P.k + 2) * u);
  const gRef = (P.k + 2) * 2 ** -53 * 1.01; // the float64 loop's own error
  for (let i = 0; i < P.m; i++) {
    for (let j = 0; j < P.n; j++) {
      let s = 0, t = 0;
      for (let p = 0; p < P.k; p++) {
        const prod = aAt(P, i, p) * bAt(P, p, j);
        s += prod;
        t += Math.abs(prod);
      }
      const c0 = beta === 0 ? 0 : C0[i * ldc + j];
      val[i * P.n + j] = alpha * s + beta * c0;
      tol[i * P.n + j] = (g + gRef) * (Math.abs(alpha) * t + Math.abs(beta * c0)) + 1e-300;
    }
  }
  return { val, tol };
}

function bitsEqual(a: Arr, b: Arr): boolean {
  return a.constructor === b.constructor && a.length === b.length &&
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** First index where a and b differ in bits, with both values, or null. */
function firstDiff(a: Arr, b: Arr): string | null {
  const view = (x: Arr): Uint8Array => new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  const va = view(a), vb = view(b);
  const w = a.BYTES_PER_ELEMENT;
  for (let i = 0; i < a.length; i++) {
    for (let q = 0; q < w; q++) {
      if (va[i * w + q] !== vb[i * w + q]) return `element ${i}: ${a[i]} vs ${b[i]}`;
    }
  }
  return a.length === b.length ? null : `lengths ${a.length} vs ${b.length}`;
}

function blockingFor(isa: Isa, dt: DT): { mr: number; nr: number; kc: number } {
  expect(nt._setIsa(isa)).toBe(isa);
  return nt.backendInfo().blocking[dt];
}

const uniq = (xs: number[]): number[] => [...new Set(xs.filter((x) => x >= 1))].sort((a, b) => a - b);
const PATHS = ['small', 'packed', 'parallel'] as const;

// ---- backendInfo and the controls ----

describe('backendInfo, threads and ISA control', () => {
  it('reports the ISA, the thread count and the blocking of each dtype', () => {
    const info = backendInfo();
    expect(ISAS).toContain('scalar');
    expect(ISAS[ISAS.length - 1]).toBe('scalar');
    expect(ISAS).toContain(info.isa);
    expect(info.threads).toBe(getNumThreads());
    expect(info.threads).toBeGreaterThanOrEqual(1);
    for (const dt of ['float32', 'float64'] as const) {
      const b = info.blocking[dt];
      for (const key of ['mr', 'nr', 'mc', 'kc', 'nc', 'small'] as const) expect(Number.isInteger(b[key]) && b[key] > 0).toBe(true);
    }
    if (process.env.NTENSOR_ISA === undefined) expect(info.isa).toBe(ISAS[0]);
  });

  it('_setIsa goes down to what the CPU supports, never up, and back with auto', () => {
    const level = { scalar: 0, avx2: 1, avx512: 2 } as const;
    for (const want of ['avx512', 'avx2', 'scalar'] as const) {
      const got = nt._setIsa(want) as Isa;
      expect(ISAS).toContain(got);
      expect(level[got]).toBeLessThanOrEqual(level[want]);
      // The best supported at or below the request.
      expect(got).toBe(ISAS.find((i) => level[i] <= level[want]));
      expect(nt.backendInfo().isa).toBe(got);
    }
    expect(nt._setIsa('auto')).toBe(ISAS[0]);
    expect(() => nt._setIsa('sse9' as Isa)).toThrow(RangeError);
    expect(() => (nt._setIsa as (x: unknown) => string)(2)).toThrow(TypeError);
    expect(() => nt._setGemmPath('fast' as 'auto')).toThrow(RangeError);
  });

  it('setNumThreads / getNumThreads, validated', () => {
    setNumThreads(1);
    expect(getNumThreads()).toBe(1);
    expect(backendInfo().threads).toBe(1);
    setNumThreads(3);
    expect(getNumThreads()).toBe(3);
    for (const bad of [0, -1, 1.5, NaN, 257]) expect(() => setNumThreads(bad)).toThrow(RangeError);
    expect(() => (setNumThreads as (x: unknown) => void)('2')).toThrow(TypeError);
    expect(getNumThreads()).toBe(3);
  });

  it('NTENSOR_NUM_THREADS and NTENSOR_ISA set the defaults (not above the CPU)', () => {
    const script = `const b = require(${JSON.stringify(path.join(root, 'dist/native.js'))}).native();
      const i = b.backendInfo(); console.log(JSON.stringify([i.threads, i.isa]));`;
    const run = (env: Record<string, string>): [number, string] => {
      const r = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as [number, string];
    };
    expect(run({ NTENSOR_NUM_THREADS: '3', NTENSOR_ISA: 'scalar' })).toEqual([3, 'scalar']);
    expect(run({ NTENSOR_NUM_THREADS: '1', NTENSOR_ISA: 'avx2' })).toEqual([1, ISAS.includes('avx2') ? 'avx2' : 'scalar']);
    expect(run({ NTENSOR_NUM_THREADS: 'lots', NTENSOR_ISA: 'quantum' })[1]).toBe(ISAS[0]);
  });

  it('after setNumThreads goes down, a call wakes only the workers it uses (the others stay asleep)', () => {
    // In its own process: 7 workers made at 8 threads, then 2 threads, so
    // each region uses 1 worker; between calls every worker falls asleep.
    // A broadcast to the pool woke all 7 for every call (6 not needed).
    const script = `const nt = require(${JSON.stringify(path.join(root, 'dist/index.js'))});
      const { native } = require(${JSON.stringify(path.join(root, 'dist/native.js'))});
      const a = nt.rand([512, 512]), b = nt.rand([512, 512]);
      nt.setNumThreads(8); nt.matmul(a, b); nt.setNumThreads(2);
      const sleep = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      sleep();
      const s0 = native()._poolWakeStats();
      for (let i = 0; i < 20; i++) { nt.matmul(a, b); sleep(); }
      const s1 = native()._poolWakeStats();
      console.log(JSON.stringify({ slept: s1.slept - s0.slept, notNeeded: s1.notNeeded - s0.notNeeded }));`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as { slept: number; notNeeded: number };
    expect(s.slept).toBeGreaterThan(10); // the one worker each call used was asleep before it
    expect(s.notNeeded).toBeLessThanOrEqual(2); // was 6 per call
  });

  it('NTENSOR_NUM_THREADS takes what setNumThreads takes (1 to 256, spaces around allowed); anything else is ignored with a warning', () => {
    // The addon loads on first use, and its warning is emitted on the next tick.
    const script = `const nt = require(${JSON.stringify(path.join(root, 'dist/index.js'))}); nt.getNumThreads();
      process.on('exit', () => console.log(JSON.stringify([nt.getNumThreads(), nt.backendInfo().ignoredNumThreadsEnv ?? null])));`;
    const run = (value: string): { threads: number; ignored: string | null; warning: string } => {
      const r = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, NTENSOR_NUM_THREADS: value }, encoding: 'utf8', timeout: 30_000 });
      expect(r.status, r.stderr).toBe(0);
      const [threads, ignored] = JSON.parse(r.stdout) as [number, string | null];
      return { threads, ignored, warning: r.stderr };
    };
    const { NTENSOR_NUM_THREADS: _, ...unset } = process.env;
    const fallback = (JSON.parse(spawnSync(process.execPath, ['-e', script], { env: unset, encoding: 'utf8' }).stdout) as number[])[0];
    expect(fallback).toBeGreaterThanOrEqual(1);
    for (const [value, threads] of [['3', 3], [' 5', 5], ['5 ', 5], ['\t07 ', 7], ['256', 256]] as const) {
      expect(run(value)).toEqual({ threads, ignored: null, warning: '' });
    }
    for (const value of ['', '   ']) expect(run(value)).toEqual({ threads: fallback, ignored: null, warning: '' });
    for (const value of ['0', '-1', 'abc', '1e3', '1.5', '0x10', '+4', '257', '99999999999999999999', '4 4']) {
      const r = run(value);
      expect(r.threads).toBe(fallback);
      expect(r.ignored).toBe(value);
      expect(r.warning).toContain(`[NTENSOR_NUM_THREADS] Warning: NTENSOR_NUM_THREADS='${value}' is not an integer from 1 to 256 and was ignored: ntensor uses ${fallback} threads`);
    }
  });
});

describe('_gemm validates its arguments', () => {
  const A = new Float32Array(12), B = new Float32Array(16), C = new Float32Array(12);
  const call = (...args: unknown[]): void => (nt._gemm as unknown as (...a: unknown[]) => void)(...args);

  it('accepts a well-formed call', () => {
    expect(() => call(false, false, 3, 4, 4, 1, A, 4, B, 4, 0, C, 4)).not.toThrow();
  });

  it('rejects leading dimensions and lengths that do not fit', () => {
    expect(() => call(false, false, 3, 4, 4, 1, A, 3, B, 4, 0, C, 4)).toThrow(/leading dimension of 'A'/);
    expect(() => call(false, false, 3, 4, 5, 1, A, 5, B, 4, 0, C, 4)).toThrow(/'A' \(3x5, leading dimension 5\) needs 15 elements but has 12/);
    expect(() => call(false, true, 3, 4, 4, 1, A, 4, B, 3, 0, C, 4)).toThrow(/leading dimension of 'B'/);
    expect(() => call(false, false, 3, 4, 4, 1, A, 4, B, 4, 0, C, 5)).toThrow(/'C' \(3x4, leading dimension 5\) needs 14/);
    expect(() => call(true, false, 4, 3, 3, 1, A, 4, B, 3, 0, C, 3)).not.toThrow(); // A stored 3x4
    expect(() => call(true, false, 4, 3, 4, 1, A, 4, B, 3, 0, C, 3)).toThrow(/'A' \(4x4/);
    expect(() => call(false, false, 3, 4, 4, 1, A, 0, B, 4, 0, C, 4)).toThrow(RangeError);
  });

  it('rejects wrong kinds, mixed dtypes and overlap', () => {
    expect(() => call(0, false, 3, 4, 4, 1, A, 4, B, 4, 0, C, 4)).toThrow(TypeError);
    expect(() => call(false, false, 3, 4, 4, '1', A, 4, B, 4, 0, C, 4)).toThrow(TypeError);
    expect(() => call(false, false, 3, 4, 4, 1, A, 4, new Float64Array(16), 4, 0, C, 4)).toThrow(TypeError);
    expect(() => call(false, false, 3, 4, 4, 1, A, 4, B, 4, 0, A, 4)).toThrow(/overlaps/);
    expect(() => call(false, false, 3, 4, 4, 1, A, 4, B, 4, 0, C)).toThrow(TypeError);
    expect(() => call(false, false, -1, 4, 4, 1, A, 4, B, 4, 0, C, 4)).toThrow(RangeError);
  });
});

// ---- float32: bit-exact against the sequential-fma triple loop ----

describe('float32 GEMM is bit-identical to the sequential-fma loop', () => {
  for (const isa of ISAS) {
    it(`${isa}: every edge size of its blocking, on every path`, () => {
      const { mr, nr, kc } = blockingFor(isa, 'float32');
      const rng = mulberry32(1000 + mr * 7 + nr);
      // mr + 5 and mr + 8: the last micro-panel takes the narrower edge
      // kernels (AVX-512: 8 or 4 rows); nr / 2 (+ 1): one vector of columns.
      const ms = uniq([1, mr - 1, mr, mr + 1, mr + 5, mr + 8, 2 * mr + 3]);
      const ns = uniq([1, nr / 2, nr / 2 + 1, nr - 1, nr, nr + 1]);
      const ks = uniq([1, kc - 1, kc + 1]);
      let checked = 0;
      for (const m of ms) {
        for (const n of ns) {
          for (const k of ks) {
            const P = makeProblem('float32', false, false, m, n, k, rng);
            const want = Float32Array.from(seqSums32(P));
            for (const mode of PATHS) {
              nt._setGemmPath(mode);
              const C = runGemm(P, 1, 0, new Float32Array(m * n).fill(NaN), n);
              const d = firstDiff(C, want);
              if (d !== null) throw new Error(`${isa} ${mode} m=${m} n=${n} k=${k}: ${d}`);
              checked++;
            }
          }
        }
      }
      // k across several KC blocks, and KC itself.
      for (const [m, n, k] of [[mr + 1, nr + 1, 2 * kc + 1], [2 * mr + 3, nr - 1, kc], [mr, 2 * nr + 5, 2 * kc]]) {
        const P = makeProblem('float32', false, false, m, n, k, rng);
        const want = Float32Array.from(seqSums32(P));
        for (const mode of PATHS) {
          nt._setGemmPath(mode);
          expect(firstDiff(runGemm(P, 1, 0, new Float32Array(m * n), n), want), `${isa} ${mode} ${m}x${n}x${k}`).toBeNull();
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(100);
    });

    it(`${isa}: transposed operands and leading dimensions (padding never read or written)`, () => {
      const { mr, nr, kc } = blockingFor(isa, 'float32');
      const rng = mulberry32(2000 + mr);
      for (const [m, n, k] of [[mr + 1, nr + 1, kc + 1], [2 * mr + 3, nr - 1, 37], [3, 2 * nr + 1, kc - 1]]) {
        for (const ta of [false, true]) {
          for (const tb of [false, true]) {
            const P = makeProblem('float32', ta, tb, m, n, k, rng, 3);
            const want = Float32Array.from(seqSums32(P));
            const ldc = n + 2;
            for (const mode of PATHS) {
              nt._setGemmPath(mode);
              const C = runGemm(P, 1, 0, makeC('float32', m, n, ldc, () => NaN), ldc);
              for (let i = 0; i < m; i++) {
                for (let j = 0; j < n; j++) {
                  if (!Object.is(C[i * ldc + j], want[i * n + j])) {
                    throw new Error(`${isa} ${mode} ta=${ta} tb=${tb} ${m}x${n}x${k} (${i},${j}): ${C[i * ldc + j]} vs ${want[i * n + j]}`);
                  }
                }
                if (i < m - 1) expect([C[i * ldc + n], C[i * ldc + n + 1]]).toEqual([-12345.5, -12345.5]);
              }
              expect(C[(m - 1) * ldc + n]).toBe(-12345.5);
            }
          }
        }
      }
    });

    it(`${isa}: alpha and beta exactly as kernels.h says (beta = 0 does not read C)`, () => {
      const { mr, nr, kc } = blockingFor(isa, 'float32');
      const rng = mulberry32(3000 + mr);
      const cases: [number, number][] = [[1, 0], [-0.5, 0], [2.75, 0], [1, 1], [0.3, -1.5], [-2, 0.25], [0, 0], [0, -3]];
      for (const [m, n, k, tb] of [[mr + 1, nr + 1, kc - 1, true], [mr + 2, nr + 3, kc + 1, true], [mr, nr, 2 * kc + 3, true],
        [5, 7, 0, true], [mr + 5, 2 * nr + 3, kc + 1, false], [2 * mr, nr, 2 * kc + 3, false]] as const) {
        const P = makeProblem('float32', false, tb, m, n, k, rng);
        for (const [alpha, beta] of cases) {
          const ldc = n + 1;
          const C0 = makeC('float32', m, n, ldc, beta === 0 ? () => NaN : () => rng() * 4 - 2);
          for (const mode of PATHS) {
            nt._setGemmPath(mode);
            const want = expected32(P, alpha, beta, C0, ldc, kc, mode === 'small');
            const got = runGemm(P, alpha, beta, Float32Array.from(C0), ldc);
            expect(firstDiff(got, want), `${isa} ${mode} ${m}x${n}x${k} alpha=${alpha} beta=${beta}`).toBeNull();
          }
        }
      }
    });
  }

  it('B read in place with long rows (wide products with few rows, as 1x1 convolutions make) and with rows 4 KiB apart (packed): every ISA and path', () => {
    // gemm.cc reads B in place for one block of A (m <= MC, or all m rows
    // within MC x KC) unless its rows are a multiple of 4 KiB apart: 1100
    // and 2100 columns (two and three column blocks, the last one narrow), k
    // within and across KC, edge rows, m above MC (200 and 300 rows in one
    // block); 1024 columns take the packed path on 'auto' too.
    // 'auto' is the path that reads B in place (the modes above force other
    // ones); on one thread a whole m above MC is one block, on more each
    // thread's rows are.
    const MODES = ['auto', ...PATHS] as const;
    const before = getNumThreads();
    const THREADS = uniq([1, 2, before]);
    const rng = mulberry32(3500);
    let checked = 0;
    // Every ISA, mode and thread count must give want's bits.
    const everyWay = (P: Problem, want: Arr, fresh: () => Arr, label: string): void => {
      for (const isa of ISAS) {
        nt._setIsa(isa);
        for (const mode of MODES) {
          nt._setGemmPath(mode);
          for (const threads of THREADS) {
            setNumThreads(threads);
            const d = firstDiff(runGemm(P, 1, 0, fresh().fill(NaN), P.n), want);
            if (d !== null) throw new Error(`${label} ${isa} ${mode} ${threads} threads ${P.m}x${P.n}x${P.k}: ${d}`);
            checked++;
          }
        }
      }
    };
    const shapes = [[30, 1100, 40], [17, 2100, 389], [45, 1024, 24], [3, 1500, 9], [200, 1100, 40], [300, 700, 100]] as const;
    for (const [m, n, k] of shapes) {
      const P = makeProblem('float32', false, false, m, n, k, rng);
      everyWay(P, Float32Array.from(seqSums32(P)), () => new Float32Array(m * n), 'float32');
      // float64, the same shape: the scalar ISA's bits.
      const Q = makeProblem('float64', false, false, m, n, k, rng);
      nt._setIsa('scalar');
      nt._setGemmPath('packed');
      everyWay(Q, runGemm(Q, 1, 0, new Float64Array(m * n), n), () => new Float64Array(m * n), 'float64');
    }
    setNumThreads(before);
    expect(checked).toBe(2 * shapes.length * ISAS.length * MODES.length * THREADS.length);
  });

  it('lies within gamma_k * sum |a||b| of the float64 product (the documented bound)', () => {
    const rng = mulberry32(3500);
    for (const isa of ISAS) {
      const { kc } = blockingFor(isa, 'float32');
      for (const [m, n, k] of [[31, 45, 7], [20, 33, kc + 9], [9, 70, 3 * kc + 1]]) {
        const P = makeProblem('float32', false, false, m, n, k, rng);
        const C = runGemm(P, 1, 0, new Float32Array(m * n), n);
        const { val, tol } = ref64(P, 1, 0, C, n, 2 ** -24);
        let worst = 0;
        for (let q = 0; q < m * n; q++) {
          const err = Math.abs(C[q] - val[q]);
          if (!(err <= tol[q])) throw new Error(`${isa} ${m}x${n}x${k} element ${q}: error ${err} > bound ${tol[q]}`);
          worst = Math.max(worst, err / tol[q]);
        }
        expect(worst).toBeGreaterThan(0); // the comparison is not vacuous: float32 rounds
      }
    }
  });

  it('alpha == 0 and k == 0 do not read A or B', () => {
    for (const isa of ISAS) {
      nt._setIsa(isa);
      const A = new Float32Array(60 * 70).fill(NaN), B = new Float32Array(70 * 80).fill(Infinity);
      for (const mode of PATHS) {
        nt._setGemmPath(mode);
        const C = new Float32Array(60 * 80).fill(2);
        nt._gemm(false, false, 60, 80, 70, 0, A, 70, B, 80, 0.5, C, 80);
        expect(C.every((x) => x === 1)).toBe(true);
        nt._gemm(false, false, 60, 80, 0, 1, A, 1, B, 80, 0, C, 80);
        expect(C.every((x) => Object.is(x, 0))).toBe(true);
      }
    }
  });
});

// ---- float64 ----

describe('float64 GEMM', () => {
  it('every ISA and path gives the scalar ISA\'s bits, and the scalar ISA is within the rounding bound of a float64 loop', () => {
    const rng = mulberry32(4000);
    const shapes: [number, number, number][] = [];
    for (const isa of ISAS) {
      const { mr, nr, kc } = blockingFor(isa, 'float64');
      for (const m of uniq([1, mr - 1, mr, mr + 1, mr + 5, mr + 8, 2 * mr + 3])) {
        for (const n of uniq([1, nr / 2, nr / 2 + 1, nr - 1, nr, nr + 1])) {
          for (const k of uniq([1, kc - 1, kc + 1])) shapes.push([m, n, k]);
        }
      }
      shapes.push([mr + 1, nr + 1, 2 * kc + 1]);
    }
    const seen = new Set<string>();
    let checked = 0;
    for (const [m, n, k] of shapes) {
      const key = `${m},${n},${k}`;
      if (seen.has(key)) continue;
      seen.add(key);
      for (const [ta, tb] of [[false, false], [true, true]] as const) {
        const P = makeProblem('float64', ta, tb, m, n, k, rng, ta ? 2 : 0);
        nt._setIsa('scalar');
        nt._setGemmPath('auto');
        const base = runGemm(P, 1, 0, new Float64Array(m * n), n);
        const { val, tol } = ref64(P, 1, 0, base, n, 2 ** -53);
        for (let q = 0; q < m * n; q++) {
          if (!(Math.abs(base[q] - val[q]) <= tol[q])) throw new Error(`scalar ${key} element ${q}: ${base[q]} vs ${val[q]} (tol ${tol[q]})`);
        }
        for (const isa of ISAS) {
          nt._setIsa(isa);
          for (const mode of PATHS) {
            nt._setGemmPath(mode);
            const C = runGemm(P, 1, 0, new Float64Array(m * n).fill(NaN), n);
            const d = firstDiff(C, base);
            if (d !== null) throw new Error(`${isa} ${mode} ta=${ta} tb=${tb} ${key}: ${d}`);
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('is exact on small integers across KC blocks, transposes and leading dimensions', () => {
    const rng = mulberry32(5000);
    for (const isa of ISAS) {
      const { mr, nr, kc } = blockingFor(isa, 'float64');
      for (const [m, n, k] of [[mr + 1, nr + 1, 2 * kc + 1], [2 * mr + 3, nr - 1, kc + 1]]) {
        for (const ta of [false, true]) {
          for (const tb of [false, true]) {
            const P = makeProblem('float64', ta, tb, m, n, k, rng, 1, true);
            const want = new Float64Array(m * n);
            for (let i = 0; i < m; i++) {
              for (let j = 0; j < n; j++) {
                let s = 0;
                for (let p = 0; p < k; p++) s += aAt(P, i, p) * bAt(P, p, j);
                want[i * n + j] = s;
              }
            }
            for (const mode of PATHS) {
              nt._setGemmPath(mode);
              expect(firstDiff(runGemm(P, 1, 0, new Float64Array(m * n), n), want), `${isa} ${mode}`).toBeNull();
            }
          }
        }
      }
    }
  });

  it('alpha and beta: within the rounding bound, and bit-identical across ISAs where kernels.h promises it', () => {
    const rng = mulberry32(6000);
    const kcMin = Math.min(...ISAS.map((isa) => blockingFor(isa, 'float64').kc));
    for (const [m, n, k] of [[17, 19, 40], [15, 33, kcMin], [9, 17, kcMin + 7]]) {
      const P = makeProblem('float64', true, false, m, n, k, rng);
      for (const [alpha, beta] of [[-0.75, 0], [1.5, 1], [0.5, -2]]) {
        const C0 = makeC('float64', m, n, n, beta === 0 ? () => NaN : () => rng() - 0.5);
        const { val, tol } = ref64(P, alpha, beta, C0, n, 2 ** -53);
        let first: Float64Array | null = null;
        for (const isa of ISAS) {
          nt._setIsa(isa);
          for (const mode of PATHS) {
            nt._setGemmPath(mode);
            const C = runGemm(P, alpha, beta, Float64Array.from(C0), n) as Float64Array;
            for (let q = 0; q < m * n; q++) {
              if (!(Math.abs(C[q] - val[q]) <= tol[q])) throw new Error(`${isa} ${mode} alpha=${alpha} beta=${beta} element ${q}: ${C[q]} vs ${val[q]}`);
            }
            if (beta === 0 || k <= kcMin) {
              if (first === null) first = C;
              else expect(firstDiff(C, first), `${isa} ${mode} alpha=${alpha} beta=${beta}`).toBeNull();
            }
          }
        }
      }
    }
  });
});

// ---- matrix-vector products: the GEMV path (m == 1 or n == 1) ----

describe('matrix-vector products (m == 1 or n == 1) are bit-identical to the sequential-fma loop', () => {
  // Vector widths of every ISA (16, 8, 4 lanes) and the kernels' internal
  // edges: register accumulators up to 8 vectors, then 16 KB chunks of
  // accumulators (4096 float32, 2048 float64), rows streamed 4 at a time,
  // transposed blocks of W rows x W deep; threads split outputs by 64.
  const LENS = [1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 65, 127, 129, 200];
  const KS = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 100];
  const THREADS = [1, 2, 3, 5];

  /** Every ISA, thread count and path that takes m == 1 / n == 1 products, against `want`. */
  function checkAll(P: Problem, alpha: number, beta: number, C0: Arr, ldc: number, want: Arr, label: string): number {
    let checked = 0;
    for (const isa of ISAS) {
      nt._setIsa(isa);
      for (const mode of ['auto', 'gemv'] as const) {
        nt._setGemmPath(mode);
        for (const t of mode === 'auto' ? [1] : THREADS) {
          setNumThreads(t);
          const d = firstDiff(runGemm(P, alpha, beta, C0.slice() as Arr, ldc), want);
          if (d !== null) throw new Error(`${label} ${isa} ${mode} ${t} threads: ${d}`);
          checked++;
        }
      }
    }
    return checked;
  }

  it('float32: every length and depth edge, both forms (transposes), strides and padding', () => {
    const rng = mulberry32(11000);
    let checked = 0;
    const shapes: [number, number, number][] = [];
    for (const len of LENS) for (const k of KS) shapes.push([1, len, k], [len, 1, k]);
    // Past one 16 KB chunk of accumulators, and long k.
    shapes.push([1, 4096 + 19, 6], [1, 8192 + 64 + 5, 3], [4096 + 19, 1, 5], [1, 300, 1031], [300, 1, 1031]);
    for (const [m, n, k] of shapes) {
      for (const [ta, tb] of [[false, false], [true, true], [false, true], [true, false]] as const) {
        const pad = (m * 7 + n + k) % 3;
        const P = makeProblem('float32', ta, tb, m, n, k, rng, pad);
        const want = Float32Array.from(seqSums32(P));
        // C with a leading dimension: for n == 1 the output is a strided column.
        const ldc = n + pad;
        const C0 = makeC('float32', m, n, ldc, () => NaN);
        const wantC = Float32Array.from(C0);
        for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) wantC[i * ldc + j] = want[i * n + j];
        checked += checkAll(P, 1, 0, C0, ldc, wantC, `${ta ? 'T' : 'N'}${tb ? 'T' : 'N'} ${m}x${n}x${k}`);
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it('float32: alpha and beta as the small path (one finish over the whole k)', () => {
    const rng = mulberry32(12000);
    const cases: [number, number][] = [[1, 0], [-0.5, 0], [2.75, 0], [1, 1], [0.3, -1.5], [-2, 0.25]];
    for (const [m, n, k] of [[1, 37, 1000], [1, 200, 17], [37, 1, 1000], [130, 1, 33], [1, 5000, 2]]) {
      for (const [ta, tb] of [[false, false], [true, true]] as const) {
        const P = makeProblem('float32', ta, tb, m, n, k, rng, 1);
        for (const [alpha, beta] of cases) {
          const ldc = n + 2;
          const C0 = makeC('float32', m, n, ldc, beta === 0 ? () => NaN : () => rng() * 4 - 2);
          const want = expected32(P, alpha, beta, C0, ldc, Infinity, true);
          checkAll(P, alpha, beta, C0, ldc, want, `${m}x${n}x${k} alpha=${alpha} beta=${beta}`);
        }
      }
    }
  });

  it('float64: every ISA, thread count and form gives the scalar ISA\'s bits, which are the sequential fma', () => {
    const rng = mulberry32(13000);
    let checked = 0;
    const shapes: [number, number, number][] = [];
    for (const len of [1, 3, 4, 5, 7, 8, 9, 16, 17, 33, 65, 129]) {
      for (const k of [1, 3, 4, 5, 8, 9, 17, 70]) shapes.push([1, len, k], [len, 1, k]);
    }
    shapes.push([1, 2048 + 9, 5], [2048 + 9, 1, 6]);
    for (const [m, n, k] of shapes) {
      for (const [ta, tb] of [[false, false], [true, true], [false, true], [true, false]] as const) {
        const P = makeProblem('float64', ta, tb, m, n, k, rng, 1);
        for (const [alpha, beta] of [[1, 0], [0.5, -1.25]]) {
          const C0 = makeC('float64', m, n, n, beta === 0 ? () => NaN : () => rng() - 0.5);
          nt._setIsa('scalar');
          nt._setGemmPath('small');
          const base = runGemm(P, alpha, beta, Float64Array.from(C0), n);
          if (m * n * k <= 2000 && beta === 0 && alpha === 1) {
            // The scalar loop is the sequential fma: exact on small integers.
            const Q = makeProblem('float64', ta, tb, m, n, k, rng, 1, true);
            const exact = new Float64Array(m * n);
            for (let i = 0; i < m; i++) {
              for (let j = 0; j < n; j++) {
                let s = 0;
                for (let p = 0; p < k; p++) s += aAt(Q, i, p) * bAt(Q, p, j);
                exact[i * n + j] = s;
              }
            }
            checked += checkAll(Q, 1, 0, new Float64Array(m * n).fill(NaN), n, exact, `f64 ints ${m}x${n}x${k}`);
          }
          checked += checkAll(P, alpha, beta, C0, n, base, `f64 ${m}x${n}x${k} alpha=${alpha} beta=${beta}`);
        }
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it('through matmul: vector-matrix and matrix-vector products of every ISA equal the packed path', () => {
    const generator = new Generator(77);
    for (const isa of ISAS) {
      nt._setIsa(isa);
      for (const [m, k, n] of [[1, 513, 1000], [1000, 513, 1], [1, 4096, 70], [70, 4096, 1]]) {
        const A = normal(0, 1, [m, k], { generator }), B = normal(0, 1, [k, n], { generator });
        nt._setGemmPath('auto');
        setNumThreads(2);
        const fast = A.matmul(B).data;
        nt._setGemmPath('packed');
        setNumThreads(1);
        const kc = nt.backendInfo().blocking.float32.kc;
        // The packed path applies KC blocks through C, which for beta == 0 is
        // the same sequential accumulator: identical bits.
        expect(k > kc).toBe(true);
        expect(bitsEqual(fast, A.matmul(B).data), `${isa} ${m}x${k}x${n}`).toBe(true);
      }
    }
  });
});

// ---- large products, threads ----

describe('large products and threads', () => {
  /**
   * BLIS-style check of C = A B in O(n^2): with a random vector v, C v and
   * A (B v) (both in float64) differ by at most gamma_k |A| (|B| |v|) per
   * row, plus the float64 arithmetic of the check itself.
   */
  function checkProduct(m: number, n: number, k: number, A: Float32Array, B: Float32Array, C: Float32Array, rng: () => number): void {
    const v = Float64Array.from({ length: n }, () => rng() * 2 - 1);
    const Bv = new Float64Array(k), absBv = new Float64Array(k);
    for (let p = 0; p < k; p++) {
      let s = 0, t = 0;
      for (let j = 0; j < n; j++) {
        s += B[p * n + j] * v[j];
        t += Math.abs(B[p * n + j] * v[j]);
      }
      Bv[p] = s;
      absBv[p] = t;
    }
    const u = 2 ** -24, g = (k * u) / (1 - k * u);
    for (let i = 0; i < m; i++) {
      let cv = 0, abv = 0, bound = 0, mag = 0;
      for (let j = 0; j < n; j++) {
        cv += C[i * n + j] * v[j];
        mag += Math.abs(C[i * n + j] * v[j]);
      }
      for (let p = 0; p < k; p++) {
        abv += A[i * k + p] * Bv[p];
        bound += Math.abs(A[i * k + p]) * absBv[p];
      }
      const slack = (n + 2 * k + 4) * 2 ** -52 * (mag + bound);
      if (!(Math.abs(cv - abv) <= g * bound + slack)) {
        throw new Error(`row ${i}: |Cv - A(Bv)| = ${Math.abs(cv - abv)} > ${g * bound + slack}`);
      }
    }
  }

  it('1500 x 1700 x 1900 float32: correct (A(Bv) check) and bit-identical on 1, 2 and 3 threads', () => {
    const [m, n, k] = [1500, 1700, 1900];
    const rng = mulberry32(7000);
    const A = Float32Array.from({ length: m * k }, () => rng() * 2 - 1);
    const B = Float32Array.from({ length: k * n }, () => rng() * 2 - 1);
    setNumThreads(1);
    const C1 = new Float32Array(m * n);
    nt._gemm(false, false, m, n, k, 1, A, k, B, n, 0, C1, n);
    checkProduct(m, n, k, A, B, C1, rng);
    for (const t of [2, 3]) {
      setNumThreads(t);
      const C = new Float32Array(m * n).fill(NaN);
      nt._gemm(false, false, m, n, k, 1, A, k, B, n, 0, C, n);
      expect(bitsEqual(C, C1), `${t} threads`).toBe(true);
    }
    // A few elements against the exact sequential fma.
    const P: Problem = { ta: false, tb: false, m, n, k, A: { data: A, ld: k }, B: { data: B, ld: n } };
    for (const [i, j] of [[0, 0], [m - 1, n - 1], [777, 1234], [m - 1, 0]]) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc = fma32(aAt(P, i, p), bAt(P, p, j), acc);
      expect(C1[i * n + j]).toBe(acc);
    }
  });

  it('every ISA gives the same bits on a multi-block product, float32 and float64, 1 and 2 threads', () => {
    const rng = mulberry32(8000);
    for (const dt of ['float32', 'float64'] as const) {
      const [m, n, k] = dt === 'float32' ? [301, 517, 811] : [203, 259, 541];
      const A = makeMat(dt, m, k, k, rng).data, B = makeMat(dt, k, n, n, rng).data;
      let first: Arr | null = null;
      for (const isa of ISAS) {
        nt._setIsa(isa);
        for (const t of [1, 2]) {
          setNumThreads(t);
          const C = dt === 'float32' ? new Float32Array(m * n) : new Float64Array(m * n);
          nt._gemm(false, false, m, n, k, 1, A, k, B, n, 0, C, n);
          if (first === null) first = C;
          else expect(firstDiff(C, first), `${dt} ${isa} ${t} threads`).toBeNull();
        }
      }
    }
  });

  it('splitting small products over more threads than cores changes no bit', () => {
    const rng = mulberry32(9000);
    for (const isa of ISAS) {
      const { mr, nr, kc } = blockingFor(isa, 'float32');
      // The last three: row blocks taken by threads as they free up (gemm.cc's
      // shared-B driver), over three and four depth blocks; the last one with
      // more threads than items in two steps (3 row blocks on 5 and 8).
      for (const [m, n, k] of [[2 * mr + 1, 3 * nr + 2, 50], [mr * 5, nr, 300], [1, 9 * nr, 70], [7 * mr + 3, 1, 33],
        [4 * mr + 3, nr + 1, 2 * kc + 5], [9 * mr, 2 * nr + 3, 3 * kc + 1], [2 * mr + 1, nr + 1, 3 * kc + 1]]) {
        const P = makeProblem('float32', false, false, m, n, k, rng);
        const want = Float32Array.from(seqSums32(P));
        nt._setGemmPath('parallel');
        for (const t of [1, 2, 3, 5, 8]) {
          setNumThreads(t);
          expect(firstDiff(runGemm(P, 1, 0, new Float32Array(m * n), n), want), `${isa} ${t} threads ${m}x${n}x${k}`).toBeNull();
        }
      }
    }
  });

  it('GEMMs on workers and the main thread at once share the pool safely', async () => {
    const n = 480, rounds = 20;
    // A hash of the bits of C, the same code on both sides.
    const hashSrc = `(C) => { const u = new Uint32Array(C.buffer, C.byteOffset, C.length); let h = 2166136261; for (let i = 0; i < u.length; i++) h = Math.imul(h ^ u[i], 16777619); return h >>> 0; }`;
    const hash = eval(hashSrc) as (C: Float32Array) => number;
    const script = `
      const { parentPort, workerData } = require('node:worker_threads');
      const b = require(${JSON.stringify(path.join(root, 'dist/native.js'))}).native();
      const hash = ${hashSrc};
      const { A, B, n, rounds } = workerData;
      const out = [];
      for (let r = 0; r < rounds; r++) {
        const C = new Float32Array(n * n);
        b._gemm(false, false, n, n, n, 1, A, n, B, n, 0, C, n);
        out.push(hash(C));
      }
      parentPort.postMessage(out);`;
    const rng = mulberry32(10000);
    const A = Float32Array.from({ length: n * n }, () => rng() - 0.5);
    const B = Float32Array.from({ length: n * n }, () => rng() - 0.5);
    setNumThreads(2);
    const ref = new Float32Array(n * n);
    nt._gemm(false, false, n, n, n, 1, A, n, B, n, 0, ref, n);
    const want = hash(ref);
    const workers = [0, 1].map(() => new Worker(script, { eval: true, workerData: { A, B, n, rounds } }));
    const done = workers.map((w) => new Promise<number[]>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    }));
    // The main thread computes too while the workers run.
    for (let r = 0; r < rounds; r++) {
      const C = new Float32Array(n * n);
      nt._gemm(false, false, n, n, n, 1, A, n, B, n, 0, C, n);
      expect(hash(C)).toBe(want);
      await new Promise((res) => setImmediate(res));
    }
    for (const hashes of await Promise.all(done)) expect(hashes).toEqual(new Array(rounds).fill(want));
    await Promise.all(workers.map((w) => w.terminate()));
  });

  it('the pool never keeps a process alive or crashes it at exit', () => {
    const nativeJs = JSON.stringify(path.join(root, 'dist/native.js'));
    const gemm = `const n = 500, A = new Float32Array(n * n).fill(1), C = new Float32Array(n * n);
      b.setNumThreads(2); b._setGemmPath('parallel'); b._gemm(false, false, n, n, n, 1, A, n, A, n, 0, C, n);
      if (C[0] !== n || C[n * n - 1] !== n) throw new Error('wrong result');`;
    const scripts = {
      // Natural exit after threaded GEMMs: the sleeping workers do not hold the process.
      natural: `const b = require(${nativeJs}).native(); ${gemm} console.log('ok');`,
      // process.exit right after a GEMM, while the workers may still be spinning.
      exit: `const b = require(${nativeJs}).native(); ${gemm} console.log('ok'); process.exit(0);`,
      // The addon loaded only in a worker, which starts the pool and then ends.
      workerOnly: `const { Worker } = require('node:worker_threads');
        const w = new Worker(\`const { parentPort } = require('node:worker_threads'); const b = require(${nativeJs}).native(); ${gemm} parentPort.postMessage('done');\`, { eval: true });
        w.on('message', () => { w.terminate().then(() => setTimeout(() => console.log('ok'), 100)); });`,
      // A worker terminated while it runs GEMMs.
      terminate: `const { Worker } = require('node:worker_threads');
        const w = new Worker(\`const b = require(${nativeJs}).native(); for (;;) { ${gemm} }\`, { eval: true });
        setTimeout(() => w.terminate().then(() => console.log('ok')), 300);`,
    };
    for (const [name, src] of Object.entries(scripts)) {
      const t0 = Date.now();
      const r = spawnSync(process.execPath, ['-e', src], { encoding: 'utf8', timeout: 30_000 });
      expect(r.signal, `${name}: ${r.stderr}`).toBeNull();
      expect(r.status, `${name}: ${r.stderr}`).toBe(0);
      expect(r.stdout.trim(), name).toBe('ok');
      expect(Date.now() - t0, name).toBeLessThan(20_000);
    }
  });
});

// ---- the d2l contract through the public API ----

describe('1x1 convolution == matmul, exactly, on every ISA and path', () => {
  it('including channel counts above KC (the accumulator continues through C)', () => {
    const generator = new Generator(42);
    for (const isa of ISAS) {
      nt._setIsa(isa);
      const kc = nt.backendInfo().blocking.float32.kc;
      for (const mode of PATHS) {
        nt._setGemmPath(mode);
        for (const dtype of ['float32', 'float64'] as const) {
          for (const [ci, co, h, w] of [[3, 2, 3, 3], [kc + 5, 7, 6, 5], [2 * kc + 1, 3, 4, 4]]) {
            const X = normal(0, 1, [ci, h, w], { generator, dtype });
            const K = normal(0, 1, [co, ci, 1, 1], { generator, dtype });
            const Y1 = corr2dMultiInOut1x1(X, K), Y2 = corr2dMultiInOut(X, K);
            expect(bitsEqual(Y1.data, Y2.data), `${isa} ${mode} ${dtype} ci=${ci}`).toBe(true);
          }
        }
      }
    }
  });
});
