// Hard inputs through the public API: zero-size dimensions, NaN and Infinity,
// sizes that overflow or are not sizes, subarrays and detached buffers.
//
// Expected shapes and values were checked once with PyTorch 1.13
// (/usr/bin/python3, torch.matmul, torch.nn.functional.conv2d, sum/mean,
// stack/cat, elementwise ops); they are written out here, so the test does not
// need PyTorch. Where ntensor deliberately differs from PyTorch 1.13 the
// comment says so.
import { describe, expect, it } from 'vitest';

import {
  Tensor, add, cat, conv2d, div, fromTypedArray, full, matmul, mean, mul, normal, ones, rand, stack, sub, sum, tensor,
  transpose, zeros,
} from '../lib/index';

type DT = 'float32' | 'float64';
const DTYPES: DT[] = ['float32', 'float64'];
const inf = Infinity;

/** Runs f, expects exactly `cls`, and every fragment in the message. */
function expectError(f: () => unknown, cls: typeof TypeError | typeof RangeError, ...fragments: string[]): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a throw').toBeInstanceOf(Error);
  expect((err as Error).constructor.name, (err as Error).message).toBe(cls.name);
  for (const frag of fragments) expect((err as Error).message).toContain(frag);
}

/** Shape, dtype and elements (NaN equals NaN; -0 and +0 are distinguished, as PyTorch prints them). */
function expectTensor(t: Tensor, shape: number[], values: number[] | null, dtype?: DT): void {
  expect(t).toBeInstanceOf(Tensor);
  expect([...t.shape]).toEqual(shape);
  if (dtype) expect(t.dtype).toBe(dtype);
  if (values !== null) expect(Array.from(t.data)).toEqual(values);
}

/** Runs f and expects it to take well under a second (a dim of 2^40 next to a 0 must cost nothing). */
function quick<T>(f: () => T): T {
  const t0 = performance.now();
  const r = f();
  expect(performance.now() - t0).toBeLessThan(1000);
  return r;
}

const T = (rows: number[][], dtype: DT = 'float32'): Tensor => tensor(rows, { dtype });

