// The measured fp32 FMA peak: compiles bench/peak/peak.cc with g++ (-O2; the
// ISA is a per-function target attribute) into bench/.build/, then runs it
// for each ISA and thread count. GFLOP/s per core is what "% of peak" uses.
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../peak/peak.cc', import.meta.url));
const BUILD_DIR = fileURLToPath(new URL('../.build/', import.meta.url));
const BIN = `${BUILD_DIR}peak`;
const CXX = process.env.CXX || 'g++';

function mtime(p) {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return -1;
  }
}

export function buildPeak() {
  if (mtime(BIN) > mtime(SRC)) return BIN;
  mkdirSync(BUILD_DIR, { recursive: true });
  execFileSync(CXX, ['-O2', '-std=c++17', '-pthread', SRC, '-o', BIN], { stdio: ['ignore', 'inherit', 'inherit'] });
  return BIN;
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
