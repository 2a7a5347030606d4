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