describe('zero-size dimensions (shapes and values as PyTorch 1.13 gives them)', () => {
  // [a shape, b shape, result shape, result value (every element) or null for empty]
  const MATMUL: Array<[number[], number[], number[], number | null]> = [
    [[0, 3], [3, 4], [0, 4], null],
    [[2, 0], [0, 4], [2, 4], 0], // k = 0: zeros
    [[2, 3], [3, 0], [2, 0], null],
    [[0, 0], [0, 0], [0, 0], null],
    [[0, 2, 3], [3, 4], [0, 2, 4], null], // batch 0
    [[2, 0, 3], [2, 3, 4], [2, 0, 4], null],
    [[5, 0, 2, 3], [3, 4], [5, 0, 2, 4], null],
    [[0], [0], [], 0], // dot product of empties: 0-d zero
    [[0], [0, 4], [4], 0],
    [[3, 0], [0], [3], 0],
    [[2, 1, 0, 3], [4, 3, 5], [2, 4, 0, 5], null], // broadcast batch with a 0 in the matrix dims
    [[0, 3], [3], [0], null],
  ];
  for (const dtype of DTYPES) {
    it(`matmul with m, k, n or batch = 0 (${dtype})`, () => {
      for (const [as, bs, rs, v] of MATMUL) {
        // NaN inputs: with k = 0 the result is still exactly 0, as in PyTorch.
        const r = matmul(full(as, NaN, { dtype }), full(bs, NaN, { dtype }));
        const n = rs.reduce((x, y) => x * y, 1);
        expectTensor(r, rs, v === null ? [] : new Array(n).fill(v), dtype);
      }
    });
  }

  it('matmul: a huge dim next to a zero costs nothing (PyTorch: [2^40, 0, 3] and [0, 2^40])', () => {
    expectTensor(quick(() => matmul(zeros([2 ** 40, 0, 2]), zeros([2, 3]))), [2 ** 40, 0, 3], []);
    expectTensor(quick(() => matmul(zeros([0, 0]), zeros([0, 2 ** 40]))), [0, 2 ** 40], []);
    expectTensor(quick(() => matmul(zeros([2 ** 30, 1, 0]), zeros([0, 0]))), [2 ** 30, 1, 0], []);
  });

  for (const dtype of DTYPES) {
    it(`conv2d with batch 0, also with bias, stride and padding (${dtype})`, () => {
      expectTensor(conv2d(ones([0, 3, 5, 5], { dtype }), ones([2, 3, 3, 3], { dtype })), [0, 2, 3, 3], [], dtype);
      expectTensor(conv2d(ones([0, 3, 5, 5], { dtype }), ones([2, 3, 3, 3], { dtype }), { bias: ones([2], { dtype }), stride: 2, padding: 1 }),
        [0, 2, 3, 3], [], dtype);
      // batch 0 with a huge image (PyTorch: [0, 2, 1048574, 1048574])
      expectTensor(quick(() => conv2d(zeros([0, 3, 2 ** 20, 2 ** 20], { dtype }), zeros([2, 3, 3, 3], { dtype }))), [0, 2, 2 ** 20 - 2, 2 ** 20 - 2], [], dtype);
    });
  }

  it('conv2d with 0 output channels: PyTorch 1.13\'s error', () => {
    // PyTorch: RuntimeError "Given groups=1, expected weight to be at least 1 at dimension 0".
    const msg = /^conv2d: Given groups=1, expected weight to be at least 1 at dimension 0, but got weight of size \[0, 3, [31], [31]\] instead$/;
    expect(() => conv2d(ones([1, 3, 5, 5]), ones([0, 3, 3, 3]))).toThrow(msg);
    expect(() => conv2d(ones([1, 3, 5, 5]), ones([0, 3, 3, 3]), { bias: zeros([0]) })).toThrow(msg);
    expect(() => conv2d(ones([3, 5, 5]), ones([0, 3, 1, 1]))).toThrow(msg);
    expect(() => quick(() => conv2d(zeros([2 ** 40, 0, 1, 1]), zeros([0, 0, 1, 1])))).toThrow(RangeError);
  });

  it('conv2d with 0 input channels: PyTorch 1.13\'s [2, 0, 3, 3] (no output channels), bias or not', () => {
    // PyTorch's calc_output_size sets the channels to 0 when the input has
    // none ("Handle empty # of channels"). Earlier versions of ntensor kept
    // the weight's 4 channels, all bias.
    expectTensor(conv2d(ones([2, 0, 5, 5]), ones([4, 0, 3, 3]), { bias: tensor([1, 2, 3, 4]) }), [2, 0, 3, 3], []);
    expectTensor(conv2d(ones([0, 5, 5], { dtype: 'float64' }), ones([4, 0, 3, 3], { dtype: 'float64' })), [0, 3, 3], [], 'float64');
  });

  for (const dtype of DTYPES) {
    it(`reductions of empty tensors: sum gives 0, mean NaN (${dtype})`, () => {
      expectTensor(sum(zeros([0], { dtype })), [], [0], dtype);
      expectTensor(mean(zeros([0], { dtype })), [], [NaN], dtype);
      const e = zeros([0, 3], { dtype });
      expectTensor(e.sum(), [], [0], dtype);
      expectTensor(e.mean(), [], [NaN], dtype);
      expectTensor(e.sum(0), [3], [0, 0, 0], dtype);
      expectTensor(e.sum(1), [0], [], dtype);
      expectTensor(e.mean(0), [3], [NaN, NaN, NaN], dtype);
      expectTensor(e.mean(1), [0], [], dtype);
      expectTensor(e.sum(0, true), [1, 3], [0, 0, 0], dtype);
      expectTensor(e.mean(0, true), [1, 3], [NaN, NaN, NaN], dtype);
      expectTensor(e.sum([0, 1], true), [1, 1], [0], dtype);
      expectTensor(e.mean([0, 1], true), [1, 1], [NaN], dtype);
      // max/min of an empty tensor: PyTorch's "Expected reduction dim to be specified" error
      expectError(() => e.max(), RangeError, 'max', 'numel() == 0');
      expectError(() => e.min(), RangeError, 'min', 'numel() == 0');
    });
  }

  it('reductions keep a huge dim next to a zero cheap: [2^40, 0].sum(0) is [0]', () => {
    expectTensor(quick(() => zeros([2 ** 40, 0]).sum(0)), [0], []);
    expectTensor(quick(() => zeros([2 ** 40, 0]).sum()), [], [0]);
    // (sum(1) would be 2^40 zeros: a RangeError naming the op, as no engine can allocate it)
    expectError(() => zeros([2 ** 40, 0]).sum(1), RangeError, 'sum:');
  });

  it('stack and cat of empties', () => {
    expectTensor(stack([zeros([0]), zeros([0])]), [2, 0], []);
    expectTensor(stack([zeros([0, 3]), zeros([0, 3])], 1), [0, 2, 3], []);
    expectTensor(cat([zeros([0, 3]), ones([2, 3])]), [2, 3], [1, 1, 1, 1, 1, 1]);
    expectTensor(cat([zeros([0, 3]), zeros([0, 3])], 1), [0, 6], []);
    expectTensor(cat([zeros([0]), ones([3])]), [3], [1, 1, 1]);
    // huge dims next to a zero (PyTorch: [2^40, 2, 0], [2^40, 0], [0, 2^40])
    expectTensor(quick(() => stack([zeros([2 ** 40, 0]), zeros([2 ** 40, 0])], 1)), [2 ** 40, 2, 0], []);
    expectTensor(quick(() => cat([zeros([2 ** 40, 0]), zeros([2 ** 40, 0])], 1)), [2 ** 40, 0], []);
    expectTensor(quick(() => transpose(zeros([2 ** 40, 0]), 0, 1)), [0, 2 ** 40], []);
    expectTensor(quick(() => zeros([0, 2 ** 40]).T), [2 ** 40, 0], []);
    expectTensor(quick(() => transpose(zeros([2 ** 30, 0, 2]), 0, 2)), [2, 0, 2 ** 30], []);
  });

  it('elementwise ops and reshape on empties', () => {
    expectTensor(add(zeros([0, 3]), ones([3])), [0, 3], []);
    expectTensor(mul(zeros([2, 1, 3]), ones([0, 1])), [2, 0, 3], []);
    expectTensor(zeros([0, 3]).neg(), [0, 3], []);
    expectTensor(zeros([0, 3]).reshape(3, 0), [3, 0], []);
    expectTensor(zeros([0, 3]).reshape(-1), [0], []);
    expectTensor(zeros([0, 3]).T, [3, 0], []);
    expectTensor(quick(() => add(zeros([2 ** 40, 0]), ones([1]))), [2 ** 40, 0], []);
    // PyTorch: "cannot reshape tensor of 0 elements into shape [-1, 0] ... ambiguous"
    expectError(() => zeros([0, 3]).reshape(-1, 0), RangeError, 'reshape');
  });

  it('printing empties as PyTorch does', () => {
    expect(String(zeros([0, 3]))).toBe('tensor([], size=(0, 3))');
    expect(String(zeros([2 ** 40, 0]))).toBe('tensor([], size=(1099511627776, 0))');
  });
});

