// The measured fp32 FMA peak: compiles bench/peak/peak.cc with g++ (-O2; the
// ISA is a per-function target attribute) into bench/.build/, then runs it
// for each ISA and thread count. GFLOP/s per core is what "% of peak" uses.
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BUILD_DIR = fileURLToPath(new URL('../.build/', import.meta.url));
const CXX = process.env.CXX || 'g++';

function mtime(p) {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return -1;
  }
}

/** Compiles bench/peak/<name>.cc into bench/.build/<name> unless that is newer; returns its path. */
function build(name) {
  const src = fileURLToPath(new URL(`../peak/${name}.cc`, import.meta.url));
  const bin = `${BUILD_DIR}${name}`;
  const loops = fileURLToPath(new URL('../peak/fma_loops.h', import.meta.url));
  if (mtime(bin) > Math.max(mtime(src), mtime(loops))) return bin;
  mkdirSync(BUILD_DIR, { recursive: true });
  execFileSync(CXX, ['-O2', '-std=c++17', '-pthread', src, '-o', bin], { stdio: ['ignore', 'inherit', 'inherit'] });
  return bin;
}

export function buildPeak() {
  return build('peak');
}

/**
 * Microseconds per 4 KiB (bench/peak/pagefault.cc): the first write to a
 * fresh page, the same with huge pages, and overwriting resident memory.
 * { freshUs, hugeUs, residentUs }; throws if g++ is missing.
 */
export function measurePageCost() {
  return JSON.parse(execFileSync(build('pagefault'), [], { encoding: 'utf8' }));
}

/** [{ isa, threads, supported, gflops, perCore }] for every isa × thread count; throws if g++ is missing. */
export function measurePeak({ isas = ['avx512', 'avx2'], threadCounts = [1], ms = 250 } = {}) {
  const bin = buildPeak();
  const out = [];
  for (const isa of isas) {
    for (const t of threadCounts) {
      const line = execFileSync(bin, ['--isa', isa, '--threads', String(t), '--ms', String(ms)], { encoding: 'utf8' });
      out.push(JSON.parse(line));
    }
  }
  return out;
}

/**
 * An all-core peak well below threads × the one-core peak means another
 * process had a core at that moment: the run's multi-thread figures are then
 * low and noisy. `when` says which measurement ('before', 'after' the suites).
 */
export function contentionNotes(peak, when) {
  const out = [];
  for (const p of peak ?? []) {
    const one = peak.find((q) => q.isa === p.isa && q.threads === 1 && q.supported);
    if (p.supported && p.threads > 1 && one && p.perCore < 0.85 * one.perCore) {
      out.push(`warning: ${when} the suites, the ${p.isa} FMA loop on ${p.threads} threads reached only ${Math.round((100 * p.perCore) / one.perCore)}% per core of its 1-thread rate: another process was using the cores, so this run's multi-thread figures are low and noisy.`);
    }
  }
  return out;
}

/** The 1-thread peak entry of the best ISA measured (AVX-512, else AVX2) that "% peak" is read against, or null. */
export function oneCorePeak(peak) {
  return peak?.find((x) => x.isa === 'avx512' && x.threads === 1 && x.supported)
    ?? peak?.find((x) => x.isa === 'avx2' && x.threads === 1 && x.supported) ?? null;
}

/**
 * The peak "% peak" is read against: per ISA and thread count, the higher of
 * the measurements before and after the suites (a busy host only lowers the
 * loop's rate, so the lower one would inflate every % of peak), marked with
 * `when` ('before' or 'after').
 */
export function higherPeak(before, after) {
  if (!before) return before;
  return before.map((p) => {
    const q = after?.find((x) => x.isa === p.isa && x.threads === p.threads && x.supported);
    return p.supported && q && q.gflops > p.gflops ? { ...q, when: 'after' } : { ...p, when: 'before' };
  });
}
