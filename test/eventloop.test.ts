// The event loop keeps turning while the async ops compute: a 1 ms timer
// during a 2048² matmulAsync, fs calls while many products are queued, and
// 100 concurrent calls of mixed sizes that all resolve with the sync results.
import { promises as fsp, readFileSync, readdirSync } from 'node:fs';
import { availableParallelism, release } from 'node:os';
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { sameBits } from './bits';

import {
  Tensor, conv2d, conv2dAsync, corr2d, corr2dAsync, corr2dMultiIn, corr2dMultiInAsync, corr2dMultiInOut,
  corr2dMultiInOut1x1, corr2dMultiInOut1x1Async, corr2dMultiInOutAsync, getNumThreads, manualSeed, matmul,
  matmulAsync, normal, maxPool2d, maxPool2dAsync, avgPool2d, avgPool2dAsync,
} from '../lib/index';
import { MAX_IN_FLIGHT } from '../lib/ops/async';
import { native } from '../lib/native';

/** Waits until settled() holds, polling every 5 ms, for at most `ms`: for state a pool worker still waking from a finished call reaches only when it wakes. */
async function settle(settled: () => boolean, ms = 1000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!settled() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
}

/** Runs job() while a 1 ms setInterval ticks; the longest time between ticks (or from the start to the first, or the last to the end). */
async function maxTimerGap(job: () => Promise<unknown>): Promise<{ gap: number; ticks: number; ms: number }> {
  let last = 0, gap = 0, ticks = 0;
  const iv = setInterval(() => {
    const now = performance.now();
    gap = Math.max(gap, now - last);
    last = now;
    ticks++;
  }, 1);
  await new Promise((r) => setTimeout(r, 5)); // the interval is running
  last = performance.now();
  gap = 0;
  ticks = 0;
  const t0 = last;
  await job();
  const t1 = performance.now();
  clearInterval(iv);
  return { gap: Math.max(gap, t1 - last), ticks, ms: t1 - t0 };
}

/** Busy and total CPU ticks of the whole machine (/proc/stat), or null off Linux. */
function cpuTicks(): [number, number] | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((x, y) => x + y, 0);
    return [total - f[3] - (f[4] ?? 0), total];
  } catch {
    return null;
  }
}

/** How many cores other processes kept busy while job() ran (null off Linux). */
async function othersBusyDuring<T>(job: () => Promise<T>): Promise<{ value: T; others: number | null }> {
  const a = cpuTicks(), own0 = process.cpuUsage(), t0 = performance.now();
  const value = await job();
  const b = cpuTicks(), own = process.cpuUsage(own0), ms = performance.now() - t0;
  if (a === null || b === null || b[1] === a[1]) return { value, others: null };
  const busyCores = ((b[0] - a[0]) / (b[1] - a[1])) * availableParallelism();
  return { value, others: Math.max(0, busyCores - (own.user + own.system) / 1000 / ms) };
}
const idle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** V8's gc(), without --expose-gc on the command line. */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

