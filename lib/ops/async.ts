// Promise-returning twins of the native ops. Each runs its sync twin's
// checks (the shared prepare step) on the calling thread, so bad arguments
// give the sync function's TypeError or RangeError, as a rejected Promise;
// then the kernel runs on libuv's thread pool (native/async.h) and the
// Promise resolves with a Tensor equal, bit for bit, to the sync result.
// Small problems run inline (see INLINE_MAX_WORK).
import { availableParallelism } from 'node:os';

import { DType, FloatArray, SameDType, allocateOwn, dtypeOfArray, isPooled } from '../dtype';
import { native } from '../native';
import { Tensor } from '../tensor';
import {
  CONV2D_KEYS, Conv2dOptions, IntPair, Conv2dPlan, prepareConv2d, prepareCorr2d, prepareCorr2dMultiIn, prepareCorr2dMultiInOut,
  prepareCorr2dMultiInOut1x1, runConv2dPlan,
} from './conv';
import { MATMUL_KEYS, MatmulOptions, MatmulPlan, prepareMatmul, runMatmulPlan } from './matmul';
import { allocateLater, resultOf } from './out';
import { AVG_POOL2D_KEYS, AvgPool2dOptions, MAX_POOL2D_KEYS, MaxPool2dOptions, Pool2dPlan, preparePool2d, runPool2dPlan } from './pool';
import { OptionKeys, checkOptions, keysOf, withSignal } from '../options';

export interface AsyncOptions {
  /**
   * Aborting rejects the Promise with a DOMException named 'AbortError'
   * whose `cause` is `signal.reason`: at once if the signal is already
   * aborted, else as soon as it fires. Work that has not started is then
   * skipped; a running matmul or conv2d stops between its blocks of work
   * (each thread finishes the block it holds), a running pooling finishes in
   * the background (its result is dropped). With an `out`
   * tensor, a job that is already running is waited for instead: the
   * Promise rejects once nothing writes to `out` any more (its contents are
   * then unspecified; a job that never started leaves it untouched).
   */
  signal?: AbortSignal | undefined;
}

/**
 * Problems of at most this many multiply-adds (batch·m·n·k for matmul; for
 * conv2d the output's elements × input channels per group × kernel rows ×
 * kernel columns) run inside the call, on the calling thread, and the
 * Promise resolves at once. Handing a job to libuv's pool and back costs
 * the JS thread 4–8 µs of CPU time (measured here: the job, its Promise and
 * references, the wake-up and the completion) and 15–30 µs until the
 * Promise settles, while a 40³ (2^16) product takes ~3.5 µs and a 48³ one
 * ~5–6 µs: below the cut-off, running inline blocks the loop for less time
 * than the hand-off itself would.
 */
export const INLINE_MAX_WORK = 2 ** 16;

const MATMUL_ASYNC_KEYS = withSignal(MATMUL_KEYS);
const CONV2D_ASYNC_KEYS = withSignal(CONV2D_KEYS);
const CORR2D_ASYNC_KEYS = keysOf<AsyncOptions>()(['signal']);
const MAX_POOL2D_ASYNC_KEYS = withSignal(MAX_POOL2D_KEYS);
const AVG_POOL2D_ASYNC_KEYS = withSignal(AVG_POOL2D_KEYS);

/** Checks the options object of an async op (an object, of the given keys); returns its signal. */
export function checkAsyncOptions(op: string, options: unknown, keys: OptionKeys): AbortSignal | undefined {
  checkOptions(op, options, keys);
  if (options === undefined) return undefined;
  const { signal } = options as AsyncOptions;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`${op}: options.signal must be an AbortSignal`);
  }
  return signal;
}

// DOMException takes an options bag (name, cause) in Node >= 17; the
// bundled type only declares the (message, name) form.
const DOMExceptionWithOptions = DOMException as unknown as new (message: string, options: { name: string; cause: unknown }) => DOMException;

