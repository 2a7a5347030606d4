// The async twins: the same bits, checks and errors as the sync ops (errors
// as rejected Promises), AbortSignal handling at each stage (before the call,
// waiting in this environment's queue, queued on libuv's pool, running), no
// listeners, references or jobs left behind, and inputs changed while a job
// is pending. Worker threads, exit and the event loop: worker.test.ts and
// eventloop.test.ts.
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { sameBits } from './bits';
import { errorOf } from './error-of';
import * as ref from './reference';

import {
  Tensor, conv2d, conv2dAsync, corr2d, corr2dAsync, corr2dMultiIn, corr2dMultiInAsync, corr2dMultiInOut,
  corr2dMultiInOut1x1, corr2dMultiInOut1x1Async, corr2dMultiInOutAsync, fromTypedArray, manualSeed, matmul,
  matmulAsync, normal, tensor, zeros, maxPool2d, avgPool2d, maxPool2dAsync, avgPool2dAsync,
} from '../lib/index';
import type { Conv2dOptions, Pool2dOptions } from '../lib/index';
import { native } from '../lib/native';
import { INLINE_MAX_WORK, MAX_IN_FLIGHT, asyncQueueState } from '../lib/ops/async';

const binding = native();

function expectSame(got: Tensor, want: Tensor): void {
  expect(got).toBeInstanceOf(Tensor);
  expect(got.shape).toEqual(want.shape);
  expect(got.dtype).toBe(want.dtype);
  expect(sameBits(got.data, want.data)).toBe(true);
}


const stats = () => binding._asyncStats();
/** Resolves once every job this environment queued has settled. */
async function drained(): Promise<void> {
  for (let i = 0; i < 2000 && (stats().live !== 0 || asyncQueueState().inFlight !== 0); i++) {
    await new Promise((r) => setTimeout(r, 5));
  }
}

const aborted = (reason: unknown): AbortSignal => {
  const ac = new AbortController();
  ac.abort(reason);
  return ac.signal;
};

function expectAbortError(e: unknown, reason: unknown): void {
  expect(e).toBeInstanceOf(DOMException);
  const d = e as DOMException;
  expect(d.name).toBe('AbortError');
  expect(d.code).toBe(20); // ABORT_ERR
  expect(d.cause).toBe(reason);
}

describe('matmulAsync', () => {
  manualSeed(7);
  // [a shape, b shape, dtype]: both sides of INLINE_MAX_WORK, every matmul form.
  const cases: Array<[number[], number[], 'float32' | 'float64']> = [
    [[2, 3], [3, 9], 'float32'], // d2l: inline
    [[40, 40], [40, 40], 'float32'], // 64000 multiply-adds: inline
    [[48, 48], [48, 48], 'float32'], // 110592: on the pool
    [[300, 200], [200, 100], 'float32'],
    [[128, 96], [96, 80], 'float64'],
    [[4, 50, 60], [60, 70], 'float32'], // batched, b broadcast
    [[3, 1, 40, 50], [4, 50, 60], 'float64'], // batch dims broadcast both ways
    [[500], [500, 300], 'float32'], // 1-D . 2-D
    [[200, 300], [300], 'float32'], // 2-D . 1-D
    [[70000], [70000], 'float64'], // 1-D . 1-D, 70000 multiply-adds
    [[0, 500], [500, 700], 'float32'], // empty output
    [[500, 0], [0, 700], 'float32'], // k = 0: zeros
  ];
  for (const [as, bs, dtype] of cases) {
    const work = as.slice(0, -1).concat(bs.length > 1 ? bs.slice(-1) : []).reduce((x, y) => x * y, 1) * (as.at(-1) ?? 1);
    it(`${JSON.stringify(as)} x ${JSON.stringify(bs)} ${dtype}${work <= INLINE_MAX_WORK ? ' (inline)' : ''}: the sync result, bit for bit`, async () => {
      const a = normal(0, 1, as, { dtype }), b = normal(0, 1, bs, { dtype });
      const before = stats().queued;
      const p = matmulAsync(a, b);
      expect(p).toBeInstanceOf(Promise);
      expectSame(await p, matmul(a, b));
      // Work above the cut-off goes to the pool; an empty output never does.
      const outEmpty = matmul(a, b).numel === 0;
      expect(stats().queued - before).toBe(work > INLINE_MAX_WORK && !outEmpty ? 1 : 0);
    });
  }

  it('the Tensor method and the function agree; generic dtypes type-check', async () => {
    const a = normal(0, 1, [64, 64], { dtype: 'float64' });
    const r: Tensor<'float64'> = await matmulAsync(a, a);
    expectSame(r, a.matmul(a));
  });

  it('bad arguments: a rejected Promise (never a synchronous throw) with the sync error', async () => {
    const bad: Array<[unknown, unknown]> = [
      [zeros([2, 3]), zeros([4, 5])],
      [zeros([3]), zeros([4])],
      [zeros([2, 2, 3]), zeros([3, 3, 4])],
      [tensor(2), zeros([2])],
      [zeros([2, 3]), zeros([3, 4], { dtype: 'float64' })],
      [new Float32Array(4), zeros([2, 2])],
      [zeros([2, 2]), null],
    ];
    for (const [a, b] of bad) {
      let p: Promise<Tensor> | undefined;
      expect(() => { p = matmulAsync(a as Tensor, b as Tensor); }).not.toThrow();
      const got = await errorOf(() => p);
      const want = await errorOf(() => matmul(a as Tensor, b as Tensor));
      expect(got.constructor).toBe(want.constructor);
      expect(got.message).toBe(want.message);
    }
  });

  it('bad options: TypeError naming the op', async () => {
    const a = zeros([2, 2]);
    for (const options of [null, 5, 'x']) {
      const e = await errorOf(() => matmulAsync(a, a, options as never));
      expect(e).toBeInstanceOf(TypeError);
      expect(e.message).toMatch(/^matmulAsync: options must be an object/);
    }
    for (const signal of [null, {}, new AbortController(), 'abort']) {
      const e = await errorOf(() => matmulAsync(a, a, { signal: signal as never }));
      expect(e).toBeInstanceOf(TypeError);
      expect(e.message).toBe('matmulAsync: options.signal must be an AbortSignal');
    }
    expectSame(await matmulAsync(a, a, {}), matmul(a, a));
  });
});

