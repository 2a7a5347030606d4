#!/usr/bin/env node
// npm run test:pack            prebuilt path: install the packed tarball where
//                              no compiler is on PATH and use it from CJS + ESM;
//                              on linux-x64 the tarball also carries the
//                              linux-arm64 prebuild, which an aarch64 Node
//                              loads from the installed package under qemu
//                              (scripts/lib/arm64.mjs: tools installed as root);
//                              the x64 prebuild is also loaded by Node 18.17,
//                              22, 24 and 26 (scripts/lib/node-dist.mjs)
// node scripts/pack-test.mjs --source
//                              source fallback: pack without prebuilds/, install
//                              with the normal PATH, node-gyp must compile it
// node scripts/pack-test.mjs --all      both, one after the other
// --keep                       leave the temporary directories for inspection
//
// Exits non-zero on any failure and always ends with one `pack-test ...: PASS`
// or `... FAIL` line per mode. The temporary projects use the user's npm config
// (HOME, ~/.npmrc, cache, registry) but none of the npm_* variables `npm run`
// exports for this repository.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { ensureArm64Node, ensureCrossTools, qemuNode } from './lib/arm64.mjs';
import { OTHER_NODE_VERSIONS, ensureX64Node } from './lib/node-dist.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
for (const a of args) {
  if (!['--source', '--all', '--keep'].includes(a)) {
    console.error(`pack-test: unknown argument ${a} (use --source, --all, --keep)`);
    process.exit(2);
  }
}
const modes = args.has('--all') ? ['prebuilt', 'source'] : args.has('--source') ? ['source'] : ['prebuilt'];
const keep = args.has('--keep');

const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const tuple = `${process.platform}-${process.arch}`;
// The prebuilds a tarball packed here carries: this platform's, and from
// linux-x64 the cross-compiled linux-arm64 one.
const ARM64 = 'linux-arm64';
const tuples = tuple === 'linux-x64' ? [tuple, ARM64] : [tuple];
const NO_COMPILER = ['g++', 'gcc', 'cc', 'c++', 'clang', 'clang++', 'make', 'cmake', 'python', 'python3'];

// The seed example (d2l §6.4.3) as a user writes it: examples/seed.cjs and
// examples/seed.mjs, copied into the temporary project. Each ends by printing
// SEED_MARKER after its closing check.
const SEED_MARKER = 'closing check passed: 1x1 convolution == matmul';
// Preloaded with --require: at exit, report every .node file the process loaded
// (native addons go through the CJS loader, also under `import`).
const REPORT_NATIVE = `process.on('exit', () => {
  for (const k of Object.keys(require.cache)) if (k.endsWith('.node')) console.log('NATIVE-LOADED ' + k);
});
`;

// The seed's float32 calls are small enough to run in JS (lib/ops/tiny.ts)
// and load no .node; scripts/native-check.cjs, also copied into the project,
// goes through the native kernels and prints NATIVE_MARKER.
const NATIVE_MARKER = 'native check passed';

// ---------------------------------------------------------------- helpers
class Failure extends Error {}
const fail = (msg) => {
  throw new Failure(msg);
};
const secs = (ms) => `${(ms / 1000).toFixed(1)}s`;
let currentMode = '';
const log = (msg) => console.log(`[pack-test${currentMode && ` ${currentMode}`}] ${msg}`);
const timings = [];

function run(cmd, argv, { cwd = root, env = process.env, capture = false, allowFail = false } = {}) {
  const r = spawnSync(cmd, argv, { cwd, env, encoding: 'utf8', stdio: capture ? 'pipe' : 'inherit', maxBuffer: 64 << 20 });
  if (r.error) fail(`${cmd} could not start: ${r.error.message}`);
  if (r.status !== 0 && !allowFail) {
    if (capture) process.stderr.write(`${r.stdout ?? ''}${r.stderr ?? ''}`);
    fail(`\`${cmd} ${argv.join(' ')}\` (in ${cwd}) exited with ${r.status ?? r.signal}`);
  }
  return r;
}

