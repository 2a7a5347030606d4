// GEMM speed in GFLOP/s (2*m*n*k / time) of the native kernel, called through
// the test binding _gemm on preallocated arrays (no JS allocation in the
// timed loop), for 1 and 2 threads, float32 and float64.
//   node scripts/gemm-speed.mjs [sizes=256,512,1024,2048] [threads=1,2] [dtypes=f32,f64] [isa]
// Prints the median and best of several timed runs. Needs `npm run build`.
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const { native } = require('../dist/native.js');
const nt = native();

const arg = (i, dflt) => (process.argv[i] ?? dflt).split(',');
const sizes = arg(2, '256,512,1024,2048').map(Number);
const threads = arg(3, '1,2').map(Number);
const dtypes = arg(4, 'f32,f64');
if (process.argv[5]) nt._setIsa(process.argv[5]);
const info = nt.backendInfo();
console.log(`isa ${info.isa}, blocking ${JSON.stringify(info.blocking)}`);

function fill(a) {
  let s = 12345;
  for (let i = 0; i < a.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    a[i] = s / 2 ** 32 - 0.5;
  }
  return a;
}

const rows = [];
for (const dt of dtypes) {
  const Arr = dt === 'f64' ? Float64Array : Float32Array;
  for (const n of sizes) {
    const A = fill(new Arr(n * n)), B = fill(new Arr(n * n)), C = new Arr(n * n);
    const flops = 2 * n * n * n;
    const row = { dtype: dt, n };
    for (const t of threads) {
      nt.setNumThreads(t);
      nt._gemm(false, false, n, n, n, 1, A, n, B, n, 0, C, n); // warm-up: buffers, threads
      // Enough repetitions for ~0.3 s per timed run, 7 runs.
      const t0 = performance.now();
      nt._gemm(false, false, n, n, n, 1, A, n, B, n, 0, C, n);
      const once = performance.now() - t0;
      const inner = Math.max(1, Math.round(300 / Math.max(once, 0.01)));
      const rates = [];
      for (let r = 0; r < 7; r++) {
        const s = performance.now();
        for (let i = 0; i < inner; i++) nt._gemm(false, false, n, n, n, 1, A, n, B, n, 0, C, n);
        rates.push((flops * inner) / ((performance.now() - s) * 1e6));
      }
      rates.sort((a, b) => a - b);
      row[`${t}T median`] = rates[3].toFixed(1);
      row[`${t}T best`] = rates[6].toFixed(1);
    }
    rows.push(row);
    console.log(JSON.stringify(row));
  }
}
console.table(rows);
nt.setNumThreads(info.threads);
