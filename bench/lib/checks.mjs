// Checks of the bench's own results: that a library computed the right
// product, and which results are too far below the others to read as a
// kernel comparison.

/**
 * How far C (m x n) is from A (m x k) times B (k x n), by a random vector
 * (BLIS's check, cheap at any size): max |C v - A (B v)| over max of
 * |A| (|B| |v|), the scale of the sums' rounding. A float32 product is within
 * k * 2^-24 of that (the rounding bound of k-term sums, and of C itself);
 * productTolerance(k) allows 4 times it. A wrong element or a missed edge
 * is far past it.
 */
export function productError(A, B, C, m, k, n) {
  const v = new Float64Array(n);
  let seed = 12345;
  for (let j = 0; j < n; j++) { seed = (seed * 1103515245 + 12345) >>> 0; v[j] = seed / 2 ** 32 - 0.5; }
  const u = new Float64Array(k), ua = new Float64Array(k);
  for (let p = 0; p < k; p++) {
    let s = 0, sa = 0;
    for (let j = 0; j < n; j++) { s += B[p * n + j] * v[j]; sa += Math.abs(B[p * n + j] * v[j]); }
    u[p] = s; ua[p] = sa;
  }
  let d = 0, scale = 0;
  for (let i = 0; i < m; i++) {
    let w = 0, wa = 0, z = 0;
    for (let p = 0; p < k; p++) { w += A[i * k + p] * u[p]; wa += Math.abs(A[i * k + p]) * ua[p]; }
    for (let j = 0; j < n; j++) z += C[i * n + j] * v[j];
    d = Math.max(d, Math.abs(z - w));
    scale = Math.max(scale, wa);
  }
  return d / (scale || 1);
}

/** The largest productError a correct float32 product of depth k can have, 4x over. */
export function productTolerance(k) {
  return 4 * Math.max(k, 1) * 2 ** -24;
}

/** GFLOP/s at the median of one series entry: conv2d's store it, matmul's a shape and a time. */
function gflopsOf(r) {
  return r?.gflopsMedian ?? (r?.shape && r.median > 0 ? (2 * r.shape[0] * r.shape[1] * r.shape[2]) / r.median / 1e9 : 0);
}

/**
 * Notes for the results of a suite (its `series`: library -> byThreads ->
 * case -> entry) that ran under a quarter of the best other library on the
 * same case and thread count. On this kind of host that has come from the
 * library's process paying for fresh output pages (PyTorch's 1x1 64 -> 256
 * at 2 threads ran at 6 GFLOP/s in one run and 212 in another) or its
 * per-call overhead at small sizes, and a ratio against it there says little
 * about either kernel. The plain-JS loop, a baseline 100x slower by design,
 * is neither flagged nor compared.
 */
export function farBelowNotes(result) {
  const notes = [];
  const libs = Object.entries(result.series ?? {}).filter(([l]) => l !== 'js');
  for (const [lib, ser] of libs) {
    for (const [t, cases] of Object.entries(ser.byThreads ?? {})) {
      for (const [id, r] of Object.entries(cases ?? {})) {
        const g = gflopsOf(r);
        if (!(g > 0)) continue;
        const best = Math.max(0, ...libs.filter(([l]) => l !== lib).map(([, o]) => gflopsOf(o.byThreads?.[t]?.[id])));
        if (best > 1 && g < best / 4) {
          notes.push(`FAR BELOW THE OTHERS: ${ser.label ?? lib} on ${id} at ${t} thread(s) ran at ${g.toFixed(1)} GFLOP/s, under a quarter of the best other library's ${best.toFixed(1)}. On this host that has come from fresh output pages in its process (large outputs) or its per-call overhead (small products), not its kernel: a ratio against it there is not a kernel comparison.`);
        }
      }
    }
  }
  return notes;
}
