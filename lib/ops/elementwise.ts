// Elementwise arithmetic with NumPy broadcasting. These run in TypeScript:
// at the sizes where they matter for d2l code the cost is the allocation,
// and a call into native would cost more than the loop (bench/RESULTS.md).
import { DType, TypedArrayFor, allocate, promote } from '../dtype';
import { broadcastShapes, broadcastStrides, numel } from '../shape';
import { Tensor, checkTensor } from '../tensor';

type BinaryFn = (x: number, y: number) => number;

function binary(op: string, fn: BinaryFn, a: Tensor, b: Tensor | number): Tensor {
  checkTensor(op, a, 'self');
  if (typeof b === 'number') {
    const out = allocate(a.dtype, a.data.length);
    const x = a.data;
    for (let i = 0; i < x.length; i++) out[i] = fn(x[i], b);
    return new Tensor(out, a.shape);
  }
  checkTensor(op, b, 'other');
  const dtype = promote(a.dtype, b.dtype);
  const shape = broadcastShapes(op, a.shape, b.shape);
  const n = numel(shape);
  const out = allocate(dtype, n, op);
  const x = a.data, y = b.data;
  if (x.length === n && y.length === n) {
    for (let i = 0; i < n; i++) out[i] = fn(x[i], y[i]);
  } else if (y.length === 1 && x.length === n) {
    const v = y[0];
    for (let i = 0; i < n; i++) out[i] = fn(x[i], v);
  } else if (x.length === 1 && y.length === n) {
    const v = x[0];
    for (let i = 0; i < n; i++) out[i] = fn(v, y[i]);
  } else if (n > 0) {
    broadcastLoop(shape, broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape), (o, ia, ib) => {
      out[o] = fn(x[ia], y[ib]);
    });
  }
  return new Tensor(out, shape);
}

/**
 * Visits every element of `shape` in row-major order with the matching
 * offsets into two broadcast operands. The innermost dimension runs as a
 * plain loop; the outer ones as an odometer.
 */
function broadcastLoop(
  shape: readonly number[],
  sa: readonly number[],
  sb: readonly number[],
  visit: (out: number, ia: number, ib: number) => void,
): void {
  const nd = shape.length;
  const inner = shape[nd - 1];
  const ia1 = sa[nd - 1], ib1 = sb[nd - 1];
  const idx = new Array<number>(nd).fill(0);
  let ia = 0, ib = 0, o = 0;
  const total = numel(shape);
  while (o < total) {
    for (let j = 0; j < inner; j++) visit(o + j, ia + j * ia1, ib + j * ib1);
    o += inner;
    // Advance the odometer over dims nd-2 .. 0.
    let d = nd - 2;
    while (d >= 0) {
      idx[d]++;
      ia += sa[d];
      ib += sb[d];
      if (idx[d] < shape[d]) break;
      ia -= sa[d] * shape[d];
      ib -= sb[d] * shape[d];
      idx[d] = 0;
      d--;
    }
    if (d < 0) break;
  }
}

function unary<D extends DType>(op: string, fn: (x: number) => number, a: Tensor<D>): Tensor<D> {
  checkTensor(op, a, 'self');
  const x = a.data;
  const out = allocate(a.dtype, x.length) as TypedArrayFor<D>;
  for (let i = 0; i < x.length; i++) out[i] = fn(x[i]);
  return new Tensor<D>(out, a.shape);
}

/** The result's dtype: float64 if either operand is float64 (PyTorch's promotion). */
export interface BinaryOp {
  <D extends DType>(a: Tensor<D>, b: Tensor<D> | number): Tensor<D>;
  (a: Tensor, b: Tensor | number): Tensor;
}
const make = (op: string, fn: BinaryFn): BinaryOp => ((a: Tensor, b: Tensor | number) => binary(op, fn, a, b)) as BinaryOp;
export const add = make('add', (x, y) => x + y);
export const sub = make('sub', (x, y) => x - y);
export const mul = make('mul', (x, y) => x * y);
export const div = make('div', (x, y) => x / y);
export const neg = <D extends DType>(a: Tensor<D>): Tensor<D> => unary('neg', (x) => -x, a);
export const abs = <D extends DType>(a: Tensor<D>): Tensor<D> => unary('abs', Math.abs, a);
