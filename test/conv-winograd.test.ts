// packConv2d's winograd option (native conv2d_winograd_*: Winograd F(2x2,
// 3x3)): its results against the seven-loop reference within a stated
// bound (it does not keep conv2d's bits, by design), on every ISA and 1 to 3
// threads, odd sizes, padding on any side, groups, bias, batches and
// float64; where it applies and where run() keeps conv2d's own path and
// bits; and a native side that checks the transformed weights it is given.
import { describe, expect, it } from 'vitest';
import { firstBitDifference } from './bits';
import { NativeConvCase, convSizes, describeCase, outShape, restoreNativeAfterAll, runNativeConv } from './conv-cases';
import { RefResult, conv2d as refConv2d, firstViolation } from './reference';

import { Generator, Tensor, conv2d, normal, packConv2d, setNumThreads } from '../lib/index';
import { native } from '../lib/native';

type DT = 'float32' | 'float64';
const binding = native();
restoreNativeAfterAll();

/**
 * Winograd's bound: four times the classic one of a sum in any order
 * (errorBound: 2 (terms + 2) u sum|products|). Its transforms add and
 * subtract up to 16 inputs, weights and products per output (the transform
 * matrices' entries are 0, +-1/2 and +-1), which stays well inside the
 * factor; a wrong transform, tile or edge is off by about |y| itself.
 */
const WINOGRAD_BOUND_FACTOR = 4;

const abs = (t: Tensor): Tensor => t.abs();

// Through the native binding: any padding on each side. Odd sizes (an odd
// last tile row and column), tiles wider than a vector, groups, batches.
const CASES: NativeConvCase[] = [
  { n: 1, c: 3, h: 3, w: 3, co: 2, kh: 3, kw: 3, stride: [1, 1], pad: [0, 0, 0, 0], dil: [1, 1], groups: 1, bias: false },
  { n: 2, c: 5, h: 9, w: 11, co: 3, kh: 3, kw: 3, stride: [1, 1], pad: [0, 1, 2, 0], dil: [1, 1], groups: 1, bias: true },
  { n: 1, c: 6, h: 5, w: 4, co: 4, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], groups: 2, bias: true },
  { n: 3, c: 17, h: 33, w: 35, co: 19, kh: 3, kw: 3, stride: [1, 1], pad: [2, 0, 1, 1], dil: [1, 1], groups: 1, bias: false },
  { n: 1, c: 40, h: 12, w: 70, co: 36, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], groups: 4, bias: true },
  { n: 1, c: 2, h: 1, w: 1, co: 3, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], groups: 1, bias: true },
];

/**
 * The exact result (native reference loops in float64) as a RefResult: the
 * sums of |products| are the same loops on |x|, |w|, |b|.
 */
function exactOf(s: NativeConvCase, x: Tensor, w: Tensor, b: Tensor | null): RefResult {
  binding._setConvPath('reference');
  const f64 = (t: Tensor): Tensor => new Tensor(Float64Array.from(t.data), t.shape);
  const x64 = f64(x), w64 = f64(w), b64 = b === null ? null : f64(b);
  const data = Array.from(runNativeConv(s, x64, w64, b64));
  const absSum = Array.from(runNativeConv(s, abs(x64), abs(w64), b64 === null ? null : abs(b64)));
  binding._setConvPath('auto');
  return { shape: outShape(s), data, absSum, terms: (s.c / s.groups) * s.kh * s.kw + (s.bias ? 1 : 0) };
}

describe('Winograd F(2x2, 3x3) (native conv2d_winograd_*)', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    it(`${dtype}: within ${WINOGRAD_BOUND_FACTOR}x the classic bound of the exact sum, every ISA, 1 to 3 threads, every element written`, () => {
      const g = new Generator(dtype === 'float32' ? 601 : 602);
      const isas = binding.backendInfo().supportedIsas;
      for (const s of CASES) {
        const x = normal(0, 1, [s.n, s.c, s.h, s.w], { generator: g, dtype });
        const w = normal(0, 1, [s.co, s.c / s.groups, s.kh, s.kw], { generator: g, dtype });
        const b = s.bias ? normal(0, 1, [s.co], { generator: g, dtype }) : null;
        const exact = exactOf(s, x, w, b);
        for (const isa of isas) {
          binding._setIsa(isa as 'avx512');
          // Packed for this ISA's GEMM (made under another it would be ignored: below).
          const u = binding.conv2dWinogradPack(w.data, s.co, s.c / s.groups, s.groups);
          for (const threads of [1, 2, 3]) {
            setNumThreads(threads);
            // Forced: these shapes are below where it pays (auto would take conv2d's path).
            binding._setConvPath('winograd');
            const [n, co, oh, ow] = outShape(s);
            const out = dtype === 'float32' ? new Float32Array(n * co * oh * ow) : new Float64Array(n * co * oh * ow);
            out.fill(NaN);
            binding.conv2d(x.data, w.data, b ? b.data : null, out, convSizes(s), null, u);
            expect(binding._lastConv2d().path).toBe('winograd');
            expect(firstViolation(out, exact, dtype, WINOGRAD_BOUND_FACTOR), `${isa}, ${threads} threads: ${describeCase(s)}`).toBeNull();
          }
        }
        binding._setIsa('auto');
        binding._setConvPath('auto');
      }
    });
  }

  it('the bound is not loose: float32 ResNet-size layers land within 3e-6 of the largest output', () => {
    const g = new Generator(603);
    const s: NativeConvCase = { n: 1, c: 64, h: 28, w: 28, co: 64, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], groups: 1, bias: true };
    const x = normal(0, 1, [s.n, s.c, s.h, s.w], { generator: g });
    const w = normal(0, 0.05, [s.co, s.c, 3, 3], { generator: g });
    const b = normal(0, 1, [s.co], { generator: g });
    const want = exactOf(s, x, w, b).data;
    const layer = packConv2d(w, { padding: 1, bias: b, winograd: true });
    const got = layer.run(x).data;
    expect(binding._lastConv2d().path).toBe('winograd');
    let err = 0, top = 0;
    for (let i = 0; i < got.length; i++) {
      err = Math.max(err, Math.abs(got[i] - want[i]));
      top = Math.max(top, Math.abs(want[i]));
    }
    expect(err / top).toBeLessThan(3e-6);
    expect(err).toBeGreaterThan(0); // not conv2d's exact sum either
  });
});