function step(name, fn) {
  const t = Date.now();
  log(`${name} ...`);
  const out = fn();
  const ms = Date.now() - t;
  timings.push([`${currentMode}: ${name}`, ms]);
  log(`${name}: ok (${secs(ms)})`);
  return out;
}

function which(name, pathVar = process.env.PATH ?? '') {
  for (const dir of pathVar.split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {}
  }
  return null;
}

/** The user's environment minus what `npm run` exports about this repository. */
function cleanEnv(extra = {}) {
  const keepConfig = new Set([
    'cache', 'registry', 'userconfig', 'globalconfig', 'cafile', 'ca', 'strict_ssl', 'proxy', 'https_proxy',
    'noproxy', 'offline', 'prefer_offline', 'prefer_online', 'nodedir', 'loglevel',
  ]);
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    const lk = k.toLowerCase();
    if (lk.startsWith('npm_config_')) {
      if (keepConfig.has(lk.slice('npm_config_'.length))) env[k] = v;
    } else if (!lk.startsWith('npm_') && k !== 'INIT_CWD') {
      env[k] = v;
    }
  }
  return { ...env, ...extra };
}

// A PATH with only node, npm, npx and sh, and an environment that names no compiler.
function restrictedEnv(tmp) {
  const bin = path.join(tmp, 'bin');
  fs.mkdirSync(bin);
  const npmCli = process.env.npm_execpath && /npm-cli\.js$/.test(process.env.npm_execpath)
    ? process.env.npm_execpath
    : which('npm');
  if (!npmCli) fail('npm not found on PATH');
  const npxCli = which('npx') ?? path.join(path.dirname(fs.realpathSync(npmCli)), 'npx-cli.js');
  const sh = which('sh') ?? '/bin/sh';
  const links = { node: process.execPath, npm: npmCli, npx: npxCli, sh };
  for (const [name, target] of Object.entries(links)) fs.symlinkSync(fs.realpathSync(target), path.join(bin, name));
  const env = cleanEnv({ PATH: bin });
  for (const k of ['CC', 'CXX', 'LD', 'MAKE', 'PYTHON', 'npm_config_python', 'NODE_GYP_FORCE_PYTHON']) delete env[k];

  // The restricted PATH must really have no compiler, make or python.
  const found = [];
  for (const tool of NO_COMPILER) {
    const r = spawnSync(path.join(bin, 'sh'), ['-c', `command -v ${tool}`], { env, encoding: 'utf8' });
    if (r.status === 0) found.push(`${tool} -> ${r.stdout.trim()}`);
  }
  if (found.length) fail(`restricted PATH still finds: ${found.join(', ')}`);
  const ok = spawnSync(path.join(bin, 'sh'), ['-c', 'command -v node && command -v npm && node -v && npm -v'], { env, encoding: 'utf8' });
  if (ok.status !== 0) fail(`node/npm not usable on the restricted PATH: ${ok.stderr}`);
  log(`restricted PATH=${bin} has: ${fs.readdirSync(bin).join(', ')}; \`sh -c 'command -v X'\` fails for ${NO_COMPILER.join(', ')}`);
  return env;
}

function ensureDist() {
  const need = ['dist/index.js', 'dist/index.mjs', 'dist/index.d.ts', 'dist/index.d.mts'];
  if (need.every((f) => fs.existsSync(path.join(root, f)))) return;
  step('npm run build:ts (dist/ missing)', () => run('npm', ['run', 'build:ts']));
}

// scripts/build-prebuilds.mjs's name for a Linux prebuild (libc tag glibc).
const PREBUILD_NAME = `${pkg.name}.napi.glibc.node`;