describe('conv2dAsync and the d2l twins', () => {
  manualSeed(8);
  // [input, weight, options]: both sides of INLINE_MAX_WORK, every option.
  const convCases: Array<[number[], number[], Conv2dOptions, 'float32' | 'float64']> = [
    [[1, 3, 8, 8], [4, 3, 3, 3], { padding: 1 }, 'float32'], // 6912 multiply-adds: inline
    [[2, 8, 32, 32], [16, 8, 3, 3], { stride: 2, padding: [1, 0] }, 'float32'],
    [[8, 20, 20], [6, 8, 5, 5], { dilation: 2, padding: 'same' }, 'float64'],
    [[1, 16, 30, 30], [32, 4, 3, 3], { groups: 4, padding: 'valid' }, 'float32'],
    [[3, 64, 28, 28], [64, 64, 1, 1], {}, 'float32'], // pointwise
    [[0, 4, 9, 9], [5, 4, 3, 3], {}, 'float32'], // empty batch
  ];
  for (const [xs, ws, options, dtype] of convCases) {
    it(`conv2dAsync ${JSON.stringify(xs)} * ${JSON.stringify(ws)} ${JSON.stringify(options)} ${dtype}: the sync result, bit for bit`, async () => {
      const x = normal(0, 1, xs, { dtype }), w = normal(0, 1, ws, { dtype });
      const bias = normal(0, 1, [ws[0]], { dtype });
      expectSame(await conv2dAsync(x, w, options), conv2d(x, w, options));
      expectSame(await conv2dAsync(x, w, { ...options, bias, signal: new AbortController().signal }), conv2d(x, w, { ...options, bias }));
    });
  }

  it('the d2l twins give the sync results, bit for bit (small: inline; larger: on the pool)', async () => {
    for (const [c, h, co, k] of [[3, 3, 2, 1], [16, 64, 8, 3], [32, 40, 16, 1]]) {
      const X = normal(0, 1, [c, h, h]), K = normal(0, 1, [co, c, k, k]);
      expectSame(await corr2dMultiInOutAsync(X, K), corr2dMultiInOut(X, K));
      const Ki = normal(0, 1, [c, k, k]);
      expectSame(await corr2dMultiInAsync(X, Ki), corr2dMultiIn(X, Ki));
      if (k === 1) expectSame(await corr2dMultiInOut1x1Async(X, K), corr2dMultiInOut1x1(X, K));
      const X2 = normal(0, 1, [h, h]), K2 = normal(0, 1, [k + 1, k]);
      expectSame(await corr2dAsync(X2, K2), corr2d(X2, K2));
    }
  });

  it('bad arguments: the sync function\'s error, as a rejected Promise', async () => {
    const f32 = (shape: number[]): Tensor => zeros(shape);
    const pairs: Array<[() => Promise<Tensor>, () => Tensor]> = [
      [() => conv2dAsync(f32([1, 4, 6, 6]), f32([2, 3, 3, 3])), () => conv2d(f32([1, 4, 6, 6]), f32([2, 3, 3, 3]))],
      [() => conv2dAsync(f32([1, 3, 6, 6]), f32([2, 3, 3, 3]), { stride: 0 }), () => conv2d(f32([1, 3, 6, 6]), f32([2, 3, 3, 3]), { stride: 0 })],
      [() => conv2dAsync(f32([1, 3, 6, 6]), f32([2, 3, 3, 3]), { padding: 'full' as never }), () => conv2d(f32([1, 3, 6, 6]), f32([2, 3, 3, 3]), { padding: 'full' as never })],
      [() => conv2dAsync(f32([1, 3, 6, 6]), f32([2, 3, 3, 3]), { bias: f32([3]) }), () => conv2d(f32([1, 3, 6, 6]), f32([2, 3, 3, 3]), { bias: f32([3]) })],
      [() => corr2dAsync(f32([3, 3]), f32([4, 2])), () => corr2d(f32([3, 3]), f32([4, 2]))],
      [() => corr2dMultiInAsync(f32([2, 3, 3]), f32([3, 2, 2])), () => corr2dMultiIn(f32([2, 3, 3]), f32([3, 2, 2]))],
      [() => corr2dMultiInOutAsync(f32([2, 3, 3]), zeros([1, 2, 2, 2], { dtype: 'float64' })), () => corr2dMultiInOut(f32([2, 3, 3]), zeros([1, 2, 2, 2], { dtype: 'float64' }))],
      [() => corr2dMultiInOut1x1Async(f32([2, 3, 3]), f32([1, 2, 2, 2])), () => corr2dMultiInOut1x1(f32([2, 3, 3]), f32([1, 2, 2, 2]))],
      [() => corr2dAsync(null as never, f32([2, 2])), () => corr2d(null as never, f32([2, 2]))],
    ];
    for (const [asyncCall, syncCall] of pairs) {
      let p: Promise<Tensor> | undefined;
      expect(() => { p = asyncCall(); }).not.toThrow();
      const got = await errorOf(() => p), want = await errorOf(syncCall);
      expect(got.constructor).toBe(want.constructor);
      expect(got.message).toBe(want.message);
    }
    for (const [f, name] of [[() => conv2dAsync(f32([1, 1, 3, 3]), f32([1, 1, 2, 2]), null as never), 'conv2dAsync'],
      [() => corr2dAsync(f32([3, 3]), f32([2, 2]), { signal: 1 as never }), 'corr2dAsync']] as const) {
      const e = await errorOf(f);
      expect(e).toBeInstanceOf(TypeError);
      expect(e.message.startsWith(`${name}: options`)).toBe(true);
    }
  });

  it('AbortSignal: conv2dAsync already aborted or aborted while waiting', async () => {
    const x = normal(0, 1, [2, 16, 64, 64]), w = normal(0, 1, [32, 16, 3, 3]);
    expectAbortError(await errorOf(() => conv2dAsync(x, w, { signal: aborted('no') })), 'no');
    const ac = new AbortController();
    const ps = Array.from({ length: MAX_IN_FLIGHT + 3 }, () => conv2dAsync(x, w, { padding: 1, signal: ac.signal }));
    ac.abort('later');
    for (const p of ps) expectAbortError(await errorOf(() => p), 'later');
    await drained();
    expect(asyncQueueState()).toEqual({ waiting: 0, inFlight: 0 });
  });
});

