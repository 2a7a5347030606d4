// conv2d with torch.nn.functional.conv2d semantics (N-C-H-W, cross-
// correlation) and the d2l §6.4 functions built on the same native kernel.
import { DType, FloatArray, SameDType, allocateOutput } from '../dtype';
import { Shape, fmt, frozenShape3 } from '../shape';
import { NativeBinding, native } from '../native';
import { Tensor, adoptShared, checkTensor } from '../tensor';
import { MatmulPlan, matmul2d, prepareMatmul, runMatmulPlan } from './matmul';
import { LaterOutput, destination, resultOf, sharesMemory } from './out';
import { validConvSmall } from './tiny';
import { checkKeys, keysOf } from '../options';

let nativeConv2d: NativeBinding['conv2d'] | undefined;
/** The binding's conv2d, looked up once (it does not use `this`). */
function conv2dFn(): NativeBinding['conv2d'] {
  return nativeConv2d ?? (nativeConv2d = native().conv2d);
}

// The sizes of the sync conv2d call (n .. groups), one array reused: the
// native side copies them at the call, and one typed array costs it less
// than 16 numbers.
const SIZES = new Float64Array(16);

/**
 * A valid, stride-1, ungrouped cross-correlation of n images (c x h x w)
 * with cout x c x kh x kw weights into a new tensor of `shape` (a fresh
 * array); the caller has checked the shapes, kh <= h and kw <= w. The d2l
 * sizes' fast path: no options, no plan object.
 */
function validConv(x: FloatArray, weight: FloatArray, n: number, c: number, h: number, w: number,
  cout: number, kh: number, kw: number, dtype: DType, shape: Shape, op: string): Tensor {
  // As conv2dPlanOf: every element is written when the reduction is non-empty.
  const len = n * cout * (h - kh + 1) * (w - kw + 1);
  const out = allocateOutput(dtype, len, op, c > 0);
  validConvInto(x, weight, out, n, c, h, w, cout, kh, kw);
  return adoptShared(out, shape, dtype);
}

/**
 * validConv into `out` (of the output's length; nothing when it is empty):
 * float32 convolutions of at most JS_MAX_WORK multiply-adds in JS (tiny.ts,
 * the same bits), the rest native.
 */
function validConvInto(x: FloatArray, weight: FloatArray, out: FloatArray, n: number, c: number, h: number, w: number,
  cout: number, kh: number, kw: number): void {
  if (!validConvSmall(x, weight, out, n, c, h, w, cout, kh, kw) && out.length > 0) {
    const z = SIZES;
    z[0] = n; z[1] = c; z[2] = h; z[3] = w; z[4] = cout; z[5] = kh; z[6] = kw;
    z[7] = 1; z[8] = 1; z[9] = 0; z[10] = 0; z[11] = 0; z[12] = 0; z[13] = 1; z[14] = 1; z[15] = 1;
    conv2dFn()(x, weight, null, out, z);
  }
}

/**
 * A size of the two spatial dims (stride, padding, dilation, kernel size):
 * one integer for both, [both] (PyTorch's one-element list), or [h, w].
 */
export type IntPair = number | readonly [number] | readonly [number, number];

/** conv2d's options. */
export interface Conv2dOptions {
  bias?: Tensor | null | undefined;
  /** int, [int] or [h, w]; default 1. */
  stride?: IntPair | undefined;
  /**
   * int, [int] or [h, w] (zeros on both sides), 'valid' (none) or 'same' (output the
   * size of the input; stride 1 only). For an even dilated kernel extent
   * 'same' pads total = dilation·(k − 1) with total // 2 before and the rest
   * after, as PyTorch does. Default 0.
   */
  padding?: IntPair | 'valid' | 'same' | undefined;
  /** int, [int] or [h, w]; default 1. */
  dilation?: IntPair | undefined;
  /** Divides both channel counts; weight is (out, in / groups, kh, kw). Default 1. */
  groups?: number | undefined;
  /**
   * A tensor to receive the result instead of a new one, returned as the
   * result: the output's exact shape and dtype, sharing no memory with the
   * input, weight or bias. Its previous values are not read. (An ntensor
   * extension: torch.nn.functional.conv2d has no `out=`.)
   */
  out?: Tensor | null | undefined;
}
export const CONV2D_KEYS = keysOf<Conv2dOptions>()(['bias', 'stride', 'padding', 'dilation', 'groups', 'out']);

