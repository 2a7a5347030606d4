// The benchmark's comparison arithmetic (bench/lib/timing.mjs, table.mjs):
// the paired-by-round ratio and the interleaving order it relies on. The
// bench itself is not run here (its speed targets live in bench/).
import { describe, expect, it } from 'vitest';

interface Entry {
  roundMedians?: number[];
}
interface Paired {
  median: number;
  min: number;
  max: number;
  rounds: number;
}
interface Participant {
  id: string;
  round(rp: unknown): Promise<{ perCall: number[]; inner: number }>;
}
interface Timing {
  busyTicks(statText?: string): number | null;
  settle(minMs: number, maxMs?: number, opts?: { ticks?: () => number | null; windowMs?: number }): Promise<number>;
  pairedRatio(a: Entry | undefined, b: Entry | undefined): Paired | null;
  asyncParticipant(id: string, fn: () => Promise<void>): Participant;
  interleave(
    ps: Participant[],
    plan: Record<string, number>,
    rounds: number,
    opts: { onRound?: (r: number, order: string[]) => void },
  ): Promise<Map<string, { roundMedians: number[]; samples: number }>>;
}
interface Table {
  pairedTable(
    keys: string[],
    label: (k: string) => string,
    ntId: string,
    peers: [string, string][],
    get: (id: string, k: string) => Entry | undefined,
  ): { headers: string[]; rows: string[][] };
}

const load = async <T>(rel: string): Promise<T> => (await import(new URL(rel, import.meta.url).href)) as T;
const timing = await load<Timing>('../bench/lib/timing.mjs');
const table = await load<Table>('../bench/lib/table.mjs');

describe('bench pairedRatio', () => {
  it('is the median and range of the per-round ratios b ÷ a', () => {
    expect(timing.pairedRatio({ roundMedians: [1, 2, 4] }, { roundMedians: [2, 2, 2] })).toEqual({
      median: 1, min: 0.5, max: 2, rounds: 3,
    });
    expect(timing.pairedRatio({ roundMedians: [1, 1, 1, 1] }, { roundMedians: [1, 2, 3, 4] })?.median).toBe(2.5);
  });

  it('cancels a slow phase that falls on both in one round, which pooled medians do not', () => {
    // a is 10 % faster in every round; round 2 runs at a third of the speed for both.
    const a = { roundMedians: [1, 3, 1] };
    const b = { roundMedians: [1.1, 3.3, 1.1] };
    const p = timing.pairedRatio(a, b);
    expect(p?.median).toBeCloseTo(1.1, 12);
    expect(p?.max! - p?.min!).toBeLessThan(1e-12);
  });

  it('uses the rounds both have (a library dropped after an error), and null without any', () => {
    expect(timing.pairedRatio({ roundMedians: [1, 1, 1] }, { roundMedians: [3] })).toEqual({ median: 3, min: 3, max: 3, rounds: 1 });
    expect(timing.pairedRatio({ roundMedians: [1] }, {})).toBeNull();
    expect(timing.pairedRatio(undefined, { roundMedians: [1] })).toBeNull();
  });

  it('pairedTable prints median× [min–max] per peer, — where a peer is missing', () => {
    const data: Record<string, Record<string, Entry>> = {
      ntensor: { s: { roundMedians: [1, 1, 1] } },
      ort: { s: { roundMedians: [0.9, 1.2, 1.5] } },
    };
    const t = table.pairedTable(['s', 'u'], (k) => `shape ${k}`, 'ntensor', [['ort', 'onnxruntime'], ['torch', 'PyTorch']], (id, k) => data[id]?.[k]);
    expect(t.headers).toEqual(['shape', '÷ onnxruntime', '÷ PyTorch']);
    expect(t.rows).toEqual([
      ['shape s', '1.20× [0.900–1.50]', '—'],
      ['shape u', '—', '—'],
    ]);
  });
});

describe('bench interleave', () => {
  it('rotates the order each round and keeps one median per round per library', async () => {
    const orders: string[][] = [];
    const ps = ['a', 'b', 'c'].map((id) => timing.asyncParticipant(id, async () => {}));
    const plan = { warmupS: 0, minSampleS: 0.0001, targetS: 0.003, minSamples: 2, maxSamples: 4 };
    const res = await timing.interleave(ps, plan, 4, { onRound: (_r, order) => orders.push(order) });
    expect(orders).toEqual([['a', 'b', 'c'], ['b', 'c', 'a'], ['c', 'a', 'b'], ['a', 'b', 'c']]);
    for (const id of ['a', 'b', 'c']) {
      expect(res.get(id)?.roundMedians).toHaveLength(4);
      expect(res.get(id)?.samples).toBeGreaterThanOrEqual(4);
    }
  });
});

describe('bench settle (the pause between libraries at more than one thread)', () => {
  it('busyTicks sums user, nice, system, irq and softirq of the cpu line, not idle, iowait or steal', () => {
    const stat = 'cpu  100 2 30 5000 7 4 5 600 0 0\ncpu0 50 1 15 2500 3 2 2 300 0 0\nintr 1\n';
    expect(timing.busyTicks(stat)).toBe(100 + 2 + 30 + 4 + 5);
    expect(timing.busyTicks('intr 1\n')).toBeNull();
  });

  it('waits while the CPUs stay busy (a pool left spinning), and stops at the first quiet window', async () => {
    // Busy ticks per window: 3, 3, 3 (one core spinning), then 0.
    const seq = [0, 3, 6, 9, 9, 9];
    let calls = 0;
    const ticks = () => seq[Math.min(calls++, seq.length - 1)];
    const waited = await timing.settle(1, 1000, { ticks, windowMs: 5 });
    expect(calls).toBe(5); // the first read, then one per window until the quiet one
    expect(waited).toBeGreaterThanOrEqual(1 + 4 * 5 - 1);
  });

  it('gives up at maxMs when the CPUs never go quiet, and waits only minMs without /proc/stat', async () => {
    let t = 0;
    const busy = () => (t += 3);
    const waited = await timing.settle(1, 40, { ticks: busy, windowMs: 5 });
    expect(waited).toBeGreaterThanOrEqual(30);
    expect(waited).toBeLessThan(400);
    let reads = 0;
    await timing.settle(1, 1000, { ticks: () => { reads++; return null; }, windowMs: 5 });
    expect(reads).toBe(1);
  });
});
