#!/usr/bin/env node
// Soak test (not a unit test: it takes tens of seconds). Runs 100,000 mixed
// operations through the public API — matmul (2-D, batched, 1-D), conv2d, pooling,
// the d2l functions, elementwise ops with broadcasting, reductions, stack /
// cat / transpose / reshape, the async twins (inline and on libuv's pool,
// up to 32 in flight, some aborted before the call or while queued), and
// the error paths of the TypeScript layer and of the native binding (which
// throw C++ exceptions into JS; async ones reject) — at small and medium
// sizes, and checks that the process's resident memory does not keep
// growing: RSS after a warm-up (and a full GC) against RSS at the end (after
// a full GC). Exits 1 if it grew by more than the bound, if a spot check of
// the results fails, or if async jobs (native references) are left over.
//
//   node scripts/soak.mjs [--ops 100000] [--warmup 10000] [--max-growth-mib 64]
//
// Loads dist/ (run `npm run build` first); NTENSOR_NATIVE_PATH is honoured, so
// the same soak can run against another build of the addon.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

// A full GC before each measurement needs --expose-gc: re-run with it.
if (typeof globalThis.gc !== 'function') {
  const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const nt = require(path.join(root, 'dist', 'index.js'));
const { native } = require(path.join(root, 'dist', 'native.js'));

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
const OPS = arg('ops', 100_000);
const WARMUP = arg('warmup', 10_000);
const MAX_GROWTH_MIB = arg('max-growth-mib', 64);
const MiB = 2 ** 20;

const g = new nt.Generator(12345);
const rnd = (shape, dtype = 'float32') => nt.normal(0, 1, shape, { dtype, generator: g });

// Inputs reused across iterations (so the soak measures the ops, not the RNG),
// plus some made fresh each time (so allocation and GC of inputs are included).
const fixed = {
  a8: rnd([8, 8]), b8: rnd([8, 8]),
  a64: rnd([64, 64]), b64: rnd([64, 64]),
  a64d: rnd([64, 64], 'float64'), b64d: rnd([64, 64], 'float64'),
  batchA: rnd([4, 16, 16]), batchB: rnd([16, 16]),
  bcastA: rnd([3, 1, 8, 5]), bcastB: rnd([4, 5, 6]),
  v: rnd([32]), vd: rnd([32], 'float64'),
  x1: rnd([1, 3, 8, 8]), w1: rnd([4, 3, 3, 3]), bias1: rnd([4]),
  x2: rnd([2, 8, 32, 32]), w2: rnd([16, 8, 3, 3]), bias2: rnd([16]),
  wdw: rnd([8, 1, 3, 3]), wg: rnd([16, 4, 2, 2]),
  X: rnd([3, 3, 3]), K: rnd([2, 3, 1, 1]),
  e1: rnd([16, 32]), e2: rnd([32]), e3: rnd([16, 1]),
  ed: rnd([16, 32], 'float64'),
  big: rnd([256, 256]),
};

const binding = native();
const f32 = (n) => new Float32Array(n);
const off0 = new Float64Array(1);

let checksum = 0;
let errors = 0;
let aborts = 0;
const sink = (t) => { checksum += t.data.length > 0 ? t.data[0] : 0; };
// Async ops in flight; awaited in groups (and before every measurement).
const pending = [];
const later = (p) => { pending.push(p.then(sink)); };
function expectAbort(p) {
  pending.push(p.then(() => { throw new Error('soak: an aborted call resolved'); }, (e) => {
    if (e?.name !== 'AbortError') throw e;
    aborts++;
  }));
}
function expectReject(p) {
  pending.push(p.then(() => { throw new Error('soak: an invalid async call resolved'); }, (e) => {
    if (!(e instanceof TypeError || e instanceof RangeError)) throw e;
    errors++;
  }));
}
async function settle() {
  while (pending.length > 0) await Promise.all(pending.splice(0));
}
function expectThrow(f) {
  try {
    f();
  } catch (e) {
    if (!(e instanceof TypeError || e instanceof RangeError)) throw e;
    errors++;
    return;
  }
  throw new Error('soak: an invalid call did not throw');
}

// One operation per call, chosen by i (a fixed, repeatable mix). Weights: medium
// sizes and error paths are a minority, as in real use.
const MIX = [
  [20, () => sink(nt.matmul(fixed.a8, fixed.b8))],
  [4, () => sink(nt.matmul(fixed.a64, fixed.b64))],
  [2, () => sink(nt.matmul(fixed.a64d, fixed.b64d))],
  [5, () => sink(nt.matmul(fixed.batchA, fixed.batchB))],
  [3, () => sink(nt.matmul(fixed.bcastA, fixed.bcastB))],
  [4, () => sink(nt.matmul(fixed.v, fixed.v))],
  [3, () => sink(nt.matmul(fixed.e1, fixed.e2))],
  [3, () => sink(nt.matmul(rnd([8, 12]), rnd([12, 6])))],
  [12, () => sink(nt.conv2d(fixed.x1, fixed.w1, { bias: fixed.bias1, padding: 1 }))],
  [4, () => sink(nt.conv2d(fixed.x1, fixed.w1, { stride: 2 }))],
  [2, () => sink(nt.conv2d(fixed.x2, fixed.w2, { bias: fixed.bias2, padding: 1 }))],
  [2, () => sink(nt.conv2d(fixed.x2, fixed.wdw, { padding: 'same', groups: 8 }))],
  [2, () => sink(nt.conv2d(fixed.x2, fixed.wg, { padding: 'same', groups: 2, dilation: 2 }))],
  [3, () => sink(nt.maxPool2d(fixed.x2, 3, { stride: 2, padding: 1 }))],
  [3, () => sink(nt.avgPool2d(fixed.x1, 2))],
  [6, () => sink(nt.corr2dMultiInOut(fixed.X, fixed.K))],
  [6, () => sink(nt.corr2dMultiInOut1x1(fixed.X, fixed.K))],
  [3, () => sink(nt.corr2d(rnd([6, 6]), rnd([2, 2])))],
  [10, () => sink(fixed.e1.add(fixed.e2).mul(fixed.e3).sub(1).div(2))],
  [4, () => sink(fixed.ed.neg().abs().add(fixed.e2))],
  [8, () => sink(fixed.e1.sum(1))],
  [4, () => sink(fixed.e1.mean([0, 1], true))],
  [4, () => sink(fixed.ed.sum())],
  [3, () => sink(fixed.e1.max())],
  [3, () => sink(nt.stack([fixed.e1, fixed.e1], 1))],
  [3, () => sink(nt.cat([fixed.e1, fixed.e1], 0))],
  [3, () => sink(nt.transpose(fixed.bcastB, 0, 2))],
  [3, () => sink(fixed.e1.reshape(4, -1).T)],
  [1, () => sink(nt.matmul(fixed.big, fixed.big))],
  // error paths: the TypeScript layer, and the native binding throwing C++ exceptions
  [2, () => expectThrow(() => nt.matmul(fixed.a8, fixed.a64))],
  [2, () => expectThrow(() => nt.conv2d(fixed.x1, fixed.w2))],
  [2, () => expectThrow(() => nt.zeros([2 ** 31, 2 ** 31]))],
  [2, () => expectThrow(() => binding.matmul(f32(6), f32(6), f32(4), 2, 3, 3, off0, off0))],
  [2, () => expectThrow(() => binding.conv2d(f32(4), f32(9), null, f32(1), 1, 1, 2, 2, 1, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1))],
  [1, () => expectThrow(() => nt.maxPool2d(fixed.x1, 3, { padding: 2 }))],
  [2, () => expectThrow(() => binding.matmul(f32(6), new Float64Array(6), f32(4), 2, 3, 2, off0, off0))],
  // async: inline (below INLINE_MAX_WORK) and on libuv's pool; aborts; rejections
  [6, () => later(nt.matmulAsync(fixed.a8, fixed.b8))],
  [3, () => later(nt.matmulAsync(fixed.a64, fixed.b64))],
  [2, () => later(nt.matmulAsync(fixed.batchA, fixed.batchB))],
  [1, () => later(nt.matmulAsync(fixed.a64d, fixed.b64d, { signal: new AbortController().signal }))],
  [1, () => expectAbort(nt.matmulAsync(fixed.a64, fixed.b64, { signal: AbortSignal.abort() }))],
  [1, () => { // aborted while queued or running: rejects, the job is skipped or finishes unseen
    const ac = new AbortController();
    expectAbort(nt.matmulAsync(fixed.big, fixed.big, { signal: ac.signal }));
    expectAbort(nt.matmulAsync(fixed.a64, fixed.b64, { signal: ac.signal }));
    ac.abort();
  }],
  [4, () => later(nt.conv2dAsync(fixed.x1, fixed.w1, { bias: fixed.bias1, padding: 1 }))],
  [2, () => later(nt.conv2dAsync(fixed.x2, fixed.w2, { bias: fixed.bias2, padding: 1 }))],
  [2, () => later(nt.corr2dMultiInOutAsync(fixed.X, fixed.K))],
  [2, () => later(nt.corr2dMultiInOut1x1Async(fixed.X, fixed.K))],
  [2, () => later(nt.maxPool2dAsync(fixed.x2, 3, { stride: 1, padding: 1 }))], // 147456 > INLINE_MAX_WORK: libuv's pool
  [1, () => later(nt.avgPool2dAsync(fixed.x1, 2))], // inline
  [1, () => expectReject(nt.avgPool2dAsync(fixed.x1, 3, { padding: 2 }))],
  [1, () => expectReject(nt.matmulAsync(fixed.a8, fixed.a64))],
  [1, () => expectReject(nt.conv2dAsync(fixed.x1, fixed.w2))],
  [1, () => { // a tensor whose buffer is detached
    const ab = new ArrayBuffer(64);
    const t = nt.fromTypedArray(new Float32Array(ab), [4, 4]);
    structuredClone(ab, { transfer: [ab] });
    expectThrow(() => t.sum());
  }],
];
const table = MIX.flatMap(([w, f], j) => new Array(w).fill(j));
const counts = new Array(MIX.length).fill(0);

function spotCheck() {
  // The d2l identity holds bit for bit, and a small product is right.
  const Y1 = nt.corr2dMultiInOut1x1(fixed.X, fixed.K), Y2 = nt.corr2dMultiInOut(fixed.X, fixed.K);
  if (!Y1.data.every((v, i) => v === Y2.data[i])) throw new Error('soak: 1x1 conv != matmul');
  const p = nt.matmul(nt.tensor([[1, 2], [3, 4]]), nt.tensor([[5, 6], [7, 8]]));
  if (p.data.join() !== '19,22,43,50') throw new Error(`soak: wrong product ${p.data.join()}`);
}

function measure() {
  globalThis.gc();
  globalThis.gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
}
const fmtMiB = (b) => `${(b / MiB).toFixed(1)} MiB`;

async function main() {
const t0 = performance.now();
let warm = null;
let maxRss = 0;
const samples = [];
for (let i = 0; i < OPS; i++) {
  const j = table[(i * 7919) % table.length];
  counts[j]++;
  MIX[j][1]();
  if (pending.length >= 32) await settle();
  if (i % 1000 === 999) {
    spotCheck();
    maxRss = Math.max(maxRss, process.memoryUsage.rss());
  }
  if (i + 1 === WARMUP) {
    await settle();
    warm = measure();
    samples.push([i + 1, warm.rss]);
  } else if ((i + 1) % 10_000 === 0 && i + 1 > WARMUP) {
    await settle();
    samples.push([i + 1, measure().rss]);
  }
}
await settle();
// Let the last jobs' references go (they are released after the Promise settles).
await new Promise((r) => setTimeout(r, 50));
const end = measure();
const jobs = binding._asyncStats();
const secs = (performance.now() - t0) / 1000;
warm ??= end;
const growth = end.rss - warm.rss;

console.log(`soak: ${OPS} ops (${errors} of them error paths, ${aborts} aborted async calls) in ${secs.toFixed(1)} s, ISA ${nt.backendInfo().isa}, checksum ${checksum.toFixed(3)}`);
console.log(`soak: async jobs on libuv's pool: ${jobs.queued} queued, ${jobs.completed} completed, ${jobs.skipped} skipped, ${jobs.stopped} stopped, ${jobs.live} left with live references`);
console.log(`soak: RSS after ${WARMUP} warm-up ops ${fmtMiB(warm.rss)}, at the end ${fmtMiB(end.rss)}, growth ${fmtMiB(growth)} (bound ${MAX_GROWTH_MIB} MiB); max sampled ${fmtMiB(maxRss)}`);
console.log(`soak: heapTotal ${fmtMiB(warm.heapTotal)} -> ${fmtMiB(end.heapTotal)}, heapUsed ${fmtMiB(warm.heapUsed)} -> ${fmtMiB(end.heapUsed)}, external ${fmtMiB(warm.external)} -> ${fmtMiB(end.external)}, arrayBuffers ${fmtMiB(warm.arrayBuffers)} -> ${fmtMiB(end.arrayBuffers)}`);
console.log(`soak: RSS every 10,000 ops: ${samples.map(([n, r]) => `${n / 1000}k ${(r / MiB).toFixed(0)}`).join(', ')} (MiB)`);
if (growth > MAX_GROWTH_MIB * MiB) {
  console.error(`soak: FAILED: RSS grew by ${fmtMiB(growth)} after warm-up, more than ${MAX_GROWTH_MIB} MiB`);
  process.exit(1);
}
if (jobs.live !== 0 || jobs.settled !== jobs.queued) {
  console.error(`soak: FAILED: ${jobs.live} async jobs still hold references after everything settled`);
  process.exit(1);
}
console.log('soak: ok');
}

await main();