/** An int or a pair of ints, each at least `min`; `message` words the range error. */
export function pair(op: string, name: string, v: unknown, dflt: number, min: number,
  message?: (got: unknown) => string): [number, number] {
  if (v === undefined) return [dflt, dflt];
  // As PyTorch's expand_param_if_needed: one value serves both dims.
  const arr = typeof v === 'number' ? [v, v] : Array.isArray(v) ? (v.length === 1 ? [v[0], v[0]] : v) : null;
  if (arr === null) {
    throw new TypeError(`${op}: ${name} must be an integer or an array of one or two integers, got ${describe(v)}`);
  }
  for (const x of arr) {
    if (typeof x !== 'number' || !Number.isSafeInteger(x)) {
      throw new TypeError(`${op}: ${name} must be an integer or an array of one or two integers, got ${describe(v)}`);
    }
  }
  // Integers, but not one or two of them: a size error (PyTorch's RuntimeError).
  if (arr.length !== 2) {
    throw new RangeError(`${op}: expected ${name} to be a single integer or an array of one or two integers (the two spatial dims), but got ${describe(v)}`);
  }
  if (arr[0] < min || arr[1] < min) {
    throw new RangeError(`${op}: ${message ? message(typeof v === 'number' ? v : arr) : min > 0 ? `non-positive ${name} is not supported (got ${describe(v)})` : `negative ${name} is not supported (got ${describe(v)})`}`);
  }
  return [arr[0], arr[1]];
}

function describe(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'number') return String(v); // JSON would say null for NaN

  if (Array.isArray(v)) return `[${v.map(describe).join(', ')}]`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

export function conv2d<D extends DType, E extends DType = D>(input: Tensor<D>, weight: Tensor<E> & SameDType<D, E>, options?: Conv2dOptions): Tensor<D>;
export function conv2d(input: Tensor, weight: Tensor, options?: Conv2dOptions): Tensor {
  checkKeys('conv2d', options, CONV2D_KEYS);
  // Valid 3-D/4-D input and 4-D weight tensors and an options object (or
  // none): prepareConv2d's steps in its order, the options read once; with
  // the defaults' values (d2l's calls: stride 1, no padding, dilation 1, one
  // group, no bias) and shapes that fit, the native call without a plan.
  // Anything else (errors included) takes the general path. (Each dim is
  // read once: element loads from frozen arrays are calls in TurboFan.)
  if (input instanceof Tensor && weight instanceof Tensor && (options === undefined || (options !== null && typeof options === 'object'))) {
    const is = input.shape, ws = weight.shape, nd = is.length;
    if ((nd === 3 || nd === 4) && ws.length === 4) {
      const n = nd === 4 ? is[0] : 1, c = is[nd - 3], h = is[nd - 2], w = is[nd - 1];
      const cout = ws[0], cin = ws[1], kh = ws[2], kw = ws[3];
      // checkTensor's checks of both (their data fit their shapes).
      if (input.data.length === n * c * h * w && weight.data.length === cout * cin * kh * kw) {
        const { bias = null, stride, padding, dilation, groups = 1, out } = options ?? NO_OPTIONS;
        if (bias === null && groups === 1 && (stride === undefined || stride === 1) && (dilation === undefined || dilation === 1) &&
            (padding === undefined || padding === 0 || padding === 'valid') && input.dtype === weight.dtype &&
            cin === c && c > 0 && cout > 0 && kh > 0 && kw > 0 && kh <= h && kw <= w) {
          const oh = h - kh + 1, ow = w - kw + 1;
          if (out === undefined) {
            return validConv(input.data, weight.data, n, c, h, w, cout, kh, kw, input.dtype,
              nd === 4 ? Object.freeze([n, cout, oh, ow]) : frozenShape3(cout, oh, ow), 'conv2d');
          }
          // Into an out of the right shape and dtype whose memory no input shares
          // (checkOut's checks inline; c > 0, so every element is written).
          if (out instanceof Tensor && out.dtype === input.dtype) {
            const os = out.shape, od = out.data;
            if (os.length === nd && (nd === 3 || os[0] === n) && os[nd - 3] === cout && os[nd - 2] === oh && os[nd - 1] === ow &&
                od.length === n * cout * oh * ow && !sharesMemory(od, input.data) && !sharesMemory(od, weight.data)) {
              validConvInto(input.data, weight.data, od, n, c, h, w, cout, kh, kw);
              return out;
            }
          }
        }
        return runConv2dPlan(conv2dPlanOf(input, weight, bias, stride, padding, dilation, groups, out));
      }
    }
  }
  return runConv2dPlan(prepareConv2d(input, weight, options));
}

