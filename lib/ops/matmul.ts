// torch.matmul semantics over the native GEMM: 1-D operands are promoted
// (and the added dim removed afterwards), batch dims broadcast, and each
// batch is a GEMM on the operands' own buffers (offsets, no copies).
import { DType, FloatArray, SameDType, allocateOutput } from '../dtype';
import { Shape, broadcastShapes, fmt, frozenShape2, numel, stridesOf } from '../shape';
import { NativeBinding, native } from '../native';
import { Tensor, adoptShared, checkTensor } from '../tensor';
import { LaterOutput, destination, resultOf, sharesMemory, wantsOut } from './out';
import { matmulSmall } from './tiny';
import { checkOptions, keysOf } from '../options';

// [0]: one batch starting at 0. Passed as both aOffsets and bOffsets, which
// the native side then reads once.
const SINGLE_OFFSET = new Float64Array(1);

let nativeMatmul: NativeBinding['matmul'] | undefined;
/** The binding's matmul, looked up once (it does not use `this`). */
export function matmulFn(): NativeBinding['matmul'] {
  return nativeMatmul ?? (nativeMatmul = native().matmul);
}

function sameDType(op: string, a: Tensor, b: Tensor): void {
  if (a.dtype !== b.dtype) {
    throw new TypeError(`${op}: expected both operands to have the same dtype, but got ${a.dtype} and ${b.dtype}`);
  }
}

/** matmul's options. */
export interface MatmulOptions {
  /**
   * A tensor to receive the product instead of a new one (PyTorch's `out=`),
   * returned as the result: the product's exact shape and dtype, sharing no
   * memory with either operand. Its previous values are not read.
   */
  out?: Tensor | null | undefined;
}
export const MATMUL_KEYS = keysOf<MatmulOptions>()(['out']);

/**
 * A checked matmul, ready to run (shared by matmul and matmulAsync): the
 * operands' data, the output (allocated, zeros, or the caller's `out`:
 * `target`, zeroed first when `zero`) and its shape, and the native call's
 * sizes and batch offsets. `work` is the number of multiply-adds; an empty
 * output needs no native call.
 */
export interface MatmulPlan {
  a: FloatArray;
  b: FloatArray;
  out: FloatArray;
  target: Tensor | null;
  zero: boolean;
  shape: number[];
  m: number;
  k: number;
  n: number;
  aOffsets: Float64Array;
  bOffsets: Float64Array;
  work: number;
  /** A new output allocated only when an async job starts (ops/out.ts). */
  later?: LaterOutput | null;
}

/**
 * Every check of matmul, and its output (a new array, or `out`'s after
 * checkOut's checks); throws matmul's errors. Writes nothing. `defer`: a
 * new output is left to allocateLater (async jobs).
 */
export function prepareMatmul(a: Tensor, b: Tensor, out?: unknown, defer = false): MatmulPlan {
  checkTensor('matmul', a, 'input');
  checkTensor('matmul', b, 'other');
  sameDType('matmul', a, b);
  const ad = a.ndim, bd = b.ndim;
  if (ad === 2 && bd === 2) {
    // The common case, kept short: at d2l sizes the JS around the call costs
    // more than the product (same checks and results as the general path).
    const m = a.shape[0], k = a.shape[1], k2 = b.shape[0], n = b.shape[1];
    if (k !== k2) {
      throw new RangeError(`matmul: mat1 and mat2 shapes cannot be multiplied (${m}x${k} and ${k2}x${n}) (input shapes ${fmt(a.shape)} and ${fmt(b.shape)})`);
    }
    // Every element is written (k = 0: zeros), so a large output need not be zeroed first.
    const shape = [m, n];
    const d = destination('matmul', out, a.dtype, shape, m * n, k > 0, [['input', a.data], ['other', b.data]], defer);
    return { a: a.data, b: b.data, out: d.out, target: d.target, zero: d.zero, shape, m, k, n, aOffsets: SINGLE_OFFSET, bOffsets: SINGLE_OFFSET, work: m * n * k, later: d.later };
  }
  if (ad === 0 || bd === 0) {
    throw new RangeError(`matmul: both arguments to matmul need to be at least 1D, but they are ${ad}D and ${bd}D`);
  }
  // Promote 1-D operands to matrices.
  const aShape = ad === 1 ? [1, a.shape[0]] : a.shape;
  const bShape = bd === 1 ? [b.shape[0], 1] : b.shape;
  const m = aShape[aShape.length - 2], k = aShape[aShape.length - 1];
  const k2 = bShape[bShape.length - 2], n = bShape[bShape.length - 1];
  if (k !== k2) {
    if (ad === 1 && bd === 1) {
      throw new RangeError(`matmul: inconsistent tensor size, expected tensor ${fmt(a.shape)} and src ${fmt(b.shape)} to have the same number of elements, but got ${a.numel} and ${b.numel} elements respectively`);
    }
    throw new RangeError(`matmul: mat1 and mat2 shapes cannot be multiplied (${m}x${k} and ${k2}x${n}) (input shapes ${fmt(a.shape)} and ${fmt(b.shape)})`);
  }
  const aBatch = aShape.slice(0, -2), bBatch = bShape.slice(0, -2);
  let batchShape: number[];
  try {
    batchShape = broadcastShapes('matmul', aBatch, bBatch);
  } catch {
    throw new RangeError(`matmul: batch dimensions of ${fmt(a.shape)} and ${fmt(b.shape)} cannot be broadcast together`);
  }
  const batch = numel(batchShape);
  const shape = [...batchShape];
  if (ad > 1) shape.push(m);
  if (bd > 1) shape.push(n);
  const d = destination('matmul', out, a.dtype, shape, batch * m * n, k > 0, [['input', a.data], ['other', b.data]], defer);
  let aOffsets: Float64Array = SINGLE_OFFSET, bOffsets: Float64Array = SINGLE_OFFSET;
  // An empty result needs no offsets (one per batch, which a zero-size m or
  // n could make astronomically many).
  if (batch > 1 && batch * m * n !== 0) {
    aOffsets = batchOffsets(aBatch, batchShape, m * k);
    bOffsets = batchOffsets(bBatch, batchShape, k * n);
  }
  return { a: a.data, b: b.data, out: d.out, target: d.target, zero: d.zero, shape, m, k, n, aOffsets, bOffsets, work: batch * m * n * k, later: d.later };
}

