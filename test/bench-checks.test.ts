// The bench's checks of its own results (bench/lib/checks.mjs): the
// random-vector product check, and the note on a library far below the
// others.
import { describe, expect, it } from 'vitest';

interface Checks {
  productError(A: ArrayLike<number>, B: ArrayLike<number>, C: ArrayLike<number>, m: number, k: number, n: number): number;
  productTolerance(k: number): number;
  farBelowNotes(result: unknown): string[];
}
const checks = (await import(new URL('../bench/lib/checks.mjs', import.meta.url).href)) as Checks;

function product(A: Float32Array, B: Float32Array, m: number, k: number, n: number): Float32Array {
  const C = new Float32Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let p = 0; p < k; p++) s += A[i * k + p] * B[p * n + j];
    C[i * n + j] = s;
  }
  return C;
}

describe('bench result checks', () => {
  it('productError: float32 rounding passes, one wrong element or a dropped column fails', () => {
    const [m, k, n] = [37, 300, 45];
    const A = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i * 0.7));
    const B = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i * 0.3));
    const C = product(A, B, m, k, n);
    const tol = checks.productTolerance(k);
    expect(checks.productError(A, B, C, m, k, n)).toBeLessThan(tol / 4);
    const wrong = C.slice();
    wrong[5 * n + 7] += 1;
    expect(checks.productError(A, B, wrong, m, k, n)).toBeGreaterThan(tol);
    const dropped = C.slice();
    for (let i = 0; i < m; i++) dropped[i * n + n - 1] = 0;
    expect(checks.productError(A, B, dropped, m, k, n)).toBeGreaterThan(tol);
  });

  it('farBelowNotes flags a library under a quarter of the best other one, never the JS loop', () => {
    const conv = (g: number) => ({ gflopsMedian: g });
    const result = {
      series: {
        ntensor: { label: 'ntensor', byThreads: { 1: { a: conv(150), b: conv(100) }, 2: { a: conv(290) } } },
        torch: { label: 'PyTorch', byThreads: { 1: { a: conv(10), b: conv(90) }, 2: { a: conv(200) } } },
        js: { label: 'plain JS', byThreads: { 1: { a: conv(1), b: conv(1) } } },
      },
    };
    const notes = checks.farBelowNotes(result);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/^FAR BELOW THE OTHERS: PyTorch on a at 1 thread\(s\) ran at 10\.0 GFLOP\/s, under a quarter of the best other library's 150\.0/);
    // matmul's entries: a shape and a median time (2·m·k·n / t).
    const mm = { series: { ntensor: { byThreads: { 1: { s: { shape: [100, 100, 100], median: 2e-5 } } } }, ort: { byThreads: { 1: { s: { shape: [100, 100, 100], median: 2e-4 } } } } } };
    expect(checks.farBelowNotes(mm)).toEqual([expect.stringMatching(/^FAR BELOW THE OTHERS: ort on s at 1 thread\(s\) ran at 10\.0 GFLOP\/s, under a quarter of the best other library's 100\.0/)]);
  });
});
