// The `out` option of matmul, conv2d, the poolings and their async twins: the result
// lands in the caller's tensor, bit for bit what the op returns without it,
// and that tensor is the return value; every check runs before anything is
// written (a refused `out` keeps its old bits); nothing writes to `out`
// after an async call has settled, aborted or not.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sameBits } from './bits';
import { errorOf } from './error-of';

import {
  Tensor, avgPool2d, avgPool2dAsync, conv2d, conv2dAsync, fromTypedArray, manualSeed, matmul, matmulAsync,
  maxPool2d, maxPool2dAsync, normal, zeros,
} from '../lib/index';
import type { AvgPool2dOptions, Conv2dOptions, DType, Pool2dOptions } from '../lib/index';
import { native } from '../lib/native';
import { INLINE_MAX_WORK, MAX_IN_FLIGHT } from '../lib/ops/async';

const binding = native();

/** A tensor of `shape` filled with NaN, so unwritten elements show. */
function nanTensor(shape: number[], dtype: DType = 'float32'): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  return fromTypedArray(data.fill(NaN), shape);
}


const MATMUL_SHAPES: Array<[number[], number[]]> = [
  [[2, 3], [3, 9]], // d2l's 1x1 convolution as a product (the fast path without out)
  [[1, 7], [7, 1]],
  [[5], [5]], // 1-D . 1-D: a 0-d result
  [[6], [6, 4]],
  [[4, 6], [6]],
  [[130, 70], [70, 90]], // the packed GEMM
  [[3, 1, 17, 9], [2, 9, 11]], // broadcast batches
  [[1, 300], [300, 257]], // a row vector (gemv)
];

