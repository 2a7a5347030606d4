/**
 * PyTorch-compatible tensor printing.
 *
 * Reproduces `repr(t)` from torch/_tensor_str.py (PyTorch 1.13) for dense
 * CPU float32/float64 tensors under the default print options
 * (precision 4, threshold 1000, edgeitems 3, linewidth 80, sci_mode None):
 * the _Formatter rules (int / fixed / scientific mode, widths over nonzero
 * finite values), Python's `{:.4f}` / `{:.0f}` / `{:.4e}` formatting with
 * exact round-half-even on the binary value, line wrapping of 1-D rows,
 * nested bracket layout, summarisation of large tensors, empty tensors,
 * 0-d scalars and the suffix wrapping rule of _add_suffixes.
 *
 * One deliberate difference: PyTorch's `dtype=torch.float64` suffix is
 * written as `dtype=float64`. The decision whether the suffix wraps onto
 * a new line still uses PyTorch's suffix length, so line layout matches.
 */

const PRECISION = 4;
const THRESHOLD = 1000;
const EDGEITEMS = 3;
const LINEWIDTH = 80;
const PREFIX = 'tensor(';

import { checkShape, fmt } from './shape';

export type PrintDtype = 'float32' | 'float64';

// ---------------------------------------------------------------------------
// Exact Python float formatting
// ---------------------------------------------------------------------------

/** |x| as an exact decimal: |x| = digits * 10^exp10 (x finite). */
function exactDecimal(x: number): { digits: bigint; exp10: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exp2: number;
  if (biased === 0) {
    exp2 = -1074; // subnormal
  } else {
    mant |= 1n << 52n;
    exp2 = biased - 1075;
  }
  if (exp2 >= 0) return { digits: mant << BigInt(exp2), exp10: 0 };
  // m * 2^e = m * 5^-e / 10^-e
  return { digits: mant * 5n ** BigInt(-exp2), exp10: exp2 };
}

/** round(n / 10^k) with round-half-even, k >= 0. */
function divRoundHalfEven(n: bigint, k: number): bigint {
  if (k <= 0) return n * 10n ** BigInt(-k);
  const d = 10n ** BigInt(k);
  const q = n / d;
  const r2 = (n % d) * 2n;
  if (r2 > d || (r2 === d && q % 2n === 1n)) return q + 1n;
  return q;
}

function nonFinite(x: number): string | null {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  return null;
}

function signOf(x: number): string {
  return x < 0 || Object.is(x, -0) ? '-' : '';
}

/** Python's `'{:.Nf}'.format(x)`. */
export function pyFixed(x: number, prec: number): string {
  const nf = nonFinite(x);
  if (nf !== null) return nf;
  const { digits, exp10 } = exactDecimal(x);
  const q = divRoundHalfEven(digits, -(exp10 + prec)).toString();
  if (prec === 0) return signOf(x) + q;
  const padded = q.padStart(prec + 1, '0');
  const cut = padded.length - prec;
  return signOf(x) + padded.slice(0, cut) + '.' + padded.slice(cut);
}

/** Python's `'{:.Ne}'.format(x)`. */
export function pyExp(x: number, prec: number): string {
  const nf = nonFinite(x);
  if (nf !== null) return nf;
  let mant: string;
  let e: number;
  if (x === 0) {
    mant = '0'.repeat(prec + 1);
    e = 0;
  } else {
    const { digits, exp10 } = exactDecimal(x);
    const len = digits.toString().length;
    e = len - 1 + exp10;
    let n = divRoundHalfEven(digits, len - 1 - prec);
    if (n.toString().length > prec + 1) {
      n /= 10n; // rounded up to 10^(prec+1): exact, no further rounding
      e += 1;
    }
    mant = n.toString();
  }
  const frac = prec > 0 ? '.' + mant.slice(1) : '';
  const expStr = String(Math.abs(e)).padStart(2, '0');
  return signOf(x) + mant[0] + frac + 'e' + (e < 0 ? '-' : '+') + expStr;
}