const NO_OPTIONS: Conv2dOptions = Object.freeze({});

/**
 * A checked conv2d, ready to run (shared by the functions here and their
 * async twins in async.ts): the native call's arguments by name (`out`
 * allocated, zeros, or the caller's: `target`, zeroed first when `zero`),
 * the output's shape, and the number of multiply-adds.
 * Named fields rather than an argument array: V8 can then drop the object,
 * and a spread call costs ~0.1 µs at d2l sizes.
 */
export interface Conv2dPlan {
  x: FloatArray;
  weight: FloatArray;
  bias: FloatArray | null;
  out: FloatArray;
  target: Tensor | null;
  zero: boolean;
  n: number; c: number; h: number; w: number; cout: number; kh: number; kw: number;
  strideH: number; strideW: number; padTop: number; padBottom: number; padLeft: number; padRight: number;
  dilationH: number; dilationW: number; groups: number;
  shape: number[];
  work: number;
  /** A new output allocated only when an async job starts (ops/out.ts). */
  later?: LaterOutput | null;
  /** Weights packed ahead (PackedConv2d; native conv2dPack), or absent. */
  packed?: ArrayBuffer | null;
  /** Winograd's transformed weights (PackedConv2d; native conv2dWinogradPack), or absent. */
  winograd?: ArrayBuffer | null;
}

/**
 * Runs a plan's native call (none for an empty output) and returns its
 * result: the caller's `out` tensor, or a new one over the output.
 */
export function runConv2dPlan(p: Conv2dPlan): Tensor {
  if (p.zero) p.out.fill(0);
  // An empty result (n or cout is 0) needs no call: the other size may be huge.
  // A d2l-size valid correlation (corr2d, corr2dMultiIn, conv2d with options
  // that say so) runs in JS with the native bits (tiny.ts).
  const valid = p.bias === null && p.groups === 1 && p.strideH === 1 && p.strideW === 1 && p.dilationH === 1 &&
    p.dilationW === 1 && p.padTop === 0 && p.padBottom === 0 && p.padLeft === 0 && p.padRight === 0;
  if (!(valid && validConvSmall(p.x, p.weight, p.out, p.n, p.c, p.h, p.w, p.cout, p.kh, p.kw)) && p.out.length > 0) {
    const z = SIZES;
    z[0] = p.n; z[1] = p.c; z[2] = p.h; z[3] = p.w; z[4] = p.cout; z[5] = p.kh; z[6] = p.kw;
    z[7] = p.strideH; z[8] = p.strideW; z[9] = p.padTop; z[10] = p.padBottom; z[11] = p.padLeft; z[12] = p.padRight;
    z[13] = p.dilationH; z[14] = p.dilationW; z[15] = p.groups;
    if (p.winograd) conv2dFn()(p.x, p.weight, p.bias, p.out, z, p.packed ?? null, p.winograd);
    else if (p.packed) conv2dFn()(p.x, p.weight, p.bias, p.out, z, p.packed);
    else conv2dFn()(p.x, p.weight, p.bias, p.out, z);
  }
  return resultOf(p);
}

