// The Tensor class stays thin: it owns a contiguous row-major typed array, a
// shape and a dtype; every op lives in its own module under ops/.
import { inspect } from 'node:util';

import { DType, FloatArray, SameDType, TypedArrayFor, allocate, dtypeOfArray, isDetached } from './dtype';
import { Shape, checkShape, fmt, inferShape, normDim, numel } from './shape';
import { formatChecked, formatUnreadable } from './print';
import * as ew from './ops/elementwise';
import * as red from './ops/reduce';
import { matmul } from './ops/matmul';
import { transpose } from './ops/shape_ops';

export type Scalar = number;
export type NestedArray = number | NestedArray[];

export class Tensor<D extends DType = DType> {
  /** Dimensions, outermost first. */
  readonly shape: readonly number[];
  readonly dtype: D;
  /** The elements, contiguous and row-major. Shared by reshaped views. */
  readonly data: TypedArrayFor<D>;

  /**
   * Wraps `data` (not copied). Prefer the creation functions; this checks
   * that `data` is a Float32Array/Float64Array holding exactly
   * numel(shape) elements.
   */
  constructor(data: TypedArrayFor<D>, shape: Shape) {
    if (adopting !== undefined) {
      // adopt(): an output an op just allocated, its shape frozen already.
      this.shape = shape;
      this.dtype = adopting as D;
      this.data = data;
      adopting = undefined;
      return;
    }
    if (!(data instanceof Float32Array || data instanceof Float64Array)) {
      throw new TypeError('Tensor: data must be a Float32Array or Float64Array');
    }
    const s = checkShape('Tensor', shape);
    const n = numel(s);
    if (!(data.buffer instanceof ArrayBuffer)) {
      // As fromTypedArray: native kernels refuse memory another thread could
      // change mid-call, so no tensor is made over it (a copy: tensor(data)).
      throw new TypeError('Tensor: data must not be backed by a SharedArrayBuffer (tensor(data) copies it)');
    }
    if (data.length === 0 && isDetached(data.buffer)) throw new TypeError('Tensor: data has a detached buffer');
    if (data.length !== n) {
      throw new RangeError(`Tensor: data has ${data.length} elements but shape ${fmt(s)} needs ${n}`);
    }
    this.shape = Object.freeze(s);
    this.dtype = dtypeOfArray(data) as D;
    this.data = data;
  }

  get ndim(): number {
    return this.shape.length;
  }

  get numel(): number {
    return this.data.length;
  }

  /** The value of a one-element tensor. */
  item(): number {
    checkData('item', this, 'self');
    if (this.data.length !== 1) {
      throw new RangeError(`item: a Tensor with ${this.data.length} elements cannot be converted to Scalar`);
    }
    return this.data[0];
  }

  /** Nested JS arrays (a number for a 0-d tensor). */
  toArray(): NestedArray {
    checkData('toArray', this, 'self');
    const { data, shape } = this;
    if (shape.length === 0) return data[0];
    const build = (dim: number, offset: number, stride: number): NestedArray[] => {
      const n = shape[dim];
      const inner = stride / (n || 1);
      const out: NestedArray[] = new Array(n);
      for (let i = 0; i < n; i++) {
        out[i] = dim === shape.length - 1 ? data[offset + i] : build(dim + 1, offset + i * inner, inner);
      }
      return out;
    };
    return build(0, 0, numel(shape));
  }

  /** Same elements, new shape (one -1 is inferred); shares the buffer. */
  reshape(...dims: number[] | [readonly number[]]): Tensor<D> {
    checkData('reshape', this, 'self');
    if (dims.length === 0) throw new TypeError('reshape: missing the shape (reshape(...dims) or reshape(shape))');
    const target = (dims.length === 1 && Array.isArray(dims[0]) ? dims[0] : dims) as readonly number[];
    return new Tensor(this.data, inferShape('reshape', target, this.data.length, this.shape));
  }

  /** Alias of reshape, as in PyTorch. */
  view(...dims: number[] | [readonly number[]]): Tensor<D> {
    return this.reshape(...dims);
  }

  /** Dims startDim..endDim (inclusive) as one, as torch.flatten; shares the buffer. A 0-d tensor becomes 1-D. */
  flatten(startDim = 0, endDim = -1): Tensor<D> {
    checkData('flatten', this, 'self');
    const nd = this.shape.length;
    const a = normDim('flatten', startDim, nd), b = normDim('flatten', endDim, nd);
    if (a > b) throw new RangeError('flatten: flatten() has invalid args: start_dim cannot come after end_dim');
    if (nd === 0) return new Tensor(this.data, [1]);
    const shape = [...this.shape.slice(0, a), this.shape.slice(a, b + 1).reduce((p, d) => p * d, 1), ...this.shape.slice(b + 1)];
    return new Tensor(this.data, shape);
  }

  clone(): Tensor<D> {
    checkData('clone', this, 'self');
    // allocate(): a small copy comes from the small-tensor pool, as op results do.
    const out = allocate(this.dtype, this.data.length) as TypedArrayFor<D>;
    out.set(this.data);
    return adoptShared(out, this.shape, this.dtype);
  }

