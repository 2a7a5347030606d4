// Event-loop suite: how long the JS thread stops answering while a 2048²
// fp32 product runs. A 1 ms setInterval ticks during each call; the longest
// time between ticks is the call's "max gap" (1–2 ms means the loop kept
// turning; the product's whole duration means it was blocked). ntensor's
// matmulAsync (all cores, and one core left free), its sync matmul, and
// onnxruntime-node's `await session.run()` (the same one-node MatMul model as
// the matmul suite, all cores). The pool's threads ask the scheduler for a
// long slice (native/threadpool.h); NTENSOR_WORKER_SLICE_MS=0 turns that
// off, for a before/after comparison.
import { availableParallelism } from 'node:os';

import * as nt from 'ntensor';

import { loadOrt, ortSession } from './matmul.mjs';
import { fmt3, markdownTable, textTable } from '../lib/table.mjs';

export const name = 'eventloop';
export const description = 'longest gap between the ticks of a 1 ms setInterval while one 2048² fp32 matmul runs';

const N = 2048;

/** The max gap (ms) between interval ticks while `call()` runs, its duration and tick count. */
async function gapDuring(call) {
  let last = 0, gap = 0, ticks = 0;
  const iv = setInterval(() => {
    const now = performance.now();
    gap = Math.max(gap, now - last);
    last = now;
    ticks++;
  }, 1);
  await new Promise((r) => setTimeout(r, 5));
  const t0 = (last = performance.now());
  gap = 0;
  ticks = 0;
  await call();
  const t1 = performance.now();
  clearInterval(iv);
  return { gapMs: Math.max(gap, t1 - last), ms: t1 - t0, ticks };
}

async function series(call, runs) {
  await call(); // warm-up
  const samples = [];
  for (let i = 0; i < runs; i++) samples.push(await gapDuring(call));
  const sorted = (k) => samples.map((s) => s[k]).sort((a, b) => a - b);
  const med = (a) => a[a.length >> 1];
  const gaps = sorted('gapMs');
  return { runs, gapMedian: med(gaps), gapMin: gaps[0], gapMax: gaps.at(-1), msMedian: med(sorted('ms')), samples };
}

export async function run(ctx) {
  const { opts, log } = ctx;
  const runs = opts.quick ? 5 : 15;
  const cores = availableParallelism();
  const defaultThreads = nt.getNumThreads();
  nt.manualSeed(0);
  const A = nt.normal(0, 1, [N, N]), B = nt.normal(0, 1, [N, N]);
  const rows = {};
  const notes = [];

  log(`eventloop: ntensor matmulAsync, ${defaultThreads} threads`);
  rows.async = { label: `ntensor matmulAsync (${defaultThreads} threads)`, ...(await series(() => nt.matmulAsync(A, B), runs)) };
  if (defaultThreads > 1) {
    nt.setNumThreads(defaultThreads - 1);
    log(`eventloop: ntensor matmulAsync, ${defaultThreads - 1} threads`);
    rows.asyncFree = { label: `ntensor matmulAsync (${defaultThreads - 1} thread${defaultThreads - 1 === 1 ? '' : 's'}, one core left free)`, ...(await series(() => nt.matmulAsync(A, B), runs)) };
    nt.setNumThreads(defaultThreads);
  }
  log('eventloop: ntensor matmul (sync)');
  rows.sync = { label: `ntensor matmul, sync (${defaultThreads} threads)`, ...(await series(async () => nt.matmul(A, B), Math.min(runs, 5))) };

  const { ort, error } = await loadOrt();
  if (ort) {
    log(`eventloop: onnxruntime-node session.run, ${cores} threads`);
    const session = await ortSession(ort, [N, N, N], cores);
    const feeds = { A: new ort.Tensor('float32', A.data, [N, N]), B: new ort.Tensor('float32', B.data, [N, N]) };
    rows.ort = { label: `onnxruntime-node await session.run() (${cores} threads)`, ...(await series(() => session.run(feeds), runs)) };
    await session.release();
  } else {
    notes.push(error);
  }
  return {
    suite: name,
    description,
    versions: { 'onnxruntime-node': ort ? (ort.env?.versions?.node ?? null) : null },
    size: N,
    cores,
    workerSliceMs: process.env.NTENSOR_WORKER_SLICE_MS ?? 'default',
    rows,
    notes,
  };
}

function table(result) {
  const headers = ['call', 'max gap, median of runs (ms)', 'min–max (ms)', 'call (ms, median)'];
  const rows = Object.values(result.rows).map((r) => [r.label, fmt3(r.gapMedian), `${fmt3(r.gapMin)}–${fmt3(r.gapMax)}`, fmt3(r.msMedian)]);
  return { headers, rows };
}

export function reportText(result) {
  const t = table(result);
  return [`== eventloop: ${result.description} (${result.rows.async.runs} runs each; NTENSOR_WORKER_SLICE_MS ${result.workerSliceMs ?? 'default'})`, textTable(t.headers, t.rows), ...result.notes].join('\n');
}

export function reportMarkdown(result) {
  const t = table(result);
  return [
    '### Event loop',
    '',
    `${result.description[0].toUpperCase()}${result.description.slice(1)}, ${result.rows.async.runs} runs per row (${result.cores} cores; NTENSOR_WORKER_SLICE_MS ${result.workerSliceMs ?? 'default'}). A gap near the call's duration means the event loop was blocked for all of it.`,
    '',
    markdownTable(t.headers, t.rows),
    '',
    ...result.notes.map((n) => `- ${n}`),
  ].join('\n');
}