describe('NaN and Infinity propagate as IEEE arithmetic does (values from PyTorch 1.13)', () => {
  for (const dtype of DTYPES) {
    it(`matmul (${dtype})`, () => {
      const I = T([[1, 0], [0, 1]], dtype);
      expectTensor(matmul(T([[1, inf], [0, 2]], dtype), I), [2, 2], [NaN, inf, 0, 2]); // inf * 0 in the sum
      expectTensor(matmul(T([[inf, 1]], dtype), T([[0], [1]], dtype)), [1, 1], [NaN]);
      expectTensor(matmul(T([[inf, -inf]], dtype), T([[1], [1]], dtype)), [1, 1], [NaN]);
      expectTensor(matmul(T([[NaN, 1]], dtype), T([[0], [0]], dtype)), [1, 1], [NaN]);
      expectTensor(matmul(T([[inf, 2]], dtype), T([[3], [1]], dtype)), [1, 1], [inf]);
      expectTensor(matmul(T([[-inf, 2], [1, 1]], dtype), T([[3, 1], [1, 1]], dtype)), [2, 2], [-inf, -inf, 4, 2]);
      // overflow: float32 gives inf, float64 the sum
      expectTensor(matmul(T([[1e38, 1e38]], dtype), T([[10], [10]], dtype)), [1, 1], [dtype === 'float32' ? inf : 2e39]);
      // batched and 1-D paths too
      expectTensor(matmul(tensor([inf, 1], { dtype }), tensor([0, 1], { dtype })), [], [NaN]);
      expectTensor(matmul(full([3, 1, 2], NaN, { dtype }), ones([2, 2], { dtype })), [3, 1, 2], new Array(6).fill(NaN));
    });

    it(`conv2d: NaN and Infinity in the input and the weight (${dtype})`, () => {
      const x = zeros([1, 1, 3, 3], { dtype });
      x.data[4] = inf; // centre
      expectTensor(conv2d(x, ones([1, 1, 2, 2], { dtype })), [1, 1, 2, 2], [inf, inf, inf, inf]);
      const y = zeros([1, 1, 3, 3], { dtype });
      y.data[0] = NaN; // corner: only the windows that cover it
      expectTensor(conv2d(y, ones([1, 1, 2, 2], { dtype })), [1, 1, 2, 2], [NaN, 0, 0, 0]);
      // 0 * inf = NaN everywhere
      expectTensor(conv2d(zeros([1, 1, 2, 2], { dtype }), full([1, 1, 1, 1], inf, { dtype })), [1, 1, 2, 2], [NaN, NaN, NaN, NaN]);
      // -inf and +inf in one window
      const z = ones([1, 1, 2, 2], { dtype });
      z.data[0] = -inf;
      z.data[3] = inf;
      expectTensor(conv2d(z, ones([1, 1, 2, 2], { dtype })), [1, 1, 1, 1], [NaN]);
      // a NaN bias
      expectTensor(conv2d(ones([1, 1, 2, 2], { dtype }), ones([1, 1, 1, 1], { dtype }), { bias: full([1], NaN, { dtype }) }), [1, 1, 2, 2], [NaN, NaN, NaN, NaN]);
    });

    // Products on the zero padding are computed as fma(0, w, acc), as
    // PyTorch's im2col does, so a non-finite weight there gives NaN. PyTorch
    // 1.13 (float32 and float64): conv2d(ones(1,1,2,2), w = ones(1,1,3,3) with
    // w[0,0,0,0] = inf, padding=1) = [[nan, nan], [nan, inf]].
    it(`conv2d: an infinite weight on the zero padding gives NaN, as 0 * inf does (${dtype})`, () => {
      const w = ones([1, 1, 3, 3], { dtype });
      w.data[0] = inf;
      expectTensor(conv2d(ones([1, 1, 2, 2], { dtype }), w, { padding: 1 }), [1, 1, 2, 2], [NaN, NaN, NaN, inf]);
    });

    it(`elementwise ops (${dtype})`, () => {
      const a = tensor([inf, -inf, NaN, 0, 1], { dtype }), b = tensor([inf, inf, 1, 0, 0], { dtype });
      expectTensor(add(a, b), [5], [inf, NaN, NaN, 0, 1]);
      expectTensor(sub(a, b), [5], [NaN, -inf, NaN, 0, 1]);
      expectTensor(mul(a, b), [5], [inf, -inf, NaN, 0, 0]);
      expectTensor(div(a, b), [5], [NaN, NaN, NaN, NaN, inf]);
      expectTensor(a.neg(), [5], [-inf, inf, NaN, -0, -1]);
      expectTensor(a.abs(), [5], [inf, inf, NaN, 0, 1]);
      expectTensor(a.mul(0), [5], [NaN, NaN, NaN, 0, 0]);
      expectTensor(a.add(tensor([[1], [2]], { dtype })), [2, 5], [inf, -inf, NaN, 1, 2, inf, -inf, NaN, 2, 3]); // broadcast
    });

    it(`sum, mean, max, min (${dtype})`, () => {
      expectTensor(tensor([inf, -inf], { dtype }).sum(), [], [NaN]);
      expectTensor(tensor([inf, 1], { dtype }).sum(), [], [inf]);
      expectTensor(tensor([NaN, inf], { dtype }).sum(), [], [NaN]);
      expectTensor(tensor([inf, 1], { dtype }).mean(), [], [inf]);
      expectTensor(tensor([[inf, -inf], [1, NaN]], { dtype }).sum(1), [2], [NaN, NaN]);
      expectTensor(tensor([[inf, 1], [1, 2]], { dtype }).sum(0), [2], [inf, 3]);
      // float32 overflow: inf; float64: the sum
      expectTensor(tensor([3e38, 3e38], { dtype }).sum(), [], [dtype === 'float32' ? inf : 6e38]);
      expectTensor(tensor([1, NaN, 3], { dtype }).max(), [], [NaN]);
      expectTensor(tensor([1, NaN, 3], { dtype }).min(), [], [NaN]);
      expectTensor(tensor([-inf, inf], { dtype }).max(), [], [inf]);
      expectTensor(tensor([-inf, inf], { dtype }).min(), [], [-inf]);
    });
  }
});