describe('event loop', () => {
  it('a 1 ms setInterval keeps firing (median gap under 5 ms, 25 ms in the sanitizer build) while a 2048² fp32 matmulAsync runs on all cores', async () => {
    manualSeed(1);
    const A = normal(0, 1, [2048, 2048]), B = normal(0, 1, [2048, 2048]);
    await matmulAsync(A, B); // warm up: packing buffers, pool threads
    // V8 pauses the JS thread for its major GCs, 5-15 ms in a vitest worker's
    // heap, and each call's 16 MB output (external memory) brings the next
    // one closer: one in every few calls here. That is the JS heap's pause,
    // not the native work's: a full GC runs before each measured call
    // (outside the timed window), and a run with a GC pause of 1 ms or more
    // inside does not count (it is reported). The first timed run (the
    // measuring code's own warm-up) does not count either.
    const gc = exposeGc();
    const gcPauses: PerformanceEntry[] = [];
    const gcObserver = new PerformanceObserver((list) => { gcPauses.push(...list.getEntries()); });
    gcObserver.observe({ entryTypes: ['gc'] });
    // With every core in the GEMM the JS thread needs the scheduler to
    // preempt a GEMM thread when its timer fires; the pool's threads take a
    // long slice so that happens at once (native/threadpool.h). Measured on
    // the idle 2-vCPU VM, 30-run series: max gap median ~1.4 ms, worst
    // ~3.5 ms (without the long slice: median ~3.7 ms, worst 5.5-8 ms).
    // Other test files and other tenants share this host, so a run counts
    // only if other processes kept less than a third of a core busy during
    // it (and V8 did not stop for a GC, below); each run first waits (up to
    // 40 s in all) for such a quiet moment.
    // The median of the quiet runs (at least 3 of them, up to 7) must stay
    // under 5 ms. If the machine never got quiet enough, the weaker check is
    // that the best gap stayed under a quarter of the product's time. A
    // matmul that blocked the loop gives a gap of the whole product (~70 ms
    // here) in every run, and fails either way.
    type Run = { gap: number; ticks: number; ms: number; others: number | null; gcMs: number };
    const runs: Run[] = [];
    const isQuiet = (others: number | null): boolean => others === null || others < 0.33;
    const quietRuns = (): Run[] => runs.slice(1).filter((r) => isQuiet(r.others) && r.gcMs < 1);
    const deadline = performance.now() + 40_000;
    while (quietRuns().length < 7 && runs.length < 21 && performance.now() < deadline) {
      gc();
      while (performance.now() < deadline && !isQuiet((await othersBusyDuring(() => idle(50))).others)) { /* a quiet moment */ }
      const t0 = performance.now();
      const { value, others } = await othersBusyDuring(() => maxTimerGap(() => matmulAsync(A, B)));
      await idle(0); // the observer's entries are delivered
      const gcMs = gcPauses.filter((e) => e.startTime >= t0 && e.startTime < t0 + value.ms).reduce((x, e) => Math.max(x, e.duration), 0);
      runs.push({ ...value, others, gcMs });
    }
    gcObserver.disconnect();
    const quiet = quietRuns().sort((x, y) => x.gap - y.gap);
    const report = `threads ${getNumThreads()}; runs (max gap ms / ticks / matmul ms / cores other processes used / longest GC pause ms): ${
      runs.map((r) => `${r.gap.toFixed(2)}/${r.ticks}/${r.ms.toFixed(0)}/${r.others?.toFixed(2) ?? '?'}/${r.gcMs.toFixed(1)}`).join(', ')}`;
    console.log(`event loop: ${report}`);
    // The sanitizer build (npm run test:sanitize) runs the product ~35x
    // slower (~2.4 s) and measured quiet-run medians of ~4.8 and 6.3 ms in two CI
    // runs: its bound is 25 ms, still 1 % of a product that would show up
    // whole in every gap if it blocked the loop.
    const bound = process.env.NTENSOR_SANITIZE ? 25 : 5;
    if (quiet.length >= 3) {
      const median = quiet[(quiet.length - 1) >> 1];
      expect(median.gap, `median of ${quiet.length} quiet runs; ${report}`).toBeLessThan(bound);
      expect(median.ms, report).toBeGreaterThan(20); // the product overlapped the timer
      expect(median.ticks, report).toBeGreaterThanOrEqual(median.ms / 5);
    } else {
      console.log(`event loop: only ${quiet.length} quiet runs; checked gap < 25% of the product instead of < 5 ms`);
      const best = runs.slice(runs.length > 1 ? 1 : 0).reduce((x, y) => (y.gap / y.ms < x.gap / x.ms ? y : x));
      expect(best.gap, report).toBeLessThan(best.ms / 4);
    }
  });

  it('async work runs with a long scheduler slice (the pool\'s threads and the libuv thread), sync calls with the default one', async () => {
    // Linux >= 6.12 (EEVDF custom slices) reports each thread's slice in
    // /proc/self/task/<tid>/sched (se.slice); elsewhere there is nothing to see.
    const [major, minor] = release().split('.').map(Number);
    const slices = (): Array<{ name: string; slice: number }> | null => {
      try {
        return readdirSync('/proc/self/task').map((tid) => {
          const name = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
          const m = /se\.slice\s*:\s*(\d+)/.exec(readFileSync(`/proc/self/task/${tid}/sched`, 'utf8'));
          return { name, slice: m ? Number(m[1]) : NaN };
        });
      } catch {
        return null;
      }
    };
    const before = slices();
    if (process.platform !== 'linux' || major < 6 || (major === 6 && minor < 12) || before === null || before.some((t) => Number.isNaN(t.slice)) ||
        process.env.NTENSOR_WORKER_SLICE_MS !== undefined || getNumThreads() < 2) {
      console.log(`scheduler slices: not checked (${process.platform} ${release()}, /proc sched ${before === null ? 'missing' : 'present'}, ${getNumThreads()} threads)`);
      return;
    }
    const A = normal(0, 1, [512, 512]); // large enough for every pool thread
    // A worker that wakes after the caller has taken every task still
    // switches its slice, when it wakes (the call does not wait for it): so
    // the check allows the workers up to a second to get there.
    const check = async (gemmSlice: number | 'main'): Promise<void> => {
      const want = (now: Array<{ slice: number }>): number => (gemmSlice === 'main' ? now[0].slice : gemmSlice);
      await settle(() => {
        const now = slices()!;
        return now.every((t) => t.name !== 'ntensor-gemm' || t.slice === want(now));
      });
      const now = slices()!;
      const mainSlice = now[0].slice; // the first task is the main thread
      const gemm = now.filter((t) => t.name === 'ntensor-gemm');
      expect(gemm.length).toBeGreaterThan(0);
      for (const t of gemm) expect(t.slice, JSON.stringify(now)).toBe(want(now));
      // No other thread (the libuv thread that ran the job) kept the long slice.
      for (const t of now.filter((x) => x.name !== 'ntensor-gemm')) expect(t.slice, JSON.stringify(now)).toBe(mainSlice);
    };
    await matmulAsync(A, A);
    await check(20_000_000);
    matmul(A, A);
    await check('main');
    await matmulAsync(A, A);
    await check(20_000_000);
  });

  it('a pool worker woken on its region owner\'s CPU moves to another it may use, and its affinity mask stays as it was', async () => {
    // leave_cpu itself, on this thread: put on its first allowed CPU, then
    // moved off it. Null where it cannot be checked (not Linux, one CPU).
    const r = native()._checkLeaveCpu();
    if (r === null) {
      console.log(`leave_cpu: not checked (${process.platform}, ${availableParallelism()} CPUs)`);
    } else {
      expect(r.to, JSON.stringify(r)).not.toBe(r.from);
      expect(r.to).toBeGreaterThanOrEqual(0);
      expect(r.maskKept).toBe(true);
    }
    // The pool's workers, after regions on every thread: still allowed every
    // CPU the process's main thread is (their mask was narrowed only briefly).
    if (process.platform !== 'linux' || getNumThreads() < 2) return;
    const A = normal(0, 1, [384, 384]);
    for (let i = 0; i < 20; i++) matmul(A, A);
    const allowed = (tid: string): string => /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/self/task/${tid}/status`, 'utf8'))![1];
    const tids = readdirSync('/proc/self/task');
    const workers = tids.filter((tid) => readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() === 'ntensor-gemm');
    expect(workers.length).toBeGreaterThan(0);
    // A worker still waking from the last call may be inside leave_cpu, its
    // mask narrowed for a moment: allow a second for every mask to be back.
    await settle(() => workers.every((tid) => allowed(tid) === allowed(String(process.pid))));
    for (const tid of workers) expect(allowed(tid)).toBe(allowed(String(process.pid)));
  });

  it('a sleeping pool worker is woken off its region owner\'s CPU, and gets its affinity mask back', async () => {
    if (process.platform !== 'linux' || getNumThreads() < 2 || availableParallelism() < 2) {
      console.log(`wake off the owner's CPU: not checked (${process.platform}, ${availableParallelism()} CPUs, ${getNumThreads()} threads)`);
      return;
    }
    const A = normal(0, 1, [384, 384]);
    matmul(A, A); // the workers exist
    const before = native()._poolWakeStats();
    // Each product after 30 ms of idling: the workers have gone to sleep
    // (they poll for 30 us after a region), so each wake-up is of a sleeping
    // worker, with the owner's CPU out of its mask until it runs.
    for (let i = 0; i < 8; i++) {
      await new Promise((r) => setTimeout(r, 30));
      matmul(A, A);
    }
    const after = native()._poolWakeStats();
    expect(after.slept - before.slept, JSON.stringify({ before, after })).toBeGreaterThan(0);
    expect(after.onOwnerCpu - before.onOwnerCpu, JSON.stringify({ before, after })).toBe(0);
    // Every worker's mask is the process's again once it has woken.
    const allowed = (tid: string): string => /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/self/task/${tid}/status`, 'utf8'))![1];
    const workers = readdirSync('/proc/self/task').filter((tid) => readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() === 'ntensor-gemm');
    expect(workers.length).toBeGreaterThan(0);
    await settle(() => workers.every((tid) => allowed(tid) === allowed(String(process.pid))));
    for (const tid of workers) expect(allowed(tid)).toBe(allowed(String(process.pid)));
  });

  it(`fs calls are not held up behind queued products (at most ${MAX_IN_FLIGHT} on libuv's pool at once)`, async () => {
    const A = normal(0, 1, [1536, 1536]);
    const t0 = performance.now();
    const products = Array.from({ length: 12 }, () => matmulAsync(A, A));
    let read = 0;
    const reads = (async () => {
      for (let i = 0; i < 20; i++) read += (await fsp.readFile(__filename)).length;
      return performance.now() - t0;
    })();
    const readsMs = await reads;
    await Promise.all(products);
    const allMs = performance.now() - t0;
    expect(read).toBeGreaterThan(0);
    expect(readsMs, `20 reads took ${readsMs.toFixed(1)} ms of the products' ${allMs.toFixed(1)} ms`).toBeLessThan(allMs / 3);
  });

  it('100 concurrent async calls of mixed sizes and ops all resolve with the sync results', async () => {
    manualSeed(2);
    const r = (shape: number[], dtype: 'float32' | 'float64' = 'float32'): Tensor => normal(0, 1, shape, { dtype });
    // [async call, sync call] makers; each is called with fresh inputs.
    const kinds: Array<() => [() => Promise<Tensor>, () => Tensor]> = [
      () => { const a = r([2, 3]), b = r([3, 9]); return [() => matmulAsync(a, b), () => matmul(a, b)]; },
      () => { const a = r([64, 64]), b = r([64, 64]); return [() => matmulAsync(a, b), () => matmul(a, b)]; },
      () => { const a = r([300, 200], 'float64'), b = r([200, 100], 'float64'); return [() => matmulAsync(a, b), () => matmul(a, b)]; },
      () => { const a = r([8, 32, 48]), b = r([48, 16]); return [() => matmulAsync(a, b), () => matmul(a, b)]; },
      () => { const a = r([2, 1, 30, 40], 'float64'), b = r([3, 40, 20], 'float64'); return [() => matmulAsync(a, b), () => matmul(a, b)]; },
      () => { const a = r([700]), b = r([700, 90]); return [() => matmulAsync(a, b), () => matmul(a, b)]; },
      () => { const a = r([512, 512]), b = r([512, 512]); return [() => matmulAsync(a, b), () => matmul(a, b)]; },
      () => { const a = r([1, 4096]), b = r([4096, 64]); return [() => matmulAsync(a, b), () => matmul(a, b)]; },
      () => { const x = r([2, 8, 32, 32]), w = r([16, 8, 3, 3]), bias = r([16]); const o = { bias, padding: 1 }; return [() => conv2dAsync(x, w, o), () => conv2d(x, w, o)]; },
      () => { const x = r([1, 3, 8, 8]), w = r([4, 3, 3, 3]); return [() => conv2dAsync(x, w, { stride: 2 }), () => conv2d(x, w, { stride: 2 })]; },
      () => { const x = r([16, 40, 40], 'float64'), w = r([16, 4, 3, 3], 'float64'); const o = { groups: 4, dilation: 2 }; return [() => conv2dAsync(x, w, o), () => conv2d(x, w, o)]; },
      () => { const X = r([3, 3, 3]), K = r([2, 3, 1, 1]); return [() => corr2dMultiInOutAsync(X, K), () => corr2dMultiInOut(X, K)]; },
      () => { const X = r([32, 24, 24]), K = r([16, 32, 1, 1]); return [() => corr2dMultiInOut1x1Async(X, K), () => corr2dMultiInOut1x1(X, K)]; },
      () => { const X = r([96, 96]), K = r([5, 5]); return [() => corr2dAsync(X, K), () => corr2d(X, K)]; },
      () => { const X = r([8, 48, 48]), K = r([8, 3, 3]); return [() => corr2dMultiInAsync(X, K), () => corr2dMultiIn(X, K)]; },
      () => { const x = r([2, 16, 64, 64]); return [() => maxPool2dAsync(x, 3, { stride: 2, padding: 1 }), () => maxPool2d(x, 3, { stride: 2, padding: 1 })]; },
      () => { const x = r([3, 40, 40], 'float64'); return [() => avgPool2dAsync(x, [2, 3]), () => avgPool2d(x, [2, 3])]; },
      () => { const x = r([1, 2, 8, 8]); return [() => maxPool2dAsync(x, 2), () => maxPool2d(x, 2)]; },
    ];
    const cases = Array.from({ length: 100 }, (_, i) => kinds[i % kinds.length]());
    const results = await Promise.all(cases.map(([run]) => run()));
    for (const [i, [, sync]] of cases.entries()) {
      const want = sync();
      expect(results[i].shape, `case ${i}`).toEqual(want.shape);
      expect(sameBits(results[i].data, want.data), `case ${i}`).toBe(true);
    }
  });
});
