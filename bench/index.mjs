// ntensor's benchmark runner: `npm run bench -- [flags]` (builds first) or
// `node bench/index.mjs [flags]` on an existing build.
//
//   --quick                 shorter timing plan, square sizes up to 1024 (a couple of minutes)
//   --rounds N              matmul and conv2d: for each shape, every library is timed back to back
//                           in N rounds (default 7), each with 1/N of the time budget, the order of
//                           the libraries rotated from round to round; samples pooled per library,
//                           and ntensor ÷ each peer also paired by round (median [range] of the rounds' ratios)
//   --threads 1|all|both|N  thread settings to run (default both: 1 and all cores)
//   --only matmul,conv2d    suites to run (registry: bench/suites/index.mjs: matmul, inprocess, conv2d, eventloop)
//   --sizes 16,64,1x4096x4096   shapes instead of the defaults (matmul: N = square, MxKxN;
//                           conv2d: case ids, e.g. seed,stem,3x3-64)
//   --libs ntensor,js,ort,numpy,torch   peers to run (default all that are available)
//   --openblas-coretype auto|none|NAME  extra forced OpenBLAS core for the Python peers (default auto)
//   --no-d2l                skip the d2l §6.4 seed timings
//   --no-out                skip the preallocated-output ("steady state") rows of matmul and conv2d,
//                           where every library that can writes into one output reused by each call
//   --no-peak               skip the native FMA peak and page-cost measurements
//   --write-results         also rewrite the "latest" section of bench/RESULTS.md
//
// A run that makes no progress for 300 s (NTENSOR_BENCH_HANG_S) is ended, with a message.
// At more than one thread, the rounds pause 20 ms (NTENSOR_BENCH_SETTLE_MS) whenever the next library
// runs in another process or thread pool than the last, so pools left spinning go idle first.
//
// Writes bench/results/<date>-<suite>.json and bench/results/<suite>.svg.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import * as nt from 'ntensor';

import { ROOT, cpuInfo, environmentOf, gitInfo, ntensorBinary, packageVersion } from './lib/machine.mjs';
import { contentionNotes, higherPeak, measurePageCost, measurePeak } from './lib/peak.mjs';
import { DEFAULT_ROUNDS, PLANS } from './lib/timing.mjs';
import { startWatchdog } from './lib/watchdog.mjs';
import { SUITES } from './suites/index.mjs';
import { farBelowNotes } from './lib/checks.mjs';

const SOURCE = readFileSync(new URL(import.meta.url), 'utf8').split('\n');
const HELP = SOURCE.slice(0, SOURCE.findIndex((l) => !l.startsWith('//'))).map((l) => l.slice(3)).join('\n');

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string', default: String(DEFAULT_ROUNDS) },
    threads: { type: 'string', default: 'both' },
    only: { type: 'string' },
    sizes: { type: 'string' },
    libs: { type: 'string' },
    'openblas-coretype': { type: 'string', default: 'auto' },
    'no-d2l': { type: 'boolean', default: false },
    'no-out': { type: 'boolean', default: false },
    'no-peak': { type: 'boolean', default: false },
    'write-results': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (flags.help) {
  console.log(HELP);
  process.exit(0);
}

const started = performance.now();
const elapsed = () => ((performance.now() - started) / 1e3).toFixed(1).padStart(6);
const watchdog = startWatchdog(Number(process.env.NTENSOR_BENCH_HANG_S) || 300);
const log = (msg) => {
  watchdog.progress(msg);
  process.stderr.write(`[${elapsed()} s] ${msg}\n`);
};

const cpu = cpuInfo();
const all = cpu.availableParallelism;
function threadSettings(spec) {
  if (spec === 'both') return [...new Set([1, all])];
  if (spec === 'all') return [all];
  const n = Number(spec);
  if (Number.isInteger(n) && n > 0) return [n];
  throw new RangeError(`--threads: expected 1, all, both or a count, got '${spec}'`);
}

