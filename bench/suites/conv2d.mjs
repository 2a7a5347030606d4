// Conv2d suite: ntensor's public conv2d against onnxruntime-node (a one-node
// Conv model with the weights as an initializer, bench/lib/onnx.mjs), PyTorch
// (torch.nn.functional.conv2d in a long-lived Python child) and a naive
// seven-loop JS convolution where it finishes in reasonable time; at 1 thread
// and at all cores. Shapes: the d2l seed and edge detector, ResNet-style
// 1x1 and 3x3 layers (one with stride 2, as ResNet downsamples), the 7x7
// stride-2 stem, a batch of 8 and a depthwise
// 3x3. For ntensor it also records which path ran and the extra memory the
// call used (packed weights + one packed input block per thread, from the
// native binding), and for the 1x1 layers the speed of ntensor's own matmul
// on the same product. Unless --no-out: every case again with one preallocated
// output reused by each call ("steady state"), for ntensor (its { out } option,
// once the build has it) and onnxruntime-node (pre-allocated fetches); PyTorch's
// conv2d has no out= argument, so it is only in the fresh-output tables.
import { createRequire } from 'node:module';
import path from 'node:path';

import * as nt from 'ntensor';

import { ROOT } from '../lib/machine.mjs';
import { conv2dModel } from '../lib/onnx.mjs';
import { oneCorePeak } from '../lib/peak.mjs';
import { productTolerance } from '../lib/checks.mjs';
import { checkNtOut, checkOrtOut } from '../lib/preallocated.mjs';
import { PythonPeer, childEnv, pythonAvailable } from '../lib/python.mjs';
import { PAIRED_INTRO, fmt3, markdownTable, pairedTable, preallocatedMarkdown, textTable, threadLabel as tLabel } from '../lib/table.mjs';
import { DEFAULT_ROUNDS, SETTLE_MS, asyncParticipant, interleave, syncParticipant } from '../lib/timing.mjs';

export const name = 'conv2d';
export const description = 'fp32 conv2d, no bias, N-C-H-W; GFLOP/s = 2·N·Cout·(Cin/groups)·kh·kw·Hout·Wout / t';

// n = 0: unbatched (C, H, W) input, as d2l's examples.
export const CASES = [
  { id: 'seed', label: 'd2l seed 3×3×3 → 2, 1×1', n: 0, c: 3, h: 3, w: 3, cout: 2, kh: 1, kw: 1, stride: 1, pad: 0, groups: 1 },
  { id: 'edge', label: 'd2l edge 1×6×8 → 1, 1×2', n: 0, c: 1, h: 6, w: 8, cout: 1, kh: 1, kw: 2, stride: 1, pad: 0, groups: 1 },
  { id: '1x1-256-64', label: '256×56² → 64, 1×1', n: 1, c: 256, h: 56, w: 56, cout: 64, kh: 1, kw: 1, stride: 1, pad: 0, groups: 1 },
  { id: '1x1-64-256', label: '64×56² → 256, 1×1', n: 1, c: 64, h: 56, w: 56, cout: 256, kh: 1, kw: 1, stride: 1, pad: 0, groups: 1 },
  { id: '3x3-64', label: '64×56² → 64, 3×3 p1', n: 1, c: 64, h: 56, w: 56, cout: 64, kh: 3, kw: 3, stride: 1, pad: 1, groups: 1 },
  { id: 'stem', label: '3×224² → 64, 7×7 s2 p3', n: 1, c: 3, h: 224, w: 224, cout: 64, kh: 7, kw: 7, stride: 2, pad: 3, groups: 1 },
  { id: '3x3-s2', label: '64×56² → 128, 3×3 s2 p1', n: 1, c: 64, h: 56, w: 56, cout: 128, kh: 3, kw: 3, stride: 2, pad: 1, groups: 1 },
  { id: '3x3-128', label: '128×28² → 128, 3×3 p1', n: 1, c: 128, h: 28, w: 28, cout: 128, kh: 3, kw: 3, stride: 1, pad: 1, groups: 1 },
  { id: '3x3-512', label: '512×7² → 512, 3×3 p1', n: 1, c: 512, h: 7, w: 7, cout: 512, kh: 3, kw: 3, stride: 1, pad: 1, groups: 1 },
  { id: '3x3-64-b8', label: '8×64×56² → 64, 3×3 p1', n: 8, c: 64, h: 56, w: 56, cout: 64, kh: 3, kw: 3, stride: 1, pad: 1, groups: 1 },
  { id: 'dw3x3', label: 'depthwise 64×56², 3×3 p1', n: 1, c: 64, h: 56, w: 56, cout: 64, kh: 3, kw: 3, stride: 1, pad: 1, groups: 64 },
];
/** The plain-JS loop runs only where one call is at most this many flops. */
export const JS_MAX_FLOPS = 3e8;
const TINY = new Set(['seed', 'edge']);

