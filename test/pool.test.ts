// maxPool2d and avgPool2d: d2l §6.5's examples, PyTorch 1.13 outputs
// (test/fixtures/conv.json, scripts/fixtures/gen_conv.py), a naive reference
// written here (bit for bit: PyTorch's CPU kernels sum a window in ascending
// order from 0 and divide once; max takes an element when greater or NaN),
// NaN and infinity, and PyTorch's errors.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { Generator, Tensor, arange, avgPool2d, cat, fromTypedArray, maxPool2d, normal, setNumThreads, getNumThreads, tensor } from '../lib/index';

type DT = 'float32' | 'float64';
type Pair = number | [number, number];
interface FixTensor { shape: number[]; data: number[] }
interface PoolCase {
  name: string;
  op: 'max' | 'avg';
  dtype: DT;
  input: FixTensor;
  kernel: Pair;
  stride: Pair | null;
  padding: Pair;
  out: FixTensor;
}
const fixtures = JSON.parse(readFileSync(fileURLToPath(new URL('./fixtures/conv.json', import.meta.url)), 'utf8')) as { pool: PoolCase[] };

const toTensor = (t: FixTensor, dtype: DT): Tensor =>
  fromTypedArray(dtype === 'float64' ? Float64Array.from(t.data) : Float32Array.from(t.data), t.shape);
const pairOf = (v: Pair | null | undefined, d: [number, number]): [number, number] => (v === undefined || v === null ? d : typeof v === 'number' ? [v, v] : v);

/** The naive pooling loops, with PyTorch's CPU rules. */
function naivePool(op: 'max' | 'avg', x: ArrayLike<number>, shape: number[], dtype: DT, kernel: Pair, stride: Pair | null, padding: Pair): number[] {
  const [N, C, H, W] = shape.length === 4 ? shape : [1, ...shape];
  const [kh, kw] = pairOf(kernel, [0, 0]), [sh, sw] = pairOf(stride, [kh, kw]), [ph, pw] = pairOf(padding, [0, 0]);
  const OH = Math.floor((H + 2 * ph - kh) / sh) + 1, OW = Math.floor((W + 2 * pw - kw) / sw) + 1;
  const r = dtype === 'float32' ? Math.fround : (v: number): number => v;
  const out: number[] = [];
  for (let p = 0; p < N * C; p++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        let acc = op === 'max' ? -Infinity : 0;
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            const iy = oy * sh - ph + i, ix = ox * sw - pw + j;
            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue; // -inf for max, 0 for avg
            const v = x[(p * H + iy) * W + ix];
            if (op === 'max') {
              if (v > acc || Number.isNaN(v)) acc = v;
            } else {
              acc = r(acc + v);
            }
          }
        }
        out.push(op === 'max' ? acc : r(acc / (kh * kw)));
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
  for (const c of fixtures.pool) {
    it(`${c.op} ${c.dtype} ${c.name}: x [${c.input.shape}] kernel ${JSON.stringify(c.kernel)} stride ${JSON.stringify(c.stride)} padding ${JSON.stringify(c.padding)}`, () => {
      const x = toTensor(c.input, c.dtype);
      const got = fns[c.op](x, c.kernel, { stride: c.stride ?? undefined, padding: c.padding });
      expect([...got.shape]).toEqual(c.out.shape);
      expect(got.dtype).toBe(c.dtype);
      expect(sameBits(got.data, Array.from(toTensor(c.out, c.dtype).data))).toBe(-1);
      expect(sameBits(got.data, naivePool(c.op, x.data, c.input.shape, c.dtype, c.kernel, c.stride, c.padding))).toBe(-1);
    });
  }

  it('random shapes, both dtypes, 1 and 3 threads, against the naive loops', () => {
    const g = new Generator(31);
    const before = getNumThreads();
    let rs = 12345;
    const rnd = (lo: number, hi: number): number => {
      rs = (rs * 1103515245 + 12345) >>> 0;
      return lo + (rs % (hi - lo + 1));
    };
    try {
      for (let t = 0; t < 60; t++) {
        const dtype: DT = t % 3 === 2 ? 'float64' : 'float32';
        const kh = rnd(1, 5), kw = rnd(1, 5), ph = rnd(0, kh >> 1), pw = rnd(0, kw >> 1);
        const shape = [rnd(1, 3), rnd(1, 40), Math.max(1, kh - 2 * ph) + rnd(0, 30), Math.max(1, kw - 2 * pw) + rnd(0, 30)];
        const stride: Pair | null = t % 4 === 0 ? null : [rnd(1, 4), rnd(1, 4)];
        const x = normal(0, 1, shape, { generator: g, dtype });
        for (const threads of [1, 3]) {
          setNumThreads(threads);
          for (const op of ['max', 'avg'] as const) {
            const got = fns[op](x, [kh, kw], { stride: stride ?? undefined, padding: [ph, pw] });
            expect(sameBits(got.data, naivePool(op, x.data, shape, dtype, [kh, kw], stride, [ph, pw])), `${op} ${dtype} [${shape}] k ${kh}x${kw} s ${stride} p ${ph},${pw}`).toBe(-1);
          }
        }
      }
    } finally {
      setNumThreads(before);
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
      expectError(() => fn(x, [2, 2, 2] as unknown as number), TypeError, name, 'kernelSize');
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
  it('batch 0 gives an empty result, as PyTorch', () => {
    expect([...maxPool2d(normal(0, 1, [0, 3, 6, 6]), 2).shape]).toEqual([0, 3, 3, 3]);
    expect([...avgPool2d(normal(0, 1, [0, 3, 6, 6], { dtype: 'float64' }), 2).shape]).toEqual([0, 3, 3, 3]);
  });
});
