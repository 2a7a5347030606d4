// conv2d against independent oracles:
//   - PyTorch 1.13 (test/fixtures/conv.json, written by
//     scripts/fixtures/gen_conv.py): every argument form, within the
//     rounding-error bound of a different summation order;
//   - a naive seven-loop reference written here with an exact float32 fused
//     multiply-add, bit for bit (float32), and within the bound (float64);
//   - every native path (reference loops, direct, implicit GEMM, pointwise),
//     ISA and thread count against each other, bit for bit;
//   - identities: 1x1 conv == matmul (bits), dilation == a zero-stuffed
//     kernel (bits), groups == separate convolutions concatenated (bits),
//     'same' == the explicit PyTorch padding (bits).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { firstBitDifference } from './bits';
import { NativeConvCase, describeCase, outShape, runNativeConv } from './conv-cases';

import {
  Generator, Tensor, assertClose, cat, conv2d, fromTypedArray, matmul, normal, setNumThreads, getNumThreads,
} from '../lib/index';
import { native } from '../lib/native';
import { fma32 } from '../lib/ops/tiny';
import * as ref from './reference';

type DT = 'float32' | 'float64';
type Pair = number | [number, number];
interface FixTensor { shape: number[]; data: number[] }
interface ConvCase {
  name: string;
  dtype: DT;
  input: FixTensor;
  weight: FixTensor;
  bias: FixTensor | null;
  stride: Pair;
  padding: Pair | 'valid' | 'same';
  dilation: Pair;
  groups: number;
  out: FixTensor;
}

const fixtures = JSON.parse(readFileSync(fileURLToPath(new URL('./fixtures/conv.json', import.meta.url)), 'utf8')) as { conv2d: ConvCase[] };
const binding = native();
const defaultThreads = getNumThreads();
afterAll(() => {
  binding._setConvPath('auto');
  binding._setIsa('auto');
  setNumThreads(defaultThreads);
});

const toTensor = (t: FixTensor, dtype: DT): Tensor =>
  fromTypedArray(dtype === 'float64' ? Float64Array.from(t.data) : Float32Array.from(t.data), t.shape);

function randn(g: Generator, shape: number[], dtype: DT): Tensor {
  return normal(0, 1, shape, { generator: g, dtype });
}

// ---------------------------------------------------------------------------
// The exact float32 fused multiply-add in plain JS (lib/ops/tiny.ts; also
// what ntensor runs d2l-size float32 products with, and checked against
// BigInt arithmetic in gemm.test.ts).
//
// For float32 a, b, c: p = a * b is exact in float64 (24 + 24 bits <= 53),
// and s = p + c is one float64 rounding. Math.fround(s) then rounds again,
// and that double rounding is NOT always fma: with a = 10502144 * 2^-23,
// b = 13400834 * 2^-48 (so a * b = 2^-24 * (1 + 2^-32)) and c = 1, the exact
// sum 1 + 2^-24 + 2^-56 rounds to the float32 midpoint 1 + 2^-24 in
// float64, which fround rounds to even (1), while fma gives 1 + 2^-23.
// ---------------------------------------------------------------------------

it('fma32 is exact where fround(a * b + c) double-rounds', () => {
  const a = 10502144 * 2 ** -23, b = 13400834 * 2 ** -48;
  expect(Math.fround(a)).toBe(a);
  expect(Math.fround(b)).toBe(b);
  expect(a * b).toBe(2 ** -24 * (1 + 2 ** -32));
  expect(Math.fround(a * b + 1)).toBe(1); // double rounding
  expect(fma32(a, b, 1)).toBe(1 + 2 ** -23); // fma
  expect(fma32(-a, b, -1)).toBe(-(1 + 2 ** -23));
  expect(fma32(a, -b, 1)).toBe(1 - 2 ** -24); // a float32 just below 1
  expect(fma32(a, b, -1 - 2 ** -23)).toBe(-1); // 2^-24 + 2^-56 - 1 - 2^-23: rounds to -1
  expect(fma32(2, 3, 4)).toBe(10);
  expect(fma32(0, Infinity, 1)).toBeNaN();
  expect(Object.is(fma32(0, -1, 0), 0)).toBe(true); // +0 + -0 = +0
});