describe('matmul(a, b, {out})', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    for (const [as, bs] of MATMUL_SHAPES) {
      it(`${dtype} ${JSON.stringify(as)} . ${JSON.stringify(bs)}: out's bits equal the new result's, and out is returned`, () => {
        manualSeed(1);
        const a = normal(0, 1, as, { dtype }), b = normal(0, 1, bs, { dtype });
        const want = matmul(a, b);
        const out = nanTensor([...want.shape], dtype);
        const got = matmul(a, b, { out });
        expect(got).toBe(out);
        expect(sameBits(out.data, want.data)).toBe(true);
      });
    }
  }

  it('writes a view inside a larger buffer and nothing around it', () => {
    manualSeed(2);
    const a = normal(0, 1, [40, 30]), b = normal(0, 1, [30, 50]);
    const backing = new Float32Array(7 + 40 * 50 + 5).fill(-7);
    const out = fromTypedArray(backing.subarray(7, 7 + 40 * 50), [40, 50]);
    matmul(a, b, { out });
    expect(sameBits(out.data, matmul(a, b).data)).toBe(true);
    expect(Array.from(backing.subarray(0, 7))).toEqual(Array(7).fill(-7));
    expect(Array.from(backing.subarray(7 + 40 * 50))).toEqual(Array(5).fill(-7));
  });

  it('k = 0: out becomes zeros (its old values are not kept)', () => {
    const out = nanTensor([3, 4]);
    matmul(zeros([3, 0]), zeros([0, 4]), { out });
    expect(Array.from(out.data)).toEqual(Array(12).fill(0));
  });

  it('undefined and null out, and an empty options object, give a new tensor', () => {
    const a = normal(0, 1, [2, 3]), b = normal(0, 1, [3, 9]);
    for (const options of [{}, { out: undefined }, { out: null }]) {
      const r = matmul(a, b, options);
      expect(r.shape).toEqual([2, 9]);
      expect(sameBits(r.data, matmul(a, b).data)).toBe(true);
    }
  });

  it('refuses a wrong out before writing anything, naming the argument', () => {
    const a = normal(0, 1, [4, 4]), b = normal(0, 1, [4, 4]);
    const cases: Array<[unknown, ErrorConstructor, RegExp]> = [
      [new Float32Array(16), TypeError, /^matmul: argument 'out' must be a Tensor, got Float32Array$/],
      [nanTensor([4, 4], 'float64'), TypeError, /^matmul: expected out to have dtype float32, but got float64$/],
      [nanTensor([2, 8]), RangeError, /^matmul: expected out to have shape \[4, 4\], but got \[2, 8\]$/],
      [nanTensor([16]), RangeError, /^matmul: expected out to have shape \[4, 4\], but got \[16\]$/],
      [nanTensor([1, 4, 4]), RangeError, /^matmul: expected out to have shape \[4, 4\], but got \[1, 4, 4\]$/],
    ];
    for (const [out, E, msg] of cases) {
      const before = out instanceof Tensor ? out.data.slice() : null;
      let err: unknown;
      try {
        matmul(a, b, { out: out as Tensor });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(E);
      expect((err as Error).message).toMatch(msg);
      if (out instanceof Tensor) expect(sameBits(out.data, before!)).toBe(true);
    }
    expect(() => matmul(a, b, 5 as never)).toThrow(new TypeError('matmul: options must be an object'));
    const detached = nanTensor([4, 4]);
    structuredClone(detached.data.buffer, { transfer: [detached.data.buffer as ArrayBuffer] });
    expect(() => matmul(a, b, { out: detached })).toThrow(new TypeError("matmul: argument 'out' has a detached buffer"));
    // The operands' own errors come first, as without out.
    expect(() => matmul(a, zeros([3, 3]), { out: nanTensor([4, 3]) })).toThrow(/mat1 and mat2 shapes cannot be multiplied \(4x4 and 3x3\)/);
  });

  it('refuses an out that shares memory with an operand (the product would read what it overwrote)', () => {
    const a = normal(0, 1, [8, 8]), b = normal(0, 1, [8, 8]);
    const aBefore = a.data.slice();
    expect(() => matmul(a, b, { out: a })).toThrow(new RangeError("matmul: out shares memory with argument 'input' (the result would overwrite the input while it is read); pass a separate tensor, e.g. a clone()"));
    expect(() => matmul(a, b, { out: b.reshape(8, 8) })).toThrow(/out shares memory with argument 'other'/);
    // A partial overlap: out's first half is b's second half.
    const backing = new Float32Array(96);
    const bView = fromTypedArray(backing.subarray(0, 64), [8, 8]);
    const outView = fromTypedArray(backing.subarray(32, 96), [8, 8]);
    expect(() => matmul(a, bView, { out: outView })).toThrow(/out shares memory with argument 'other'/);
    // Adjacent but disjoint views of one buffer are fine.
    const left = fromTypedArray(backing.subarray(0, 64), [8, 8]);
    const right = fromTypedArray(new Float32Array(backing.buffer, 64 * 4, 32), [4, 8]);
    expect(() => matmul(normal(0, 1, [4, 8]), left, { out: right })).not.toThrow();
    expect(sameBits(a.data, aBefore)).toBe(true);
  });

  it('native safety net: an overlapping output passed straight to the binding is a RangeError', () => {
    const buf = new Float32Array(32);
    const a = buf.subarray(0, 16), out = buf.subarray(8, 24);
    const off = new Float64Array(1);
    expect(() => binding.matmul(a, new Float32Array(16), out, 4, 4, 4, off, off)).toThrow(RangeError);
  });
});

const CONV_CASES: Array<{ x: number[]; w: number[]; opts: Omit<Conv2dOptions, 'out'>; bias?: number }> = [
  { x: [1, 3, 3, 3], w: [2, 3, 1, 1], opts: {} }, // the d2l seed's sizes (conv2d's fast path without out)
  { x: [3, 6, 8], w: [1, 3, 1, 2], opts: {} }, // unbatched
  { x: [2, 4, 9, 11], w: [6, 2, 3, 3], opts: { stride: [2, 1], padding: 1, groups: 2 }, bias: 6 },
  { x: [1, 8, 12, 12], w: [8, 1, 3, 3], opts: { padding: 'same', groups: 8 } }, // depthwise
  { x: [1, 5, 10, 10], w: [4, 5, 2, 3], opts: { dilation: 2, padding: [1, 2] }, bias: 4 },
  { x: [1, 16, 20, 20], w: [32, 16, 3, 3], opts: { padding: 1 } }, // the implicit GEMM
  { x: [2, 24, 7, 7], w: [12, 24, 1, 1], opts: {} }, // pointwise
];

