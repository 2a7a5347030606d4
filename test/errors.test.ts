// Bad input for every op: the error class (TypeError for a wrong kind of
// argument, RangeError for a wrong size or value) and a message that names
// the op and, where two shapes meet, both shapes. Then the native binding
// itself, called directly with lying arguments: it must refuse them without
// touching the output (and without reading outside its inputs).
import { describe, expect, it } from 'vitest';

import {
  Tensor, arange, cat, conv2d, corr2d, corr2dMultiIn, corr2dMultiInOut, corr2dMultiInOut1x1, div, fromTypedArray, full,
  matmul, mean, mul, normal, ones, rand, stack, sub, sum, tensor, transpose, zeros, add,
} from '../lib/index';
import { native, type NativeBinding } from '../lib/native';
import * as ref from './reference';
import { sameBits } from './bits';

type ErrorClass = typeof TypeError | typeof RangeError;

/** Runs f, expects it to throw exactly `cls`, and every fragment to appear in the message. */
function expectError(f: () => unknown, cls: ErrorClass, ...fragments: Array<string | RegExp>): Error {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a throw').toBeInstanceOf(Error);
  const e = err as Error;
  expect(e.constructor.name, e.message).toBe(cls.name);
  expect(e).toBeInstanceOf(cls);
  for (const frag of fragments) {
    if (typeof frag === 'string') expect(e.message).toContain(frag);
    else expect(e.message).toMatch(frag);
  }
  return e;
}

/** Shapes as the messages write them (PyTorch style). */
const sh = (s: readonly number[]): string => `[${s.join(', ')}]`;

const f32 = (shape: number[]): Tensor => zeros(shape);
const f64 = (shape: number[]): Tensor => zeros(shape, { dtype: 'float64' });

/** Every kind of non-tensor value an op could be handed. */
const NOT_TENSORS: Array<[string, unknown]> = [
  ['a number', 3],
  ['an array', [[1, 2], [3, 4]]],
  ['null', null],
  ['undefined', undefined],
  ['a plain object', { shape: [2, 2], data: new Float32Array(4), dtype: 'float32' }],
  ['a string', '1'],
  ['a Float32Array', new Float32Array(4)],
];

// Each op with its valid arguments; `bad` puts a non-tensor in position i.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFn = (...args: any[]) => unknown;
const OPS: Array<[string, AnyFn, unknown[]]> = [
  ['matmul', matmul, [f32([2, 3]), f32([3, 4])]],
  ['conv2d', conv2d, [f32([1, 2, 5, 5]), f32([3, 2, 3, 3])]],
  ['corr2d', corr2d, [f32([5, 5]), f32([2, 2])]],
  ['corr2dMultiIn', corr2dMultiIn, [f32([2, 5, 5]), f32([2, 2, 2])]],
  ['corr2dMultiInOut', corr2dMultiInOut, [f32([2, 5, 5]), f32([3, 2, 2, 2])]],
  ['corr2dMultiInOut1x1', corr2dMultiInOut1x1, [f32([2, 5, 5]), f32([3, 2, 1, 1])]],
  ['add', add, [f32([2, 3]), f32([2, 3])]],
  ['sub', sub, [f32([2, 3]), f32([2, 3])]],
  ['mul', mul, [f32([2, 3]), f32([2, 3])]],
  ['div', div, [f32([2, 3]), f32([2, 3])]],
  ['transpose', transpose, [f32([2, 3]), 0, 1]],
  ['sum', sum, [f32([2, 3])]],
  ['mean', mean, [f32([2, 3])]],
];

describe('non-tensor arguments give TypeError naming the op', () => {
  for (const [op, fn, args] of OPS) {
    it(`${op}: valid arguments work`, () => {
      expect(fn(...args)).toBeInstanceOf(Tensor);
    });
    for (let pos = 0; pos < args.length; pos++) {
      if (!(args[pos] instanceof Tensor)) continue;
      // add/sub/mul/div take a number as either operand (torch.add(2, t))
      const bads = ['add', 'sub', 'mul', 'div'].includes(op) ? NOT_TENSORS.filter(([w]) => w !== 'a number') : NOT_TENSORS;
      it(`${op}: argument ${pos} not a tensor`, () => {
        for (const [what, bad] of bads) {
          const a = [...args];
          a[pos] = bad;
          const e = expectError(() => fn(...a), TypeError, `${op}:`);
          expect(e.message, `${op} with ${what}`).toMatch(/must be a Tensor/);
        }
      });
    }
  }

  it('conv2d: non-tensor bias, non-object options', () => {
    const x = f32([1, 2, 5, 5]), w = f32([3, 2, 3, 3]);
    for (const [, bad] of NOT_TENSORS.filter(([what]) => what !== 'null' && what !== 'undefined')) {
      expectError(() => conv2d(x, w, { bias: bad as Tensor }), TypeError, 'conv2d:', 'bias');
    }
    expectError(() => conv2d(x, w, 5 as never), TypeError, 'conv2d:');
    expectError(() => conv2d(x, w, null as never), TypeError, 'conv2d:');
  });

  it('methods: t.matmul / t.add / ... with non-tensors', () => {
    const t = f32([2, 2]);
    for (const [, bad] of NOT_TENSORS) {
      expectError(() => t.matmul(bad as Tensor), TypeError, 'matmul:');
      if (typeof bad !== 'number') {
        expectError(() => t.add(bad as Tensor), TypeError, 'add:');
        expectError(() => t.div(bad as Tensor), TypeError, 'div:');
      }
    }
  });

  it('stack and cat: not an array, or an array holding non-tensors', () => {
    for (const op of [stack, cat]) {
      const name = op === stack ? 'stack' : 'cat';
      for (const bad of [null, undefined, 3, 'ab', f32([2]), { length: 1, 0: f32([2]) }]) {
        expectError(() => op(bad as never), TypeError, `${name}:`);
      }
      for (const [, bad] of NOT_TENSORS) expectError(() => op([f32([2]), bad as Tensor]), TypeError, `${name}:`);
    }
  });
});

describe('matmul', () => {
  it('inner dims differ: names both shapes as 2x3 and 4x5', () => {
    expectError(() => matmul(f32([2, 3]), f32([4, 5])), RangeError, 'matmul', '2x3', '4x5');
    expectError(() => f32([2, 3]).matmul(f32([4, 5])), RangeError, 'matmul', '2x3', '4x5');
    expectError(() => matmul(f32([7, 2, 3]), f32([7, 4, 5])), RangeError, 'matmul', '2x3', '4x5', sh([7, 2, 3]), sh([7, 4, 5]));
  });

  it('1-D operands of different lengths', () => {
    expectError(() => matmul(f32([3]), f32([4])), RangeError, 'matmul', sh([3]), sh([4]));
    expectError(() => matmul(f32([3]), f32([4, 5])), RangeError, 'matmul', sh([3]), sh([4, 5]));
    expectError(() => matmul(f32([4, 5]), f32([3])), RangeError, 'matmul', sh([4, 5]), sh([3]));
  });

  it('batch dims that do not broadcast', () => {
    expectError(() => matmul(f32([2, 2, 3]), f32([3, 3, 4])), RangeError, 'matmul', sh([2, 2, 3]), sh([3, 3, 4]));
    expectError(() => matmul(f32([2, 3, 2, 3]), f32([4, 3, 5])), RangeError, 'matmul', sh([2, 3, 2, 3]), sh([4, 3, 5]));
    expect([...matmul(f32([2, 1, 2, 3]), f32([4, 3, 5])).shape]).toEqual([2, 4, 2, 5]); // these do broadcast
  });

  it('0-d operands', () => {
    expectError(() => matmul(tensor(2), f32([2])), RangeError, 'matmul', '0D');
    expectError(() => matmul(f32([2]), tensor(2)), RangeError, 'matmul', '0D');
  });

  it('mismatched dtypes give TypeError naming both', () => {
    expectError(() => matmul(f32([2, 3]), f64([3, 4])), TypeError, 'matmul', 'float32', 'float64');
    expectError(() => matmul(f64([2, 3]), f32([3, 4])), TypeError, 'matmul', 'float32', 'float64');
    expectError(() => matmul(f64([3]), f32([3])), TypeError, 'matmul');
  });
});

