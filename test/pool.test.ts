// maxPool2d and avgPool2d: d2l §6.5's examples, PyTorch 1.13 outputs
// (test/fixtures/conv.json, scripts/fixtures/gen_conv.py), a naive reference
// written here (bit for bit: PyTorch's CPU kernels sum a window in ascending
// order from 0 and divide once; max takes an element when greater or NaN),
// ceilMode, dilation, countIncludePad and divisorOverride, NaN and infinity,
// and PyTorch's errors.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { native } from '../lib/native';
import type { IntPair } from '../lib/index';
import { AvgPool2dOptions, Generator, MaxPool2dOptions, Pool2dOptions, Tensor, arange, avgPool2d, cat, fromTypedArray, maxPool2d, normal, setNumThreads, getNumThreads, tensor } from '../lib/index';

type DT = 'float32' | 'float64';
type Pair = number | [number, number];
// Infinities and NaN are the strings "Infinity", "-Infinity", "NaN" (JSON has none).
interface FixTensor { shape: number[]; data: (number | string)[] }
interface PoolCase {
  name: string;
  op: 'max' | 'avg';
  dtype: DT;
  input: FixTensor;
  kernel: Pair;
  stride: Pair | null;
  padding: Pair;
  dilation?: Pair;
  ceilMode?: boolean;
  countIncludePad?: boolean;
  divisorOverride?: number;
  out: FixTensor;
}
const fixtures = JSON.parse(readFileSync(fileURLToPath(new URL('./fixtures/conv.json', import.meta.url)), 'utf8')) as { pool: PoolCase[] };

const toTensor = (t: FixTensor, dtype: DT): Tensor => {
  const values = t.data.map(Number);
  return fromTypedArray(dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values), t.shape);
};
const pairOf = (v: IntPair | readonly [] | null | undefined, d: [number, number]): [number, number] =>
  (v === undefined || v === null || (typeof v !== 'number' && v.length === 0) ? d : typeof v === 'number' ? [v, v] : v.length === 1 ? [v[0], v[0]] : [v[0], v[1]]);

/** Every option a pooling takes (the naive loops read them all). */
interface NaiveOptions {
  stride?: IntPair | readonly [] | null;
  padding?: IntPair;
  dilation?: IntPair;
  ceilMode?: boolean;
  countIncludePad?: boolean;
  divisorOverride?: number | null;
}

/**
 * PyTorch's output size, written out: the windows wholly inside the padded
 * input; with ceilMode, one more partial window over the rest when it starts
 * inside the input or its left padding. (Checked against PyTorch 1.13 for
 * every size 1-8, kernel 1-5, stride 1-4, padding, dilation 1-3, both modes.)
 */
function naiveOutSize(size: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  const span = d * (k - 1) + 1, padded = size + 2 * p;
  let n = 0;
  while (n * s + span <= padded) n++;
  if (ceil && (n - 1) * s + span < padded && n * s - p < size) n++;
  return n;
}

/** The naive pooling loops, with PyTorch's CPU rules. */
function naivePool(op: 'max' | 'avg', x: ArrayLike<number>, shape: number[], dtype: DT, kernel: Pair, o: NaiveOptions = {}): number[] {
  const [N, C, H, W] = shape.length === 4 ? shape : [1, ...shape];
  const [kh, kw] = pairOf(kernel, [0, 0]), [sh, sw] = pairOf(o.stride, [kh, kw]), [ph, pw] = pairOf(o.padding, [0, 0]);
  const [dh, dw] = pairOf(o.dilation, [1, 1]), ceil = o.ceilMode ?? false, includePad = o.countIncludePad ?? true;
  const OH = naiveOutSize(H, kh, sh, ph, dh, ceil), OW = naiveOutSize(W, kw, sw, pw, dw, ceil);
  const r = dtype === 'float32' ? Math.fround : (v: number): number => v;
  const out: number[] = [];
  for (let p = 0; p < N * C; p++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        let acc = op === 'max' ? -Infinity : 0, real = 0, padded = 0;
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            const iy = oy * sh - ph + i * dh, ix = ox * sw - pw + j * dw;
            // average pooling: the divisor counts the padding, not what lies past it
            if (iy < H + ph && ix < W + pw) padded++;
            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue; // -inf for max, 0 for avg
            real++;
            const v = x[(p * H + iy) * W + ix];
            if (op === 'max') {
              if (v > acc || Number.isNaN(v)) acc = v;
            } else {
              acc = r(acc + v);
            }
          }
        }
        // + 0: PyTorch's zero average is +0, even over a negative divisorOverride.
        out.push(op === 'max' ? acc : r(acc / (o.divisorOverride ?? (includePad ? padded : real))) + 0);
      }
    }
  }
  return out;
}

