// Functions that make tensors.
import { DType, TypedArrayFor, allocate, checkDType, describe, dtypeOfArray, isDetached } from './dtype';
import { Generator, defaultGenerator } from './random';
import { broadcastShapes, broadcastStrides, checkShape, fmt, numel } from './shape';
import { NestedArray, Tensor, adopt, checkTensor } from './tensor';
import { checkOptions, keysOf } from './options';

export interface DTypeOptions<D extends DType = DType> {
  dtype?: D | undefined;
}
export interface RandomOptions<D extends DType = DType> extends DTypeOptions<D> {
  generator?: Generator | undefined;
}
/** Options that name the dtype: the result has it. */
export type WithDType<D extends DType, O = DTypeOptions<D>> = O & { dtype: D };
/** Options that leave the dtype out (or undefined): the result is float32 (tensor() of a Float64Array: float64). */
export type DefaultDType<O = DTypeOptions> = O & { dtype?: undefined };
const DTYPE_KEYS = keysOf<DTypeOptions>()(['dtype']);
const RANDOM_KEYS = keysOf<RandomOptions>()(['dtype', 'generator']);
/** normal's options when a mean or std is a tensor: the result's dtype is the tensors'. */
export interface GeneratorOptions {
  generator?: Generator | undefined;
}
const GENERATOR_KEYS = keysOf<GeneratorOptions>()(['generator']);

type AnyTypedArray =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Uint8ClampedArray
  | Int16Array | Uint16Array | Int32Array | Uint32Array;
/** What tensor() copies: a number, nested arrays of numbers, or a typed array. */
export type TensorData = NestedArray | ArrayLike<number> | AnyTypedArray;

function isTypedArray(v: unknown): v is AnyTypedArray {
  return ArrayBuffer.isView(v) && !(v instanceof DataView) && !(v instanceof BigInt64Array) && !(v instanceof BigUint64Array);
}

/**
 * A tensor holding a copy of `data`: a number (0-d), nested arrays of
 * numbers (must be rectangular), or a typed array (1-D). The dtype is
 * float64 for a Float64Array and float32 otherwise, unless given.
 */
export function tensor<D extends DType>(data: TensorData, options: WithDType<D>): Tensor<D>;
export function tensor(data: Float64Array, options?: DefaultDType): Tensor<'float64'>;
export function tensor(data: TensorData, options?: DefaultDType): Tensor<'float32'>;
export function tensor(data: TensorData, options?: DTypeOptions): Tensor;
export function tensor(data: TensorData, options: DTypeOptions = {}): Tensor {
  checkOptions('tensor', options, DTYPE_KEYS);
  if (isTypedArray(data)) {
    // (A detached array reads as empty; .buffer is only touched then, as it costs a copy for small arrays.)
    if (data.length === 0 && isDetached(data.buffer)) throw new TypeError('tensor: data has a detached buffer');
    const dtype = checkDType('tensor', options.dtype ?? (data instanceof Float64Array ? 'float64' : 'float32'));
    const out = allocate(dtype, data.length);
    out.set(data);
    return new Tensor(out, [data.length]);
  }
  const dtype = checkDType('tensor', options.dtype);
  if (typeof data === 'number') {
    const out = allocate(dtype, 1);
    out[0] = data;
    return new Tensor(out, []);
  }
  if (!Array.isArray(data)) {
    throw new TypeError(`tensor: data must be a number, a nested array of numbers or a typed array, got ${describe(data)}`);
  }
  const shape: number[] = [];
  for (let level: unknown = data; Array.isArray(level); level = level[0]) {
    shape.push(level.length);
    if (level.length === 0) break;
  }
  const out = allocate(dtype, numel(shape), 'tensor');
  let pos = 0;
  const fill = (v: unknown, dim: number): void => {
    if (dim === shape.length) {
      if (typeof v !== 'number') {
        throw new TypeError(`tensor: expected a number at depth ${dim}, got ${describe(v)}`);
      }
      out[pos++] = v;
      return;
    }
    if (!Array.isArray(v)) {
      throw new TypeError(`tensor: expected a sequence of length ${shape[dim]} at dim ${dim}, got ${describe(v)}`);
    }
    if (v.length !== shape[dim]) {
      throw new RangeError(`tensor: expected sequence of length ${shape[dim]} at dim ${dim} (got ${v.length})`);
    }
    for (const x of v) fill(x, dim + 1);
  };
  fill(data, 0);
  return new Tensor(out, shape);
}