describe('conv2d', () => {
  const x = f32([1, 3, 6, 6]), w = f32([2, 3, 3, 3]);

  it('works with the valid arguments below', () => {
    expect([...conv2d(x, w, { bias: f32([2]), stride: [1, 2], padding: [1, 0] }).shape]).toEqual([1, 2, 6, 2]);
  });

  it('channel mismatch names both channel counts and both shapes', () => {
    expectError(() => conv2d(f32([1, 4, 6, 6]), w), RangeError, 'conv2d', sh([2, 3, 3, 3]), sh([1, 4, 6, 6]), '3 channels', '4 channels');
    // unbatched: PyTorch reports the input with its added batch dim, too
    expectError(() => conv2d(f32([4, 6, 6]), w), RangeError, 'conv2d', sh([2, 3, 3, 3]), '3 channels', '4 channels');
  });

  it('input and weight of the wrong rank', () => {
    expectError(() => conv2d(f32([6, 6]), w), RangeError, 'conv2d', sh([6, 6]));
    expectError(() => conv2d(f32([1, 1, 3, 6, 6]), w), RangeError, 'conv2d', sh([1, 1, 3, 6, 6]));
    expectError(() => conv2d(x, f32([3, 3, 3])), RangeError, 'conv2d', sh([3, 3, 3]), sh([1, 3, 6, 6]));
  });

  it('kernel larger than the padded input names both shapes', () => {
    expectError(() => conv2d(f32([1, 3, 2, 6]), w), RangeError, 'conv2d', sh([1, 3, 2, 6]), sh([2, 3, 3, 3]));
    expectError(() => conv2d(f32([3, 6, 2]), w), RangeError, 'conv2d', sh([3, 6, 2]), sh([2, 3, 3, 3]));
    expect([...conv2d(f32([3, 6, 2]), w, { padding: [0, 1] }).shape]).toEqual([2, 4, 2]); // padding makes it fit
  });

  it('empty kernel', () => {
    expectError(() => conv2d(x, f32([2, 3, 0, 3])), RangeError, 'conv2d', sh([2, 3, 0, 3]));
    expectError(() => conv2d(x, f32([2, 3, 3, 0])), RangeError, 'conv2d', sh([2, 3, 3, 0]));
  });

  it('bias of the wrong size or rank names the weight and bias shapes', () => {
    expectError(() => conv2d(x, w, { bias: f32([3]) }), RangeError, 'conv2d', sh([2, 3, 3, 3]), sh([3]));
    expectError(() => conv2d(x, w, { bias: f32([1, 2]) }), RangeError, 'conv2d', sh([2, 3, 3, 3]), sh([1, 2]));
  });

  it('mismatched dtypes give TypeError', () => {
    expectError(() => conv2d(x, f64([2, 3, 3, 3])), TypeError, 'conv2d', 'float32', 'float64');
    expectError(() => conv2d(f64([1, 3, 6, 6]), w), TypeError, 'conv2d', 'float32', 'float64');
    expectError(() => conv2d(x, w, { bias: f64([2]) }), TypeError, 'conv2d', 'float32', 'float64');
  });

  it('bad stride, padding, dilation, groups', () => {
    for (const stride of [0, -1, [1, 0], [-2, 1]]) expectError(() => conv2d(x, w, { stride: stride as number }), RangeError, 'conv2d', 'stride');
    for (const stride of [1.5, NaN, Infinity, '1', ['1'], [1, 0.5], null]) {
      expectError(() => conv2d(x, w, { stride: stride as number }), TypeError, 'conv2d', 'stride');
    }
    // PyTorch 1.13: RuntimeError "expected stride to be a single integer value or a list of 2 values ..., but got stride=[1, 2, 3]"
    for (const stride of [[], [1, 2, 3]]) {
      expectError(() => conv2d(x, w, { stride: stride as unknown as number }), RangeError, 'conv2d', 'expected stride to be a single integer or an array of one or two integers');
    }
    for (const padding of [-1, [0, -1], [-1]]) expectError(() => conv2d(x, w, { padding: padding as number }), RangeError, 'conv2d', 'padding');
    for (const padding of [0.5, [0.5], null]) expectError(() => conv2d(x, w, { padding: padding as number }), TypeError, 'conv2d', 'padding');
    for (const padding of [[], [1, 1, 1]]) expectError(() => conv2d(x, w, { padding: padding as unknown as number }), RangeError, 'conv2d', 'padding');
    // One value for both dims, as PyTorch expands stride=[2].
    expect([...conv2d(x, w, { stride: [2] }).shape]).toEqual([1, 2, 2, 2]);
    expect(sameBits(conv2d(x, w, { stride: [2], padding: [1], dilation: [2] }).data, conv2d(x, w, { stride: 2, padding: 1, dilation: 2 }).data)).toBe(true);
    // PyTorch: "padding='same' is not supported for strided convolutions"
    expectError(() => conv2d(x, w, { padding: 'same', stride: 2 }), RangeError, 'conv2d', "padding='same'", 'strided');
    expectError(() => conv2d(x, w, { padding: 'same', stride: [1, 2] }), RangeError, 'conv2d', "padding='same'", 'strided');
    // PyTorch: RuntimeError "Invalid padding string: 'full'" (a string, but not one of the two)
    expectError(() => conv2d(x, w, { padding: 'full' as 'same' }), RangeError, 'conv2d', "Invalid padding string: 'full'");
    // PyTorch: "Calculated padded input size per channel: (6 x 6). Kernel size: (7 x 7). Kernel size can't be greater than actual input size"
    expectError(() => conv2d(x, w, { dilation: 3 }), RangeError, 'conv2d', '(6 x 6)', '(7 x 7)', "can't be greater", 'dilation');
    expectError(() => conv2d(x, w, { dilation: 0 }), RangeError, 'conv2d', 'dilation should be greater than zero, but got [0, 0]');
    expectError(() => conv2d(x, w, { dilation: [1, 0] }), RangeError, 'conv2d', 'dilation should be greater than zero, but got [1, 0]');
    for (const groups of [1.5, NaN, '1', null]) expectError(() => conv2d(x, w, { groups: groups as number }), TypeError, 'conv2d', 'groups');
    // PyTorch 1.13: "Given groups=3, expected weight to be at least 3 at dimension 0, but got weight of size [2, 3, 3, 3] instead"
    expectError(() => conv2d(x, w, { groups: 3 }), RangeError, 'conv2d', 'Given groups=3, expected weight to be at least 3 at dimension 0', sh([2, 3, 3, 3]));
    expectError(() => conv2d(x, w, { groups: 0 }), RangeError, 'conv2d', 'non-positive groups is not supported');
    expectError(() => conv2d(x, w, { groups: -1 }), RangeError, 'conv2d', 'non-positive groups is not supported');
    // PyTorch: "Given groups=2, weight of size [2, 3, 3, 3], expected input[1, 4, 6, 6] to have 6 channels, but got 4 channels instead"
    expectError(() => conv2d(f32([1, 4, 6, 6]), w, { groups: 2 }), RangeError, 'conv2d',
      `Given groups=2, weight of size ${sh([2, 3, 3, 3])}, expected input${sh([1, 4, 6, 6])} to have 6 channels, but got 4 channels instead`);
  });

  it('the valid forms of padding, dilation and groups', () => {
    expect([...conv2d(x, w, { padding: 'same' }).shape]).toEqual([1, 2, 6, 6]);
    expect([...conv2d(x, f32([2, 3, 2, 4]), { padding: 'same' }).shape]).toEqual([1, 2, 6, 6]); // even kernels
    expect([...conv2d(x, w, { padding: 'same', dilation: [2, 1] }).shape]).toEqual([1, 2, 6, 6]);
    expect([...conv2d(x, w, { padding: 'same', stride: [1, 1] }).shape]).toEqual([1, 2, 6, 6]);
    expect([...conv2d(f32([3, 2, 2]), w, { padding: 'same' }).shape]).toEqual([2, 2, 2]); // kernel larger than the input
    expect([...conv2d(x, w, { padding: 'valid', stride: 2 }).shape]).toEqual([1, 2, 2, 2]);
    expect([...conv2d(x, w, { dilation: 2 }).shape]).toEqual([1, 2, 2, 2]);
    expect([...conv2d(x, w, { dilation: [2, 1], padding: [1, 0] }).shape]).toEqual([1, 2, 4, 4]);
    expect([...conv2d(f32([1, 4, 6, 6]), f32([6, 2, 3, 3]), { groups: 2 }).shape]).toEqual([1, 6, 4, 4]);
    expect([...conv2d(f32([3, 6, 6]), f32([3, 1, 3, 3]), { groups: 3, padding: 1 }).shape]).toEqual([3, 6, 6]); // depthwise
  });
});