// ---------------------------------------------------------------------------
// _Formatter
// ---------------------------------------------------------------------------

interface Formatter {
  width: number;
  format(v: number): string;
}

function makeFormatter(values: ArrayLike<number>): Formatter {
  let intMode = true;
  let sciMode = false;
  let maxWidth = 1;

  const vals: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v) && v !== 0) vals.push(v);
  }

  if (vals.length > 0) {
    let min = Infinity;
    let max = 0;
    for (const v of vals) {
      const a = Math.abs(v);
      if (a < min) min = a;
      if (a > max) max = a;
      if (intMode && v !== Math.ceil(v)) intMode = false;
    }
    const wide = max / min > 1000.0 || max > 1.0e8;
    if (intMode) {
      if (wide) {
        sciMode = true;
        for (const v of vals) maxWidth = Math.max(maxWidth, pyExp(v, PRECISION).length);
      } else {
        for (const v of vals) maxWidth = Math.max(maxWidth, pyFixed(v, 0).length + 1);
      }
    } else if (wide || min < 1.0e-4) {
      sciMode = true;
      for (const v of vals) maxWidth = Math.max(maxWidth, pyExp(v, PRECISION).length);
    } else {
      for (const v of vals) maxWidth = Math.max(maxWidth, pyFixed(v, PRECISION).length);
    }
  }

  return {
    width: maxWidth,
    format(v: number): string {
      let s: string;
      if (sciMode) s = pyExp(v, PRECISION);
      else if (intMode) s = pyFixed(v, 0) + (Number.isFinite(v) ? '.' : '');
      else s = pyFixed(v, PRECISION);
      return s.padStart(maxWidth, ' ');
    },
  };
}

// ---------------------------------------------------------------------------
// Layout
// ---------------------------------------------------------------------------

/** A strided view into the contiguous data: offset + shape + strides. */
interface View {
  data: ArrayLike<number>;
  offset: number;
  shape: readonly number[];
  strides: readonly number[];
}

function sub(v: View, i: number): View {
  return {
    data: v.data,
    offset: v.offset + i * v.strides[0]!,
    shape: v.shape.slice(1),
    strides: v.strides.slice(1),
  };
}

/** Indices along dim 0 that are shown (all, or edge items when summarising). */
function shownIndices(size: number, summarize: boolean): { head: number[]; tail: number[] } {
  const range = (a: number, b: number) => Array.from({ length: b - a }, (_, k) => a + k);
  if (summarize && size > 2 * EDGEITEMS) {
    return { head: range(0, EDGEITEMS), tail: range(size - EDGEITEMS, size) };
  }
  return { head: range(0, size), tail: [] };
}

/** get_summarized_data, flattened: the elements the formatter looks at. */
function collect(v: View, summarize: boolean, out: number[]): void {
  if (v.shape.length === 0) {
    out.push(v.data[v.offset]!);
    return;
  }
  const { head, tail } = shownIndices(v.shape[0]!, summarize);
  for (const i of [...head, ...tail]) collect(sub(v, i), summarize, out);
}

function vectorStr(v: View, indent: number, summarize: boolean, fmt: Formatter): string {
  const elementLength = fmt.width + 2;
  const perLine = Math.max(1, Math.floor((LINEWIDTH - indent) / elementLength));
  const { head, tail } = shownIndices(v.shape[0]!, summarize);
  const at = (i: number) => fmt.format(v.data[v.offset + i * v.strides[0]!]!);
  const items = head.map(at);
  if (tail.length > 0) items.push(' ...', ...tail.map(at));
  const lines: string[] = [];
  for (let i = 0; i < items.length; i += perLine) {
    lines.push(items.slice(i, i + perLine).join(', '));
  }
  return '[' + lines.join(',\n' + ' '.repeat(indent + 1)) + ']';
}