describe('maxPool2dAsync and avgPool2dAsync', () => {
  manualSeed(9);
  // [input, kernel size, options]: both sides of INLINE_MAX_WORK (output
  // elements × kh·kw), unbatched, non-square, padded, strided, empty batch.
  const poolCases: Array<[number[], number | [number, number], Pool2dOptions, 'float32' | 'float64']> = [
    [[1, 2, 6, 6], 2, {}, 'float32'], // 72 x 4 = 288: inline
    [[4, 16, 64, 64], 3, { stride: 2, padding: 1 }, 'float32'], // 65536 x 9: on the pool
    [[8, 50, 50], [3, 2], { stride: [1, 2], padding: [1, 0] }, 'float64'],
    [[2, 32, 40, 40], 2, {}, 'float64'],
    [[1, 64, 56, 56], [5, 5], { stride: 1, padding: 2 }, 'float32'],
    [[0, 3, 8, 8], 2, {}, 'float32'], // empty batch
    [[2, 8, 33, 31], 3, { stride: 2, padding: 1, ceilMode: true }, 'float32'], // 4352 x 9: on the pool
  ];
  for (const [xs, k, options, dtype] of poolCases) {
    it(`${JSON.stringify(xs)} kernel ${JSON.stringify(k)} ${JSON.stringify(options)} ${dtype}: the sync results, bit for bit`, async () => {
      const x = normal(0, 1, xs, { dtype });
      if (x.data.length > 10) x.data[3] = NaN; // NaN propagates through max, and into the average
      expectSame(await maxPool2dAsync(x, k, options), maxPool2d(x, k, options));
      expectSame(await avgPool2dAsync(x, k, options), avgPool2d(x, k, options));
      const signal = new AbortController().signal;
      expectSame(await maxPool2dAsync(x, k, { ...options, signal }), maxPool2d(x, k, options));
      expectSame(await avgPool2dAsync(x, k, { ...options, signal }), avgPool2d(x, k, options));
    });
  }

  it('max pooling\'s dilation and average pooling\'s countIncludePad and divisorOverride reach the async kernels', async () => {
    const x = normal(0, 1, [2, 16, 41, 37]);
    for (const options of [{ dilation: 2 }, { dilation: [3, 2] as [number, number], padding: 1, ceilMode: true, stride: 2 }]) {
      const sync = maxPool2d(x, 3, options);
      expect(sync.data).not.toEqual(maxPool2d(x, 3, { ...options, dilation: 1 }).data);
      expectSame(await maxPool2dAsync(x, 3, options), sync);
    }
    for (const options of [{ padding: 1, countIncludePad: false }, { padding: 1, divisorOverride: -7, ceilMode: true }]) {
      const sync = avgPool2d(x, 3, options);
      expect(sync.data).not.toEqual(avgPool2d(x, 3, { padding: 1 }).data);
      expectSame(await avgPool2dAsync(x, 3, options), sync);
    }
  });

  it('outputs of 64 KiB and more (not zeroed) are written in full: sync and async against a plain JS loop', async () => {
    const [n, c, h, w, k, st, pad] = [2, 6, 60, 50, 3, 1, 1];
    const x = normal(0, 1, [n, c, h, w]);
    // Max picks an input element (exact in float32); the average is within 1e-6 of float32's.
    const want = {
      max: Float32Array.from(ref.pool2d(x.data, x.shape, k, st, pad, 'max').data),
      avg: ref.pool2d(x.data, x.shape, k, st, pad, 'avg').data,
    };
    expect(want.max.byteLength).toBeGreaterThanOrEqual(65536);
    for (let round = 0; round < 3; round++) {
      // Garbage (0xff bytes: NaN) the allocator may hand out again once it is collected.
      Buffer.allocUnsafeSlow(want.max.byteLength).fill(0xff);
      expect(sameBits(maxPool2d(x, k, { stride: st, padding: pad }).data, want.max)).toBe(true);
      expect(sameBits((await maxPool2dAsync(x, k, { stride: st, padding: pad })).data, want.max)).toBe(true);
      const avgSync = avgPool2d(x, k, { stride: st, padding: pad }).data, avgAsync = (await avgPool2dAsync(x, k, { stride: st, padding: pad })).data;
      expect(avgSync.every((v, i) => Math.abs(v - want.avg[i]) <= 1e-6)).toBe(true);
      expect(sameBits(avgAsync, avgSync)).toBe(true);
    }
  });

  it('inline below the cut-off, on libuv\'s pool above it', async () => {
    const s0 = stats();
    await maxPool2dAsync(normal(0, 1, [1, 4, 16, 16]), 2); // 256 x 4
    expect(stats().queued).toBe(s0.queued);
    await avgPool2dAsync(normal(0, 1, [1, 16, 128, 128]), 2); // 65536 x 4
    await drained();
    expect(stats().queued - s0.queued).toBe(1);
    expect(stats().completed - s0.completed).toBe(1);
  });

  it('bad arguments: the sync function\'s error, as a rejected Promise; bad options name the async function', async () => {
    const x = zeros([1, 3, 6, 6]);
    const cases: Array<[Tensor, unknown, unknown]> = [
      [x, 0, {}], [x, [2, -1], {}], [x, 2, { stride: 0 }], [x, 4, { padding: 3 }], [x, 7, {}],
      [zeros([6, 6]), 2, {}], [zeros([1, 0, 6, 6]), 2, {}], [null as never, 2, {}], [x, undefined, {}], [x, 2, { padding: -1 }],
    ];
    for (const [input, k, options] of cases) {
      for (const [asyncOp, syncOp] of [[maxPool2dAsync, maxPool2d], [avgPool2dAsync, avgPool2d]] as const) {
        let p: Promise<Tensor> | undefined;
        expect(() => { p = asyncOp(input, k as never, options as never); }).not.toThrow();
        const got = await errorOf(() => p), want = await errorOf(() => syncOp(input, k as never, options as never));
        expect(want).toBeInstanceOf(Error);
        expect(got.constructor).toBe(want.constructor);
        expect(got.message).toBe(want.message);
      }
    }
    for (const [f, name] of [[() => maxPool2dAsync(x, 2, null as never), 'maxPool2dAsync'],
      [() => avgPool2dAsync(x, 2, { signal: {} as never }), 'avgPool2dAsync']] as const) {
      const e = await errorOf(f);
      expect(e).toBeInstanceOf(TypeError);
      expect(e.message.startsWith(`${name}: options`)).toBe(true);
    }
  });

  it('AbortSignal: already aborted (nothing queued) or aborted while waiting', async () => {
    const x = normal(0, 1, [4, 32, 96, 96]);
    const before = stats().queued;
    expectAbortError(await errorOf(() => maxPool2dAsync(x, 3, { signal: aborted('no') })), 'no');
    expectAbortError(await errorOf(() => avgPool2dAsync(x, 3, { signal: aborted('no') })), 'no');
    expect(stats().queued).toBe(before);
    const ac = new AbortController();
    const ps = Array.from({ length: MAX_IN_FLIGHT + 3 }, (_, i) => (i % 2 ? maxPool2dAsync : avgPool2dAsync)(x, 3, { padding: 1, signal: ac.signal }));
    ac.abort('later');
    for (const p of ps) expectAbortError(await errorOf(() => p), 'later');
    await drained();
    expect(asyncQueueState()).toEqual({ waiting: 0, inFlight: 0 });
  });

  it('native: the parse step checks every argument (arity, kinds, lengths, overlap) under the op\'s name', async () => {
    const x = new Float32Array(2 * 3 * 8 * 8), out = new Float32Array(2 * 3 * 4 * 4);
    const args = (o: Partial<Record<string, unknown>> = {}): unknown[] =>
      [o.x ?? x, o.out ?? out, 2, 3, 8, 8, 2, 2, 2, 2, 0, 0, 1, 1, false, true, 0].map((v, i) => (i === 4 && 'h' in o ? o.h : v));
    const call = binding as unknown as Record<string, (...a: unknown[]) => Promise<boolean>>;
    expect(await call.maxPool2dAsync(null, ...args())).toBe(true);
    expect(() => call.maxPool2dAsync(null, ...args().slice(1))).toThrow(/^maxPool2d: expected 17 arguments/);
    expect(() => call.avgPool2dAsync(null, ...args({ out: new Float64Array(out.length) }))).toThrow(TypeError);
    expect(() => call.avgPool2dAsync(null, ...args({ out: new Float32Array(5) }))).toThrow(/^avgPool2d: .*out/);
    expect(() => call.maxPool2dAsync(null, ...args({ h: 9 }))).toThrow(/^maxPool2d: .*input/);
    expect(() => call.maxPool2dAsync(null, ...args({ out: x.subarray(0, out.length) }))).toThrow(/^maxPool2d: /);
    expect(() => call.maxPool2dAsync(7, ...args())).toThrow(/^maxPool2d: argument 'token'/);
  });
});