const outSize = (c) => [Math.floor((c.h + 2 * c.pad - c.kh) / c.stride) + 1, Math.floor((c.w + 2 * c.pad - c.kw) / c.stride) + 1];
export function flopsOf(c) {
  const [oh, ow] = outSize(c);
  return 2 * Math.max(1, c.n) * c.cout * (c.c / c.groups) * c.kh * c.kw * oh * ow;
}

/** The naive seven loops over Float32Arrays (zero padding, groups). */
export function jsConv2d(x, w, c) {
  const N = Math.max(1, c.n), [OH, OW] = outSize(c);
  const cg = c.c / c.groups, og = c.cout / c.groups;
  const y = new Float32Array(N * c.cout * OH * OW);
  for (let b = 0; b < N; b++) {
    for (let co = 0; co < c.cout; co++) {
      const g = Math.floor(co / og);
      for (let oy = 0; oy < OH; oy++) {
        for (let ox = 0; ox < OW; ox++) {
          let acc = 0;
          for (let ci = 0; ci < cg; ci++) {
            for (let ki = 0; ki < c.kh; ki++) {
              const iy = oy * c.stride - c.pad + ki;
              if (iy < 0 || iy >= c.h) continue;
              for (let kj = 0; kj < c.kw; kj++) {
                const ix = ox * c.stride - c.pad + kj;
                if (ix < 0 || ix >= c.w) continue;
                acc += x[((b * c.c + g * cg + ci) * c.h + iy) * c.w + ix] * w[((co * cg + ci) * c.kh + ki) * c.kw + kj];
              }
            }
          }
          y[((b * c.cout + co) * OH + oy) * OW + ox] = acc;
        }
      }
    }
  }
  return y;
}

function maxRelDiff(x, y) {
  let d = 0, s = 0;
  for (let i = 0; i < x.length; i++) {
    d = Math.max(d, Math.abs(x[i] - y[i]));
    s = Math.max(s, Math.abs(y[i]));
  }
  return d / (s || 1);
}

/** The native binding the package loaded (for its test/bench hooks), or null. */
function nativeBinding() {
  try {
    const req = createRequire(path.join(ROOT, 'package.json'));
    const b = process.env.NTENSOR_NATIVE_PATH ? req(process.env.NTENSOR_NATIVE_PATH) : req('node-gyp-build')(ROOT);
    return typeof b._lastConv2d === 'function' ? b : null;
  } catch {
    return null;
  }
}

async function loadOrt() {
  try {
    const mod = await import('onnxruntime-node');
    return { ort: mod.default ?? mod, error: null };
  } catch (err) {
    return { ort: null, error: `onnxruntime-node is not installed or does not load (${err.message.split('\n')[0]})` };
  }
}

// ---------------------------------------------------------------- the run

