// What test-sanitize.mjs and coverage.mjs share: steps that print what they
// do and stop the script on failure, and an instrumented build of the addon
// (cmake-js into its own directory with one CMakeLists.txt option on;
// build/Release is left alone) with the TypeScript compiled to dist/, which
// the worker and example tests load.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

/** run(label, cmd, args, env?) -> exit status, printing `name: label` first; fail(msg) exits 1. */
export function steps(name, root) {
  const run = (label, cmd, cmdArgs, env = process.env) => {
    console.log(`${name}: ${label}`);
    const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit', env });
    if (r.error) throw r.error;
    return r.status ?? 1;
  };
  const fail = (msg) => {
    console.error(`${name}: ${msg}`);
    process.exit(1);
  };
  return { run, fail };
}

/** Builds the addon into outDir with `-D<option>=ON`, then dist/; fails the script if either fails. */
export function buildVariant(root, outDir, option, what, { run, fail }) {
  const cmakeJs = path.join(root, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
  if (run(`building the ${what} addon into ${path.relative(root, outDir)}/`, process.execPath,
    [cmakeJs, 'compile', '--out', outDir, `--CD${option}=ON`]) !== 0) fail('cmake-js build failed');
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  if (run('compiling the TypeScript (dist/)', process.execPath, [tsc, '-p', 'tsconfig.json']) !== 0) fail('tsc failed');
}