describe('the d2l functions', () => {
  it('corr2d: ranks and kernel sizes', () => {
    expectError(() => corr2d(f32([1, 5, 5]), f32([2, 2])), RangeError, 'corr2d', sh([1, 5, 5]), sh([2, 2]));
    expectError(() => corr2d(f32([5, 5]), f32([1, 2, 2])), RangeError, 'corr2d', sh([5, 5]), sh([1, 2, 2]));
    expectError(() => corr2d(f32([3, 3]), f32([4, 2])), RangeError, 'corr2d', sh([3, 3]), sh([4, 2]));
    expectError(() => corr2d(f32([3, 3]), f32([2, 4])), RangeError, 'corr2d', sh([3, 3]), sh([2, 4]));
    expectError(() => corr2d(f32([3, 3]), f32([0, 2])), RangeError, 'corr2d', sh([3, 3]), sh([0, 2]));
  });

  it('corr2dMultiIn: channel mismatch, ranks, kernel sizes', () => {
    expectError(() => corr2dMultiIn(f32([2, 3, 3]), f32([3, 2, 2])), RangeError, 'corr2dMultiIn', sh([2, 3, 3]), sh([3, 2, 2]));
    expectError(() => corr2dMultiIn(f32([3, 3]), f32([3, 2, 2])), RangeError, 'corr2dMultiIn', sh([3, 3]), sh([3, 2, 2]));
    expectError(() => corr2dMultiIn(f32([2, 3, 3]), f32([1, 2, 2, 2])), RangeError, 'corr2dMultiIn', sh([2, 3, 3]), sh([1, 2, 2, 2]));
    expectError(() => corr2dMultiIn(f32([2, 3, 3]), f32([2, 4, 2])), RangeError, 'corr2dMultiIn', sh([3, 3]), sh([4, 2]));
  });

  it('corr2dMultiInOut: ci mismatch, ranks, kernel sizes', () => {
    expectError(() => corr2dMultiInOut(f32([2, 3, 3]), f32([1, 3, 2, 2])), RangeError, 'corr2dMultiInOut', sh([2, 3, 3]), sh([1, 3, 2, 2]));
    expectError(() => corr2dMultiInOut(f32([2, 3, 3]), f32([2, 2, 2])), RangeError, 'corr2dMultiInOut', sh([2, 3, 3]), sh([2, 2, 2]));
    expectError(() => corr2dMultiInOut(f32([1, 2, 3, 3]), f32([1, 2, 2, 2])), RangeError, 'corr2dMultiInOut', sh([1, 2, 3, 3]));
    expectError(() => corr2dMultiInOut(f32([2, 3, 3]), f32([1, 2, 2, 5])), RangeError, 'corr2dMultiInOut', sh([3, 3]), sh([2, 5]));
  });

  it('corr2dMultiInOut1x1: kernel not 1x1, ci mismatch', () => {
    expectError(() => corr2dMultiInOut1x1(f32([2, 3, 3]), f32([1, 2, 2, 2])), RangeError, 'corr2dMultiInOut1x1', sh([2, 3, 3]), sh([1, 2, 2, 2]));
    expectError(() => corr2dMultiInOut1x1(f32([2, 3, 3]), f32([1, 3, 1, 1])), RangeError, 'corr2dMultiInOut1x1', sh([2, 3, 3]), sh([1, 3, 1, 1]));
    expectError(() => corr2dMultiInOut1x1(f32([2, 3]), f32([1, 2, 1, 1])), RangeError, 'corr2dMultiInOut1x1', sh([2, 3]));
  });

  it('mismatched dtypes give TypeError', () => {
    expectError(() => corr2d(f32([3, 3]), f64([2, 2])), TypeError, 'float32', 'float64');
    expectError(() => corr2dMultiIn(f32([2, 3, 3]), f64([2, 2, 2])), TypeError, 'float32', 'float64');
    expectError(() => corr2dMultiInOut(f64([2, 3, 3]), f32([1, 2, 2, 2])), TypeError, 'float32', 'float64');
    expectError(() => corr2dMultiInOut1x1(f64([2, 3, 3]), f32([1, 2, 1, 1])), TypeError, 'float32', 'float64');
  });

  // BUG (lib/ops/conv.ts): the d2l functions do not check dtypes themselves, so the
  // TypeError comes from the op they delegate to: corr2d, corr2dMultiIn and
  // corr2dMultiInOut report 'conv2d: Input type (float32), weight type (float64) ...'
  // and corr2dMultiInOut1x1 reports 'matmul: expected both operands to have the same
  // dtype ...'; the message never names the function the user called.
  it('mismatched dtypes: the message names the d2l function called', () => {
    expectError(() => corr2d(f32([3, 3]), f64([2, 2])), TypeError, 'corr2d:');
    expectError(() => corr2dMultiIn(f32([2, 3, 3]), f64([2, 2, 2])), TypeError, 'corr2dMultiIn:');
    expectError(() => corr2dMultiInOut(f64([2, 3, 3]), f32([1, 2, 2, 2])), TypeError, 'corr2dMultiInOut:');
    expectError(() => corr2dMultiInOut1x1(f64([2, 3, 3]), f32([1, 2, 1, 1])), TypeError, 'corr2dMultiInOut1x1:');
  });
});