describe('Winograd weights packed under another ISA', () => {
  it("are ignored: conv2d's path and bits", () => {
    const isas = binding.backendInfo().supportedIsas;
    if (isas.length < 2) return; // one ISA: nothing to switch
    const g = new Generator(607);
    const s: NativeConvCase = { n: 1, c: 40, h: 16, w: 16, co: 36, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], groups: 1, bias: true };
    const x = normal(0, 1, [s.n, s.c, s.h, s.w], { generator: g });
    const w = normal(0, 1, [s.co, s.c, 3, 3], { generator: g });
    const b = normal(0, 1, [s.co], { generator: g });
    setNumThreads(1);
    binding._setIsa(isas[0] as 'avx512');
    const u = binding.conv2dWinogradPack(w.data, s.co, s.c, 1);
    binding._setIsa(isas[1] as 'avx512');
    const want = runNativeConv(s, x, w, b);
    const [n, co, oh, ow] = outShape(s);
    const out = new Float32Array(n * co * oh * ow).fill(NaN);
    binding.conv2d(x.data, w.data, b.data, out, convSizes(s), null, u);
    expect(binding._lastConv2d().path).not.toBe('winograd');
    expect(firstBitDifference(out, want)).toBe(-1);
    binding._setIsa('auto');
  });
});