/** The AbortError Node's own APIs give: a DOMException, the signal's reason as cause. */
function abortError(signal: AbortSignal): DOMException {
  return new DOMExceptionWithOptions('This operation was aborted', { name: 'AbortError', cause: signal.reason });
}

/**
 * An input the kernel may read from another thread. A resizable buffer could
 * shrink (and its memory be unmapped) while the kernel reads it, and a view
 * into the small-tensor pool shares its buffer with other tensors (one of
 * which could be transferred and freed meanwhile), so such an input is
 * copied; other buffers are used in place (README: "Async and worker
 * threads").
 */
function pinned(a: FloatArray): FloatArray {
  return isResizable(a) || isPooled(a) ? a.slice() : a;
}

/**
 * The output a job's kernel writes from another thread. An output in the
 * small-tensor pool (see pinned) is swapped for a zeroed one over its own
 * buffer. Returns the array the result is copied into when the job
 * completes (a caller's pooled `out`), or null.
 */
function privateOutput(op: string, p: { out: FloatArray; target: Tensor | null }): FloatArray | null {
  if (p.target !== null) checkAsyncOut(op, p.out);
  if (!isPooled(p.out)) return null;
  const shared = p.out;
  p.out = allocateOwn(dtypeOfArray(shared), shared.length);
  return p.target !== null ? shared : null;
}

/** A completed job's result (resultOf), its output first copied into `copyTo` (privateOutput's). */
function finish(op: string, p: { out: FloatArray; target: Tensor | null; shape: number[] }, copyTo: FloatArray | null): Tensor {
  if (copyTo !== null) {
    if (copyTo.length !== p.out.length) throw new TypeError(`${op}: out's buffer was detached while the job ran`);
    copyTo.set(p.out);
  }
  return resultOf(p);
}

function isResizable(a: FloatArray): boolean {
  const buf = a.buffer as { resizable?: boolean; growable?: boolean };
  return buf.resizable === true || buf.growable === true;
}

/**
 * The caller's `out`, which the kernel writes from another thread: it must
 * not be on a resizable buffer (shrinking it would unmap pages the kernel is
 * writing), and unlike an input it cannot be copied.
 */
function checkAsyncOut(op: string, out: FloatArray): void {
  if (isResizable(out)) {
    throw new TypeError(`${op}: out must not be a view of a resizable ArrayBuffer or growable SharedArrayBuffer (the kernel writes it from another thread)`);
  }
}

/**
 * At most this many jobs of this JS environment are on libuv's thread pool
 * at once; later ones wait here, in order. libuv has UV_THREADPOOL_SIZE
 * threads (default 4) for the whole process, shared with fs, dns, zlib and
 * crypto, and its queue is first in, first out: without a limit, 100 queued
 * products would hold up every fs call behind them. One thread is always
 * left to those, and more jobs than CPUs would only compete for the cores
 * (one GEMM already uses all of them).
 */
export const MAX_IN_FLIGHT = Math.max(1, Math.min(availableParallelism(), uvThreadpoolSize() - 1));

function uvThreadpoolSize(): number {
  const n = Number(process.env.UV_THREADPOOL_SIZE);
  return Number.isInteger(n) && n >= 1 ? Math.min(n, 1024) : 4;
}

// Jobs waiting for a slot, oldest first (a Set keeps insertion order, and an
// aborted job leaves it at once, releasing its buffers).
const waiting = new Set<() => void>();
let inFlight = 0;

function dispatch(): void {
  for (const start of waiting) {
    if (inFlight >= MAX_IN_FLIGHT) break;
    waiting.delete(start);
    inFlight++;
    start();
  }
}

/** Test hook: jobs waiting here (not yet handed to libuv) and jobs on libuv's pool. */
export function asyncQueueState(): { waiting: number; inFlight: number } {
  return { waiting: waiting.size, inFlight };
}

