// PyTorch 1.13 semantics that a probe of the public API found missing
// (stop 25). Expected values are PyTorch's, computed once with
// /usr/bin/python3 and written here; each case failed before its fix.
import { describe, expect, it } from 'vitest';

import {
  Generator, Tensor, add, allclose, assertClose, cat, div, full, mul, sub, manualSeed, max, min, normal, ones, rand, stack, sum, tensor, transpose, zeros,
} from '../lib/index';

/** 'Name: message' of what f throws, or 'no error'. */
function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
  return 'no error';
}

const f64 = (v: number | number[]): Tensor => tensor(v, { dtype: 'float64' });

describe('elementwise dtypes and scalars', () => {
  it('a tensor with dims decides the dtype over a 0-d one (result_type)', () => {
    // torch: (ones(3) + tensor(0.1, dtype=float64)) is float32 1.100000023841858
    for (const y of [ones([3]).add(f64(0.1)), f64(0.1).add(ones([3])), ones([1]).add(f64(0.1))]) {
      expect(y.dtype).toBe('float32');
      expect(Array.from(y.data)).toEqual(new Array(y.numel).fill(1.100000023841858));
    }
    expect(tensor([0.08]).add(f64(0.1)).data[0]).toBe(0.18000000715255737);
    // Both 0-d, or both with dims: float64 wins.
    expect(tensor(1).add(f64(0.1)).dtype).toBe('float64');
    expect(tensor(1).add(f64(0.1)).item()).toBe(1.1);
    expect(ones([2]).sub(f64([0.1, 0.2])).dtype).toBe('float64');
    expect(f64([1, 2]).mul(tensor(3)).dtype).toBe('float64');
  });

  it('a number is rounded to float32 before a float32 op', () => {
    // torch.tensor([0.08]) + 0.1 etc.: float32 arithmetic on float32(0.1).
    expect(tensor([0.08]).add(0.1).data[0]).toBe(0.18000000715255737);
    expect(tensor([0.08]).sub(0.1).data[0]).toBe(-0.020000003278255463);
    expect(tensor([0.08]).mul(0.1).data[0]).toBe(0.00800000037997961);
    expect(tensor([0.08]).div(0.1).data[0]).toBe(0.7999999523162842);
    expect(tensor(0.08).add(0.1).item()).toBe(0.18000000715255737);
    expect(Array.from(tensor([1, 2, 7]).div(3).data)).toEqual([0.3333333432674408, 0.6666666865348816, 2.3333332538604736]);
    // 1e40 is inf in float32: torch gives inf and 0.
    expect(tensor([0.01]).mul(1e40).data[0]).toBe(Infinity);
    expect(tensor([3]).div(1e40).data[0]).toBe(0);
    // float64 tensors keep the number as is.
    expect(f64([0.08]).add(0.1).data[0]).toBe(0.08 + 0.1);
  });

  it('a number first: add(2, t), sub(0.1, t), div(1, t) as torch.add(2, t) etc.', () => {
    // torch 1.13: torch.sub(0.1, torch.tensor([0.08])) is 0.020000003278255463 (float32), etc.
    expect(sub(0.1, tensor([0.08])).data[0]).toBe(0.020000003278255463);
    expect(div(1, tensor([3])).data[0]).toBe(0.3333333432674408);
    expect(mul(0.1, tensor([0.08])).data[0]).toBe(0.00800000037997961);
    expect(add(0.1, tensor([0.08])).data[0]).toBe(0.18000000715255737);
    expect(div(1e40, tensor([3])).data[0]).toBe(Infinity);
    const y = sub(2, tensor([[1], [2]]));
    expect(y.shape).toEqual([2, 1]);
    expect(y.toArray()).toEqual([[1], [0]]);
    const z = sub(0.1, f64([0.08]));
    expect(z.dtype).toBe('float64');
    expect(z.data[0]).toBe(0.1 - 0.08);
    // No tensor at all (torch gives an integer tensor; ntensor has none): the tensor argument's TypeError.
    expect(errorOf(() => add(2 as never, 3 as never))).toBe("TypeError: add: argument 'other' must be a Tensor, got number");
    expect(errorOf(() => sub(2, '3' as never))).toBe("TypeError: sub: argument 'other' must be a Tensor, got string");
    expect(errorOf(() => sub('2' as never, tensor([1])))).toBe("TypeError: sub: argument 'self' must be a Tensor, got string");
  });
});

