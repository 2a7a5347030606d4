// Loads the addon once per JS environment (main thread or worker) through
// node-gyp-build: prebuilds/<platform>-<arch>/ first, then build/Release.
// NTENSOR_NATIVE_PATH=/abs/path/to/ntensor.node loads exactly that file
// instead (used by `npm run test:sanitize` to test the ASan/UBSan build).
import * as path from 'node:path';

import type { FloatArray } from './dtype';

/** Register (mr x nr) and cache (mc, kc, nc) blocking of one dtype's GEMM. */
export interface GemmBlocking {
  mr: number;
  nr: number;
  mc: number;
  kc: number;
  nc: number;
  /** Products of up to small³ multiply-adds (B's rows contiguous) skip packing and threads. */
  small: number;
}

export interface BackendInfo {
  /** Instruction set the kernels run: 'avx512', 'avx2' (x86-64), 'neon' (aarch64) or 'scalar'. */
  isa: string;
  /** Threads a GEMM may use (the calling thread included); see setNumThreads. */
  threads: number;
  napiVersion: number;
  /** The instruction sets this CPU supports, best first. */
  supportedIsas: string[];
  /** GEMM blocking of the current ISA per dtype. */
  blocking: { float32: GemmBlocking; float64: GemmBlocking };
  /**
   * NTENSOR_NUM_THREADS as the thread pool found it when it was made, when
   * that was not an integer from 1 to 256 and so was ignored (a warning
   * says so when the addon loads); absent otherwise.
   */
  ignoredNumThreadsEnv?: string;
}

/** Counts of one JS environment's async jobs (native/async.h). */
export interface AsyncStats {
  queued: number;
  /** Picked up by a thread and run (to the end or until stopped). */
  started: number;
  /** Cancelled before a thread picked them up: the kernel never ran. */
  skipped: number;
  /** Cancelled while running: the kernel stopped between blocks. */
  stopped: number;
  completed: number;
  /** Promise settled and references to the typed arrays released. */
  settled: number;
  /** queued - settled. */
  live: number;
  /** The environment is exiting (closeAsync, or a Promise that could not be settled). */
  closing: boolean;
}

