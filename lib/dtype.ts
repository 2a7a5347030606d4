// The one source of truth for dtypes: each name maps to its typed array.
import { native } from './native';

export type DType = 'float32' | 'float64';

export interface DTypeMap {
  float32: Float32Array;
  float64: Float64Array;
}
export type TypedArrayFor<D extends DType> = DTypeMap[D];
export type FloatArray = Float32Array | Float64Array;

export const DEFAULT_DTYPE: DType = 'float32';

export function isDType(value: unknown): value is DType {
  return value === 'float32' || value === 'float64';
}

export function checkDType(op: string, value: unknown): DType {
  if (value === undefined) return DEFAULT_DTYPE;
  if (!isDType(value)) {
    throw new TypeError(`${op}: dtype must be 'float32' or 'float64', got ${describe(value)}`);
  }
  return value;
}

/** Bytes of `length` elements of `dtype`. */
export function byteLengthOf(dtype: DType, length: number): number {
  return dtype === 'float64' ? 8 * length : 4 * length;
}

/** A `dtype` array of `length` elements over `buffer` from byte `at`. */
function viewOf<D extends DType>(dtype: D, buffer: ArrayBufferLike, at: number, length: number): TypedArrayFor<D> {
  return (dtype === 'float64' ? new Float64Array(buffer, at, length) : new Float32Array(buffer, at, length)) as TypedArrayFor<D>;
}

/**
 * The small-tensor pool. V8 keeps typed arrays of at most 64 bytes on its
 * heap (~25 ns); any larger one gets its own backing store: a malloc, V8's
 * bookkeeping and a free on its sweeper thread, 1-3 us per array here
 * (README, "Small tensors share 8 KiB buffers"), which is most of the time
 * of a d2l-size op. Arrays of POOL_MIN_BYTES..POOL_MAX_BYTES are views into
 * a shared POOL_SLAB_BYTES ArrayBuffer instead, as Node's Buffer.allocUnsafe
 * carves its pool: each region is handed out once, so it reads as zeros,
 * and a slab lives while any view into it does. A slab that was detached
 * (a tensor's buffer transferred) has byteLength 0 and is replaced at the
 * next allocation.
 */
export const POOL_MIN_BYTES = 65;
export const POOL_MAX_BYTES = 1024;
export const POOL_SLAB_BYTES = 8192;
let poolEnabled = true;
let slab = new ArrayBuffer(0);
let slabUsed = 0;
const slabs = new WeakSet<ArrayBuffer>();

/**
 * Turns the small-tensor pool on or off (on by default). Off, every new
 * tensor above 64 bytes has its own ArrayBuffer (`t.data.buffer` can then be
 * transferred without touching any other tensor); tensors already made keep
 * their memory.
 */
export function setSmallTensorPool(enabled: boolean): void {
  if (typeof enabled !== 'boolean') {
    throw new TypeError(`setSmallTensorPool: enabled must be a boolean, got ${describe(enabled)}`);
  }
  poolEnabled = enabled;
}

/** Whether `a` is a view into one of the small-tensor pool's slabs (shared with other tensors). */
export function isPooled(a: FloatArray): boolean {
  return a.byteLength >= POOL_MIN_BYTES && slabs.has(a.buffer as ArrayBuffer);
}

function pooled<D extends DType>(dtype: D, length: number, bytes: number): TypedArrayFor<D> {
  // Regions start 16 bytes apart (float64 needs 8).
  const size = (bytes + 15) & ~15;
  if (slabUsed + size > slab.byteLength) {
    slab = new ArrayBuffer(POOL_SLAB_BYTES);
    slabs.add(slab);
    slabUsed = 0;
  }
  const at = slabUsed;
  slabUsed += size;
  return viewOf(dtype, slab, at, length);
}

/**
 * A zeroed array of `length` elements, from the small-tensor pool when it is
 * POOL_MIN_BYTES..POOL_MAX_BYTES long (see above). With `op`, a length the
 * engine cannot allocate is a RangeError naming the op (instead of V8's bare
 * "Invalid typed array length" or "Array buffer allocation failed").
 */
export function allocate<D extends DType>(dtype: D, length: number, op?: string): TypedArrayFor<D> {
  const bytes = byteLengthOf(dtype, length);
  if (poolEnabled && bytes >= POOL_MIN_BYTES && bytes <= POOL_MAX_BYTES && Number.isInteger(length)) {
    return pooled(dtype, length, bytes);
  }
  return allocateOwn(dtype, length, op);
}

/** allocate() without the pool: a zeroed array over its own ArrayBuffer. */
export function allocateOwn<D extends DType>(dtype: D, length: number, op?: string): TypedArrayFor<D> {
  try {
    return (dtype === 'float64' ? new Float64Array(length) : new Float32Array(length)) as TypedArrayFor<D>;
  } catch (err) {
    if (op === undefined || !(err instanceof RangeError)) throw err;
    throw new RangeError(`${op}: cannot allocate a ${dtype} tensor of ${length} elements (${err.message})`, { cause: err });
  }
}

/** Outputs of at least this many bytes come from allocateOutput's uninitialised path. */
export const UNINIT_OUTPUT_BYTES = 16384;