describe('reductions', () => {
  it('an empty dim list reduces every dim (sum(dim=[]) in 1.13)', () => {
    const s = ones([2, 3]).sum([]);
    expect(s.shape).toEqual([]);
    expect(s.item()).toBe(6);
    const m = ones([2, 3]).mean([], true);
    expect(m.shape).toEqual([1, 1]);
    expect(m.item()).toBe(1);
    expect(sum(ones([2, 3]), [], true).shape).toEqual([1, 1]);
  });

  it('0-d tensors: dims -1 and 0 only, each once', () => {
    expect(tensor(5).sum([0]).item()).toBe(5);
    expect(tensor(5).sum(-1).item()).toBe(5);
    expect(errorOf(() => tensor(5).sum([0, -1]))).toBe('RangeError: sum: dim 0 appears multiple times in the list of dims');
    expect(errorOf(() => tensor(5).sum([1]))).toBe('RangeError: sum: Dimension out of range (expected to be in range of [-1, 0], but got 1)');
  });

  it('max and min take no arguments instead of ignoring a dim', () => {
    const t = tensor([[0, 1, 2], [3, 4, 5]]);
    expect(t.max().item()).toBe(5);
    expect(min(t).item()).toBe(0);
    expect(errorOf(() => (t.max as (d: number) => Tensor)(1))).toMatch(/^TypeError: max: takes no arguments/);
    expect(errorOf(() => (t.min as (d: number, k: boolean) => Tensor)(0, true))).toMatch(/^TypeError: min: takes no arguments/);
    expect(errorOf(() => (max as (t: Tensor, d: number) => Tensor)(t, 1))).toMatch(/^TypeError: max: takes no arguments/);
    expect(errorOf(() => (min as (t: Tensor, d: number) => Tensor)(t, 1))).toMatch(/^TypeError: min: takes no arguments/);
  });
});