/**
 * conv2d's checks and output; throws conv2d's errors. Writes nothing.
 * `defer`: a new output is left to allocateLater (async jobs).
 */
export function prepareConv2d(input: Tensor, weight: Tensor, options: Conv2dOptions = {}, defer = false): Conv2dPlan {
  const op = 'conv2d';
  checkTensor(op, input, 'input');
  checkTensor(op, weight, 'weight');
  if (options === null || typeof options !== 'object') throw new TypeError(`${op}: options must be an object`);
  const { bias = null, stride, padding, dilation, groups = 1, out } = options;
  return conv2dPlanOf(input, weight, bias, stride, padding, dilation, groups, out, defer);
}

/** prepareConv2d after the tensor checks, with the options' values read once. */
function conv2dPlanOf(input: Tensor, weight: Tensor, bias: Tensor | null, stride: Conv2dOptions['stride'],
  padding: Conv2dOptions['padding'], dilation: Conv2dOptions['dilation'], groups: number, outOption: unknown, defer = false): Conv2dPlan {
  const op = 'conv2d';
  if (bias !== null) checkTensor(op, bias, 'bias');
  if (input.ndim !== 3 && input.ndim !== 4) {
    throw new RangeError(`${op}: Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: ${fmt(input.shape)}`);
  }
  if (weight.ndim !== 4) {
    throw new RangeError(`${op}: weight must be 4-D (out_channels, in_channels / groups, kH, kW), but got weight of size ${fmt(weight.shape)} for input of size ${fmt(input.shape)}`);
  }
  if (input.dtype !== weight.dtype || (bias !== null && bias.dtype !== input.dtype)) {
    throw new TypeError(`${op}: Input type (${input.dtype}), weight type (${weight.dtype})${bias ? ` and bias type (${bias.dtype})` : ''} should be the same`);
  }
  const [sh, sw] = pair(op, 'stride', stride, 1, 1);
  const [dh, dw] = pair(op, 'dilation', dilation, 1, 1, dilationMessage);
  if (typeof groups !== 'number' || !Number.isSafeInteger(groups)) {
    throw new TypeError(`${op}: groups must be an integer, got ${describe(groups)}`);
  }
  if (groups < 1) throw new RangeError(`${op}: non-positive groups is not supported (got ${groups})`);
  const batched = input.ndim === 4;
  const [n, c, h, w] = batched ? input.shape : [1, ...input.shape];
  const [cout, cin, kh, kw] = weight.shape;
  // The extent of the dilated kernel.
  const ekh = dh * (kh - 1) + 1, ekw = dw * (kw - 1) + 1;
  const [pt, pb, pl, pr] = paddingOf(op, padding, stride, sh, sw, ekh, ekw);
  if (cout < groups) {
    throw new RangeError(`${op}: Given groups=${groups}, expected weight to be at least ${groups} at dimension 0, but got weight of size ${fmt(weight.shape)} instead`);
  }
  if (cout % groups !== 0) {
    throw new RangeError(`${op}: Given groups=${groups}, expected weight to be divisible by ${groups} at dimension 0, but got weight of size ${fmt(weight.shape)} instead`);
  }
  if (cin * groups !== c) {
    throw new RangeError(`${op}: Given groups=${groups}, weight of size ${fmt(weight.shape)}, expected input${fmt(batched ? input.shape : [1, ...input.shape])} to have ${cin * groups} channels, but got ${c} channels instead`);
  }
  if (bias !== null && (bias.ndim !== 1 || bias.shape[0] !== cout)) {
    throw new RangeError(`${op}: Given weight of size ${fmt(weight.shape)}, expected bias to be 1-dimensional with ${cout} elements, but got bias of size ${fmt(bias.shape)} instead`);
  }
  if (kh === 0 || kw === 0) {
    throw new RangeError(`${op}: kernel size must be positive, got weight of size ${fmt(weight.shape)}`);
  }
  // An empty image only with an empty batch or no channels (PyTorch's rule;
  // it must still fit the kernel once padded).
  if ((h === 0 || w === 0) && n > 0 && c > 0) {
    throw new RangeError(`${op}: Only zero batch or zero channel inputs are supported, but got input shape: ${fmt(batched ? input.shape : [1, ...input.shape])}`);
  }
  if (h + pt + pb < ekh || w + pl + pr < ekw) {
    throw new RangeError(`${op}: Calculated padded input size per channel: (${h + pt + pb} x ${w + pl + pr}). Kernel size: (${ekh} x ${ekw}). Kernel size can't be greater than actual input size (input ${fmt(input.shape)}, weight ${fmt(weight.shape)}${dh !== 1 || dw !== 1 ? `, dilation [${dh}, ${dw}]` : ''})`);
  }
  const oh = Math.floor((h + pt + pb - ekh) / sh) + 1;
  const ow = Math.floor((w + pl + pr - ekw) / sw) + 1;
  // No input channels: no output channels either, whatever the weight's
  // (PyTorch's calc_output_size: "Handle empty # of channels"), bias or not.
  const co = c === 0 ? 0 : cout;
  // Every output element is written when the reduction (c / groups) * kh * kw is non-empty.
  const shape = batched ? [n, co, oh, ow] : [co, oh, ow];
  const d = destination(op, outOption, input.dtype, shape, n * co * oh * ow, c > 0,
    [['input', input.data], ['weight', weight.data], ['bias', bias ? bias.data : null]], defer);
  return {
    x: input.data, weight: weight.data, bias: bias ? bias.data : null, out: d.out, target: d.target, zero: d.zero, later: d.later,
    n, c, h, w, cout: co, kh, kw,
    strideH: sh, strideW: sw, padTop: pt, padBottom: pb, padLeft: pl, padRight: pr, dilationH: dh, dilationW: dw, groups,
    shape,
    work: n * co * oh * ow * cin * kh * kw,
  };
}