export function matmul<D extends DType, E extends DType = D>(a: Tensor<D>, b: Tensor<E> & SameDType<D, E>, options?: MatmulOptions): Tensor<D>;
export function matmul(a: Tensor, b: Tensor, options?: MatmulOptions): Tensor {
  const out = options === undefined ? undefined : matmulOut('matmul', options);
  // The d2l case, 2-D by 2-D, without a plan object: at (2x3)(3x9) the JS
  // around the native call is a third of its cost. The same checks as
  // prepareMatmul (and, into an `out`, checkOut's for a 2-D out whose memory
  // no input shares: that path allocates nothing); anything else, errors and an out
  // with k = 0 included, takes the general path.
  if (a instanceof Tensor && b instanceof Tensor) {
    const as = a.shape, bs = b.shape;
    if (as.length === 2 && bs.length === 2) {
      const m = as[0], k = as[1], n = bs[1];
      const ad = a.data, bd = b.data, dtype = a.dtype;
      if (k === bs[0] && dtype === b.dtype && ad.length === m * k && bd.length === k * n) {
        if (!wantsOut(out)) return matmul2d(ad, bd, m, k, n, dtype, frozenShape2(m, n));
        if (out instanceof Tensor && k > 0 && out.dtype === dtype) {
          const os = out.shape, od = out.data;
          if (os.length === 2 && os[0] === m && os[1] === n && od.length === m * n &&
              !sharesMemory(od, ad) && !sharesMemory(od, bd)) {
            product2d(ad, bd, od, m, k, n);
            return out;
          }
        }
      }
    }
  }
  return runMatmulPlan(prepareMatmul(a, b, out));
}

/**
 * One checked 2-D product (m x k by k x n, contiguous) into a new tensor of
 * `shape` (frozen, numel m * n).
 */
export function matmul2d(a: FloatArray, b: FloatArray, m: number, k: number, n: number, dtype: DType, shape: Shape): Tensor {
  const out = allocateOutput(dtype, m * n, 'matmul', k > 0);
  product2d(a, b, out, m, k, n);
  return adoptShared(out, shape, dtype);
}

/**
 * out = a · b (m x k by k x n, contiguous, checked; k > 0 or out zeroed):
 * float32 products of at most JS_MAX_WORK multiply-adds in JS (tiny.ts, the
 * same bits), the rest native; none for an empty output.
 */
function product2d(a: FloatArray, b: FloatArray, out: FloatArray, m: number, k: number, n: number): void {
  if (!matmulSmall(a, b, out, m, k, n) && out.length !== 0) matmulFn()(a, b, out, m, k, n, SINGLE_OFFSET, SINGLE_OFFSET);
}

/** The `out` of matmul's options object (checked to be an object, or undefined). */
export function matmulOut(op: string, options: unknown): unknown {
  checkOptions(op, options, MATMUL_KEYS);
  return (options as MatmulOptions | undefined)?.out;
}

/**
 * Runs a plan's native call (none for an empty output) and returns its
 * result: the caller's `out` tensor, or a new one over the output.
 */
export function runMatmulPlan(p: MatmulPlan): Tensor {
  if (p.zero) p.out.fill(0);
  if (p.out.length !== 0) matmulFn()(p.a, p.b, p.out, p.m, p.k, p.n, p.aOffsets, p.bOffsets);
  return resultOf(p);
}

/** Element offset of each broadcast batch's matrix within its operand. */
function batchOffsets(own: readonly number[], target: readonly number[], matrixSize: number): Float64Array {
  const batch = numel(target);
  const offsets = new Float64Array(batch);
  const ownStrides = stridesOf(own);
  const lead = target.length - own.length;
  const tStrides = stridesOf(target);
  for (let i = 0; i < batch; i++) {
    let off = 0;
    for (let d = 0; d < own.length; d++) {
      const idx = Math.floor(i / tStrides[d + lead]) % target[d + lead];
      if (own[d] !== 1) off += idx * ownStrides[d];
    }
    offsets[i] = off * matrixSize;
  }
  return offsets;
}
