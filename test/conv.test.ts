// conv2d and the d2l corr2d family against PyTorch (test/fixtures/ops.json,
// written by scripts/fixtures/gen_ops.py), d2l's printed values, the seven
// loops in test/reference.ts, and the 1x1-convolution == matmul identity.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { firstBitDifference } from './bits';

import {
  Generator, Tensor, assertClose, conv2d, corr2d, corr2dMultiIn, corr2dMultiInOut, corr2dMultiInOut1x1,
  fromTypedArray, matmul, normal, ones, stack, tensor, zeros,
} from '../lib/index';
import * as ref from './reference';
import { native } from '../lib/native';

type DT = 'float32' | 'float64';
interface FixTensor {
  shape: number[];
  data: number[];
}
interface ConvCase {
  name: string;
  dtype: DT;
  input: FixTensor;
  weight: FixTensor;
  bias: FixTensor | null;
  stride: number | [number, number];
  padding: number | [number, number];
  out: FixTensor;
}
type D2lFn = 'corr2d' | 'corr2dMultiIn' | 'corr2dMultiInOut' | 'corr2dMultiInOut1x1';
interface D2lCase {
  name: string;
  fn: D2lFn;
  dtype: DT;
  X: FixTensor;
  K: FixTensor;
  out: FixTensor;
}

const fixturePath = fileURLToPath(new URL('./fixtures/ops.json', import.meta.url));
const fixtures = JSON.parse(readFileSync(fixturePath, 'utf8')) as { conv2d: ConvCase[]; d2l: D2lCase[] };

function fromFixture(t: FixTensor, dtype: DT): Tensor {
  return dtype === 'float64'
    ? fromTypedArray(Float64Array.from(t.data), t.shape)
    : fromTypedArray(Float32Array.from(t.data), t.shape);
}

const nums = (t: Tensor): number[] => Array.from(t.data);

function tolerancesFor(r: ref.RefResult, dtype: DT): { rtol: number; atol: number } {
  const maxAbs = r.absSum.reduce((m, v) => Math.max(m, v), 0);
  return { rtol: dtype === 'float32' ? 1e-5 : 1e-12, atol: ref.errorBound(maxAbs, r.terms, dtype) };
}

function randn(g: Generator, shape: number[], dtype: DT): Tensor {
  return dtype === 'float64' ? normal(0, 1, shape, { generator: g, dtype: 'float64' }) : normal(0, 1, shape, { generator: g });
}

describe('conv2d vs PyTorch fixtures', () => {
  it('has the fixture cases', () => {
    expect(fixtures.conv2d.length).toBeGreaterThanOrEqual(20);
    expect(fixtures.conv2d.some((c) => c.dtype === 'float64')).toBe(true);
    expect(fixtures.conv2d.some((c) => c.input.shape.length === 3)).toBe(true);
    expect(fixtures.conv2d.some((c) => c.input.shape[0] === 3 && c.input.shape.length === 4)).toBe(true);
  });

  for (const c of fixtures.conv2d) {
    it(`${c.dtype} ${c.name}: input [${c.input.shape}] weight [${c.weight.shape}] stride ${JSON.stringify(c.stride)} padding ${JSON.stringify(c.padding)}${c.bias ? ' bias' : ''}`, () => {
      const x = fromFixture(c.input, c.dtype), w = fromFixture(c.weight, c.dtype);
      const bias = c.bias ? fromFixture(c.bias, c.dtype) : null;
      expect(nums(x)).toEqual(c.input.data);
      const got = conv2d(x, w, { bias, stride: c.stride, padding: c.padding });
      expect(got.dtype).toBe(c.dtype);
      expect([...got.shape]).toEqual(c.out.shape);
      const r = ref.conv2d(c.input.data, c.input.shape, c.weight.data, c.weight.shape, {
        bias: c.bias ? c.bias.data : null, stride: c.stride, padding: c.padding,
      });
      expect(r.shape).toEqual(c.out.shape);
      assertClose(got, fromFixture(c.out, c.dtype), tolerancesFor(r, c.dtype));
      expect(ref.firstViolation(got.data, { ...r, data: c.out.data }, c.dtype)).toBeNull();
      expect(ref.firstViolation(got.data, r, c.dtype)).toBeNull();
    });
  }
});

