// The one source of truth for dtypes: each name maps to its typed array.
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

/**
 * A zeroed array of `length` elements. With `op`, a length the engine cannot
 * allocate is a RangeError naming the op (instead of V8's bare
 * "Invalid typed array length" or "Array buffer allocation failed").
 */
export function allocate<D extends DType>(dtype: D, length: number, op?: string): TypedArrayFor<D> {
  try {
    return (dtype === 'float64' ? new Float64Array(length) : new Float32Array(length)) as TypedArrayFor<D>;
  } catch (err) {
    if (op === undefined || !(err instanceof RangeError)) throw err;
    throw new RangeError(`${op}: cannot allocate a ${dtype} tensor of ${length} elements (${err.message})`, { cause: err });
  }
}

/** Outputs of at least this many bytes come from allocateOutput's uninitialised path. */
export const UNINIT_OUTPUT_BYTES = 16384;

/**
 * An output array for an op. When `writesAll` (the op is about to write
 * every element: a GEMM with k > 0, a convolution with a non-empty
 * reduction, a pooling kernel) and from 16 KiB up, its
 * memory is not zeroed first (Buffer.allocUnsafeSlow: its own ArrayBuffer,
 * byteOffset 0, memory from malloc as is): zeroing costs as much as 5-8 % of
 * a 128-512 sized product, for values the op overwrites anyway, and from
 * 16 KiB allocUnsafeSlow's path is also the cheaper allocation here (new
 * Float32Array takes 1.8x its time at 16 KiB, 1.2x at 8 KiB, 0.85x at
 * 1-2 KiB). Smaller ones, outputs an op may leave partly unwritten (they
 * must read as zeros), and any case allocUnsafeSlow refuses, are
 * allocate()'s. Callers must
 * write every element before the array is seen (no stale bytes escape).
 */
export function allocateOutput<D extends DType>(dtype: D, length: number, op: string, writesAll: boolean): TypedArrayFor<D> {
  const bytes = dtype === 'float64' ? 8 * length : 4 * length;
  if (writesAll && bytes >= UNINIT_OUTPUT_BYTES && Number.isSafeInteger(length)) {
    let buf: Buffer | undefined;
    try {
      buf = Buffer.allocUnsafeSlow(bytes);
    } catch {
      buf = undefined; // allocate() gives the op's RangeError, or succeeds
    }
    if (buf !== undefined) {
      return (dtype === 'float64' ? new Float64Array(buf.buffer, buf.byteOffset, length) : new Float32Array(buf.buffer, buf.byteOffset, length)) as TypedArrayFor<D>;
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

/** The dtype PyTorch's type promotion gives two floating tensors. */
export function promote(a: DType, b: DType): DType {
  return a === 'float64' || b === 'float64' ? 'float64' : 'float32';
}

/** A short description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array`;
  if (typeof value === 'object') return `an instance of ${(value as object).constructor?.name ?? 'Object'}`;
  if (typeof value === 'string') return `'${value}'`;
  return `${String(value)} of type ${typeof value}`;
}