describe('conv2d(input, weight, {out})', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    for (const c of CONV_CASES) {
      it(`${dtype} x ${JSON.stringify(c.x)} w ${JSON.stringify(c.w)} ${JSON.stringify(c.opts)}${c.bias ? ' bias' : ''}: the same bits, out returned`, () => {
        manualSeed(3);
        const x = normal(0, 1, c.x, { dtype }), w = normal(0, 1, c.w, { dtype });
        const opts: Conv2dOptions = { ...c.opts, bias: c.bias ? normal(0, 1, [c.bias], { dtype }) : null };
        const want = conv2d(x, w, opts);
        const out = nanTensor([...want.shape], dtype);
        expect(conv2d(x, w, { ...opts, out })).toBe(out);
        expect(sameBits(out.data, want.data)).toBe(true);
      });
    }
  }

  it('no input channels: PyTorch\'s result has no channels, so out is empty; one of the weight\'s channels is refused untouched', () => {
    const bias = fromTypedArray(new Float32Array([1.5, -2]), [2]);
    const out = zeros([1, 0, 3, 3]);
    expect(conv2d(zeros([1, 0, 5, 5]), zeros([2, 0, 3, 3]), { bias, out })).toBe(out);
    const wrong = nanTensor([1, 2, 3, 3]);
    expect(() => conv2d(zeros([1, 0, 5, 5]), zeros([2, 0, 3, 3]), { bias, out: wrong })).toThrow(
      new RangeError('conv2d: expected out to have shape [1, 0, 3, 3], but got [1, 2, 3, 3]'));
    expect(wrong.data.every(Number.isNaN)).toBe(true);
  });

  it('refuses a wrong out, or one sharing memory with input, weight or bias, before writing', () => {
    const x = normal(0, 1, [1, 2, 5, 5]), w = normal(0, 1, [3, 2, 3, 3]), bias = normal(0, 1, [3]);
    const good = [1, 3, 3, 3];
    const bad = nanTensor([3, 3, 3]);
    const before = bad.data.slice();
    expect(() => conv2d(x, w, { out: bad })).toThrow(new RangeError('conv2d: expected out to have shape [1, 3, 3, 3], but got [3, 3, 3]'));
    expect(sameBits(bad.data, before)).toBe(true);
    expect(() => conv2d(x, w, { out: nanTensor(good, 'float64') })).toThrow(new TypeError('conv2d: expected out to have dtype float32, but got float64'));
    expect(() => conv2d(x, w, { out: [] as never })).toThrow(new TypeError("conv2d: argument 'out' must be a Tensor, got an array"));
    const shared = new Float32Array(27 + 3);
    const outT = fromTypedArray(shared.subarray(0, 27), good);
    const biasT = fromTypedArray(shared.subarray(26, 29), [3]);
    expect(() => conv2d(x, w, { bias: biasT, out: outT })).toThrow(/^conv2d: out shares memory with argument 'bias'/);
    const xs = fromTypedArray(new Float32Array(50), [1, 2, 5, 5]);
    expect(() => conv2d(xs, w, { out: fromTypedArray(xs.data.subarray(0, 27), good) })).toThrow(/out shares memory with argument 'input'/);
    // conv2d's own errors come first.
    expect(() => conv2d(x, normal(0, 1, [3, 4, 3, 3]), { out: outT })).toThrow(/expected input\[1, 2, 5, 5\] to have 4 channels/);
    expect(conv2d(x, w, { bias, out: nanTensor(good) }).shape).toEqual(good);
  });
});

