// The addon keeps its state in Napi::Addon instance data, so it loads and
// runs in worker threads and the main thread at once, sync and async; a
// worker terminated with async calls in flight, and a process exiting with
// some queued, neither crash nor wait for them (native/async.cc).
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';

import { corr2dMultiInOut, corr2dMultiInOut1x1, manualSeed, matmul, matmulAsync, normal } from '../lib/index';

const root = path.resolve(__dirname, '..');

const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const nt = require(${JSON.stringify(path.join(root, 'dist/index.js'))});
nt.manualSeed(workerData.seed);
const X = nt.normal(0, 1, [16, 8, 8]);
const K = nt.normal(0, 1, [4, 16, 1, 1]);
let diff = 0;
for (let i = 0; i < 200; i++) diff += nt.corr2dMultiInOut1x1(X, K).sub(nt.corr2dMultiInOut(X, K)).abs().sum().item();
parentPort.postMessage({ diff, first: Array.from(nt.corr2dMultiInOut(X, K).data.slice(0, 4)) });
`;

describe('worker_threads', () => {
  it('runs in 4 workers and the main thread at once with correct results', async () => {
    const seeds = [1, 2, 3, 4];
    const results = await Promise.all(seeds.map((seed) => new Promise<{ diff: number; first: number[] }>((resolve, reject) => {
      const w = new Worker(workerSource, { eval: true, workerData: { seed } });
      w.once('message', (m) => { resolve(m); void w.terminate(); });
      w.once('error', reject);
    })));
    for (const [i, seed] of seeds.entries()) {
      manualSeed(seed);
      const X = normal(0, 1, [16, 8, 8]);
      const K = normal(0, 1, [4, 16, 1, 1]);
      expect(results[i].diff).toBe(0);
      expect(results[i].first).toEqual(Array.from(corr2dMultiInOut(X, K).data.slice(0, 4)));
      expect(corr2dMultiInOut1x1(X, K).data).toEqual(corr2dMultiInOut(X, K).data);
    }
  });
});

// ---- the async functions in workers, and the lifetimes around them ----

const distIndex = JSON.stringify(path.join(root, 'dist/index.js'));

/** Runs a script in a fresh `node -e`; resolves with its output, exit status and signal, and when it exited. */
function runNode(script: string, timeoutMs = 30_000): Promise<{ status: number | null; signal: string | null; stdout: string; stderr: string; exitedAt: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d; });
    child.stderr.on('data', (d: Buffer) => { stderr += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`node -e hung for ${timeoutMs} ms: ${stdout} ${stderr}`)); }, timeoutMs);
    child.on('exit', (status, signal) => {
      const exitedAt = Date.now();
      clearTimeout(timer);
      // Let the pipes drain.
      child.on('close', () => resolve({ status, signal, stdout, stderr, exitedAt }));
    });
  });
}

// Sync and async results of one seed, as a worker and the main thread compute them.
const asyncSource = `
const nt = require(${distIndex});
async function compute(seed) {
  nt.manualSeed(seed);
  const A = nt.normal(0, 1, [96, 128]), B = nt.normal(0, 1, [128, 80]);
  const X = nt.normal(0, 1, [3, 40, 50]), Y = nt.normal(0, 1, [50, 60], { dtype: 'float32' });
  const D = nt.normal(0, 1, [64, 64], { dtype: 'float64' });
  const out = {};
  const I = nt.normal(0, 1, [2, 8, 24, 24]), W = nt.normal(0, 1, [16, 8, 3, 3]);
  const Xd = nt.normal(0, 1, [16, 20, 20]), Kd = nt.normal(0, 1, [8, 16, 1, 1]);
  const jobs = {
    mm: [nt.matmulAsync, nt.matmul, A, B], batched: [nt.matmulAsync, nt.matmul, X, Y], f64: [nt.matmulAsync, nt.matmul, D, D],
    small: [nt.matmulAsync, nt.matmul, A, nt.normal(0, 1, [128, 2])],
    conv: [nt.conv2dAsync, nt.conv2d, I, W, { padding: 1, stride: 2 }],
    d2l: [nt.corr2dMultiInOutAsync, nt.corr2dMultiInOut, Xd, Kd], d2l1x1: [nt.corr2dMultiInOut1x1Async, nt.corr2dMultiInOut1x1, Xd, Kd],
    maxpool: [nt.maxPool2dAsync, nt.maxPool2d, I, 3, { padding: 1, stride: 1 }], avgpool: [nt.avgPool2dAsync, nt.avgPool2d, Xd, 2],
  };
  for (let round = 0; round < 5; round++) {
    const results = await Promise.all(Object.values(jobs).map(([f, , ...args]) => f(...args)));
    Object.keys(jobs).forEach((k, i) => {
      const [, syncFn, ...args] = jobs[k];
      const sync = syncFn(...args);
      const same = Buffer.from(sync.data.buffer).equals(Buffer.from(results[i].data.buffer));
      if (!same) throw new Error(k + ': async differs from sync in round ' + round);
      out[k] = Array.from(sync.data.slice(0, 3));
    });
  }
  return out;
}
`;

describe('worker_threads: async', () => {
  it('main thread and 4 workers at once: sync and async agree, and every thread gets the same numbers', async () => {
    const seeds = [11, 12, 13, 14];
    const src = `${asyncSource}