/** A tensor over `data` without copying: the tensor and the array share memory. */
export function fromTypedArray(data: Float64Array, shape?: readonly number[]): Tensor<'float64'>;
export function fromTypedArray(data: Float32Array, shape?: readonly number[]): Tensor<'float32'>;
export function fromTypedArray(data: Float32Array | Float64Array, shape?: readonly number[]): Tensor;
export function fromTypedArray(data: Float32Array | Float64Array, shape?: readonly number[]): Tensor {
  if (!(data instanceof Float32Array || data instanceof Float64Array)) {
    throw new TypeError(`fromTypedArray: data must be a Float32Array or Float64Array, got ${describe(data)}`);
  }
  if (!(data.buffer instanceof ArrayBuffer)) {
    // Native kernels refuse shared memory another thread could change mid-call.
    throw new TypeError('fromTypedArray: data must not be backed by a SharedArrayBuffer');
  }
  if (data.length === 0 && isDetached(data.buffer)) {
    // A detached array reads as empty in JS; a tensor over it would silently hold nothing.
    throw new TypeError('fromTypedArray: data has a detached buffer');
  }
  const s = shape === undefined ? [data.length] : checkShape('fromTypedArray', shape);
  const n = numel(s);
  if (n !== data.length) {
    throw new RangeError(`fromTypedArray: shape ${fmt(s)} needs ${n} elements but the ${dtypeOfArray(data) === 'float64' ? 'Float64Array' : 'Float32Array'} has ${data.length}`);
  }
  return new Tensor(data, s);
}

/** The largest finite float32. */
const FLOAT32_MAX = 3.4028234663852886e38;

function filled(op: string, shape: readonly number[], value: number, options: DTypeOptions): Tensor {
  // A shape that is not an array first: zeros(2, 3) would otherwise read
  // as bad options.
  if (!Array.isArray(shape)) checkShape(op, shape);
  checkOptions(op, options, DTYPE_KEYS);
  const s = checkShape(op, shape);
  if (typeof value !== 'number') throw new TypeError(`${op}: fill value must be a number, got ${describe(value)}`);
  const dtype = checkDType(op, options.dtype);
  // As PyTorch: a finite value past float32's range is an error, not inf.
  if (dtype === 'float32' && Number.isFinite(value) && Math.abs(value) > FLOAT32_MAX) {
    throw new RangeError(`${op}: value ${value} cannot be converted to type float32 without overflow`);
  }
  const out = allocate(dtype, numel(s), op);
  if (!Object.is(value, 0)) out.fill(value); // -0 too: full([3], -0) is three -0s
  return new Tensor(out, s);
}

export function full<D extends DType>(shape: readonly number[], value: number, options: WithDType<D>): Tensor<D>;
export function full(shape: readonly number[], value: number, options?: DefaultDType): Tensor<'float32'>;
export function full(shape: readonly number[], value: number, options?: DTypeOptions): Tensor;
export function full(shape: readonly number[], value: number, options: DTypeOptions = {}): Tensor {
  return filled('full', shape, value, options);
}

export function zeros<D extends DType>(shape: readonly number[], options: WithDType<D>): Tensor<D>;
export function zeros(shape: readonly number[], options?: DefaultDType): Tensor<'float32'>;
export function zeros(shape: readonly number[], options?: DTypeOptions): Tensor;
export function zeros(shape: readonly number[], options: DTypeOptions = {}): Tensor {
  return filled('zeros', shape, 0, options);
}

