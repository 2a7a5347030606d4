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

import { d2lSeedSteps } from '../bench/lib/d2l-seed.mjs';

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
  const { inputs: { X, K }, steps } = d2lSeedSteps(nt);
  const opts = { stride: 1, padding: 0, groups: 1 }; // as bench/suites/conv2d.mjs passes them
  return {
    matmul: steps.matmul,
    conv2d: () => nt.conv2d(X, K),
    'conv2d(opts)': () => nt.conv2d(X, K, opts),
    corr2dMultiInOut: steps.corr,
    oneByOne: steps.oneByOne,
    normal: steps.normal,
    sub: steps.sub,
    abs: steps.abs,
    sum: steps.sum,
    item: steps.item,
    seed: steps.seed,
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