function sameBits(a: Float32Array | Float64Array, want: number[]): number {
  const w = a instanceof Float64Array ? Float64Array.from(want) : Float32Array.from(want);
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength), y = new Uint8Array(w.buffer);
  if (x.length !== y.length) return -2;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return Math.floor(i / a.BYTES_PER_ELEMENT);
  return -1;
}

const fns = { max: maxPool2d, avg: avgPool2d };

describe('d2l §6.5 examples', () => {
  const X = arange(9).reshape(1, 1, 3, 3);
  it('pool2d(X, (2, 2)) max and avg with stride 1', () => {
    expect(maxPool2d(X, 2, { stride: 1 }).toArray()).toEqual([[[[4, 5], [7, 8]]]]);
    expect(avgPool2d(X, 2, { stride: 1 }).toArray()).toEqual([[[[2, 3], [5, 6]]]]);
    expect(maxPool2d(X.reshape(3, 3).reshape(1, 3, 3), [2, 2], { stride: [1, 1] }).toArray()).toEqual([[[4, 5], [7, 8]]]);
  });
  const Y = arange(16).reshape(1, 1, 4, 4);
  it('default stride is the window; padding and stride', () => {
    expect(maxPool2d(Y, 3).toArray()).toEqual([[[[10]]]]);
    expect(maxPool2d(Y, 3, { padding: 1, stride: 2 }).toArray()).toEqual([[[[5, 7], [13, 15]]]]);
    expect(maxPool2d(Y, [2, 3], { stride: [2, 3], padding: [0, 1] }).toArray()).toEqual([[[[5, 7], [13, 15]]]]);
  });
  it('multiple channels pool each channel separately', () => {
    const Z = cat([Y, Y.add(1)], 1);
    expect(maxPool2d(Z, 3, { padding: 1, stride: 2 }).toArray()).toEqual([[[[5, 7], [13, 15]], [[6, 8], [14, 16]]]]);
  });
  it('avgPool2d counts the padding (count_include_pad): PyTorch gives these values', () => {
    // F.avg_pool2d(torch.arange(16.).reshape(1, 1, 4, 4), 3, padding=1, stride=2)
    // = [[1.1111, 2.6667], [5.6667, 10.0000]] (sum / 9 even where the window covers padding)
    const got = avgPool2d(Y, 3, { padding: 1, stride: 2 });
    expect(Array.from(got.data)).toEqual([10 / 9, 24 / 9, 51 / 9, 90 / 9].map(Math.fround));
  });
});

