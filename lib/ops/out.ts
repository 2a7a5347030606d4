// The `out` option (PyTorch's `out=`): the caller's tensor receives the
// result instead of a new one. Shared by matmul, conv2d and their async twins.
import { DType, FloatArray, allocateOutput, allocateOwn, byteLengthOf, isPooled } from '../dtype';
import { fmt } from '../shape';
import { Tensor, adopt, checkTensor } from '../tensor';

/** Whether two arrays' bytes intersect (both over the same buffer object). */
export function sharesMemory(x: FloatArray, y: FloatArray): boolean {
  if (x.buffer !== y.buffer || x.byteLength === 0 || y.byteLength === 0) return false;
  return x.byteOffset < y.byteOffset + y.byteLength && y.byteOffset < x.byteOffset + x.byteLength;
}

/**
 * Checks `out` (a value of an options object) as the destination of a
 * result of `shape` and `dtype`: a live Tensor (TypeError), of that dtype
 * (TypeError) and exactly that shape (RangeError; unlike PyTorch, which
 * resizes it, a tensor's buffer here has a fixed size), whose memory no
 * input shares (RangeError: the kernel would read values it has already
 * overwritten; the native side checks the raw address ranges again).
 * Returns the tensor; nothing is written.
 */
export function checkOut(op: string, out: unknown, shape: readonly number[], dtype: DType,
  inputs: ReadonlyArray<readonly [string, FloatArray | null]>): Tensor {
  const t = checkTensor(op, out, 'out');
  if (t.dtype !== dtype) {
    throw new TypeError(`${op}: expected out to have dtype ${dtype}, but got ${t.dtype}`);
  }
  const s = t.shape;
  if (s.length !== shape.length || s.some((d, i) => d !== shape[i])) {
    throw new RangeError(`${op}: expected out to have shape ${fmt(shape)}, but got ${fmt(s)}`);
  }
  for (const [name, data] of inputs) {
    if (data !== null && sharesMemory(t.data, data)) {
      throw new RangeError(`${op}: out shares memory with argument '${name}' (the result would overwrite the input while it is read); pass a separate tensor, e.g. a clone()`);
    }
  }
  return t;
}

/** Whether a value of `options.out` asks for a destination (undefined and null do not). */
export function wantsOut(out: unknown): boolean {
  return out !== undefined && out !== null;
}

/**
 * A new output not allocated yet: an async job's (ops/async.ts) of at most
 * DEFER_MAX_BYTES is allocated when the job starts, so jobs waiting for a
 * slot hold no output memory. Until then the plan's `out` is an empty array.
 */
export const DEFER_MAX_BYTES = 2 ** 30;

export interface LaterOutput {
  dtype: DType;
  length: number;
  writesAll: boolean;
}

/**
 * Where an op writes a result of `shape` (`length` elements): a new array
 * (allocateOutput's; `target` null), or, when `outOption` asks for one, the
 * checked `out` tensor's own array. `zero`: the op leaves some elements
 * unwritten (an empty reduction), so a caller's array must be zeroed before
 * it runs; a new one already is. `later` (when `defer`): the new array is
 * not allocated yet (see LaterOutput).
 */
export interface Destination {
  out: FloatArray;
  target: Tensor | null;
  zero: boolean;
  later: LaterOutput | null;
}

export function destination(op: string, outOption: unknown, dtype: DType, shape: readonly number[], length: number,
  writesAll: boolean, inputs: ReadonlyArray<readonly [string, FloatArray | null]>, defer = false): Destination {
  if (!wantsOut(outOption)) {
    // Up to DEFER_MAX_BYTES: a larger output is allocated at the call, so
    // that a size the process cannot hold fails there, with the sync op's
    // RangeError (how large a typed array may be depends on the Node version).
    if (defer && byteLengthOf(dtype, length) <= DEFER_MAX_BYTES) {
      return { out: allocateOwn(dtype, 0), target: null, zero: false, later: { dtype, length, writesAll } };
    }
    return { out: allocateOutput(dtype, length, op, writesAll), target: null, zero: false, later: null };
  }
  const target = checkOut(op, outOption, shape, dtype, inputs);
  return { out: target.data, target, zero: !writesAll, later: null };
}


/**
 * The plan, its LaterOutput (if any) allocated now as its `out`. `own`: not
 * a view into the small-tensor pool (an async job's kernel writes it from
 * another thread; see ops/async.ts, pinned).
 */
export function allocateLater<P extends { out: FloatArray; later?: LaterOutput | null }>(op: string, p: P, own: boolean): P {
  const later = p.later;
  if (later === undefined || later === null) return p;
  p.later = null;
  const out = allocateOutput(later.dtype, later.length, op, later.writesAll);
  p.out = own && isPooled(out) ? allocateOwn(later.dtype, later.length, op) : out;
  return p;
}

/** A plan's result once its output is written: the caller's `out` tensor, or a new one over the output. */
export function resultOf(p: { out: FloatArray; target: Tensor | null; shape: number[] }): Tensor {
  return p.target ?? adopt(p.out, p.shape);
}