/**
 * One 'abort' listener per signal, however many pending calls share it (a
 * listener each would trip Node's MaxListenersExceededWarning at 11 calls);
 * removed with the last of them.
 */
interface SignalWatch {
  listener: () => void;
  onAbort: Set<() => void>;
}
const watches = new WeakMap<AbortSignal, SignalWatch>();

/** Calls f when signal aborts; returns the function that stops watching. */
function watch(signal: AbortSignal, f: () => void): () => void {
  let w = watches.get(signal);
  if (w === undefined) {
    const onAbort = new Set<() => void>();
    const listener = (): void => {
      watches.delete(signal);
      for (const g of onAbort) g();
    };
    w = { listener, onAbort };
    watches.set(signal, w);
    signal.addEventListener('abort', listener, { once: true });
  }
  const watched = w;
  watched.onAbort.add(f);
  return () => {
    if (!watched.onAbort.delete(f) || watched.onAbort.size > 0 || watches.get(signal) !== watched) return;
    watches.delete(signal);
    signal.removeEventListener('abort', watched.listener);
  };
}

let exitHooked = false;
/**
 * process.exit() waits for libuv's queued work: when it is called, this
 * environment's jobs on libuv's pool are skipped if they have not started,
 * and running matmuls and conv2d calls stop between their blocks of work.
 */
function hookExit(): void {
  exitHooked = true;
  process.once('exit', () => native().closeAsync());
}

/**
 * One async op after its checks: `work` multiply-adds; `inline` runs the
 * sync call and returns its result; `launch` queues the async one (a native
 * *Async call, given the cancellation token or null; it parses the arguments
 * again, so a buffer detached while the job waited gives the sync call's
 * TypeError); `result` builds the Tensor once the output is written.
 * `callerOutput`: the output is the caller's `out` tensor, so an abort
 * while the job runs rejects only once the job has stopped (see
 * AsyncOptions.signal); a new output is simply dropped.
 */
function runAsync<T>(op: string, signal: AbortSignal | undefined, work: number, inline: () => T,
  launch: (token: object | null) => Promise<boolean>, result: () => T, callerOutput: boolean): Promise<T> {
  if (signal?.aborted) return Promise.reject(abortError(signal));
  if (work <= INLINE_MAX_WORK) return Promise.resolve(inline());
  if (!exitHooked) hookExit();
  return new Promise<T>((resolve, reject) => {
    let token: object | null = null; // set once the job is on libuv's pool
    const onAbort = (): void => {
      unwatch?.();
      if (token !== null) {
        native().abortAsync(token);
        // The job may still be writing the caller's out: `ran` rejects
        // once it has stopped.
        if (callerOutput) return;
      } else {
        waiting.delete(start);
      }
      reject(abortError(signal!));
    };
    const unwatch = signal ? watch(signal, onAbort) : null;
    const ran = (completed: boolean): T => {
      if (completed && !(callerOutput && signal?.aborted)) return result();
      // Without a signal a job is only dropped when the environment exits.
      throw signal?.aborted ? abortError(signal) : new Error(`${op}: cancelled because the JS environment is shutting down`);
    };
    function start(): void {
      token = signal ? {} : null;
      let pending: Promise<boolean>;
      try {
        pending = launch(token);
      } catch (err) {
        pending = Promise.reject(err);
      }
      pending.then(ran).then(resolve, reject).finally(() => {
        unwatch?.();
        inFlight--;
        dispatch();
      });
    }
    waiting.add(start);
    dispatch();
  });
}

// The twins prepare with `defer`: a new output is allocated (allocateLater)
// when the job runs inline or is handed to libuv, so jobs waiting for a slot
// hold none.
function runMatmulPlanAsync(op: string, signal: AbortSignal | undefined, p: MatmulPlan): Promise<Tensor> {
  let copyTo: FloatArray | null = null;
  if (p.work > INLINE_MAX_WORK) {
    copyTo = privateOutput(op, p);
    p.a = pinned(p.a);
    p.b = pinned(p.b);
  }
  return runAsync(op, signal, p.work, () => runMatmulPlan(allocateLater(op, p, false)),
    (token) => native().matmulAsync(token, p.a, p.b, allocateLater(op, p, true).out, p.m, p.k, p.n, p.aOffsets, p.bOffsets),
    () => finish(op, p, copyTo), p.target !== null);
}

