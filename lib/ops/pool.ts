// maxPool2d and avgPool2d with torch.nn.functional.max_pool2d / avg_pool2d
// semantics (d2l §6.5): N-C-H-W or unbatched C-H-W input, stride defaulting
// to the kernel size, zero padding of at most half the kernel, ceilMode
// (ceil_mode), and for max pooling dilation, for average pooling
// countIncludePad (count_include_pad, default true) and divisorOverride.
// Max pooling pads with −inf and propagates NaN. (No return_indices: the
// tensors here hold floats only.)
import { DType, FloatArray } from '../dtype';
import { fmt } from '../shape';
import { native } from '../native';
import { Tensor, checkTensor } from '../tensor';
import { IntPair, pair } from './conv';
import { LaterOutput, destination, resultOf } from './out';
import { checkKeys, keysOf } from '../options';

/**
 * The options maxPool2d and avgPool2d share; each op refuses the other's
 * own options (MaxPool2dOptions, AvgPool2dOptions) with a TypeError
 * (MAX_POOL2D_KEYS, AVG_POOL2D_KEYS), as PyTorch refuses an unexpected
 * keyword, and its type does not have them.
 */
export interface Pool2dOptions {
  /** int, [int] or [h, w]; default (also [], as PyTorch): the kernel size. */
  stride?: IntPair | readonly [] | undefined;
  /** int, [int] or [h, w], at most half the kernel size; default 0. */
  padding?: IntPair | undefined;
  /**
   * Round the output size up instead of down (PyTorch's ceil_mode): a last,
   * partial window is kept when it starts inside the input or its left or
   * top padding. Default false.
   */
  ceilMode?: boolean | undefined;
  /**
   * A tensor to receive the result instead of a new one, returned as the
   * result: the output's exact shape and dtype, sharing no memory with the
   * input. Its previous values are not read. (An ntensor extension, as for
   * conv2d: torch.nn.functional's pooling has no `out=`.)
   */
  out?: Tensor | null | undefined;
}
/** maxPool2d's options. */
export interface MaxPool2dOptions extends Pool2dOptions {
  /** int, [int] or [h, w], the spacing of the window's elements. Default 1. */
  dilation?: IntPair | undefined;
}
/** avgPool2d's options. */
export interface AvgPool2dOptions extends Pool2dOptions {
  /**
   * Whether the padding counts in the divisor (PyTorch's count_include_pad).
   * true (the default) divides by the window's size within the padded input
   * (kh·kw, except for a ceilMode window past it), false by the number of
   * input elements in the window.
   */
  countIncludePad?: boolean | undefined;
  /** A nonzero integer every window's sum is divided by instead. Default none. */
  divisorOverride?: number | null | undefined;
}
/** Either op's options, as preparePool2d reads them (after the op's key check). */
type AnyPool2dOptions = MaxPool2dOptions & AvgPool2dOptions;
export const MAX_POOL2D_KEYS = keysOf<MaxPool2dOptions>()(['stride', 'padding', 'ceilMode', 'dilation', 'out']);
export const AVG_POOL2D_KEYS = keysOf<AvgPool2dOptions>()(['stride', 'padding', 'ceilMode', 'countIncludePad', 'divisorOverride', 'out']);

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
  /** The caller's `out` tensor, or null (`out` is a new array). */
  target: Tensor | null;
  shape: number[];
  n: number; c: number; h: number; w: number;
  kh: number; kw: number; sh: number; sw: number; ph: number; pw: number;
  dh: number; dw: number; ceilMode: boolean; countIncludePad: boolean;
  /** 0: none. */
  divisor: number;
  work: number;
  /** A new output allocated only when an async job starts (ops/out.ts). */
  later?: LaterOutput | null;
}

/** PyTorch's pooling output size (pooling_output_shape); may be 0 or negative. */
function outputSize(size: number, k: number, stride: number, pad: number, dilation: number, ceilMode: boolean): number {
  let out = Math.floor((size + 2 * pad - dilation * (k - 1) - 1 + (ceilMode ? stride - 1 : 0)) / stride) + 1;
  // The last window must start inside the input or its left padding.
  if (ceilMode && (out - 1) * stride >= size + pad) out--;
  return out;
}

function flag(op: string, name: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new TypeError(`${op}: ${name} must be a boolean, got ${describeInts(v)}`);
  return v;
}

