// Naive reference implementations for the tests, over plain JS number arrays
// (row-major, flattened) and shapes. Deliberately independent of lib/: no
// imports from it, no cleverness, one loop per index, arithmetic in double
// precision. Each function also returns `absSum`, per output element the sum
// of |product| terms (plus |bias|), which bounds the rounding error any
// ordering of the same float32/float64 sums can make (see errorBound).

export interface RefTensor {
  shape: number[];
  data: number[];
}

export interface RefResult extends RefTensor {
  /** Per output element: sum of |x * w| over the reduction (+ |bias|). */
  absSum: number[];
  /** Number of terms each output element sums (the reduction length). */
  terms: number;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/** C (m x n) = A (m x k) times B (k x n): the textbook triple loop. */
export function matmul2d(a: readonly number[], b: readonly number[], m: number, k: number, n: number): RefResult {
  if (a.length !== m * k || b.length !== k * n) throw new Error('matmul2d: bad sizes');
  const data = new Array<number>(m * n).fill(0);
  const absSum = new Array<number>(m * n).fill(0);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0, t = 0;
      for (let p = 0; p < k; p++) {
        const prod = a[i * k + p] * b[p * n + j];
        s += prod;
        t += Math.abs(prod);
      }
      data[i * n + j] = s;
      absSum[i * n + j] = t;
    }
  }
  return { shape: [m, n], data, absSum, terms: k };
}

/**
 * torch.matmul: 1-D operands are promoted to matrices (a row for the left
 * operand, a column for the right one) and the added dim is dropped from the
 * result; the leading (batch) dims broadcast NumPy-style. Each output element
 * is found by explicit index arithmetic on the operands' strides.
 */
export function matmul(a: readonly number[], aShape: readonly number[], b: readonly number[], bShape: readonly number[]): RefResult {
  if (aShape.length === 0 || bShape.length === 0) throw new Error('matmul: 0-d operand');
  if (a.length !== numel(aShape) || b.length !== numel(bShape)) throw new Error('matmul: data/shape mismatch');
  const A = aShape.length === 1 ? [1, aShape[0]] : [...aShape];
  const B = bShape.length === 1 ? [bShape[0], 1] : [...bShape];
  const m = A[A.length - 2], k = A[A.length - 1];
  const k2 = B[B.length - 2], n = B[B.length - 1];
  if (k !== k2) throw new Error(`matmul: ${m}x${k} and ${k2}x${n}`);
  const aBatch = A.slice(0, -2), bBatch = B.slice(0, -2);
  const nb = Math.max(aBatch.length, bBatch.length);
  // Left-pad both batch shapes with 1s, then broadcast.
  const pa = [...new Array<number>(nb - aBatch.length).fill(1), ...aBatch];
  const pb = [...new Array<number>(nb - bBatch.length).fill(1), ...bBatch];
  const batch: number[] = [];
  for (let d = 0; d < nb; d++) {
    if (pa[d] !== pb[d] && pa[d] !== 1 && pb[d] !== 1) throw new Error('matmul: batch dims do not broadcast');
    batch.push(pa[d] === 1 ? pb[d] : pa[d]);
  }
  const aStr = stridesOf([...pa, m, k]), bStr = stridesOf([...pb, k, n]);
  const outShape = [...batch, m, n];
  const oStr = stridesOf(outShape);
  const total = numel(outShape);
  const data = new Array<number>(total).fill(0);
  const absSum = new Array<number>(total).fill(0);
  for (let o = 0; o < total; o++) {
    // Multi-index of output element o.
    const idx = oStr.map((s, d) => Math.floor(o / s) % outShape[d]);
    const i = idx[nb], j = idx[nb + 1];
    let aBase = 0, bBase = 0;
    for (let d = 0; d < nb; d++) {
      aBase += (pa[d] === 1 ? 0 : idx[d]) * aStr[d];
      bBase += (pb[d] === 1 ? 0 : idx[d]) * bStr[d];
    }
    let s = 0, t = 0;
    for (let p = 0; p < k; p++) {
      const prod = a[aBase + i * aStr[nb] + p * aStr[nb + 1]] * b[bBase + p * bStr[nb] + j * bStr[nb + 1]];
      s += prod;
      t += Math.abs(prod);
    }
    data[o] = s;
    absSum[o] = t;
  }
  const shape = [...batch];
  if (aShape.length > 1) shape.push(m);
  if (bShape.length > 1) shape.push(n);
  return { shape, data, absSum, terms: k };
}

