#!/usr/bin/env node
// npm run build:prebuilds [-- --arch arm64]
//
// Builds the Node-API prebuild for the current platform with prebuildify
// (node-gyp + binding.gyp), stripped, into
//   prebuilds/<platform>-<arch>/ntensor.napi.glibc.node (linux; elsewhere ntensor.napi.node)
// With --arch arm64 on linux-x64: the linux-arm64 prebuild, cross-compiled
// with Debian's aarch64-linux-gnu toolchain against the headers of an
// aarch64 Node 20, and checked by loading it in that Node under qemu-aarch64
// (scripts/lib/arm64.mjs fetches both, and installs the tools as root).
// which node-gyp-build 4.8.4 picks at require time (tags: name, `napi`, and
// on Linux `glibc`: a musl Node skips it).
// prebuildify 6.0.1 itself names the file `<package name>.node` (no `napi`
// tag, whatever its README says); we add the tag so the file says what it is.
//
// Why a temporary copy: prebuildify runs `node-gyp rebuild`, which deletes
// ./build (the cmake-js dev build, build/Release/ntensor.node) and then moves
// the fresh .node out of build/Release. So the build runs in a scratch copy of
// package.json, binding.gyp and native/ and the dev tree's build/ is never
// touched (it is also backed up and checked, to be safe).
//
// Offline: node-gyp gets `nodedir` (the installed headers, <prefix>/include/node)
// explicitly, and an unreachable dist-url, so it can never download headers.
//
// Then it verifies the result: `file` says stripped, `objdump -T` symbol
// versions stay at or under GLIBC_2.14 (2.17 on arm64, its first glibc) /
// GLIBCXX_3.4.21 / CXXABI_1.3.9 (override with NTENSOR_MAX_GLIBC,
// NTENSOR_MAX_GLIBCXX, NTENSOR_MAX_CXXABI), and PREBUILDS_ONLY=1
// node-gyp-build loads it from prebuilds/ (on arm64: the aarch64 Node under
// qemu, which must report the neon kernels).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { copyAddonSources, findNodeDir } from './lib/addon-copy.mjs';
import { CROSS, crossEnv, ensureArm64Node, ensureCrossTools, qemuNode } from './lib/arm64.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

const argv = process.argv.slice(2);
const archAt = argv.indexOf('--arch');
const arch = archAt >= 0 ? argv[archAt + 1] : process.arch;
if (argv.length !== (archAt === 0 ? 2 : 0) || !arch) {
  console.error('usage: build-prebuilds.mjs [--arch arm64]');
  process.exit(2);
}
// Cross-compiling: only linux-x64 to linux-arm64.
const cross = arch !== process.arch;
if (cross && !(process.platform === 'linux' && process.arch === 'x64' && arch === 'arm64')) {
  console.error(`build-prebuilds: cannot build for ${arch} on ${process.platform}-${process.arch} (only linux-x64 -> arm64)`);
  process.exit(2);
}
const tuple = `${process.platform}-${arch}`;
const outDir = path.join(root, 'prebuilds', tuple);
// Linux prebuilds say they are glibc builds (node-gyp-build's libc tag), so
// musl (Alpine) does not take them and compiles instead.
const outName = `${pkg.name}.napi${process.platform === 'linux' ? '.glibc' : ''}.node`;
const outFile = path.join(outDir, outName);
const devBinary = path.join(root, 'build', 'Release', `${pkg.name}.node`);

const LIMITS = {
  GLIBC: process.env.NTENSOR_MAX_GLIBC || (arch === 'arm64' ? '2.17' : '2.14'),
  GLIBCXX: process.env.NTENSOR_MAX_GLIBCXX || '3.4.21',
  CXXABI: process.env.NTENSOR_MAX_CXXABI || '1.3.9',
};

const t0 = Date.now();
const log = (msg) => console.log(`[build:prebuilds] ${msg}`);
const secs = (ms) => `${(ms / 1000).toFixed(1)}s`;

