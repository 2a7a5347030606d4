// Timing: warm up, pick an inner repeat count so one sample lasts at least
// `minSampleS` (timer resolution and loop overhead vanish for µs-scale calls),
// then take samples until `targetS` of timed work (at least `minSamples`,
// at most `maxSamples`). Reports seconds per call: median, min, samples.
// bench/python/peer.py implements the same plan, so the numbers compare.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

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
  return { median: medianOf(perCall), min: Math.min(...perCall), samples: perCall.length, inner };
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

// ---------------------------------------------------------------- rounds
// Interleaved measurement: every library of one case is timed back to back,
// in `rounds` rounds, each with 1/rounds of the plan's time budget and the
// order of the libraries rotated by one from round to round, so a slow phase
// of a shared machine falls on all of them alike. Samples of all rounds are
// pooled per library; each round's median is kept to show the spread.

export const DEFAULT_ROUNDS = 7;
/** The pause between two libraries of different processes or thread pools, at more than one thread (NTENSOR_BENCH_SETTLE_MS overrides). */
export const SETTLE_MS = Number(process.env.NTENSOR_BENCH_SETTLE_MS ?? 20);
/**
 * The longest that pause may grow while the CPUs are still busy
 * (NTENSOR_BENCH_SETTLE_MAX_MS overrides). Measured here: OpenBLAS's pthread
 * workers keep a core spinning for about 125 ms after each multi-threaded
 * call, so a fixed 20 ms pause left the next library (timed right after a
 * Python peer) one core short for most of its turn.
 */
export const SETTLE_MAX_MS = Number(process.env.NTENSOR_BENCH_SETTLE_MAX_MS ?? 400);

/**
 * Busy CPU time of the whole (virtual) machine so far, in clock ticks
 * (/proc/stat: user + nice + system + irq + softirq over all CPUs; idle,
 * iowait and steal excluded), or null where /proc/stat is not readable.
 */
export function busyTicks(statText) {
  let text = statText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/stat', 'utf8');
    } catch {
      return null;
    }
  }
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return null;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  if (f.length < 7 || f.some((x) => !Number.isFinite(x))) return null;
  return f[0] + f[1] + f[2] + f[5] + f[6];
}

/**
 * Waits `minMs`, then, 30 ms window by 30 ms window, until a window in which
 * the machine's CPUs were busy for at most one clock tick (10 ms: idle but
 * for background noise; a thread spinning on one core costs 3 ticks per
 * window), or until `maxMs` in all. Resolves to the milliseconds waited.
 * `ticks` (tests) replaces the /proc/stat reader.
 */
export async function settle(minMs, maxMs = SETTLE_MAX_MS, { ticks = busyTicks, windowMs = 30 } = {}) {
  const t0 = performance.now();
  await pause(minMs);
  let before = ticks();
  while (before !== null && performance.now() - t0 + windowMs <= maxMs) {
    await pause(windowMs);
    const after = ticks();
    if (after === null || after - before <= 1) break;
    before = after;
  }
  return performance.now() - t0;
}

/** The plan for one of `rounds` rounds: 1/rounds of the time budget and of the sample counts, at least one sample. */
export function roundPlan(plan, rounds) {
  return {
    ...plan,
    targetS: plan.targetS / rounds,
    minSamples: Math.max(1, Math.ceil(plan.minSamples / rounds)),
    maxSamples: Math.max(1, Math.ceil(plan.maxSamples / rounds)),
  };
}