/**
 * The padding (top, bottom, left, right) of conv2d's `padding` option for a
 * dilated kernel extent ekh x ekw: an int or [h, w] on both sides, 'valid'
 * (none) or 'same' (stride 1 only; PyTorch's total dilation * (k - 1), the
 * odd one out after). Shared with packConv2d, which checks it when the
 * layer is made.
 */
export function paddingOf(op: string, padding: unknown, stride: unknown, sh: number, sw: number,
  ekh: number, ekw: number): [number, number, number, number] {
  if (padding === 'valid') return [0, 0, 0, 0];
  if (padding === 'same') {
    if (sh !== 1 || sw !== 1) throw new RangeError(`${op}: padding='same' is not supported for strided convolutions (got stride ${describe(stride)})`);
    // Halves by division: ekh - 1 can pass 2^31 (dilation 2^30), where >> wraps.
    const th = Math.max(0, ekh - 1), tw = Math.max(0, ekw - 1);
    const pt = Math.floor(th / 2), pl = Math.floor(tw / 2);
    return [pt, th - pt, pl, tw - pl];
  }
  if (typeof padding === 'string') {
    throw new RangeError(`${op}: Invalid padding string: '${padding}' (expected 'valid', 'same', an integer or an array of one or two integers)`);
  }
  const [ph, pw] = pair(op, 'padding', padding, 0, 0);
  return [ph, ph, pw, pw];
}

const dilationMessage = (v: unknown): string => `dilation should be greater than zero, but got ${describe(typeof v === 'number' ? [v, v] : v)}`;

/** d2l's corr2d: valid 2-D cross-correlation of X (h, w) with K (kh, kw). */
export function corr2d<D extends DType, E extends DType = D>(X: Tensor<D>, K: Tensor<E> & SameDType<D, E>): Tensor<D>;
export function corr2d(X: Tensor, K: Tensor): Tensor {
  return runConv2dPlan(prepareCorr2d(X, K));
}
/** corr2d's checks and output (shared with corr2dAsync). */
export function prepareCorr2d(X: Tensor, K: Tensor, defer = false): Conv2dPlan {
  checkPair('corr2d', X, K);
  if (X.ndim !== 2 || K.ndim !== 2) {
    throw new RangeError(`corr2d: expected X and K to be 2-D, but got X of size ${fmt(X.shape)} and K of size ${fmt(K.shape)}`);
  }
  const [h, w] = X.shape, [kh, kw] = K.shape;
  checkFits('corr2d', X.shape, K.shape, 0, 0);
  return validCorrelation('corr2d', X, K, 1, 1, h, w, kh, kw, [h - kh + 1, w - kw + 1], defer);
}

