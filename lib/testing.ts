// allclose and assertClose with torch.testing.assert_close's rules:
// |actual - expected| <= atol + rtol * |expected| elementwise, NaN never
// close (unless equalNan), infinities close only to the same infinity,
// default tolerances by dtype, shapes and dtypes must match.
import { AssertionError } from 'node:assert';

import { DType, SameDType } from './dtype';
import { fmt, stridesOf } from './shape';
import { Tensor, checkTensor } from './tensor';
import { checkOptions, keysOf } from './options';

export interface CloseOptions {
  rtol?: number | undefined;
  atol?: number | undefined;
  /** Treat NaN as equal to NaN (default false, as PyTorch). */
  equalNan?: boolean | undefined;
}
export interface AssertCloseOptions extends CloseOptions {
  /** Replaces the generated failure message. */
  message?: string | undefined;
}

const CLOSE_KEYS = keysOf<CloseOptions>()(['rtol', 'atol', 'equalNan']);
const ASSERT_CLOSE_KEYS = keysOf<AssertCloseOptions>()(['rtol', 'atol', 'equalNan', 'message']);

/** assert_close's defaults per dtype. */
export const DEFAULT_TOLERANCES: Readonly<Record<DType, { rtol: number; atol: number }>> = Object.freeze({
  float32: { rtol: 1.3e-6, atol: 1e-5 },
  float64: { rtol: 1e-7, atol: 1e-7 },
});

interface Comparison {
  mismatched: number;
  total: number;
  maxAbs: number;
  maxAbsAt: number;
  maxRel: number;
  maxRelAt: number;
  rtol: number;
  atol: number;
}

function tolerances(op: string, dtype: DType, o: CloseOptions): { rtol: number; atol: number } {
  if ((o.rtol === undefined) !== (o.atol === undefined)) {
    throw new TypeError(`${op}: both 'rtol' and 'atol' must be given, or neither (got ${o.rtol === undefined ? 'only atol' : 'only rtol'})`);
  }
  const d = DEFAULT_TOLERANCES[dtype];
  const rtol = o.rtol ?? d.rtol, atol = o.atol ?? d.atol;
  if (!(rtol >= 0) || !(atol >= 0)) throw new RangeError(`${op}: rtol and atol must be non-negative numbers`);
  return { rtol, atol };
}

function compare(op: string, actual: Tensor, expected: Tensor, o: CloseOptions): Comparison {
  const { rtol, atol } = tolerances(op, expected.dtype, o);
  const a = actual.data, e = expected.data;
  const c: Comparison = { mismatched: 0, total: a.length, maxAbs: 0, maxAbsAt: 0, maxRel: 0, maxRelAt: 0, rtol, atol };
  for (let i = 0; i < a.length; i++) {
    const x = a[i], y = e[i];
    const bothNan = x !== x && y !== y;
    // Equal values (infinities included) differ by 0; otherwise NaN propagates.
    const diff = x === y || (bothNan && o.equalNan) ? 0 : Math.abs(x - y);
    // As torch.isclose: a difference that is not finite is never close,
    // even with atol = Infinity (equal infinities differ by 0 above).
    const close = diff === 0 || (Number.isFinite(diff) && Number.isFinite(y) && diff <= atol + rtol * Math.abs(y));
    if (!close) c.mismatched++;
    const rel = diff === 0 ? 0 : diff / Math.abs(y);
    if (c.maxAbs === c.maxAbs && (diff > c.maxAbs || diff !== diff)) { c.maxAbs = diff; c.maxAbsAt = i; }
    if (c.maxRel === c.maxRel && (rel > c.maxRel || rel !== rel)) { c.maxRel = rel; c.maxRelAt = i; }
  }
  return c;
}

function checkPair(op: string, actual: unknown, expected: unknown): [Tensor, Tensor] {
  checkTensor(op, actual, 'actual');
  checkTensor(op, expected, 'expected');
  return [actual as Tensor, expected as Tensor];
}

