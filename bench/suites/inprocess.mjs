// In-process suite: ntensor's GEMM engine and OpenBLAS's cblas_sgemm in one
// native process, timed call by call (bench/native/gemm-paired.cc, compiled
// here with ntensor's own kernel sources and g++ into bench/.build/; OpenBLAS
// loaded with dlopen, the same library numpy uses).
//
// The matmul suite times ntensor in Node and OpenBLAS in a Python child, in
// rounds; on a shared machine whose speed moves by 10–40 % within seconds,
// two medians of one round can still fall in different phases. Here every
// OpenBLAS call runs right next to an ntensor call on the same operands,
// into preallocated outputs, so the ratio of each pair compares the two
// GEMM engines and little else. It does not replace the matmul suite: what a
// Node user gets also includes the call from JS and the output's allocation.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { oneCorePeak } from '../lib/peak.mjs';
import { FORCED_CORE_DEFAULT, PYTHON, PythonPeer, childEnv, pythonAvailable } from '../lib/python.mjs';
import { fmt3, markdownTable, textTable, threadLabel } from '../lib/table.mjs';

export const name = 'inprocess';
export const description = 'fp32 GEMM C = A·B (A: M×K, B: K×N, preallocated C), ntensor\'s kernels against OpenBLAS\'s cblas_sgemm (cblas_sgemv for a matrix-vector shape, as numpy calls it) in one native process, call by call (and fp64 against cblas_dgemm at 1024)';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BUILD_DIR = `${ROOT}bench/.build/`;
const SOURCES = ['bench/native/gemm-paired.cc', 'native/gemm.cc', 'native/gemm_scalar.cc', 'native/gemm_avx2.cc', 'native/gemm_avx512.cc', 'native/threadpool.cc'];
const HEADERS = ['bench/peak/fma_loops.h', 'native/gemm.h', 'native/gemm_generic.inc', 'native/kernels.h', 'native/threadpool.h', 'native/transpose_avx512.inc'];
const DEFAULT_SHAPES = ['256', '512', '1024', '2048', '1x4096x4096', '4096x4096x1', '64x4096x64', '4096x64x4096'];

const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : -1);

/** Compiles gemm-paired with the addon's optimisation flags (never -march=native) unless the binary is newer than every source. */
function buildPaired() {
  const bin = `${BUILD_DIR}gemm-paired`;
  const newest = Math.max(...[...SOURCES, ...HEADERS].map((s) => mtime(ROOT + s)));
  if (mtime(bin) > newest) return bin;
  mkdirSync(BUILD_DIR, { recursive: true });
  execFileSync(process.env.CXX || 'g++', ['-O3', '-std=c++17', '-pthread', '-fvisibility=hidden', `-I${ROOT}native`, ...SOURCES.map((s) => ROOT + s), '-ldl', '-o', bin], { stdio: ['ignore', 'inherit', 'inherit'] });
  return bin;
}

/**
 * The OpenBLAS library to load: NTENSOR_BENCH_OPENBLAS, else the one numpy
 * loads (threadpoolctl, through the Python peer), else the first
 * libopenblas.so.0 that ldconfig knows. { path, via } or null.
 */
async function findOpenblas() {
  if (process.env.NTENSOR_BENCH_OPENBLAS) return { path: process.env.NTENSOR_BENCH_OPENBLAS, via: 'NTENSOR_BENCH_OPENBLAS' };
  if (pythonAvailable() === null) {
    const probe = new PythonPeer(childEnv({}, 1));
    try {
      const h = await probe.request({ op: 'hello', threads: 1, libs: ['numpy'] });
      const p = h.blas?.find((b) => b.internal_api === 'openblas')?.filepath;
      if (p && existsSync(p)) return { path: p, via: `the library numpy loads (${PYTHON}, threadpoolctl)` };
    } catch { /* fall through */ } finally {
      await probe.close();
    }
  }
  const ld = spawnSync('ldconfig', ['-p'], { encoding: 'utf8' });
  const line = (ld.stdout ?? '').split('\n').find((l) => /libopenblas[^ ]*\.so\.0 /.test(l) && l.includes('x86-64'));
  const p = line?.split('=>')[1]?.trim();
  return p && existsSync(p) ? { path: realpathSync(p), via: 'ldconfig -p' } : null;
}

/** Shapes "N" or "MxKxN" from --sizes, or the defaults. */
function shapesFrom(sizes) {
  const list = sizes ? sizes.split(',').map((s) => s.trim()).filter((s) => /^\d+(x\d+x\d+)?$/.test(s)) : DEFAULT_SHAPES;
  return list.length ? list : DEFAULT_SHAPES;
}