describe('sizes that overflow or are not sizes: RangeError/TypeError naming the argument', () => {
  const BAD_DIMS: Array<[number[], string]> = [
    [[2 ** 53], 'shape[0]'],
    [[0, 2 ** 53], 'shape[1]'],
    [[-1], 'shape[0]'],
    [[3, -0.5], 'shape[1]'],
    [[NaN], 'shape[0]'],
    [[1.5, 2], 'shape[0]'],
    [[2, Infinity], 'shape[1]'],
    [[-Infinity], 'shape[0]'],
  ];
  const OVERFLOWING: number[][] = [
    [2 ** 31, 2 ** 31], // 2^62
    [2 ** 40, 2 ** 40, 0], // overflows before the 0, as in PyTorch ("Storage size calculation overflowed")
    [2 ** 53 - 1, 2, 0],
    new Array(25).fill(2 ** 53 - 1).concat([0]), // never Infinity * 0 = NaN
  ];
  const MAKERS: Array<[string, (s: number[]) => unknown]> = [
    ['zeros', (s) => zeros(s)],
    ['ones', (s) => ones(s)],
    ['full', (s) => full(s, 1)],
    ['rand', (s) => rand(s)],
    ['normal', (s) => normal(0, 1, s)],
    ['fromTypedArray', (s) => fromTypedArray(new Float32Array(0), s)],
  ];

  it('zeros, ones, full, rand, normal, fromTypedArray', () => {
    for (const [op, make] of MAKERS) {
      for (const [dims, name] of BAD_DIMS) expectError(() => make(dims), RangeError, `${op}:`, name);
      for (const dims of OVERFLOWING) expectError(() => make(dims), RangeError, `${op}:`, 'shape', 'overflows');
      expectError(() => make([2 ** 20, 2 ** 20]), RangeError, `${op}:`, 'more than'); // 2^40 elements
      expectError(() => make(['2'] as never), TypeError, `${op}:`, 'shape[0]', "'2'"); // not a number: TypeError, as torch
      expectError(() => make(6 as never), TypeError, `${op}:`, 'shape');
      // the largest sizes that do fit, next to a 0
      expectTensor(make([0, 2 ** 53 - 1]) as Tensor, [0, 2 ** 53 - 1], []);
      expectTensor(make([2 ** 53 - 1, 0]) as Tensor, [2 ** 53 - 1, 0], []);
    }
    expectError(() => fromTypedArray(new Float32Array(6), [2 ** 31, 3]), RangeError, 'fromTypedArray', 'more than');
  });

  it('reshape', () => {
    const t = zeros([6]);
    expectError(() => t.reshape(2 ** 31, 3), RangeError, 'reshape', '[2147483648, 3]', 'input of size 6');
    expectError(() => t.reshape(2 ** 53), RangeError, 'reshape', 'shape[0]');
    expectError(() => t.reshape(2, NaN), RangeError, 'reshape', 'shape[1]');
    expectError(() => t.reshape(1.5, 4), RangeError, 'reshape', 'shape[0]');
    expectError(() => t.reshape(Infinity), RangeError, 'reshape', 'shape[0]');
    expectError(() => t.reshape(-2, -3), RangeError, 'reshape', 'shape[0]');
    expectError(() => t.reshape('6' as never), RangeError, 'reshape', "'6'");
    expectError(() => t.reshape(-1, 2 ** 53), RangeError, 'reshape', 'shape[1]');
    expectError(() => zeros([0]).reshape(2 ** 40, 2 ** 40, 0), RangeError, 'reshape', 'overflows');
    expectError(() => zeros([0]).reshape(new Array(25).fill(2 ** 53 - 1).concat([0])), RangeError, 'reshape', 'overflows');
    expectTensor(zeros([0]).reshape(2 ** 53 - 1, 0), [2 ** 53 - 1, 0], []);
    expectTensor(t.view(-1, 3), [2, 3], [0, 0, 0, 0, 0, 0]);
  });

  it('tensor()', () => {
    expectError(() => tensor({ length: 2 ** 53 } as never), TypeError, 'tensor');
    expectError(() => tensor(new Array(3) as never), TypeError, 'tensor'); // holes are not numbers
    expectError(() => tensor([[1, 2], [3]]), RangeError, 'tensor', 'length 2');
    expectError(() => tensor([1, 2n] as never), TypeError, 'tensor');
    expectError(() => tensor(new BigInt64Array(2) as never), TypeError, 'tensor');
    expectTensor(tensor([[[]]]), [1, 1, 0], []);
    expectTensor(tensor(new Int16Array([1, -2])), [2], [1, -2], 'float32');
  });

  it('an allocation the engine refuses names the op', () => {
    // 2^32 float64 elements (32 GiB) is within ntensor's element limit, but no
    // ArrayBuffer that large can be made here. Either it is refused with the
    // op named, or (on a machine that can) it succeeds.
    let err: unknown;
    try {
      zeros([2 ** 32], { dtype: 'float64' });
    } catch (e) {
      err = e;
    }
    if (err !== undefined) {
      expect(err).toBeInstanceOf(RangeError);
      expect((err as Error).message).toContain('zeros: cannot allocate');
    }
  });
});