/** d2l's corr2d_multi_in: X (ci, h, w) with K (ci, kh, kw), summed over channels. */
export function corr2dMultiIn<D extends DType, E extends DType = D>(X: Tensor<D>, K: Tensor<E> & SameDType<D, E>): Tensor<D>;
export function corr2dMultiIn(X: Tensor, K: Tensor): Tensor {
  return runConv2dPlan(prepareCorr2dMultiIn(X, K));
}
/** corr2dMultiIn's checks and output (shared with corr2dMultiInAsync). */
export function prepareCorr2dMultiIn(X: Tensor, K: Tensor, defer = false): Conv2dPlan {
  checkPair('corr2dMultiIn', X, K);
  if (X.ndim !== 3 || K.ndim !== 3 || X.shape[0] !== K.shape[0]) {
    throw new RangeError(`corr2dMultiIn: expected X (channels, h, w) and K (channels, kh, kw) with the same channels, but got X of size ${fmt(X.shape)} and K of size ${fmt(K.shape)}`);
  }
  const [c, h, w] = X.shape, [, kh, kw] = K.shape;
  checkFits('corr2dMultiIn', X.shape, K.shape, 1, 1);
  return validCorrelation('corr2dMultiIn', X, K, c, 1, h, w, kh, kw, [h - kh + 1, w - kw + 1], defer);
}

/** d2l's corr2d_multi_in_out: X (ci, h, w) with K (co, ci, kh, kw) gives (co, h', w'). */
export function corr2dMultiInOut<D extends DType, E extends DType = D>(X: Tensor<D>, K: Tensor<E> & SameDType<D, E>): Tensor<D>;
export function corr2dMultiInOut(X: Tensor, K: Tensor): Tensor {
  // prepareCorr2dMultiInOut's checks inline; anything else (errors
  // included) takes the general path.
  if (X instanceof Tensor && K instanceof Tensor) {
    const xs = X.shape, ks = K.shape;
    if (xs.length === 3 && ks.length === 4 && X.dtype === K.dtype) {
      const c = xs[0], h = xs[1], w = xs[2], co = ks[0], kh = ks[2], kw = ks[3];
      if (ks[1] === c && kh > 0 && kw > 0 && kh <= h && kw <= w &&
          X.data.length === c * h * w && K.data.length === co * c * kh * kw) {
        return validConv(X.data, K.data, 1, c, h, w, co, kh, kw, X.dtype, frozenShape3(co, h - kh + 1, w - kw + 1), 'corr2dMultiInOut');
      }
    }
  }
  return runConv2dPlan(prepareCorr2dMultiInOut(X, K));
}
/** corr2dMultiInOut's checks and output (shared with corr2dMultiInOutAsync). */
export function prepareCorr2dMultiInOut(X: Tensor, K: Tensor, defer = false): Conv2dPlan {
  checkPair('corr2dMultiInOut', X, K);
  if (X.ndim !== 3 || K.ndim !== 4 || X.shape[0] !== K.shape[1]) {
    throw new RangeError(`corr2dMultiInOut: expected X (ci, h, w) and K (co, ci, kh, kw) with the same ci, but got X of size ${fmt(X.shape)} and K of size ${fmt(K.shape)}`);
  }
  const [c, h, w] = X.shape, [co, , kh, kw] = K.shape;
  checkFits('corr2dMultiInOut', X.shape, K.shape, 1, 2);
  return validCorrelation('corr2dMultiInOut', X, K, c, co, h, w, kh, kw, [co, h - kh + 1, w - kw + 1], defer);
}