export function runConv2dPlanAsync(op: string, signal: AbortSignal | undefined, p: Conv2dPlan): Promise<Tensor> {
  let copyTo: FloatArray | null = null;
  if (p.work > INLINE_MAX_WORK) {
    copyTo = privateOutput(op, p);
    p.x = pinned(p.x);
    p.weight = pinned(p.weight);
    if (p.bias !== null) p.bias = pinned(p.bias);
  }
  return runAsync(op, signal, p.work, () => runConv2dPlan(allocateLater(op, p, false)),
    (token) => native().conv2dAsync(token, p.x, p.weight, p.bias, allocateLater(op, p, true).out, p.n, p.c, p.h, p.w, p.cout, p.kh, p.kw,
      p.strideH, p.strideW, p.padTop, p.padBottom, p.padLeft, p.padRight, p.dilationH, p.dilationW, p.groups,
      p.packed ?? null, p.winograd ?? null),
    () => finish(op, p, copyTo), p.target !== null);
}

function runPool2dPlanAsync(op: string, signal: AbortSignal | undefined, p: Pool2dPlan): Promise<Tensor> {
  let copyTo: FloatArray | null = null;
  if (p.work > INLINE_MAX_WORK) {
    copyTo = privateOutput(op, p);
    p.x = pinned(p.x);
  }
  return runAsync(op, signal, p.work, () => runPool2dPlan(allocateLater(op, p, false)),
    (token) => native()[`${p.op}Async`](token, p.x, allocateLater(op, p, true).out, p.n, p.c, p.h, p.w, p.kh, p.kw,
      p.sh, p.sw, p.ph, p.pw, p.dh, p.dw, p.ceilMode, p.countIncludePad, p.divisor),
    () => finish(op, p, copyTo), p.target !== null);
}

// The twins. Each checks its options (a non-object, or a signal that is not
// an AbortSignal, is a TypeError naming the async function), then runs the
// sync function's prepare step (its checks and errors, verbatim) and the
// kernel as above.

/** matmul(a, b, {out}) on libuv's thread pool; options also take a signal. */
export function matmulAsync<D extends DType, E extends DType = D>(a: Tensor<D>, b: Tensor<E> & SameDType<D, E>, options?: MatmulOptions & AsyncOptions): Promise<Tensor<D>>;
export async function matmulAsync(a: Tensor, b: Tensor, options?: MatmulOptions & AsyncOptions): Promise<Tensor> {
  const signal = checkAsyncOptions('matmulAsync', options, MATMUL_ASYNC_KEYS);
  return runMatmulPlanAsync('matmulAsync', signal, prepareMatmul(a, b, options?.out, true));
}

/** conv2d(input, weight, options) on libuv's thread pool; options also take a signal. */
export function conv2dAsync<D extends DType, E extends DType = D>(input: Tensor<D>, weight: Tensor<E> & SameDType<D, E>, options?: Conv2dOptions & AsyncOptions): Promise<Tensor<D>>;
export async function conv2dAsync(input: Tensor, weight: Tensor, options: Conv2dOptions & AsyncOptions = {}): Promise<Tensor> {
  const signal = checkAsyncOptions('conv2dAsync', options, CONV2D_ASYNC_KEYS);
  return runConv2dPlanAsync('conv2dAsync', signal, prepareConv2d(input, weight, options, true));
}

