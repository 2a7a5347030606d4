#!/usr/bin/env node
// npm run test:clang [-- vitest args]: the sources built with clang, the
// compiler a source install on macOS gets (Apple's clang; there is no macOS
// prebuild) and that some Linux users set as CXX. GCC and clang take
// different pragmas for the per-ISA kernel files (native/target.h), and an
// addon that GCC builds cleanly can fail to compile under clang, so:
//
// 1. node-gyp builds binding.gyp with CC=clang CXX=clang++ (the install-time
//    path) in build-clang/addon/; a compiler warning from native/ fails it.
// 2. The whole vitest suite runs against that binary (NTENSOR_NATIVE_PATH),
//    every ISA the CPU has included.
// 3. clang++ --target=aarch64-linux-gnu builds test/native/gemm_check.cc with
//    the kernel sources, statically, and qemu-aarch64 runs it: the NEON
//    kernels as Apple silicon's compiler would build them (ELF, not Mach-O:
//    no Mac has run them), bit for bit against fused multiply-add loops.
//
// Needs clang (and, for 3, test:neon's cross tools and qemu); as root (CI)
// missing ones are installed with apt-get. Needs dist/ (npm run build:ts).
// Output goes to build-clang/ (ignored by git).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { copyAddonSources, findNodeDir, nodeGypScript } from './lib/addon-copy.mjs';
import { ensureTools } from './lib/apt.mjs';
import { ensureCrossTools, runGemmCheckArm64 } from './lib/arm64.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const say = (msg) => console.log(`test:clang: ${msg}`);
function fail(msg) {
  console.error(`test:clang: ${msg}`);
  process.exit(1);
}
const outDir = path.join(root, 'build-clang');
let nodeGyp, nodedir;
try {
  ensureTools(['clang', 'clang++'], ['clang'], say);
  nodeGyp = nodeGypScript();
  nodedir = findNodeDir(say);
} catch (err) {
  fail(err.message);
}
if (!fs.existsSync(path.join(root, 'dist', 'index.js'))) fail('dist/ is missing: npm run build:ts first');
const version = spawnSync('clang++', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];

// 1. The addon through node-gyp, as `npm install` builds it without a prebuild.
const addonDir = path.join(outDir, 'addon');
fs.rmSync(addonDir, { recursive: true, force: true });
copyAddonSources(root, addonDir);
say(`node-gyp rebuild with ${version}`);
const build = spawnSync(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodedir}`, '--jobs=max'], {
  cwd: addonDir, encoding: 'utf8', maxBuffer: 64 << 20,
  env: { ...process.env, CC: 'clang', CXX: 'clang++', LINK: 'clang++' },
});
const log = `${build.stdout ?? ''}${build.stderr ?? ''}`;
const addon = path.join(addonDir, 'build', 'Release', 'ntensor.node');
if (build.status !== 0 || !fs.existsSync(addon)) fail(`the clang build failed:\n${log.slice(-4000)}`);
const warnings = log.split('\n').filter((l) => /\bnative\/\S+:\d+:\d+: warning:/.test(l));
if (warnings.length) fail(`clang warns about our sources:\n${warnings.join('\n')}`);
say(`built ${path.relative(root, addon)}, no warnings from native/`);

// 2. The suite against it. --reporter=default: .vitest-results.json (CI's
//    count) stays the plain run's.
const vitest = path.join(root, 'node_modules', 'vitest', 'vitest.mjs');
say(`vitest against ${path.relative(root, addon)}`);
const run = spawnSync(process.execPath, [vitest, 'run', '--reporter=default', ...process.argv.slice(2)], {
  cwd: root, stdio: 'inherit', env: { ...process.env, NTENSOR_NATIVE_PATH: addon },
});
if (run.status !== 0) fail(`vitest failed against the clang build (exit ${run.status ?? run.signal})`);

// 3. The NEON kernels compiled by clang for aarch64, under qemu.
try {
  ensureCrossTools(say);
  runGemmCheckArm64({ cxx: 'clang++', flags: ['--target=aarch64-linux-gnu'], exe: path.join(outDir, 'gemm_check-aarch64'), log: say });
} catch (err) {
  fail(err.message);
}
say(`the clang builds pass: the addon (x86-64, the whole suite) and the aarch64 kernels (qemu, same bits)`);
