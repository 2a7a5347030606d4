#!/usr/bin/env node
// npm run test:sanitize [-- vitest args]: builds the addon with AddressSanitizer
// and UndefinedBehaviorSanitizer into build-sanitize/ (build/Release is left
// alone), then runs the whole vitest suite (fuzz test included) against that
// binary.
//
// Node itself is not instrumented, so the ASan runtime must be the first
// library in the process: it is preloaded with LD_PRELOAD (libubsan comes in
// with the addon as an ordinary dependency). NTENSOR_NATIVE_PATH makes
// lib/native.ts load exactly the sanitized binary. Every process the tests
// start (vitest's forks, worker_threads, the examples run with node and tsx)
// inherits the environment, so all of them run the sanitized addon.
//
// ASAN_OPTIONS=detect_leaks=0: LeakSanitizer would report, at exit, the memory
// that V8 and Node never free on purpose (isolate heaps, ICU data, per-process
// tables); Node is not built for LSan and has no suppression list, so every
// run would "fail" on allocations that are not ours. Out-of-bounds accesses,
// use-after-free and undefined behaviour are what this run is for.
// allocator_may_return_null=1: an allocation too large for the machine returns
// null as glibc's would, so V8 refuses the ArrayBuffer with a RangeError the
// tests expect, instead of ASan aborting (hard-inputs asks for 32 GiB).
// halt_on_error=1 (both sanitizers): the first report kills the process
// (exit status 1), which fails the test file, or the test that ran the child.
// ASan also writes its reports to files (log_path), so one from a child
// process whose failure a test might swallow is still seen: any report file
// makes this script fail and is printed at the end. (g++ 12's UBSan runtime
// ignores log_path next to ASan; its reports stay on stderr, still fatal.)
//
// First, the thread pool alone under ThreadSanitizer: test/native/pool_check.cc
// with native/threadpool.cc, built with -fsanitize=thread into build-sanitize/
// and run (a data race report, a task run twice or never, or a hang fails it).
// TSan cannot share a process with ASan, and Node is not built for it, so the
// pool is checked outside Node.
//
// Options: --no-build skips the cmake-js and tsc builds.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { buildVariant, steps } from './lib/addon-variant.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, 'build-sanitize');
const addon = path.join(outDir, 'Release', 'ntensor.node');

const args = process.argv.slice(2);
const noBuild = args.includes('--no-build');
const vitestArgs = args.filter((a) => a !== '--no-build');

const { run, fail } = steps('test:sanitize', root);

if (!noBuild) buildVariant(root, outDir, 'NTENSOR_SANITIZE', 'ASan+UBSan', { run, fail });
if (!fs.existsSync(addon)) fail(`${addon} does not exist; run without --no-build`);

// The runtime of the compiler that built the addon (CMake's default, g++).
const cxx = process.env.CXX || 'g++';

const poolCheck = path.join(outDir, 'pool_check-tsan');
fs.mkdirSync(outDir, { recursive: true });
if (run('building test/native/pool_check.cc with ThreadSanitizer', cxx,
  ['-O1', '-g', '-fsanitize=thread', '-std=c++17', '-pthread', '-Inative',
    'test/native/pool_check.cc', 'native/threadpool.cc', '-o', poolCheck]) !== 0) fail('the pool check did not build');
if (run('the thread pool under ThreadSanitizer', poolCheck, [],
  { ...process.env, TSAN_OPTIONS: 'halt_on_error=1:exitcode=66' }) !== 0) fail('the pool check failed under ThreadSanitizer');

const libasan = execFileSync(cxx, ['-print-file-name=libasan.so'], { encoding: 'utf8' }).trim();
if (!path.isAbsolute(libasan) || !fs.existsSync(libasan)) {
  fail(`${cxx} does not know where libasan.so is (got '${libasan}'); install the compiler's sanitizer runtime`);
}

const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ntensor-sanitize-'));
const logPrefix = path.join(logDir, 'report');
const env = {
  ...process.env,
  LD_PRELOAD: [libasan, process.env.LD_PRELOAD].filter(Boolean).join(':'),
  ASAN_OPTIONS: `detect_leaks=0:halt_on_error=1:allocator_may_return_null=1:log_path=${logPrefix}`,
  UBSAN_OPTIONS: `halt_on_error=1:print_stacktrace=1:log_path=${logPrefix}`,
  NTENSOR_NATIVE_PATH: addon,
  NTENSOR_SANITIZE: '1',
};

// Preflight: the override loads the instrumented file into a process that
// has both runtimes mapped, and a call works.
const probe = `
  const nt = require(${JSON.stringify(path.join(root, 'dist', 'index.js'))});
  const t = nt.full([16, 16], 2);                 // above the size that runs in JS
  if (nt.matmul(t, t).sum().item() !== 16 * 16 * 64) throw new Error('matmul gave a wrong result');
  const maps = require('fs').readFileSync('/proc/self/maps', 'utf8');
  for (const want of [${JSON.stringify(addon)}, 'libasan.so', 'libubsan.so']) {
    if (!maps.includes(want)) throw new Error(want + ' is not mapped');
  }`;
function printReports() {
  const reports = fs.readdirSync(logDir).map((f) => path.join(logDir, f));
  for (const f of reports) console.error(`\n===== sanitizer report ${f}\n${fs.readFileSync(f, 'utf8')}`);
  if (reports.length === 0) fs.rmSync(logDir, { recursive: true, force: true });
  return reports.length;
}
if (run('preflight: the sanitized addon loads', process.execPath, ['-e', probe], env) !== 0) {
  const n = printReports();
  fail(`the sanitized addon could not be loaded or failed${n > 0 ? ` (${n} sanitizer report(s), kept in ${logDir})` : ''}`);
}

const vitest = path.join(root, 'node_modules', 'vitest', 'vitest.mjs');
// --reporter=default: no JSON report, so .vitest-results.json (CI's count) stays the plain run's.
const status = run(`vitest against ${path.relative(root, addon)} (LD_PRELOAD=${libasan})`, process.execPath,
  [vitest, 'run', '--reporter=default', ...vitestArgs], env);

const nReports = printReports();
if (nReports > 0) fail(`${nReports} sanitizer report(s), kept in ${logDir}`);
if (status !== 0) fail(`vitest failed (exit status ${status})`);
console.log('test:sanitize: all tests passed under ASan+UBSan, no sanitizer reports');