export async function run(ctx) {
  const { opts, plan, threadSettings, log } = ctx;
  const want = (lib) => !opts.libs || opts.libs.includes(lib);
  const cases = opts.sizes ? CASES.filter((c) => opts.sizes.split(',').includes(c.id)) : CASES;
  const notes = [];
  const skipped = {};
  const series = {}; // id -> { label, byThreads: { threads: { caseId: timing } } }
  const record = (id, label, threads, c, t, extra = {}) => {
    series[id] ??= { label, byThreads: {} };
    (series[id].byThreads[threads] ??= {})[c.id] = { ...t, gflopsMedian: flopsOf(c) / t.median / 1e9, gflopsBest: flopsOf(c) / t.min / 1e9, ...extra };
  };
  const binding = nativeBinding();
  if (!binding) notes.push('the native binding has no _lastConv2d hook: paths and extra memory are not reported');

  // Inputs, shared by the JS-side libraries.
  nt.manualSeed(0);
  const inputs = new Map();
  for (const c of cases) {
    const x = nt.normal(0, 1, c.n === 0 ? [c.c, c.h, c.w] : [c.n, c.c, c.h, c.w]);
    const w = nt.normal(0, 1, [c.cout, c.c / c.groups, c.kh, c.kw]);
    inputs.set(c.id, { x, w });
  }
  const ntCall = (c) => {
    const { x, w } = inputs.get(c.id);
    const o = { stride: c.stride, padding: c.pad, groups: c.groups };
    return () => nt.conv2d(x, w, o);
  };
  const ntOutCall = (c, out) => {
    const { x, w } = inputs.get(c.id);
    const o = { stride: c.stride, padding: c.pad, groups: c.groups, out };
    return () => nt.conv2d(x, w, o);
  };
  // Preallocated outputs: one output per case and library, written by every call.
  const outSeries = {};
  const outNotes = [];
  const recordOut = (id, label, threads, c, t) => {
    outSeries[id] ??= { label, byThreads: {} };
    (outSeries[id].byThreads[threads] ??= {})[c.id] = { ...t, gflopsMedian: flopsOf(c) / t.median / 1e9, gflopsBest: flopsOf(c) / t.min / 1e9 };
  };
  let ntOutSkip = null; // why ntensor·out is not measured, once known
  let ortOutSkip = null;
  let ortReturnsCopy = null;

  const { ort, error: ortError } = want('ort') ? await loadOrt() : { ort: null, error: null };
  if (ortError) skipped.ort = ortError;
  const ortSession = (c, threads) => {
    const { w } = inputs.get(c.id);
    const xShape = [Math.max(1, c.n), c.c, c.h, c.w];
    return ort.InferenceSession.create(conv2dModel({ xShape, weight: { shape: [...w.shape], data: w.data }, stride: [c.stride, c.stride], pad: [c.pad, c.pad], group: c.groups }), {
      intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
    });
  };
  const pyError = want('torch') ? pythonAvailable() : null;
  if (pyError) skipped.torch = pyError;

  // Sanity: every JS-side library computes the same convolution as the JS
  // loop, on every case (each conv2d path: pointwise, direct, direct-t,
  // gemm-t, implicit GEMM), ntensor on each thread setting. (PyTorch makes
  // its own inputs in its process and checks its result there: peer.py's
  // conv2d_error, below, with the timings.)
  const checks = {};
  {
    const defaultT = nt.getNumThreads();
    for (const c of cases) {
      const { x, w } = inputs.get(c.id);
      const ref = jsConv2d(x.data, w.data, c);
      const got = {};
      for (const t of threadSettings) {
        nt.setNumThreads(t);
        got[`ntensor ${t}T`] = maxRelDiff(ntCall(c)().data, ref);
      }
      nt.setNumThreads(defaultT);
      if (ort) {
        const s = await ortSession(c, 1);
        const r = await s.run({ X: new ort.Tensor('float32', x.data, [Math.max(1, c.n), c.c, c.h, c.w]) });
        got.ort = maxRelDiff(r.Y.data, ref);
        await s.release();
      }
      checks[c.id] = got;
      for (const [lib, d] of Object.entries(got)) if (!(d < 1e-4)) notes.push(`CHECK FAILED: ${lib} differs from the JS loop on ${c.id} by ${d} (relative to max |y|)`);
    }
  }

  const defaultThreads = nt.getNumThreads();
  const ntInfo = {};
  const winogradError = {}; // threads -> case -> max |packConv2d winograd - conv2d| / max |conv2d|
  const pyInfo = {};
  // Interleaved: for each thread setting and case, every library back to back
  // in `rounds` rounds (bench/lib/timing.mjs, interleave), the order rotated
  // from round to round, so a slow phase of the machine hits all of them.
  const rounds = opts.rounds ?? DEFAULT_ROUNDS;
  for (const threads of threadSettings) {
    const tLabel = `${threads} thread${threads === 1 ? '' : 's'}`;
    if (want('ntensor')) nt.setNumThreads(threads);
    // PyTorch: one child per thread setting, alive for the whole case loop
    let peer = null;
    if (want('torch') && !pyError) {
      peer = new PythonPeer(childEnv({}, threads));
      try {
        const hello = await peer.request({ op: 'hello', threads, libs: ['torch'] });
        pyInfo[threads] = { torch: hello.torch ?? null, torchThreads: hello.torchThreads ?? null, parallel: hello.torchParallel ?? null };
        if (!hello.torch) {
          skipped.torch = `torch is not importable by /usr/bin/python3: ${hello.skipped?.torch ?? 'unknown'}`;
          await peer.close();
          peer = null;
        } else {
          pyInfo[threads].mkldnn = (await peer.request({ op: 'conv2d', cases: [], plan })).mkldnn;
        }
      } catch (err) {
        notes.push(`python peer (${tLabel}) failed: ${err.message}`);
        await peer.close();
        peer = null;
      }
    }
    for (const c of cases) {
      const parts = [];
      const done = []; // [id, (timing) => record]
      const add = (p, onResult) => {
        parts.push(p);
        done.push([p.id, onResult]);
      };
      if (want('ntensor')) {
        const f = ntCall(c);
        // A native call with no input channels records the path 'empty'; if
        // ntensor's call leaves that, it ran in JS (the d2l sizes: lib/ops/tiny.ts).
        if (binding) binding.conv2d(new Float32Array(0), new Float32Array(0), null, new Float32Array(1), 1, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);
        f();
        let info = binding ? binding._lastConv2d() : null;
        if (info && info.path === 'empty' && c.c > 0) info = { path: 'js', packedWeightBytes: 0, tileBytesPerThread: 0, threads: 1 };
        if (info) (ntInfo[threads] ??= {})[c.id] = { ...info, extraBytes: info.packedWeightBytes + info.tileBytesPerThread * info.threads };
        add(syncParticipant('ntensor', f, 'node'), (t) => record('ntensor', 'ntensor', threads, c, t, info ? { path: info.path } : {}));
        // 1x1 layers: ntensor's own matmul on the same product, (Cout × Cin) · (Cin × H·W).
        if (c.kh === 1 && c.kw === 1 && c.stride === 1 && c.pad === 0 && c.groups === 1 && c.n <= 1) {
          const { x, w } = inputs.get(c.id);
          const W2 = w.reshape(c.cout, c.c), X2 = x.reshape(c.c, c.h * c.w);
          add(syncParticipant('ntmatmul', () => nt.matmul(W2, X2), 'node'), (t) => record('ntmatmul', 'ntensor matmul (same GEMM)', threads, c, t));
        }
        // The layers whose weights a model would pack once (packConv2d:
        // copied and packed when the layer is made, as onnxruntime packs
        // its initializers when the session is made).
        if (typeof nt.packConv2d === 'function' && PACKED.has(c.id)) {
          const { x, w } = inputs.get(c.id);
          const layer = nt.packConv2d(w, { stride: c.stride, padding: c.pad, groups: c.groups });
          const g = () => layer.run(x);
          g();
          const pinfo = binding ? binding._lastConv2d() : null;
          add(syncParticipant('ntpacked', g, 'node'), (t) => record('ntpacked', 'ntensor packConv2d', threads, c, t, pinfo ? { path: pinfo.path } : {}));
          // The same layer with Winograd allowed (3x3, stride 1): not
          // conv2d's bits, so its distance from conv2d's result is recorded.
          const lw = nt.packConv2d(w, { stride: c.stride, padding: c.pad, groups: c.groups, winograd: true });
          if (lw.winograd) {
            const gw = () => lw.run(x);
            const yw = gw().data;
            const wpinfo = binding ? binding._lastConv2d() : null;
            const y = f().data;
            let diff = 0, top = 0;
            for (let i = 0; i < y.length; i++) {
              diff = Math.max(diff, Math.abs(yw[i] - y[i]));
              top = Math.max(top, Math.abs(y[i]));
            }
            (winogradError[threads] ??= {})[c.id] = diff / top;
            if (!(diff / top < 1e-4)) notes.push(`CHECK FAILED: packConv2d winograd differs from conv2d on ${c.id} by ${diff / top} (relative to max |y|)`);
            add(syncParticipant('ntwino', gw, 'node'), (t) => record('ntwino', 'ntensor packConv2d winograd', threads, c, t, wpinfo ? { path: wpinfo.path } : {}));
          }
        }
        if (opts.out && !ntOutSkip) {
          const chk = checkNtOut((out) => ntOutCall(c, out)(), f, (s) => nt.zeros(s));
          if (!chk.ok) ntOutSkip = `${c.id}: ${chk.reason}`;
          else add(syncParticipant('ntensor·out', ntOutCall(c, chk.out), 'node'), (t) => recordOut('ntensor·out', 'ntensor·out', threads, c, t));
        }
      }
      if (want('js') && threads === threadSettings[0] && flopsOf(c) <= JS_MAX_FLOPS) {
        const { x, w } = inputs.get(c.id);
        add(syncParticipant('js', () => jsConv2d(x.data, w.data, c), 'node'), (t) => record('js', 'plain JS (7 loops)', threads, c, t));
      }
      // onnxruntime-node: one session per case and thread setting, for the fresh and the preallocated runs
      let session = null;
      if (ort) {
        session = await ortSession(c, threads);
        const feeds = { X: new ort.Tensor('float32', inputs.get(c.id).x.data, [Math.max(1, c.n), c.c, c.h, c.w]) };
        add(asyncParticipant('ort', () => session.run(feeds), 'ort'), (t) => record('ort', 'onnxruntime-node', threads, c, t));
        if (opts.out && !ortOutSkip) {
          const ref = (await session.run(feeds)).Y.data;
          const chk = await checkOrtOut(ort, session, feeds, 'Y', [Math.max(1, c.n), c.cout, ...outSize(c)], ref);
          if (!chk.ok) ortOutSkip = `${c.id}: ${chk.reason}`;
          else {
            ortReturnsCopy ||= chk.returnsCopy;
            add(asyncParticipant('ort·out', () => session.run(feeds, chk.fetches), 'ort'), (t) => recordOut('ort·out', 'onnxruntime-node·out', threads, c, t));
          }
        }
      }
      if (peer) {
        const pc = { id: c.id, n: c.n, c: c.c, h: c.h, w: c.w, cout: c.cout, kh: c.kh, kw: c.kw, stride: c.stride, pad: c.pad, groups: c.groups };
        add({
          id: 'torch',
          group: 'python',
          round: async (rp) => {
            const r = await peer.request({ op: 'time', kind: 'conv2d', lib: 'torch', case: pc, plan: rp });
            // the child's own check of its result (peer.py, conv2d_error)
            if (typeof r.check === 'number') torchCheck = r.check;
            return r;
          },
          onError: (err) => notes.push(`PyTorch (${tLabel}) not measured from ${c.id} on: ${err.message}`),
        }, (t) => record('torch', 'PyTorch', threads, c, t));
      }
      let torchCheck = null;
      const res = await interleave(parts, plan, rounds, {
        settleMs: threads > 1 ? SETTLE_MS : 0,
        onRound: (r, order) => log(`conv2d ${tLabel}: ${c.id}, round ${r + 1}/${rounds}: ${order.join(', ')}`),
      });
      if (torchCheck !== null) {
        const depth = (c.c / c.groups) * c.kh * c.kw;
        (checks[c.id] ??= {})[`torch ${threads}T`] = torchCheck;
        if (!(torchCheck < productTolerance(depth))) notes.push(`CHECK FAILED: PyTorch is off the convolution on ${c.id} at ${threads} thread(s) by ${torchCheck} (checked in its own process at up to 512 outputs, relative to the largest sum of |x||w|; a correct float32 result is within ${productTolerance(depth).toExponential(1)})`);
      }
      for (const [id, onResult] of done) if (res.has(id)) onResult(res.get(id));
      if (session) await session.release();
      if (peer) {
        if (!res.has('torch')) {
          await peer.close();
          peer = null;
        } else await peer.request({ op: 'forget' }).catch(() => {});
      }
    }
    if (want('ntensor')) nt.setNumThreads(defaultThreads);
    if (peer) await peer.close();
  }

  let preallocated = null;
  if (opts.out) {
    if (want('ntensor') && ntOutSkip) outNotes.push(`ntensor·out not measured: nt.conv2d(x, w, { ..., out }) at ${ntOutSkip}.`);
    if (ort && ortOutSkip) outNotes.push(`onnxruntime-node·out not measured: ${ortOutSkip}.`);
    if (ortReturnsCopy) outNotes.push('onnxruntime-node writes into the pre-allocated Float32Array (checked after a run), but run() still hands back the result as a copy in a new ArrayBuffer, so each onnxruntime·out call also allocates and fills an output-sized buffer.');
    if (want('torch')) outNotes.push('PyTorch is not in these rows: torch.nn.functional.conv2d has no out= argument, so it is measured only with fresh outputs (the tables above).');
    preallocated = {
      description: 'ntensor: conv2d(x, w, { ..., out }); onnxruntime-node: session.run(feeds, { Y: preallocated })',
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
    versions: {
      'onnxruntime-node': ort ? (ort.env?.versions?.node ?? null) : null,
      torch: Object.values(pyInfo)[0]?.torch ?? null,
    },
    cases,
    threadSettings,
    series,
    preallocated,
    ntensor: { info: ntInfo, backend: nt.backendInfo() },
    python: pyInfo,
    checks,
    winogradError,
    skipped,
    notes,
  };
}

// ---------------------------------------------------------------- reporting

const PEERS = [['ort', 'onnxruntime'], ['torch', 'PyTorch'], ['js', 'plain JS']];
// The cases also timed through packConv2d (weights packed once): the k×k
// layers with many channels, where conv2d packs all the weights per call.
export const PACKED = new Set(['3x3-64', '3x3-128', '3x3-512', '3x3-64-b8']);
const peakPerCore = (peak) => oneCorePeak(peak)?.perCore ?? null;
const mib = (b) => (b >= 1 << 20 ? `${fmt3(b / (1 << 20))} MiB` : `${fmt3(b / 1024)} KiB`);

function tablesFor(result, threads, peak) {
  const pk = peakPerCore(peak);
  const get = (id, c) => result.series[id]?.byThreads[threads]?.[c.id];
  const peers = PEERS.filter(([id]) => result.series[id]?.byThreads[threads]);
  const hasMm = !!result.series.ntmatmul?.byThreads[threads];
  const headers = ['shape', 'ntensor', ...(pk ? ['% peak'] : []), 'path', 'extra memory', ...peers.map(([, l]) => l), ...peers.map(([, l]) => `÷ ${l}`), ...(hasMm ? ['÷ own matmul'] : [])];
  const rows = result.cases.map((c) => {
    const e = get('ntensor', c);
    const info = result.ntensor.info[threads]?.[c.id];
    const cell = (t) => (t ? (TINY.has(c.id) ? `${fmt3(t.median * 1e6)} µs` : `${fmt3(t.gflopsMedian)} (${fmt3(t.gflopsBest)})`) : '—');
    const row = [c.label, cell(e)];
    if (pk) row.push(e && !TINY.has(c.id) ? `${fmt3((100 * e.gflopsMedian) / (pk * threads))}%` : '—');
    row.push(info?.path ?? '—', info ? (info.extraBytes ? mib(info.extraBytes) : '0') : '—');
    for (const [id] of peers) row.push(cell(get(id, c)));
    for (const [id] of peers) {
      const p = get(id, c);
      row.push(e && p ? `${fmt3(p.median / e.median)}×` : '—');
    }
    if (hasMm) {
      const m = get('ntmatmul', c);
      row.push(e && m ? `${fmt3(m.median / e.median)}×` : '—');
    }
    return row;
  });
  return { headers, rows };
}

const OUT_PEERS = [['ort·out', 'ort', 'onnxruntime·out']];
const OUT_INTRO = 'every call writes into one output allocated before timing (the same memory each call), so no call pays for fresh output pages';

/** Preallocated-output rows: ntensor·out, each peer·out, ntensor·out ÷ peer·out, and each library's fresh time ÷ its preallocated one. */
function outTableFor(result, threads) {
  const pre = result.preallocated;
  if (!pre) return null;
  const get = (id, c) => pre.series[id]?.byThreads[threads]?.[c.id];
  const hasNt = !!pre.series['ntensor·out']?.byThreads[threads];
  const peers = OUT_PEERS.filter(([id]) => pre.series[id]?.byThreads[threads]);
  if (!hasNt && !peers.length) return null;
  const libs = [...(hasNt ? [['ntensor·out', 'ntensor', 'ntensor·out']] : []), ...peers];
  const headers = ['shape', ...libs.map(([, , l]) => l), ...(hasNt ? peers.map(([, , l]) => `÷ ${l}`) : []), ...libs.map(([, fresh]) => `${fresh === 'ort' ? 'onnxruntime' : fresh} fresh ÷ out`)];
  const rows = result.cases.map((c) => {
    const cell = (t) => (t ? (TINY.has(c.id) ? `${fmt3(t.median * 1e6)} µs` : `${fmt3(t.gflopsMedian)} (${fmt3(t.gflopsBest)})`) : '—');
    const e = get('ntensor·out', c);
    const row = [c.label, ...libs.map(([id]) => cell(get(id, c)))];
    if (hasNt) {
      for (const [id] of peers) {
        const p = get(id, c);
        row.push(e && p ? `${fmt3(p.median / e.median)}×` : '—');
      }
    }
    for (const [id, fresh] of libs) {
      const o = get(id, c), f = result.series[fresh]?.byThreads[threads]?.[c.id];
      row.push(o && f ? `${fmt3(f.median / o.median)}×` : '—');
    }
    return row;
  });
  return { headers, rows };
}

/**
 * packConv2d (series `id`: 'ntpacked', or 'ntwino' with winograd: true) ÷
 * each peer and ÷ conv2d, paired by round, for the cases it ran; null if none.
 */
function packedFor(result, threads, id = 'ntpacked') {
  const get = (sid, c) => result.series[sid]?.byThreads[threads]?.[c.id];
  const cases = result.cases.filter((c) => get(id, c));
  if (!cases.length) return null;
  const wino = id === 'ntwino';
  const peers = [...PEERS.filter(([p]) => p !== 'js'), ['ntensor', 'conv2d'], ...(wino ? [['ntpacked', 'packConv2d']] : [])]
    .filter(([p]) => result.series[p]?.byThreads[threads]);
  const tb = pairedTable(cases, (c) => c.label, id, peers, get);
  tb.headers.splice(1, 0, wino ? 'packConv2d winograd' : 'packConv2d', 'path', ...(wino ? ['max |Δ| / max |y|'] : []));
  tb.rows.forEach((r, i) => {
    const t = get(id, cases[i]);
    const err = result.winogradError?.[threads]?.[cases[i].id];
    r.splice(1, 0, `${fmt3(t.gflopsMedian)} (${fmt3(t.gflopsBest)})`, t.path ?? '—', ...(wino ? [err === undefined ? '—' : err.toExponential(1)] : []));
  });
  return tb;
}
const PACKED_INTRO = 'packConv2d (the layer\'s weights copied and packed once, before timing; each call conv2d with them) ÷ each peer and ÷ conv2d, paired by round as above';
const WINO_INTRO = 'packConv2d with winograd: true (3×3 stride-1 layers: Winograd F(2×2, 3×3) where it pays, 16 multiplies per 2×2 outputs and channel instead of 36, else conv2d\'s path; GFLOP/s counted as for the direct convolution; not conv2d\'s bits: "max |Δ| / max |y|" is its distance from conv2d\'s result) ÷ each peer, ÷ conv2d and ÷ packConv2d, paired by round as above';

/** ntensor ÷ each peer (and, fresh, ÷ its own matmul of a 1x1 layer) paired by round (table.mjs pairedTable), fresh outputs or (pre) preallocated ones. */
function pairedFor(result, threads, pre) {
  const src = pre ? result.preallocated : result;
  const ntId = pre ? 'ntensor·out' : 'ntensor';
  if (!src?.series[ntId]?.byThreads[threads]) return null;
  const peers = (pre ? OUT_PEERS.map(([id, , l]) => [id, l]) : [...PEERS, ['ntmatmul', 'own matmul']]).filter(([id]) => src.series[id]?.byThreads[threads]);
  if (!peers.length) return null;
  return pairedTable(result.cases, (c) => c.label, ntId, peers, (id, c) => src.series[id]?.byThreads[threads]?.[c.id]);
}

function legend(result) {
  const lines = [
    'Cells: GFLOP/s at the median time (best run in parentheses); the two d2l cases in µs per call. "÷ peer" = peer time ÷ ntensor time (> 1: ntensor is faster).',
    '"% peak": ntensor against the measured FMA peak per core × threads. "path": the conv2d path ntensor took (pointwise GEMM, implicit GEMM, direct; js: float32 d2l sizes of at most 128 multiply-adds, computed in JS with the native bits). "extra memory": packed weights + one packed input block per thread, as the native binding reports it (the output is not counted).',
    '"÷ own matmul": for the 1×1 layers, ntensor\'s matmul of the same (Cout × Cin)·(Cin × H·W) product, time ÷ the conv\'s time.',
  ];
  for (const [t, p] of Object.entries(result.python)) {
    if (p.torch) lines.push(`PyTorch ${p.torch}, ${t} thread(s): torch.get_num_threads() = ${p.torchThreads}, mkldnn ${p.mkldnn ? 'available' : 'not available'}.`);
  }
  const checked = Object.entries(result.checks ?? {}).filter(([, v]) => v !== null && typeof v === 'object');
  if (checked.length) {
    const worst = {};
    for (const [, got] of checked) for (const [lib, d] of Object.entries(got)) worst[lib] = Math.max(worst[lib] ?? 0, d);
    const list = (libs) => libs.map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', ');
    const isTorch = ([k]) => k.startsWith('torch ');
    lines.push(`Checked on all ${checked.length} cases against the JS loop (max |difference| / max |y|, worst case): ${list(Object.entries(worst).filter((e) => !isTorch(e)))}.`);
    const torch = Object.entries(worst).filter(isTorch);
    if (torch.length) lines.push(`PyTorch checked in its own process (peer.py, conv2d_error: up to 512 outputs against float64 sums, max |difference| over the largest sum of |x||w|; correct float32 is within 4·K·2⁻²⁴ for K = C/groups·kh·kw), worst case: ${list(torch)}.`);
  }
  return lines;
}

