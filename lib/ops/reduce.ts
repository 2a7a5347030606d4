// Reductions. Sums accumulate in float64 whatever the dtype (then round
// once), so float32 sums are at least as accurate as PyTorch's.
import { DType, TypedArrayFor, allocate } from '../dtype';
import { fmt, normDim, stridesOf } from '../shape';
import { Tensor, adopt, checkTensor } from '../tensor';

function dimsOf(op: string, dim: number | readonly number[] | undefined, ndim: number): boolean[] | null {
  if (dim === undefined) return null;
  const list = typeof dim === 'number' ? [dim] : dim;
  if (!Array.isArray(list) && !(typeof dim === 'number')) {
    throw new TypeError(`${op}: dim must be an integer or an array of integers`);
  }
  // An empty list reduces every dim, as PyTorch 1.13's sum(dim=[]).
  if (list.length === 0) return null;
  // A 0-d tensor takes dims -1 and 0, both its one dim (normDim).
  const mask = new Array<boolean>(Math.max(ndim, 1)).fill(false);
  for (const d of list) {
    if (typeof d !== 'number') throw new TypeError(`${op}: dim must be an integer or an array of integers`);
    const k = normDim(op, d, ndim);
    if (mask[k]) throw new RangeError(`${op}: dim ${k} appears multiple times in the list of dims`);
    mask[k] = true;
  }
  return mask;
}

function reduceSum<D extends DType>(op: string, t: Tensor<D>, dim: number | readonly number[] | undefined, keepdim: boolean, scaleByCount: boolean): Tensor<D> {
  checkTensor(op, t, 'self');
  const mask = dimsOf(op, dim, t.ndim);
  const x = t.data;
  if (mask === null || t.ndim === 0 || mask.every(Boolean)) {
    let s = 0;
    for (let i = 0; i < x.length; i++) s += x[i];
    if (scaleByCount) s /= x.length;
    const out = allocate(t.dtype, 1) as TypedArrayFor<D>;
    out[0] = s;
    return adopt<D>(out, keepdim ? t.shape.map(() => 1) : [], t.dtype);
  }
  // Output shape and, per input dim, the stride into the output (0 if reduced).
  const outShapeKeep = t.shape.map((d, i) => (mask[i] ? 1 : d));
  const outStrides = stridesOf(outShapeKeep).map((s, i) => (mask[i] ? 0 : s));
  const outLen = outShapeKeep.reduce((a, b) => a * b, 1);
  const acc = allocate('float64', outLen, op);
  const nd = t.ndim;
  const idx = new Array<number>(nd).fill(0);
  let o = 0;
  for (let i = 0; i < x.length; i++) {
    acc[o] += x[i];
    for (let d = nd - 1; d >= 0; d--) {
      idx[d]++;
      o += outStrides[d];
      if (idx[d] < t.shape[d]) break;
      o -= outStrides[d] * t.shape[d];
      idx[d] = 0;
    }
  }
  let count = 1;
  t.shape.forEach((d, i) => { if (mask[i]) count *= d; });
  const out = allocate(t.dtype, outLen) as TypedArrayFor<D>;
  for (let i = 0; i < outLen; i++) out[i] = scaleByCount ? acc[i] / count : acc[i];
  const shape = keepdim ? outShapeKeep : t.shape.filter((_, i) => !mask[i]);
  return new Tensor<D>(out, shape);
}

export function sum<D extends DType>(t: Tensor<D>, dim?: number | readonly number[], keepdim = false): Tensor<D> {
  return reduceSum('sum', t, dim, keepdim, false);
}

export function mean<D extends DType>(t: Tensor<D>, dim?: number | readonly number[], keepdim = false): Tensor<D> {
  return reduceSum('mean', t, dim, keepdim, true);
}

function extreme<D extends DType>(op: 'max' | 'min', t: Tensor<D>): Tensor<D> {
  checkTensor(op, t, 'self');
  const x = t.data;
  if (x.length === 0) {
    throw new RangeError(`${op}(): Expected reduction dim to be specified for input.numel() == 0 (shape ${fmt(t.shape)}). Specify the reduction dim with the 'dim' argument.`);
  }
  let m = x[0];
  for (let i = 1; i < x.length && m === m; i++) {
    const v = x[i];
    if (v !== v) m = v; // NaN propagates, as in PyTorch
    else if (op === 'max' ? v > m : v < m) m = v;
  }
  const out = allocate(t.dtype, 1) as TypedArrayFor<D>;
  out[0] = m;
  return new Tensor<D>(out, []);
}

/**
 * PyTorch's max(dim) and min(dim) return values and indices; tensors here
 * hold floats only, so there is no dim form, and any argument is refused
 * rather than ignored (t.max(1) would otherwise reduce everything).
 */
export function checkNoArgs(op: 'max' | 'min', extra: number): void {
  if (extra > 0) {
    throw new TypeError(`${op}: takes no arguments (reducing along a dim, PyTorch's ${op}(dim), is not supported; ${op}() reduces every element)`);
  }
}

export function max<D extends DType>(t: Tensor<D>): Tensor<D> {
  checkNoArgs('max', arguments.length - 1);
  return extreme('max', t);
}
export function min<D extends DType>(t: Tensor<D>): Tensor<D> {
  checkNoArgs('min', arguments.length - 1);
  return extreme('min', t);
}