/** d2l's corr2d(X, K) on libuv's thread pool. */
export function corr2dAsync<D extends DType, E extends DType = D>(X: Tensor<D>, K: Tensor<E> & SameDType<D, E>, options?: AsyncOptions): Promise<Tensor<D>>;
export async function corr2dAsync(X: Tensor, K: Tensor, options?: AsyncOptions): Promise<Tensor> {
  const signal = checkAsyncOptions('corr2dAsync', options, CORR2D_ASYNC_KEYS);
  return runConv2dPlanAsync('corr2dAsync', signal, prepareCorr2d(X, K, true));
}

/** d2l's corr2dMultiIn(X, K) on libuv's thread pool. */
export function corr2dMultiInAsync<D extends DType, E extends DType = D>(X: Tensor<D>, K: Tensor<E> & SameDType<D, E>, options?: AsyncOptions): Promise<Tensor<D>>;
export async function corr2dMultiInAsync(X: Tensor, K: Tensor, options?: AsyncOptions): Promise<Tensor> {
  const signal = checkAsyncOptions('corr2dMultiInAsync', options, CORR2D_ASYNC_KEYS);
  return runConv2dPlanAsync('corr2dMultiInAsync', signal, prepareCorr2dMultiIn(X, K, true));
}

/** d2l's corr2dMultiInOut(X, K) on libuv's thread pool. */
export function corr2dMultiInOutAsync<D extends DType, E extends DType = D>(X: Tensor<D>, K: Tensor<E> & SameDType<D, E>, options?: AsyncOptions): Promise<Tensor<D>>;
export async function corr2dMultiInOutAsync(X: Tensor, K: Tensor, options?: AsyncOptions): Promise<Tensor> {
  const signal = checkAsyncOptions('corr2dMultiInOutAsync', options, CORR2D_ASYNC_KEYS);
  return runConv2dPlanAsync('corr2dMultiInOutAsync', signal, prepareCorr2dMultiInOut(X, K, true));
}

/** d2l's corr2dMultiInOut1x1(X, K), the matmul formulation, on libuv's thread pool. */
export function corr2dMultiInOut1x1Async<D extends DType, E extends DType = D>(X: Tensor<D>, K: Tensor<E> & SameDType<D, E>, options?: AsyncOptions): Promise<Tensor<D>>;
export async function corr2dMultiInOut1x1Async(X: Tensor, K: Tensor, options?: AsyncOptions): Promise<Tensor> {
  const signal = checkAsyncOptions('corr2dMultiInOut1x1Async', options, CORR2D_ASYNC_KEYS);
  return runMatmulPlanAsync('corr2dMultiInOut1x1Async', signal, prepareCorr2dMultiInOut1x1(X, K, true));
}

/** maxPool2d(input, kernelSize, options) on libuv's thread pool; options also take a signal. */
export function maxPool2dAsync<D extends DType>(input: Tensor<D>, kernelSize: IntPair, options?: MaxPool2dOptions & AsyncOptions): Promise<Tensor<D>>;
export async function maxPool2dAsync(input: Tensor, kernelSize: IntPair, options: MaxPool2dOptions & AsyncOptions = {}): Promise<Tensor> {
  const signal = checkAsyncOptions('maxPool2dAsync', options, MAX_POOL2D_ASYNC_KEYS);
  return runPool2dPlanAsync('maxPool2dAsync', signal, preparePool2d('maxPool2d', input, kernelSize, options, true));
}

/** avgPool2d(input, kernelSize, options) on libuv's thread pool; options also take a signal. */
export function avgPool2dAsync<D extends DType>(input: Tensor<D>, kernelSize: IntPair, options?: AvgPool2dOptions & AsyncOptions): Promise<Tensor<D>>;
export async function avgPool2dAsync(input: Tensor, kernelSize: IntPair, options: AvgPool2dOptions & AsyncOptions = {}): Promise<Tensor> {
  const signal = checkAsyncOptions('avgPool2dAsync', options, AVG_POOL2D_ASYNC_KEYS);
  return runPool2dPlanAsync('avgPool2dAsync', signal, preparePool2d('avgPool2d', input, kernelSize, options, true));
}