export function reportText(result, { peak, contention = [] }) {
  const out = [`== conv2d: ${result.description}`, ...contention];
  for (const t of result.threadSettings) {
    const tb = tablesFor(result, t, peak);
    out.push('', `-- ${tLabel(t)}`, textTable(tb.headers, tb.rows));
    const pt = pairedFor(result, t, false);
    if (pt) out.push('', `-- ${tLabel(t)}: ${PAIRED_INTRO}`, textTable(pt.headers, pt.rows));
    const pk = packedFor(result, t);
    if (pk) out.push('', `-- ${tLabel(t)}: ${PACKED_INTRO}`, textTable(pk.headers, pk.rows));
    const wk = packedFor(result, t, 'ntwino');
    if (wk) out.push('', `-- ${tLabel(t)}: ${WINO_INTRO}`, textTable(wk.headers, wk.rows));
  }
  if (result.preallocated) {
    for (const t of result.threadSettings) {
      const ot = outTableFor(result, t);
      if (ot) out.push('', `-- ${tLabel(t)}, preallocated outputs (steady state): ${OUT_INTRO}`, textTable(ot.headers, ot.rows));
      const pt = pairedFor(result, t, true);
      if (pt) out.push('', `-- ${tLabel(t)}, preallocated outputs: ${PAIRED_INTRO}`, textTable(pt.headers, pt.rows));
    }
  }
  out.push('', ...legend(result));
  if (result.preallocated) out.push(...result.preallocated.notes.map((n) => `note (preallocated): ${n}`));
  for (const [k, v] of Object.entries(result.skipped)) out.push(`skipped ${k}: ${v}`);
  for (const n of result.notes) out.push(`note: ${n}`);
  return out.join('\n');
}