function ensurePrebuilds(target) {
  const dir = path.join(root, 'prebuilds', target);
  const args = ['run', 'build:prebuilds', ...(target === tuple ? [] : ['--', '--arch', target.split('-')[1]])];
  const what = `npm ${args.join(' ')}`;
  const prebuilt = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.node')) : [];
  if (prebuilt.length && !prebuilt.includes(PREBUILD_NAME)) {
    step(`${what} (prebuilds/${target} has ${prebuilt.join(', ')}, not ${PREBUILD_NAME})`, () => run('npm', args));
    return;
  }
  if (prebuilt.length) {
    // Rebuilt when a source is newer: a stale prebuild would be tested and
    // packed against today's dist/ (a local tree's prebuilds/ is ignored by git).
    const builtAt = Math.min(...prebuilt.map((f) => fs.statSync(path.join(dir, f)).mtimeMs));
    const sources = ['binding.gyp', ...fs.readdirSync(path.join(root, 'native')).map((f) => `native/${f}`)];
    const newer = sources.filter((f) => fs.statSync(path.join(root, f)).mtimeMs > builtAt);
    if (newer.length === 0) return;
    log(`${newer.length > 3 ? `${newer.slice(0, 3).join(', ')} and ${newer.length - 3} more` : newer.join(', ')} newer than prebuilds/${target}/`);
    step(`${what} (prebuilds/${target} older than the sources)`, () => run('npm', args));
    return;
  }
  step(`${what} (prebuilds/${target} missing)`, () => run('npm', args));
}

/** npm pack `srcDir` into `dest`; returns { tgz, files }. */
function pack(srcDir, dest, extraEnv = {}) {
  fs.mkdirSync(dest, { recursive: true });
  const r = run('npm', ['pack', '--json', '--pack-destination', dest], { cwd: srcDir, env: cleanEnv(extraEnv), capture: true });
  const info = JSON.parse(r.stdout.slice(r.stdout.indexOf('[')))[0];
  const tgz = path.join(dest, info.filename);
  if (!fs.existsSync(tgz)) fail(`npm pack reported ${info.filename} but ${tgz} does not exist`);
  const files = info.files.map((f) => f.path);
  log(`${info.filename}: ${files.length} files, ${(info.size / 1024).toFixed(1)} kB packed, ${(info.unpackedSize / 1024).toFixed(1)} kB unpacked`);
  return { tgz, files };
}