function medianOf(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Calls `once` (seconds of one call) for warmupS (at least once); the per-call estimate in seconds. */
async function warmUp(once, warmupS) {
  let last = await once();
  let spent = last, calls = 1;
  while (spent < warmupS) {
    last = await once();
    spent += last;
    calls++;
  }
  return Math.max(1e-9, calls > 1 ? Math.min(last, spent / calls) : last);
}

/**
 * A library in the rounds: the first round warms up (plan.warmupS) and fixes
 * the per-call estimate, hence the inner repeat count; each round then takes
 * planSamples(roundPlan, estimate) samples. `once()` times one call, and
 * `sample(inner)` the seconds per call of `inner` calls in a row.
 * `round(rp)` resolves with { perCall: [seconds per call, ...], inner }.
 */
function participant(id, group, once, sample) {
  let est = null;
  return {
    id,
    group,
    async round(rp) {
      if (est === null) est = await warmUp(once, rp.warmupS);
      const { inner, samples } = planSamples(rp, est);
      const perCall = [];
      for (let s = 0; s < samples; s++) perCall.push(await sample(inner));
      return { perCall, inner };
    },
  };
}

/** A participant timing a synchronous fn: each sample's calls run in a plain loop. */
export function syncParticipant(id, fn, group) {
  return participant(id, group, () => {
    const t0 = performance.now();
    fn();
    return (performance.now() - t0) / 1e3;
  }, (inner) => {
    const a = performance.now();
    for (let i = 0; i < inner; i++) fn();
    return (performance.now() - a) / 1e3 / inner;
  });
}

/** As syncParticipant, for an async fn (each call awaited, as a caller would). */
export function asyncParticipant(id, fn, group) {
  return participant(id, group, async () => {
    const t0 = performance.now();
    await fn();
    return (performance.now() - t0) / 1e3;
  }, async (inner) => {
    const a = performance.now();
    for (let i = 0; i < inner; i++) await fn();
    return (performance.now() - a) / 1e3 / inner;
  });
}

/**
 * Paired comparison of two participants of the same interleave(): in each
 * round, the ratio of b's median to a's (b time ÷ a time: > 1 means a is
 * faster), and the median and range of those ratios over the rounds. The two
 * were timed back to back in every round, so a slow phase of a shared machine
 * longer than a round cancels in the ratio, which the ratio of the pooled
 * medians does not guarantee. null unless both have round medians.
 */
export function pairedRatio(a, b) {
  const n = Math.min(a?.roundMedians?.length ?? 0, b?.roundMedians?.length ?? 0);
  if (n === 0) return null;
  const r = [];
  for (let i = 0; i < n; i++) r.push(b.roundMedians[i] / a.roundMedians[i]);
  r.sort((x, y) => x - y);
  return { median: medianOf(r), min: r[0], max: r[n - 1], rounds: n };
}

/**
 * Runs `participants` ({ id, round(rp) → { perCall, inner }, onError?(err) })
 * in `rounds` rounds under `plan`: round r starts at participant r (mod count)
 * and goes round the list. A participant whose round throws is dropped from
 * the later rounds and its onError is called (it then has no result).
 * `settleMs`: a pause before a participant whose `group` (the process or
 * thread pool it runs in; by default its id) differs from the previous one's,
 * so that thread pools the previous library left spinning (OpenBLAS,
 * OpenMP, onnxruntime) go idle before the next one is timed: settle(), at
 * least settleMs and longer while the CPUs stay busy.
 * Returns Map id → { median, min, samples, inner, roundMedians } over the
 * pooled samples of all rounds (roundMedians: each round's median, seconds).
 */
export async function interleave(participants, plan, rounds, { settleMs = 0, onRound } = {}) {
  const rp = roundPlan(plan, rounds);
  const pooled = new Map(participants.map((p) => [p.id, { perCall: [], inner: 1, roundMedians: [] }]));
  let live = [...participants];
  let lastGroup = null;
  for (let r = 0; r < rounds && live.length; r++) {
    const k = r % live.length;
    const order = [...live.slice(k), ...live.slice(0, k)];
    onRound?.(r, order.map((p) => p.id));
    for (const p of order) {
      const group = p.group ?? p.id;
      if (settleMs > 0 && group !== lastGroup) await settle(settleMs);
      lastGroup = group;
      try {
        const { perCall, inner } = await p.round(rp);
        const acc = pooled.get(p.id);
        acc.perCall.push(...perCall);
        acc.inner = inner;
        acc.roundMedians.push(medianOf(perCall));
      } catch (err) {
        pooled.delete(p.id);
        live = live.filter((q) => q !== p);
        p.onError?.(err);
      }
    }
  }
  const out = new Map();
  for (const [id, acc] of pooled) {
    if (!acc.perCall.length) continue;
    out.set(id, { ...summarize(acc.perCall, acc.inner), roundMedians: acc.roundMedians });
  }
  return out;
}