describe('subarrays and detached buffers', () => {
  it('fromTypedArray over a subarray with a byte offset: no copy, correct results through every op', () => {
    const buf = new Float32Array([99, 1, 2, 3, 4, 5, 6, 99]);
    const x = fromTypedArray(buf.subarray(1, 7), [2, 3]);
    expect(x.data.byteOffset).toBe(4);
    expectTensor(matmul(x, ones([3, 1])), [2, 1], [6, 15]);
    expectTensor(matmul(ones([1, 2]), x), [1, 3], [5, 7, 9]);
    expectTensor(x.sum(0), [3], [5, 7, 9]);
    expectTensor(x.add(1), [2, 3], [2, 3, 4, 5, 6, 7]);
    expectTensor(x.T, [3, 2], [1, 4, 2, 5, 3, 6]);
    expectTensor(cat([x, x]), [4, 3], [1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6]);
    const img = fromTypedArray(new Float64Array([7, 1, 2, 3, 4, 7]).subarray(1, 5), [1, 1, 2, 2]);
    expectTensor(conv2d(img, ones([1, 1, 2, 2], { dtype: 'float64' })), [1, 1, 1, 1], [10], 'float64');
    // a view made on the ArrayBuffer directly
    const ab = new ArrayBuffer(64);
    const v = new Float64Array(ab, 16, 4);
    v.set([1, 2, 3, 4]);
    expectTensor(matmul(fromTypedArray(v, [2, 2]), fromTypedArray(v, [2, 2])), [2, 2], [7, 10, 15, 22], 'float64');
    // the tensor shares the memory
    buf[1] = 10;
    expect(x.data[0]).toBe(10);
    expect(Array.from(buf)).toEqual([99, 10, 2, 3, 4, 5, 6, 99]); // nothing written around the view
  });

  const detached = (n: number): Float32Array => {
    const ab = new ArrayBuffer(4 * n);
    const a = new Float32Array(ab);
    structuredClone(ab, { transfer: [ab] });
    return a;
  };

  it('a detached buffer given to fromTypedArray or tensor(): TypeError', () => {
    expectError(() => fromTypedArray(detached(6), [2, 3]), TypeError, 'fromTypedArray', 'detached');
    expectError(() => fromTypedArray(detached(6)), TypeError, 'fromTypedArray', 'detached');
    expectError(() => fromTypedArray(detached(0), [0]), TypeError, 'fromTypedArray', 'detached');
    expectError(() => tensor(detached(3)), TypeError, 'tensor', 'detached');
    expectError(() => new Tensor(detached(0), [0]), TypeError, 'detached');
  });

  it('a tensor whose buffer is detached afterwards: every op gives TypeError naming it', () => {
    const ab = new ArrayBuffer(24);
    const t = fromTypedArray(new Float32Array(ab), [2, 3]);
    const t4 = t.reshape(1, 1, 2, 3); // the same buffer
    structuredClone(ab, { transfer: [ab] });
    const ops: Array<[string, () => unknown]> = [
      ['matmul', () => matmul(t, ones([3, 2]))],
      ['matmul', () => t.matmul(ones([3, 2]))],
      ['conv2d', () => conv2d(t4, ones([1, 1, 1, 1]))],
      ['add', () => t.add(1)],
      ['mul', () => mul(ones([2, 3]), t)],
      ['sum', () => t.sum()],
      ['mean', () => mean(t, 0)],
      ['max', () => t.max()],
      ['stack', () => stack([t, t])],
      ['cat', () => cat([t])],
      ['transpose', () => transpose(t, 0, 1)],
      ['neg', () => t.neg()],
    ];
    for (const [op, f] of ops) expectError(f, TypeError, `${op}:`, 'detached');
    for (const [op, f] of [['reshape', () => t.reshape(3, 2)], ['reshape', () => t.view(-1)], ['flatten', () => t.flatten()],
      ['clone', () => t.clone()], ['item', () => t.item()], ['toArray', () => t.toArray()]] as const) {
      expectError(f, TypeError, `${op}:`, 'detached');
    }
    // printing says so instead of throwing (console.log of such a tensor stays safe)
    expect(String(t)).toBe('tensor(<detached buffer>, size=(2, 3))');
  });
});