  add(other: Tensor<D> | number): Tensor<D>;
  add(other: Tensor): Tensor;
  add(other: Tensor | number): Tensor {
    return ew.add(this, other);
  }
  sub(other: Tensor<D> | number): Tensor<D>;
  sub(other: Tensor): Tensor;
  sub(other: Tensor | number): Tensor {
    return ew.sub(this, other);
  }
  mul(other: Tensor<D> | number): Tensor<D>;
  mul(other: Tensor): Tensor;
  mul(other: Tensor | number): Tensor {
    return ew.mul(this, other);
  }
  div(other: Tensor<D> | number): Tensor<D>;
  div(other: Tensor): Tensor;
  div(other: Tensor | number): Tensor {
    return ew.div(this, other);
  }
  neg(): Tensor<D> {
    return ew.neg(this);
  }
  abs(): Tensor<D> {
    return ew.abs(this);
  }

  sum(dim?: number | readonly number[], keepdim = false): Tensor<D> {
    return red.sum(this, dim, keepdim);
  }
  mean(dim?: number | readonly number[], keepdim = false): Tensor<D> {
    return red.mean(this, dim, keepdim);
  }
  /** The largest element (NaN if any is NaN), 0-d. No dim form: any argument is a TypeError. */
  max(): Tensor<D> {
    red.checkNoArgs('max', arguments.length);
    return red.max(this);
  }
  /** The smallest element (NaN if any is NaN), 0-d. No dim form: any argument is a TypeError. */
  min(): Tensor<D> {
    red.checkNoArgs('min', arguments.length);
    return red.min(this);
  }

  matmul<E extends DType = D>(other: Tensor<E> & SameDType<D, E>): Tensor<D> {
    return matmul<DType>(this, other) as Tensor<D>;
  }

  /** Dimensions dim0 and dim1 swapped (a copy), as `transpose(t, dim0, dim1)`. */
  transpose(dim0: number, dim1: number): Tensor<D> {
    return transpose(this, dim0, dim1);
  }

  /** Transpose of a 2-D tensor (a copy); 0-D and 1-D tensors are returned as is. */
  get T(): Tensor<D> {
    if (this.shape.length > 2) {
      throw new RangeError(`T: expected a tensor of at most 2 dimensions, got shape ${fmt(this.shape)}; use t.transpose(d0, d1)`);
    }
    return this.shape.length < 2 ? this : transpose(this, 0, 1);
  }

  /**
   * PyTorch's repr. Never throws: a tensor whose buffer was detached
   * (transferred) or shrunk prints its shape and that, so logging one
   * (console.log, util.inspect) stays safe.
   */
  toString(): string {
    const n = numel(this.shape);
    if (this.data.length !== n) {
      const why = this.data.length === 0 && isDetached(this.data.buffer)
        ? 'detached buffer' : `buffer resized: ${this.data.length} of ${n} elements`;
      return formatUnreadable(why, this.shape, this.dtype);
    }
    return formatChecked(this.data, this.shape, this.dtype);
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

// Set by adopt() for the one constructor call it makes: the dtype.
let adopting: DType | undefined;

/**
 * A tensor over an output an op has just allocated: `data` a fresh
 * Float32Array/Float64Array of exactly numel(shape) elements, `shape` a new
 * array nobody else holds (it is frozen in place, not copied), `dtype` the
 * data's (looked up if not given). Skips the constructor's checks; the
 * result is the same as `new Tensor(data, shape)`.
 */
export function adopt<D extends DType>(data: TypedArrayFor<D>, shape: number[], dtype?: D): Tensor<D> {
  adopting = dtype ?? dtypeOfArray(data);
  return new Tensor<D>(data, Object.freeze(shape));
}

/**
 * adopt() with a shape that is frozen already and may be shared (another
 * tensor's shape, or one of frozenShape2/3's): nothing to copy or freeze.
 */
export function adoptShared<D extends DType>(data: TypedArrayFor<D>, shape: Shape, dtype: D): Tensor<D> {
  adopting = dtype;
  return new Tensor<D>(data, shape);
}

export function isTensor(value: unknown): value is Tensor {
  return value instanceof Tensor;
}

/** Throws the TypeError every op gives for a non-tensor argument. */
export function checkTensor(op: string, value: unknown, name: string): Tensor {
  if (!(value instanceof Tensor)) {
    const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value === 'object' ? (value as object).constructor?.name ?? 'object' : typeof value;
    throw new TypeError(`${op}: argument '${name}' must be a Tensor, got ${got}`);
  }
  checkData(op, value, name);
  return value;
}

/**
 * The buffer under a tensor can be detached (transferred) or, for a
 * length-tracking view of a resizable buffer, resized after the tensor was
 * made; the data then no longer fits the shape: a TypeError naming the op.
 */
function checkData(op: string, t: Tensor, name: string): void {
  const n = numel(t.shape);
  if (t.data.length !== n) {
    throw new TypeError(t.data.length === 0 && isDetached(t.data.buffer)
      ? `${op}: argument '${name}' has a detached buffer`
      : `${op}: argument '${name}' has ${t.data.length} elements but its shape ${fmt(t.shape)} needs ${n} (was its buffer resized?)`);
  }
}

/** A tensor over `data` without copying it. */
export function wrap<D extends DType>(data: TypedArrayFor<D>, shape: Shape): Tensor<D> {
  return new Tensor<D>(data, shape);
}

export type { FloatArray };