describe('stack, cat, transpose, reshape', () => {
  it('stack: empty list, unequal shapes (both named), bad dim', () => {
    expectError(() => stack([]), RangeError, 'stack');
    expectError(() => stack([f32([2, 3]), f32([3, 2])]), RangeError, 'stack', sh([2, 3]), sh([3, 2]));
    expectError(() => stack([f32([2, 3]), f32([2, 3]), f32([2, 3, 1])]), RangeError, 'stack', sh([2, 3]), sh([2, 3, 1]));
    expectError(() => stack([f32([2, 3])], 3), RangeError, 'stack', 'Dimension out of range');
    expectError(() => stack([f32([2, 3])], -4), RangeError, 'stack', 'Dimension out of range');
    expectError(() => stack([f32([2, 3])], 0.5), RangeError, 'stack');
  });

  it('cat: sizes (both shapes named), ranks, 0-d, bad dim', () => {
    expectError(() => cat([f32([2, 3]), f32([2, 2])], 0), RangeError, 'cat', sh([2, 3]), sh([2, 2]));
    expectError(() => cat([f32([2, 3]), f32([2, 3, 1])], 0), RangeError, 'cat', sh([2, 3]), sh([2, 3, 1]));
    expectError(() => cat([tensor(1), tensor(2)]), RangeError, 'cat', 'zero-dimensional');
    expectError(() => cat([]), RangeError, 'cat');
    expectError(() => cat([f32([2, 3]), tensor([5])], 0), RangeError, 'cat', sh([2, 3]), sh([1]));
    expectError(() => cat([f32([2, 3])], 2), RangeError, 'cat', 'Dimension out of range');
  });

  it('transpose: dims out of range or not integers', () => {
    expectError(() => transpose(f32([2, 3]), 0, 2), RangeError, 'transpose', 'Dimension out of range');
    expectError(() => transpose(f32([2, 3]), -3, 0), RangeError, 'transpose', 'Dimension out of range');
    expectError(() => transpose(f32([2, 3, 4]), 1.5, 0), RangeError, 'transpose');
    expectError(() => f32([2, 3, 4]).T, RangeError, 'T', sh([2, 3, 4]));
  });

  it('reshape / view: wrong size names both shapes, bad dims', () => {
    expectError(() => f32([2, 3]).reshape(4, 5), RangeError, 'reshape', sh([4, 5]), sh([2, 3]), '6');
    expectError(() => f32([2, 3]).reshape([4, -1]), RangeError, 'reshape', sh([4, -1]), sh([2, 3]));
    expectError(() => f32([2, 3]).reshape(-1, -1), RangeError, 'reshape', 'one dimension');
    expectError(() => f32([2, 3]).reshape(-2, -3), RangeError, 'reshape');
    expectError(() => f32([2, 3]).reshape(1.5, 4), RangeError, 'reshape');
    expectError(() => f32([2, 3]).reshape(NaN), RangeError, 'reshape');
    expectError(() => f32([0, 3]).reshape(-1, 0), RangeError, 'reshape');
    expectError(() => f32([2, 3]).view(5), RangeError, /reshape|view/, sh([5]), sh([2, 3]));
  });
});

describe('elementwise and reductions', () => {
  for (const [op, fn] of [['add', add], ['sub', sub], ['mul', mul], ['div', div]] as const) {
    it(`${op}: unbroadcastable shapes name the op and both shapes`, () => {
      expectError(() => fn(f32([2, 3]), f32([3, 2])), RangeError, `${op}:`, sh([2, 3]), sh([3, 2]));
      expectError(() => fn(f32([4, 1, 3]), f32([2, 2])), RangeError, `${op}:`, sh([4, 1, 3]), sh([2, 2]));
      expectError(() => fn(f32([2]), f32([0])), RangeError, `${op}:`, sh([2]), sh([0]));
      expectError(() => f32([5]).sub(f32([4])), RangeError, 'sub:', sh([5]), sh([4]));
      // two numbers: no tensor to take the dtype from
      expectError(() => fn(2 as never, 3 as never), TypeError, `${op}:`, "argument 'other' must be a Tensor");
    });
  }

  it('sum / mean: dims out of range, repeated, not integers, not numbers', () => {
    for (const [op, fn] of [['sum', sum], ['mean', mean]] as const) {
      expectError(() => fn(f32([2, 3]), 2), RangeError, `${op}:`, 'Dimension out of range');
      expectError(() => fn(f32([2, 3]), -3), RangeError, `${op}:`, 'Dimension out of range');
      expectError(() => fn(f32([2, 3]), [0, 0]), RangeError, `${op}:`, 'multiple times');
      expectError(() => fn(f32([2, 3]), [0, -2]), RangeError, `${op}:`, 'multiple times');
      expectError(() => fn(f32([2, 3]), 0.5), RangeError, `${op}:`);
      expectError(() => fn(f32([2, 3]), NaN), RangeError, `${op}:`);
      expectError(() => fn(f32([2, 3]), '0' as never), TypeError, `${op}:`);
      expectError(() => fn(f32([2, 3]), [null] as never), TypeError, `${op}:`);
    }
    expectError(() => f32([2, 3]).sum(5), RangeError, 'sum:');
  });

  it('item on anything but one element', () => {
    expectError(() => f32([2, 3]).item(), RangeError, 'item', '6 elements');
    expectError(() => f32([0]).item(), RangeError, 'item', '0 elements');
    expect(f32([1, 1, 1]).item()).toBe(0);
  });
});