function tensorStr(v: View, indent: number, summarize: boolean, fmt: Formatter): string {
  const dim = v.shape.length;
  if (dim === 0) return fmt.format(v.data[v.offset]!);
  if (dim === 1) return vectorStr(v, indent, summarize, fmt);
  const { head, tail } = shownIndices(v.shape[0]!, summarize);
  const slices = head.map((i) => tensorStr(sub(v, i), indent + 1, summarize, fmt));
  if (tail.length > 0) {
    slices.push('...', ...tail.map((i) => tensorStr(sub(v, i), indent + 1, summarize, fmt)));
  }
  return '[' + slices.join(',' + '\n'.repeat(dim - 1) + ' '.repeat(indent + 1)) + ']';
}

/** _add_suffixes. Each suffix is [text we print, length PyTorch's text has]. */
function addSuffixes(str: string, suffixes: Array<[string, number]>, indent: number): string {
  let out = str;
  let lastLineLen = str.length - str.lastIndexOf('\n') + 1;
  for (const [suffix, torchLen] of suffixes) {
    if (lastLineLen + torchLen + 2 > LINEWIDTH) {
      out += ',\n' + ' '.repeat(indent) + suffix;
      lastLineLen = indent + torchLen;
    } else {
      out += ', ' + suffix;
      lastLineLen += torchLen + 2;
    }
  }
  return out + ')';
}

/** Python's str(tuple(shape)). */
function pyTuple(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/**
 * Format a contiguous row-major tensor exactly as PyTorch's `repr(t)`
 * (with `dtype=float64` in place of `dtype=torch.float64`). For 'float32',
 * values that are not float32 (a plain array) are rounded to float32 first,
 * as a float32 tensor would hold them.
 */
export function formatTensor(
  data: ArrayLike<number>,
  shape: readonly number[],
  dtype: PrintDtype,
): string {
  if (dtype !== 'float32' && dtype !== 'float64') {
    throw new TypeError(`formatTensor: dtype must be 'float32' or 'float64', got ${typeof dtype === 'string' ? `'${dtype}'` : String(dtype)}`);
  }
  const s = checkShape('formatTensor', shape);
  const numel = s.reduce((a, b) => a * b, 1);
  if (data === null || typeof data !== 'object' || typeof data.length !== 'number') {
    throw new TypeError(`formatTensor: data must be an array or a typed array of numbers`);
  }
  if (data.length !== numel) {
    throw new RangeError(`formatTensor: data has ${data.length} elements, shape ${fmt(s)} needs ${numel}`);
  }
  if (dtype === 'float32' && !(data instanceof Float32Array)) data = Float32Array.from(data);
  return formatChecked(data, s, dtype);
}

/** A tensor whose buffer no longer holds its elements (detached or resized): its shape and why. */
export function formatUnreadable(why: string, shape: readonly number[], dtype: PrintDtype): string {
  return `tensor(<${why}>, size=${pyTuple(shape)}${dtype === 'float64' ? ', dtype=float64' : ''})`;
}

/** formatTensor without its checks: data holds exactly the shape's elements, of the dtype. */
export function formatChecked(data: ArrayLike<number>, shape: readonly number[], dtype: PrintDtype): string {
  const numel = shape.reduce((a, b) => a * b, 1);
  const indent = PREFIX.length;
  const suffixes: Array<[string, number]> = [];
  const dtypeSuffix: [string, number] = ['dtype=float64', 'dtype=torch.float64'.length];

  let body: string;
  if (numel === 0) {
    if (shape.length !== 1) {
      const s = 'size=' + pyTuple(shape);
      suffixes.push([s, s.length]);
    }
    if (dtype === 'float64') suffixes.push(dtypeSuffix);
    body = '[]';
  } else {
    if (dtype === 'float64') suffixes.push(dtypeSuffix);
    const strides: number[] = new Array<number>(shape.length);
    let acc = 1;
    for (let d = shape.length - 1; d >= 0; d--) {
      strides[d] = acc;
      acc *= shape[d]!;
    }
    const view: View = { data, offset: 0, shape, strides };
    const summarize = numel > THRESHOLD;
    const shown: number[] = [];
    collect(view, summarize, shown);
    body = tensorStr(view, indent, summarize, makeFormatter(shown));
  }
  return addSuffixes(PREFIX + body, suffixes, indent);
}
