// Matmul suite: ntensor's public matmul against a plain-JS triple loop,
// onnxruntime-node (a one-node MatMul model written by bench/lib/onnx.mjs),
// and numpy / PyTorch in long-lived Python children under each OpenBLAS
// configuration; at 1 thread and at all cores. Plus the d2l §6.4 seed at its
// own sizes, µs per call from each host language. Unless --no-out: the same
// products into one preallocated output per shape ("steady state"), for every
// library that can write into an existing output (ntensor's { out } option once
// the build has it, onnxruntime-node's pre-allocated fetches, numpy's and
// torch's out=), square n ≥ 256, the other shapes and d2l's 2×3·3×9.
import { createRequire } from 'node:module';
import path from 'node:path';

import * as nt from 'ntensor';

import { ROOT } from '../lib/machine.mjs';
import { d2lSeedSteps } from '../lib/d2l-seed.mjs';
import { matmulModel } from '../lib/onnx.mjs';
import { oneCorePeak } from '../lib/peak.mjs';
import { checkNtOut, checkOrtOut } from '../lib/preallocated.mjs';
import { productError, productTolerance } from '../lib/checks.mjs';
import { PythonPeer, childEnv, openblasConfigs, pythonAvailable } from '../lib/python.mjs';
import { lineChart } from '../lib/svg.mjs';
import { PAIRED_INTRO, fmt3, markdownTable, pairedTable, preallocatedMarkdown, textTable, threadLabel as tLabel } from '../lib/table.mjs';
import { DEFAULT_ROUNDS, SETTLE_MS, asyncParticipant, interleave, syncParticipant, timeAsync, timeSync } from '../lib/timing.mjs';

export const name = 'matmul';
export const description = 'fp32 matmul C = A·B (A: M×K, B: K×N), GFLOP/s = 2·M·N·K / t';

export const SQUARE = [16, 32, 64, 128, 256, 512, 1024, 2048];
export const RECT = [[1, 4096, 4096], [4096, 4096, 1], [64, 4096, 64], [4096, 64, 4096]];
export const QUICK_SQUARE = [16, 32, 64, 128, 256, 512, 1024];
export const JS_MAX_N = 256;
const D2L = [2, 3, 9]; // (2×3)·(3×9): d2l's 1x1 convolution as a matmul
/** Square sizes from this n up get preallocated-output rows (below it the fresh output costs little). */
export const OUT_MIN_N = 256;

export const shapeKey = ([m, k, n]) => (m === k && k === n ? `n=${n}` : `${m}×${k}×${n}`);
const gflops = ([m, k, n], s) => (2 * m * k * n) / s / 1e9;

/** --sizes 16,64,1x4096x4096 → shapes; a bare number is square. */
export function parseSizes(spec) {
  return spec.split(',').filter(Boolean).map((tok) => {
    const parts = tok.toLowerCase().split(/[x×]/).map(Number);
    if (parts.length === 1 && parts[0] > 0) return [parts[0], parts[0], parts[0]];
    if (parts.length === 3 && parts.every((p) => Number.isInteger(p) && p > 0)) return parts;
    throw new RangeError(`--sizes: '${tok}' is neither N nor MxKxN`);
  });
}

// ---------------------------------------------------------------- the peers

/** The plain-JS reference: i-k-j triple loop on Float32Arrays (row-major, streams B and C rows). */
export function jsMatmul(a, b, m, k, n) {
  const c = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    const ci = i * n;
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p];
      const bp = p * n;
      for (let j = 0; j < n; j++) c[ci + j] += aip * b[bp + j];
    }
  }
  return c;
}

function maxRelDiff(x, y) {
  let d = 0, s = 0;
  for (let i = 0; i < x.length; i++) {
    d = Math.max(d, Math.abs(x[i] - y[i]));
    s = Math.max(s, Math.abs(y[i]));
  }
  return d / (s || 1);
}

/**
 * How to set ntensor's thread count: its public setNumThreads when exported;
 * else the native binding's, if the build has one and it is the instance the
 * library uses (checked through backendInfo().threads); else null.
 */
function threadControl() {
  if (typeof nt.setNumThreads === 'function') {
    return { via: 'ntensor', set: (n) => nt.setNumThreads(n), get: () => (typeof nt.getNumThreads === 'function' ? nt.getNumThreads() : nt.backendInfo().threads) };
  }
  try {
    const req = createRequire(path.join(ROOT, 'package.json'));
    const binding = process.env.NTENSOR_NATIVE_PATH ? req(process.env.NTENSOR_NATIVE_PATH) : req('node-gyp-build')(ROOT);
    if (typeof binding.setNumThreads !== 'function' || typeof binding.getNumThreads !== 'function') return null;
    const before = binding.getNumThreads();
    const probe = before === 1 ? 2 : 1;
    binding.setNumThreads(probe);
    const same = nt.backendInfo().threads === probe;
    binding.setNumThreads(before);
    if (!same) return null;
    return { via: 'the native binding (the package does not export setNumThreads yet)', set: (n) => binding.setNumThreads(n), get: () => binding.getNumThreads() };
  } catch {
    return null;
  }
}