/** A transparent huge page (native gemm.h: kHugePageBytes). */
export const HUGE_PAGE_BYTES = 2 << 20;

/**
 * Outputs of at least this many bytes (allocateOutput's uninitialised ones)
 * start on a 2 MiB boundary, in a buffer HUGE_PAGE_BYTES longer than they
 * are (`t.data.byteOffset` is then not 0; the part before the array is never
 * written). The GEMM and conv2d advise an output of 2 MiB or more
 * MADV_HUGEPAGE over the whole 2 MiB pages inside it, and a fresh one then
 * faults in 2 MiB at a time. Straight from malloc an output started 16
 * bytes past a 4 KiB page and had one such page fewer: a 3.2 MB output
 * none, a 1024^2 fp32 one only half of its 4 MiB, the rest faulted 4 KiB at
 * a time (0.1-16 us each on this VM; README, "Fresh pages").
 */
export const HUGE_OUTPUT_BYTES = HUGE_PAGE_BYTES; // the smallest output that can hold a whole one

/**
 * An output array for an op. When `writesAll` (the op is about to write
 * every element: a GEMM with k > 0, a convolution with a non-empty
 * reduction, a pooling kernel) and from 16 KiB up, its
 * memory is not zeroed first (Buffer.allocUnsafeSlow: its own ArrayBuffer,
 * memory from malloc as is; byteOffset 0 below HUGE_OUTPUT_BYTES): zeroing
 * costs as much as 5-8 % of a 128-512 sized product, for values the op overwrites anyway, and from
 * 16 KiB allocUnsafeSlow's path is also the cheaper allocation here (new
 * Float32Array takes 1.8x its time at 16 KiB, 1.2x at 8 KiB, 0.85x at
 * 1-2 KiB). Smaller ones, outputs an op may leave partly unwritten (they
 * must read as zeros), and any case allocUnsafeSlow refuses, are
 * allocate()'s. Callers must
 * write every element before the array is seen (no stale bytes escape).
 */
export function allocateOutput<D extends DType>(dtype: D, length: number, op: string, writesAll: boolean): TypedArrayFor<D> {
  const bytes = byteLengthOf(dtype, length);
  if (writesAll && bytes >= UNINIT_OUTPUT_BYTES && Number.isSafeInteger(length)) {
    // From HUGE_OUTPUT_BYTES, HUGE_PAGE_BYTES more, and the array starts on
    // the buffer's first 2 MiB boundary (see HUGE_OUTPUT_BYTES).
    const huge = bytes >= HUGE_OUTPUT_BYTES;
    let buf: Buffer | undefined;
    try {
      buf = Buffer.allocUnsafeSlow(huge ? bytes + HUGE_PAGE_BYTES : bytes);
    } catch {
      buf = undefined; // allocate() gives the op's RangeError, or succeeds
    }
    if (buf !== undefined) {
      const at = buf.byteOffset + (huge ? native()._hugePageOffset(buf.buffer as ArrayBuffer) : 0);
      return viewOf(dtype, buf.buffer, at, length);
    }
  }
  return allocate(dtype, length, op);
}

/** Whether `buffer` was detached (transferred); Node 20 has no ArrayBuffer.prototype.detached. */
export function isDetached(buffer: ArrayBufferLike): boolean {
  const flag = (buffer as { detached?: unknown }).detached;
  if (typeof flag === 'boolean') return flag;
  if (buffer.byteLength > 0) return false;
  try {
    new Uint8Array(buffer, 0, 0);
    return false;
  } catch {
    return true;
  }
}

export function dtypeOfArray(a: FloatArray): DType {
  return a instanceof Float64Array ? 'float64' : 'float32';
}

/**
 * For ops that need both operands in one dtype: never when D and E are two
 * different known dtypes (float32 with float64), so such a call does not
 * compile; a Tensor of unknown dtype (DType) pairs with either. (The
 * runtime check stays: a TypeError naming both dtypes.)
 */
export type SameDType<D extends DType, E extends DType> = [D] extends [E] ? unknown : [E] extends [D] ? unknown : never;

/** The dtype PyTorch's type promotion gives two floating tensors of the same rank class. */
export function promote(a: DType, b: DType): DType {
  return a === 'float64' || b === 'float64' ? 'float64' : 'float32';
}

/**
 * The dtype of an elementwise op on two floating tensors, as PyTorch's
 * result_type: a tensor with dimensions decides over a 0-d one (float32 [3]
 * plus a float64 0-d tensor is float32), else float64 wins.
 */
export function resultType(a: { readonly dtype: DType; readonly shape: readonly number[] }, b: { readonly dtype: DType; readonly shape: readonly number[] }): DType {
  const ra = a.shape.length > 0, rb = b.shape.length > 0;
  if (ra !== rb) return ra ? a.dtype : b.dtype;
  return promote(a.dtype, b.dtype);
}

/** A short description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array`;
  if (typeof value === 'object') return `an instance of ${(value as object).constructor?.name ?? 'Object'}`;
  if (typeof value === 'string') return `'${value}'`;
  return `${String(value)} of type ${typeof value}`;
}
