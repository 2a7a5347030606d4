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

export function allocate<D extends DType>(dtype: D, length: number): TypedArrayFor<D> {
  return (dtype === 'float64' ? new Float64Array(length) : new Float32Array(length)) as TypedArrayFor<D>;
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