// ---------------------------------------------------------------------------
// The naive reference: seven loops, products on the padding included.
// ---------------------------------------------------------------------------
interface NaiveOptions {
  bias?: ArrayLike<number> | null;
  stride?: Pair;
  padding?: Pair | 'valid' | 'same' | [number, number, number, number]; // [top, bottom, left, right]
  dilation?: Pair;
  groups?: number;
}
const pairOf = (v: Pair | undefined, d: number): [number, number] => (v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : v);

function naiveConv2d(x: ArrayLike<number>, xShape: number[], w: ArrayLike<number>, wShape: number[], dtype: DT, o: NaiveOptions = {}): { shape: number[]; data: number[]; absSum: number[]; terms: number } {
  const batched = xShape.length === 4;
  const [N, C, H, W] = batched ? xShape : [1, ...xShape];
  const [CO, CG, KH, KW] = wShape;
  const G = o.groups ?? 1, COG = CO / G;
  const [SH, SW] = pairOf(o.stride, 1), [DH, DW] = pairOf(o.dilation, 1);
  let PT: number, PB: number, PL: number, PR: number;
  if (o.padding === 'same') {
    const th = DH * (KH - 1), tw = DW * (KW - 1);
    PT = th >> 1; PB = th - PT; PL = tw >> 1; PR = tw - PL;
  } else if (o.padding === 'valid' || o.padding === undefined) {
    PT = PB = PL = PR = 0;
  } else if (Array.isArray(o.padding) && o.padding.length === 4) {
    [PT, PB, PL, PR] = o.padding;
  } else {
    const [ph, pw] = pairOf(o.padding as Pair, 0);
    PT = PB = ph; PL = PR = pw;
  }
  const OH = Math.floor((H + PT + PB - DH * (KH - 1) - 1) / SH) + 1, OW = Math.floor((W + PL + PR - DW * (KW - 1) - 1) / SW) + 1;
  const data: number[] = [], absSum: number[] = [];
  const f = dtype === 'float32';
  for (let nb = 0; nb < N; nb++) {
    for (let co = 0; co < CO; co++) {
      const g = Math.floor(co / COG);
      for (let oy = 0; oy < OH; oy++) {
        for (let ox = 0; ox < OW; ox++) {
          let acc = 0, t = 0;
          for (let ci = 0; ci < CG; ci++) {
            for (let ki = 0; ki < KH; ki++) {
              for (let kj = 0; kj < KW; kj++) {
                const iy = oy * SH - PT + ki * DH, ix = ox * SW - PL + kj * DW;
                const xv = iy < 0 || iy >= H || ix < 0 || ix >= W ? 0 : x[((nb * C + g * CG + ci) * H + iy) * W + ix];
                const wv = w[((co * CG + ci) * KH + ki) * KW + kj];
                acc = f ? fma32(xv, wv, acc) : acc + xv * wv;
                t += Math.abs(xv * wv);
              }
            }
          }
          if (o.bias) {
            acc = f ? Math.fround(acc + o.bias[co]) : acc + o.bias[co];
            t += Math.abs(o.bias[co]);
          }
          data.push(acc);
          absSum.push(t);
        }
      }
    }
  }
  return { shape: batched ? [N, CO, OH, OW] : [CO, OH, OW], data, absSum, terms: CG * KH * KW + (o.bias ? 1 : 0) };
}

function expectBits(got: Tensor, want: number[], what: string): void {
  const w = got.dtype === 'float64' ? Float64Array.from(want) : Float32Array.from(want);
  const i = firstBitDifference(got.data, w);
  expect(i, `${what}: element ${i}: got ${got.data[i]}, want ${w[i]}`).toBe(-1);
}