describe('vs PyTorch 1.13 (fixtures) and the naive loops, bit for bit', () => {
  it('has max and avg cases, both dtypes, 3-D and 4-D input, padding and the default stride', () => {
    const cs = fixtures.pool;
    expect(cs.length).toBeGreaterThanOrEqual(20);
    for (const op of ['max', 'avg']) expect(cs.filter((c) => c.op === op).length).toBeGreaterThanOrEqual(10);
    expect(cs.some((c) => c.dtype === 'float64')).toBe(true);
    expect(cs.some((c) => c.input.shape.length === 3)).toBe(true);
    expect(cs.some((c) => c.stride === null)).toBe(true);
    expect(cs.some((c) => c.padding !== 0)).toBe(true);
  });
  it('has the options past d2l: ceilMode (both), dilation, countIncludePad false, divisorOverride, an empty max window', () => {
    const cs = fixtures.pool;
    for (const op of ['max', 'avg']) expect(cs.some((c) => c.op === op && c.ceilMode === true)).toBe(true);
    expect(cs.some((c) => c.op === 'max' && c.dilation !== undefined && c.ceilMode === true)).toBe(true);
    expect(cs.some((c) => c.op === 'avg' && c.countIncludePad === false && c.ceilMode === true)).toBe(true);
    expect(cs.some((c) => c.divisorOverride !== undefined && c.divisorOverride < 0)).toBe(true);
    expect(cs.some((c) => c.out.data.includes('-Infinity'))).toBe(true);
  });
  for (const c of fixtures.pool) {
    const { stride, padding, dilation, ceilMode, countIncludePad, divisorOverride } = c;
    const extra = { dilation, ceilMode, countIncludePad, divisorOverride };
    it(`${c.op} ${c.dtype} ${c.name}: x [${c.input.shape}] kernel ${JSON.stringify(c.kernel)} stride ${JSON.stringify(stride)} padding ${JSON.stringify(padding)} ${JSON.stringify(extra)}`, () => {
      const x = toTensor(c.input, c.dtype);
      const got = c.op === 'max'
        ? maxPool2d(x, c.kernel, { stride: stride ?? undefined, padding, dilation, ceilMode })
        : avgPool2d(x, c.kernel, { stride: stride ?? undefined, padding, ceilMode, countIncludePad, divisorOverride });
      expect([...got.shape]).toEqual(c.out.shape);
      expect(got.dtype).toBe(c.dtype);
      expect(sameBits(got.data, Array.from(toTensor(c.out, c.dtype).data))).toBe(-1);
      expect(sameBits(got.data, naivePool(c.op, x.data, c.input.shape, c.dtype, c.kernel, { stride, padding, ...extra }))).toBe(-1);
    });
  }

  // Every kernel this CPU runs (native/conv_generic.inc per ISA: vectors
  // across output columns, masked at the edges), forced in turn.
  const ISAS = native().backendInfo().supportedIsas as Array<'avx512' | 'avx2' | 'neon' | 'scalar'>;
  it('every PyTorch fixture case under every ISA this CPU runs', () => {
    expect(ISAS.length).toBeGreaterThanOrEqual(1);
    try {
      for (const isa of ISAS) {
        expect(native()._setIsa(isa)).toBe(isa);
        for (const c of fixtures.pool) {
          const x = toTensor(c.input, c.dtype);
          const { stride, padding, dilation, ceilMode, countIncludePad, divisorOverride } = c;
          const got = c.op === 'max'
            ? maxPool2d(x, c.kernel, { stride: stride ?? undefined, padding, dilation, ceilMode })
            : avgPool2d(x, c.kernel, { stride: stride ?? undefined, padding, ceilMode, countIncludePad, divisorOverride });
          expect(sameBits(got.data, Array.from(toTensor(c.out, c.dtype).data)), `${isa} ${c.op} ${c.dtype} ${c.name}`).toBe(-1);
        }
      }
    } finally {
      native()._setIsa('auto');
    }
  });

  it('wide rows (two whole vectors at a time inside, masked edges), strides 1-3, every ISA, against the naive loops', () => {
    const g = new Generator(7);
    try {
      for (const isa of ISAS) {
        native()._setIsa(isa);
        for (const dtype of ['float32', 'float64'] as const) {
          const shape = [2, 3, 7, 151];
          const x = normal(0, 1, shape, { generator: g, dtype });
          x.data[5 * 151 + 77] = NaN; // a NaN inside a whole vector
          for (const stride of [1, 2, 3] as const) {
            for (const padding of [0, 1, 2] as const) {
              const k: Pair = [3, 5];
              const o: Pool2dOptions = { stride: [1, stride], padding: [1, padding], ceilMode: padding === 2 };
              const what = `${isa} ${dtype} stride ${stride} padding ${padding}`;
              expect(sameBits(maxPool2d(x, k, { ...o, dilation: [1, stride] }).data, naivePool('max', x.data, shape, dtype, k, { ...o, stride: [1, stride], dilation: [1, stride] })), `max ${what}`).toBe(-1);
              expect(sameBits(avgPool2d(x, k, { ...o, countIncludePad: padding !== 1 }).data, naivePool('avg', x.data, shape, dtype, k, { ...o, stride: [1, stride], countIncludePad: padding !== 1 })), `avg ${what}`).toBe(-1);
            }
          }
        }
      }
    } finally {
      native()._setIsa('auto');
    }
  });

  it('a kernel so wide that the edge columns are worked out as used (no table), every ISA', () => {
    // 1 x 1999 windows, padding 999: ~130 edge chunks x 1999 columns, past
    // conv_generic.inc's kMaxPoolColumns (2^14).
    const g = new Generator(11);
    const shape = [1, 2, 2, 2100];
    const x = normal(0, 1, shape, { generator: g });
    try {
      for (const isa of ISAS) {
        native()._setIsa(isa);
        for (const stride of [1, 3]) {
          const o: Pool2dOptions = { stride: [1, stride], padding: [0, 999], ceilMode: stride === 3 };
          expect(sameBits(maxPool2d(x, [1, 1999], o).data, naivePool('max', x.data, shape, 'float32', [1, 1999], { ...o, stride: [1, stride] })), `max ${isa} ${stride}`).toBe(-1);
          expect(sameBits(avgPool2d(x, [1, 1999], { ...o, countIncludePad: false }).data, naivePool('avg', x.data, shape, 'float32', [1, 1999], { ...o, stride: [1, stride], countIncludePad: false })), `avg ${isa} ${stride}`).toBe(-1);
        }
      }
    } finally {
      native()._setIsa('auto');
    }
  });

  it('a window far wider than the input costs the columns inside it, not its width, every ISA', () => {
    // Windows 2^30 + 1 columns wide, padding 2^29: each covers the whole
    // row, as a 2w + 1 wide window with padding w does, so max and the
    // unpadded average agree bit for bit with that one's naive loop. (Every
    // window column was visited before: a 10^7-wide window over 64 x 32 x 32
    // took 135 s; at 2^30 this test would run for hours.)
    const g = new Generator(5);
    for (const dtype of ['float32', 'float64'] as const) {
      const shape = [2, 3, 4, 7], w = 7;
      const x = normal(0, 1, shape, { generator: g, dtype });
      const wide = { stride: [1, 1] as [number, number], padding: [1, 2 ** 29] as [number, number] };
      const small = { stride: [1, 1] as [number, number], padding: [1, w] as [number, number] };
      try {
        for (const isa of ISAS) {
          native()._setIsa(isa);
          const m = maxPool2d(x, [3, 2 ** 30 + 1], wide);
          expect(m.shape).toEqual([2, 3, 4, 7]);
          expect(sameBits(m.data, naivePool('max', x.data, shape, dtype, [3, 2 * w + 1], small)), `max ${isa} ${dtype}`).toBe(-1);
          const a = avgPool2d(x, [3, 2 ** 30 + 1], { ...wide, countIncludePad: false });
          expect(sameBits(a.data, naivePool('avg', x.data, shape, dtype, [3, 2 * w + 1], { ...small, countIncludePad: false })), `avg ${isa} ${dtype}`).toBe(-1);
          // Counting the padding: every window holds 3 rows (padded) x 2^30 + 1 columns.
          const p = avgPool2d(x, [3, 2 ** 30 + 1], wide);
          const sums = naivePool('avg', x.data, shape, dtype, [3, 2 * w + 1], { ...small, divisorOverride: 1 });
          const r = dtype === 'float32' ? Math.fround : (v: number): number => v;
          expect(sameBits(p.data, sums.map((v) => r(v / r(3 * (2 ** 30 + 1))))), `avg, padding counted, ${isa} ${dtype}`).toBe(-1);
        }
      } finally {
        native()._setIsa('auto');
      }
    }
  });

  it('random shapes and options, both dtypes, 1 and 3 threads, every ISA, against the naive loops', () => {
    const g = new Generator(31);
    const before = getNumThreads();
    let rs = 12345;
    const rnd = (lo: number, hi: number): number => {
      rs = (rs * 1103515245 + 12345) >>> 0;
      return lo + Math.floor((rs / 2 ** 32) * (hi - lo + 1)); // the high bits (an LCG's low bits cycle)
    };
    let ceilChanged = 0;
    try {
      for (let t = 0; t < 120; t++) {
        const dtype: DT = t % 3 === 2 ? 'float64' : 'float32';
        const kh = rnd(1, 5), kw = rnd(1, 5), ph = rnd(0, kh >> 1), pw = rnd(0, kw >> 1);
        // The first 60 with PyTorch's defaults, the rest with random options.
        const opts = t < 60 ? {} : {
          dilation: [rnd(1, 3), rnd(1, 3)] as [number, number], ceilMode: rnd(0, 1) === 1,
          countIncludePad: rnd(0, 1) === 1, divisorOverride: rnd(0, 3) === 0 ? rnd(-4, 4) || 7 : undefined,
        };
        const [dh, dw] = opts.dilation ?? [1, 1];
        const shape = [rnd(1, 3), rnd(1, 40), Math.max(1, dh * (kh - 1) + 1 - 2 * ph) + rnd(0, 30), Math.max(1, dw * (kw - 1) + 1 - 2 * pw) + rnd(0, 30)];
        const stride: Pair | null = t % 4 === 0 ? null : [rnd(1, 4), rnd(1, 4)];
        const x = normal(0, 1, shape, { generator: g, dtype });
        const maxOpts: MaxPool2dOptions = { stride: stride ?? undefined, padding: [ph, pw], dilation: opts.dilation, ceilMode: opts.ceilMode };
        const avgOpts: AvgPool2dOptions = { stride: stride ?? undefined, padding: [ph, pw], ceilMode: opts.ceilMode, countIncludePad: opts.countIncludePad, divisorOverride: opts.divisorOverride };
        for (const [threads, isa] of [[1, ISAS[t % ISAS.length]], [3, ISAS[(t + 1) % ISAS.length]]] as const) {
          setNumThreads(threads);
          native()._setIsa(isa);
          const mx = maxPool2d(x, [kh, kw], maxOpts), avg = avgPool2d(x, [kh, kw], avgOpts);
          const what = `${isa} ${threads}T ${dtype} [${shape}] k ${kh}x${kw} s ${stride} p ${ph},${pw} ${JSON.stringify(opts)}`;
          expect(sameBits(mx.data, naivePool('max', x.data, shape, dtype, [kh, kw], { ...maxOpts, stride })), `max ${what}`).toBe(-1);
          expect(sameBits(avg.data, naivePool('avg', x.data, shape, dtype, [kh, kw], { ...avgOpts, stride })), `avg ${what}`).toBe(-1);
          if (threads === 1 && opts.ceilMode && mx.numel !== maxPool2d(x, [kh, kw], { ...maxOpts, ceilMode: false }).numel) ceilChanged++;
        }
      }
    } finally {
      setNumThreads(before);
      native()._setIsa('auto');
    }
    // The options did something: ceilMode changed output sizes. (A max
    // window with no input element is a fixture case.)
    expect(ceilChanged).toBeGreaterThan(5);
  });
});