const { parentPort, workerData } = require('node:worker_threads');
compute(workerData.seed).then((r) => parentPort.postMessage(r));`;
    const workers = seeds.map((seed) => new Promise<Record<string, number[]>>((resolve, reject) => {
      const w = new Worker(src, { eval: true, workerData: { seed } });
      w.once('message', (m) => { resolve(m); void w.terminate(); });
      w.once('error', reject);
    }));
    // The main thread (its own module instance, from lib/) works at the same time.
    const main: Record<string, number[]>[] = [];
    for (const seed of seeds) {
      manualSeed(seed);
      const A = normal(0, 1, [96, 128]), B = normal(0, 1, [128, 80]);
      const [r] = await Promise.all([matmulAsync(A, B), matmulAsync(normal(0, 1, [256, 256]), normal(0, 1, [256, 256]))]);
      main.push({ mm: Array.from(r.data.slice(0, 3)) });
      expect(Buffer.from(r.data.buffer).equals(Buffer.from(matmul(A, B).data.buffer))).toBe(true);
    }
    const results = await Promise.all(workers);
    for (const [i, r] of results.entries()) {
      expect(Object.keys(r).sort()).toEqual(['avgpool', 'batched', 'conv', 'd2l', 'd2l1x1', 'f64', 'maxpool', 'mm', 'small']);
      expect(r.d2l).toEqual(r.d2l1x1); // d2l §6.4: the two formulations agree bit for bit
      expect(r.mm).toEqual(main[i].mm);
    }
  });

  it('terminating a worker with async calls queued and running neither crashes nor hangs the process', async () => {
    // Each child: a worker queues 40 large products (some with a signal),
    // then is terminated at a different moment; the process must end on its own, status 0.
    const moments = ['at once', 'after the first result', 'while aborting', 'from inside (process.exit)'];
    const runs = await Promise.all(moments.map((moment) => runNode(`