// ---------------------------------------------------------------------------
describe('conv2d vs PyTorch 1.13 (fixtures) and the naive exact-fma reference', () => {
  it('covers every argument form', () => {
    const cs = fixtures.conv2d;
    expect(cs.length).toBeGreaterThanOrEqual(40);
    expect(cs.some((c) => c.dtype === 'float64')).toBe(true);
    expect(cs.some((c) => c.padding === 'same' && c.weight.shape[2] % 2 === 0)).toBe(true);
    expect(cs.some((c) => c.padding === 'valid')).toBe(true);
    expect(cs.some((c) => c.groups > 1 && c.groups === c.input.shape[c.input.shape.length - 3])).toBe(true); // depthwise
    expect(cs.some((c) => c.groups === 2)).toBe(true);
    expect(cs.some((c) => c.dilation !== 1)).toBe(true);
    expect(cs.some((c) => (typeof c.stride === 'number' ? c.stride : c.stride[0]) > c.weight.shape[2])).toBe(true);
    expect(cs.some((c) => c.input.shape.length === 3)).toBe(true);
    expect(cs.some((c) => c.input.shape.length === 4 && c.input.shape[0] > 1)).toBe(true);
  });

  for (const c of fixtures.conv2d) {
    it(`${c.dtype} ${c.name}: x [${c.input.shape}] w [${c.weight.shape}] stride ${JSON.stringify(c.stride)} padding ${JSON.stringify(c.padding)} dilation ${JSON.stringify(c.dilation)} groups ${c.groups}${c.bias ? ' bias' : ''}`, () => {
      const x = toTensor(c.input, c.dtype), w = toTensor(c.weight, c.dtype);
      const bias = c.bias ? toTensor(c.bias, c.dtype) : null;
      const opts = { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups };
      const got = conv2d(x, w, { ...opts, bias });
      expect([...got.shape]).toEqual(c.out.shape);
      expect(got.dtype).toBe(c.dtype);
      const r = naiveConv2d(x.data, c.input.shape, w.data, c.weight.shape, c.dtype, { ...opts, bias: bias ? bias.data : null });
      expect(r.shape).toEqual(c.out.shape);
      // PyTorch sums in another order: within the error bound of either.
      const maxAbs = r.absSum.reduce((m, v) => Math.max(m, v), 0);
      assertClose(got, toTensor(c.out, c.dtype), { rtol: c.dtype === 'float32' ? 1e-5 : 1e-12, atol: ref.errorBound(maxAbs, r.terms, c.dtype) });
      expect(ref.firstViolation(got.data, { ...r, data: Array.from(toTensor(c.out, c.dtype).data) }, c.dtype)).toBeNull();
      if (c.dtype === 'float32') expectBits(got, r.data, 'vs naive exact fma');
      else expect(ref.firstViolation(got.data, r, c.dtype)).toBeNull();
    });
  }
});

// ---------------------------------------------------------------------------
// Every path, ISA and thread count gives the same bits.
// ---------------------------------------------------------------------------
type Shape = NativeConvCase;
const describeShape = describeCase;
const runNative = (s: Shape, x: Tensor, w: Tensor, b: Tensor | null): Tensor => fromTypedArray(runNativeConv(s, x, w, b), outShape(s));