const rounds = Number(flags.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError(`--rounds: expected a whole number ≥ 1, got '${flags.rounds}'`);

const opts = {
  quick: flags.quick,
  rounds,
  sizes: flags.sizes,
  libs: flags.libs?.split(',').map((s) => s.trim()).filter(Boolean),
  openblasCoretype: flags['openblas-coretype'],
  d2l: !flags['no-d2l'],
  out: !flags['no-out'],
};
const suiteNames = flags.only ? flags.only.split(',').map((s) => s.trim()) : Object.keys(SUITES);
for (const s of suiteNames) if (!SUITES[s]) throw new RangeError(`--only: no suite '${s}' (have: ${Object.keys(SUITES).join(', ')})`);

const plan = flags.quick ? PLANS.quick : PLANS.full;
const threads = threadSettings(flags.threads);
const date = new Date().toISOString().slice(0, 10);

// Versions and settings of everything measured.
const git = gitInfo();
let gxx = null;
try {
  gxx = execFileSync(process.env.CXX || 'g++', ['--version'], { encoding: 'utf8' }).split('\n')[0];
} catch { /* reported as null */ }
const meta = {
  date: new Date().toISOString(),
  command: (process.env.npm_lifecycle_event === 'bench'
    ? `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`
    : `node bench/index.mjs ${process.argv.slice(2).join(' ')}`).trim(),
  mode: flags.quick ? 'quick' : 'full',
  plan,
  rounds,
  threadSettings: threads,
  cpu,
  node: process.version,
  ntensor: { ...git, binary: ntensorBinary(), backend: nt.backendInfo() },
  onnxruntimeNode: packageVersion('onnxruntime-node'),
  gxx,
  env: environmentOf(['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE', 'OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS']),
};

log(`${cpu.model}, ${cpu.cpus} CPUs; ntensor ${git.short ?? '?'} (${meta.ntensor.backend.isa}); plan ${meta.mode}, ${rounds} round${rounds === 1 ? '' : 's'}; threads ${threads.join(' and ')}`);

let peak = null;
if (!flags['no-peak']) {
  try {
    log('fp32 FMA peak (bench/peak/peak.cc)');
    peak = measurePeak({ threadCounts: [...new Set([1, ...threads])], ms: flags.quick ? 150 : 300 });
  } catch (err) {
    log(`peak not measured: ${err.message.split('\n')[0]}`);
  }
}
// What a fresh output's pages cost here, against overwriting resident ones:
// the difference between the fresh-output and the preallocated-output tables.
let pageCost = null;
if (!flags['no-peak']) {
  try {
    pageCost = measurePageCost();
    log(`memory, µs per 4 KiB (bench/peak/pagefault.cc): first write to a fresh page ${pageCost.freshUs}, with huge pages ${pageCost.hugeUs}, overwriting a resident page ${pageCost.residentUs}`);
  } catch (err) {
    log(`page cost not measured: ${err.message.split('\n')[0]}`);
  }
}

const resultsDir = path.join(ROOT, 'bench', 'results');
mkdirSync(resultsDir, { recursive: true });
const scratch = {};
const runs = [];
for (const s of suiteNames) {
  const suite = await SUITES[s]();
  const ctx = { opts, plan, threadSettings: threads, cpu, peak, log, scratch };
  runs.push({ name: s, suite, result: await suite.run(ctx) });
}

// Did another process share the cores? The all-core FMA loop, again, after
// the suites; "% peak" uses the higher of the two (higherPeak).
let peakAfter = null;
if (peak) {
  try {
    log('fp32 FMA peak again (a check for other load on the cores, and a second sample of the peak)');
    peakAfter = measurePeak({ isas: ['avx512', 'avx2'].filter((i) => peak.some((p) => p.isa === i && p.supported)).slice(0, 1), threadCounts: [1, ...threads.filter((t) => t > 1)], ms: 150 });
  } catch { /* reported as null */ }
}
const contention = [...contentionNotes(peak, 'before'), ...contentionNotes(peakAfter, 'after')];
const peakUsed = higherPeak(peak, peakAfter);

for (const { result } of runs) result.notes?.push(...farBelowNotes(result));

const reports = [];
for (const { name: s, suite, result } of runs) {
  const rctx = { peak: peakUsed, contention, subtitle: `${cpu.model}, ${cpu.cpus} CPUs · ntensor ${git.short} · ${date}` };
  console.log('\n' + suite.reportText(result, rctx));
  const doc = { meta: { ...meta, wallSeconds: (performance.now() - started) / 1e3 }, peak, peakAfter, pageCost, contention, result };
  const jsonPath = path.join(resultsDir, `${date}-${s}.json`);
  writeFileSync(jsonPath, JSON.stringify(doc, null, 1) + '\n');
  const written = [path.relative(ROOT, jsonPath)];
  if (suite.chart) {
    const svgPath = path.join(resultsDir, `${s}.svg`);
    writeFileSync(svgPath, suite.chart(result, rctx));
    written.push(path.relative(ROOT, svgPath));
  }
  log(`wrote ${written.join(', ')}`);
  reports.push({ suite, result, rctx });
}

if (flags['write-results']) {
  const { writeResultsMd } = await import('./lib/results-md.mjs');
  const file = writeResultsMd({ meta: { ...meta, wallSeconds: (performance.now() - started) / 1e3 }, peak: peakUsed, pageCost, reports });
  log(`wrote ${path.relative(ROOT, file)}`);
}
// A library that computed a wrong result makes its speed meaningless: the
// failed checks again, last, and a non-zero exit status.
const failed = runs.flatMap(({ name: s, result }) => (result.notes ?? []).filter((n) => n.startsWith('CHECK FAILED')).map((n) => `${s}: ${n}`));
if (failed.length) {
  console.log(`\n${failed.length} result check(s) FAILED; the speed figures of those libraries do not count:\n${failed.join('\n')}`);
  process.exitCode = 1;
}
log('done');
await watchdog.stop();