const { Worker } = require('node:worker_threads');
const w = new Worker(\`
  const { parentPort } = require('node:worker_threads');
  const nt = require(${distIndex.replace(/\\/g, '\\\\')});
  const A = nt.normal(0, 1, [768, 768]);
  const ac = new AbortController();
  for (let i = 0; i < 40; i++) {
    nt.matmulAsync(A, A, i % 2 ? { signal: ac.signal } : {}).then(
      () => { if (i === 0) parentPort.postMessage('first'); }, () => {});
  }
  parentPort.postMessage('queued');
  parentPort.on('message', (m) => { if (m === 'abort') ac.abort(); if (m === 'exit') process.exit(0); });
\`, { eval: true });
const moment = ${JSON.stringify(moment)};
w.on('error', (e) => { console.error('worker error', e); process.exitCode = 1; });
w.on('message', (m) => {
  if (m === 'queued' && moment === 'at once') w.terminate();
  if (m === 'queued' && moment === 'while aborting') { w.postMessage('abort'); setImmediate(() => w.terminate()); }
  if (m === 'queued' && moment === 'from inside (process.exit)') w.postMessage('exit');
  if (m === 'first' && moment === 'after the first result') w.terminate();
});
w.on('exit', () => console.log('ok'));
`)));
    for (const [i, r] of runs.entries()) {
      expect(r.signal, `${moments[i]}: ${r.stderr}`).toBeNull();
      expect(r.status, `${moments[i]}: ${r.stderr}`).toBe(0);
      expect(r.stdout.trim(), moments[i]).toBe('ok');
      expect(r.stderr, moments[i]).toBe('');
    }
  });

  it('the process exits promptly once idle after a large matmulAsync (neither pool keeps it alive)', async () => {
    const r = await runNode(`
const nt = require(${distIndex});
const A = nt.normal(0, 1, [2048, 2048]);
nt.matmulAsync(A, A).then((C) => console.log(C.shape.join('x'), Date.now()));`);
    expect(r.status, r.stderr).toBe(0);
    const [shape, at] = r.stdout.trim().split(' ');
    expect(shape).toBe('2048x2048');
    expect(r.exitedAt - Number(at)).toBeLessThan(2000);
  });

  it('process.exit() waits neither for queued calls nor for the remaining batches of running ones', async () => {
    // Queued: 30 products of 2048^2 (MAX_IN_FLIGHT start, the rest wait in
    // this environment's queue). Running: two batched products of 2000
    // batches each (directly on the binding), which stop at the next batch
    // when the 'exit' hook marks the environment closing. The exit may wait
    // for the started products and a few batches, not for thousands.
    const r = await runNode(`
const nt = require(${distIndex});
const b = require(${JSON.stringify(path.join(root, 'dist/native.js'))}).native();
const A = nt.normal(0, 1, [2048, 2048]);
const m = 64, k = 8192, n = 64;
const X = nt.normal(0, 1, [m, k]).data, Y = nt.normal(0, 1, [k, n]).data;
const offs = (batch) => new Float64Array(batch);
(async () => {
  let t = Date.now();
  await nt.matmulAsync(A, A);
  const t1 = Date.now() - t; // one 2048^2 product
  t = Date.now();
  b.matmul(X, Y, new Float32Array(20 * m * n), m, k, n, offs(20), offs(20));
  const t20 = Date.now() - t; // 20 batches
  for (let i = 0; i < 2; i++) b.matmulAsync(null, X, Y, new Float32Array(2000 * m * n), m, k, n, offs(2000), offs(2000));
  for (let i = 0; i < 30; i++) nt.matmulAsync(A, A).catch(() => {});
  setTimeout(() => { console.log(t1, t20, Date.now()); process.exit(0); }, 20);
})();`);
    expect(r.status, r.stderr).toBe(0);
    // At most the MAX_IN_FLIGHT queued products that started, and a few
    // batches. Those products run on one thread each (the pool serves one
    // region at a time), so each takes up to twice t1, which was measured
    // on all cores: 3 t1 leaves room for a loaded host or a sanitizer build
    // (ASan: t1 ~2.1 s, the exit took 5.97 s against a 2 t1 bound of
    // 5.67 s), while waiting for the 30 queued products would take ~15 t1.
    const [t1, t20, at] = r.stdout.trim().split(' ').map(Number);
    expect(r.exitedAt - at, `a product takes ${t1} ms, 20 batches ${t20} ms`).toBeLessThan(300 + 3 * t1 + 5 * t20);
  });
});