const SHAPES: Shape[] = [
  // pointwise, and 1x1 that is not (stride, padding)
  { n: 2, c: 5, h: 6, w: 7, co: 3, kh: 1, kw: 1, stride: [1, 1], pad: [0, 0, 0, 0], dil: [1, 1], groups: 1, bias: true },
  { n: 1, c: 37, h: 9, w: 13, co: 29, kh: 1, kw: 1, stride: [1, 1], pad: [0, 0, 0, 0], dil: [1, 1], groups: 1, bias: false },
  { n: 3, c: 6, h: 5, w: 5, co: 4, kh: 1, kw: 1, stride: [1, 1], pad: [0, 0, 0, 0], dil: [1, 1], groups: 2, bias: true },
  { n: 1, c: 4, h: 7, w: 6, co: 16, kh: 1, kw: 1, stride: [2, 3], pad: [1, 0, 2, 1], dil: [1, 1], groups: 1, bias: true },
  // pointwise on several threads, whole small GEMMs (no packing) per image and group
  { n: 48, c: 32, h: 8, w: 9, co: 34, kh: 1, kw: 1, stride: [1, 1], pad: [0, 0, 0, 0], dil: [1, 1], groups: 2, bias: true },
  // implicit GEMM sizes: rows past MR (14) and NR (32), K past KC (384 / 256), columns past a panel row
  { n: 1, c: 8, h: 12, w: 11, co: 30, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], groups: 1, bias: true },
  { n: 2, c: 45, h: 6, w: 7, co: 15, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], groups: 1, bias: false },
  { n: 1, c: 3, h: 40, w: 38, co: 17, kh: 7, kw: 7, stride: [2, 2], pad: [3, 3, 3, 3], dil: [1, 1], groups: 1, bias: true },
  // stride 2 on rows of 100 outputs: im2col segments clear of the padding (whole strided loads), partial
  // chunks (segments that start mid-panel), and the last rows, whose loads would run past the image
  { n: 1, c: 2, h: 17, w: 200, co: 13, kh: 7, kw: 7, stride: [2, 2], pad: [3, 3, 3, 3], dil: [1, 1], groups: 1, bias: true },
  // the same with no padding at the bottom and right: the last row's last segments end at the image's last
  // element, where a whole strided load would read past it (the sanitizer run would report it)
  { n: 1, c: 2, h: 16, w: 200, co: 13, kh: 7, kw: 7, stride: [2, 2], pad: [3, 0, 3, 0], dil: [1, 1], groups: 1, bias: false },
  { n: 1, c: 2, h: 37, w: 35, co: 8, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], groups: 1, bias: false },
  { n: 1, c: 70, h: 4, w: 4, co: 20, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], groups: 1, bias: true },
  // gemm-t on several threads: one image, 3 channel blocks (the last of 2 channels), enough work for 2
  { n: 1, c: 32, h: 9, w: 9, co: 130, kh: 5, kw: 5, stride: [1, 1], pad: [2, 2, 2, 2], dil: [1, 1], groups: 1, bias: true },
  // column stride 2, dilation 1: gemm reads im2col rows in place from an even/odd split of the input
  // (conv.cc, indirect_task): K = 378 (just under one k block), a 5-row last panel, rows 11 wide (one
  // masked vector); a vertical stride of 1 with dilation 3, odd left padding, 2 images
  { n: 1, c: 42, h: 15, w: 21, co: 33, kh: 3, kw: 3, stride: [2, 2], pad: [1, 1, 1, 1], dil: [1, 1], groups: 1, bias: true },
  { n: 2, c: 5, h: 9, w: 5, co: 9, kh: 2, kw: 4, stride: [1, 2], pad: [0, 1, 3, 2], dil: [3, 1], groups: 1, bias: false },
  // strides, dilations, asymmetric padding, groups
  { n: 2, c: 6, h: 13, w: 17, co: 12, kh: 3, kw: 5, stride: [3, 2], pad: [2, 0, 1, 3], dil: [2, 1], groups: 3, bias: true },
  { n: 1, c: 4, h: 15, w: 16, co: 8, kh: 2, kw: 3, stride: [1, 4], pad: [0, 1, 2, 2], dil: [3, 2], groups: 2, bias: false },
  { n: 1, c: 3, h: 9, w: 40, co: 6, kh: 3, kw: 3, stride: [5, 3], pad: [1, 1, 1, 1], dil: [1, 1], groups: 1, bias: true },
  // direct: depthwise, multipliers, few output channels, wide rows
  { n: 2, c: 8, h: 19, w: 37, co: 8, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], groups: 8, bias: true },
  { n: 1, c: 3, h: 11, w: 70, co: 9, kh: 3, kw: 3, stride: [2, 2], pad: [1, 1, 1, 1], dil: [1, 1], groups: 3, bias: false },
  { n: 1, c: 5, h: 9, w: 9, co: 5, kh: 5, kw: 5, stride: [1, 1], pad: [2, 2, 2, 2], dil: [2, 2], groups: 5, bias: true },
  // depthwise 3x3 with vertical stride 1 (rows share loaded input): fewer rows than a block, strided and dilated columns, uneven padding
  { n: 1, c: 4, h: 2, w: 9, co: 4, kh: 3, kw: 3, stride: [1, 2], pad: [1, 2, 0, 1], dil: [1, 2], groups: 4, bias: true },
  { n: 2, c: 3, h: 13, w: 70, co: 3, kh: 3, kw: 3, stride: [1, 1], pad: [0, 2, 1, 1], dil: [1, 1], groups: 3, bias: false },
  // depthwise 3x3 with one column of padding on the left (neighbours shifted in registers): no padding on the
  // right, and so much that later column blocks start past the row
  { n: 1, c: 2, h: 6, w: 33, co: 2, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1, 1, 0], dil: [1, 1], groups: 2, bias: true },
  { n: 1, c: 2, h: 5, w: 17, co: 2, kh: 3, kw: 3, stride: [1, 1], pad: [2, 0, 1, 60], dil: [1, 1], groups: 2, bias: false },
  // the same with stride 2 both ways (pairs of vectors split into even and odd columns): an odd width, one row
  // of padding less at the top, fewer rows than a block, and column blocks that start past the row
  { n: 1, c: 3, h: 9, w: 37, co: 3, kh: 3, kw: 3, stride: [2, 2], pad: [1, 1, 1, 1], dil: [1, 1], groups: 3, bias: true },
  { n: 2, c: 2, h: 4, w: 12, co: 4, kh: 3, kw: 3, stride: [2, 2], pad: [0, 1, 1, 100], dil: [1, 1], groups: 2, bias: false },
  { n: 1, c: 1, h: 6, w: 8, co: 1, kh: 1, kw: 2, stride: [1, 1], pad: [0, 0, 0, 0], dil: [1, 1], groups: 1, bias: false },
  { n: 3, c: 7, h: 8, w: 21, co: 3, kh: 3, kw: 2, stride: [1, 3], pad: [1, 0, 0, 1], dil: [1, 1], groups: 1, bias: true },
  { n: 1, c: 2, h: 5, w: 5, co: 2, kh: 5, kw: 5, stride: [1, 1], pad: [4, 4, 4, 4], dil: [1, 1], groups: 1, bias: false },
  { n: 1, c: 1, h: 3, w: 80, co: 4, kh: 1, kw: 17, stride: [1, 2], pad: [0, 0, 8, 8], dil: [1, 1], groups: 1, bias: true },
];

