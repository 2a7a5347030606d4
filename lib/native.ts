// Loads the addon once per JS environment (main thread or worker) through
// node-gyp-build: prebuilds/<platform>-<arch>/ first, then build/Release.
// NTENSOR_NATIVE_PATH=/abs/path/to/ntensor.node loads exactly that file
// instead (used by `npm run test:sanitize` to test the ASan/UBSan build).
import * as path from 'node:path';

import type { FloatArray } from './dtype';

export interface BackendInfo {
  /** Instruction set the kernels run: 'avx2-fma' or 'scalar'. */
  isa: string;
  threads: number;
  napiVersion: number;
}

/** The functions native/addon.cc exports. Each validates its arguments itself. */
export interface NativeBinding {
  matmul(a: FloatArray, b: FloatArray, out: FloatArray, m: number, k: number, n: number,
    aOffsets: Float64Array, bOffsets: Float64Array): void;
  conv2d(input: FloatArray, weight: FloatArray, bias: FloatArray | null, out: FloatArray,
    n: number, c: number, h: number, w: number, cout: number, kh: number, kw: number,
    strideH: number, strideW: number, padH: number, padW: number): void;
  backendInfo(): BackendInfo;
}

let binding: NativeBinding | undefined;

export function native(): NativeBinding {
  return binding ?? (binding = load());
}

function load(): NativeBinding {
  const override = process.env.NTENSOR_NATIVE_PATH;
  if (override) return loadExact(override);
  const root = path.resolve(__dirname, '..');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
  try {
    return nodeGypBuild(root) as NativeBinding;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(
      `ntensor: no native binary could be loaded for ${process.platform}-${process.arch} ` +
        `(Node ${process.version}, Node-API ${process.versions.napi}).\n` +
        `No prebuilt binary in ${path.join(root, 'prebuilds')} fits and ${path.join(root, 'build', 'Release')} has none.\n` +
        `Build it from source with \`npm rebuild ntensor\` (needs python3, make, a C++17 compiler and Node's headers; ` +
        `offline, point npm at installed headers, e.g. \`npm rebuild ntensor --nodedir=/usr\`), ` +
        `or in a clone of the repository with \`npm run build\`.\nCause: ${reason}`,
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