describe('creation functions', () => {
  it('tensor(): ragged nested arrays, non-numbers', () => {
    expectError(() => tensor([[1, 2], [3]]), RangeError, 'tensor', 'length 2');
    expectError(() => tensor([[1], [2, 3]]), RangeError, 'tensor');
    expectError(() => tensor([[[1, 2], [3, 4]], [[5, 6]]]), RangeError, 'tensor');
    expectError(() => tensor([[], [1]]), RangeError, 'tensor');
    expectError(() => tensor([[1, 2], 3] as never), TypeError, 'tensor'); // a number where a sequence goes: TypeError, as torch
    expectError(() => tensor([1, [2]] as never), TypeError, 'tensor');
    expectError(() => tensor([1, '2'] as never), TypeError, 'tensor');
    expectError(() => tensor([1, null] as never), TypeError, 'tensor');
    for (const bad of [null, undefined, 'abc', {}, true]) expectError(() => tensor(bad as never), TypeError, 'tensor');
    expectError(() => tensor([1], { dtype: 'int32' as never }), TypeError, 'tensor', 'dtype');
  });

  it('fromTypedArray: too short or too long for the shape, wrong array types', () => {
    expectError(() => fromTypedArray(new Float32Array(5), [2, 3]), RangeError, 'fromTypedArray', sh([2, 3]), '6', '5');
    expectError(() => fromTypedArray(new Float64Array(7), [2, 3]), RangeError, 'fromTypedArray', sh([2, 3]), '7');
    expectError(() => fromTypedArray(new Float32Array(0), [1]), RangeError, 'fromTypedArray');
    expectError(() => fromTypedArray(new Float32Array(6), [2, -3]), RangeError, 'fromTypedArray');
    expectError(() => fromTypedArray(new Float32Array(6), [2, 1.5]), RangeError, 'fromTypedArray');
    expectError(() => fromTypedArray(new Float32Array(6), 6 as never), TypeError, 'fromTypedArray');
    for (const bad of [new Int32Array(6), new Uint8Array(6), [1, 2, 3, 4, 5, 6], null, new DataView(new ArrayBuffer(24))]) {
      expectError(() => fromTypedArray(bad as never, [6]), TypeError, 'fromTypedArray');
    }
  });

  it('normal: negative or NaN std, non-numbers, bad shapes', () => {
    expectError(() => normal(0, -1, [2]), RangeError, 'normal', 'std');
    expectError(() => normal(0, NaN, [2]), RangeError, 'normal', 'std');
    expectError(() => normal(0, '1' as never, [2]), TypeError, 'normal');
    expectError(() => normal(0, 1, [-2]), RangeError, 'normal');
    expectError(() => normal(0, 1, [2], { generator: {} as never }), TypeError, 'normal', 'generator');
    expectError(() => rand([2, -1]), RangeError, 'rand');
    expectError(() => arange(0, 5, 0), RangeError, 'arange');
    expectError(() => arange(5, 0, 1), RangeError, 'arange');
  });

  it('zeros / ones / full: negative, fractional, non-finite dims give RangeError; non-arrays and non-number dims TypeError', () => {
    for (const make of [zeros, ones, (s: number[]) => full(s, 2)]) {
      for (const dims of [[-1], [2, -3], [1.5], [2, 0.5], [NaN], [Infinity], [2 ** 53]]) {
        expectError(() => make(dims), RangeError, `[${dims.findIndex((d) => !(Number.isSafeInteger(d) && d >= 0))}]`);
      }
      for (const bad of [3, null, undefined, 'abc', { length: 2 }]) expectError(() => make(bad as never), TypeError);
      expectError(() => make(['2'] as never), TypeError); // not a number: TypeError, as torch
    }
    expectError(() => zeros([2 ** 20, 2 ** 20]), RangeError, 'more than');
  });

  // BUG (lib/creation.ts): zeros() and ones() delegate to full(), which validates the
  // shape under the name 'full', so zeros([-1]) throws
  // "RangeError: full: shape[0] must be a non-negative integer, got -1".
  it('zeros / ones: the message names the op called', () => {
    expectError(() => zeros([-1]), RangeError, 'zeros:');
    expectError(() => ones([1.5]), RangeError, 'ones:');
  });
});

// ---------------------------------------------------------------------------
// The native binding, called directly
// ---------------------------------------------------------------------------
// The raw addon exports, loaded as the library loads them (node-gyp-build, or
// exactly NTENSOR_NATIVE_PATH, so `npm run test:sanitize` tests the ASan build).
const binding: NativeBinding = native();

/** Output filled with a sentinel; `unchanged()` checks a rejected call left it alone. */
function sentinel<T extends Float32Array | Float64Array>(arr: T): { out: T; unchanged: () => void } {
  for (let i = 0; i < arr.length; i++) arr[i] = 1000 + i;
  const copy = Array.from(arr);
  return { out: arr, unchanged: () => expect(Array.from(arr)).toEqual(copy) };
}

const off = (...v: number[]): Float64Array => Float64Array.from(v);
const seq = (n: number, start = 1): Float32Array => Float32Array.from({ length: n }, (_, i) => start + i);