describe('shapes', () => {
  it('flatten(startDim, endDim) as torch.flatten, sharing the buffer', () => {
    const z = zeros([2, 3, 4]);
    const cases: [number[], number[]][] = [
      [[], [24]], [[1], [2, 12]], [[0, 1], [6, 4]], [[-2, -1], [2, 12]], [[1, 1], [2, 3, 4]], [[0, -1], [24]],
    ];
    for (const [args, shape] of cases) {
      const y = (z.flatten as (...a: number[]) => Tensor)(...args);
      expect(y.shape).toEqual(shape);
      expect(y.data).toBe(z.data);
    }
    expect(errorOf(() => (z.flatten as (...a: number[]) => Tensor)(2, 0))).toBe('RangeError: flatten: flatten() has invalid args: start_dim cannot come after end_dim');
    expect(errorOf(() => (z.flatten as (...a: number[]) => Tensor)(3))).toBe('RangeError: flatten: Dimension out of range (expected to be in range of [-3, 2], but got 3)');
    expect(tensor(5).flatten().shape).toEqual([1]);
    expect((tensor(5).flatten as (...a: number[]) => Tensor)(-1, 0).shape).toEqual([1]);
    expect(errorOf(() => (tensor(5).flatten as (...a: number[]) => Tensor)(1))).toMatch(/^RangeError: flatten: Dimension out of range \(expected to be in range of \[-1, 0\]/);
  });

  it('reshape without a shape is a TypeError', () => {
    expect(errorOf(() => (ones([1]).reshape as () => Tensor)())).toBe('TypeError: reshape: missing the shape (reshape(...dims) or reshape(shape))');
    expect(ones([1]).reshape([]).shape).toEqual([]);
  });

  it('new Tensor checks its shape as the creation functions do', () => {
    const d = new Float32Array(6);
    expect(errorOf(() => new Tensor(d, [-2, -3]))).toBe('RangeError: Tensor: shape[0] must be a non-negative integer, got -2');
    // torch.zeros('2') is a TypeError, torch.zeros(-2) a RuntimeError; 2.5 a number that is no size (RangeError, as new Float32Array(2.5)).
    expect(errorOf(() => new Tensor(d, [2.5, 2.4]))).toBe('RangeError: Tensor: shape[0] must be a non-negative integer, got 2.5');
    expect(errorOf(() => new Tensor(d, ['2', '3'] as never))).toBe("TypeError: Tensor: shape[0] must be a non-negative integer, got '2'");
    expect(errorOf(() => new Tensor(d, 6 as never))).toBe('TypeError: Tensor: shape must be an array of non-negative integers, got the number 6 (a shape is an array, e.g. [2, 3])');
    expect(new Tensor(d, [2, 3]).shape).toEqual([2, 3]);
  });

  it('transpose of a 0-d tensor checks its dims', () => {
    expect(transpose(tensor(5), 0, -1).item()).toBe(5);
    expect(errorOf(() => transpose(tensor(5), 5, 7))).toBe('RangeError: transpose: Dimension out of range (expected to be in range of [-1, 0], but got 5)');
    expect(errorOf(() => transpose(tensor(5), 0, 1))).toMatch(/^RangeError: transpose: Dimension out of range/);
  });

  it('cat and stack promote mixed dtypes to float64', () => {
    const y = cat([ones([2]), f64([2, 3])]);
    expect(y.dtype).toBe('float64');
    expect(Array.from(y.data)).toEqual([1, 1, 2, 3]);
    const s = stack([tensor([0.1, 0.2]), f64([0.1, 0.2])]);
    expect(s.dtype).toBe('float64');
    // The float32 row holds float32(0.1), widened exactly.
    expect(Array.from(s.data)).toEqual([Math.fround(0.1), Math.fround(0.2), 0.1, 0.2]);
  });

  it('cat skips 1-D empty tensors (legacy), whatever the others\' rank', () => {
    const a = ones([2, 3]);
    expect(cat([zeros([0]), a]).shape).toEqual([2, 3]);
    expect(cat([zeros([0]), a], 1).shape).toEqual([2, 3]);
    expect(cat([a, zeros([0]), ones([1, 3])]).shape).toEqual([3, 3]);
    expect(cat([zeros([0], { dtype: 'float64' }), a]).dtype).toBe('float64');
    expect(cat([zeros([0]), zeros([0])]).shape).toEqual([0]);
    expect(errorOf(() => cat([zeros([0]), a], 5))).toBe('RangeError: cat: Dimension out of range (expected to be in range of [-2, 1], but got 5)');
    expect(errorOf(() => cat([zeros([0]), a, ones([3])]))).toBe('RangeError: cat: Tensors must have same number of dimensions: got 2 and 1 (shapes [2, 3] and [3] at positions 1 and 2)');
  });
});

describe('creation and testing helpers', () => {
  it('full refuses a finite float32 overflow, keeps infinities', () => {
    expect(errorOf(() => full([2], 1e40))).toBe('RangeError: full: value 1e+40 cannot be converted to type float32 without overflow');
    expect(errorOf(() => full([2], -3.4028235e38))).toMatch(/^RangeError: full: value -3\.4028235e\+38 cannot/);
    expect(Array.from(full([2], Infinity).data)).toEqual([Infinity, Infinity]);
    expect(full([1], 3.4028234663852886e38).item()).toBe(3.4028234663852886e38);
    expect(full([1], 1e40, { dtype: 'float64' }).item()).toBe(1e40);
  });

  it('a number where a shape goes says so', () => {
    expect(errorOf(() => (zeros as unknown as (a: number, b: number) => Tensor)(2, 3))).toBe('TypeError: zeros: shape must be an array of non-negative integers, got the number 2 (a shape is an array, e.g. [2, 3])');
  });

  it('an infinite difference is never close, even with atol = Infinity', () => {
    const opts = { rtol: 0, atol: Infinity };
    expect(allclose(tensor([Infinity]), tensor([0]), opts)).toBe(false);
    expect(allclose(tensor([Infinity]), tensor([Infinity]), opts)).toBe(true);
    expect(allclose(tensor([1e30]), tensor([0]), opts)).toBe(true);
  });

  it('with both tolerances 0, assertClose reports "not equal" without allowances', () => {
    let msg = '';
    try { assertClose(tensor([1]), tensor([1.5]), { rtol: 0, atol: 0 }); } catch (e) { msg = (e as Error).message; }
    expect(msg).toBe('Tensor-likes are not equal!\n\nMismatched elements: 1 / 1 (100.0%)\nGreatest absolute difference: 0.5 at index (0,)\nGreatest relative difference: 0.3333333333333333 at index (0,)');
    try { assertClose(tensor(1), tensor(1.5), { rtol: 0, atol: 0 }); } catch (e) { msg = (e as Error).message; }
    expect(msg).toBe('Scalars are not equal!\n\nAbsolute difference: 0.5\nRelative difference: 0.3333333333333333');
  });
});

// Stop 26: a probe of the creation and random functions against PyTorch 1.13.
describe('creation and random functions', () => {
  it('full keeps -0 (torch.full((3,), -0.) is three -0.)', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const y = full([3], -0, { dtype });
      expect(Array.from(y.data).map((v) => Object.is(v, -0))).toEqual([true, true, true]);
    }
    expect(Object.is(full([1], 0).data[0], 0)).toBe(true);
  });

  it('a shape element that is not a number is a TypeError (torch.zeros([\'2\'])), a number that is no size a RangeError; -0 is 0', () => {
    expect(errorOf(() => zeros(['2'] as never))).toBe("TypeError: zeros: shape[0] must be a non-negative integer, got '2'");
    expect(errorOf(() => rand([2, null] as never))).toBe('TypeError: rand: shape[1] must be a non-negative integer, got null');
    expect(errorOf(() => rand([2, 2.5]))).toBe('RangeError: rand: shape[1] must be a non-negative integer, got 2.5');
    expect(errorOf(() => normal(0, 1, [NaN]))).toBe('RangeError: normal: shape[0] must be a non-negative integer, got NaN');
    expect(errorOf(() => ones([3, -1]))).toBe('RangeError: ones: shape[1] must be a non-negative integer, got -1');
    expect(Object.is(zeros([-0, 3]).shape[0], 0)).toBe(true);
  });

  it('rand and normal with the sizes as numbers say the shape must be an array', () => {
    const asNumbers = (f: unknown, ...a: unknown[]): string => errorOf(() => (f as (...x: unknown[]) => unknown)(...a));
    expect(asNumbers(rand, 2, 3)).toBe('TypeError: rand: shape must be an array of non-negative integers, got the number 2 (a shape is an array, e.g. [2, 3])');
    expect(asNumbers(normal, 0, 1, 2, 3)).toBe('TypeError: normal: shape must be an array of non-negative integers, got the number 2 (a shape is an array, e.g. [2, 3])');
  });

  it('a seed that is not a number is a TypeError naming its type; an unusable number a RangeError', () => {
    expect(errorOf(() => manualSeed('1' as never))).toBe("TypeError: manualSeed: seed must be a number, got the string '1'");
    expect(errorOf(() => manualSeed(1n as never))).toBe('TypeError: manualSeed: seed must be a number, got bigint');
    expect(errorOf(() => new Generator(null as never))).toBe('TypeError: manualSeed: seed must be a number, got null');
    expect(errorOf(() => manualSeed(-1))).toBe('RangeError: manualSeed: seed must be a non-negative safe integer (0 to 2^53 - 1), got -1');
    expect(errorOf(() => manualSeed(1.5))).toBe('RangeError: manualSeed: seed must be a non-negative safe integer (0 to 2^53 - 1), got 1.5');
  });

  it('ragged nesting where a sequence was expected is a TypeError, as torch.tensor([[1, 2], 3])', () => {
    expect(errorOf(() => tensor([[1, 2], 3] as never))).toBe('TypeError: tensor: expected a sequence of length 2 at dim 1, got 3 of type number');
    expect(errorOf(() => tensor([1, [2]] as never))).toMatch(/^TypeError: tensor: expected a number at depth 1/);
    // a sequence of the wrong length: torch's ValueError, here a RangeError
    expect(errorOf(() => tensor([[1, 2], [3]]))).toBe('RangeError: tensor: expected sequence of length 2 at dim 1 (got 1)');
  });
});

