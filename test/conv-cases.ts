// conv2d argument sets for the tests that call the native binding directly
// (asymmetric padding is not reachable through the API except by 'same').
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

/** binding.conv2d into an output filled with NaN first: every element must be written. */
export function runNativeConv(s: NativeConvCase, x: Tensor, w: Tensor, b: Tensor | null): Float32Array | Float64Array {
  const [n, co, oh, ow] = outShape(s);
  const out = x.dtype === 'float64' ? new Float64Array(n * co * oh * ow) : new Float32Array(n * co * oh * ow);
  out.fill(NaN);
  native().conv2d(x.data, w.data, b ? b.data : null, out, s.n, s.c, s.h, s.w, s.co, s.kh, s.kw, ...s.stride, ...s.pad, ...s.dil, s.groups);
  return out;
}