describe('native matmul(a, b, out, m, k, n, aOffsets, bOffsets)', () => {
  const nm = (...args: unknown[]): unknown => (binding.matmul as AnyFn)(...args);

  it('a valid call computes the product', () => {
    const a = seq(6), b = seq(12, -5), out = new Float32Array(8);
    binding.matmul(a, b, out, 2, 3, 4, off(0), off(0));
    expect(Array.from(out)).toEqual(ref.matmul2d(Array.from(a), Array.from(b), 2, 3, 4).data);
    expect(binding.backendInfo().isa).toMatch(/^(avx512|avx2|scalar)$/);
  });

  it('batched with offsets, including a shared (broadcast) operand', () => {
    const a = seq(12), b = seq(6, -2), out = new Float32Array(3 * 2 * 2);
    binding.matmul(a, b, out, 2, 2, 2, off(0, 4, 8), off(0, 0, 2));
    const want = [0, 1, 2].flatMap((i) => ref.matmul2d(Array.from(a.subarray(4 * i, 4 * i + 4)), Array.from(b.subarray([0, 0, 2][i], [0, 0, 2][i] + 4)), 2, 2, 2).data);
    expect(Array.from(out)).toEqual(want);
  });

  it('sizes that lie about the arrays: RangeError, out unchanged', () => {
    const a = seq(6), b = seq(12);
    const { out, unchanged } = sentinel(new Float32Array(8));
    expectError(() => nm(a, b, out, 2, 4, 4, off(0), off(0)), RangeError, 'matmul'); // m*k = 8 > 6, k*n = 16 > 12
    expectError(() => nm(a, b, out, 4, 2, 2, off(0), off(0)), RangeError, 'matmul'); // out needs 8: ok; m*k = 8 > 6
    expectError(() => nm(seq(8), b, out, 2, 4, 4, off(0), off(0)), RangeError, 'matmul', "'b'"); // k*n = 16 > 12
    expectError(() => nm(a, b, out, 2, 3, 3, off(0), off(0)), RangeError, 'matmul', "'out'"); // out must hold exactly 6
    expectError(() => nm(a, seq(9), out, 2, 3, 3, off(0, 0), off(0, 0)), RangeError, 'matmul'); // out 8 != 12
    unchanged();
  });

  it('offsets past the end, negative, NaN, fractional, infinite: RangeError, out unchanged', () => {
    const a = seq(12), b = seq(12);
    const { out, unchanged } = sentinel(new Float32Array(2 * 4));
    // a is 2x3 per batch (12 elements: valid offsets 0..6), b is 3x2 (valid 0..6); two batches.
    binding.matmul(a, b, new Float32Array(8), 2, 3, 2, off(0, 6), off(6, 0)); // the limits themselves are fine
    for (const bad of [7, 12, 13, 1e9, -1, -6, NaN, 0.5, 5.999, Infinity, -Infinity, 2 ** 53, -0.5]) {
      // the bad offset is in the second batch: the first must not have been written either
      expectError(() => nm(a, b, out, 2, 3, 2, off(0, bad), off(0, 0)), RangeError, 'matmul', 'aOffsets[1]');
      expectError(() => nm(a, b, out, 2, 3, 2, off(0, 0), off(0, bad)), RangeError, 'matmul', 'bOffsets[1]');
    }
    unchanged();
  });

  it('offsets arrays of the wrong type or length', () => {
    const a = seq(6), b = seq(6);
    const { out, unchanged } = sentinel(new Float32Array(4));
    expectError(() => nm(a, b, out, 2, 3, 2, off(0, 0), off(0)), RangeError, 'matmul');
    expectError(() => nm(a, b, out, 2, 3, 2, new Float32Array(1), off(0)), TypeError, 'matmul', 'aOffsets');
    expectError(() => nm(a, b, out, 2, 3, 2, off(0), [0]), TypeError, 'matmul', 'bOffsets');
    expectError(() => nm(a, b, out, 2, 3, 2, off(0), null), TypeError, 'matmul', 'bOffsets');
    expectError(() => nm(a, b, out, 2, 3, 2, new BigInt64Array(1), off(0)), TypeError, 'matmul', 'aOffsets');
    unchanged();
  });

  it('negative, NaN, fractional, infinite, huge sizes: RangeError; non-numbers: TypeError', () => {
    const a = seq(6), b = seq(6);
    const { out, unchanged } = sentinel(new Float32Array(4));
    for (const bad of [-1, -0.5, NaN, 1.5, Infinity, -Infinity, 2 ** 53 + 2]) {
      expectError(() => nm(a, b, out, bad, 3, 2, off(0), off(0)), RangeError, 'matmul', "'m'");
      expectError(() => nm(a, b, out, 2, bad, 2, off(0), off(0)), RangeError, 'matmul', "'k'");
      expectError(() => nm(a, b, out, 2, 3, bad, off(0), off(0)), RangeError, 'matmul', "'n'");
    }
    for (const bad of ['2', null, undefined, {}, 2n]) {
      expectError(() => nm(a, b, out, bad, 3, 2, off(0), off(0)), TypeError, 'matmul', "'m'");
    }
    // products that overflow
    expectError(() => nm(a, b, out, 2 ** 40, 2 ** 40, 2, off(0), off(0)), RangeError, 'matmul');
    expectError(() => nm(a, b, new Float32Array(0), 2 ** 30, 0, 2 ** 30, off(0), off(0)), RangeError, 'matmul');
    unchanged();
  });

  it('wrong array types: Float64Array out for Float32 inputs, Int32Array, plain arrays', () => {
    const a = seq(6), b = seq(6);
    const { out, unchanged } = sentinel(new Float32Array(4));
    const out64 = sentinel(new Float64Array(4));
    expectError(() => nm(a, b, out64.out, 2, 3, 2, off(0), off(0)), TypeError, 'matmul', "'out'");
    out64.unchanged();
    expectError(() => nm(a, Float64Array.from(b), out, 2, 3, 2, off(0), off(0)), TypeError, 'matmul', "'b'");
    expectError(() => nm(Float64Array.from(a), b, out, 2, 3, 2, off(0), off(0)), TypeError, 'matmul');
    expectError(() => nm(Int32Array.from(a), b, out, 2, 3, 2, off(0), off(0)), TypeError, 'matmul', "'a'");
    expectError(() => nm(a, Int32Array.from(b), out, 2, 3, 2, off(0), off(0)), TypeError, 'matmul', "'b'");
    expectError(() => nm(a, b, new Int32Array(4), 2, 3, 2, off(0), off(0)), TypeError, 'matmul', "'out'");
    expectError(() => nm(Array.from(a), b, out, 2, 3, 2, off(0), off(0)), TypeError, 'matmul');
    expectError(() => nm(a, b, new DataView(out.buffer), 2, 3, 2, off(0), off(0)), TypeError, 'matmul');
    expectError(() => nm(a, b, out, 2, 3, 2, off(0)), TypeError, 'matmul', '8 arguments');
    expectError(() => nm(), TypeError, 'matmul');
    unchanged();
  });

  it('subarrays with a byte offset work and leave the rest of the buffer alone', () => {
    const big = Float32Array.from({ length: 64 }, (_, i) => (i % 7) - 3);
    const a = big.subarray(5, 5 + 6), b = big.subarray(19, 19 + 12);
    const outBuf = new Float32Array(20).fill(-7);
    const out = outBuf.subarray(3, 3 + 8);
    binding.matmul(a, b, out, 2, 3, 4, off(0), off(0));
    expect(Array.from(out)).toEqual(ref.matmul2d(Array.from(a), Array.from(b), 2, 3, 4).data);
    expect([...outBuf.subarray(0, 3), ...outBuf.subarray(11)]).toEqual(new Array(12).fill(-7));
    // views made on the buffer directly, float64, with offsets inside them
    const buf = new ArrayBuffer(8 * 40);
    const A = new Float64Array(buf, 8 * 3, 12), B = new Float64Array(buf, 8 * 17, 6), O = new Float64Array(buf, 8 * 30, 4);
    A.set(Array.from({ length: 12 }, (_, i) => i / 4));
    B.set([1, -2, 3, -4, 5, -6]);
    binding.matmul(A, B, O, 2, 3, 2, off(6), off(0)); // second half of A
    expect(Array.from(O)).toEqual(ref.matmul2d(Array.from(A.subarray(6)), Array.from(B), 2, 3, 2).data);
    // offsets given as subarrays are read from their own start
    const O2 = new Float64Array(4);
    binding.matmul(A, B, O2, 2, 3, 2, new Float64Array([99, 6, 99]).subarray(1, 2), new Float64Array([-5, 0]).subarray(1));
    expect(Array.from(O2)).toEqual(Array.from(O));
  });

  it('an output overlapping an input: RangeError, nothing written', () => {
    const buf = Float32Array.from({ length: 20 }, (_, i) => i);
    const copy = Array.from(buf);
    const a = buf.subarray(0, 6), b = seq(6);
    expectError(() => nm(a, b, a.subarray(0, 4), 2, 3, 2, off(0), off(0)), RangeError, 'matmul', 'overlaps');
    expectError(() => nm(a, b, buf.subarray(4, 8), 2, 3, 2, off(0), off(0)), RangeError, 'matmul', 'overlaps'); // partial
    expectError(() => nm(b, a, buf.subarray(5, 9), 2, 3, 2, off(0), off(0)), RangeError, 'matmul', 'overlaps'); // with b
    const sq = buf.subarray(10, 14);
    expectError(() => nm(sq, sq, sq, 2, 2, 2, off(0), off(0)), RangeError, 'matmul', 'overlaps');
    // an overlap through a second view of the same memory, of another type
    const f64 = new Float64Array(4);
    expectError(() => nm(new Float32Array(f64.buffer, 0, 6), seq(6), new Float32Array(f64.buffer, 16, 4), 2, 3, 2, off(0), off(0)),
      RangeError, 'matmul', 'overlaps');
    expect(Array.from(buf)).toEqual(copy);
    // adjacent but disjoint views of one buffer are fine
    binding.matmul(a, b, buf.subarray(6, 10), 2, 3, 2, off(0), off(0));
    expect(Array.from(buf.subarray(6, 10))).toEqual(ref.matmul2d(copy.slice(0, 6), Array.from(b), 2, 3, 2).data);
  });

  // BUG (native/addon.cc, Matmul): 'out' is checked for overlap with 'a' and 'b'
  // but not with 'aOffsets'/'bOffsets', and the offsets are validated in one loop
  // and then re-read from the (possibly overwritten) array in the GEMM loop. An
  // output that aliases the offsets array lets batch 0 write a new, unchecked
  // offset for batch 1: here offset 100 into 'a', a 2-element view, so the
  // kernel reads big[100] (= 42) outside 'a'. With a larger product the read is
  // arbitrary out-of-bounds memory. Expected: RangeError (out overlaps
  // aOffsets), or offsets copied before use (out = [1, 100, 1, 100]).
  // Got: no error and out = [1, 100, 42, 4200].
  it('out aliasing the offsets array computes what was validated (offsets are copied before any write)', () => {
    const big = new Float64Array(200);
    big[0] = 1;
    big[100] = 42;
    const a = big.subarray(0, 2); // m = k = 1: one element per batch
    const b = Float64Array.from([1, 100]); // k = 1, n = 2
    const shared = new Float64Array(4); // out for 2 batches of 1x2 ...
    const aOffsets = shared.subarray(0, 2); // ... and, at the same time, the offsets [0, 0]
    let err: unknown;
    try {
      binding.matmul(a, b, shared, 1, 1, 2, aOffsets, off(0, 0));
    } catch (e) {
      err = e;
    }
    if (err === undefined) {
      // If accepted, it must compute what was validated: both batches use offset 0.
      expect(Array.from(shared)).toEqual([1, 100, 1, 100]);
    } else {
      expect(err).toBeInstanceOf(RangeError);
    }
  });
});

