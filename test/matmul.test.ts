// ntensor.matmul against PyTorch (test/fixtures/ops.json, written by
// scripts/fixtures/gen_ops.py), against the naive loops in test/reference.ts
// on random shapes, and against algebraic identities.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sameBits } from './bits';

import {
  Generator, Tensor, assertClose, fromTypedArray, matmul, normal, tensor, transpose,
} from '../lib/index';
import * as ref from './reference';

type DT = 'float32' | 'float64';
interface FixTensor {
  shape: number[];
  data: number[];
}
interface MatmulCase {
  name: string;
  dtype: DT;
  a: FixTensor;
  b: FixTensor;
  out: FixTensor;
}

const fixturePath = fileURLToPath(new URL('./fixtures/ops.json', import.meta.url));
const fixtures = JSON.parse(readFileSync(fixturePath, 'utf8')) as { matmul: MatmulCase[] };

function fromFixture(t: FixTensor, dtype: DT): Tensor {
  return dtype === 'float64'
    ? fromTypedArray(Float64Array.from(t.data), t.shape)
    : fromTypedArray(Float32Array.from(t.data), t.shape);
}

/** Plain numbers of a tensor (float32 values widen exactly). */
const nums = (t: Tensor): number[] => Array.from(t.data);

/**
 * Tolerances for comparing two computations of the same sums of products:
 * an absolute one from the rounding-error bound of the largest sum, and a
 * small relative one.
 */
function tolerancesFor(r: ref.RefResult, dtype: DT): { rtol: number; atol: number } {
  const maxAbs = r.absSum.reduce((m, v) => Math.max(m, v), 0);
  return { rtol: dtype === 'float32' ? 1e-5 : 1e-12, atol: ref.errorBound(maxAbs, r.terms, dtype) };
}

describe('matmul vs PyTorch fixtures', () => {
  it('has the fixture cases', () => {
    expect(fixtures.matmul.length).toBeGreaterThanOrEqual(25);
    expect(fixtures.matmul.some((c) => c.dtype === 'float64')).toBe(true);
  });

  for (const c of fixtures.matmul) {
    it(`${c.dtype} ${c.name}`, () => {
      const a = fromFixture(c.a, c.dtype), b = fromFixture(c.b, c.dtype);
      // The JSON round-trip is exact: the typed arrays hold the stored values.
      expect(nums(a)).toEqual(c.a.data);
      expect(nums(b)).toEqual(c.b.data);
      const got = matmul(a, b);
      expect(got.dtype).toBe(c.dtype);
      expect([...got.shape]).toEqual(c.out.shape);
      const r = ref.matmul(c.a.data, c.a.shape, c.b.data, c.b.shape);
      expect(r.shape).toEqual(c.out.shape); // the reference agrees with PyTorch on shapes, too
      assertClose(got, fromFixture(c.out, c.dtype), tolerancesFor(r, c.dtype));
      // Element by element, within the rounding bound of that element's own sum.
      expect(ref.firstViolation(got.data, { ...r, data: c.out.data }, c.dtype)).toBeNull();
      expect(ref.firstViolation(got.data, r, c.dtype)).toBeNull();
    });
  }

  it('k == 0 gives exact zeros (not uninitialised memory)', () => {
    const c = fixtures.matmul.find((x) => x.name === '(3,0)x(0,4)')!;
    const got = matmul(fromFixture(c.a, 'float32'), fromFixture(c.b, 'float32'));
    expect([...got.shape]).toEqual([3, 4]);
    expect(nums(got)).toEqual(new Array(12).fill(0));
  });
});

/** A tensor of standard normals with the given shape and dtype. */
function randn(g: Generator, shape: number[], dtype: DT): Tensor {
  return dtype === 'float64' ? normal(0, 1, shape, { generator: g, dtype: 'float64' }) : normal(0, 1, shape, { generator: g });
}

describe('matmul vs test/reference.ts on random shapes', () => {
  const rng = ref.mulberry32(20240611);
  const int = (lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));

  it('2-D, including empty dims, float32 and float64', () => {
    const g = new Generator(1);
    for (let t = 0; t < 60; t++) {
      const dtype: DT = t % 3 === 2 ? 'float64' : 'float32';
      const m = int(0, 12), k = int(0, 40), n = int(0, 12);
      const a = randn(g, [m, k], dtype), b = randn(g, [k, n], dtype);
      const got = matmul(a, b);
      const r = ref.matmul2d(nums(a), nums(b), m, k, n);
      expect([...got.shape]).toEqual([m, n]);
      expect(got.dtype).toBe(dtype);
      expect(ref.firstViolation(got.data, r, dtype), `${dtype} ${m}x${k} @ ${k}x${n}`).toBeNull();
    }
  });

  it('1-D and batched operands with broadcasting', () => {
    const g = new Generator(2);
    for (let t = 0; t < 80; t++) {
      const dtype: DT = t % 4 === 3 ? 'float64' : 'float32';
      const m = int(1, 6), k = int(1, 9), n = int(1, 6);
      // Batch dims: a common target, each operand keeps a suffix of it with some dims set to 1.
      const target = Array.from({ length: int(0, 3) }, () => int(1, 3));
      const batchOf = (): number[] => target.slice(int(0, target.length)).map((d) => (rng() < 0.3 ? 1 : d));
      const aShape = rng() < 0.15 ? [k] : [...batchOf(), m, k];
      const bShape = rng() < 0.15 ? [k] : [...batchOf(), k, n];
      const a = randn(g, aShape, dtype), b = randn(g, bShape, dtype);
      const got = matmul(a, b);
      const r = ref.matmul(nums(a), aShape, nums(b), bShape);
      const what = `${dtype} [${aShape}] @ [${bShape}]`;
      expect([...got.shape], what).toEqual(r.shape);
      expect(ref.firstViolation(got.data, r, dtype), what).toBeNull();
    }
  });

  it('small integers give exact results', () => {
    for (let t = 0; t < 20; t++) {
      const m = int(1, 7), k = int(1, 20), n = int(1, 7), batch = int(1, 3);
      const ai = Array.from({ length: batch * m * k }, () => int(-8, 8));
      const bi = Array.from({ length: k * n }, () => int(-8, 8));
      const got = matmul(fromTypedArray(Float32Array.from(ai), [batch, m, k]), fromTypedArray(Float32Array.from(bi), [k, n]));
      expect(nums(got)).toEqual(ref.matmul(ai, [batch, m, k], bi, [k, n]).data);
    }
  });
});

