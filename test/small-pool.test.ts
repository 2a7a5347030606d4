// The small-tensor pool (lib/dtype.ts): arrays of POOL_MIN_BYTES..POOL_MAX_BYTES
// are views into shared POOL_SLAB_BYTES ArrayBuffers. Each view must own its
// bytes (no two overlap, each starts zeroed, float64 ones 8-byte aligned), a
// transferred slab must leave clear errors rather than wrong results, ops
// into an `out` that shares a slab with the inputs must still run, and a job
// that runs on another thread must not read or write pooled memory.
import { afterEach, describe, expect, it } from 'vitest';

import {
  conv2d, conv2dAsync, fromTypedArray, manualSeed, matmul, matmulAsync, normal, setSmallTensorPool, sum, zeros,
} from '../lib/index';
import type { DType, Tensor } from '../lib/index';
import { POOL_MAX_BYTES, POOL_MIN_BYTES, POOL_SLAB_BYTES, isPooled } from '../lib/dtype';
import * as ref from './reference';

afterEach(() => setSmallTensorPool(true));

const ownsBuffer = (t: Tensor): boolean =>
  t.data.byteOffset === 0 && t.data.buffer.byteLength === t.data.byteLength;

describe('small-tensor pool', () => {
  it('hands out disjoint, zeroed, aligned regions of mixed sizes and dtypes', () => {
    const made: Tensor[] = [];
    // Enough tensors to fill several slabs; sizes from just above V8's
    // on-heap limit to the pool's maximum, float32 and float64 interleaved.
    for (let i = 0; made.length < 200; i++) {
      const dtype: DType = i % 3 === 0 ? 'float64' : 'float32';
      const bytesPer = dtype === 'float64' ? 8 : 4;
      const lo = Math.ceil(POOL_MIN_BYTES / bytesPer), hi = Math.floor(POOL_MAX_BYTES / bytesPer);
      const len = lo + ((i * 37) % (hi - lo + 1));
      const t = zeros([len], { dtype });
      expect(isPooled(t.data)).toBe(true);
      expect(t.data.byteOffset % 8).toBe(0);
      expect(t.data.every((v) => v === 0)).toBe(true);
      t.data.fill(i + 1);
      made.push(t);
    }
    made.forEach((t, i) => expect(t.data.every((v) => v === i + 1)).toBe(true));
    // They did share slabs.
    expect(new Set(made.map((t) => t.data.buffer)).size).toBeLessThan(made.length / 4);
    expect(made.every((t) => t.data.buffer.byteLength === POOL_SLAB_BYTES)).toBe(true);
  });

  it('clone() of a small tensor is pooled too, and holds a copy', () => {
    const t = normal(0, 1, [20]);
    const c = t.clone();
    expect(isPooled(c.data)).toBe(true);
    expect(c.data).not.toBe(t.data);
    expect(Array.from(c.data)).toEqual(Array.from(t.data));
    c.data[0] = 42;
    expect(t.data[0]).not.toBe(42);
    expect(ownsBuffer(normal(0, 1, [POOL_MAX_BYTES / 4 + 1]).clone())).toBe(true);
  });

  it('leaves arrays of at most 64 bytes and above POOL_MAX_BYTES to their own buffers', () => {
    expect(isPooled(zeros([16]).data)).toBe(false);
    expect(isPooled(zeros([POOL_MAX_BYTES / 4 + 1]).data)).toBe(false);
    expect(ownsBuffer(zeros([POOL_MAX_BYTES / 4 + 1]))).toBe(true);
    expect(isPooled(zeros([POOL_MAX_BYTES / 8], { dtype: 'float64' }).data)).toBe(true);
  });

  it('setSmallTensorPool(false) gives every new tensor its own buffer; a non-boolean is a TypeError', () => {
    setSmallTensorPool(false);
    const a = zeros([5, 5]);
    const c = matmul(normal(0, 1, [5, 3]), normal(0, 1, [3, 5]));
    expect(ownsBuffer(a)).toBe(true);
    expect(ownsBuffer(c)).toBe(true);
    setSmallTensorPool(true);
    expect(isPooled(zeros([5, 5]).data)).toBe(true);
    expect(() => setSmallTensorPool(1 as unknown as boolean)).toThrow(
      new TypeError('setSmallTensorPool: enabled must be a boolean, got 1 of type number'));
  });

  it('a transferred slab detaches its other tensors (a TypeError naming the argument) and the pool moves on', () => {
    let a = zeros([5, 5]), b = zeros([5, 5]);
    while (a.data.buffer !== b.data.buffer) { a = b; b = zeros([5, 5]); }
    b.data.fill(2);
    const slab = a.data.buffer as ArrayBuffer;
    const moved = structuredClone(slab, { transfer: [slab] });
    expect(moved.byteLength).toBe(POOL_SLAB_BYTES);
    expect(b.data.length).toBe(0);
    expect(() => sum(b)).toThrow(TypeError);
    expect(() => matmul(b, zeros([5, 5]))).toThrow(/argument 'input' has a detached buffer|detached/);
    const c = zeros([5, 5]);
    expect(c.data.length).toBe(25);
    expect(c.data.buffer).not.toBe(moved);
    expect(sum(c).item()).toBe(0);
  });

  it('matmul and conv2d write into an out that shares a slab with their inputs (and refuse one that overlaps)', () => {
    manualSeed(3);
    const a = normal(0, 1, [4, 6]), b = normal(0, 1, [6, 5]), out = zeros([4, 5]);
    expect(out.data.buffer).toBe(a.data.buffer); // one slab, different bytes
    expect(matmul(a, b, { out })).toBe(out);
    expect(ref.firstViolation(out.data, ref.matmul2d(Array.from(a.data), Array.from(b.data), 4, 6, 5), 'float32')).toBeNull();
    expect(Array.from(out.data)).toEqual(Array.from(matmul(a, b).data));

    const x = normal(0, 1, [1, 2, 6, 6]), w = normal(0, 1, [3, 2, 3, 3]), y = zeros([1, 3, 4, 4]);
    expect(y.data.buffer).toBe(x.data.buffer);
    expect(conv2d(x, w, { out: y })).toBe(y);
    expect(Array.from(y.data)).toEqual(Array.from(conv2d(x, w).data));

    // An out over a's last 20 elements: it overlaps a, in the same slab.
    const overlap = fromTypedArray(new Float32Array(a.data.buffer, a.data.byteOffset + 16, 20), [4, 5]);
    expect(() => matmul(a, b, { out: overlap })).toThrow(/out shares memory with argument 'input'/);
  });
});