describe('the sign of a zero average', () => {
  it('a zero sum over a negative divisorOverride is +0, as PyTorch 1.13 gives it, every ISA and dtype', () => {
    const ISAS = native().backendInfo().supportedIsas as Array<'avx512' | 'avx2' | 'neon' | 'scalar'>;
    try {
      for (const isa of ISAS) {
        native()._setIsa(isa);
        for (const dtype of ['float32', 'float64'] as const) {
          // 40 columns: whole vectors inside and masked edges (padding 1).
          const x = fromTypedArray(dtype === 'float64' ? new Float64Array(2 * 40) : new Float32Array(2 * 40), [1, 1, 2, 40]);
          for (let i = 0; i < 40; i++) x.data[i] = i % 2 ? -1.5 : 1.5;
          for (const padding of [0, 1]) {
            const y = avgPool2d(x, 2, { stride: 1, padding, divisorOverride: -2 });
            const zeros = Array.from(y.data).filter((v) => v === 0);
            expect(zeros.length, `${isa} ${dtype} padding ${padding}`).toBeGreaterThan(0);
            expect(zeros.every((v) => Object.is(v, 0)), `${isa} ${dtype} padding ${padding}`).toBe(true);
          }
          // Non-zero averages keep their sign: (1.5 + -1.5 + 0 + 0) / -2 is +0, 3 / -2 is -1.5.
          expect(Array.from(avgPool2d(fromTypedArray(Float32Array.from([1.5, 1.5, 0, 0]), [1, 1, 2, 2]), 2, { divisorOverride: -2 }).data)).toEqual([-1.5]);
        }
      }
    } finally {
      native()._setIsa('auto');
    }
  });
});