const ISAS = binding.backendInfo().supportedIsas;

describe('every native path, ISA and thread count gives the same bits', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    it(`${dtype}: reference, direct, gemm, gemm-t, direct-t, pointwise x ${ISAS.join('/')} x 1 and 3 threads`, () => {
      const g = new Generator(dtype === 'float32' ? 101 : 102);
      for (const s of SHAPES) {
        const x = randn(g, [s.n, s.c, s.h, s.w], dtype), w = randn(g, [s.co, s.c / s.groups, s.kh, s.kw], dtype);
        const b = s.bias ? randn(g, [s.co], dtype) : null;
        binding._setConvPath('reference');
        const want = runNative(s, x, w, b);
        binding._setConvPath('auto');
        const auto = runNative(s, x, w, b);
        const autoPath = binding._lastConv2d().path;
        expect(firstBitDifference(auto.data, want.data), `auto (${autoPath}) ${describeShape(s)}`).toBe(-1);
        if (dtype === 'float32' && s.n * s.co * s.c * s.kh * s.kw * s.h * s.w < 2e6) {
          const r = naiveConv2d(x.data, [s.n, s.c, s.h, s.w], w.data, [s.co, s.c / s.groups, s.kh, s.kw], dtype,
            { bias: b ? b.data : null, stride: s.stride, padding: s.pad, dilation: s.dil, groups: s.groups });
          expectBits(want, r.data, `reference loops vs naive exact fma, ${describeShape(s)}`);
        }
        for (const isa of ISAS) {
          binding._setIsa(isa as 'avx512');
          for (const threads of [1, 3]) {
            setNumThreads(threads);
            for (const path of ['direct', 'gemm', 'gemm-t', 'direct-t', 'pointwise', 'reference'] as const) {
              binding._setConvPath(path as 'gemm');
              const got = runNative(s, x, w, b);
              const info = binding._lastConv2d();
              expect(firstBitDifference(got.data, want.data), `${path} (ran ${info.path}) ${isa} ${threads} threads ${describeShape(s)}`).toBe(-1);
            }
          }
        }
        binding._setIsa('auto');
        binding._setConvPath('auto');
        setNumThreads(defaultThreads);
      }
    });
  }

  it('auto picks pointwise for 1x1, direct for depthwise and few output channels, gemm otherwise', () => {
    const g = new Generator(5);
    // Through the binding: conv2d runs the d2l sizes in JS (lib/ops/tiny.ts).
    const pathOf = (xs: number[], ws: number[], o: { groups?: number; padding?: number; stride?: number } = {}): string => {
      const [c, h, w] = xs, [co, , kh, kw] = ws, p = o.padding ?? 0, st = o.stride ?? 1;
      const s: NativeConvCase = { n: 1, c, h, w, co, kh, kw, stride: [st, st], pad: [p, p, p, p], dil: [1, 1], groups: o.groups ?? 1, bias: false };
      runNativeConv(s, randn(g, xs, 'float32'), randn(g, ws, 'float32'), null);
      return binding._lastConv2d().path;
    };
    expect(pathOf([3, 3, 3], [2, 3, 1, 1])).toBe('pointwise');
    expect(pathOf([1, 6, 8], [1, 1, 1, 2])).toBe('direct');
    expect(pathOf([8, 10, 10], [8, 1, 3, 3], { groups: 8, padding: 1 })).toBe('direct');
    // few output pixels and >= 32 channels: the transposed implicit GEMM where the ISA has its kernel
    expect(pathOf([16, 10, 10], [32, 16, 3, 3], { padding: 1 })).toMatch(/^gemm(-t)?$/);
    expect(pathOf([16, 10, 10], [32, 16, 1, 1], { padding: 1 })).toMatch(/^gemm(-t)?$/);
    // many output pixels, unit column stride, >= 32 channels: tiles read in place where the ISA has the kernel
    expect(pathOf([16, 20, 20], [32, 16, 3, 3], { padding: 1 })).toMatch(/^(gemm|direct-t)$/);
    expect(pathOf([16, 20, 20], [32, 16, 3, 3], { padding: 1, stride: 2 })).toMatch(/^gemm(-t)?$/);
    // column stride 2 reads in place too when the reduction is deep enough; the 3-channel 7x7 stem stays on gemm
    const own = binding.backendInfo().isa === 'avx512';
    expect(pathOf([32, 112, 112], [64, 32, 3, 3], { padding: 1, stride: 2 })).toBe(own ? 'direct-t' : 'gemm');
    expect(pathOf([3, 224, 224], [64, 3, 7, 7], { padding: 3, stride: 2 })).toBe('gemm');
  });

  it('extra memory: the packed weights once per call plus one packed input block per thread', () => {
    const { mr, kc, nc } = binding.backendInfo().blocking.float32;
    const g = new Generator(6);
    const [cin, cout, k] = [64, 64, 3];
    const x = randn(g, [1, cin, 56, 56], 'float32'), w = randn(g, [cout, cin, k, k], 'float32');
    binding._setConvPath('gemm');
    conv2d(x, w, { padding: 1 });
    binding._setConvPath('auto');
    const info = binding._lastConv2d();
    expect(info.path).toBe('gemm');
    const K = cin * k * k;
    expect(info.packedWeightBytes).toBe(4 * Math.ceil(cout / mr) * mr * K);
    expect(info.tileBytesPerThread).toBeLessThanOrEqual(4 * Math.min(kc, K) * nc);
    expect(info.tileBytesPerThread).toBeGreaterThan(0);
    // far below a full im2col matrix (K x 56*56)
    expect(info.tileBytesPerThread * info.threads).toBeLessThan(4 * K * 56 * 56 / 2);
    // direct-t: W^T of up to 64 channels (K x 64) per thread, one output row's strips and partial sums,
    // and the bands of the two tiles on the left and right padding (at most 256 KiB)
    binding._setConvPath('direct-t');
    conv2d(x, w, { padding: 1 });
    binding._setConvPath('auto');
    const dt = binding._lastConv2d();
    if (dt.path === 'direct-t') {
      expect(dt.packedWeightBytes).toBe(4 * K * 64 * dt.threads);
      expect(dt.tileBytesPerThread).toBeLessThan(4 * K * 56 + 256 * 1024);
      expect(dt.tileBytesPerThread).toBeGreaterThan(2 * 4 * 64 * 9 * 3); // two bands of at least one window
    }
  });
});