export function ones<D extends DType>(shape: readonly number[], options: WithDType<D>): Tensor<D>;
export function ones(shape: readonly number[], options?: DefaultDType): Tensor<'float32'>;
export function ones(shape: readonly number[], options?: DTypeOptions): Tensor;
export function ones(shape: readonly number[], options: DTypeOptions = {}): Tensor {
  return filled('ones', shape, 1, options);
}

/** Values start, start + step, ... below end (torch.arange; one argument means [0, end)). */
export function arange<D extends DType>(start: number, end: number | undefined, step: number | undefined, options: WithDType<D>): Tensor<D>;
export function arange(start: number, end?: number, step?: number, options?: DefaultDType): Tensor<'float32'>;
export function arange(start: number, end?: number, step?: number, options?: DTypeOptions): Tensor;
export function arange(start: number, end?: number, step = 1, options: DTypeOptions = {}): Tensor {
  checkOptions('arange', options, DTYPE_KEYS);
  if (end === undefined) {
    end = start;
    start = 0;
  }
  for (const [name, v] of [['start', start], ['end', end], ['step', step]] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`arange: ${name} must be a finite number, got ${describe(v)}`);
  }
  if (step === 0) throw new RangeError('arange: step must be nonzero');
  if ((step > 0 && end < start) || (step < 0 && end > start)) {
    throw new RangeError(`arange: upper bound and larger bound inconsistent with step sign (start ${start}, end ${end}, step ${step})`);
  }
  const n = Math.ceil((end - start) / step);
  const out = allocate(checkDType('arange', options.dtype), n, 'arange');
  for (let i = 0; i < n; i++) out[i] = start + i * step;
  return new Tensor(out, [n]);
}

function generatorOf(op: string, g: unknown): Generator {
  if (g === undefined) return defaultGenerator;
  if (!(g instanceof Generator)) throw new TypeError(`${op}: generator must be a Generator, got ${describe(g)}`);
  return g;
}

/**
 * Samples from N(mean, std²), as torch.normal: `normal(mean, std, shape)`
 * with numbers; or with a tensor of means and/or of stds, `normal(meanT,
 * stdT)`, `normal(meanT, std = 1)`, `normal(mean, stdT)`: one sample per
 * element of their broadcast shape, in the dtype of the mean tensor (else of
 * the std tensor).
 */
export function normal<D extends DType>(mean: number, std: number, shape: readonly number[], options: WithDType<D, RandomOptions<D>>): Tensor<D>;
export function normal(mean: number, std: number, shape: readonly number[], options?: DefaultDType<RandomOptions>): Tensor<'float32'>;
export function normal(mean: number, std: number, shape: readonly number[], options?: RandomOptions): Tensor;
export function normal<D extends DType>(mean: Tensor<D>, std?: Tensor | number, options?: GeneratorOptions): Tensor<D>;
export function normal<D extends DType>(mean: number, std: Tensor<D>, options?: GeneratorOptions): Tensor<D>;
export function normal(mean: number | Tensor, std?: number | Tensor, shape?: readonly number[] | GeneratorOptions, options: RandomOptions = {}): Tensor {
  if (mean instanceof Tensor || std instanceof Tensor) return normalOfTensors(mean, std === undefined ? 1 : std, shape);
  if (typeof mean !== 'number' || typeof std !== 'number') {
    throw new TypeError(`normal: mean and std must be numbers or tensors, got ${describe(mean)} and ${describe(std)}`);
  }
  // The shape before the options: normal(0, 1, 2, 3) is a shape given as numbers.
  const s = checkShape('normal', shape);
  checkOptions('normal', options, RANDOM_KEYS);
  if (!(std >= 0)) throw new RangeError(`normal: normal expects std >= 0.0, but found std ${std}`);
  const g = generatorOf('normal', options.generator);
  const dtype = checkDType('normal', options.dtype);
  const out = allocate(dtype, numel(s), 'normal');
  for (let i = 0; i < out.length; i++) out[i] = mean + std * g.nextNormal();
  return adopt(out, s, dtype); // s: checkShape's own copy
}

