#!/usr/bin/env node
// npm run test:neon: the aarch64 (NEON) kernels, checked on an x86-64
// machine. Cross-compiles test/native/gemm_check.cc with the addon's kernel
// sources (binding.gyp's list, without the two Node-API files) for aarch64,
// statically, and runs it under qemu-aarch64 (user-mode emulation): every
// GEMM path, 1 and 3 threads, both ISAs (neon, scalar) against fused
// multiply-add loops bit for bit, and conv2d's paths against its reference
// path. The default ISA must be neon.
//
// Needs aarch64-linux-gnu-g++ and qemu-aarch64. When either is missing and
// the script runs as root (CI), it installs Debian's g++-aarch64-linux-gnu
// and qemu-user with apt-get; otherwise it fails and says what to install.
// Build output goes to build-neon/ (ignored by git).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CXX = 'aarch64-linux-gnu-g++', QEMU = 'qemu-aarch64';
const PACKAGES = ['g++-aarch64-linux-gnu', 'qemu-user'];

function fail(msg) {
  console.error(`test:neon: ${msg}`);
  process.exit(1);
}
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

if (!has(CXX) || !has(QEMU)) {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    fail(`needs ${CXX} and ${QEMU}: apt-get install ${PACKAGES.join(' ')}`);
  }
  console.log(`test:neon: installing ${PACKAGES.join(' ')} (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...PACKAGES], { stdio: 'inherit', env });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...PACKAGES], { stdio: 'inherit', env });
  }
  if (r.status !== 0 || !has(CXX) || !has(QEMU)) fail(`could not install ${PACKAGES.join(' ')}`);
}

// The kernel sources: binding.gyp's, without the Node-API boundary.
const gyp = JSON.parse(fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8'));
const sources = gyp.targets[0].sources.filter((f) => !['native/addon.cc', 'native/async.cc'].includes(f));
if (!sources.includes('native/gemm_neon.cc')) fail('binding.gyp does not list native/gemm_neon.cc');

const outDir = path.join(root, 'build-neon');
fs.mkdirSync(outDir, { recursive: true });
const exe = path.join(outDir, 'gemm_check');
console.log(`test:neon: ${CXX} -O2 -static: test/native/gemm_check.cc and ${sources.length} kernel sources`);
let r = spawnSync(CXX, ['-O2', '-std=c++17', '-static', '-pthread', '-Wall', '-Wextra', '-Inative',
  'test/native/gemm_check.cc', ...sources, '-o', exe], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) fail('the aarch64 build failed');

console.log(`test:neon: ${QEMU} ${path.relative(root, exe)}`);
r = spawnSync(QEMU, [exe], { cwd: root, stdio: 'inherit', env: { ...process.env, GEMM_CHECK_EXPECT_ISA: 'neon' } });
if (r.status !== 0) fail(`gemm_check failed under ${QEMU} (exit ${r.status ?? r.signal})`);
console.log('test:neon: the aarch64 kernels give the contract\'s bits');