export async function run(ctx) {
  const { opts, log, cpu, threadSettings } = ctx;
  const notes = [];
  const result = { suite: name, description, threadSettings, openblas: null, ntensorIsa: null, rows: [], fp64: [], scaling: [], peak: [], notes };
  if (opts.libs && !opts.libs.includes('numpy') && !opts.libs.includes('openblas')) {
    notes.push('skipped: --libs names neither numpy nor openblas');
    return result;
  }
  const lib = await findOpenblas();
  if (!lib) {
    notes.push('skipped: no OpenBLAS found (Debian: libopenblas0-pthread; or set NTENSOR_BENCH_OPENBLAS to its path)');
    return result;
  }
  let bin;
  try {
    log('inprocess: compiling bench/native/gemm-paired.cc with ntensor\'s GEMM sources');
    bin = buildPaired();
  } catch (err) {
    notes.push(`skipped: could not compile bench/native/gemm-paired.cc (${err.message.split('\n')[0]})`);
    return result;
  }
  // OpenBLAS at its best here: an AVX-512 core forced on an AVX-512 CPU
  // unless the environment or --openblas-coretype says otherwise (as the
  // matmul suite's "·SkylakeX" columns).
  const env = { ...process.env };
  const ct = opts.openblasCoretype ?? 'auto';
  if (ct !== 'auto' && ct !== 'none') env.OPENBLAS_CORETYPE = ct;
  else if (ct === 'auto' && cpu.avx512f && !process.env.OPENBLAS_CORETYPE) env.OPENBLAS_CORETYPE = FORCED_CORE_DEFAULT;
  delete env.OPENBLAS_NUM_THREADS;
  delete env.OMP_NUM_THREADS;
  delete env.NTENSOR_NUM_THREADS;
  const quick = opts.quick;
  const shapes = shapesFrom(opts.sizes).filter((s) => !quick || !s.includes('x') || s === '64x4096x64');
  const lines = [];
  for (const t of threadSettings) {
    const scaling = t > 1 ? (quick ? ['1024'] : ['1024', '2048']) : [];
    // % of the FMA peak (issue 3's one-thread target sizes), each GEMM timed
    // beside a peak loop as long.
    const peakAt = t === 1 ? (quick ? ['1024'] : ['1024', '2048']) : [];
    log(`inprocess: ${threadLabel(t)}, ${shapes.join(', ')}; fp64 ÷ fp32 at 1024${scaling.length ? `; ${t} threads ÷ 1 at ${scaling.join(', ')}` : ''}${peakAt.length ? `; % of peak beside the FMA loop at ${peakAt.join(', ')}` : ''}`);
    const common = ['--openblas', lib.path, '--threads', String(t), '--ms', String((quick ? 300 : 800) * (t > 1 ? 2.5 : 1))];
    // fp32 at every shape with the ratio lines, then fp64 against
    // cblas_dgemm at 1024 (the issue's fp64 target size). A library without
    // the OpenBLAS entry points, a crash or a timeout is a note, not the end
    // of the whole bench; lines printed before it count.
    const runs = [
      [...common, '--shapes', shapes.join(','), '--fp64-ratio', '1024', ...(scaling.length ? ['--scaling', scaling.join(',')] : []),
        ...(peakAt.length ? ['--peak-ratio', peakAt.join(',')] : [])],
      [...common, '--shapes', '1024', '--dtypes', 'f64'],
    ];
    for (const a of runs) {
      let out;
      try {
        out = execFileSync(bin, a, { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
      } catch (err) {
        out = String(err.stdout ?? '');
        const why = String(err.stderr ?? '').trim().split('\n')[0] || err.message.split('\n')[0];
        notes.push(`${threadLabel(t)}: gemm-paired stopped early (${why})`);
      }
      for (const l of out.trim().split('\n')) {
        if (!l) continue;
        try {
          lines.push(JSON.parse(l));
        } catch {
          notes.push(`${threadLabel(t)}: unreadable line from gemm-paired: ${l.slice(0, 120)}`);
        }
      }
    }
  }
  const head = lines.find((l) => l.openblas);
  result.openblas = head ? { ...head.openblas, via: lib.via, coretypeEnv: env.OPENBLAS_CORETYPE ?? null } : null;
  result.ntensorIsa = head?.ntensorIsa ?? null;
  result.rows = lines.filter((l) => l.dtype);
  result.fp64 = lines.filter((l) => l.kind === 'fp64/fp32');
  result.scaling = lines.filter((l) => l.kind === 'scaling');
  result.peak = lines.filter((l) => l.kind === 'peak');
  for (const r of result.rows) {
    if (!(r.maxRelDiff <= 1e-4)) notes.push(`CHECK FAILED: ${shapeLabel(r)} at ${threadLabel(r.threads)}: the two results differ by ${r.maxRelDiff} of max |C|`);
  }
  return result;
}

const shapeLabel = (r) => `${r.m === r.k && r.k === r.n ? `n=${r.n}` : `${r.m}×${r.k}×${r.n}`}${r.dtype === 'float64' ? ', fp64 (dgemm)' : ''}`;


function tables(result, peak) {
  const pk = oneCorePeak(peak)?.perCore ?? null;
  const out = [];
  for (const t of result.threadSettings) {
    const rows = result.rows.filter((r) => r.threads === t);
    if (!rows.length) continue;
    const headers = ['shape', 'ntensor', ...(pk ? ['% peak'] : []), 'OpenBLAS', 'ntensor ÷ OpenBLAS, paired', 'pairs'];
    out.push({
      threads: t,
      headers,
      rows: rows.map((r) => [
        shapeLabel(r),
        `${fmt3(r.ntensor.median)} (${fmt3(r.ntensor.best)})`,
        // fp64: half the fp32 FMA peak (half the lanes per vector).
        ...(pk ? [`${((100 * r.ntensor.median) / ((r.dtype === 'float64' ? pk / 2 : pk) * t)).toFixed(1)}%`] : []),
        `${fmt3(r.openblas.median)} (${fmt3(r.openblas.best)})`,
        `${fmt3(r.ratio.median)}× [${fmt3(r.ratio.q1)}–${fmt3(r.ratio.q3)}]`,
        String(r.pairs),
      ]),
    });
  }
  return out;
}

const INTRO = 'Cells are GFLOP/s at the median time (best in parentheses); the ratio is the median [quartiles] over the pairs of OpenBLAS time ÷ ntensor time for two calls made back to back (> 1: ntensor is faster); at more than one thread each call starts once the other library\'s threads have gone idle (OpenBLAS\'s spin ~125 ms after a call).';

/** The fp64 ÷ fp32, threads ÷ one-thread and % of peak lines: each library's median [quartiles] over steps of four (three) calls. */
function ratioLines(result) {
  const both = (r) => `ntensor ${fmt3(r.ntensor.median)} [${fmt3(r.ntensor.q1)}–${fmt3(r.ntensor.q3)}], OpenBLAS ${fmt3(r.openblas.median)} [${fmt3(r.openblas.q1)}–${fmt3(r.openblas.q3)}]`;
  const pct = (x) => `${(100 * x.median).toFixed(1)}% [${(100 * x.q1).toFixed(1)}–${(100 * x.q3).toFixed(1)}]`;
  return [
    ...result.fp64.map((r) => `fp64 ÷ fp32 GFLOP/s at ${shapeLabel(r)}, ${threadLabel(r.threads)} (${r.pairs} steps of four calls): ${both(r)}`),
    ...(result.scaling ?? []).map((r) => `${r.threads} threads ÷ 1 thread, GFLOP/s at ${shapeLabel(r)} (${r.pairs} steps of four calls): ${both(r)}`),
    ...(result.peak ?? []).map((r) => `% of the ${r.isa} FMA peak at ${shapeLabel(r)}, 1 thread, each call beside a peak loop as long (${r.pairs} steps of three calls; the loop's median ${fmt3(r.peakGflops)} GFLOP/s): ntensor ${pct(r.ntensor)}, OpenBLAS ${pct(r.openblas)}`),
  ];
}

function libLine(result) {
  const o = result.openblas;
  if (!o) return null;
  return `OpenBLAS: ${o.config ?? '?'}, core ${o.core ?? '?'} (OPENBLAS_CORETYPE=${o.coretypeEnv ?? 'unset'}), ${o.path} (${o.via}); ntensor ISA ${result.ntensorIsa}`;
}

export function reportText(result, { peak }) {
  const out = [`== inprocess: ${result.description}`];
  const l = libLine(result);
  if (l) out.push(l, INTRO);
  for (const tb of tables(result, peak)) out.push('', `-- ${threadLabel(tb.threads)}`, textTable(tb.headers, tb.rows));
  const f = ratioLines(result);
  if (f.length) out.push('', ...f);
  out.push(...result.notes);
  return out.join('\n');
}

export function reportMarkdown(result, { peak }) {
  const out = ['### In one process: ntensor\'s GEMM and OpenBLAS, call by call', '', `Measured: ${description} (\`bench/native/gemm-paired.cc\`, built by the bench from ntensor's own kernel sources). ${INTRO}`, ''];
  const l = libLine(result);
  if (l) out.push(`- ${l}`, '');
  for (const tb of tables(result, peak)) out.push(`#### ${threadLabel(tb.threads)}`, '', markdownTable(tb.headers, tb.rows), '');
  const f = ratioLines(result);
  if (f.length) out.push(...f.map((x) => `- ${x}`), '');
  if (result.notes.length) out.push(...result.notes.map((n) => `- ${n}`), '');
  return out.join('\n');
}
