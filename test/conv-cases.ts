// conv2d argument sets for the tests that call the native binding directly
// (asymmetric padding is not reachable through the API except by 'same').
import { afterAll } from 'vitest';

import { getNumThreads, setNumThreads } from '../lib/index';
import type { Tensor } from '../lib/index';
import { native } from '../lib/native';

export interface NativeConvCase {
  n: number; c: number; h: number; w: number; co: number; kh: number; kw: number;
  stride: [number, number]; pad: [number, number, number, number]; dil: [number, number]; groups: number; bias: boolean;
}

export const describeCase = (s: NativeConvCase): string =>
  `x [${s.n},${s.c},${s.h},${s.w}] w [${s.co},${s.c / s.groups},${s.kh},${s.kw}] stride ${s.stride} pad ${s.pad} dil ${s.dil} groups ${s.groups}${s.bias ? ' bias' : ''}`;

/** The output's [n, cout, oh, ow]. */
export function outShape(s: NativeConvCase): [number, number, number, number] {
  const oh = Math.floor((s.h + s.pad[0] + s.pad[1] - s.dil[0] * (s.kh - 1) - 1) / s.stride[0]) + 1;
  const ow = Math.floor((s.w + s.pad[2] + s.pad[3] - s.dil[1] * (s.kw - 1) - 1) / s.stride[1]) + 1;
  return [s.n, s.co, oh, ow];
}

/** The 16 sizes of the native call's Float64Array form, n .. groups. */
export function convSizes(s: NativeConvCase): Float64Array {
  return Float64Array.from([s.n, s.c, s.h, s.w, s.co, s.kh, s.kw, ...s.stride, ...s.pad, ...s.dil, s.groups]);
}

/**
 * binding.conv2d into an output filled with NaN first: every element must be
 * written. With `packed` (conv2dPack's buffer, or null), the sizes-array call
 * that takes weights packed ahead.
 */
export function runNativeConv(s: NativeConvCase, x: Tensor, w: Tensor, b: Tensor | null,
  packed?: ArrayBuffer | null): Float32Array | Float64Array {
  const [n, co, oh, ow] = outShape(s);
  const out = x.dtype === 'float64' ? new Float64Array(n * co * oh * ow) : new Float32Array(n * co * oh * ow);
  out.fill(NaN);
  if (packed !== undefined) native().conv2d(x.data, w.data, b ? b.data : null, out, convSizes(s), packed);
  else native().conv2d(x.data, w.data, b ? b.data : null, out, s.n, s.c, s.h, s.w, s.co, s.kh, s.kw, ...s.stride, ...s.pad, ...s.dil, s.groups);
  return out;
}

/**
 * Shapes for the transposed implicit GEMM (gemm-t: test/conv-gemmt.test.ts,
 * and its packed weights: test/conv-packed.test.ts): several depth blocks,
 * channel counts off the tile, groups, strides, dilation, asymmetric
 * padding, bias, one output pixel and the most pixels the path takes.
 */
export const GEMMT_SHAPES: NativeConvCase[] = [
  // 512 x 7^2 -> 64: twelve KC blocks, 49 pixels
  { n: 1, c: 512, h: 7, w: 7, co: 64, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], groups: 1, bias: false },
  // two KC blocks, 100 channels (not a multiple of the tile), bias, two images
  { n: 2, c: 64, h: 7, w: 7, co: 100, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], groups: 1, bias: true },
  // groups, stride 2, asymmetric padding
  { n: 2, c: 48, h: 9, w: 11, co: 40, kh: 3, kw: 3, stride: [2, 2], pad: [1, 0, 2, 1], dil: [1, 1], groups: 2, bias: true },
  // 196 pixels, dilation 2, 33 channels
  { n: 1, c: 20, h: 16, w: 16, co: 33, kh: 3, kw: 3, stride: [1, 1], pad: [2, 2, 2, 2], dil: [2, 2], groups: 1, bias: false },
  // one output pixel, stride 3 columns
  { n: 3, c: 9, h: 3, w: 5, co: 17, kh: 3, kw: 3, stride: [1, 3], pad: [0, 0, 0, 0], dil: [1, 1], groups: 1, bias: true },
  // one image, several channel blocks: the im2col^T packed once, split over the threads
  { n: 1, c: 256, h: 7, w: 7, co: 256, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], groups: 1, bias: true },
  { n: 1, c: 100, h: 9, w: 9, co: 130, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], groups: 1, bias: false },
  // a reduction of 2 rows: each 7-pixel panel shorter than one vector
  // (pack_b stores every row of it masked)
  { n: 1, c: 2, h: 5, w: 5, co: 20, kh: 1, kw: 1, stride: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], groups: 1, bias: true },
  // 256 pixels and a depth of 2070: the im2col^T packed per depth block, and
  // on one thread one 128-channel block (an output tile of two 64-wide blocks)
  { n: 1, c: 230, h: 16, w: 16, co: 100, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], groups: 1, bias: true },
  // 256 pixels (the largest the path takes), 1x1 with padding
  { n: 1, c: 30, h: 14, w: 14, co: 70, kh: 1, kw: 1, stride: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], groups: 1, bias: true },
  // 3x3 with padding 1 on images 7, 14, 21 and 28 wide (each 7-pixel panel
  // in one output row: the AVX-512 im2col^T by permutes): one row (padding
  // above and below at once), two rows, groups (loads near each group's
  // ends), one input channel, two images, 12 rows
  { n: 1, c: 40, h: 1, w: 7, co: 64, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], groups: 1, bias: true },
  { n: 2, c: 3, h: 2, w: 7, co: 20, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], groups: 1, bias: false },
  { n: 2, c: 24, h: 5, w: 7, co: 69, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], groups: 3, bias: true },
  { n: 1, c: 1, h: 7, w: 7, co: 64, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], groups: 1, bias: false },
  { n: 1, c: 33, h: 12, w: 7, co: 65, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], groups: 1, bias: true },
  { n: 1, c: 20, h: 1, w: 14, co: 64, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], groups: 1, bias: false },
  { n: 2, c: 1, h: 6, w: 14, co: 30, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], groups: 1, bias: true },
  { n: 1, c: 16, h: 4, w: 21, co: 40, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], groups: 2, bias: true },
  { n: 1, c: 9, h: 9, w: 28, co: 64, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1, 1, 1], dil: [1, 1], groups: 1, bias: false },
];

/** Puts the conv path, the ISA and the thread count back after a file's tests. */
export function restoreNativeAfterAll(): void {
  const threads = getNumThreads();
  afterAll(() => {
    native()._setConvPath('auto');
    native()._setIsa('auto');
    setNumThreads(threads);
  });
}