describe('AbortSignal', () => {
  const big = normal(0, 1, [512, 512]);

  it('already aborted: AbortError (a DOMException, the reason as cause), nothing queued, inputs untouched', async () => {
    for (const [a, b] of [[big, big], [zeros([2, 3]), zeros([3, 2])]]) {
      const reason = new Error('stop');
      const before = stats().queued;
      const copy = a.data.slice();
      expectAbortError(await errorOf(() => matmulAsync(a, b, { signal: aborted(reason) })), reason);
      expect(stats().queued).toBe(before);
      expect(sameBits(a.data, copy)).toBe(true);
    }
    // AbortSignal.abort() without a reason: the reason is its own AbortError.
    const s = aborted(undefined);
    expectAbortError(await errorOf(() => matmulAsync(big, big, { signal: s })), s.reason);
  });

  it('aborted while waiting in this environment\'s queue: rejected at once, never handed to libuv', async () => {
    const a = normal(0, 1, [1024, 1024]);
    const s0 = stats();
    const running = Array.from({ length: MAX_IN_FLIGHT }, () => matmulAsync(a, a));
    const ac = new AbortController();
    const waitingOne = matmulAsync(a, a, { signal: ac.signal });
    await Promise.resolve(); // the async function body has run
    expect(asyncQueueState()).toEqual({ waiting: 1, inFlight: MAX_IN_FLIGHT });
    const t0 = performance.now();
    ac.abort('enough');
    expectAbortError(await errorOf(() => waitingOne), 'enough');
    expect(performance.now() - t0).toBeLessThan(50); // did not wait for the running ones
    expect(asyncQueueState().waiting).toBe(0);
    await Promise.all(running);
    await drained();
    const s1 = stats();
    expect(s1.queued - s0.queued).toBe(MAX_IN_FLIGHT);
    expect(s1.completed - s0.completed).toBe(MAX_IN_FLIGHT);
  });

  it('native: a job aborted while queued on libuv\'s pool is skipped (resolves false, the kernel never runs)', async () => {
    // Occupy every libuv thread, then queue two more behind them and abort those.
    const uvThreads = Number(process.env.UV_THREADPOOL_SIZE) || 4;
    // The busy products are large (~0.1 s each): on a loaded 2-core machine the
    // JS thread can be descheduled for milliseconds between queueing a job and
    // aborting it, and a libuv thread must not have come free by then.
    const n = 1024, nb = 2048;
    const A = normal(0, 1, [n, n]).data, Ab = normal(0, 1, [nb, nb]).data, off = new Float64Array(1);
    const s0 = stats();
    const busy = Array.from({ length: uvThreads }, () => binding.matmulAsync(null, Ab, Ab, new Float32Array(nb * nb), nb, nb, nb, off, off));
    const tokens = [{}, {}];
    const outs = tokens.map(() => new Float32Array(n * n).fill(7));
    const queued = tokens.map((t, i) => binding.matmulAsync(t, A, A, outs[i], n, n, n, off, off));
    for (const t of tokens) binding.abortAsync(t);
    expect(await Promise.all(queued)).toEqual([false, false]);
    expect(await Promise.all(busy)).toEqual(new Array(uvThreads).fill(true));
    for (const o of outs) expect(o.every((v) => v === 7)).toBe(true); // never written
    await drained();
    const s1 = stats();
    expect(s1.skipped - s0.skipped).toBe(2);
    expect(s1.started - s0.started).toBe(uvThreads);
    // abortAsync after settle, twice, or on a token never used: ignored.
    binding.abortAsync(tokens[0]);
    binding.abortAsync({});
    // A token can serve one job only.
    const t = {};
    await binding.matmulAsync(t, A, A, new Float32Array(n * n), n, n, n, off, off);
    expect(() => binding.matmulAsync(t, A, A, new Float32Array(n * n), n, n, n, off, off)).toThrow(/token' was already used/);
  });

  it('native: a running batched matmul stops between batches', async () => {
    // 300 batches of (64 x 8192) . (8192 x 64), every batch on the same
    // matrices: ~100 ms here. Aborted as soon as a thread has picked it up.
    const m = 64, k = 8192, n = 64, batch = 300;
    const A = normal(0, 1, [m, k]).data, B = normal(0, 1, [k, n]).data, offs = new Float64Array(batch);
    const out = new Float32Array(batch * m * n).fill(NaN);
    const s0 = stats();
    const token = {};
    const p = binding.matmulAsync(token, A, B, out, m, k, n, offs, offs);
    while (stats().started === s0.started) await new Promise((r) => setImmediate(r));
    binding.abortAsync(token);
    expect(await p).toBe(false);
    await drained();
    expect(stats().stopped - s0.stopped).toBe(1);
    // The last batch was never computed.
    expect(out.subarray((batch - 1) * m * n).every(Number.isNaN)).toBe(true);
  });

  // One large job, aborted as soon as a thread has picked it up, stops
  // between its work items (threadpool.h: StopScope), so most of `out` is
  // never finished. Before, only a batched matmul stopped (and only between
  // batches): these jobs ran to the end. `finished` counts the output
  // elements that hold their final value.
  const stoppedEarly = async (launch: (token: object) => Promise<boolean>, out: Float32Array,
    finished: (v: number) => boolean): Promise<void> => {
    out.fill(NaN);
    const s0 = stats();
    const token = {};
    const p = launch(token);
    while (stats().started === s0.started) await new Promise((r) => setImmediate(r));
    binding.abortAsync(token);
    expect(await p).toBe(false);
    await drained();
    expect(stats().stopped - s0.stopped).toBe(1);
    let done = 0;
    for (const v of out) if (finished(v)) done++;
    expect(done).toBeLessThan(out.length / 2);
  };

  it('native: a running single matmul stops between the GEMM\'s blocks', async () => {
    // 2048 x 8192 by 8192 x 2048 (34 G multiply-adds; ~0.2 s here), of
    // ones: an element is finished when it holds 8192 (the GEMM adds its
    // depth blocks in order, so a partial sum is smaller).
    const m = 2048, k = 8192;
    const A = new Float32Array(m * k).fill(1), off = new Float64Array(1);
    const out = new Float32Array(m * m);
    await stoppedEarly((token) => binding.matmulAsync(token, A, A, out, m, k, m, off, off), out, (v) => v === k);
  });

  it('native: a running conv2d stops between its work items, on every path a large layer takes', async () => {
    // 64 -> 64 channels on 56^2 (direct-t), 1x1 (the pointwise GEMM), 7x7
    // stride 2 on 3 channels (the implicit GEMM) and 512 on 7^2 (gemm-t),
    // in batches: 1.9-3.7 G multiply-adds each. An element is finished once
    // written (not NaN).
    const cases: Array<[number[], number[], number, number]> = [
      [[32, 64, 56, 56], [64, 64, 3, 3], 1, 1],
      [[4, 1024, 28, 28], [1024, 1024, 1, 1], 1, 0],
      [[16, 3, 224, 224], [64, 3, 7, 7], 2, 3],
      [[32, 512, 7, 7], [512, 512, 3, 3], 1, 1],
    ];
    // One thread, so the JS thread, which aborts, has a core of its own
    // (the matmul above stops its pool workers too).
    const before = binding.getNumThreads();
    binding.setNumThreads(1);
    try {
      for (const [xs, ws, st, pad] of cases) {
        const x = new Float32Array(xs.reduce((a, b) => a * b)).fill(0.5), w = new Float32Array(ws.reduce((a, b) => a * b)).fill(0.25);
        const oh = Math.floor((xs[2] + 2 * pad - ws[2]) / st) + 1, ow = Math.floor((xs[3] + 2 * pad - ws[3]) / st) + 1;
        const out = new Float32Array(xs[0] * ws[0] * oh * ow);
        await stoppedEarly((token) => binding.conv2dAsync(token, x, w, null, out, xs[0], xs[1], xs[2], xs[3], ws[0], ws[2], ws[3],
          st, st, pad, pad, pad, pad, 1, 1, 1, null, null), out, (v) => !Number.isNaN(v));
      }
    } finally {
      binding.setNumThreads(before);
    }
  });

  it('one listener per signal, removed when the last call on it settles (resolved, rejected or aborted); one signal serves many calls', async () => {
    const ac = new AbortController();
    const { signal } = ac;
    const results = await Promise.all([
      matmulAsync(big, big, { signal }),
      matmulAsync(zeros([2, 3]), zeros([3, 4]), { signal }), // inline
      matmulAsync(big, big, { signal }),
    ]);
    expect(results.map((r) => r.shape)).toEqual([[512, 512], [2, 4], [512, 512]]);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    await errorOf(() => matmulAsync(big, zeros([3, 3]), { signal })); // rejected in the checks
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    // Pending calls share one listener (no MaxListenersExceededWarning at 11).
    const pending = Array.from({ length: 30 }, () => matmulAsync(big, big, { signal }));
    expect(getEventListeners(signal, 'abort')).toHaveLength(1);
    ac.abort();
    for (const p of pending) expectAbortError(await errorOf(() => p), signal.reason);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    await drained();
  });
});

describe('lifetimes and inputs', () => {
  it('no jobs, references or queue entries left once everything settled', async () => {
    const a = normal(0, 1, [256, 256]);
    const ac = new AbortController();
    const ps = Array.from({ length: 40 }, (_, i) => matmulAsync(a, a, i % 3 === 0 ? { signal: ac.signal } : {}));
    ac.abort();
    await Promise.allSettled(ps);
    await drained();
    const s = stats();
    expect(s.live).toBe(0);
    expect(s.settled).toBe(s.queued);
    expect(s.started).toBe(s.completed + s.stopped);
    expect(s.queued).toBe(s.started + s.skipped);
    expect(asyncQueueState()).toEqual({ waiting: 0, inFlight: 0 });
    expect(s.closing).toBe(false);
  });

  it('jobs waiting for a slot hold no output memory: a new output is allocated when its job starts', async () => {
    // 16 queued products with 16 MiB outputs: MAX_IN_FLIGHT of them start at
    // once and allocate theirs; the waiting ones hold none (they held all 16,
    // 256 MiB, when outputs were allocated at the call).
    const a = normal(0, 1, [2048, 8]), b = normal(0, 1, [8, 2048]);
    const jobs = 16, bytes = 2048 * 2048 * 4;
    const before = process.memoryUsage().arrayBuffers;
    const ps = [
      ...Array.from({ length: jobs / 2 }, () => matmulAsync(a, b)),
      ...Array.from({ length: jobs / 2 }, () => conv2dAsync(b.reshape(1, 8, 2048, 1), a.reshape(2048, 8, 1, 1))),
    ];
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(asyncQueueState()).toEqual({ waiting: jobs - MAX_IN_FLIGHT, inFlight: MAX_IN_FLIGHT });
    expect(grown).toBeLessThan((MAX_IN_FLIGHT + 2) * bytes);
    const want = matmul(a, b), wantConv = conv2d(b.reshape(1, 8, 2048, 1), a.reshape(2048, 8, 1, 1));
    const got = await Promise.all(ps);
    for (const r of got.slice(0, jobs / 2)) expectSame(r, want);
    for (const r of got.slice(jobs / 2)) expectSame(r, wantConv);
  });

  it('an output no typed array can hold is still refused at the call, as the sync op refuses it', async () => {
    const a = zeros([100000, 1, 1, 1]), b = zeros([1, 100000, 1, 1]);
    const want = await errorOf(() => matmul(a, b));
    expect(want).toBeInstanceOf(RangeError);
    expect(want.message).toMatch(/^matmul: cannot allocate a float32 tensor of 10000000000 elements/);
    const e = await errorOf(() => matmulAsync(a, b));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toBe(want.message);
    expect(asyncQueueState()).toEqual({ waiting: 0, inFlight: 0 });
  });

  it('the output is a fresh, JS-owned ArrayBuffer (no external memory), transferable like any other', async () => {
    const a = normal(0, 1, [300, 300]);
    const r = await matmulAsync(a, a);
    expect(r.data.buffer).toBeInstanceOf(ArrayBuffer);
    expect(r.data.byteOffset).toBe(0);
    expect(r.data.buffer.byteLength).toBe(300 * 300 * 4);
    expect((r.data.buffer as { resizable?: boolean }).resizable).toBe(false);
    const moved = structuredClone(r.data.buffer, { transfer: [r.data.buffer as ArrayBuffer] });
    expect(moved.byteLength).toBe(300 * 300 * 4);
  });

  it('inputs written while the job is pending: memory-safe, the result has the right shape (values unspecified)', async () => {
    const a = normal(0, 1, [512, 512]), b = normal(0, 1, [512, 512]);
    const ps = Array.from({ length: 6 }, () => matmulAsync(a, b));
    for (let i = 0; i < 20; i++) {
      a.data.fill(i);
      await new Promise((r) => setImmediate(r));
    }
    for (const r of await Promise.all(ps)) expect(r.shape).toEqual([512, 512]);
  });

  it('an input detached while the job waits in the queue: the sync TypeError, as a rejection', async () => {
    const a = normal(0, 1, [1024, 1024]);
    const running = Array.from({ length: MAX_IN_FLIGHT }, () => matmulAsync(a, a));
    const ab = new ArrayBuffer(400 * 400 * 4);
    const x = fromTypedArray(new Float32Array(ab), [400, 400]);
    const p = matmulAsync(x, x);
    structuredClone(ab, { transfer: [ab] });
    const e = await errorOf(() => p);
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toMatch(/^matmul: .*detached/);
    await Promise.all(running);
  });

  it('inputs on a resizable ArrayBuffer are copied: shrinking it while the job runs changes nothing', async () => {
    const n = 400;
    const rab = new (ArrayBuffer as unknown as new (len: number, o: { maxByteLength: number }) => ArrayBuffer & { resize(len: number): void })(
      n * n * 4, { maxByteLength: n * n * 4 });
    const x = fromTypedArray(new Float32Array(rab), [n, n]);
    x.data.set(normal(0, 1, [n * n]).data);
    const want = matmul(x, x);
    const p = matmulAsync(x, x);
    rab.resize(0); // unmaps the pages the kernel would otherwise read
    expectSame(await p, want);
  });
});