class Failure extends Error {}
function fail(msg) {
  throw new Failure(msg);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: opts.capture ? 'pipe' : 'inherit', ...opts });
  if (r.error) fail(`${cmd} could not start: ${r.error.message}`);
  if (r.status !== 0) {
    if (opts.capture) process.stderr.write(`${r.stdout ?? ''}${r.stderr ?? ''}`);
    fail(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}`);
  }
  return r.stdout ?? '';
}

const sha256 = (file) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

function cmpVersion(a, b) {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d) return d;
  }
  return 0;
}


const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ntensor-prebuild-'));
let devBackup = null;
let devHashBefore = null;
try {
  // 0. Protect the dev build.
  if (fs.existsSync(devBinary)) {
    devBackup = path.join(tmp, 'dev-backup.node');
    fs.copyFileSync(devBinary, devBackup);
    devHashBefore = sha256(devBinary);
  }

  // 1. Scratch copy of what node-gyp needs; node_modules is linked (node-addon-api, prebuildify).
  const work = path.join(tmp, 'src');
  copyAddonSources(root, work);

  // Cross: the aarch64 Node's headers (the same Node-API) and its binary for the check.
  const arm64 = cross ? (ensureCrossTools(log), ensureArm64Node(log)) : null;
  let nodedir = arm64?.nodeDir;
  if (!nodedir) {
    try {
      nodedir = findNodeDir(log);
    } catch (err) {
      fail(err.message);
    }
  }
  const gypCache = path.join(tmp, 'gyp-devdir');
  log(`node ${process.version}, Node-API ${process.versions.napi}, ${tuple}${cross ? ' (cross-compiled)' : ''}; headers from ${nodedir}/include/node`);

  // 2. prebuildify through npx (it needs npm's PATH to find node-gyp).
  const tBuild = Date.now();
  const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
  run(
    npx,
    ['--no', '--', 'prebuildify', '--napi', '--strip', `--arch=${arch}`, `--target=${process.versions.node}`, `--cwd=${work}`, `--cache=${gypCache}`],
    {
      cwd: root,
      env: {
        ...process.env,
        ...(cross ? { ...crossEnv(), PREBUILD_STRIP_BIN: CROSS.strip } : {}),
        npm_config_nodedir: nodedir,
        // Any header download attempt (node-gyp reads this mirror) fails at once.
        NODEJS_ORG_MIRROR: 'http://127.0.0.1:9',
        npm_config_offline: 'true',
        npm_config_loglevel: process.env.npm_config_loglevel === 'verbose' ? 'verbose' : 'warn',
      },
    },
  );
  const buildMs = Date.now() - tBuild;
  if (fs.existsSync(path.join(gypCache, 'node', process.versions.node))) {
    fail(`node-gyp populated ${gypCache}: it fetched headers instead of using ${nodedir}`);
  }

  const builtDir = path.join(work, 'prebuilds', tuple);
  const built = fs.existsSync(builtDir) ? fs.readdirSync(builtDir).filter((f) => f.endsWith('.node')) : [];
  if (built.length !== 1) fail(`expected one .node in ${builtDir}, found: ${built.join(', ') || 'none'}`);
  log(`prebuildify produced ${built[0]} in ${secs(buildMs)}; installing as prebuilds/${tuple}/${outName}`);

  // 3. Install into prebuilds/<tuple>/ (replace stale .node files there).
  fs.mkdirSync(outDir, { recursive: true });
  for (const f of fs.readdirSync(outDir)) if (f.endsWith('.node')) fs.rmSync(path.join(outDir, f));
  fs.copyFileSync(path.join(builtDir, built[0]), `${outFile}.tmp`);
  fs.renameSync(`${outFile}.tmp`, outFile);

  // 4. Verify.
  const fileOut = run('file', ['-b', outFile], { capture: true }).trim();
  log(`file: ${fileOut}`);
  if (!/\bstripped\b/.test(fileOut) || /not stripped/.test(fileOut)) fail('binary is not stripped');

  const objdump = cross ? CROSS.objdump : 'objdump';
  if (cross && !/\bARM aarch64\b/.test(fileOut)) fail(`not an aarch64 binary: ${fileOut}`);
  const dyn = run(objdump, ['-T', outFile], { capture: true });
  const max = {};
  for (const m of dyn.matchAll(/\b(GLIBCXX|GLIBC|CXXABI|GCC)_(\d+(?:\.\d+)*)\b/g)) {
    const [, lib, v] = m;
    if (!max[lib] || cmpVersion(v, max[lib]) > 0) max[lib] = v;
  }
  log(`max symbol versions: ${Object.entries(max).map(([k, v]) => `${k}_${v}`).join('  ')}`);
  for (const [lib, limit] of Object.entries(LIMITS)) {
    if (max[lib] && cmpVersion(max[lib], limit) > 0) fail(`${lib}_${max[lib]} is newer than the allowed ${lib}_${limit}`);
  }
  const needed = [...run(objdump, ['-p', outFile], { capture: true }).matchAll(/NEEDED\s+(\S+)/g)].map((m) => m[1]);
  log(`NEEDED: ${needed.join(' ')}`);

  const probeArgs = [
    '-e',
    "const g=require('node-gyp-build');const p=g.path(process.cwd());const b=g(process.cwd());" +
      'console.log(JSON.stringify({path:p,arch:process.arch,info:b.backendInfo()}))',
  ];
  let probe;
  if (cross) {
    const r = qemuNode(arm64.nodeBin, probeArgs, { cwd: root, env: { PREBUILDS_ONLY: '1' } });
    if (r.status !== 0) fail(`the aarch64 Node could not load it under qemu:\n${r.stdout}${r.stderr}`);
    probe = r.stdout;
  } else {
    probe = run(process.execPath, probeArgs, { cwd: root, capture: true, env: { ...process.env, PREBUILDS_ONLY: '1' } });
  }
  const { path: loaded, arch: loadedArch, info } = JSON.parse(probe.trim().split('\n').pop());
  if (path.resolve(loaded) !== outFile) fail(`node-gyp-build resolved ${loaded}, not ${outFile}`);
  if (loadedArch !== arch) fail(`loaded by a ${loadedArch} Node, not ${arch}`);
  if (cross && info.isa !== 'neon') fail(`the aarch64 build reports isa ${info.isa}, not neon`);
  log(`PREBUILDS_ONLY=1 node-gyp-build loads ${path.relative(root, loaded)}: ${JSON.stringify(info)}`);
  log(`size ${fs.statSync(outFile).size} bytes, sha256 ${sha256(outFile).slice(0, 16)}…`);
  log(`PASS in ${secs(Date.now() - t0)}: ${path.relative(root, outFile)}`);
} catch (err) {
  console.error(`[build:prebuilds] FAIL: ${err instanceof Failure ? err.message : err.stack}`);
  process.exitCode = 1;
} finally {
  // 5. The dev build must still be there if it was before.
  if (devBackup) {
    if (!fs.existsSync(devBinary)) {
      fs.mkdirSync(path.dirname(devBinary), { recursive: true });
      fs.copyFileSync(devBackup, devBinary);
      log(`restored ${path.relative(root, devBinary)} from backup`);
    } else if (sha256(devBinary) !== devHashBefore) {
      log(`note: ${path.relative(root, devBinary)} changed during the run (someone rebuilt it); left as is`);
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}
