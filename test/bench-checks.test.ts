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

// The Python peers check their own results (bench/python/peer.py:
// matmul_error, conv2d_error) with numpy. Run where /usr/bin/python3 has
// numpy (torch is not needed); skipped, with the reason, where it has not.
const PY = process.env.NTENSOR_BENCH_PYTHON || '/usr/bin/python3';
const { spawnSync } = await import('node:child_process');
const hasNumpy = spawnSync(PY, ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!hasNumpy)(`bench/python/peer.py checks (${PY} with numpy)`, () => {
  it('matmul_error and conv2d_error: float32 rounding passes, one wrong element, a shifted window or a wrong group fails', () => {
    const script = String.raw`
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import peer
peer.np = np
out = {}
rng = np.random.default_rng(1)
m, k, n = 37, 300, 45
a = rng.standard_normal((m, k)).astype(np.float32)
b = rng.standard_normal((k, n)).astype(np.float32)
c = (a.astype(np.float64) @ b.astype(np.float64)).astype(np.float32)
out["mmTol"] = 4 * k * 2.0 ** -24
out["mmOk"] = peer.matmul_error(a, b, c)
bad = c.copy(); bad[5, 7] += 1.0
out["mmOneWrong"] = peer.matmul_error(a, b, bad)
out["mmColumnDropped"] = peer.matmul_error(a, b, np.concatenate([c[:, :-1], np.zeros((m, 1), np.float32)], 1))

def conv(x, w, s, p, g):
    # a plain loop, float64, then float32
    N, C, H, W = x.shape
    O, cpg, kh, kw = w.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (p, p), (p, p)))
    oh, ow = (H + 2 * p - kh) // s + 1, (W + 2 * p - kw) // s + 1
    y = np.zeros((N, O, oh, ow))
    opg = O // g
    for bb in range(N):
        for o in range(O):
            gi = o // opg
            for i in range(oh):
                for j in range(ow):
                    y[bb, o, i, j] = np.sum(xp[bb, gi * cpg:(gi + 1) * cpg, i * s:i * s + kh, j * s:j * s + kw] * w[o])
    return y.astype(np.float32)

case = {"n": 2, "c": 4, "h": 9, "w": 7, "cout": 6, "kh": 3, "kw": 2, "stride": 2, "pad": 1, "groups": 2}
x = rng.standard_normal((2, 4, 9, 7)).astype(np.float32)
w = rng.standard_normal((6, 2, 3, 2)).astype(np.float32)
y = conv(x, w, 2, 1, 2)
out["convTol"] = 4 * 2 * 3 * 2 * 2.0 ** -24
out["convOk"] = peer.conv2d_error(case, x, w, y)
bad = y.copy(); bad[1, 4, 2, 3] += 0.5
out["convOneWrong"] = peer.conv2d_error(case, x, w, bad, samples=10 ** 6)
out["convNoPadding"] = peer.conv2d_error(case, x, w, np.pad(conv(x, w, 2, 0, 2), ((0, 0), (0, 0), (0, 1), (0, 1))))
out["convOneGroup"] = peer.conv2d_error(case, x, w, conv(x, np.concatenate([w[:3], w[:3]]), 2, 1, 2))
unb = dict(case, n=0)
out["convUnbatched"] = peer.conv2d_error(unb, x[0], w, y[0])
print(json.dumps(out))
`;
    const dir = new URL('../bench/python/', import.meta.url).pathname;
    const r = spawnSync(PY, ['-c', script, dir], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const o = JSON.parse(r.stdout) as Record<string, number>;
    expect(o.mmOk).toBeLessThan(o.mmTol / 4);
    expect(o.mmOneWrong).toBeGreaterThan(o.mmTol);
    expect(o.mmColumnDropped).toBeGreaterThan(o.mmTol);
    expect(o.convOk).toBeLessThan(o.convTol / 4);
    expect(o.convUnbatched).toBeLessThan(o.convTol / 4);
    expect(o.convOneWrong).toBeGreaterThan(o.convTol);
    expect(o.convNoPadding).toBeGreaterThan(o.convTol);
    expect(o.convOneGroup).toBeGreaterThan(o.convTol);
  });
});
