#!/usr/bin/env node
// npm run test:coverage [-- --lines] [-- vitest args]: which lines of the
// native sources the test suite runs. Builds the addon with gcc's --coverage
// into build-coverage/ (build/Release is left alone), runs the whole vitest
// suite against it (NTENSOR_NATIVE_PATH, as test:sanitize does), then reads
// the counts with gcov and prints, per source file, its executable lines and
// how many of them ran. A file compiled into several objects (the generic
// kernels, once per ISA) gets a row per object. --lines also lists the lines
// that never ran.
//
// A line counts as run when any instantiation of it ran (a template's line
// for float64 that only float32 reaches is not a gap). The counts are written
// when a process exits normally, so vitest runs with --pool=threads here:
// its forked workers are ended with a signal and would write nothing. The
// event-loop tests run in a process of their own (below); child processes the
// tests start (examples, workers' own processes) add their counts too.
// Needs g++ and gcov 9 or later (JSON output); not part of CI.
//
// Options: --no-build skips the cmake-js and tsc builds; --lines.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { buildVariant, steps } from './lib/addon-variant.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, 'build-coverage');
const addon = path.join(outDir, 'Release', 'ntensor.node');
const objDir = path.join(outDir, 'CMakeFiles', 'ntensor.dir', 'native');

const args = process.argv.slice(2);
const noBuild = args.includes('--no-build');
const listLines = args.includes('--lines');
const vitestArgs = args.filter((a) => a !== '--no-build' && a !== '--lines');

const { run, fail } = steps('test:coverage', root);

if (!noBuild) buildVariant(root, outDir, 'NTENSOR_COVERAGE', 'gcov-instrumented (--coverage)', { run, fail });
if (!fs.existsSync(addon)) fail(`${addon} does not exist; run without --no-build`);

// Counts from an earlier run would add up with this one's.
for (const f of fs.readdirSync(objDir)) if (f.endsWith('.gcda')) fs.rmSync(path.join(objDir, f));

// All test files share one process with --pool=threads, and so one thread
// pool: the event-loop tests, which check every pool thread's scheduler slice
// and affinity, run in a second process of their own (the counts add up).
// Arguments for vitest replace both with one run of those.
const vitest = path.join(root, 'node_modules', 'vitest', 'vitest.mjs');
const ownProcess = ['test/eventloop.test.ts'];
const passes = vitestArgs.length > 0 ? [vitestArgs]
  : [ownProcess.flatMap((f) => ['--exclude', f]), ownProcess];
let status = 0;
for (const pass of passes) {
  // --reporter=default: no JSON report, so .vitest-results.json stays the plain run's.
  const s = run(`vitest --pool=threads ${pass.join(' ')} against build-coverage/`, process.execPath,
    [vitest, 'run', '--pool=threads', '--reporter=default', ...pass], { ...process.env, NTENSOR_NATIVE_PATH: addon });
  if (s !== 0) status = s;
}

// Per object (one per .cc), per source file under native/: line -> ran.
const nativeDir = path.join(root, 'native') + path.sep;
/** Marks line `ln` of `lines` as run if it ran here or anywhere before. */
const markRan = (lines, ln, ran) => lines.set(ln, (lines.get(ln) ?? false) || ran);
const rows = [];
for (const gcda of fs.readdirSync(objDir).filter((f) => f.endsWith('.gcda')).sort()) {
  const r = spawnSync('gcov', ['--json-format', '--stdout', '-o', objDir, path.join(objDir, gcda)],
    { cwd: outDir, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) fail(`gcov failed on ${gcda}: ${r.stderr}`);
  const object = gcda.replace(/\.gcda$/, '');  // conv.cc.gcda: conv.cc's object
  // One JSON document per line with --stdout.
  for (const doc of r.stdout.split('\n').filter((l) => l.trim() !== '')) {
    for (const file of JSON.parse(doc).files) {
      const abs = path.resolve(outDir, file.file);
      if (!abs.startsWith(nativeDir)) continue;
      const lines = new Map();
      for (const l of file.lines) markRan(lines, l.line_number, l.count > 0);
      if (lines.size === 0) continue;
      rows.push({ file: path.relative(root, abs), object, lines });
    }
  }
}
if (rows.length === 0) fail('no coverage counts were written (did the tests load build-coverage/?)');

// A header or .inc seen in several objects (the ISA copies): a row per
// object. The total counts each source line once: run if it ran in any.
const byFile = new Map();
for (const r of rows) byFile.set(r.file, [...(byFile.get(r.file) ?? []), r]);
let total = 0, ran = 0;
const table = [];
for (const [file, rs] of [...byFile].sort((a, b) => a[0].localeCompare(b[0]))) {
  for (const r of rs) {
    const n = r.lines.size, k = [...r.lines.values()].filter(Boolean).length;
    table.push({ name: rs.length > 1 ? `${file} (in ${r.object})` : file, n, k, r });
  }
  const merged = new Map();
  for (const r of rs) for (const [ln, ok] of r.lines) markRan(merged, ln, ok);
  total += merged.size;
  ran += [...merged.values()].filter(Boolean).length;
}
const width = Math.max(...table.map((t) => t.name.length));
console.log(`\nnative line coverage of the test suite (gcov; a line ran if any instantiation of it did)\n`);
console.log(`${'file'.padEnd(width)}  lines    ran  share`);
for (const t of table) {
  console.log(`${t.name.padEnd(width)}  ${String(t.n).padStart(5)}  ${String(t.k).padStart(5)}  ${(100 * t.k / t.n).toFixed(1).padStart(5)} %`);
}
console.log(`${'all (each source line once)'.padEnd(width)}  ${String(total).padStart(5)}  ${String(ran).padStart(5)}  ${(100 * ran / total).toFixed(1).padStart(5)} %`);
if (listLines) {
  for (const t of table) {
    const missed = [...t.r.lines].filter(([, ok]) => !ok).map(([ln]) => ln).sort((a, b) => a - b);
    if (missed.length === 0) continue;
    const src = fs.readFileSync(path.join(root, t.r.file), 'utf8').split('\n');
    console.log(`\n${t.name}: ${missed.length} lines never ran`);
    for (const ln of missed) console.log(`  ${String(ln).padStart(5)}  ${src[ln - 1].trim()}`);
  }
}
if (status !== 0) fail(`the test suite failed (status ${status})`);