describe('maxPool2d and avgPool2d with {out}', () => {
  const POOL_CASES: Array<[number[], number | [number, number], Pool2dOptions, AvgPool2dOptions]> = [
    [[2, 3, 9, 11], 3, { stride: 2, padding: 1 }, {}],
    [[3, 17, 40], [2, 3], { ceilMode: true }, {}],
    [[1, 16, 64, 64], 3, { stride: 1, padding: 1 }, {}], // 64 KiB and more: an uninitialised new array
    [[1, 4, 20, 20], 3, { padding: 1 }, { countIncludePad: false, divisorOverride: 7 }],
  ];
  for (const dtype of ['float32', 'float64'] as const) {
    for (const [xs, k, common, avgOnly] of POOL_CASES) {
      it(`${dtype} ${JSON.stringify(xs)} kernel ${JSON.stringify(k)} ${JSON.stringify({ ...common, ...avgOnly })}: the same bits, out returned`, () => {
        manualSeed(5);
        const x = normal(0, 1, xs, { dtype });
        for (const [fn, opts] of [[maxPool2d, { ...common, dilation: 1 }], [avgPool2d, { ...common, ...avgOnly }]] as const) {
          const want = fn(x, k, opts);
          const out = nanTensor([...want.shape], dtype);
          expect(fn(x, k, { ...opts, out })).toBe(out);
          expect(sameBits(out.data, want.data)).toBe(true);
        }
      });
    }
  }

  it('refuses a wrong out, or one sharing memory with the input, before writing; async twins resolve with out', async () => {
    const x = normal(0, 1, [1, 2, 6, 6]);
    const bad = nanTensor([2, 3, 3]);
    expect(() => maxPool2d(x, 2, { out: bad })).toThrow(new RangeError('maxPool2d: expected out to have shape [1, 2, 3, 3], but got [2, 3, 3]'));
    expect(bad.data.every(Number.isNaN)).toBe(true);
    expect(() => avgPool2d(x, 2, { out: nanTensor([1, 2, 3, 3], 'float64') })).toThrow(new TypeError('avgPool2d: expected out to have dtype float32, but got float64'));
    const xs = fromTypedArray(new Float32Array(72), [1, 2, 6, 6]);
    expect(() => maxPool2d(xs, 2, { out: fromTypedArray(xs.data.subarray(0, 18), [1, 2, 3, 3]) })).toThrow(/^maxPool2d: out shares memory with argument 'input'/);
    const big = normal(0, 1, [1, 32, 64, 64]); // 32 * 32 * 32 * 9 > INLINE_MAX_WORK: libuv's pool
    expect(32 * 32 * 32 * 9).toBeGreaterThan(INLINE_MAX_WORK);
    for (const [fn, afn] of [[maxPool2d, maxPool2dAsync], [avgPool2d, avgPool2dAsync]] as const) {
      const out = nanTensor([1, 32, 32, 32]);
      expect(await afn(big, 3, { stride: 2, padding: 1, out })).toBe(out);
      expect(sameBits(out.data, fn(big, 3, { stride: 2, padding: 1 }).data)).toBe(true);
    }
  });
});

