// The d2l-size fast paths (2-D matmul, option-less conv2d, corr2dMultiInOut,
// corr2dMultiInOut1x1, same-shape elementwise ops) give the general paths'
// bits, shapes and errors.
import { describe, expect, it } from 'vitest';

import { native } from '../lib/native';

import {
  Generator, Tensor, conv2d, corr2dMultiInOut, corr2dMultiInOut1x1, fromTypedArray, matmul, normal,
} from '../lib/index';

const g = new Generator(7);
const rnd = (shape: number[], dtype: 'float32' | 'float64' = 'float32'): Tensor => normal(0, 1, shape, { dtype, generator: g });
const bits = (t: Tensor): number[] => Array.from(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));

/** A tensor whose buffer is then detached (transferred). */
function detached(shape: number[]): Tensor {
  const t = rnd(shape);
  structuredClone(t.data.buffer, { transfer: [t.data.buffer as ArrayBuffer] });
  return t;
}

function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return `${(e as Error).constructor.name}: ${(e as Error).message}`;
  }
  return 'no error';
}

describe('fast paths', () => {
  it('2-D matmul equals the batched path bit for bit, shapes frozen and right after a size change', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const a = rnd([2, 3], dtype), b = rnd([3, 9], dtype);
      const y = matmul(a, b);
      const yb = matmul(a.reshape(1, 2, 3), b.reshape(1, 3, 9));
      expect(y.shape).toEqual([2, 9]);
      expect(y.dtype).toBe(dtype);
      expect(Object.isFrozen(y.shape)).toBe(true);
      expect(bits(y)).toEqual(bits(yb));
      const z = matmul(a, rnd([3, 4], dtype));
      expect(z.shape).toEqual([2, 4]);
      expect(matmul(a, b).shape).toEqual([2, 9]);
      expect(y.shape).toEqual([2, 9]);
    }
    // Empty operands.
    expect(matmul(rnd([0, 3]), rnd([3, 5])).shape).toEqual([0, 5]);
    expect(matmul(rnd([2, 0]), rnd([0, 5])).toArray()).toEqual([[0, 0, 0, 0, 0], [0, 0, 0, 0, 0]]);
  });

  it('conv2d without options equals conv2d with {} and corr2dMultiInOut; the 1x1 formulation agrees bit for bit', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const x = rnd([3, 3, 3], dtype), k = rnd([2, 3, 1, 1], dtype);
      const y = conv2d(x, k);
      expect(y.shape).toEqual([2, 3, 3]);
      expect(Object.isFrozen(y.shape)).toBe(true);
      expect(bits(y)).toEqual(bits(conv2d(x, k, {})));
      expect(bits(y)).toEqual(bits(corr2dMultiInOut(x, k)));
      expect(bits(y)).toEqual(bits(corr2dMultiInOut1x1(x, k)));
      expect(corr2dMultiInOut1x1(x, k).shape).toEqual([2, 3, 3]);
      const xb = rnd([2, 3, 5, 6], dtype), kb = rnd([4, 3, 2, 3], dtype);
      const yb = conv2d(xb, kb);
      expect(yb.shape).toEqual([2, 4, 4, 4]);
      expect(bits(yb)).toEqual(bits(conv2d(xb, kb, { stride: 1, padding: 0 })));
      const k3 = rnd([4, 3, 2, 3], dtype);
      expect(bits(corr2dMultiInOut(x, k3.reshape(4, 3, 2, 3).reshape(4, 3, 2, 3)))).toEqual(bits(conv2d(x, k3, { padding: 'valid' })));
    }
  });

  it('conv2d with default-valued options takes the same bits; each option is read once', () => {
    const x = rnd([2, 3, 5, 5]), k = rnd([4, 3, 2, 2]);
    const want = bits(conv2d(x, k, { stride: [1, 1], padding: [0, 0], dilation: [1, 1] }));
    expect(bits(conv2d(x, k, { stride: 1, padding: 0, groups: 1 }))).toEqual(want);
    expect(bits(conv2d(x, k, { padding: 'valid', dilation: 1, bias: null }))).toEqual(want);
    for (const stride of [1, 2]) {
      const reads: Record<string, number> = {};
      const opts = {};
      for (const [name, value] of Object.entries({ bias: undefined, stride, padding: 0, dilation: 1, groups: 1 })) {
        Object.defineProperty(opts, name, { get: () => { reads[name] = (reads[name] ?? 0) + 1; return value; }, enumerable: true });
      }
      expect(conv2d(x, k, opts).shape).toEqual(stride === 1 ? [2, 4, 4, 4] : [2, 4, 2, 2]);
      expect(reads).toEqual({ bias: 1, stride: 1, padding: 1, dilation: 1, groups: 1 });
    }
    expect(errorOf(() => conv2d(x, k, null as never))).toBe('TypeError: conv2d: options must be an object');
    expect(errorOf(() => conv2d(x, k, { groups: 2 }))).toMatch(/^RangeError: conv2d: Given groups=2/);
  });

  it('native conv2d: sizes in a Float64Array give the 20-argument form\'s results and errors', () => {
    const conv = native().conv2d as (...args: unknown[]) => void;
    const x = rnd([2, 3, 5, 5]), k = rnd([4, 3, 2, 2]);
    const sizes = [2, 3, 5, 5, 4, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, 1];
    const run = (z: number[], packed: boolean): [string, number[]] => {
      const out = new Float32Array(2 * 4 * 4 * 4).fill(-7);
      const err = errorOf(() => conv(x.data, k.data, null, out, ...(packed ? [Float64Array.from(z)] : z)));
      return [err, Array.from(out)];
    };
    expect(run(sizes, true)).toEqual(run(sizes, false));
    expect(run(sizes, true)[0]).toBe('no error');
    const hostile = [-1, -0, 0, 1, 2, 3, 0.5, NaN, Infinity, -Infinity, 2 ** 53, 2 ** 53 - 1, 2 ** 62, 1e300];
    for (let i = 0; i < 16; i++) {
      for (const v of hostile) {
        const z = sizes.slice();
        z[i] = v;
        expect(run(z, true), `sizes[${i}] = ${v}`).toEqual(run(z, false));
      }
    }
    const out = new Float32Array(128);
    expect(errorOf(() => conv(x.data, k.data, null, out, new Float64Array(15)))).toBe("TypeError: conv2d: argument 'sizes' must be a Float64Array of 16 sizes");
    expect(errorOf(() => conv(x.data, k.data, null, out, new Float32Array(16)))).toBe("TypeError: conv2d: argument 'sizes' must be a Float64Array of 16 sizes");
    expect(errorOf(() => conv(x.data, k.data, null, out, sizes))).toBe("TypeError: conv2d: argument 'sizes' must be a Float64Array of 16 sizes");
    expect(errorOf(() => conv(x.data, k.data, null, out))).toBe('TypeError: conv2d: expected 20 arguments');
  });

  it('conv2d fast path: a large output (not zeroed first) is fully written; no input channels gives PyTorch\'s empty result', () => {
    const x = rnd([1, 8, 70, 70]), k = rnd([8, 8, 3, 3]);
    const y = conv2d(x, k); // 8 x 68 x 68 fp32: above allocateOutput's 64 KiB
    expect(bits(y)).toEqual(bits(conv2d(x, k, { stride: [1, 1] })));
    const e = conv2d(rnd([1, 0, 5, 5]), rnd([4, 0, 2, 2]));
    expect([...e.shape]).toEqual([1, 0, 4, 4]);
    expect(e.data.length).toBe(0);
  });

  it('same-shape elementwise ops equal the broadcasting path', () => {
    const a = rnd([2, 3, 3]), b = rnd([2, 3, 3]);
    const b4 = b.reshape(1, 2, 3, 3);
    for (const op of ['add', 'sub', 'mul', 'div'] as const) {
      const y = a[op](b);
      expect(y.shape).toEqual([2, 3, 3]);
      expect(bits(y)).toEqual(bits(a[op](b4)));
    }
    expect(bits(a.abs())).toEqual(bits(fromTypedArray(a.data.map(Math.abs), [2, 3, 3])));
    expect(bits(a.neg())).toEqual(bits(fromTypedArray(a.data.map((v) => -v), [2, 3, 3])));
    // float64 wins promotion (general path), as before.
    expect(a.sub(rnd([2, 3, 3], 'float64')).dtype).toBe('float64');
  });

  it('errors are the general paths\' for detached buffers and bad shapes', () => {
    expect(errorOf(() => matmul(detached([2, 3]), rnd([3, 9])))).toBe("TypeError: matmul: argument 'input' has a detached buffer");
    expect(errorOf(() => matmul(rnd([2, 3]), rnd([4, 9])))).toBe('RangeError: matmul: mat1 and mat2 shapes cannot be multiplied (2x3 and 4x9) (input shapes [2, 3] and [4, 9])');
    expect(errorOf(() => conv2d(detached([3, 3, 3]), rnd([2, 3, 1, 1])))).toBe("TypeError: conv2d: argument 'input' has a detached buffer");
    expect(errorOf(() => corr2dMultiInOut(rnd([3, 3, 3]), detached([2, 3, 1, 1])))).toBe("TypeError: corr2dMultiInOut: argument 'K' has a detached buffer");
    expect(errorOf(() => corr2dMultiInOut1x1(rnd([3, 3, 3]), detached([2, 3, 1, 1])))).toBe("TypeError: corr2dMultiInOut1x1: argument 'K' has a detached buffer");
    expect(errorOf(() => corr2dMultiInOut(rnd([3, 3, 3]), rnd([2, 3, 4, 1])))).toMatch(/^RangeError: corr2dMultiInOut: kernel of size \[4, 1\] does not fit/);
    expect(errorOf(() => rnd([2, 3]).sub(detached([2, 3])))).toBe("TypeError: sub: argument 'other' has a detached buffer");
  });
});