describe('d2l corr2d family vs the d2l Python functions (fixtures)', () => {
  const fns: Record<D2lFn, (X: Tensor, K: Tensor) => Tensor> = { corr2d, corr2dMultiIn, corr2dMultiInOut, corr2dMultiInOut1x1 };

  it('has a case for every function', () => {
    for (const fn of Object.keys(fns)) expect(fixtures.d2l.some((c) => c.fn === fn)).toBe(true);
  });

  for (const c of fixtures.d2l) {
    it(`${c.fn} ${c.dtype} ${c.name}`, () => {
      const X = fromFixture(c.X, c.dtype), K = fromFixture(c.K, c.dtype);
      const got = fns[c.fn](X, K);
      expect(got.dtype).toBe(c.dtype);
      expect([...got.shape]).toEqual(c.out.shape);
      // The same sums as a conv2d with no padding and stride 1 (corr2dMultiIn: one output channel).
      const xs = c.fn === 'corr2d' ? [1, ...c.X.shape] : c.X.shape;
      const ks = c.fn === 'corr2d' ? [1, 1, ...c.K.shape] : c.fn === 'corr2dMultiIn' ? [1, ...c.K.shape] : c.K.shape;
      const r = ref.conv2d(c.X.data, xs, c.K.data, ks);
      expect(r.data.length).toBe(c.out.data.length);
      // d2l adds the per-channel results one channel at a time, rounding each: allow one more rounding per channel.
      const tol = tolerancesFor({ ...r, terms: r.terms + xs[0] }, c.dtype);
      assertClose(got, fromFixture(c.out, c.dtype), tol);
    });
  }
});

describe('d2l exact values', () => {
  const X = tensor([[[0, 1, 2], [3, 4, 5], [6, 7, 8]], [[1, 2, 3], [4, 5, 6], [7, 8, 9]]]);
  const K = tensor([[[0, 1], [2, 3]], [[1, 2], [3, 4]]]);

  it('6.4.1 corr2dMultiIn(X, K) == [[56, 72], [104, 120]] exactly', () => {
    const Y = corr2dMultiIn(X, K);
    expect([...Y.shape]).toEqual([2, 2]);
    expect(Y.toArray()).toEqual([[56, 72], [104, 120]]);
  });

  it('6.4.2 corr2dMultiInOut(X, stack([K, K+1, K+2])) is d2l\'s (3, 2, 2) output exactly', () => {
    const K3 = stack([K, K.add(1), K.add(2)], 0);
    expect([...K3.shape]).toEqual([3, 2, 2, 2]);
    const Y = corr2dMultiInOut(X, K3);
    expect([...Y.shape]).toEqual([3, 2, 2]);
    expect(Y.toArray()).toEqual([
      [[56, 72], [104, 120]],
      [[76, 100], [148, 172]],
      [[96, 128], [192, 224]],
    ]);
    // float64 gives the same
    const Y64 = corr2dMultiInOut(tensor(X.toArray(), { dtype: 'float64' }), tensor(K3.toArray(), { dtype: 'float64' }));
    expect(Y64.dtype).toBe('float64');
    expect(Y64.toArray()).toEqual(Y.toArray());
  });

  it('6.2 edge detection: X 6x8 ones with columns 2..5 zero, K [[1, -1]]', () => {
    const data = new Float32Array(48).fill(1);
    for (let i = 0; i < 6; i++) for (let j = 2; j < 6; j++) data[i * 8 + j] = 0;
    const Xe = fromTypedArray(data, [6, 8]);
    const Ke = tensor([[1, -1]]);
    const Y = corr2d(Xe, Ke);
    expect([...Y.shape]).toEqual([6, 7]);
    expect(Y.toArray()).toEqual(new Array(6).fill([0, 1, 0, 0, 0, -1, 0]));
    // The transposed image has only vertical changes: K finds nothing.
    const Yt = corr2d(Xe.T, Ke);
    expect([...Yt.shape]).toEqual([8, 5]);
    expect(nums(Yt).every((v) => v === 0)).toBe(true);
    // corr2d(X, K.T) detects the horizontal edges of the transposed image.
    expect(corr2d(Xe.T, Ke.T).toArray()).toEqual(Y.T.toArray());
  });

  it('corr2d with a kernel the size of the image gives a 1x1 result', () => {
    const Y = corr2d(tensor([[1, 2], [3, 4]]), tensor([[1, 10], [100, 1000]]));
    expect(Y.toArray()).toEqual([[4321]]);
  });
});