describe('async twins with out', () => {
  it('matmulAsync and conv2dAsync (inline and on the pool) resolve with out, holding the sync bits', async () => {
    manualSeed(4);
    for (const n of [8, 160]) { // 8^3 runs inline, 160^3 > INLINE_MAX_WORK on libuv's pool
      const a = normal(0, 1, [n, n]), b = normal(0, 1, [n, n]);
      const out = nanTensor([n, n]);
      expect(await matmulAsync(a, b, { out })).toBe(out);
      expect(sameBits(out.data, matmul(a, b).data)).toBe(true);
    }
    expect(160 ** 3).toBeGreaterThan(INLINE_MAX_WORK);
    const x = normal(0, 1, [1, 16, 30, 30]), w = normal(0, 1, [16, 16, 3, 3]);
    const out = nanTensor([1, 16, 30, 30]);
    expect(await conv2dAsync(x, w, { padding: 1, out })).toBe(out);
    expect(sameBits(out.data, conv2d(x, w, { padding: 1 }).data)).toBe(true);
  });

  it('errors reject, and out keeps its bits', async () => {
    const a = normal(0, 1, [100, 100]);
    const out = nanTensor([100, 100]);
    expect(await errorOf(() => matmulAsync(a, a, { out: a }))).toEqual(new RangeError("matmul: out shares memory with argument 'input' (the result would overwrite the input while it is read); pass a separate tensor, e.g. a clone()"));
    expect(await errorOf(() => matmulAsync(a, a, { out: nanTensor([100, 99]) }))).toBeInstanceOf(RangeError);
    // A resizable buffer could shrink under the worker thread: refused for work off the JS thread.
    const rab = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer)(4e4, { maxByteLength: 8e4 });
    const resizable = fromTypedArray(new Float32Array(rab, 0, 1e4), [100, 100]);
    const e = await errorOf(() => matmulAsync(a, a, { out: resizable }));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toMatch(/^matmulAsync: out must not be a view of a resizable ArrayBuffer/);
    expect(Array.from(resizable.data).every((v) => v === 0)).toBe(true);
    expect(out.data.every(Number.isNaN)).toBe(true);
  });

  it('an abort before the job starts leaves out untouched', async () => {
    const a = normal(0, 1, [200, 200]);
    const out = nanTensor([200, 200]);
    const ac = new AbortController();
    ac.abort('stop');
    expect((await errorOf(() => matmulAsync(a, a, { out, signal: ac.signal }))).name).toBe('AbortError');
    // Every slot on libuv's pool taken by long products, so the next jobs
    // wait in this environment's queue until they are aborted.
    const big = normal(0, 1, [1536, 1536]);
    const busy = Array.from({ length: MAX_IN_FLIGHT }, () => matmulAsync(big, big));
    const ac2 = new AbortController();
    const outConv = nanTensor([1, 8, 38, 38]);
    const p = conv2dAsync(normal(0, 1, [1, 8, 40, 40]), normal(0, 1, [8, 8, 3, 3]), { out: outConv, signal: ac2.signal });
    const q = matmulAsync(a, a, { out, signal: ac2.signal });
    ac2.abort('later');
    for (const r of [p, q]) expect((await errorOf(() => r)).name).toBe('AbortError');
    await Promise.all(busy);
    expect(out.data.every(Number.isNaN)).toBe(true);
    expect(outConv.data.every(Number.isNaN)).toBe(true);
  });

  it('an abort while the kernel runs rejects only once it has stopped writing out', async () => {
    // One conv2d of ~7.4 GFLOP (~25-60 ms on two cores here; a single
    // conv2d runs to its end once started).
    manualSeed(5);
    const x = normal(0, 1, [32, 64, 56, 56]), w = normal(0, 1, [64, 64, 3, 3]);
    const out = nanTensor([32, 64, 56, 56]);
    const s0 = binding._asyncStats();
    const ac = new AbortController();
    const p = conv2dAsync(x, w, { padding: 1, out, signal: ac.signal });
    while (binding._asyncStats().started === s0.started) await new Promise((r) => setImmediate(r));
    ac.abort('enough');
    const err = await errorOf(() => p);
    expect(err.name).toBe('AbortError');
    // By the time the Promise rejected, the job had finished on its thread.
    const s1 = binding._asyncStats();
    expect(s1.completed + s1.stopped - s0.completed - s0.stopped).toBe(1);
    const snapshot = out.data.slice();
    await new Promise((r) => setTimeout(r, 100));
    expect(sameBits(out.data, snapshot)).toBe(true);
  });
});