/** Transpose of a 2-D (r x c) matrix. */
export function transpose2d(a: readonly number[], r: number, c: number): number[] {
  const out = new Array<number>(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = a[i * c + j];
  return out;
}

export interface RefConvOptions {
  bias?: readonly number[] | null;
  stride?: number | readonly [number, number];
  padding?: number | readonly [number, number];
}

/**
 * torch.nn.functional.conv2d (cross-correlation) with the seven loops
 * written out: batch, output channel, output row, output column, input
 * channel, kernel row, kernel column. Input (N, C, H, W) or unbatched
 * (C, H, W); weight (Cout, C, KH, KW); zero padding; bias added once.
 */
export function conv2d(x: readonly number[], xShape: readonly number[], w: readonly number[], wShape: readonly number[], options: RefConvOptions = {}): RefResult {
  const batched = xShape.length === 4;
  if (!batched && xShape.length !== 3) throw new Error('conv2d: input must be 3-D or 4-D');
  const [N, C, H, W] = batched ? xShape : [1, ...xShape];
  const [CO, CI, KH, KW] = wShape;
  if (CI !== C) throw new Error('conv2d: channel mismatch');
  if (x.length !== N * C * H * W || w.length !== CO * CI * KH * KW) throw new Error('conv2d: data/shape mismatch');
  const pair = (v: number | readonly [number, number] | undefined, d: number): [number, number] =>
    v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : [v[0], v[1]];
  const [SH, SW] = pair(options.stride, 1);
  const [PH, PW] = pair(options.padding, 0);
  const bias = options.bias ?? null;
  const OH = Math.floor((H + 2 * PH - KH) / SH) + 1;
  const OW = Math.floor((W + 2 * PW - KW) / SW) + 1;
  const data = new Array<number>(N * CO * OH * OW).fill(0);
  const absSum = new Array<number>(N * CO * OH * OW).fill(0);
  for (let nb = 0; nb < N; nb++) {
    for (let co = 0; co < CO; co++) {
      for (let oy = 0; oy < OH; oy++) {
        for (let ox = 0; ox < OW; ox++) {
          let s = 0, t = 0;
          for (let ci = 0; ci < C; ci++) {
            for (let ki = 0; ki < KH; ki++) {
              for (let kj = 0; kj < KW; kj++) {
                const iy = oy * SH - PH + ki, ix = ox * SW - PW + kj;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue; // zero padding
                const prod = x[((nb * C + ci) * H + iy) * W + ix] * w[((co * CI + ci) * KH + ki) * KW + kj];
                s += prod;
                t += Math.abs(prod);
              }
            }
          }
          if (bias !== null) {
            s += bias[co];
            t += Math.abs(bias[co]);
          }
          const o = ((nb * CO + co) * OH + oy) * OW + ox;
          data[o] = s;
          absSum[o] = t;
        }
      }
    }
  }
  return { shape: batched ? [N, CO, OH, OW] : [CO, OH, OW], data, absSum, terms: C * KH * KW + (bias ? 1 : 0) };
}

/**
 * max_pool2d / avg_pool2d with square windows, in double: input (N, C, H,
 * W) flattened, kernel k, stride, zero padding pad (skipped by the max,
 * counted in the average's divisor k * k, PyTorch's default).
 */
export function pool2d(x: ArrayLike<number>, xShape: readonly number[], k: number, stride: number, pad: number,
  kind: 'max' | 'avg'): RefTensor {
  const [N, C, H, W] = xShape;
  if (x.length !== N * C * H * W) throw new Error('pool2d: data/shape mismatch');
  const OH = Math.floor((H + 2 * pad - k) / stride) + 1, OW = Math.floor((W + 2 * pad - k) / stride) + 1;
  const data: number[] = [];
  for (let p = 0; p < N * C; p++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        let mx = -Infinity, sum = 0;
        for (let iy = oy * stride - pad; iy < oy * stride - pad + k; iy++) {
          for (let ix = ox * stride - pad; ix < ox * stride - pad + k; ix++) {
            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
            const v = x[(p * H + iy) * W + ix];
            if (v > mx) mx = v;
            sum += v;
          }
        }
        data.push(kind === 'max' ? mx : sum / (k * k));
      }
    }
  }
  return { shape: [N, C, OH, OW], data };
}

/** Unit roundoff of a dtype. */
export function unitRoundoff(dtype: 'float32' | 'float64'): number {
  return dtype === 'float32' ? 2 ** -24 : 2 ** -53;
}

/**
 * A bound on |computed - exact| for a sum of `terms` products whose absolute
 * values add up to absSum, computed in `dtype` in any order (with or without
 * FMA), plus the final rounding: (terms + 2) * u * absSum, doubled for
 * comparing two such computations, plus a tiny absolute floor for
 * underflow. Deliberately generous but still far below any real bug.
 */
export function errorBound(absSum: number, terms: number, dtype: 'float32' | 'float64'): number {
  const u = unitRoundoff(dtype);
  return 2 * (terms + 2) * u * absSum + (dtype === 'float32' ? 1e-30 : 1e-300);
}

/**
 * Returns a description of the first element where `got` and the reference
 * differ by more than `factor` times errorBound, or null when all are within it.
 */
export function firstViolation(got: ArrayLike<number>, ref: RefResult, dtype: 'float32' | 'float64', factor = 1): string | null {
  if (got.length !== ref.data.length) return `length ${got.length} != ${ref.data.length}`;
  for (let i = 0; i < got.length; i++) {
    const tol = factor * errorBound(ref.absSum[i], ref.terms, dtype);
    const diff = Math.abs(got[i] - ref.data[i]);
    if (!(diff <= tol)) return `element ${i}: got ${got[i]}, reference ${ref.data[i]}, |diff| ${diff} > bound ${tol}`;
  }
  return null;
}

/** mulberry32: a tiny seeded PRNG giving floats on [0, 1). */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