describe('native conv2d(x, w, bias, out, n, c, h, w, cout, kh, kw, sH, sW, pTop, pBottom, pLeft, pRight, dH, dW, groups)', () => {
  const nc = (...args: unknown[]): unknown => (binding.conv2d as AnyFn)(...args);
  // A valid configuration: x 2x2x5x4 (80), weight 3x2x3x2 (36), out 2x3x3x3 (54); no padding, stride 1.
  const x = Float32Array.from({ length: 80 }, (_, i) => (i % 5) - 2);
  const w = Float32Array.from({ length: 36 }, (_, i) => (i % 3) - 1);
  const bias = Float32Array.from([0.5, -1, 2]);
  const dims = [2, 2, 5, 4, 3, 3, 2, 1, 1, 0, 0, 0, 0, 1, 1, 1];
  const expected = ref.conv2d(Array.from(x), [2, 2, 5, 4], Array.from(w), [3, 2, 3, 2], { bias: Array.from(bias) }).data;

  it('a valid call matches the reference; null and undefined bias both mean none', () => {
    const out = new Float32Array(54);
    nc(x, w, bias, out, ...dims);
    expect(Array.from(out)).toEqual(expected);
    const noBias = ref.conv2d(Array.from(x), [2, 2, 5, 4], Array.from(w), [3, 2, 3, 2]).data;
    nc(x, w, null, out, ...dims);
    expect(Array.from(out)).toEqual(noBias);
    out.fill(9);
    nc(x, w, undefined, out, ...dims);
    expect(Array.from(out)).toEqual(noBias);
  });

  it('sizes that lie about the arrays: RangeError, out unchanged', () => {
    const { out, unchanged } = sentinel(new Float32Array(54));
    const variants: Array<[number, number, string]> = [
      [0, 3, 'input'], // n = 3: input too short
      [1, 3, 'input'], // c = 3
      [2, 6, 'input'], // h = 6
      [4, 4, 'weight'], // cout = 4 (bias and out too short as well)
      [5, 2, 'weight'], // kh = 2: weight too long (and out too short)
    ];
    for (const [i, v, name] of variants) {
      const d = [...dims];
      d[i] = v;
      expectError(() => nc(x, w, bias, out, ...d), RangeError, 'conv2d', name);
    }
    expectError(() => nc(x, w, Float32Array.from([1, 2]), out, ...dims), RangeError, 'conv2d', 'bias');
    expectError(() => nc(x, w, bias, new Float32Array(53), ...dims), RangeError, 'conv2d', 'out');
    expectError(() => nc(x.subarray(1), w, bias, out, ...dims), RangeError, 'conv2d', 'input');
    // kernel larger than the padded input
    expectError(() => nc(new Float32Array(4), new Float32Array(9), null, out, 1, 1, 2, 2, 1, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1), RangeError, 'conv2d');
    unchanged();
  });

  it('negative, NaN, fractional, infinite sizes; zero kernel or stride: RangeError; non-numbers TypeError', () => {
    const { out, unchanged } = sentinel(new Float32Array(54));
    for (let i = 0; i < dims.length; i++) {
      for (const bad of [-1, NaN, 0.5, Infinity, -Infinity, 2 ** 60]) {
        const d = [...dims];
        d[i] = bad;
        expectError(() => nc(x, w, bias, out, ...d), RangeError, 'conv2d');
      }
      const d = [...dims];
      d[i] = String(dims[i]) as unknown as number;
      expectError(() => nc(x, w, bias, out, ...d), TypeError, 'conv2d');
    }
    for (const i of [5, 6, 7, 8, 13, 14, 15]) { // kh, kw, strideH, strideW, dilationH, dilationW, groups must be >= 1
      const d = [...dims];
      d[i] = 0;
      expectError(() => nc(x, w, bias, out, ...d), RangeError, 'conv2d', '>= 1');
    }
    // sizes whose products overflow
    expectError(() => nc(x, w, bias, out, 1, 1, 2 ** 40, 2 ** 40, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1), RangeError, 'conv2d');
    expectError(() => nc(x, w, bias, out, ...dims.slice(0, 9), 2 ** 50, 2 ** 50, ...dims.slice(11)), RangeError, 'conv2d');
    unchanged();
  });

  it('wrong array types or argument count: TypeError, out unchanged', () => {
    const { out, unchanged } = sentinel(new Float32Array(54));
    const out64 = sentinel(new Float64Array(54));
    expectError(() => nc(x, w, bias, out64.out, ...dims), TypeError, 'conv2d', "'out'");
    out64.unchanged();
    expectError(() => nc(x, Float64Array.from(w), bias, out, ...dims), TypeError, 'conv2d', "'weight'");
    expectError(() => nc(x, w, Float64Array.from(bias), out, ...dims), TypeError, 'conv2d', "'bias'");
    expectError(() => nc(Int32Array.from(x), w, bias, out, ...dims), TypeError, 'conv2d', "'input'");
    expectError(() => nc(x, w, Int32Array.from(bias), out, ...dims), TypeError, 'conv2d', "'bias'");
    expectError(() => nc(x, w, [0.5, -1, 2], out, ...dims), TypeError, 'conv2d', "'bias'");
    expectError(() => nc(x, w, 0, out, ...dims), TypeError, 'conv2d', "'bias'");
    expectError(() => nc(x, w, bias, Array.from(out), ...dims), TypeError, 'conv2d', "'out'");
    expectError(() => nc(x, w, bias, out, ...dims.slice(1)), TypeError, 'conv2d', '20 arguments');
    unchanged();
  });

  it('subarrays with a byte offset work', () => {
    const X = new Float32Array(90);
    X.set(x, 7);
    const W = new Float32Array(40);
    W.set(w, 3);
    const B = new Float32Array(5);
    B.set(bias, 1);
    const O = new Float32Array(60).fill(-9);
    nc(X.subarray(7, 87), W.subarray(3, 39), B.subarray(1, 4), O.subarray(4, 58), ...dims);
    expect(Array.from(O.subarray(4, 58))).toEqual(expected);
    expect([...O.subarray(0, 4), ...O.subarray(58)]).toEqual(new Array(6).fill(-9));
  });

  it('an output overlapping the input, weight or bias: RangeError, nothing written', () => {
    const buf = new Float32Array(200);
    buf.set(x, 0);
    buf.set(w, 80);
    buf.set(bias, 116);
    const copy = Array.from(buf);
    const X = buf.subarray(0, 80), W = buf.subarray(80, 116), B = buf.subarray(116, 119);
    expectError(() => nc(X, W, B, buf.subarray(0, 54), ...dims), RangeError, 'conv2d', 'overlaps', 'input');
    expectError(() => nc(X, W, B, buf.subarray(79, 133), ...dims), RangeError, 'conv2d', 'overlaps');
    expectError(() => nc(X, W, B, buf.subarray(115, 169), ...dims), RangeError, 'conv2d', 'overlaps', 'weight');
    expectError(() => nc(X, W, B, buf.subarray(118, 172), ...dims), RangeError, 'conv2d', 'overlaps', 'bias');
    expectError(() => nc(X, X.subarray(0, 36), B, X.subarray(10, 64), ...dims), RangeError, 'conv2d', 'overlaps');
    expect(Array.from(buf)).toEqual(copy);
    // right after the bias: fine; and the weight may overlap the input (both are only read)
    nc(X, W, B, buf.subarray(119, 173), ...dims);
    expect(Array.from(buf.subarray(119, 173))).toEqual(expected);
    const out = new Float32Array(54);
    nc(X, buf.subarray(44, 80), B, out, ...dims);
    expect(Array.from(out)).toEqual(ref.conv2d(Array.from(x), [2, 2, 5, 4], copy.slice(44, 80), [3, 2, 3, 2], { bias: Array.from(bias) }).data);
  });
});