/** The checks of maxPool2d / avgPool2d (their errors, verbatim) and the output. */
export function preparePool2d(op: PoolOp, input: Tensor, kernelSize: IntPair,
  options: AnyPool2dOptions, defer = false): Pool2dPlan {
  checkTensor(op, input, 'input');
  if (options === null || typeof options !== 'object') throw new TypeError(`${op}: options must be an object`);
  if (kernelSize === undefined) throw new TypeError(`${op}: kernelSize must be an integer or an array of one or two integers, got undefined`);
  const [kh, kw] = pair(op, 'kernelSize', kernelSize, 0, 1,
    (v) => `kernel size should be greater than zero, but got ${describeInts(v)}`);
  const [sh, sw] = options.stride === undefined || options.stride === null || (Array.isArray(options.stride) && options.stride.length === 0)
    ? [kh, kw]
    : pair(op, 'stride', options.stride, 1, 1, (v) => `stride should be greater than zero, but got ${describeInts(v)}`);
  const [ph, pw] = pair(op, 'padding', options.padding, 0, 0, (v) => `pad must be non-negative, but got pad: ${describeInts(v)}`);
  const [dh, dw] = pair(op, 'dilation', options.dilation, 1, 1, (v) => {
    const [a, b] = typeof v === 'number' ? [v, v] : v as readonly [number, number];
    return `dilation should be greater than zero, but got dilationH: ${a} dilationW: ${b}`;
  });
  const ceilMode = flag(op, 'ceilMode', options.ceilMode, false);
  const countIncludePad = flag(op, 'countIncludePad', options.countIncludePad, true);
  let divisor = 0;
  const d = options.divisorOverride;
  if (d !== undefined && d !== null) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d)) {
      throw new TypeError(`${op}: divisorOverride must be an integer, got ${describeInts(d)}`);
    }
    if (d === 0) throw new RangeError(`${op}: divisor must be not zero`);
    divisor = d;
  }
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
  const oh = outputSize(h, kh, sh, ph, dh, ceilMode), ow = outputSize(w, kw, sw, pw, dw, ceilMode);
  if (oh < 1 || ow < 1) {
    throw new RangeError(`${op}: Given input size: (${c}x${h}x${w}). Calculated output size: (${c}x${oh}x${ow}). Output size is too small (kernel size [${kh}, ${kw}], stride [${sh}, ${sw}], padding [${ph}, ${pw}]${dh !== 1 || dw !== 1 ? `, dilation [${dh}, ${dw}]` : ''}${ceilMode ? ', ceilMode' : ''})`);
  }
  // A new array is not zeroed from 16 KiB up (allocateOutput): the kernels
  // write every output element (an empty max window writes −inf).
  const shape = batched ? [n, c, oh, ow] : [c, oh, ow];
  const { out, target, later } = destination(op, options.out, input.dtype, shape, n * c * oh * ow, true, [['input', input.data]], defer);
  return {
    op, x: input.data, out, target, shape, n, c, h, w, kh, kw, sh, sw, ph, pw,
    dh, dw, ceilMode, countIncludePad, divisor, work: n * c * oh * ow * kh * kw, later,
  };
}

/** Runs a plan's native call (none for an empty output) and returns its result (the caller's out, or a new tensor). */
export function runPool2dPlan(p: Pool2dPlan): Tensor {
  if (p.out.length > 0) {
    native()[p.op](p.x, p.out, p.n, p.c, p.h, p.w, p.kh, p.kw, p.sh, p.sw, p.ph, p.pw, p.dh, p.dw, p.ceilMode, p.countIncludePad, p.divisor);
  }
  return resultOf(p);
}

function describeInts(v: unknown): string {
  return typeof v === 'number' ? String(v) : Array.isArray(v) ? `[${v.join(', ')}]` : String(v);
}

/**
 * 2-D max pooling (torch.nn.functional.max_pool2d): the maximum of each
 * kernelSize window (its elements `dilation` apart); padding counts as −inf
 * and a NaN in a window gives NaN.
 */
export function maxPool2d<D extends DType>(input: Tensor<D>, kernelSize: IntPair, options?: MaxPool2dOptions): Tensor<D>;
export function maxPool2d(input: Tensor, kernelSize: IntPair, options: MaxPool2dOptions = {}): Tensor {
  checkKeys('maxPool2d', options, MAX_POOL2D_KEYS);
  return runPool2dPlan(preparePool2d('maxPool2d', input, kernelSize, options));
}

/**
 * 2-D average pooling (torch.nn.functional.avg_pool2d): each window's sum
 * (in ascending row, column order) divided once, by default by kh·kw with
 * the padding counted as zeros; see Pool2dOptions.
 */
export function avgPool2d<D extends DType>(input: Tensor<D>, kernelSize: IntPair, options?: AvgPool2dOptions): Tensor<D>;
export function avgPool2d(input: Tensor, kernelSize: IntPair, options: AvgPool2dOptions = {}): Tensor {
  checkKeys('avgPool2d', options, AVG_POOL2D_KEYS);
  return runPool2dPlan(preparePool2d('avgPool2d', input, kernelSize, options));
}
