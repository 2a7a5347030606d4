// Elementwise arithmetic with NumPy broadcasting. These run in TypeScript:
// at the sizes where they matter for d2l code the cost is the allocation,
// and a call into native would cost more than the loop (bench/RESULTS.md).
import { DType, FloatArray, TypedArrayFor, allocate, resultType } from '../dtype';
import { broadcastShapes, broadcastStrides, numel } from '../shape';
import { Tensor, adoptShared, checkTensor } from '../tensor';

type BinaryFn = (x: number, y: number) => number;

// The operators of the same-shape fast path, one loop each (a shared loop
// calling `fn` would see four functions and call each per element).
const enum Code { add, sub, mul, div }

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function binary(op: string, code: Code, fn: BinaryFn, a: Tensor | number, b: Tensor | number): Tensor {
  if (a instanceof Tensor && b instanceof Tensor) {
    // Same shape and dtype (d2l's Y1 - Y2): no broadcasting, and the
    // result shares a's frozen shape. Anything else takes the general path.
    const as = a.shape, x = a.data, y = b.data, n = x.length, dtype = a.dtype;
    if (dtype === b.dtype && sameShape(as, b.shape) && y.length === n && n === numel(as)) {
      const out = allocate(dtype, n, op);
      switch (code) {
        case Code.add: for (let i = 0; i < n; i++) out[i] = x[i] + y[i]; break;
        case Code.sub: for (let i = 0; i < n; i++) out[i] = x[i] - y[i]; break;
        case Code.mul: for (let i = 0; i < n; i++) out[i] = x[i] * y[i]; break;
        default: for (let i = 0; i < n; i++) out[i] = x[i] / y[i]; break;
      }
      return adoptShared(out, as, dtype);
    }
  }
  // A number first, as torch.add(2, t): the same rule, the number on the left.
  if (typeof a === 'number') return withNumber(checkTensor(op, b, 'other'), a, (x, y) => fn(y, x));
  a = checkTensor(op, a, 'self');
  if (typeof b === 'number') return withNumber(a, b, fn);
  checkTensor(op, b, 'other');
  const dtype = resultType(a, b);
  const shape = broadcastShapes(op, a.shape, b.shape);
  const n = numel(shape);
  const out = allocate(dtype, n, op);
  // A float64 operand of a float32 op is 0-d (resultType): rounded first.
  const x = operand(a.data, dtype), y = operand(b.data, dtype);
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
 * fn(element, number) over a tensor. As PyTorch: the number takes the
 * tensor's dtype first (a float32 op rounds it to float32, 1e40 to inf),
 * then the op runs in that dtype. A float32 result computed in float64 from
 * float32 operands and rounded once is the float32 op's (53 >= 2 * 24 + 2 bits).
 */
function withNumber(t: Tensor, number: number, fn: BinaryFn): Tensor {
  const v = t.dtype === 'float32' ? Math.fround(number) : number;
  const x = t.data;
  const out = allocate(t.dtype, x.length);
  for (let i = 0; i < x.length; i++) out[i] = fn(x[i], v);
  return adoptShared(out, t.shape, t.dtype);
}

/** An operand's elements in the op's dtype (a float64 0-d tensor's one element rounded to float32). */
function operand(data: FloatArray, dtype: DType): FloatArray {
  return dtype === 'float32' && data instanceof Float64Array ? new Float32Array(data) : data;
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

function unary<D extends DType>(op: string, negate: boolean, a: Tensor<D>): Tensor<D> {
  checkTensor(op, a, 'self');
  const x = a.data, n = x.length;
  const out = allocate(a.dtype, n) as TypedArrayFor<D>;
  if (negate) for (let i = 0; i < n; i++) out[i] = -x[i];
  else for (let i = 0; i < n; i++) out[i] = Math.abs(x[i]);
  return adoptShared(out, a.shape, a.dtype);
}

/**
 * The result's dtype: PyTorch's result_type (dtype.ts: resultType); a number
 * takes the tensor's, on either side (`sub(1, t)` is 1 - t, as torch.sub(1, t)).
 */
export interface BinaryOp {
  <D extends DType>(a: Tensor<D>, b: Tensor<D> | number): Tensor<D>;
  <D extends DType>(a: number, b: Tensor<D>): Tensor<D>;
  (a: Tensor | number, b: Tensor | number): Tensor;
}
const make = (op: string, code: Code, fn: BinaryFn): BinaryOp => ((a: Tensor | number, b: Tensor | number) => binary(op, code, fn, a, b)) as BinaryOp;
export const add = make('add', Code.add, (x, y) => x + y);
export const sub = make('sub', Code.sub, (x, y) => x - y);
export const mul = make('mul', Code.mul, (x, y) => x * y);
export const div = make('div', Code.div, (x, y) => x / y);
export const neg = <D extends DType>(a: Tensor<D>): Tensor<D> => unary('neg', true, a);
export const abs = <D extends DType>(a: Tensor<D>): Tensor<D> => unary('abs', false, a);