describe("packConv2d's winograd option", () => {
  it('runs Winograd where it pays, within the bound, and sync, async and out agree', async () => {
    const g = new Generator(604);
    const x = normal(0, 1, [2, 32, 14, 15], { generator: g });
    const w = normal(0, 1, [48, 32, 3, 3], { generator: g });
    const b = normal(0, 1, [48], { generator: g });
    setNumThreads(1);
    const layer = packConv2d(w, { padding: 'same', bias: b, winograd: true });
    expect(layer.winograd).toBe(true);
    const y = layer.run(x);
    expect(binding._lastConv2d().path).toBe('winograd');
    const ref = refConv2d(Array.from(x.data), x.shape, Array.from(w.data), w.shape, { padding: 1, bias: Array.from(b.data) });
    expect(y.shape).toEqual(ref.shape);
    expect(firstViolation(y.data, ref, 'float32', WINOGRAD_BOUND_FACTOR)).toBeNull();
    const target = conv2d(x, w, { padding: 1, bias: b }).mul(0);
    expect(layer.run(x, { out: target })).toBe(target);
    expect(firstBitDifference(target.data, y.data)).toBe(-1);
    const ya = await layer.runAsync(x);
    expect(firstBitDifference(ya.data, y.data)).toBe(-1);
    setNumThreads(2);
    const y2 = layer.run(x);
    expect(firstViolation(y2.data, ref, 'float32', WINOGRAD_BOUND_FACTOR)).toBeNull();
  });

  it("keeps conv2d's path and bits where Winograd would not pay or does not apply", () => {
    const g = new Generator(605);
    setNumThreads(1);
    const cases: Array<{ x: number[]; w: number[]; opts: { padding?: number; stride?: number; dilation?: number }; winograd: boolean }> = [
      { x: [1, 8, 20, 20], w: [8, 8, 3, 3], opts: { padding: 1 }, winograd: true }, // few channels
      { x: [1, 64, 7, 7], w: [64, 64, 3, 3], opts: { padding: 1 }, winograd: true }, // 16 tiles
      { x: [1, 32, 20, 20], w: [32, 32, 3, 3], opts: { padding: 1, stride: 2 }, winograd: false }, // stride 2
      { x: [1, 32, 20, 20], w: [32, 32, 3, 3], opts: { padding: 2, dilation: 2 }, winograd: false },
      { x: [1, 32, 20, 20], w: [32, 32, 5, 5], opts: { padding: 2 }, winograd: false }, // 5x5
    ];
    for (const c of cases) {
      const x = normal(0, 1, c.x, { generator: g });
      const w = normal(0, 1, c.w, { generator: g });
      const layer = packConv2d(w, { ...c.opts, winograd: true });
      expect(layer.winograd, JSON.stringify(c)).toBe(c.winograd);
      const want = conv2d(x, w, c.opts);
      const got = layer.run(x);
      expect(binding._lastConv2d().path).not.toBe('winograd');
      expect(firstBitDifference(got.data, want.data), JSON.stringify(c)).toBe(-1);
    }
    // Without the option: never.
    expect(packConv2d(normal(0, 1, [64, 64, 3, 3]), { padding: 1 }).winograd).toBe(false);
    // A wide depthwise layer: its Winograd packing would be ~25x its weights
    // (each group rounded up to the GEMM's rows) and Winograd never runs on
    // one channel per group, so none is made; run is conv2d.
    const dw = normal(0, 1, [8192, 1, 3, 3]);
    const layer = packConv2d(dw, { groups: 8192, padding: 1, winograd: true });
    expect(layer.winograd).toBe(false);
    const x = normal(0, 1, [1, 8192, 4, 4]);
    expect(firstBitDifference(layer.run(x).data, conv2d(x, dw, { groups: 8192, padding: 1 }).data)).toBe(-1);
  });

  it('a conv path forced by the test hook wins over Winograd (conv2d bits)', () => {
    const g = new Generator(606);
    const x = normal(0, 1, [1, 64, 20, 20], { generator: g });
    const w = normal(0, 1, [64, 64, 3, 3], { generator: g });
    const layer = packConv2d(w, { padding: 1, winograd: true });
    setNumThreads(1);
    layer.run(x);
    expect(binding._lastConv2d().path).toBe('winograd');
    binding._setConvPath('gemm');
    const got = layer.run(x);
    binding._setConvPath('auto');
    expect(firstBitDifference(got.data, conv2d(x, w, { padding: 1 }).data)).toBe(-1);
  });

  it('checks the option', () => {
    const w = normal(0, 1, [4, 4, 3, 3]);
    expect(() => packConv2d(w, { winograd: 'yes' as unknown as boolean })).toThrow(TypeError);
    expect(() => packConv2d(w, { winograd: 'yes' as unknown as boolean })).toThrow(/packConv2d: winograd must be a boolean/);
    expect(() => packConv2d(w, { winograd: undefined }).run(normal(0, 1, [1, 4, 5, 5]))).not.toThrow();
    // No output channels: PyTorch's error, before the option matters.
    expect(() => packConv2d(normal(0, 1, [0, 4, 3, 3]), { winograd: true })).toThrow(/^packConv2d: Given groups=1, expected weight to be at least 1/);
  });
});

describe("the native side checks Winograd's weights before reading them", () => {
  it('wrong shape, wrong conv2d, short, not from conv2dWinogradPack, not an ArrayBuffer', () => {
    const s: NativeConvCase = { n: 1, c: 8, h: 6, w: 6, co: 4, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], groups: 1, bias: false };
    const x = normal(0, 1, [1, 8, 6, 6]);
    const w = normal(0, 1, [4, 8, 3, 3]);
    const u = binding.conv2dWinogradPack(w.data, 4, 8, 1)!; // small: always made
    const [n, co, oh, ow] = outShape(s);
    const out = new Float32Array(n * co * oh * ow).fill(7);
    const call = (sh: NativeConvCase, buf: unknown) => () =>
      binding.conv2d(x.data, w.data, null, out, convSizes(sh), null, buf as ArrayBuffer);
    expect(call(s, u)).not.toThrow();
    const fine = Float32Array.from(out);
    out.fill(7);
    // Made from weights of another shape.
    const other = binding.conv2dWinogradPack(w.data.subarray(0, 2 * 72), 2, 8, 1);
    expect(call(s, other)).toThrow(/winograd.*not made from 3x3 weights of this shape/);
    // This conv2d is not 3x3 stride 1 (the same weights read as a stride-2 call).
    expect(call({ ...s, stride: [2, 2] }, u)).toThrow(RangeError);
    // Cut short, its header kept; a regular packing; random bytes.
    expect(call(s, u.slice(0, 128))).toThrow(/winograd.*too short/);
    const packed = binding.conv2dPack(w.data, 4, 72, 1);
    if (packed !== null) expect(call(s, packed)).toThrow(RangeError);
    expect(call(s, new ArrayBuffer(16))).toThrow(RangeError);
    expect(call(s, new Float32Array(64))).toThrow(TypeError);
    expect(Array.from(out).every((v) => v === 7)).toBe(true); // nothing written on a refused call
    // conv2dWinogradPack checks its own arguments.
    expect(() => binding.conv2dWinogradPack(w.data, 5, 8, 1)).toThrow(RangeError);
    expect(() => binding.conv2dWinogradPack(w.data, 4, 8, 3)).toThrow(/argument 'groups' \(\d+\) must divide 'cout'/);
    expect(fine.some((v) => v !== 7)).toBe(true);
  });
});