describe('conv2d vs test/reference.ts on random shapes', () => {
  const rng = ref.mulberry32(777);
  const int = (lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));

  it('random sizes, strides, paddings, biases; batched and unbatched; float32 and float64', () => {
    const g = new Generator(9);
    let count = 0;
    while (count < 80) {
      const dtype: DT = count % 4 === 3 ? 'float64' : 'float32';
      const batched = rng() < 0.6;
      const n = int(1, 3), c = int(1, 4), h = int(1, 9), w = int(1, 9), co = int(1, 4);
      const kh = int(1, 5), kw = int(1, 5);
      const stride: number | [number, number] = rng() < 0.5 ? int(1, 4) : [int(1, 4), int(1, 4)];
      const padding: number | [number, number] = rng() < 0.5 ? int(0, 2) : [int(0, 3), int(0, 3)];
      const [ph, pw] = typeof padding === 'number' ? [padding, padding] : padding;
      if (h + 2 * ph < kh || w + 2 * pw < kw) continue; // the kernel must fit
      count++;
      const xShape = batched ? [n, c, h, w] : [c, h, w];
      const x = randn(g, xShape, dtype), wt = randn(g, [co, c, kh, kw], dtype);
      const bias = rng() < 0.5 ? randn(g, [co], dtype) : null;
      const got = conv2d(x, wt, { bias, stride, padding });
      const r = ref.conv2d(nums(x), xShape, nums(wt), [co, c, kh, kw], { bias: bias ? nums(bias) : null, stride, padding });
      const what = `${dtype} x [${xShape}] w [${[co, c, kh, kw]}] stride ${JSON.stringify(stride)} padding ${JSON.stringify(padding)} bias ${bias !== null}`;
      expect([...got.shape], what).toEqual(r.shape);
      expect(got.dtype).toBe(dtype);
      expect(ref.firstViolation(got.data, r, dtype), what).toBeNull();
    }
  });

  it('small integers give exact results', () => {
    for (let t = 0; t < 20; t++) {
      const n = int(1, 3), c = int(1, 3), h = int(2, 8), w = int(2, 8), co = int(1, 3), kh = int(1, 2), kw = int(1, 2);
      const xi = Array.from({ length: n * c * h * w }, () => int(-5, 5));
      const wi = Array.from({ length: co * c * kh * kw }, () => int(-5, 5));
      const bi = Array.from({ length: co }, () => int(-5, 5));
      const opts = { stride: int(1, 3), padding: int(0, 2) };
      const got = conv2d(fromTypedArray(Float32Array.from(xi), [n, c, h, w]), fromTypedArray(Float32Array.from(wi), [co, c, kh, kw]),
        { ...opts, bias: fromTypedArray(Float32Array.from(bi), [co]) });
      expect(nums(got)).toEqual(ref.conv2d(xi, [n, c, h, w], wi, [co, c, kh, kw], { ...opts, bias: bi }).data);
    }
  });

  it('unbatched equals batched with N = 1, bit for bit', () => {
    const g = new Generator(10);
    const x = randn(g, [3, 6, 7], 'float32'), w = randn(g, [2, 3, 3, 2], 'float32'), b = randn(g, [2], 'float32');
    const y3 = conv2d(x, w, { bias: b, stride: [2, 1], padding: 1 });
    const y4 = conv2d(x.reshape(1, 3, 6, 7), w, { bias: b, stride: [2, 1], padding: 1 });
    expect([...y3.shape]).toEqual([2, 3, 8]);
    expect([...y4.shape]).toEqual([1, 2, 3, 8]);
    expect(firstBitDifference(y3.data, y4.data)).toBe(-1);
  });

  it('padding \'valid\' equals padding 0; zero padding only adds zeros', () => {
    const g = new Generator(11);
    const x = randn(g, [2, 5, 5], 'float32'), w = randn(g, [1, 2, 3, 3], 'float32');
    expect(firstBitDifference(conv2d(x, w, { padding: 'valid' }).data, conv2d(x, w).data)).toBe(-1);
    // The centre of the padded result is the unpadded result.
    const p = conv2d(x, w, { padding: 1 }).toArray() as number[][][];
    const v = conv2d(x, w).toArray() as number[][][];
    expect(p[0].slice(1, 4).map((row) => row.slice(1, 4))).toEqual(v[0]);
  });
});

