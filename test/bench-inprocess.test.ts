// The inprocess bench suite's report (bench/suites/inprocess.mjs) from a
// synthetic result: the paired-ratio cells, the fp64 rows' labels and % of
// peak (against half the fp32 peak), and the ratio lines (fp64 ÷ fp32,
// threads ÷ one, % of peak beside the FMA loop). The suite itself
// (a native program and OpenBLAS) runs only under `npm run bench`.
import { describe, expect, it } from 'vitest';

interface Suite {
  reportText(result: unknown, ctx: { peak: unknown }): string;
  reportMarkdown(result: unknown, ctx: { peak: unknown }): string;
}
const suite = (await import(new URL('../bench/suites/inprocess.mjs', import.meta.url).href)) as Suite;

const row = (dtype: string, threads: number, n: number, nt: number, ob: number, ratio: number) => ({
  dtype, threads, m: n, k: n, n, pairs: 9,
  ntensor: { median: nt, best: nt * 1.1 },
  openblas: { median: ob, best: ob * 1.1 },
  ratio: { median: ratio, q1: ratio - 0.02, q3: ratio + 0.03, min: ratio - 0.1, max: ratio + 0.1 },
  maxRelDiff: 1e-6,
});
const result = {
  suite: 'inprocess',
  description: 'test',
  threadSettings: [1, 2],
  openblas: { path: '/lib/libopenblas.so.0', core: 'SkylakeX', config: 'OpenBLAS 0.3.21', via: 'test', coretypeEnv: 'SkylakeX' },
  ntensorIsa: 'avx512',
  rows: [row('float32', 1, 1024, 150, 140, 1.07), row('float64', 1, 1024, 75, 73, 1.03), row('float32', 2, 1024, 280, 260, 1.08)],
  fp64: [{ kind: 'fp64/fp32', threads: 1, m: 1024, k: 1024, n: 1024, pairs: 7, ntensor: { median: 0.48, q1: 0.47, q3: 0.49 }, openblas: { median: 0.5, q1: 0.49, q3: 0.51 } }],
  scaling: [{ kind: 'scaling', threads: 2, m: 2048, k: 2048, n: 2048, pairs: 5, ntensor: { median: 1.9, q1: 1.8, q3: 2 }, openblas: { median: 1.95, q1: 1.9, q3: 2 } }],
  peak: [{ kind: 'peak', isa: 'avx512', threads: 1, m: 1024, k: 1024, n: 1024, pairs: 14, ntensor: { median: 0.912, q1: 0.9, q3: 0.921 }, openblas: { median: 0.88, q1: 0.87, q3: 0.885 }, peakGflops: 170.5 }],
  notes: ['a note'],
};
const peak = [{ isa: 'avx512', threads: 1, supported: true, gflops: 160, perCore: 160 }];

describe('bench inprocess report', () => {
  it('prints each pair ratio as median× [q1–q3], % of peak per dtype, and the ratio lines', () => {
    const text = suite.reportText(result, { peak });
    const lines = text.split('\n');
    const fp32 = lines.find((l) => l.startsWith('n=1024 ') && l.includes('1.07×'));
    expect(fp32).toContain('150 (165)');
    expect(fp32).toContain('93.8%'); // 150 of 160
    expect(fp32).toContain('1.07× [1.05–1.10]');
    const fp64 = lines.find((l) => l.startsWith('n=1024, fp64 (dgemm)'));
    expect(fp64).toContain('93.8%'); // 75 of half of 160
    expect(fp64).toContain('1.03× [1.01–1.06]');
    expect(lines.find((l) => l.includes('1.08×'))).toContain('87.5%'); // 280 of 2 × 160
    expect(text).toContain('fp64 ÷ fp32 GFLOP/s at n=1024, 1 thread (7 steps of four calls): ntensor 0.480 [0.470–0.490], OpenBLAS 0.500 [0.490–0.510]');
    expect(text).toContain('2 threads ÷ 1 thread, GFLOP/s at n=2048 (5 steps of four calls): ntensor 1.90 [1.80–2.00], OpenBLAS 1.95 [1.90–2.00]');
    expect(text).toContain('% of the avx512 FMA peak at n=1024, 1 thread, each call beside a peak loop as long (14 steps of three calls; the loop\'s median 171 GFLOP/s): ntensor 91.2% [90.0–92.1], OpenBLAS 88.0% [87.0–88.5]');
    expect(text).toContain('a note');
  });

  it('gives Markdown tables per thread setting, and no OpenBLAS line when the program printed none', () => {
    const md = suite.reportMarkdown(result, { peak });
    expect(md).toContain('#### 1 thread');
    expect(md).toContain('#### 2 threads');
    expect(md).toContain('| n=1024, fp64 (dgemm) |');
    const empty = suite.reportText({ ...result, openblas: null, rows: [], fp64: [], scaling: [], notes: ['skipped: no OpenBLAS found'] }, { peak });
    expect(empty).not.toContain('OpenBLAS: ');
    expect(empty).toContain('skipped: no OpenBLAS found');
  });
});
