// Timing: warm up, pick an inner repeat count so one sample lasts at least
// `minSampleS` (timer resolution and loop overhead vanish for µs-scale calls),
// then take samples until `targetS` of timed work (at least `minSamples`,
// at most `maxSamples`). Reports seconds per call: median, min, samples.
// bench/python/peer.py implements the same plan, so the numbers compare.
import { performance } from 'node:perf_hooks';

export const PLANS = {
  full: { warmupS: 0.05, minSampleS: 0.002, targetS: 0.7, minSamples: 3, maxSamples: 200 },
  quick: { warmupS: 0.02, minSampleS: 0.002, targetS: 0.12, minSamples: 2, maxSamples: 60 },
};

/** The plan for one measurement; calls that take longer than the target get the minimum number of samples. */
export function planSamples(plan, perCallS) {
  const inner = Math.max(1, Math.ceil(plan.minSampleS / perCallS));
  const samples = Math.min(plan.maxSamples, Math.max(plan.minSamples, Math.round(plan.targetS / (inner * perCallS))));
  return { inner, samples };
}

export function summarize(perCall, inner) {
  const sorted = [...perCall].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], samples: sorted.length, inner };
}

/** Times a synchronous fn. */
export function timeSync(fn, plan) {
  let t0 = performance.now();
  fn();
  let last = (performance.now() - t0) / 1e3;
  let spent = last;
  let calls = 1;
  while (spent < plan.warmupS) {
    t0 = performance.now();
    fn();
    last = (performance.now() - t0) / 1e3;
    spent += last;
    calls++;
  }
  const estimate = Math.max(1e-9, calls > 1 ? Math.min(last, spent / calls) : last);
  const { inner, samples } = planSamples(plan, estimate);
  const perCall = [];
  for (let s = 0; s < samples; s++) {
    const a = performance.now();
    for (let i = 0; i < inner; i++) fn();
    perCall.push((performance.now() - a) / 1e3 / inner);
  }
  return summarize(perCall, inner);
}

/** Times an async fn (each call awaited, as a caller would). */
export async function timeAsync(fn, plan) {
  let t0 = performance.now();
  await fn();
  let last = (performance.now() - t0) / 1e3;
  let spent = last;
  let calls = 1;
  while (spent < plan.warmupS) {
    t0 = performance.now();
    await fn();
    last = (performance.now() - t0) / 1e3;
    spent += last;
    calls++;
  }
  const estimate = Math.max(1e-9, calls > 1 ? Math.min(last, spent / calls) : last);
  const { inner, samples } = planSamples(plan, estimate);
  const perCall = [];
  for (let s = 0; s < samples; s++) {
    const a = performance.now();
    for (let i = 0; i < inner; i++) await fn();
    perCall.push((performance.now() - a) / 1e3 / inner);
  }
  return summarize(perCall, inner);
}