describe('ntensor over a SharedArrayBuffer', () => {
  // BUG (native/addon.cc, getArray): Napi::TypedArray::ArrayBuffer().Data()
  // fails for a typed array on a SharedArrayBuffer, and the failure surfaces as
  // a bare `Error: Invalid argument` (no op name, not TypeError/RangeError).
  // fromTypedArray accepts such arrays, so matmul/conv2d on them throw that.
  // Expected: either the correct result, or a TypeError naming the op.
  it('SharedArrayBuffer-backed arrays are refused with a TypeError, by fromTypedArray, new Tensor and the binding', () => {
    const s = new Float32Array(new SharedArrayBuffer(16));
    s.set([1, 2, 3, 4]);
    expectError(() => fromTypedArray(s, [2, 2]), TypeError, 'fromTypedArray', 'SharedArrayBuffer');
    // new Tensor too: else a d2l-size matmul (run in JS) took one that the
    // native kernels and the async twins refuse.
    expectError(() => new Tensor(s, [2, 2]), TypeError, 'Tensor', 'SharedArrayBuffer');
    expect(Array.from(tensor(s).data)).toEqual([1, 2, 3, 4]);
    const out = new Float32Array(4);
    expectError(() => binding.matmul(s, Float32Array.from([1, 2, 3, 4]), out, 2, 2, 2, off(0), off(0)), TypeError, 'matmul', "'a'", 'SharedArrayBuffer');
    expect(Array.from(out)).toEqual([0, 0, 0, 0]);
  });
});

describe('the raw binding where a fuzz of it under ASan and UBSan found gaps', () => {
  type Resizable = ArrayBuffer & { resize(n: number): void };
  const resizable = (bytes: number): Resizable =>
    new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => Resizable)(bytes, { maxByteLength: bytes });

  it('async calls refuse typed arrays on a resizable ArrayBuffer (shrinking one while its job ran killed the process)', async () => {
    const s0 = binding._asyncStats();
    const out = new Float32Array(resizable(256));
    const x = new Float32Array(resizable(256));
    const m = (a: Float32Array, o: Float32Array): Promise<boolean> => binding.matmulAsync(null, a, new Float32Array(64), o, 8, 8, 8, off(0), off(0));
    expectError(() => m(new Float32Array(64), out), TypeError, 'matmul', 'resizable');
    expectError(() => m(x, new Float32Array(64)), TypeError, 'matmul', 'resizable');
    const c = (input: Float32Array, o: Float32Array): Promise<boolean> =>
      binding.conv2dAsync(null, input, new Float32Array(9), null, o, 1, 1, 8, 8, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    expectError(() => c(x, new Float32Array(64)), TypeError, 'conv2d', 'resizable');
    expectError(() => c(new Float32Array(64), out), TypeError, 'conv2d', 'resizable');
    expectError(() => binding.maxPool2dAsync(null, x, new Float32Array(16), 1, 1, 8, 8, 2, 2, 2, 2, 0, 0, 1, 1, false, true, 0),
      TypeError, 'maxPool2d', 'resizable');
    expect(binding._asyncStats().queued).toBe(s0.queued); // nothing was queued
    // The sync calls take them: JS cannot resize a buffer while they run.
    binding.matmul(x, new Float32Array(64), new Float32Array(64), 8, 8, 8, off(0), off(0));
    // And the wrong argument counts name the async call's own.
    expectError(() => (binding.matmulAsync as AnyFn)(null), TypeError, 'matmul: expected 9 arguments');
    expectError(() => (binding.conv2dAsync as AnyFn)(null), TypeError, 'conv2d: expected 21 to 23 arguments');
  });

  it('conv2d and pooling refuse images with channels but no pixels, as the public API (the kernels indexed into an empty input)', () => {
    // 1 image, 4 channels, 3 x 0 pixels, padding 2: an output of 16 x 3 x 1 from padding alone.
    const out = new Float64Array(48).fill(7);
    expectError(() => binding.conv2d(new Float64Array(0), new Float64Array(16 * 4 * 9), null, out, 1, 4, 3, 0, 16, 3, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1),
      RangeError, 'conv2d', "'input'", 'no pixels');
    expect(out.every((v) => v === 7)).toBe(true);
    // No images, or no channels: still fine (nothing to read).
    binding.conv2d(new Float64Array(0), new Float64Array(16 * 4 * 9), null, new Float64Array(0), 0, 4, 3, 0, 16, 3, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1);
    const pooled = new Float32Array(1).fill(7);
    for (const fn of [binding.avgPool2d, binding.maxPool2d]) {
      expectError(() => fn(new Float32Array(0), pooled, 1, 1, 0, 1, 2, 1, 2, 1, 1, 0, 1, 1, true, false, 0), RangeError, 'Pool2d', "'input'", 'no pixels');
    }
    expect(pooled[0]).toBe(7);
  });

  it('conv2d refuses an out inside the packed weights it reads (it wrote into them, and later calls used the damage)', () => {
    const w = new Float32Array(64 * 640 * 9).map((_, i) => Math.sin(i));
    const x = new Float32Array(640 * 49).map((_, i) => Math.cos(i));
    const sizes = new Float64Array([1, 640, 7, 7, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    const packed = binding.conv2dPack(w, 64, 5760, 1);
    const want = new Float32Array(64 * 49);
    binding.conv2d(x, w, null, want, sizes);
    if (packed === null) return; // no packing on this ISA
    const before = new Uint8Array(packed).slice();
    expectError(() => binding.conv2d(x, w, null, new Float32Array(packed, 64, 64 * 49), sizes, packed), RangeError, 'conv2d', "'packed'");
    expect(Buffer.compare(new Uint8Array(packed), before)).toBe(0);
    const got = new Float32Array(64 * 49);
    binding.conv2d(x, w, null, got, sizes, packed);
    expect(Buffer.compare(Buffer.from(got.buffer), Buffer.from(want.buffer))).toBe(0);
    const wino = binding.conv2dWinogradPack(w, 64, 640, 1);
    if (wino !== null) {
      expectError(() => binding.conv2d(x, w, null, new Float32Array(wino, 64, 64 * 49), sizes, null, wino), RangeError, 'conv2d', "'winograd'");
    }
  });
});