describe('normal with tensors of means or stds (torch.normal(Tensor, Tensor) and its float forms)', () => {
  it('shapes and dtypes as torch: the broadcast shape, the mean tensor\'s dtype (else the std tensor\'s)', () => {
    // torch 1.13: normal(zeros(2,1), ones(3)) -> (2, 3) float32; normal(zeros(2), ones(2, f64)) -> float32;
    // normal(zeros(2, f64), 1.) -> float64; normal(0., ones(2, f64)) -> float64; normal(zeros(2)) -> (2,);
    // normal(tensor(0.), ones(2, 3)) -> (2, 3); normal(zeros(0), ones(0)) -> (0,)
    const cases: Array<[Tensor, string, number[]]> = [
      [normal(zeros([2, 1]), ones([3])), 'float32', [2, 3]],
      [normal(zeros([2]), ones([2], { dtype: 'float64' })), 'float32', [2]],
      [normal(zeros([2], { dtype: 'float64' }), 1), 'float64', [2]],
      [normal(0, ones([2], { dtype: 'float64' })), 'float64', [2]],
      [normal(zeros([2])), 'float32', [2]],
      [normal(tensor(0), ones([2, 3])), 'float32', [2, 3]],
      [normal(zeros([0]), ones([0])), 'float32', [0]],
    ];
    for (const [t, dtype, shape] of cases) {
      expect(t.dtype).toBe(dtype);
      expect(t.shape).toEqual(shape);
    }
  });

  it('each element has its own mean and std; std 0 gives the mean exactly', () => {
    // torch: normal(tensor([0., 100.]), tensor([0., 0.])) == tensor([0., 100.])
    expect(Array.from(normal(tensor([0, 100]), tensor([0, 0])).data)).toEqual([0, 100]);
    const n = 20000;
    // column 0: mean -5, std 0.5; column 1: mean 3, std 2 (means broadcast over rows)
    const big = normal(tensor([-5, 3]).reshape([1, 2]).add(zeros([n, 2])), tensor([0.5, 2]), { generator: new Generator(7) });
    expect(big.shape).toEqual([n, 2]);
    for (const [col, mu, sd] of [[0, -5, 0.5], [1, 3, 2]] as const) {
      let s = 0, s2 = 0;
      for (let i = 0; i < n; i++) { const v = big.data[i * 2 + col]; s += v; s2 += v * v; }
      const mean = s / n, std = Math.sqrt(s2 / n - mean * mean);
      expect(Math.abs(mean - mu)).toBeLessThan(5 * sd / Math.sqrt(n));
      expect(Math.abs(std / sd - 1)).toBeLessThan(0.03);
    }
  });

  it('seeded like the number form, and the errors are torch\'s', () => {
    const a = normal(zeros([5]), ones([5]), { generator: new Generator(3) });
    const b = normal(0, 1, [5], { generator: new Generator(3) });
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    expect(errorOf(() => normal(zeros([2]), ones([3])))).toBe('RangeError: normal: The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 0 (shapes [2] and [3])');
    expect(errorOf(() => normal(zeros([2]), -1))).toBe('RangeError: normal: normal expects std >= 0.0, but found std -1');
    expect(errorOf(() => normal(zeros([2]), tensor([1, -1])))).toBe('RangeError: normal: normal expects all elements of std >= 0.0');
    expect(errorOf(() => normal(zeros([2]), tensor([1, NaN])))).toBe('RangeError: normal: normal expects all elements of std >= 0.0');
    expect(errorOf(() => normal(zeros([2]), 1, [2] as never))).toMatch(/^TypeError: normal: with a tensor of means or stds there is no shape argument/);
    expect(errorOf(() => normal(zeros([2]), 1, { dtype: 'float64' } as never))).toBe("TypeError: normal: unexpected option 'dtype' (normal takes generator)");
    expect(errorOf(() => normal('0' as never, ones([2])))).toBe("TypeError: normal: mean must be a number or a Tensor, got '0'");
    expect(errorOf(() => normal(zeros([2]), null as never))).toBe('TypeError: normal: std must be a number or a Tensor, got null'); // only undefined means 1
  });
});