describe('matmul identities', () => {
  const g = new Generator(3);

  function eye(n: number, dtype: DT): Tensor {
    const d = dtype === 'float64' ? new Float64Array(n * n) : new Float32Array(n * n);
    for (let i = 0; i < n; i++) d[i * n + i] = 1;
    return dtype === 'float64' ? fromTypedArray(d as Float64Array, [n, n]) : fromTypedArray(d as Float32Array, [n, n]);
  }

  for (const dtype of ['float32', 'float64'] as const) {
    it(`${dtype}: A·I == A and I·A == A exactly`, () => {
      for (const [m, n] of [[1, 1], [3, 5], [7, 2], [16, 33], [40, 9]]) {
        const A = randn(g, [m, n], dtype);
        expect(sameBits(matmul(A, eye(n, dtype)).data, A.data)).toBe(true);
        expect(sameBits(matmul(eye(m, dtype), A).data, A.data)).toBe(true);
      }
    });

    it(`${dtype}: (A·B)ᵀ == Bᵀ·Aᵀ`, () => {
      for (const [m, k, n] of [[1, 1, 1], [2, 3, 4], [9, 17, 5], [31, 8, 12]]) {
        const A = randn(g, [m, k], dtype), B = randn(g, [k, n], dtype);
        const lhs = matmul(A, B).T, rhs = matmul(B.T, A.T);
        const r = ref.matmul2d(nums(B.T), nums(A.T), n, k, m);
        expect([...lhs.shape]).toEqual([n, m]);
        assertClose(lhs, rhs, tolerancesFor(r, dtype));
        // transpose(x, 0, 1) and .T agree
        assertClose(transpose(matmul(A, B), 0, 1), rhs, tolerancesFor(r, dtype));
      }
    });

    it(`${dtype}: matmul(a, b) equals a.matmul(b) bit for bit`, () => {
      for (const [as, bs] of [[[4, 6], [6, 3]], [[5], [5]], [[2, 3, 4], [4]], [[2, 1, 3, 4], [3, 4, 5]]]) {
        const a = randn(g, as, dtype), b = randn(g, bs, dtype);
        const x = matmul(a, b), y = a.matmul(b);
        expect([...y.shape]).toEqual([...x.shape]);
        expect(sameBits(x.data, y.data)).toBe(true);
      }
    });

    it(`${dtype}: a batched product equals the per-batch 2-D products bit for bit`, () => {
      const A = randn(g, [3, 4, 5], dtype), B = randn(g, [5, 6], dtype);
      const Y = matmul(A, B);
      expect([...Y.shape]).toEqual([3, 4, 6]);
      for (let i = 0; i < 3; i++) {
        const Ai = fromFixture({ shape: [4, 5], data: nums(A).slice(i * 20, (i + 1) * 20) }, dtype);
        expect(sameBits(matmul(Ai, B).data, Y.data.subarray(i * 24, (i + 1) * 24))).toBe(true);
      }
    });
  }

  it('the result has the inputs\' dtype and is a fresh buffer', () => {
    const a = tensor([[1, 2], [3, 4]], { dtype: 'float64' });
    const y = matmul(a, a);
    expect(y.dtype).toBe('float64');
    expect(y.data).toBeInstanceOf(Float64Array);
    expect(y.data.buffer).not.toBe(a.data.buffer);
    expect(y.toArray()).toEqual([[7, 10], [15, 22]]);
    expect(a.toArray()).toEqual([[1, 2], [3, 4]]); // inputs untouched
  });

  it('1-D · 1-D is a 0-d tensor', () => {
    const y = matmul(tensor([1, 2, 3]), tensor([4, 5, 6]));
    expect([...y.shape]).toEqual([]);
    expect(y.item()).toBe(32);
  });

  it('works on tensors over subarrays with a byte offset', () => {
    const big = Float32Array.from({ length: 40 }, (_, i) => i - 20);
    const a = fromTypedArray(big.subarray(3, 9), [2, 3]);
    const b = fromTypedArray(big.subarray(17, 29), [3, 4]);
    const r = ref.matmul2d(nums(a), nums(b), 2, 3, 4);
    expect(nums(matmul(a, b))).toEqual(r.data);
  });
});
