// Shape arithmetic shared by every op: validation, sizes, strides,
// broadcasting, and the way shapes appear in error messages.
export type Shape = readonly number[];

/** PyTorch writes shapes in messages as [2, 3]. */
export function fmt(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function numel(shape: Shape): number {
  // An indexed loop: for-of over a frozen array (every tensor's shape) goes
  // through V8's generic array iterator, ~40 ns per call.
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i];
  return n;
}

export function isSize(d: unknown): d is number {
  return typeof d === 'number' && Number.isSafeInteger(d) && d >= 0;
}

/** Validates a user-given shape and returns a frozen copy. */
export function checkShape(op: string, shape: unknown, argName = 'shape'): number[] {
  if (!Array.isArray(shape)) {
    const got = typeof shape === 'number' ? `the number ${shape} (a shape is an array, e.g. [2, 3])` : shape === null ? 'null' : typeof shape;
    throw new TypeError(`${op}: ${argName} must be an array of non-negative integers, got ${got}`);
  }
  for (let i = 0; i < shape.length; i++) {
    const d: unknown = shape[i];
    if (!isSize(d)) {
      // Not a number (a string, null) is a TypeError, as in PyTorch; a
      // number that is no size (-1, 2.5, NaN, 2^60) a RangeError, as JS's
      // own new Float32Array(2.5) (PyTorch says TypeError for 2.5).
      const E = typeof d === 'number' ? RangeError : TypeError;
      throw new E(`${op}: ${argName}[${i}] must be a non-negative integer, got ${typeof d === 'string' ? `'${d}'` : String(d)}`);
    }
  }
  // Multiplied in order, like PyTorch's size computation: a partial product
  // past 2^53 is an overflow even if a later dim is 0 ([2^40, 2^40, 0]), and
  // never becomes Infinity * 0 = NaN.
  let n = 1;
  for (const d of shape as number[]) {
    n *= d;
    if (n > 2 ** 53) {
      throw new RangeError(`${op}: ${argName} ${fmt(shape as number[])} overflows: the product of its dims exceeds 2^53`);
    }
  }
  if (n > 2 ** 32) {
    throw new RangeError(`${op}: ${argName} ${fmt(shape as number[])} has ${n} elements, more than ntensor supports (2^32)`);
  }
  return (shape as number[]).map((d) => d + 0); // a copy, -0 as 0
}

// The last frozen shape of 2 and of 3 dims handed out: ops called again and
// again at one size (the d2l loop) share one frozen array instead of
// freezing a new one each call (Object.freeze is ~40 ns). The dims are kept
// as numbers too: TurboFan does not inline element loads from frozen arrays
// (each is a KeyedLoadIC call).
let last2: readonly number[] = Object.freeze([0, 0]);
let last2a = 0, last2b = 0;
let last3: readonly number[] = Object.freeze([0, 0, 0]);
let last3a = 0, last3b = 0, last3c = 0;

/** A frozen [a, b] (possibly shared: it can never change). */
export function frozenShape2(a: number, b: number): readonly number[] {
  // (A zero is never matched: -0 === 0, and a shape keeps its -0.)
  if (a === last2a && b === last2b && a * b !== 0) return last2;
  last2a = a; last2b = b;
  return (last2 = Object.freeze([a, b]));
}

/** A frozen [a, b, c] (possibly shared: it can never change). */
export function frozenShape3(a: number, b: number, c: number): readonly number[] {
  if (a === last3a && b === last3b && c === last3c && a * b * c !== 0) return last3;
  last3a = a; last3b = b; last3c = c;
  return (last3 = Object.freeze([a, b, c]));
}

export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** Wraps a possibly negative dim into [0, ndim), PyTorch's error otherwise. */
export function normDim(op: string, dim: number, ndim: number): number {
  const lo = -Math.max(ndim, 1), hi = Math.max(ndim, 1) - 1;
  if (!Number.isInteger(dim) || dim < lo || dim > hi) {
    throw new RangeError(`${op}: Dimension out of range (expected to be in range of [${lo}, ${hi}], but got ${dim})`);
  }
  return dim < 0 ? dim + Math.max(ndim, 1) : dim;
}

/** NumPy broadcasting, with PyTorch's error message. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const ai = i - (n - a.length), bi = i - (n - b.length);
    const da = ai >= 0 ? a[ai] : 1, db = bi >= 0 ? b[bi] : 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new RangeError(
        `${op}: The size of tensor a (${da}) must match the size of tensor b (${db}) at non-singleton dimension ${i} (shapes ${fmt(a)} and ${fmt(b)})`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides of `shape` read as if broadcast to `target` (0 where broadcast). */
export function broadcastStrides(shape: Shape, target: Shape): number[] {
  const own = stridesOf(shape);
  const off = target.length - shape.length;
  const out = new Array<number>(target.length).fill(0);
  for (let i = 0; i < shape.length; i++) out[i + off] = shape[i] === 1 ? 0 : own[i];
  return out;
}

/** Resolves one -1 in a reshape target, PyTorch's errors otherwise. */
export function inferShape(op: string, target: readonly number[], size: number, from: Shape): number[] {
  let infer = -1;
  let known = 1;
  for (let i = 0; i < target.length; i++) {
    const d = target[i];
    if (d === -1) {
      if (infer >= 0) throw new RangeError(`${op}: only one dimension can be inferred`);
      infer = i;
    } else if (!isSize(d)) {
      throw new RangeError(`${op}: invalid shape dimension ${typeof d === 'string' ? `'${d}'` : String(d)} (shape[${i}])`);
    } else {
      known *= d;
      if (known > 2 ** 53) {
        throw new RangeError(`${op}: shape '${fmt(target)}' overflows: the product of its dims exceeds 2^53 (input shape ${fmt(from)})`);
      }
    }
  }
  const out = [...target];
  if (infer >= 0) {
    if (known === 0 || size % known !== 0) {
      throw new RangeError(`${op}: shape '${fmt(target)}' is invalid for input of size ${size} (input shape ${fmt(from)})`);
    }
    out[infer] = size / known;
  } else if (known !== size) {
    throw new RangeError(`${op}: shape '${fmt(target)}' is invalid for input of size ${size} (input shape ${fmt(from)})`);
  }
  return out;
}
