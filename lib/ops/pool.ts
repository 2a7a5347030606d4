// maxPool2d and avgPool2d with torch.nn.functional.max_pool2d / avg_pool2d
// semantics (d2l §6.5): N-C-H-W or unbatched C-H-W input, stride defaulting
// to the kernel size, zero padding of at most half the kernel, dilation 1 and
// ceil_mode false. Max pooling pads with −inf and propagates NaN; average
// pooling counts the padding (count_include_pad = true: every window divides
// by kh·kw).
import { DType, FloatArray, allocateOutput } from '../dtype';
import { fmt } from '../shape';
import { native } from '../native';
import { Tensor, adopt, checkTensor } from '../tensor';
import { pair } from './conv';

export interface Pool2dOptions {
  /** int or [h, w]; default: the kernel size. */
  stride?: number | readonly [number, number];
  /** int or [h, w], at most half the kernel size; default 0. */
  padding?: number | readonly [number, number];
}

export type PoolOp = 'maxPool2d' | 'avgPool2d';

/**
 * A checked pooling call: the native arguments, the output (freshly
 * allocated), its shape and the work (output elements × kh·kw), shared by
 * maxPool2d / avgPool2d and their async twins.
 */
export interface Pool2dPlan {
  op: PoolOp;
  x: FloatArray;
  out: FloatArray;
  shape: number[];
  n: number; c: number; h: number; w: number;
  kh: number; kw: number; sh: number; sw: number; ph: number; pw: number;
  work: number;
}

/** The checks of maxPool2d / avgPool2d (their errors, verbatim) and the output. */
export function preparePool2d(op: PoolOp, input: Tensor, kernelSize: number | readonly [number, number], options: Pool2dOptions): Pool2dPlan {
  checkTensor(op, input, 'input');
  if (options === null || typeof options !== 'object') throw new TypeError(`${op}: options must be an object`);
  if (kernelSize === undefined) throw new TypeError(`${op}: kernelSize must be an integer or an array of two integers, got undefined`);
  const [kh, kw] = pair(op, 'kernelSize', kernelSize, 0, 1,
    (v) => `kernel size should be greater than zero, but got ${describeInts(v)}`);
  const [sh, sw] = options.stride === undefined || options.stride === null
    ? [kh, kw]
    : pair(op, 'stride', options.stride, 1, 1, (v) => `stride should be greater than zero, but got ${describeInts(v)}`);
  const [ph, pw] = pair(op, 'padding', options.padding, 0, 0, (v) => `pad must be non-negative, but got pad: ${describeInts(v)}`);
  if (ph > kh / 2 || pw > kw / 2) {
    throw new RangeError(`${op}: pad should be at most half of kernel size, but got pad=${ph > kh / 2 ? ph : pw} and kernel_size=${ph > kh / 2 ? kh : kw}`);
  }
  if (input.ndim !== 3 && input.ndim !== 4) {
    throw new RangeError(`${op}: Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got: ${fmt(input.shape)}`);
  }
  const batched = input.ndim === 4;
  const [n, c, h, w] = batched ? input.shape : [1, ...input.shape];
  if (c === 0 || h === 0 || w === 0) {
    throw new RangeError(`${op}: Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got: ${fmt(input.shape)}`);
  }
  const oh = Math.floor((h + 2 * ph - kh) / sh) + 1;
  const ow = Math.floor((w + 2 * pw - kw) / sw) + 1;
  if (oh < 1 || ow < 1) {
    throw new RangeError(`${op}: Given input size: (${c}x${h}x${w}). Calculated output size: (${c}x${Math.max(oh, 0)}x${Math.max(ow, 0)}). Output size is too small (kernel size [${kh}, ${kw}], stride [${sh}, ${sw}], padding [${ph}, ${pw}])`);
  }
  // Not zeroed from 64 KiB up (allocateOutput): the kernels write every
  // output element (every window holds at least one input element).
  const out = allocateOutput(input.dtype, n * c * oh * ow, op, true);
  return { op, x: input.data, out, shape: batched ? [n, c, oh, ow] : [c, oh, ow], n, c, h, w, kh, kw, sh, sw, ph, pw, work: out.length * kh * kw };
}

/** Runs a plan's native call (none for an empty output) and wraps its output. */
export function runPool2dPlan(p: Pool2dPlan): Tensor {
  if (p.out.length > 0) native()[p.op](p.x, p.out, p.n, p.c, p.h, p.w, p.kh, p.kw, p.sh, p.sw, p.ph, p.pw);
  return adopt(p.out, p.shape);
}

function pool2d(op: PoolOp, input: Tensor, kernelSize: number | readonly [number, number], options: Pool2dOptions): Tensor {
  return runPool2dPlan(preparePool2d(op, input, kernelSize, options));
}

function describeInts(v: unknown): string {
  return typeof v === 'number' ? String(v) : Array.isArray(v) ? `[${v.join(', ')}]` : String(v);
}

/**
 * 2-D max pooling (torch.nn.functional.max_pool2d): the maximum of each
 * kernelSize window; padding counts as −inf and a NaN in a window gives NaN.
 */
export function maxPool2d<D extends DType>(input: Tensor<D>, kernelSize: number | readonly [number, number], options?: Pool2dOptions): Tensor<D>;
export function maxPool2d(input: Tensor, kernelSize: number | readonly [number, number], options?: Pool2dOptions): Tensor;
export function maxPool2d(input: Tensor, kernelSize: number | readonly [number, number], options: Pool2dOptions = {}): Tensor {
  return pool2d('maxPool2d', input, kernelSize, options);
}

/**
 * 2-D average pooling (torch.nn.functional.avg_pool2d with its defaults):
 * the window's sum divided by kh·kw, padding counted as zeros.
 */
export function avgPool2d<D extends DType>(input: Tensor<D>, kernelSize: number | readonly [number, number], options?: Pool2dOptions): Tensor<D>;
export function avgPool2d(input: Tensor, kernelSize: number | readonly [number, number], options?: Pool2dOptions): Tensor;
export function avgPool2d(input: Tensor, kernelSize: number | readonly [number, number], options: Pool2dOptions = {}): Tensor {
  return pool2d('avgPool2d', input, kernelSize, options);
}