describe('NaN and infinity', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    it(`max propagates NaN; padding is -inf; avg sums them (${dtype})`, () => {
      // PyTorch 1.13: F.max_pool2d(x, 2) with x = [[nan, 1], [2, 3]] gives nan; [[1, nan], [2, 3]] too.
      expect(Array.from(maxPool2d(tensor([[[NaN, 1], [2, 3]]], { dtype }), 2).data)).toEqual([NaN]);
      expect(Array.from(maxPool2d(tensor([[[1, NaN], [2, 3]]], { dtype }), 2).data)).toEqual([NaN]);
      expect(Array.from(maxPool2d(tensor([[[1, 2], [NaN, 3]]], { dtype }), 2).data)).toEqual([NaN]);
      // an all -inf window (padding included) gives -inf
      expect(Array.from(maxPool2d(tensor([[[-Infinity]]], { dtype }), 3, { padding: 1 }).data)).toEqual([-Infinity]);
      // the padding never wins against negative numbers
      expect(Array.from(maxPool2d(tensor([[[-5, -7], [-6, -8]]], { dtype }), 2, { padding: 1, stride: 1 }).data)).toEqual([-5, -5, -7, -5, -5, -7, -6, -6, -8]);
      expect(Array.from(avgPool2d(tensor([[[Infinity, -Infinity]]], { dtype }), [1, 2]).data)).toEqual([NaN]);
      expect(Array.from(avgPool2d(tensor([[[Infinity, 1]]], { dtype }), [1, 2]).data)).toEqual([Infinity]);
    });
  }
});