describe('1x1 convolution == matmul, bit for bit', () => {
  // Both kernels reduce over the input channels in ascending order with one
  // FMA per product (native/kernels.h), so the results are identical bits.
  const sizes: Array<[number, number, number, number]> = [
    [1, 1, 1, 1], [3, 2, 3, 3], [2, 5, 1, 7], [7, 3, 4, 1], [16, 8, 5, 6], [33, 4, 3, 9], [64, 2, 2, 2], [129, 3, 1, 5],
  ];
  // plus a few drawn at random: (ci, co, h, w)
  const rng = ref.mulberry32(4242);
  const int = (lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));
  for (let i = 0; i < 8; i++) sizes.push([int(1, 80), int(1, 9), int(1, 8), int(1, 8)]);

  for (const dtype of ['float32', 'float64'] as const) {
    it(`${dtype}: corr2dMultiInOut == corr2dMultiInOut1x1`, () => {
      const g = new Generator(dtype === 'float32' ? 21 : 22);
      for (const [ci, co, h, w] of sizes) {
        const X = randn(g, [ci, h, w], dtype), K = randn(g, [co, ci, 1, 1], dtype);
        const Y1 = corr2dMultiInOut1x1(X, K), Y2 = corr2dMultiInOut(X, K);
        expect([...Y1.shape]).toEqual([co, h, w]);
        expect([...Y2.shape]).toEqual([co, h, w]);
        expect(firstBitDifference(Y1.data, Y2.data), `ci ${ci} co ${co} h ${h} w ${w}`).toBe(-1);
      }
    });

    it(`${dtype}: batched conv2d with a 1x1 kernel == reshape + batched matmul`, () => {
      const g = new Generator(dtype === 'float32' ? 23 : 24);
      for (const [ci, co, h, w] of sizes) {
        for (const n of [1, 3]) {
          const X = randn(g, [n, ci, h, w], dtype), K = randn(g, [co, ci, 1, 1], dtype);
          const Yc = conv2d(X, K);
          // (co, ci) @ (n, ci, h*w) broadcasts to (n, co, h*w).
          const Ym = matmul(K.reshape(co, ci), X.reshape(n, ci, h * w)).reshape(n, co, h, w);
          expect([...Yc.shape]).toEqual([n, co, h, w]);
          expect(firstBitDifference(Yc.data, Ym.data), `n ${n} ci ${ci} co ${co} h ${h} w ${w}`).toBe(-1);
        }
      }
    });

    it(`${dtype}: 1x1 conv2d with bias == matmul then add the bias`, () => {
      const g = new Generator(dtype === 'float32' ? 25 : 26);
      for (const [ci, co, h, w] of sizes) {
        const X = randn(g, [ci, h, w], dtype), K = randn(g, [co, ci, 1, 1], dtype), b = randn(g, [co], dtype);
        const Yc = conv2d(X, K, { bias: b });
        const Ym = matmul(K.reshape(co, ci), X.reshape(ci, h * w)).add(b.reshape(co, 1)).reshape(co, h, w);
        expect(Ym.dtype).toBe(dtype);
        expect(firstBitDifference(Yc.data, Ym.data), `ci ${ci} co ${co} h ${h} w ${w}`).toBe(-1);
      }
    });
  }

  it('1x1 kernel with stride and padding: the border is the bias, the rest subsamples the matmul', () => {
    const g = new Generator(27);
    const [ci, co, h, w] = [5, 3, 6, 7];
    const X = randn(g, [ci, h, w], 'float32'), K = randn(g, [co, ci, 1, 1], 'float32'), b = randn(g, [co], 'float32');
    const Y = conv2d(X, K, { bias: b, stride: 2, padding: 1 }).toArray() as number[][][];
    const full = corr2dMultiInOut1x1(X, K).toArray() as number[][][];
    expect([Y.length, Y[0].length, Y[0][0].length]).toEqual([3, 4, 5]); // floor((6+2-1)/2)+1, floor((7+2-1)/2)+1
    const bias = Array.from(b.data);
    for (let o = 0; o < co; o++) {
      for (let i = 0; i < 4; i++) {
        for (let j = 0; j < 5; j++) {
          const iy = 2 * i - 1, ix = 2 * j - 1;
          const inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
          expect(Y[o][i][j]).toBe(inside ? Math.fround(full[o][iy][ix] + bias[o]) : bias[o]);
        }
      }
    }
  });

  it('d2l 6.4.3 as printed: normal(0, 1) X (3,3,3) and K (2,3,1,1) agree exactly', () => {
    const g = new Generator(0);
    const X = normal(0, 1, [3, 3, 3], { generator: g }), K = normal(0, 1, [2, 3, 1, 1], { generator: g });
    const Y1 = corr2dMultiInOut1x1(X, K), Y2 = corr2dMultiInOut(X, K);
    expect(Y1.sub(Y2).abs().sum().item()).toBe(0);
    expect(firstBitDifference(Y1.data, Y2.data)).toBe(-1);
  });
});