export function reportMarkdown(result, { peak, contention = [] }) {
  const out = ['### Conv2d', '', `${result.description}.`, ''];
  if (contention.length) out.push(...contention.map((l) => `> ${l}`), '');
  for (const t of result.threadSettings) {
    const tb = tablesFor(result, t, peak);
    out.push(`#### ${tLabel(t)}`, '', markdownTable(tb.headers, tb.rows), '');
    const pt = pairedFor(result, t, false);
    if (pt) out.push(`${PAIRED_INTRO}:`, '', markdownTable(pt.headers, pt.rows), '');
    const pk = packedFor(result, t);
    if (pk) out.push(`${PACKED_INTRO}:`, '', markdownTable(pk.headers, pk.rows), '');
    const wk = packedFor(result, t, 'ntwino');
    if (wk) out.push(`${WINO_INTRO}:`, '', markdownTable(wk.headers, wk.rows), '');
  }
  if (result.preallocated) {
    out.push(...preallocatedMarkdown(result,
      `The same cases, but ${OUT_INTRO} (${result.preallocated.description}). Cells as above; "÷ peer·out" = peer·out time ÷ ntensor·out time; "fresh ÷ out" = a library's fresh-output time (the tables above) ÷ its preallocated one.`,
      (t) => {
        const ot = outTableFor(result, t);
        return ot && [[null, ot], ['Paired by round (as above):', pairedFor(result, t, true)]];
      }));
  }
  out.push(...legend(result).map((l) => `- ${l}`), '');
  const extra = [...Object.entries(result.skipped).map(([k, v]) => `Skipped ${k}: ${v}`), ...result.notes];
  if (extra.length) out.push(...extra.map((l) => `- ${l}`), '');
  return out.join('\n');
}