/** The functions native/addon.cc exports. Each validates its arguments itself. */
export interface NativeBinding {
  matmul(a: FloatArray, b: FloatArray, out: FloatArray, m: number, k: number, n: number,
    aOffsets: Float64Array, bOffsets: Float64Array): void;
  /** weight is cout x (c / groups) x kh x kw; out is n x cout x oh x ow. */
  conv2d(input: FloatArray, weight: FloatArray, bias: FloatArray | null, out: FloatArray,
    n: number, c: number, h: number, w: number, cout: number, kh: number, kw: number,
    strideH: number, strideW: number, padTop: number, padBottom: number, padLeft: number, padRight: number,
    dilationH: number, dilationW: number, groups: number): void;
  /** The same call with the 16 sizes (n .. groups, in that order) in one Float64Array (read once, at the call). */
  conv2d(input: FloatArray, weight: FloatArray, bias: FloatArray | null, out: FloatArray, sizes: Float64Array): void;
  /**
   * The same with the weights packed ahead by conv2dPack from these weights
   * and, for a 3x3 stride-1 undilated conv2d, Winograd's from
   * conv2dWinogradPack (each null: none).
   */
  conv2d(input: FloatArray, weight: FloatArray, bias: FloatArray | null, out: FloatArray, sizes: Float64Array,
    packed: ArrayBuffer | null, winograd?: ArrayBuffer | null): void;
  /**
   * weight (cout x k, k = c / groups * kh * kw) packed for the transposed
   * implicit GEMM in the current ISA's layout (native/kernels.h:
   * conv2d_pack_*), or null when the ISA has none for the dtype.
   */
  conv2dPack(weight: FloatArray, cout: number, k: number, groups: number): ArrayBuffer | null;
  /**
   * weight (cout x cg x 3 x 3) transformed for Winograd F(2x2, 3x3)
   * (native/kernels.h: conv2d_winograd_*), for any ISA; null when that
   * would pass 4x the weights plus 1 MiB (few channels per group, where
   * Winograd never runs).
   */
  conv2dWinogradPack(weight: FloatArray, cout: number, cg: number, groups: number): ArrayBuffer | null;
  maxPool2d(input: FloatArray, out: FloatArray, n: number, c: number, h: number, w: number,
    kh: number, kw: number, strideH: number, strideW: number, padH: number, padW: number,
    dilationH: number, dilationW: number, ceilMode: boolean, countIncludePad: boolean, divisor: number): void;
  avgPool2d(input: FloatArray, out: FloatArray, n: number, c: number, h: number, w: number,
    kh: number, kw: number, strideH: number, strideW: number, padH: number, padW: number,
    dilationH: number, dilationW: number, ceilMode: boolean, countIncludePad: boolean, divisor: number): void;
  /**
   * The async variants (native/async.h): the sync call's arguments after a
   * cancellation token (null, or a fresh object for abortAsync); resolve
   * with true once `out` holds the result, false if the job was cancelled.
   */
  matmulAsync(token: object | null, a: FloatArray, b: FloatArray, out: FloatArray, m: number, k: number, n: number,
    aOffsets: Float64Array, bOffsets: Float64Array): Promise<boolean>;
  conv2dAsync(token: object | null, input: FloatArray, weight: FloatArray, bias: FloatArray | null, out: FloatArray,
    n: number, c: number, h: number, w: number, cout: number, kh: number, kw: number,
    strideH: number, strideW: number, padTop: number, padBottom: number, padLeft: number, padRight: number,
    dilationH: number, dilationW: number, groups: number, packed?: ArrayBuffer | null,
    winograd?: ArrayBuffer | null): Promise<boolean>;
  maxPool2dAsync(token: object | null, input: FloatArray, out: FloatArray, n: number, c: number, h: number, w: number,
    kh: number, kw: number, strideH: number, strideW: number, padH: number, padW: number,
    dilationH: number, dilationW: number, ceilMode: boolean, countIncludePad: boolean, divisor: number): Promise<boolean>;
  avgPool2dAsync(token: object | null, input: FloatArray, out: FloatArray, n: number, c: number, h: number, w: number,
    kh: number, kw: number, strideH: number, strideW: number, padH: number, padW: number,
    dilationH: number, dilationW: number, ceilMode: boolean, countIncludePad: boolean, divisor: number): Promise<boolean>;
  /** Cancels the job queued with this token: skipped if not started, stopped between blocks if running. */
  abortAsync(token: object): void;
  /** This environment is exiting: its queued jobs are skipped and its running ones stopped. */
  closeAsync(): void;
  /** Test hook: this environment's async job counters. */
  _asyncStats(): AsyncStats;
  backendInfo(): BackendInfo;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  /** Test hook: force the kernels' ISA (only down to what the CPU supports); returns the one set. */
  _setIsa(name: 'avx512' | 'avx2' | 'neon' | 'scalar' | 'auto'): string;
  /** Test hook: force the GEMM path (small loop, packed, packed and split over all threads, GEMV split over all threads). */
  _setGemmPath(mode: 'auto' | 'small' | 'packed' | 'parallel' | 'gemv'): string;
  /** Speed scripts: the current ISA's one-thread FMA peak in GFLOP/s, measured for about `seconds`. */
  _fmaPeak(dtype: 'float32' | 'float64', seconds: number): number;
  /** Test hook: moves this thread onto its first allowed CPU, then off it as a pool worker leaves its region owner's CPU; null where that cannot be checked (not Linux, one CPU). */
  _checkLeaveCpu(): { from: number; to: number; maskKept: boolean } | null;
  /** Test hook: wake-ups of a sleeping pool worker for a region it took part in, and how many found it on the region owner's CPU. */
  _poolWakeStats(): { slept: number; onOwnerCpu: number; notNeeded: number };
  /** lib/dtype.ts: bytes from the start of `buffer` to its first 2 MiB boundary (0 if it starts on one). */
  _hugePageOffset(buffer: ArrayBuffer): number;
  /** Test hook: force the conv2d path (every path gives the same bits); returns the one set. */
  _setConvPath(mode: 'auto' | 'reference' | 'direct' | 'gemm' | 'gemm-t' | 'direct-t' | 'pointwise' | 'winograd'): string;
  /** Test/bench hook: what this thread's last conv2d did and the extra memory it used. */
  _lastConv2d(): { path: string; packedWeightBytes: number; tileBytesPerThread: number; threads: number };
  /** Test hook: C = alpha * op(A) * op(B) + beta * C, row-major with leading dimensions (C in place). */
  _gemm(transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
    A: FloatArray, lda: number, B: FloatArray, ldb: number, beta: number, C: FloatArray, ldc: number): void;
}

