// Times the TypeScript elementwise ops and reductions at d2l sizes and at
// 1M elements (medians of repeated runs), and the d2l seed end to end, to
// back the choice of keeping them in TypeScript. Run: node bench/elementwise.mjs
import { performance } from 'node:perf_hooks';
import * as nt from 'ntensor';

function median(fn, reps, inner) {
  for (let i = 0; i < reps; i++) fn(); // warm-up
  const times = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    for (let i = 0; i < inner; i++) fn();
    times.push(((performance.now() - t0) * 1e6) / inner);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

const small = nt.normal(0, 1, [2, 3, 3]);
const small2 = nt.normal(0, 1, [2, 3, 3]);
const big = nt.normal(0, 1, [1000, 1000]);
const big2 = nt.normal(0, 1, [1000, 1000]);
const X = nt.normal(0, 1, [3, 3, 3]);
const K = nt.normal(0, 1, [2, 3, 1, 1]);
const rows = [
  ['sub (2x3x3)', median(() => small.sub(small2), 50, 20000)],
  ['abs (2x3x3)', median(() => small.abs(), 50, 20000)],
  ['sum().item() (2x3x3)', median(() => small.sum().item(), 50, 20000)],
  ['sub (1000x1000)', median(() => big.sub(big2), 15, 3)],
  ['sum (1000x1000)', median(() => big.sum(), 15, 3)],
  ['matmul (2x3)@(3x9)', median(() => nt.matmul(K.reshape(2, 3), X.reshape(3, 9)), 50, 20000)],
  ['seed: 1x1 + corr + sub/abs/sum/item', median(() => {
    const Y1 = nt.corr2dMultiInOut1x1(X, K);
    const Y2 = nt.corr2dMultiInOut(X, K);
    return Y1.sub(Y2).abs().sum().item();
  }, 50, 5000)],
];
for (const [name, ns] of rows) console.log(`${name.padEnd(40)} ${ns >= 1e5 ? (ns / 1e6).toFixed(3) + ' ms' : ns.toFixed(0) + ' ns'}`);