// ---------------------------------------------------------------------------
// Identities.
// ---------------------------------------------------------------------------
describe('identities, bit for bit', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    it(`${dtype}: a 1x1 convolution is the matmul of the reshaped weight and input (also per group)`, () => {
      const g = new Generator(dtype === 'float32' ? 201 : 202);
      for (const [n, ci, co, h, w, groups] of [[1, 3, 2, 3, 3, 1], [2, 64, 70, 9, 11, 1], [3, 300, 5, 4, 6, 1], [1, 256, 64, 14, 14, 1], [2, 8, 12, 5, 7, 4], [1, 4, 4, 33, 40, 2]]) {
        const X = randn(g, [n, ci, h, w], dtype), K = randn(g, [co, ci / groups, 1, 1], dtype);
        const Y = conv2d(X, K, { groups });
        const parts: Tensor[] = [];
        const cg = ci / groups, og = co / groups;
        for (let gi = 0; gi < groups; gi++) {
          const Kg = fromTypedArray(K.data.slice(gi * og * cg, (gi + 1) * og * cg) as Float32Array, [og, cg]);
          const imgs: Tensor[] = [];
          for (let b = 0; b < n; b++) {
            const off = (b * ci + gi * cg) * h * w;
            imgs.push(matmul(Kg, fromTypedArray(X.data.slice(off, off + cg * h * w) as Float32Array, [cg, h * w])).reshape(1, og, h, w));
          }
          parts.push(cat(imgs, 0));
        }
        const M = cat(parts, 1);
        expect(firstBitDifference(Y.data, M.data), `n ${n} ci ${ci} co ${co} ${h}x${w} groups ${groups}`).toBe(-1);
      }
    });

    it(`${dtype}: a dilated convolution is a convolution with a zero-stuffed kernel`, () => {
      const g = new Generator(dtype === 'float32' ? 203 : 204);
      for (const [ci, co, h, w, kh, kw, dh, dw, pad, stride] of [[3, 4, 11, 12, 3, 3, 2, 2, 2, 1], [2, 20, 15, 13, 2, 3, 3, 2, 1, 2], [4, 2, 9, 30, 3, 2, 1, 4, 0, 1], [16, 16, 10, 10, 3, 3, 2, 2, 2, 1]]) {
        const X = randn(g, [1, ci, h, w], dtype), K = randn(g, [co, ci, kh, kw], dtype);
        const ekh = dh * (kh - 1) + 1, ekw = dw * (kw - 1) + 1;
        const stuffed = dtype === 'float64' ? new Float64Array(co * ci * ekh * ekw) : new Float32Array(co * ci * ekh * ekw);
        for (let o = 0; o < co * ci; o++) {
          for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) stuffed[(o * ekh + i * dh) * ekw + j * dw] = K.data[(o * kh + i) * kw + j];
        }
        const Yd = conv2d(X, K, { dilation: [dh, dw], padding: pad, stride });
        const Ys = conv2d(X, fromTypedArray(stuffed, [co, ci, ekh, ekw]), { padding: pad, stride });
        expect([...Yd.shape]).toEqual([...Ys.shape]);
        expect(firstBitDifference(Yd.data, Ys.data), `ci ${ci} co ${co} ${h}x${w} k ${kh}x${kw} d ${dh},${dw}`).toBe(-1);
      }
    });

    it(`${dtype}: groups = g is g separate convolutions concatenated over channels`, () => {
      const g = new Generator(dtype === 'float32' ? 205 : 206);
      for (const [n, ci, co, h, w, k, groups, pad, stride] of [[2, 4, 6, 7, 7, 3, 2, 1, 1], [1, 12, 24, 9, 10, 3, 3, 1, 2], [1, 6, 6, 8, 8, 3, 6, 1, 1], [1, 6, 12, 8, 9, 2, 6, 0, 1], [1, 64, 64, 12, 12, 3, 2, 1, 1]]) {
        const X = randn(g, [n, ci, h, w], dtype), K = randn(g, [co, ci / groups, k, k], dtype), B = randn(g, [co], dtype);
        const Y = conv2d(X, K, { bias: B, groups, padding: pad, stride });
        const cg = ci / groups, og = co / groups;
        const parts: Tensor[] = [];
        for (let gi = 0; gi < groups; gi++) {
          const xs: Tensor[] = [];
          for (let b = 0; b < n; b++) {
            const off = (b * ci + gi * cg) * h * w;
            xs.push(fromTypedArray(X.data.slice(off, off + cg * h * w) as Float32Array, [1, cg, h, w]));
          }
          const Kg = fromTypedArray(K.data.slice(gi * og * cg * k * k, (gi + 1) * og * cg * k * k) as Float32Array, [og, cg, k, k]);
          const Bg = fromTypedArray(B.data.slice(gi * og, (gi + 1) * og) as Float32Array, [og]);
          parts.push(conv2d(cat(xs, 0), Kg, { bias: Bg, padding: pad, stride }));
        }
        expect(firstBitDifference(Y.data, cat(parts, 1).data), `n ${n} ci ${ci} co ${co} groups ${groups}`).toBe(-1);
      }
    });

    it(`${dtype}: padding 'same' is PyTorch's explicit padding (the odd one out at the bottom and right)`, () => {
      const g = new Generator(dtype === 'float32' ? 207 : 208);
      for (const [kh, kw, dh, dw] of [[3, 3, 1, 1], [2, 4, 1, 1], [4, 4, 2, 1], [2, 2, 1, 3], [5, 2, 2, 2]]) {
        const [n, ci, co, h, w] = [1, 3, 4, 9, 10];
        const X = randn(g, [n, ci, h, w], dtype), K = randn(g, [co, ci, kh, kw], dtype);
        const Y = conv2d(X, K, { padding: 'same', dilation: [dh, dw] });
        expect([...Y.shape]).toEqual([n, co, h, w]);
        const th = dh * (kh - 1), tw = dw * (kw - 1);
        const s: Shape = { n, c: ci, h, w, co, kh, kw, stride: [1, 1], pad: [th >> 1, th - (th >> 1), tw >> 1, tw - (tw >> 1)], dil: [dh, dw], groups: 1, bias: false };
        expect(firstBitDifference(Y.data, runNative(s, X, K, null).data)).toBe(-1);
        if (dtype === 'float32') {
          expectBits(Y, naiveConv2d(X.data, [n, ci, h, w], K.data, [co, ci, kh, kw], dtype, { padding: 'same', dilation: [dh, dw] }).data, `'same' k ${kh}x${kw}`);
        }
      }
    });
  }

  it('an infinite weight over the padding gives NaN on every path (fma(0, inf, acc), as im2col)', () => {
    for (const path of ['reference', 'direct', 'gemm', 'gemm-t', 'direct-t'] as const) {
      binding._setConvPath(path as 'gemm');
      for (const dtype of ['float32', 'float64'] as const) {
        const x = fromTypedArray(dtype === 'float64' ? new Float64Array(4).fill(1) : new Float32Array(4).fill(1), [1, 1, 2, 2]);
        const wd = dtype === 'float64' ? new Float64Array(9).fill(1) : new Float32Array(9).fill(1);
        wd[0] = Infinity;
        expect(Array.from(conv2d(x, fromTypedArray(wd, [1, 1, 3, 3]), { padding: 1 }).data), `${path} ${dtype}`).toEqual([NaN, NaN, NaN, Infinity]);
      }
    }
    binding._setConvPath('auto');
  });
});