let binding: NativeBinding | undefined;

export function native(): NativeBinding {
  if (binding) return binding;
  binding = load();
  const ignored = binding.backendInfo().ignoredNumThreadsEnv;
  if (ignored !== undefined) {
    process.emitWarning(
      `NTENSOR_NUM_THREADS='${ignored}' is not an integer from 1 to 256 and was ignored: ` +
        `ntensor uses ${binding.getNumThreads()} threads (the CPUs this process may run on)`,
      { code: 'NTENSOR_NUM_THREADS' },
    );
  }
  return binding;
}

function load(): NativeBinding {
  const override = process.env.NTENSOR_NATIVE_PATH;
  if (override) return loadExact(override);
  const root = path.resolve(__dirname, '..');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nodeGypBuild = require('node-gyp-build') as { resolve(dir: string): string };
  const rebuild = `Build it from source with \`npm rebuild ntensor\` (needs python3, make, a C++17 compiler and Node's headers; ` +
    `offline, point npm at installed headers, e.g. \`npm rebuild ntensor --nodedir=/usr\`), ` +
    `or in a clone of the repository with \`npm run build\`.`;
  const where = `${process.platform}-${process.arch} (Node ${process.version}, Node-API ${process.versions.napi})`;
  let file: string;
  try {
    file = nodeGypBuild.resolve(root);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(
      `ntensor: no native binary could be loaded for ${where}.\n` +
        `No prebuilt binary in ${path.join(root, 'prebuilds')} fits and ${path.join(root, 'build', 'Release')} has none.\n` +
        `${rebuild}\nCause: ${reason}`,
      { cause: err },
    );
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(file) as NativeBinding;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(
      `ntensor: no native binary could be loaded for ${where}.\n` +
        `${file} was chosen but could not be loaded (see the cause: a library it needs may be missing, ` +
        `or it was built for another system).\n${rebuild}\nCause: ${reason}`,
      { cause: err },
    );
  }
}

/** The override: exactly this file, no search, no fallback. */
function loadExact(file: string): NativeBinding {
  if (!path.isAbsolute(file)) {
    throw new Error(`ntensor: NTENSOR_NATIVE_PATH must be an absolute path to a .node file, got '${file}'`);
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(file) as NativeBinding;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`ntensor: NTENSOR_NATIVE_PATH=${file} could not be loaded.\nCause: ${reason}`, { cause: err });
  }
}

export function backendInfo(): BackendInfo {
  return native().backendInfo();
}

/**
 * Sets how many threads a matrix product may use, the calling thread
 * included (1 to 256; the default is the number of CPUs this process may
 * run on, or NTENSOR_NUM_THREADS). One pool serves the whole process, main
 * thread and workers alike. Results do not depend on the thread count.
 */
export function setNumThreads(n: number): void {
  native().setNumThreads(n);
}

/** The number of threads a matrix product may use (see setNumThreads). */
export function getNumThreads(): number {
  return native().getNumThreads();
}