describe('errors as PyTorch gives them', () => {
  const x = normal(0, 1, [1, 3, 6, 6]);
  const expectError = (f: () => unknown, cls: typeof Error, ...frags: string[]): void => {
    let err: unknown;
    try {
      f();
    } catch (e) {
      err = e;
    }
    expect(err, 'expected a throw').toBeInstanceOf(cls);
    for (const s of frags) expect((err as Error).message).toContain(s);
  };
  for (const [name, fn] of [['maxPool2d', maxPool2d], ['avgPool2d', avgPool2d]] as const) {
    it(name, () => {
      // PyTorch: "pad should be at most half of kernel size, but got pad=2 and kernel_size=3"
      expectError(() => fn(x, 3, { padding: 2 }), RangeError, name, 'pad should be at most half of kernel size, but got pad=2 and kernel_size=3');
      expectError(() => fn(x, 2, { padding: [1, 2] }), RangeError, name, 'pad should be at most half of kernel size, but got pad=2 and kernel_size=2');
      expectError(() => fn(x, 3, { padding: -1 }), RangeError, name, 'pad must be non-negative, but got pad: -1');
      // PyTorch: "Given input size: (3x6x6). Calculated output size: (3x0x0). Output size is too small"
      expectError(() => fn(x, 7), RangeError, name, 'Given input size: (3x6x6). Calculated output size: (3x0x0). Output size is too small');
      expectError(() => fn(x, 0), RangeError, name, 'kernel size should be greater than zero');
      expectError(() => fn(x, [2, -1]), RangeError, name, 'kernel size should be greater than zero');
      expectError(() => fn(x, 2, { stride: 0 }), RangeError, name, 'stride should be greater than zero');
      expectError(() => fn(x, 2, { stride: [1, -1] }), RangeError, name, 'stride');
      expectError(() => fn(x, 1.5), TypeError, name, 'kernelSize');
      // PyTorch: RuntimeError "kernel_size must either be a single int, or a tuple of two ints"
      expectError(() => fn(x, [2, 2, 2] as unknown as number), RangeError, name, 'kernelSize');
      expectError(() => fn(x, [] as unknown as number), RangeError, name, 'kernelSize');
      expectError(() => fn(x, 2, { padding: [0, 0, 0] as unknown as number }), RangeError, name, 'padding');
      expectError(() => fn(x, ['2'] as unknown as number), TypeError, name, 'kernelSize');
      // One value for both dims, and (PyTorch) stride [] for the default.
      expect(sameBits(fn(x, [2], { padding: [1], stride: [] }).data, Array.from(fn(x, 2, { padding: 1 }).data))).toBe(-1);
      expect(sameBits(fn(x, [3], { stride: [2] }).data, Array.from(fn(x, 3, { stride: 2 }).data))).toBe(-1);
      expectError(() => fn(x, undefined as unknown as number), TypeError, name, 'kernelSize');
      expectError(() => fn(x, 2, { stride: '2' as unknown as number }), TypeError, name, 'stride');
      expectError(() => fn(x, 2, null as never), TypeError, name, 'options');
      // PyTorch: "non-empty 3D or 4D (batch mode) tensor expected for input" / "Expected 3D or 4D ... but got: [2, 0, 6, 6]"
      expectError(() => fn(normal(0, 1, [6, 6]), 2), RangeError, name, '3D or 4D', '[6, 6]');
      expectError(() => fn(normal(0, 1, [2, 0, 6, 6]), 2), RangeError, name, '3D or 4D', '[2, 0, 6, 6]');
      expectError(() => fn(normal(0, 1, [2, 3, 0, 6]), 2), RangeError, name, '3D or 4D', '[2, 3, 0, 6]');
      expectError(() => fn('x' as unknown as Tensor, 2), TypeError, name);
    });
  }
  it('the options past d2l', () => {
    // PyTorch 1.13: "Given input size: (3x6x6). Calculated output size: (3x-1x-1). Output size is too small"
    expectError(() => maxPool2d(x, 8, { stride: 1 }), RangeError, 'maxPool2d', 'Calculated output size: (3x-1x-1). Output size is too small');
    expectError(() => maxPool2d(x, 3, { dilation: 4, stride: 1 }), RangeError, 'maxPool2d', 'Calculated output size: (3x-2x-2)', 'dilation [4, 4]');
    // PyTorch: "dilation should be greater than zero, but got dilationH: 1 dilationW: -2"
    expectError(() => maxPool2d(x, 3, { dilation: [1, -2] }), RangeError, 'maxPool2d', 'dilation should be greater than zero, but got dilationH: 1 dilationW: -2');
    expectError(() => maxPool2d(x, 3, { dilation: 0 }), RangeError, 'maxPool2d', 'dilationH: 0 dilationW: 0');
    expectError(() => maxPool2d(x, 3, { dilation: 1.5 }), TypeError, 'maxPool2d', 'dilation');
    // the pad check is against the kernel size, not its dilated extent (PyTorch 1.13)
    expectError(() => maxPool2d(x, 3, { padding: 2, dilation: 3 }), RangeError, 'pad should be at most half of kernel size, but got pad=2 and kernel_size=3');
    for (const [name, fn] of [['maxPool2d', maxPool2d], ['avgPool2d', avgPool2d]] as const) {
      expectError(() => fn(x, 2, { ceilMode: 1 as unknown as boolean }), TypeError, name, 'ceilMode must be a boolean');
    }
    expectError(() => avgPool2d(x, 2, { countIncludePad: 'no' as unknown as boolean }), TypeError, 'avgPool2d', 'countIncludePad must be a boolean');
    // PyTorch: "divisor must be not zero"; "argument 'divisor_override' must be int, not float"
    expectError(() => avgPool2d(x, 2, { divisorOverride: 0 }), RangeError, 'avgPool2d', 'divisor must be not zero');
    expectError(() => avgPool2d(x, 2, { divisorOverride: 1.5 }), TypeError, 'avgPool2d', 'divisorOverride must be an integer');
    // each op's own options (PyTorch: "avg_pool2d() got an unexpected keyword argument 'dilation'")
    // @ts-expect-error the other op's option is not in this op's options type either
    expectError(() => avgPool2d(x, 2, { dilation: 1 }), TypeError, 'avgPool2d', "unexpected option 'dilation'");
    // @ts-expect-error the other op's option is not in this op's options type either
    expectError(() => maxPool2d(x, 2, { countIncludePad: true }), TypeError, 'maxPool2d', "unexpected option 'countIncludePad'");
    // @ts-expect-error the other op's option is not in this op's options type either
    expectError(() => maxPool2d(x, 2, { divisorOverride: 2 }), TypeError, 'maxPool2d', "unexpected option 'divisorOverride'");
    // defaults spelled out give the default result; null divisorOverride is none
    const y = normal(0, 1, [2, 3, 7, 6]);
    expect(maxPool2d(y, 3, { dilation: 1, ceilMode: false }).data).toEqual(maxPool2d(y, 3).data);
    expect(avgPool2d(y, 3, { padding: 1, ceilMode: false, countIncludePad: true, divisorOverride: null }).data).toEqual(avgPool2d(y, 3, { padding: 1 }).data);
  });
  it('the native parse step checks the options itself', () => {
    const call = (op: 'maxPool2d' | 'avgPool2d', over: Partial<Record<string, unknown>> = {}): void => {
      const a = { h: 6, kh: 2, dh: 1, pad: 0, ceil: false, inc: true, div: 0, outLen: 2 * 3 * 3 * 3, ...over };
      const xin = new Float32Array(2 * 3 * (a.h as number) * 6), out = new Float32Array(a.outLen as number);
      (native() as unknown as Record<string, (...args: unknown[]) => void>)[op](
        xin, out, 2, 3, a.h, 6, a.kh, 2, 2, 2, a.pad, 0, a.dh, a.dh, a.ceil, a.inc, a.div);
    };
    call('maxPool2d');
    call('avgPool2d', { div: -3 });
    expect(() => call('maxPool2d', { ceil: 1 })).toThrow(/^maxPool2d: argument 'ceilMode' must be a boolean/);
    expect(() => call('avgPool2d', { inc: undefined })).toThrow(/^avgPool2d: argument 'countIncludePad' must be a boolean/);
    expect(() => call('avgPool2d', { div: 0.5 })).toThrow(/^avgPool2d: argument 'divisor' must be an integer/);
    expect(() => call('avgPool2d', { dh: 2, outLen: 2 * 3 * 2 * 2 })).toThrow(/^avgPool2d: arguments 'dilationH' and 'dilationW' must be 1/);
    expect(() => call('maxPool2d', { dh: 0 })).toThrow(RangeError);
    // more padding than half the window (the JS layer refuses it first)
    expect(() => call('avgPool2d', { pad: 1, outLen: 2 * 3 * 4 * 3 })).not.toThrow();
    expect(() => call('maxPool2d', { pad: 2, outLen: 2 * 3 * 5 * 3 })).toThrow(/^maxPool2d: pad should be at most half of kernel size/);
    // a dilated window past the input: the output size the native side computes must match out
    expect(() => call('maxPool2d', { dh: 6 })).toThrow(/^maxPool2d: output size is too small/);
    // ceil mode's extra window: an out sized for floor mode is refused
    expect(() => call('maxPool2d', { h: 7, ceil: true })).toThrow(/^maxPool2d: argument 'out' has 54 elements but its shape needs 72/);
    expect(() => call('maxPool2d', { h: 7, ceil: true, outLen: 72 })).not.toThrow();
  });
  it('batch 0 gives an empty result, as PyTorch', () => {
    expect([...maxPool2d(normal(0, 1, [0, 3, 6, 6]), 2).shape]).toEqual([0, 3, 3, 3]);
    expect([...avgPool2d(normal(0, 1, [0, 3, 6, 6], { dtype: 'float64' }), 2).shape]).toEqual([0, 3, 3, 3]);
  });
});
