// The bench's "% peak" reference (bench/lib/peak.mjs higherPeak): the higher
// of the FMA loop's runs before and after the suites, per ISA and threads.
import { describe, expect, it } from 'vitest';

interface Peak { isa: string; threads: number; supported: boolean; gflops?: number; perCore?: number; when?: string }
const { higherPeak } = (await import(new URL('../bench/lib/peak.mjs', import.meta.url).href)) as {
  higherPeak(before: Peak[] | null, after: Peak[] | null): Peak[] | null;
};

const p = (isa: string, threads: number, gflops: number): Peak => ({ isa, threads, supported: true, gflops, perCore: gflops / threads });

describe('bench peak', () => {
  it('takes the higher of before and after for each ISA and thread count, and says which', () => {
    const before = [p('avx512', 1, 139), p('avx512', 2, 300), p('avx2', 1, 70), { isa: 'avx2', threads: 2, supported: false }];
    const after = [p('avx512', 1, 172), p('avx512', 2, 280)];
    expect(higherPeak(before, after)).toEqual([
      { ...p('avx512', 1, 172), when: 'after' },
      { ...p('avx512', 2, 300), when: 'before' },
      { ...p('avx2', 1, 70), when: 'before' },
      { isa: 'avx2', threads: 2, supported: false, when: 'before' },
    ]);
    expect(higherPeak(before, null)?.map((x) => x.when)).toEqual(['before', 'before', 'before', 'before']);
    expect(higherPeak(null, after)).toBeNull();
  });
});