describe('conv2d degenerate sizes', () => {
  it('zero batch; zero input channels give zero output channels; zero output channels or an empty image are PyTorch\'s errors', () => {
    expect(() => conv2d(ones([2, 4, 4]), ones([0, 2, 3, 3]))).toThrow(
      new RangeError('conv2d: Given groups=1, expected weight to be at least 1 at dimension 0, but got weight of size [0, 2, 3, 3] instead'));
    expect(() => conv2d(ones([1, 8, 5, 5]), ones([2, 2, 3, 3]), { groups: 4 })).toThrow(
      new RangeError('conv2d: Given groups=4, expected weight to be at least 4 at dimension 0, but got weight of size [2, 2, 3, 3] instead'));
    expect(() => conv2d(zeros([1, 3, 0, 5]), ones([2, 3, 1, 1]), { padding: 1 })).toThrow(
      new RangeError('conv2d: Only zero batch or zero channel inputs are supported, but got input shape: [1, 3, 0, 5]'));
    expect(() => conv2d(zeros([3, 5, 0]), ones([2, 3, 1, 1]), { padding: 1 })).toThrow(
      new RangeError('conv2d: Only zero batch or zero channel inputs are supported, but got input shape: [1, 3, 5, 0]'));
    expect([...conv2d(ones([0, 2, 4, 4]), ones([3, 2, 3, 3])).shape]).toEqual([0, 3, 2, 2]);
    // PyTorch 1.13: no input channels, no output channels (bias or not, grouped or not).
    expect([...conv2d(zeros([0, 4, 4]), zeros([2, 0, 3, 3]), { bias: tensor([1.5, -2]) }).shape]).toEqual([0, 2, 2]);
    expect([...conv2d(zeros([1, 0, 4, 4]), zeros([2, 0, 3, 3]), { bias: tensor([1.5, -2]) }).shape]).toEqual([1, 0, 2, 2]);
    expect([...conv2d(zeros([1, 0, 4, 4]), zeros([2, 0, 3, 3]), { groups: 2 }).shape]).toEqual([1, 0, 2, 2]);
    expect([...conv2d(zeros([0, 8, 7]), zeros([2, 0, 3, 3])).shape]).toEqual([0, 6, 5]);
    expect(() => conv2d(zeros([1, 0, 4, 4]), zeros([2, 0, 3, 3]), { bias: tensor([1.5]) })).toThrow(
      new RangeError('conv2d: Given weight of size [2, 0, 3, 3], expected bias to be 1-dimensional with 2 elements, but got bias of size [1] instead'));
    // An empty image with an empty batch or no channels: PyTorch's shapes, once padded to fit.
    expect([...conv2d(zeros([0, 1, 0, 5]), ones([1, 1, 1, 1]), { padding: 1 }).shape]).toEqual([0, 1, 2, 7]);
    expect([...conv2d(zeros([1, 0, 0, 5]), zeros([1, 0, 1, 1]), { padding: 1 }).shape]).toEqual([1, 0, 2, 7]);
    expect(() => conv2d(zeros([0, 1, 0, 5]), ones([1, 1, 1, 1]))).toThrow(
      /^conv2d: Calculated padded input size per channel: \(0 x 5\)\. Kernel size: \(1 x 1\)\. Kernel size can't be greater than actual input size/);
  });

  it("padding 'same' with a dilated extent past 2^31: only the centre tap sees the image", () => {
    // dilation 2^30, 3x3: total padding 2^31 (it wrapped to a negative
    // padTop through a 32-bit shift); PyTorch gives [1, 2, 6, 6].
    const x = normal(0, 1, [1, 3, 6, 6]), w = normal(0, 1, [2, 3, 3, 3]);
    const y = conv2d(x, w, { padding: 'same', dilation: 2 ** 30 });
    expect([...y.shape]).toEqual([1, 2, 6, 6]);
    const centre = fromTypedArray(Float32Array.from({ length: 6 }, (_, i) => w.data[i * 9 + 4]), [2, 3, 1, 1]);
    assertClose(y, conv2d(x, centre));
  });

  it('a huge dilation does not size direct-t scratch by the kernel\'s extent (328 MB per thread for 300 KB of data)', () => {
    // 512 channels, a 1x2 kernel with dilation 20000 and padding [20000, 27]
    // on a 10x1 image (PyTorch: output [1, 64, 10, 28]).
    const x = normal(0, 1, [1, 512, 10, 1]), w = normal(0, 1, [64, 512, 1, 2]);
    const out = zeros([1, 64, 10, 28]);
    const binding = native();
    binding.conv2d(x.data, w.data, null, out.data, 1, 512, 10, 1, 64, 1, 2, 1, 1, 0, 0, 20000, 27, 1, 20000, 1);
    const last = binding._lastConv2d();
    expect(last.path).not.toBe('direct-t');
    expect(last.tileBytesPerThread).toBeLessThan(8 << 20);
    // Against the reference loops.
    binding._setConvPath('reference');
    const ref = zeros([1, 64, 10, 28]);
    binding.conv2d(x.data, w.data, null, ref.data, 1, 512, 10, 1, 64, 1, 2, 1, 1, 0, 0, 20000, 27, 1, 20000, 1);
    binding._setConvPath('auto');
    expect(firstBitDifference(out.data, ref.data)).toBe(-1);
  });

  it('does not modify its inputs', () => {
    const g = new Generator(30);
    const x = randn(g, [2, 3, 5, 5], 'float32'), w = randn(g, [2, 3, 3, 3], 'float32'), b = randn(g, [2], 'float32');
    const [xc, wc, bc] = [x.clone(), w.clone(), b.clone()];
    conv2d(x, w, { bias: b, padding: 2, stride: 2 });
    expect(firstBitDifference(x.data, xc.data)).toBe(-1);
    expect(firstBitDifference(w.data, wc.data)).toBe(-1);
    expect(firstBitDifference(b.data, bc.data)).toBe(-1);
  });
});
