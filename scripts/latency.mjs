// Per-call latency of the d2l §6.4 seed-size calls from JS (issues #3, #4):
// warm up, then time batches of calls and print the median of the batch
// means in ns. `node scripts/latency.mjs [pkgDir ...] [--batches N] [--calls N]`
// times each package directory (default: this checkout) in one process, their
// batches alternating, so an old build and a new one can be compared in one
// run. `--only matmul,conv2d` picks cases. Wrap timing runs in
// `flock /tmp/ntensor-cpu.lock` on a shared host.
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(args[i + 1]);
  args.splice(i, 2);
  return v;
};
const BATCHES = opt('--batches', 31);
const CALLS = opt('--calls', 10000);
const only = (() => { const i = args.indexOf('--only'); if (i < 0) return null; const v = args[i + 1].split(','); args.splice(i, 2); return v; })();
const dirs = args.length ? args : [path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')];

// Batches of the packages' versions of one case alternate, so a change in
// the machine's load hits all of them alike.
function timeAll(fns) {
  for (const fn of fns) for (let i = 0; i < CALLS * 3; i++) fn();
  const means = fns.map(() => []);
  for (let b = 0; b < BATCHES; b++) {
    fns.forEach((fn, j) => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < CALLS; i++) fn();
      means[j].push(Number(process.hrtime.bigint() - t0) / CALLS);
    });
  }
  return means.map((m) => m.sort((x, y) => x - y)[m.length >> 1]);
}

function casesOf(dir) {
  const nt = createRequire(path.join(path.resolve(dir), 'package.json'))(path.resolve(dir));
  nt.setNumThreads(1);
  nt.manualSeed(0);
  const X = nt.normal(0, 1, [3, 3, 3]);
  const K = nt.normal(0, 1, [2, 3, 1, 1]);
  const K2 = K.reshape(2, 3), X2 = X.reshape(3, 9);
  const Y1 = nt.corr2dMultiInOut1x1(X, K), Y2 = nt.corr2dMultiInOut(X, K);
  const D = Y1.sub(Y2), A = D.abs(), S = A.sum();
  const opts = { stride: 1, padding: 0, groups: 1 }; // as bench/suites/conv2d.mjs passes them
  return {
    matmul: () => nt.matmul(K2, X2),
    conv2d: () => nt.conv2d(X, K),
    'conv2d(opts)': () => nt.conv2d(X, K, opts),
    corr2dMultiInOut: () => nt.corr2dMultiInOut(X, K),
    oneByOne: () => nt.corr2dMultiInOut1x1(X, K),
    normal: () => [nt.normal(0, 1, [3, 3, 3]), nt.normal(0, 1, [2, 3, 1, 1])],
    sub: () => Y1.sub(Y2),
    abs: () => D.abs(),
    sum: () => A.sum(),
    item: () => S.item(),
    seed: () => {
      const x = nt.normal(0, 1, [3, 3, 3]);
      const k = nt.normal(0, 1, [2, 3, 1, 1]);
      const y1 = nt.corr2dMultiInOut1x1(x, k);
      const y2 = nt.corr2dMultiInOut(x, k);
      return y1.sub(y2).abs().sum().item() < 1e-6;
    },
  };
}

const all = dirs.map(casesOf);
// One untimed pass over every case first: otherwise the first case timed
// pays for the tier-up (and background compiles) of the timing loop and of
// code the others share (measured: the first case ~1.5-2x slower).
const names = Object.keys(all[0]).filter((name) => !only || only.includes(name));
const rows = {};
for (const pass of [0, 1]) {
  for (const name of names) {
    const ts = timeAll(all.map((c) => c[name]));
    if (pass === 1) rows[name] = ts.map((t) => t.toFixed(0));
  }
}
console.log(['ns/call (median of batch means)', ...dirs].join('\t'));
for (const [name, ts] of Object.entries(rows)) console.log([name.padEnd(18), ...ts].join('\t'));
