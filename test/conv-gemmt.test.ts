// The transposed implicit GEMM ('gemm-t': output pixels as the GEMM's rows,
// output channels as its vectors) against the reference loops, bit for bit:
// several KC blocks, channel counts that are not a multiple of the tile,
// groups, strides, dilation, asymmetric padding, bias, fp32 and fp64, every
// ISA and 1 to 3 threads.
import { describe, expect, it } from 'vitest';
import { firstBitDifference } from './bits';
import { GEMMT_SHAPES, NativeConvCase, describeCase, restoreNativeAfterAll, runNativeConv } from './conv-cases';

import { Generator, Tensor, fromTypedArray, getNumThreads, normal, setNumThreads } from '../lib/index';
import { native } from '../lib/native';

type DT = 'float32' | 'float64';
const binding = native();
const defaultThreads = getNumThreads();
restoreNativeAfterAll();
const SHAPES = GEMMT_SHAPES;


describe("the transposed implicit GEMM ('gemm-t')", () => {
  for (const dtype of ['float32', 'float64'] as DT[]) {
    it(`${dtype}: same bits as the reference loops on every ISA and 1 to 3 threads`, () => {
      const g = new Generator(dtype === 'float32' ? 301 : 302);
      for (const s of SHAPES) {
        const x = normal(0, 1, [s.n, s.c, s.h, s.w], { generator: g, dtype });
        const w = normal(0, 1, [s.co, s.c / s.groups, s.kh, s.kw], { generator: g, dtype });
        const b = s.bias ? normal(0, 1, [s.co], { generator: g, dtype }) : null;
        binding._setConvPath('reference');
        const want = runNativeConv(s, x, w, b);
        for (const isa of binding.backendInfo().supportedIsas) {
          binding._setIsa(isa as 'avx512');
          for (const threads of [1, 2, 3]) {
            setNumThreads(threads);
            binding._setConvPath('gemm-t');
            const got = runNativeConv(s, x, w, b);
            expect(binding._lastConv2d().path, describeCase(s)).toBe('gemm-t');
            expect(firstBitDifference(got, want), `${isa} ${threads} threads ${describeCase(s)}`).toBe(-1);
          }
        }
        binding._setIsa('auto');
        setNumThreads(defaultThreads);
      }
      binding._setConvPath('auto');
    });
  }

  it('extra memory: W^T blocks and the im2col^T of one image per thread, far below the packed weights', () => {
    const g = new Generator(304);
    const [cin, cout] = [512, 512];
    const x = normal(0, 1, [1, cin, 7, 7], { generator: g }), w = normal(0, 1, [cout, cin, 3, 3], { generator: g });
    binding._setConvPath('gemm-t');
    const s: NativeConvCase = { n: 1, c: cin, h: 7, w: 7, co: cout, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], groups: 1, bias: false };
    runNativeConv(s, x, w, null);
    const info = binding._lastConv2d();
    binding._setConvPath('auto');
    expect(info.path).toBe('gemm-t');
    expect(info.packedWeightBytes).toBeLessThan(4 * cout * cin * 9 / 4);
    expect(info.tileBytesPerThread).toBeLessThanOrEqual(2 * 1024 * 1024 + 4 * 49 * cout);
  });

  it("direct-t (tiles of 7 pixels read in place): same bits as the reference loops, fp32, 1 to 3 threads", () => {
    const g = new Generator(305);
    for (const s of [
      { n: 1, c: 64, h: 56, w: 56, co: 64, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], groups: 1, bias: true },
      { n: 2, c: 24, h: 17, w: 23, co: 70, kh: 3, kw: 3, stride: [1, 1], pad: [0, 2, 1, 0], dil: [1, 1], groups: 1, bias: false },
      { n: 1, c: 30, h: 20, w: 19, co: 40, kh: 3, kw: 2, stride: [2, 1], pad: [2, 2, 2, 2], dil: [2, 3], groups: 2, bias: true },
      { n: 1, c: 300, h: 12, w: 30, co: 33, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], groups: 1, bias: false },
      { n: 1, c: 5, h: 3, w: 3, co: 130, kh: 1, kw: 1, stride: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], groups: 1, bias: true },
      { n: 1, c: 9, h: 40, w: 6, co: 64, kh: 5, kw: 5, stride: [1, 1], pad: [2, 2, 2, 2], dil: [1, 1], groups: 1, bias: false },
      // bands of the edge tiles in several chunks of output rows (256 channels), row stride 2, dilated rows
      { n: 1, c: 256, h: 40, w: 29, co: 40, kh: 3, kw: 3, stride: [2, 1], pad: [1, 1, 2, 2], dil: [2, 1], groups: 1, bias: true },
    ] as NativeConvCase[]) {
      const x = normal(0, 1, [s.n, s.c, s.h, s.w], { generator: g });
      const w = normal(0, 1, [s.co, s.c / s.groups, s.kh, s.kw], { generator: g });
      const b = s.bias ? normal(0, 1, [s.co], { generator: g }) : null;
      binding._setConvPath('reference');
      const want = runNativeConv(s, x, w, b);
      for (const threads of [1, 2, 3]) {
        setNumThreads(threads);
        binding._setConvPath('direct-t');
        const got = runNativeConv(s, x, w, b);
        if (binding.backendInfo().isa === 'avx512') expect(binding._lastConv2d().path, describeCase(s)).toBe('direct-t');
        expect(firstBitDifference(got, want), `${threads} threads ${describeCase(s)}`).toBe(-1);
      }
    }
    setNumThreads(defaultThreads);
    binding._setConvPath('auto');
  });

  it('forced on more than 256 output pixels: pixel blocks, same bits', () => {
    const g = new Generator(303);
    for (const s of [
      { n: 2, c: 40, h: 30, w: 31, co: 70, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], groups: 1, bias: true },
      { n: 1, c: 600, h: 20, w: 20, co: 64, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], groups: 1, bias: false },
    ] as NativeConvCase[]) {
      const x = normal(0, 1, [s.n, s.c, s.h, s.w], { generator: g }), w = normal(0, 1, [s.co, s.c, s.kh, s.kw], { generator: g });
      const b = s.bias ? normal(0, 1, [s.co], { generator: g }) : null;
      binding._setConvPath('reference');
      const want = runNativeConv(s, x, w, b);
      for (const threads of [1, 2]) {
        setNumThreads(threads);
        binding._setConvPath('gemm-t');
        const got = runNativeConv(s, x, w, b);
        expect(binding._lastConv2d().path).toBe('gemm-t');
        expect(firstBitDifference(got, want), `${threads} threads ${describeCase(s)}`).toBe(-1);
      }
    }
    setNumThreads(defaultThreads);
    binding._setConvPath('auto');
  });
});