// Property: for random operands and a random `out` (right, wrong shape,
// wrong dtype, an operand itself, a view overlapping an operand, a disjoint
// view of an operand's buffer, not a tensor), matmul either returns `out`
// holding the bits of matmul(a, b), or throws a TypeError/RangeError and
// every buffer involved keeps every bit.
describe('matmul {out} property', () => {
  const dims = fc.integer({ min: 1, max: 6 });
  const desc = fc.record({
    kind: fc.constantFrom('2d', '1d-left', '1d-right', 'batched'),
    m: dims, k: dims, n: dims, batch: fc.integer({ min: 1, max: 3 }),
    f64: fc.boolean(),
    out: fc.constantFrom('right', 'shape', 'dtype', 'a', 'b', 'overlap-a', 'disjoint-b', 'array', 'null'),
    seed: fc.integer({ min: 0, max: 1000 }),
  });
  it('returns out with the product, or throws and writes nothing', () => {
    fc.assert(fc.property(desc, (d) => {
      manualSeed(d.seed);
      const dtype = d.f64 ? 'float64' : 'float32';
      const as = d.kind === '1d-left' ? [d.k] : d.kind === 'batched' ? [d.batch, d.m, d.k] : [d.m, d.k];
      const bs = d.kind === '1d-right' ? [d.k] : [d.k, d.n];
      // Operands live at the start of buffers with spare room after them,
      // so that views next to or over them can be made.
      const make = (shape: number[]): Tensor => {
        const len = shape.reduce((x, y) => x * y, 1);
        const Arr = d.f64 ? Float64Array : Float32Array;
        const buf = new Arr(len + 3 * 6 * 6 + 64); // room for any out after it
        buf.set(normal(0, 1, [len], { dtype }).data);
        return fromTypedArray(buf.subarray(0, len), shape);
      };
      const a = make(as), b = make(bs);
      const want = matmul(a, b);
      const shape = [...want.shape];
      const len = want.numel;
      const Arr = d.f64 ? Float64Array : Float32Array;
      const viewOf = (t: Tensor, start: number): Tensor => fromTypedArray(new Arr(t.data.buffer as ArrayBuffer, start * Arr.BYTES_PER_ELEMENT, len), shape);
      let out: unknown;
      switch (d.out) {
        case 'right': out = nanTensor(shape, dtype); break;
        case 'shape': out = nanTensor([len + 1], dtype); break;
        case 'dtype': out = nanTensor(shape, d.f64 ? 'float32' : 'float64'); break;
        case 'a': out = a.numel === len ? a.reshape(shape) : nanTensor([len + 1], dtype); break;
        case 'b': out = b.numel === len ? b.reshape(shape) : nanTensor([len + 1], dtype); break;
        case 'overlap-a': out = viewOf(a, a.numel - 1); break; // its first element is a's last
        case 'disjoint-b': out = viewOf(b, b.numel); break; // right after b, same buffer
        case 'array': out = new Arr(len); break;
        case 'null': out = null; break;
      }
      const snap = (t: unknown): Uint8Array | null => (t instanceof Tensor ? new Uint8Array(t.data.buffer.slice(0)) : null);
      const before = [snap(a), snap(b), snap(out)];
      let got: Tensor;
      try {
        got = matmul(a, b, { out: out as Tensor | null });
      } catch (e) {
        expect(e instanceof TypeError || e instanceof RangeError).toBe(true);
        expect((e as Error).message).toMatch(/^matmul: /);
        expect(['right', 'disjoint-b', 'null']).not.toContain(d.out);
        const after = [snap(a), snap(b), snap(out)];
        for (let i = 0; i < 3; i++) if (before[i]) expect(Buffer.from(after[i]!).equals(Buffer.from(before[i]!))).toBe(true);
        return;
      }
      expect(['right', 'disjoint-b', 'null']).toContain(d.out);
      if (d.out === 'null') expect(got).not.toBe(out);
      else expect(got).toBe(out);
      expect(got.shape).toEqual(shape);
      expect(sameBits(got.data, want.data)).toBe(true);
      // Operands unchanged.
      expect(Buffer.from(snap(a)!).equals(Buffer.from(before[0]!)) || d.out === 'disjoint-b').toBe(true);
    }), { numRuns: 500 });
  });
});