/** normal with a tensor of means and/or of stds (torch.normal(Tensor, Tensor) and its float forms). */
function normalOfTensors(mean: number | Tensor, std: number | Tensor, options: unknown = {}): Tensor {
  const m = mean instanceof Tensor ? checkTensor('normal', mean, 'mean') : mean;
  const sd = std instanceof Tensor ? checkTensor('normal', std, 'std') : std;
  if (typeof m !== 'number' && !(m instanceof Tensor)) throw new TypeError(`normal: mean must be a number or a Tensor, got ${describe(m)}`);
  if (typeof sd !== 'number' && !(sd instanceof Tensor)) throw new TypeError(`normal: std must be a number or a Tensor, got ${describe(sd)}`);
  if (Array.isArray(options)) {
    throw new TypeError('normal: with a tensor of means or stds there is no shape argument: the result has their broadcast shape (normal(mean, std, options))');
  }
  checkOptions('normal', options as GeneratorOptions, GENERATOR_KEYS);
  const g = generatorOf('normal', (options as GeneratorOptions).generator);
  const dtype = m instanceof Tensor ? m.dtype : (sd as Tensor).dtype;
  const ms = m instanceof Tensor ? m.shape : [], ss = sd instanceof Tensor ? sd.shape : [];
  const shape = broadcastShapes('normal', ms, ss);
  if (sd instanceof Tensor) {
    for (let i = 0; i < sd.data.length; i++) {
      if (!(sd.data[i] >= 0)) throw new RangeError('normal: normal expects all elements of std >= 0.0');
    }
  } else if (!(sd >= 0)) {
    throw new RangeError(`normal: normal expects std >= 0.0, but found std ${sd}`);
  }
  const n = numel(shape);
  const out = allocate(dtype, n, 'normal');
  const md = m instanceof Tensor ? m.data : null, sdd = sd instanceof Tensor ? sd.data : null;
  const mS = broadcastStrides(ms, shape), sS = broadcastStrides(ss, shape);
  const idx = new Array<number>(shape.length).fill(0);
  let mi = 0, si = 0;
  for (let i = 0; i < n; i++) {
    out[i] = (md ? md[mi] : (m as number)) + (sdd ? sdd[si] : (sd as number)) * g.nextNormal();
    // next index, last dim fastest; the offsets into mean and std follow
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) {
        mi += mS[d];
        si += sS[d];
        break;
      }
      idx[d] = 0;
      mi -= mS[d] * (shape[d] - 1);
      si -= sS[d] * (shape[d] - 1);
    }
  }
  return new Tensor(out, shape);
}

/** Uniform samples on [0, 1) (torch.rand). */
export function rand<D extends DType>(shape: readonly number[], options: WithDType<D, RandomOptions<D>>): Tensor<D>;
export function rand(shape: readonly number[], options?: DefaultDType<RandomOptions>): Tensor<'float32'>;
export function rand(shape: readonly number[], options?: RandomOptions): Tensor;
export function rand(shape: readonly number[], options: RandomOptions = {}): Tensor {
  const s = checkShape('rand', shape); // before the options: rand(2, 3) is a shape given as numbers
  checkOptions('rand', options, RANDOM_KEYS);
  const g = generatorOf('rand', options.generator);
  const dtype = checkDType('rand', options.dtype);
  const out = allocate(dtype, numel(s), 'rand');
  if (dtype === 'float64') for (let i = 0; i < out.length; i++) out[i] = g.nextDouble();
  else for (let i = 0; i < out.length; i++) out[i] = g.nextFloat32();
  return new Tensor(out, s);
}