/**
 * The d2l functions' shared core: one image, stride 1, no padding, on the
 * same native kernel as conv2d (their arguments are checked already).
 * `defer`: see prepareConv2d.
 */
function validCorrelation(op: string, X: Tensor, K: Tensor, c: number, co: number, h: number, w: number,
  kh: number, kw: number, shape: number[], defer: boolean): Conv2dPlan {
  const length = co * (h - kh + 1) * (w - kw + 1);
  const d = destination(op, undefined, X.dtype, shape, length, c > 0, [], defer);
  return {
    x: X.data, weight: K.data, bias: null, out: d.out, target: null, zero: false, later: d.later, n: 1, c, h, w, cout: co, kh, kw,
    strideH: 1, strideW: 1, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0, dilationH: 1, dilationW: 1, groups: 1,
    shape, work: length * c * kh * kw,
  };
}

/**
 * d2l's corr2d_multi_in_out_1x1, the fully connected formulation:
 * reshape X to (ci, h*w) and K to (co, ci), matmul, reshape to (co, h, w).
 */
export function corr2dMultiInOut1x1<D extends DType, E extends DType = D>(X: Tensor<D>, K: Tensor<E> & SameDType<D, E>): Tensor<D>;
export function corr2dMultiInOut1x1(X: Tensor, K: Tensor): Tensor {
  // prepareCorr2dMultiInOut1x1's checks inline, no reshaped views or plan;
  // anything else (errors included) takes the general path.
  if (X instanceof Tensor && K instanceof Tensor) {
    const xs = X.shape, ks = K.shape;
    if (xs.length === 3 && ks.length === 4 && X.dtype === K.dtype) {
      const ci = xs[0], h = xs[1], w = xs[2], co = ks[0];
      if (ks[1] === ci && ks[2] === 1 && ks[3] === 1 && X.data.length === ci * h * w && K.data.length === co * ci) {
        return matmul2d(K.data, X.data, co, ci, h * w, X.dtype, frozenShape3(co, h, w));
      }
    }
  }
  return runMatmulPlan(prepareCorr2dMultiInOut1x1(X, K));
}
/** corr2dMultiInOut1x1's checks and output: a matmul plan (shared with corr2dMultiInOut1x1Async). */
export function prepareCorr2dMultiInOut1x1(X: Tensor, K: Tensor, defer = false): MatmulPlan {
  checkPair('corr2dMultiInOut1x1', X, K);
  if (X.ndim !== 3 || K.ndim !== 4 || X.shape[0] !== K.shape[1] || K.shape[2] !== 1 || K.shape[3] !== 1) {
    throw new RangeError(`corr2dMultiInOut1x1: expected X (ci, h, w) and a 1x1 kernel K (co, ci, 1, 1) with the same ci, but got X of size ${fmt(X.shape)} and K of size ${fmt(K.shape)}`);
  }
  const [ci, h, w] = X.shape;
  const co = K.shape[0];
  const p = prepareMatmul(K.reshape(co, ci), X.reshape(ci, h * w), undefined, defer);
  p.shape = [co, h, w];
  return p;
}

/** The d2l functions check their own arguments so errors name them, not conv2d. */
function checkPair(op: string, X: unknown, K: unknown): void {
  checkTensor(op, X, 'X');
  checkTensor(op, K, 'K');
  if ((X as Tensor).dtype !== (K as Tensor).dtype) {
    throw new TypeError(`${op}: expected X and K to have the same dtype, but got ${(X as Tensor).dtype} and ${(K as Tensor).dtype}`);
  }
}

/** The kernel's (h, w) (from index ki of K's shape) fits the input's (from index xi of X's). */
function checkFits(op: string, X: readonly number[], K: readonly number[], xi: number, ki: number): void {
  const kh = K[ki], kw = K[ki + 1];
  if (kh > X[xi] || kw > X[xi + 1] || kh === 0 || kw === 0) {
    throw new RangeError(`${op}: kernel of size ${fmt(K.slice(ki))} does not fit in input of size ${fmt(X.slice(xi))}`);
  }
}