function checkTarball(files, { prebuilds }) {
  const has = (f) => files.includes(f);
  const problems = [];
  for (const f of ['package.json', 'dist/index.js', 'dist/index.mjs', 'dist/index.d.ts', 'dist/index.d.mts', 'CMakeLists.txt', 'binding.gyp',
    'LICENSE', 'README.md', 'scripts/npm-lifecycle.cjs']) {
    if (!has(f)) problems.push(`missing ${f}`);
  }
  // Every source binding.gyp compiles, and every native/ file of the tree.
  const gyp = JSON.parse(fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8'));
  const gypSources = gyp.targets.flatMap((t) => t.sources ?? []);
  const nativeFiles = fs.readdirSync(path.join(root, 'native')).map((f) => `native/${f}`);
  for (const f of new Set([...gypSources, ...nativeFiles])) if (!has(f)) problems.push(`missing ${f}`);
  if (!files.some((f) => /^native\/[^/]+\.cc$/.test(f))) problems.push('no native/*.cc');
  const pre = files.filter((f) => f.startsWith('prebuilds/') && f.endsWith('.node'));
  for (const t of prebuilds ? tuples : []) {
    if (!pre.some((f) => f.startsWith(`prebuilds/${t}/`))) problems.push(`no prebuilds/${t}/*.node`);
  }
  if (!prebuilds && files.some((f) => f.startsWith('prebuilds/'))) problems.push('has prebuilds/ (must not, for the source test)');
  for (const bad of ['test/', 'bench/', 'build/', 'node_modules/', 'lib/', 'examples/', 'scripts/']) {
    // of scripts/, only the install and prepack checks the package's own lifecycle runs
    const hits = files.filter((f) => f.startsWith(bad) && f !== 'scripts/npm-lifecycle.cjs');
    if (hits.length) problems.push(`contains ${bad} (${hits.slice(0, 3).join(', ')}${hits.length > 3 ? ', ...' : ''})`);
  }
  if (problems.length) fail(`tarball contents: ${problems.join('; ')}`);
  log(`tarball lists dist/index.{js,mjs,d.ts,d.mts}, ${gypSources.length} gyp sources + native/ headers, CMakeLists.txt, binding.gyp, LICENSE, scripts/npm-lifecycle.cjs` +
    `${prebuilds ? `, ${pre.join(', ')}` : ', no prebuilds/'}; no test/, bench/, build/`);
}

function makeProject(dir, env, tgz) {
  fs.mkdirSync(dir, { recursive: true });
  run('npm', ['init', '-y'], { cwd: dir, env, capture: true });
  step('npm install <tarball>', () => run('npm', ['install', '--foreground-scripts', '--no-audit', '--no-fund', tgz], { cwd: dir, env }));
  for (const f of ['seed.cjs', 'seed.mjs']) fs.copyFileSync(path.join(root, 'examples', f), path.join(dir, f));
  fs.writeFileSync(path.join(dir, 'report-native.cjs'), REPORT_NATIVE);
  fs.copyFileSync(path.join(root, 'scripts', 'native-check.cjs'), path.join(dir, 'native-check.cjs'));
  const installed = path.join(dir, 'node_modules', pkg.name);
  if (!fs.existsSync(path.join(installed, 'package.json'))) fail(`${installed} missing after npm install`);
  return installed;
}

/**
 * Runs `files` (default seed.cjs, seed.mjs, native-check.cjs) in `dir` with
 * `exec` (default: this node with `env`); every loaded .node must be
 * `expectNative`, and the native check must load it.
 */
function runSeeds(dir, env, expectNative, {
  files = ['seed.cjs', 'seed.mjs', 'native-check.cjs'],
  exec = (args) => run('node', args, { cwd: dir, env, capture: true, allowFail: true }),
  label = '',
} = {}) {
  const outputs = {};
  for (const file of files) {
    const r = exec(['--require', './report-native.cjs', file]);
    const out = r.stdout ?? '';
    if (r.status !== 0) {
      process.stderr.write(out + (r.stderr ?? ''));
      fail(`${file}${label} exited with ${r.status ?? r.signal}`);
    }
    const isSeed = file !== 'native-check.cjs';
    if (isSeed && !/^tensor\(\[\[\[/m.test(out)) fail(`${file}${label} printed no tensor:\n${out}`);
    if (!out.includes(isSeed ? SEED_MARKER : NATIVE_MARKER)) fail(`${file}${label} did not reach the end of its check:\n${out}`);
    const loaded = [...out.matchAll(/^NATIVE-LOADED (.+)$/gm)].map((m) => fs.realpathSync(m[1]));
    if (loaded.length > 1 || (loaded.length === 1 && loaded[0] !== fs.realpathSync(expectNative)) || (!isSeed && loaded.length === 0)) {
      fail(`${file}${label} loaded ${loaded.join(', ') || 'no .node'}; expected ${expectNative}`);
    }
    if (!isSeed) {
      log(`${file}${label}: matmul and conv2d through ${path.relative(dir, loaded[0])} agree with plain loops`);
      continue;
    }
    outputs[file] = out.split('\n').filter((l) => !l.startsWith('NATIVE-LOADED') && l !== SEED_MARKER).join('\n').trim();
    log(`${file}${label}: printed a tensor, closing check passed, loaded ${loaded.length ? path.relative(dir, loaded[0]) : 'no .node (its float32 calls are small enough for JS)'}`);
  }
  if (outputs['seed.cjs'] !== undefined) console.log(outputs['seed.cjs'].replace(/^/gm, '    '));
  if (outputs['seed.mjs'] !== undefined && outputs['seed.cjs'] !== outputs['seed.mjs']) log('note: seed.cjs and seed.mjs printed different tensors');
}

function resolvedBinary(dir, env, installed) {
  const r = run('node', ['-e', `process.stdout.write(require('node-gyp-build').path(${JSON.stringify(installed)}))`], {
    cwd: dir, env, capture: true,
  });
  return r.stdout.trim();
}

// ---------------------------------------------------------------- modes
function prebuiltMode(tmp) {
  for (const t of tuples) ensurePrebuilds(t);
  ensureDist();
  const { tgz, files } = step('npm pack', () => pack(root, path.join(tmp, 'pack')));
  checkTarball(files, { prebuilds: true });

  const env = restrictedEnv(tmp);
  const app = path.join(tmp, 'app');
  const installed = makeProject(app, env, tgz);

  if (fs.existsSync(path.join(installed, 'build'))) fail(`${installed}/build exists: the install compiled instead of using the prebuild`);
  const resolved = resolvedBinary(app, env, installed);
  const prebuildDir = path.join(installed, 'prebuilds', tuple);
  if (path.dirname(resolved) !== prebuildDir) fail(`node-gyp-build resolves ${resolved}, not a file in ${prebuildDir}`);
  log(`no node_modules/${pkg.name}/build/; node-gyp-build resolves ${path.relative(app, resolved)}`);
  // A musl Node (Alpine) must not take the glibc prebuild: with none that
  // fits and no build/, node-gyp-build finds nothing (an install compiles).
  const musl = run('node', ['-e', `try { process.stdout.write(require('node-gyp-build').path(${JSON.stringify(installed)})) } catch (e) { process.stdout.write('none: ' + e.message.split('\\n')[0]) }`], {
    cwd: app, env: { ...env, LIBC: 'musl' }, capture: true,
  }).stdout;
  if (!musl.startsWith('none: ')) fail(`with LIBC=musl node-gyp-build resolves ${musl}: a glibc prebuild must not be picked there`);
  log(`with LIBC=musl node-gyp-build picks no prebuild (${musl.slice(6, 80)}...)`);
  step('seed via require and import (restricted PATH)', () => runSeeds(app, env, resolved));
  if (tuple === 'linux-x64') {
    step(`the installed package on Node ${OTHER_NODE_VERSIONS.join(', ')}`, () => runOtherNodes(app, env, installed, resolved));
  }
  if (tuples.includes(ARM64) && tuple !== ARM64) {
    step('the installed package on an aarch64 Node (qemu): linux-arm64 prebuild', () => runArm64(app, installed));
  }
}

/**
 * The installed package on the other x64 Nodes (scripts/lib/node-dist.mjs:
 * the oldest supported, and newer lines): the one Node-API prebuild must be
 * what node-gyp-build resolves there too, and the seed and the native check
 * pass on it.
 */
function runOtherNodes(dir, env, installed, want) {
  for (const version of OTHER_NODE_VERSIONS) {
    const { nodeBin } = ensureX64Node(version, log);
    const exec = (args) => run(nodeBin, args, { cwd: dir, env, capture: true, allowFail: true });
    const r = exec(['-p', `JSON.stringify([process.version, require('node-gyp-build').path(${JSON.stringify(installed)})])`]);
    if (r.status !== 0) fail(`Node ${version} could not resolve the package's binary:\n${r.stdout}${r.stderr}`);
    const [v, resolved] = JSON.parse(r.stdout.trim().split('\n').pop());
    if (v !== `v${version}` || fs.realpathSync(resolved) !== fs.realpathSync(want)) {
      fail(`Node ${v}: node-gyp-build resolves ${resolved}; expected ${want} on v${version}`);
    }
    runSeeds(dir, env, want, { exec, label: ` (Node ${v})` });
  }
}

/**
 * The installed package (its install compiled nothing) on an aarch64 Node
 * under qemu: node-gyp-build must pick prebuilds/linux-arm64, which reports
 * the neon kernels, and the native check and the seed pass on it.
 */
function runArm64(dir, installed) {
  ensureCrossTools(log);
  const { nodeBin } = ensureArm64Node(log);
  const want = fs.realpathSync(path.join(installed, 'prebuilds', ARM64, PREBUILD_NAME));
  const info = qemuNode(nodeBin, ['-p', `JSON.stringify([process.arch, require('node-gyp-build').path(${JSON.stringify(installed)}), require('${pkg.name}').backendInfo().isa])`], { cwd: dir });
  if (info.status !== 0) fail(`the aarch64 Node could not load the package:\n${info.stdout}${info.stderr}`);
  const [arch, resolved, isa] = JSON.parse(info.stdout.trim().split('\n').pop());
  if (arch !== 'arm64' || fs.realpathSync(resolved) !== want || isa !== 'neon') {
    fail(`aarch64 Node: arch ${arch}, node-gyp-build resolves ${resolved}, isa ${isa}; expected arm64, ${want}, neon`);
  }
  runSeeds(dir, {}, want, {
    files: ['native-check.cjs', 'seed.cjs'],
    exec: (args) => qemuNode(nodeBin, args, { cwd: dir }),
    label: ' (aarch64 Node)',
  });
  log(`aarch64 Node ${ARM64}: node-gyp-build resolves ${path.relative(dir, want)} (neon)`);
}

// scripts/npm-lifecycle.cjs prepack refuses a tarball without prebuilds unless told.
const NO_PREBUILDS = { NTENSOR_PACK_NO_PREBUILDS: '1' };

function sourceMode(tmp) {
  ensureDist();
  // A copy of exactly what npm would pack, minus prebuilds/.
  const listing = run('npm', ['pack', '--dry-run', '--json'], { env: cleanEnv(NO_PREBUILDS), capture: true }).stdout;
  const wanted = JSON.parse(listing.slice(listing.indexOf('[')))[0].files.map((f) => f.path);
  const src = path.join(tmp, 'src');
  for (const f of wanted.filter((f) => !f.startsWith('prebuilds/'))) {
    fs.mkdirSync(path.dirname(path.join(src, f)), { recursive: true });
    fs.copyFileSync(path.join(root, f), path.join(src, f));
  }
  const { tgz, files } = step('npm pack (copy without prebuilds/)', () => pack(src, path.join(tmp, 'pack'), NO_PREBUILDS));
  checkTarball(files, { prebuilds: false });

  const env = cleanEnv();
  const app = path.join(tmp, 'app');
  const installed = makeProject(app, env, tgz);

  const built = path.join(installed, 'build', 'Release', `${pkg.name}.node`);
  if (!fs.existsSync(built)) fail(`${built} missing: node-gyp did not compile at install`);
  if (fs.existsSync(path.join(installed, 'prebuilds'))) fail(`${installed}/prebuilds exists`);
  const resolved = resolvedBinary(app, env, installed);
  if (fs.realpathSync(resolved) !== fs.realpathSync(built)) fail(`node-gyp-build resolves ${resolved}, not ${built}`);
  log(`node-gyp compiled ${path.relative(app, built)} at install; node-gyp-build resolves it`);
  step('seed via require and import', () => runSeeds(app, env, built));

  // Without a compiler the install fails, and says what ntensor needs
  // (scripts/npm-lifecycle.cjs install-failed) after node-gyp's own error.
  step('npm install <tarball> with no compiler, python or make: fails saying what to install', () => {
    const bare = restrictedEnv(tmp);
    const dir = path.join(tmp, 'app-no-compiler');
    fs.mkdirSync(dir, { recursive: true });
    run('npm', ['init', '-y'], { cwd: dir, env: bare, capture: true });
    const r = run('npm', ['install', '--foreground-scripts', '--no-audit', '--no-fund', tgz], { cwd: dir, env: bare, capture: true, allowFail: true });
    const out = `${r.stdout}${r.stderr}`;
    if (r.status === 0) fail('npm install succeeded with no compiler and no prebuild');
    for (const want of ['ntensor: no prebuilt binary fits', 'npm rebuild ntensor', 'C++17 compiler']) {
      if (!out.includes(want)) fail(`the failed install does not say '${want}':\n${out.slice(-3000)}`);
    }
    log(`npm install exited ${r.status}; it says: ${out.slice(out.indexOf('ntensor: no prebuilt')).split('\n')[0]}`);
  });
}

// ---------------------------------------------------------------- main
let failed = false;
const tAll = Date.now();
for (const mode of modes) {
  currentMode = mode;
  const t = Date.now();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `ntensor-pack-${mode}-`));
  try {
    (mode === 'prebuilt' ? prebuiltMode : sourceMode)(tmp);
    console.log(`pack-test ${mode}: PASS (${secs(Date.now() - t)})`);
  } catch (err) {
    failed = true;
    console.log(`pack-test ${mode}: FAIL: ${err instanceof Failure ? err.message : err?.stack ?? err}`);
  } finally {
    if (keep) log(`kept ${tmp}`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  }
}
currentMode = '';
console.log(`timings: ${timings.map(([n, ms]) => `${n} ${secs(ms)}`).join('; ')}; total ${secs(Date.now() - tAll)}`);
process.exit(failed ? 1 : 0);
