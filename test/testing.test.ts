// allclose / assertClose against torch.testing.assert_close. The expected
// messages were printed by PyTorch 1.13 for the same inputs (with
// 'torch.Size([2])' written [2] and 'torch.float32' written float32).
import { AssertionError } from 'node:assert';
import { describe, expect, it } from 'vitest';

import { allclose, assertClose, tensor } from '../lib/index';
import { pyRepr } from '../lib/testing';

function message(fn: () => void): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(AssertionError);
    return (e as Error).message;
  }
  throw new Error('expected an AssertionError');
}

describe('assertClose', () => {
  it('passes within the float32 defaults (rtol 1.3e-6, atol 1e-5) and fails just outside', () => {
    assertClose(tensor([1, 100]), tensor([1 + 9e-6, 100]));
    assertClose(tensor([1000]), tensor([1000.001]));
    expect(() => assertClose(tensor([0]), tensor([2e-5]))).toThrow(AssertionError);
    expect(() => assertClose(tensor([1000]), tensor([1000.01]))).toThrow(AssertionError);
  });

  it('uses the float64 defaults (rtol 1e-7, atol 1e-7)', () => {
    const f64 = { dtype: 'float64' } as const;
    assertClose(tensor([1], f64), tensor([1 + 1.5e-7], f64));
    expect(() => assertClose(tensor([1], f64), tensor([1 + 3e-7], f64))).toThrow(AssertionError);
  });

  it('reports like PyTorch: 2-D', () => {
    expect(message(() => assertClose(tensor([[1, 2], [3, 4]]), tensor([[1, 2], [3.5, 4]])))).toBe(
      'Tensor-likes are not close!\n\nMismatched elements: 1 / 4 (25.0%)\nGreatest absolute difference: 0.5 at index (1, 0) (up to 1e-05 allowed)\nGreatest relative difference: 0.14285714285714285 at index (1, 0) (up to 1.3e-06 allowed)',
    );
  });

  it('reports like PyTorch: 1-D, scalars, NaN, float32 rounding', () => {
    expect(message(() => assertClose(tensor([1, 2, 3]), tensor([1, 2.5, 3])))).toBe(
      'Tensor-likes are not close!\n\nMismatched elements: 1 / 3 (33.3%)\nGreatest absolute difference: 0.5 at index (1,) (up to 1e-05 allowed)\nGreatest relative difference: 0.2 at index (1,) (up to 1.3e-06 allowed)',
    );
    expect(message(() => assertClose(tensor(1.5), tensor(1)))).toBe(
      'Scalars are not close!\n\nAbsolute difference: 0.5 (up to 1e-05 allowed)\nRelative difference: 0.5 (up to 1.3e-06 allowed)',
    );
    expect(message(() => assertClose(tensor([1, NaN]), tensor([1, NaN])))).toBe(
      'Tensor-likes are not close!\n\nMismatched elements: 1 / 2 (50.0%)\nGreatest absolute difference: nan at index (1,) (up to 1e-05 allowed)\nGreatest relative difference: nan at index (1,) (up to 1.3e-06 allowed)',
    );
    expect(message(() => assertClose(tensor([0, 1]), tensor([1e-3, 1])))).toBe(
      'Tensor-likes are not close!\n\nMismatched elements: 1 / 2 (50.0%)\nGreatest absolute difference: 0.0010000000474974513 at index (0,) (up to 1e-05 allowed)\nGreatest relative difference: 1.0 at index (0,) (up to 1.3e-06 allowed)',
    );
  });

  it('requires equal shapes and dtypes', () => {
    expect(message(() => assertClose(tensor([1, 2]), tensor([1, 2, 3])))).toBe(
      "The values for attribute 'shape' do not match: [2] != [3].",
    );
    expect(message(() => assertClose(tensor([1, 2]), tensor([1, 2], { dtype: 'float64' })))).toBe(
      "The values for attribute 'dtype' do not match: float32 != float64.",
    );
  });

  it('handles infinities, equalNan, custom tolerances and messages', () => {
    assertClose(tensor([Infinity, -Infinity]), tensor([Infinity, -Infinity]));
    expect(() => assertClose(tensor([Infinity]), tensor([-Infinity]))).toThrow(AssertionError);
    expect(() => assertClose(tensor([1e30]), tensor([Infinity]))).toThrow(AssertionError);
    assertClose(tensor([NaN]), tensor([NaN]), { equalNan: true });
    assertClose(tensor([1]), tensor([1.1]), { rtol: 0, atol: 0.2 });
    expect(message(() => assertClose(tensor([1]), tensor([2]), { message: 'custom' }))).toBe('custom');
    expect(() => assertClose(tensor([1]), tensor([1]), { rtol: 0 })).toThrow(TypeError);
    expect(() => assertClose([1] as never, tensor([1]))).toThrow(TypeError);
  });
});

describe('allclose', () => {
  it('returns true and false by the same rule', () => {
    expect(allclose(tensor([1, 2]), tensor([1, 2 + 1e-6]))).toBe(true);
    expect(allclose(tensor([1, 2]), tensor([1, 2.1]))).toBe(false);
    expect(allclose(tensor([1, 2]), tensor([1, 2.1]), { rtol: 0.1, atol: 0 })).toBe(true);
    expect(allclose(tensor([NaN]), tensor([NaN]))).toBe(false);
    expect(() => allclose(tensor([1]), tensor([1, 2]))).toThrow(RangeError);
    // @ts-expect-error mixed dtypes do not compile either
    expect(() => allclose(tensor([1]), tensor([1], { dtype: 'float64' }))).toThrow(TypeError);
  });
});

describe('pyRepr', () => {
  it("writes numbers as Python's repr(float)", () => {
    const cases: [number, string][] = [
      [1, '1.0'], [0.5, '0.5'], [1e-5, '1e-05'], [1.3e-6, '1.3e-06'], [1e-4, '0.0001'],
      [123456.789, '123456.789'], [1e16, '1e+16'], [1.5e20, '1.5e+20'], [-2.25, '-2.25'],
      [0.14285714285714285, '0.14285714285714285'], [0, '0.0'], [NaN, 'nan'], [-Infinity, '-inf'],
    ];
    for (const [v, s] of cases) expect(pyRepr(v)).toBe(s);
  });
});