export async function loadOrt() {
  try {
    const mod = await import('onnxruntime-node');
    return { ort: mod.default ?? mod, error: null };
  } catch (err) {
    return { ort: null, error: `onnxruntime-node is not installed or does not load (${err.message.split('\n')[0]}); install it with ONNXRUNTIME_NODE_INSTALL=skip npm install` };
  }
}

export async function ortSession(ort, [m, k, n], threads) {
  return ort.InferenceSession.create(matmulModel(m, k, n), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
}

// ---------------------------------------------------------------- the run

export async function run(ctx) {
  const { opts, plan, threadSettings, cpu, log } = ctx;
  const shapes = opts.sizes ? parseSizes(opts.sizes) : [...(opts.quick ? QUICK_SQUARE : SQUARE).map((s) => [s, s, s]), ...RECT];
  const want = (lib) => !opts.libs || opts.libs.includes(lib);
  const notes = [];
  const skipped = {};
  const series = {}; // seriesId -> { label, lib, config?, threads -> { shapeKey -> timing } }
  const record = (id, meta, threads, shape, t, threadsUsed) => {
    series[id] ??= { ...meta, byThreads: {} };
    (series[id].byThreads[threads] ??= {})[shapeKey(shape)] = {
      shape, ...t, gflopsMedian: gflops(shape, t.median), gflopsBest: gflops(shape, t.min), threadsUsed,
    };
  };

  // Inputs: one pair per shape, shared by every JS-side library.
  nt.manualSeed(0);
  // Preallocated outputs: one output per shape and library, written by every call.
  const outShapes = [];
  if (opts.out) {
    for (const s of [...shapes, ...(opts.d2l ? [D2L] : [])]) {
      const [m, k, n] = s;
      if ((m !== k || k !== n || n >= OUT_MIN_N) && !outShapes.some((o) => shapeKey(o) === shapeKey(s))) outShapes.push(s);
    }
  }
  const outSeries = {};
  const outNotes = [];
  const recordOut = (id, meta, threads, shape, t, threadsUsed) => {
    outSeries[id] ??= { ...meta, byThreads: {} };
    (outSeries[id].byThreads[threads] ??= {})[shapeKey(shape)] = {
      shape, ...t, gflopsMedian: gflops(shape, t.median), gflopsBest: gflops(shape, t.min), threadsUsed,
    };
  };
  let ntOutSkip = null; // why ntensor·out is not measured, once known
  let ortOutSkip = null;
  let ortReturnsCopy = null;

  const inputs = new Map();
  const inputsFor = (shape) => {
    const key = shapeKey(shape);
    if (!inputs.has(key)) inputs.set(key, [nt.normal(0, 1, [shape[0], shape[1]]), nt.normal(0, 1, [shape[1], shape[2]])]);
    return inputs.get(key);
  };

  const threadCtl = threadControl();
  const canThread = threadCtl !== null;
  const ntDefaultThreads = threadCtl ? threadCtl.get() : (nt.backendInfo().threads ?? 1);
  if (!want('ntensor')) { /* nothing to say about ntensor's threads */ } else if (!canThread) notes.push(`ntensor at this commit has no setNumThreads: it runs its own default (${ntDefaultThreads} thread${ntDefaultThreads === 1 ? '' : 's'}) in every column; its %peak uses that count.`);
  else if (threadCtl.via !== 'ntensor') notes.push(`ntensor's thread count was set through ${threadCtl.via}.`);
  const { ort, error: ortError } = want('ort') ? await loadOrt() : { ort: null, error: null };
  if (ortError) skipped.ort = ortError;
  const pyError = want('numpy') || want('torch') ? pythonAvailable() : null;
  if (pyError) skipped.python = pyError;
  let blas = { configs: [], notes: [] };
  if (!pyError && (want('numpy') || want('torch'))) {
    blas = await openblasConfigs({ cpu, coretype: opts.openblasCoretype });
    notes.push(...blas.notes);
  }
  const pyInfo = {};

  // Sanity: every JS-side peer computes the same product: at n = 64 against
  // the JS loop, and at every benchmarked shape by a random vector
  // (productError), ntensor on each thread setting. (numpy and PyTorch make
  // their own inputs in their process and check their results there by the
  // same measure, peer.py's matmul_error: below, with the timings.)
  const checks = {};
  {
    const [A, B] = inputsFor([64, 64, 64]);
    const ref = jsMatmul(A.data, B.data, 64, 64, 64);
    checks.ntensor = maxRelDiff(nt.matmul(A, B).data, ref);
    if (ort) {
      const s = await ortSession(ort, [64, 64, 64], 1);
      const r = await s.run({ A: new ort.Tensor('float32', A.data, [64, 64]), B: new ort.Tensor('float32', B.data, [64, 64]) });
      checks.ort = maxRelDiff(r.Y.data, ref);
      await s.release();
    }
    for (const [lib, d] of Object.entries(checks)) if (!(d < 1e-4)) notes.push(`CHECK FAILED: ${lib} differs from the JS loop at n=64 by ${d} (relative to max |C|)`);
    checks.shapes = {};
    for (const shape of shapes) {
      const [m, k, n] = shape;
      const [A2, B2] = inputsFor(shape);
      const got = {};
      for (const t of threadSettings) {
        if (canThread) threadCtl.set(t);
        got[`ntensor ${t}T`] = productError(A2.data, B2.data, nt.matmul(A2, B2).data, m, k, n);
      }
      if (canThread) threadCtl.set(ntDefaultThreads);
      if (ort) {
        const s = await ortSession(ort, shape, 1);
        const r = await s.run({ A: new ort.Tensor('float32', A2.data, [m, k]), B: new ort.Tensor('float32', B2.data, [k, n]) });
        got.ort = productError(A2.data, B2.data, r.Y.data, m, k, n);
        await s.release();
      }
      checks.shapes[shapeKey(shape)] = got;
      for (const [lib, d] of Object.entries(got)) if (!(d < productTolerance(k))) notes.push(`CHECK FAILED: ${lib} is off the product at ${shapeKey(shape)} by ${d} (random-vector check, relative to |A||B||v|; a correct float32 product is within ${productTolerance(k).toExponential(1)})`);
    }
  }

  // Interleaved: for each thread setting and shape, every library back to back
  // in `rounds` rounds (bench/lib/timing.mjs, interleave), the order rotated
  // from round to round, so a slow phase of the machine hits all of them.
  const rounds = opts.rounds ?? DEFAULT_ROUNDS;
  const cases = [...shapes];
  for (const s of outShapes) if (!cases.some((c) => shapeKey(c) === shapeKey(s))) cases.push(s);
  const isFresh = (s) => shapes.some((c) => shapeKey(c) === shapeKey(s));
  const isOut = (s) => outShapes.some((c) => shapeKey(c) === shapeKey(s));
  for (const threads of threadSettings) {
    const tLabel = `${threads} thread${threads === 1 ? '' : 's'}`;
    const used = canThread ? threads : ntDefaultThreads;
    if (want('ntensor') && canThread) threadCtl.set(threads);
    // numpy and PyTorch: one child per OpenBLAS configuration, alive for the whole shape loop
    const peers = [];
    for (const cfg of blas.configs) {
      const peer = new PythonPeer(childEnv(cfg.env, threads));
      try {
        const hello = await peer.request({ op: 'hello', threads, libs: want('torch') ? ['numpy', 'torch'] : ['numpy'] });
        (pyInfo[cfg.id] ??= {})[threads] = hello;
        for (const [lib, why] of Object.entries(hello.skipped ?? {})) skipped[lib] = `not importable by /usr/bin/python3: ${why}`;
        const libs = ['numpy', 'torch'].filter((lib) => want(lib) && hello[lib]);
        // dropped: the series ids a failed request took out for the rest of this thread setting
        peers.push({ cfg, peer, libs, dropped: new Set() });
      } catch (err) {
        notes.push(`python peer (${cfg.id}, ${tLabel}) failed: ${err.message}`);
        await peer.close();
      }
    }
    for (const shape of cases) {
      const key = shapeKey(shape);
      const [A, B] = inputsFor(shape);
      const [m, k, n] = shape;
      const parts = [];
      const done = []; // id → (timing) => record
      const add = (p, onResult) => {
        parts.push(p);
        done.push([p.id, onResult]);
      };
      if (want('ntensor') && isFresh(shape)) {
        add(syncParticipant('ntensor', () => nt.matmul(A, B), 'node'), (t) => record('ntensor', { label: 'ntensor', lib: 'ntensor' }, threads, shape, t, used));
      }
      if (want('ntensor') && isOut(shape) && !ntOutSkip) {
        const chk = checkNtOut((C) => nt.matmul(A, B, { out: C }), () => nt.matmul(A, B), (s) => nt.zeros(s));
        if (!chk.ok) ntOutSkip = `${key}: ${chk.reason}`;
        else {
          const o = { out: chk.out };
          add(syncParticipant('ntensor·out', () => nt.matmul(A, B, o), 'node'), (t) => recordOut('ntensor·out', { label: 'ntensor·out', lib: 'ntensor' }, threads, shape, t, used));
        }
      }
      // plain JS: single-threaded by nature, so measured once (in the first thread setting) and only for small sizes
      if (want('js') && threads === threadSettings[0] && isFresh(shape) && Math.max(...shape) <= JS_MAX_N) {
        add(syncParticipant('js', () => jsMatmul(A.data, B.data, m, k, n), 'node'), (t) => record('js', { label: 'plain JS (i-k-j loop)', lib: 'js' }, threads, shape, t, 1));
      }
      // onnxruntime-node: one session per shape and thread setting, for the fresh and the preallocated runs
      let session = null;
      if (ort && (isFresh(shape) || (isOut(shape) && !ortOutSkip))) {
        session = await ortSession(ort, shape, threads);
        const feeds = { A: new ort.Tensor('float32', A.data, [m, k]), B: new ort.Tensor('float32', B.data, [k, n]) };
        if (isFresh(shape)) add(asyncParticipant('ort', () => session.run(feeds), 'ort'), (t) => record('ort', { label: 'onnxruntime-node', lib: 'ort' }, threads, shape, t, threads));
        if (isOut(shape) && !ortOutSkip) {
          const ref = (await session.run(feeds)).Y.data;
          const chk = await checkOrtOut(ort, session, feeds, 'Y', [m, n], ref);
          if (!chk.ok) ortOutSkip = `${key}: ${chk.reason}`;
          else {
            ortReturnsCopy ||= chk.returnsCopy;
            add(asyncParticipant('ort·out', () => session.run(feeds, chk.fetches), 'ort'), (t) => recordOut('ort·out', { label: 'onnxruntime-node·out', lib: 'ort' }, threads, shape, t, threads));
          }
        }
      }
      for (const py of peers) {
        for (const lib of py.libs) {
          for (const out of [false, true]) {
            if (out ? !isOut(shape) : !isFresh(shape)) continue;
            const id = `${lib}·${py.cfg.id}${out ? '·out' : ''}`;
            if (py.dropped.has(id)) continue;
            const p = {
              id,
              group: `python ${py.cfg.id}`,
              round: async (rp) => {
                const r = await py.peer.request({ op: 'time', kind: 'matmul', lib, shape, out, plan: rp });
                // the child's own random-vector check of its result (peer.py, matmul_error)
                if (typeof r.check === 'number') pyChecks.set(`${id} ${threads}T`, r.check);
                return r;
              },
              onError: (err) => {
                py.dropped.add(id);
                (out ? outNotes : notes).push(`${id} (${tLabel}) not measured from ${key} on: ${err.message}`);
              },
            };
            const meta = { label: id, lib, config: py.cfg.id };
            add(p, (t) => (out ? recordOut : record)(id, meta, threads, shape, t, threads));
          }
        }
      }
      const pyChecks = new Map();
      const res = await interleave(parts, plan, rounds, {
        settleMs: threads > 1 ? SETTLE_MS : 0,
        onRound: (r, order) => log(`matmul ${tLabel}: ${key}, round ${r + 1}/${rounds}: ${order.join(', ')}`),
      });
      for (const [lib, d] of pyChecks) {
        (checks.shapes[key] ??= {})[lib] = d;
        if (!(d < productTolerance(k))) notes.push(`CHECK FAILED: ${lib} is off the product at ${key} by ${d} (random-vector check in its own process, relative to |A||B||v|; a correct float32 product is within ${productTolerance(k).toExponential(1)})`);
      }
      for (const [id, onResult] of done) if (res.has(id)) onResult(res.get(id));
      if (session) await session.release();
      for (const py of peers) await py.peer.request({ op: 'forget' }).catch(() => {});
    }
    if (want('ntensor') && canThread) threadCtl.set(ntDefaultThreads);
    for (const { cfg, peer } of peers) {
      try {
        if (opts.d2l && threads === threadSettings[0] && cfg === blas.configs[0]) {
          log('d2l: numpy and PyTorch');
          const r = await peer.request({ op: 'd2l', plan });
          ctx.scratch.pyD2l = r;
        }
      } catch (err) {
        notes.push(`python peer (${cfg.id}, ${tLabel}) failed: ${err.message}`);
      } finally {
        await peer.close();
      }
    }
  }

  // d2l §6.4 at its own sizes, at the first thread setting (as the Python peers ran it).
  let d2l = null;
  if (opts.d2l) {
    log('d2l: ntensor, plain JS, onnxruntime-node');
    if (canThread) threadCtl.set(threadSettings[0]);
    d2l = { ntensor: {}, js: {}, ort: {}, ...ctx.scratch.pyD2l };
    delete d2l.ok;
    const { inputs: { K2, X2 }, steps } = d2lSeedSteps(nt);
    for (const [name, fn] of Object.entries(steps)) d2l.ntensor[name] = timeSync(fn, plan);
    const [m, k, n] = D2L;
    d2l.js.matmul = timeSync(() => jsMatmul(K2.data, X2.data, m, k, n), plan);
    if (ort) {
      const session = await ortSession(ort, D2L, threadSettings[0]);
      const feeds = { A: new ort.Tensor('float32', K2.data, [m, k]), B: new ort.Tensor('float32', X2.data, [k, n]) };
      d2l.ort.matmul = await timeAsync(() => session.run(feeds), plan);
      await session.release();
    }
    if (canThread) threadCtl.set(ntDefaultThreads);
    d2l.threads = threadSettings[0];
  }

  const firstHello = Object.values(pyInfo).flatMap((byT) => Object.values(byT))[0];
  const openblas = firstHello?.blas?.find((b) => b.internal_api === 'openblas');
  const versions = {
    'onnxruntime-node': ort ? (ort.env?.versions?.node ?? null) : null,
    python: firstHello?.python ?? null,
    numpy: firstHello?.numpy ?? null,
    torch: firstHello?.torch ?? null,
    threadpoolctl: firstHello?.threadpoolctl ?? null,
    OpenBLAS: openblas ? `${openblas.version} (${openblas.threading_layer}, ${openblas.filepath})` : null,
  };

  let preallocated = null;
  if (opts.out) {
    if (want('ntensor') && ntOutSkip) outNotes.push(`ntensor·out not measured: nt.matmul(a, b, { out }) at ${ntOutSkip}.`);
    if (ort && ortOutSkip) outNotes.push(`onnxruntime-node·out not measured: ${ortOutSkip}.`);
    if (ortReturnsCopy) outNotes.push('onnxruntime-node writes into the pre-allocated Float32Array (checked after a run), but run() still hands back the result as a copy in a new ArrayBuffer, so each onnxruntime·out call also allocates and fills an output-sized buffer.');
    preallocated = {
      description: 'ntensor: matmul(a, b, { out }); onnxruntime-node: session.run(feeds, { Y: preallocated }); numpy: np.matmul(a, b, out=c); torch: torch.matmul(a, b, out=c)',
      shapes: outShapes.map(shapeKey),
      series: outSeries,
      ntensorSupported: want('ntensor') ? !ntOutSkip : null,
      ortWritesInto: ort ? !ortOutSkip : null,
      ortReturnsCopy,
      notes: outNotes,
    };
  }

  return {
    suite: name,
    description,
    versions,
    shapes: shapes.map(shapeKey),
    threadSettings,
    series,
    d2l,
    preallocated,
    checks,
    ntensor: { canSetThreads: canThread, threadsVia: threadCtl?.via ?? null, defaultThreads: ntDefaultThreads, backend: nt.backendInfo() },
    python: { configs: blas.configs.map(({ id, label, env }) => ({ id, label, env })), detectedCore: blas.detected ?? null, info: pyInfo },
    skipped,
    notes,
  };
}

// ---------------------------------------------------------------- reporting

const SERIES_ORDER = (id) => (id === 'ntensor' ? 0 : id === 'js' ? 1 : id === 'ort' ? 2 : id.startsWith('numpy') ? 3 : 4);
const SHORT = { ntensor: 'ntensor', js: 'plain JS', ort: 'onnxruntime' };
const colName = (id) => SHORT[id] ?? id;

function peakFor(peak, threads) {
  const p = oneCorePeak(peak);
  return p ? { isa: p.isa, perCore: p.perCore, total: p.perCore * threads } : null;
}

/** Rows for one thread setting: GFLOP/s "median (best)", ntensor % of peak, and ntensor ÷ each peer. */
function tablesFor(result, threads, peak) {
  const ids = Object.keys(result.series).filter((id) => result.series[id].byThreads[threads]).sort((a, b) => SERIES_ORDER(a) - SERIES_ORDER(b));
  const peers = ids.filter((id) => id !== 'ntensor');
  const hasNt = ids.includes('ntensor');
  const pk = peakFor(peak, 1);
  const ntUsed = hasNt ? Object.values(result.series.ntensor.byThreads[threads])[0]?.threadsUsed : null;
  const ntName = ntUsed && ntUsed !== threads ? `ntensor (${ntUsed} thr)` : 'ntensor';
  const headers = ['shape', ...ids.flatMap((id) => (id === 'ntensor' ? (pk ? [ntName, '% peak'] : [ntName]) : [colName(id)]))];
  const rows = [];
  const ratioRows = [];
  for (const key of result.shapes) {
    const row = [key];
    for (const id of ids) {
      const e = result.series[id].byThreads[threads]?.[key];
      row.push(e ? `${fmt3(e.gflopsMedian)} (${fmt3(e.gflopsBest)})` : '—');
      if (id === 'ntensor' && pk) row.push(e ? `${fmt3((100 * e.gflopsMedian) / (pk.perCore * e.threadsUsed))}%` : '—');
    }
    rows.push(row);
    if (hasNt) {
      const ntE = result.series.ntensor.byThreads[threads]?.[key];
      ratioRows.push([key, ...peers.map((id) => {
        const e = result.series[id].byThreads[threads]?.[key];
        return ntE && e ? `${fmt3(ntE.gflopsMedian / e.gflopsMedian)}×` : '—';
      })]);
    }
  }
  return {
    gflops: { headers, rows },
    ratios: hasNt && peers.length ? { headers: ['shape', ...peers.map((id) => `÷ ${colName(id)}`)], rows: ratioRows } : null,
    paired: hasNt && peers.length
      ? pairedTable(result.shapes, (k) => k, 'ntensor', peers.map((id) => [id, colName(id)]), (id, k) => result.series[id].byThreads[threads]?.[k])
      : null,
  };
}

const D2L_KEY = shapeKey(D2L);
const OUT_ORDER = (id) => SERIES_ORDER(id.replace(/·out$/, ''));
const outColName = (id) => `${colName(id.replace(/·out$/, ''))}·out`;

/**
 * The preallocated-output rows for one thread setting: cells GFLOP/s "median (best)"
 * (d2l's 2×3·3×9 in µs per call), then ntensor·out ÷ each peer·out and ntensor's
 * fresh-output time ÷ its preallocated one.
 */
function outTablesFor(result, threads) {
  const pre = result.preallocated;
  if (!pre) return null;
  const ids = Object.keys(pre.series).filter((id) => pre.series[id].byThreads[threads]).sort((a, b) => OUT_ORDER(a) - OUT_ORDER(b));
  if (!ids.length) return null;
  const hasNt = ids.includes('ntensor·out');
  const peers = ids.filter((id) => id !== 'ntensor·out');
  const label = (key) => (key === D2L_KEY ? 'd2l 2×3·3×9 (µs)' : key);
  const cell = (key, e) => (!e ? '—' : key === D2L_KEY ? `${fmt3(e.median * 1e6)} (${fmt3(e.min * 1e6)})` : `${fmt3(e.gflopsMedian)} (${fmt3(e.gflopsBest)})`);
  const fresh = (key) => result.series.ntensor?.byThreads[threads]?.[key] ?? (key === D2L_KEY && result.d2l?.threads === threads ? result.d2l.ntensor?.matmul : undefined);
  const rows = [];
  const ratioRows = [];
  for (const key of pre.shapes) {
    rows.push([label(key), ...ids.map((id) => cell(key, pre.series[id].byThreads[threads]?.[key]))]);
    if (hasNt) {
      const ntE = pre.series['ntensor·out'].byThreads[threads]?.[key];
      const f = fresh(key);
      ratioRows.push([label(key).replace(' (µs)', ''), ...peers.map((id) => {
        const e = pre.series[id].byThreads[threads]?.[key];
        return ntE && e ? `${fmt3(e.median / ntE.median)}×` : '—';
      }), ntE && f ? `${fmt3(f.median / ntE.median)}×` : '—']);
    }
  }
  return {
    gflops: { headers: ['shape', ...ids.map(outColName)], rows },
    ratios: hasNt ? { headers: ['shape', ...peers.map((id) => `÷ ${outColName(id)}`), 'ntensor fresh ÷ out'], rows: ratioRows } : null,
    paired: hasNt && peers.length
      ? pairedTable(pre.shapes, (k) => label(k).replace(' (µs)', ''), 'ntensor·out', peers.map((id) => [id, outColName(id)]), (id, k) => pre.series[id].byThreads[threads]?.[k])
      : null,
  };
}

const OUT_INTRO = 'every call writes into one output allocated before timing (the same memory each call), so no call pays for fresh output pages';
const OUT_RATIOS = 'ntensor·out ÷ peer·out (median time of peer ÷ ntensor; > 1 means ntensor is faster); "ntensor fresh ÷ out": ntensor\'s fresh-output median ÷ its preallocated one';

const D2L_ROWS = [
  ['matmul', '(2×3)·(3×9) matmul'],
  ['normal', 'normal: X 3×3×3 and K 2×3×1×1'],
  ['oneByOne', 'corr2d_multi_in_out_1x1 (reshape·matmul·reshape)'],
  ['corr', 'corr2d_multi_in_out (cross-correlation)'],
  ['sub', 'Y1 − Y2'],
  ['abs', 'abs'],
  ['sum', 'sum'],
  ['item', 'item / float()'],
  ['seed', 'whole seed: normal … item, compared with 1e-6'],
];

function d2lTable(d2l) {
  const cols = [['ntensor', 'ntensor'], ['torch', 'PyTorch'], ['numpy', 'numpy'], ['js', 'plain JS'], ['ort', 'onnxruntime']].filter(([k]) => d2l[k] && Object.keys(d2l[k]).length);
  const us = (t) => (t ? fmt3(t.median * 1e6) : '—');
  // Not paired: each library's d2l steps run in its own stretch of time (the
  // Python peers before the suite's rounds, ntensor after them).
  const headers = ['µs per call (median)', ...cols.map(([, l]) => l), ...(d2l.torch && d2l.ntensor ? ['PyTorch ÷ ntensor (unpaired)'] : [])];
  const rows = D2L_ROWS.filter(([k]) => cols.some(([c]) => d2l[c]?.[k])).map(([k, label]) => {
    const row = [label, ...cols.map(([c]) => us(d2l[c]?.[k]))];
    if (d2l.torch && d2l.ntensor) row.push(d2l.torch[k] && d2l.ntensor[k] ? `${fmt3(d2l.torch[k].median / d2l.ntensor[k].median)}×` : '—');
    return row;
  });
  return { headers, rows };
}

function legendLines(result) {
  const lines = [];
  const worst = {};
  for (const got of Object.values(result.checks?.shapes ?? {})) {
    for (const [lib, d] of Object.entries(got)) worst[lib] = Math.max(worst[lib] ?? 0, d);
  }
  const n = Object.keys(result.checks?.shapes ?? {}).length;
  if (n) lines.push(`Checked at all ${n} shapes by a random vector (max |C v - A (B v)| over max |A| (|B| |v|); a correct float32 product of depth k is within k·2⁻²⁴; numpy and PyTorch in their own process), worst case: ${Object.entries(worst).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', ')}.`);
  for (const c of result.python.configs) lines.push(`·${c.id} = ${c.label}`);
  for (const [cid, byT] of Object.entries(result.python.info)) {
    for (const [t, h] of Object.entries(byT)) {
      const ob = h.blas?.find((b) => b.internal_api === 'openblas');
      if (ob) lines.push(`  ${cid}, ${t} thr: OpenBLAS ${ob.version} core ${ob.architecture}, ${ob.num_threads} thread(s), ${ob.threading_layer}` + (h.torchThreads ? `; torch.get_num_threads() = ${h.torchThreads}` : ''));
    }
  }
  return lines;
}

function peakLines(peak, contention = []) {
  if (!peak?.length) return ['fp32 FMA peak: not measured'];
  const lines = peak.filter((p) => p.supported).map((p) => `fp32 FMA peak, ${p.isa}, ${p.threads} thread${p.threads === 1 ? '' : 's'}: ${fmt3(p.gflops)} GFLOP/s (${fmt3(p.perCore)} per core)${p.when ? `, measured ${p.when} the suites (the higher of the two)` : ''}`);
  lines.push(...contention);
  return lines;
}


export function reportText(result, { peak, contention }) {
  const out = [];
  out.push(`== matmul: ${result.description}`);
  out.push(...peakLines(peak, contention));
  for (const t of result.threadSettings) {
    const tb = tablesFor(result, t, peak);
    out.push('', `-- ${tLabel(t)}: GFLOP/s, median (best); % peak = ntensor median ÷ (AVX-512 peak per core × threads ntensor used)`);
    out.push(textTable(tb.gflops.headers, tb.gflops.rows));
    if (tb.ratios) {
      out.push('', `-- ${tLabel(t)}: ntensor ÷ peer (median GFLOP/s; > 1 means ntensor is faster)`);
      out.push(textTable(tb.ratios.headers, tb.ratios.rows));
    }
    if (tb.paired) out.push('', `-- ${tLabel(t)}: ${PAIRED_INTRO}`, textTable(tb.paired.headers, tb.paired.rows));
  }
  if (result.preallocated) {
    for (const t of result.threadSettings) {
      const ot = outTablesFor(result, t);
      if (!ot) continue;
      out.push('', `-- ${tLabel(t)}, preallocated outputs (steady state): ${OUT_INTRO}; GFLOP/s, median (best)`);
      out.push(textTable(ot.gflops.headers, ot.gflops.rows));
      if (ot.ratios) {
        out.push('', `-- ${tLabel(t)}, preallocated outputs: ${OUT_RATIOS}`);
        out.push(textTable(ot.ratios.headers, ot.ratios.rows));
      }
      if (ot.paired) out.push('', `-- ${tLabel(t)}, preallocated outputs: ${PAIRED_INTRO}`, textTable(ot.paired.headers, ot.paired.rows));
    }
    if (result.preallocated.notes.length) out.push('', ...result.preallocated.notes.map((n) => `note (preallocated): ${n}`));
  }
  if (result.d2l) {
    out.push('', `-- d2l §6.4 seed sizes, ${tLabel(result.d2l.threads)}, µs per call from each host language`);
    const d = d2lTable(result.d2l);
    out.push(textTable(d.headers, d.rows));
  }
  const legend = legendLines(result);
  if (legend.length) out.push('', ...legend);
  for (const [k, v] of Object.entries(result.skipped)) out.push(`skipped ${k}: ${v}`);
  for (const n of result.notes) out.push(`note: ${n}`);
  return out.join('\n');
}

export function reportMarkdown(result, { peak, contention = [] }) {
  const out = [];
  out.push(`### Matmul`, '', `${result.description}. Cells are GFLOP/s at the median time, with the best run's in parentheses; "% peak" is ntensor's median against the measured AVX-512 FMA peak per core × the threads ntensor used; ratios are ntensor's median GFLOP/s over each peer's, from the same run.`, '');
  if (contention.length) out.push(...contention.map((l) => `> ${l}`), '');
  for (const t of result.threadSettings) {
    const tb = tablesFor(result, t, peak);
    out.push(`#### ${tLabel(t)}`, '', markdownTable(tb.gflops.headers, tb.gflops.rows), '');
    if (tb.ratios) out.push(`ntensor ÷ peer:`, '', markdownTable(tb.ratios.headers, tb.ratios.rows), '');
    if (tb.paired) out.push(`${PAIRED_INTRO}:`, '', markdownTable(tb.paired.headers, tb.paired.rows), '');
  }
  if (result.preallocated) {
    out.push(...preallocatedMarkdown(result,
      `The same products, but ${OUT_INTRO} (${result.preallocated.description}). Cells are GFLOP/s, median (best); the d2l row is µs per call.`,
      (t) => {
        const ot = outTablesFor(result, t);
        return ot && [[null, ot.gflops], [`${OUT_RATIOS}:`, ot.ratios], ['Paired by round (as above):', ot.paired]];
      }));
  }
  if (result.d2l) {
    const d = d2lTable(result.d2l);
    out.push(`#### d2l §6.4 seed sizes (${tLabel(result.d2l.threads)}, µs per call)`, '', 'PyTorch runs d2l\'s own code (its `corr2d` is the book\'s Python double loop); ntensor runs the same steps through its API (`corr2dMultiInOut` is native). Each library\'s steps are timed in its own stretch of time, not interleaved, so the ratio is unpaired.', '', markdownTable(d.headers, d.rows), '');
  }
  const legend = legendLines(result);
  if (legend.length) out.push('Python peers\' OpenBLAS configurations:', '', ...legend.map((l) => (l.startsWith('  ') ? `  - ${l.trim()}` : `- ${l}`)), '');
  const extra = [...Object.entries(result.skipped).map(([k, v]) => `Skipped ${k}: ${v}`), ...result.notes];
  if (extra.length) out.push(...extra.map((l) => `- ${l}`), '');
  return out.join('\n');
}

function coreOf(result, configId) {
  const byT = result.python.info[configId] ?? {};
  for (const h of Object.values(byT)) {
    const ob = h.blas?.find((b) => b.internal_api === 'openblas');
    if (ob) return ob.architecture;
  }
  return null;
}

export function chart(result, { peak, subtitle }) {
  const square = result.shapes.filter((k) => k.startsWith('n='));
  const pk = peakFor(peak, 1);
  const avx2 = peak?.find((x) => x.isa === 'avx2' && x.threads === 1 && x.supported);
  const panels = result.threadSettings.map((t) => ({
    title: tLabel(t),
    series: Object.entries(result.series)
      .filter(([, s]) => s.byThreads[t])
      .sort(([a], [b]) => SERIES_ORDER(a) - SERIES_ORDER(b))
      .map(([id, s]) => ({
        name: id === 'ntensor' ? 'ntensor' : s.config ? `${s.label} (OpenBLAS ${coreOf(result, s.config) ?? '?'})` : s.label,
        dash: s.config && s.config !== 'env' ? '6,3' : undefined,
        points: square.map((k) => s.byThreads[t][k]).filter(Boolean).map((e) => [e.shape[0], e.gflopsMedian]),
      })),
    hlines: [
      ...(pk ? [{ y: pk.perCore * t, label: `${pk.isa} FMA peak × ${t}: ${fmt3(pk.perCore * t)}` }] : []),
      ...(avx2 ? [{ y: avx2.perCore * t, label: `avx2 FMA peak × ${t}: ${fmt3(avx2.perCore * t)}` }] : []),
    ],
  }));
  return lineChart({ title: 'fp32 matmul, square n×n (median)', subtitle, panels, xLabel: 'n (log2 scale)', yLabel: 'GFLOP/s (log scale)' });
}