describe('small-tensor pool and jobs on other threads', () => {
  // 8 x 2048 by 2048 x 8: 2^17 multiply-adds (above INLINE_MAX_WORK, so the
  // job runs on libuv's pool), and a 256-byte output (a pooled size).
  const a = normal(0, 1, [8, 2048]), b = normal(0, 1, [2048, 8]);

  it('matmulAsync returns a new output over its own buffer, and fills a pooled out', async () => {
    const expected = matmul(a, b);
    const r = await matmulAsync(a, b);
    expect(ownsBuffer(r)).toBe(true);
    expect(Array.from(r.data)).toEqual(Array.from(expected.data));

    const out = zeros([8, 8]);
    expect(isPooled(out.data)).toBe(true);
    const neighbour = zeros([8, 8]); // the next region of the slab
    neighbour.data.fill(7);
    expect(await matmulAsync(a, b, { out })).toBe(out);
    expect(Array.from(out.data)).toEqual(Array.from(expected.data));
    expect(neighbour.data.every((v) => v === 7)).toBe(true);
  });

  it('conv2dAsync reads pooled inputs as they were at the call', async () => {
    // A 16 x 16 image and kernel (1 KiB each, pooled) with padding 15: 31 x 31
    // outputs x 256 = 246,016 multiply-adds, off the JS thread.
    manualSeed(11);
    const x = normal(0, 1, [1, 1, 16, 16]), w = normal(0, 1, [1, 1, 16, 16]);
    expect(isPooled(x.data) && isPooled(w.data)).toBe(true);
    const expected = conv2d(x, w, { padding: 15 });
    const pending = conv2dAsync(x, w, { padding: 15 });
    x.data.fill(0); // after the call: the job must not see it
    w.data.fill(0);
    const r = await pending;
    expect(Array.from(r.data)).toEqual(Array.from(expected.data));
  });
});