/** True when every element of a is close to the matching element of b. */
export function allclose<D extends DType, E extends DType = D>(a: Tensor<D>, b: Tensor<E> & SameDType<D, E>, options?: CloseOptions): boolean;
export function allclose(a: Tensor, b: Tensor, options: CloseOptions = {}): boolean {
  checkOptions('allclose', options, CLOSE_KEYS);
  const [x, y] = checkPair('allclose', a, b);
  if (x.dtype !== y.dtype) {
    throw new TypeError(`allclose: expected both tensors to have the same dtype, but got ${x.dtype} and ${y.dtype}`);
  }
  if (!sameShape(x.shape, y.shape)) {
    throw new RangeError(`allclose: the shapes ${fmt(x.shape)} and ${fmt(y.shape)} do not match`);
  }
  return compare('allclose', x, y, options).mismatched === 0;
}

/** Throws an AssertionError describing the mismatch, as torch.testing.assert_close does. */
export function assertClose(actual: Tensor, expected: Tensor, options: AssertCloseOptions = {}): void {
  checkOptions('assertClose', options, ASSERT_CLOSE_KEYS);
  const [x, y] = checkPair('assertClose', actual, expected);
  const fail = (msg: string): never => {
    throw new AssertionError({ message: options.message ?? msg, actual: x, expected: y, operator: 'assertClose' });
  };
  if (!sameShape(x.shape, y.shape)) fail(`The values for attribute 'shape' do not match: ${fmt(x.shape)} != ${fmt(y.shape)}.`);
  if (x.dtype !== y.dtype) fail(`The values for attribute 'dtype' do not match: ${x.dtype} != ${y.dtype}.`);
  const c = compare('assertClose', x, y, options);
  if (c.mismatched === 0) return;
  // With both tolerances 0 PyTorch says "equal" and gives no allowances.
  const exact = c.rtol === 0 && c.atol === 0;
  const verb = exact ? 'equal' : 'close';
  const up = (tol: number): string => (exact ? '' : ` (up to ${num(tol)} allowed)`);
  if (x.numel === 1 && x.ndim === 0) {
    fail(
      `Scalars are not ${verb}!\n\n` +
        `Absolute difference: ${num(c.maxAbs)}${up(c.atol)}\n` +
        `Relative difference: ${num(c.maxRel)}${up(c.rtol)}`,
    );
  }
  const pct = ((100 * c.mismatched) / c.total).toFixed(1);
  fail(
    `Tensor-likes are not ${verb}!\n\nMismatched elements: ${c.mismatched} / ${c.total} (${pct}%)\n` +
      `Greatest absolute difference: ${num(c.maxAbs)} at index ${indexOf(c.maxAbsAt, x.shape)}${up(c.atol)}\n` +
      `Greatest relative difference: ${num(c.maxRel)} at index ${indexOf(c.maxRelAt, x.shape)}${up(c.rtol)}`,
  );
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** A flat index as the Python tuple PyTorch prints: (i, j) or (i,). */
function indexOf(flat: number, shape: readonly number[]): string {
  const strides = stridesOf(shape);
  const idx = strides.map((s, d) => Math.floor(flat / s) % shape[d]);
  return idx.length === 1 ? `(${idx[0]},)` : `(${idx.join(', ')})`;
}

/** A number as Python's repr(float) writes it: 1.0, 0.5, 1e-05, 1.5e+20. */
export function pyRepr(v: number): string {
  if (!Number.isFinite(v)) return v !== v ? 'nan' : v > 0 ? 'inf' : '-inf';
  if (v === 0) return Object.is(v, -0) ? '-0.0' : '0.0';
  // Shortest round-trip digits and decimal exponent, from JS's own algorithm.
  const [mant, expStr] = Math.abs(v).toExponential().split('e');
  const digits = mant.replace('.', '');
  const e = Number(expStr);
  const sign = v < 0 ? '-' : '';
  if (e < -4 || e >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  if (e < 0) return `${sign}0.${'0'.repeat(-e - 1)}${digits}`;
  const int = digits.slice(0, e + 1).padEnd(e + 1, '0');
  const frac = digits.slice(e + 1);
  return `${sign}${int}.${frac || '0'}`;
}
const num = pyRepr;
