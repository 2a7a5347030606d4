// Rewrites the "latest run" section of bench/RESULTS.md (between the
// bench:latest markers) from a run's metadata and each suite's Markdown
// report, so the file is reproducible with `npm run bench -- --write-results`.
// Text outside the markers is kept, and so is the section of every suite the
// run did not measure (`--only`), marked with the run it came from.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { ROOT } from './machine.mjs';

const FILE = path.join(ROOT, 'bench', 'RESULTS.md');
const BEGIN = '<!-- bench:latest:begin (written by `npm run bench -- --write-results`; edits inside are overwritten) -->';
const END = '<!-- bench:latest:end -->';

const PREAMBLE = `# Benchmark results

\`npm run bench\` builds ntensor, then runs \`bench/index.mjs\`: ntensor's public API
against the libraries a user would pick instead, in one run on one machine, so
that the ratios compare like with like (absolute numbers drift 5–10 % between
runs on shared machines). \`npm run bench -- --write-results\` rewrites the
section below; \`--quick\` gives a shorter run, \`--help\` lists the flags.

Method: for matmul and conv2d the libraries are interleaved per case: for each
thread setting and each shape, every library (and its preallocated-output
variant) is timed back to back, in 7 rounds (\`--rounds\`) with the order of the
libraries rotated from round to round, so a slow phase of a shared machine falls
on all of them rather than on one library's column. Each library gets one warm-up
(first round), then timed samples (each sample repeats the call enough to last
≥ 2 ms; ~0.7 s of work per case, split evenly over the rounds, at least one
sample per round), and reports the median and the best sample per call over the
samples of all rounds (the JSON also keeps each round's median). Next to the
ratio of those medians, a "paired by round" table gives, for ntensor and each
peer, the median and the range over the rounds of the ratio of their two medians
in the same round: the two ran back to back, so a slow phase of the machine that
spans a round cancels in it, and the range shows how far one run's ratio can
be trusted. numpy and
PyTorch run in long-lived \`/usr/bin/python3\` children, one per OpenBLAS
configuration and thread count, each kept alive over all shapes and sent one
request per round, with the same timing plan. The peak is a native loop of
independent FMA chains (\`bench/peak/peak.cc\`, compiled by the bench with g++ into
\`bench/.build/\`), run before and after the suites; "% peak" reads the higher
of the two (the in-process suite also gives each GEMM's % of peak timed beside
the loop); \`bench/peak/pagefault.cc\` measures what a fresh 4 KiB page, a
huge page's share and a resident page cost to write. Each run also writes \`bench/results/<date>-<suite>.json\` (every
timing) and \`bench/results/<suite>.svg\` (GFLOP/s against size); both are gitignored.

At more than one thread, the pause before a library that runs in another
process or thread pool than the previous one lasts until the CPUs go quiet
(\`/proc/stat\`, 20–400 ms): OpenBLAS's workers keep a core spinning for
~125 ms after each call, and a fixed 20 ms pause left whoever came next one
core short.

The \`inprocess\` suite measures the GEMM engines without crossing
processes: \`bench/native/gemm-paired.cc\`, compiled by the bench from
ntensor's own kernel sources (\`native/gemm*.cc\`, \`native/threadpool.cc\`;
the addon's flags, no \`-march=native\`), loads the OpenBLAS that numpy loads
with \`dlopen\` (\`OPENBLAS_CORETYPE=SkylakeX\` on AVX-512 CPUs, as the
"·SkylakeX" columns) and times \`cblas_sgemm\` and ntensor's GEMM call by
call, alternating which goes first, on the same operands and preallocated
outputs, checking that both computed the same product. Each pair's ratio is
one measurement, and the table gives their median and quartiles. At more than
one thread every timed call follows a settle (until the process's threads are
idle) and one untimed call that wakes its library's threads. A last row pairs
ntensor's fp64 GEMM with \`cblas_dgemm\` at 1024, and steps of four calls give
each library's fp64 ÷ fp32 GFLOP/s at 1024 and its all-threads ÷ one-thread
GFLOP/s at 1024 and 2048; steps of three calls (ntensor, OpenBLAS, the FMA peak
loop sized to last as long: \`bench/peak/fma_loops.h\`) give each library's
one-thread % of the peak at 1024 and 2048, GEMM and peak measured in the same
moment.

Unless \`--no-out\`, matmul and conv2d also get "preallocated outputs (steady
state)" tables: every library that can write into an existing output does so,
into one output allocated before timing (ntensor's \`{ out }\` option,
onnxruntime-node's pre-allocated fetches, numpy's and torch's \`out=\`), so no
call pays for fresh output pages; each library is checked to write into that
output, and one that does not (or has no such argument) is left out with a note.

Peers, and how a machine gets them (each one missing is skipped with a note):
- onnxruntime-node 1.30.0 is a devDependency, so \`npm ci\` installs it;
  \`allowScripts\` denies its postinstall, which would fetch GPU files from outside
  the npm registry (its CPU binaries ship in the tarball). The bench writes the
  one-node ONNX model itself (\`bench/lib/onnx.mjs\`).
- numpy and PyTorch through \`/usr/bin/python3\` (\`NTENSOR_BENCH_PYTHON\` overrides):
  \`apt-get install -y python3-numpy python3-torch libopenblas0-pthread python3-threadpoolctl\`
  (threadpoolctl reports which OpenBLAS core runs and sets its thread count).
  Each runs with the environment as set and with \`OPENBLAS_CORETYPE\` and
  \`OPENBLAS_L2_SIZE\` unset in that child only; when OpenBLAS's own detection
  picks a core without AVX-512 kernels on an AVX-512 CPU, also with
  \`OPENBLAS_CORETYPE=SkylakeX\` (\`--openblas-coretype\` changes this).

`;

function bullet(label, value) {
  return value === null || value === undefined || value === '' ? null : `- ${label}: ${value}`;
}

export function writeResultsMd({ meta, peak, pageCost = null, reports }) {
  const versions = Object.assign({}, ...reports.map((r) => r.result.versions ?? {}));
  const cpu = meta.cpu;
  const nt = meta.ntensor;
  const lines = [
    BEGIN,
    '',
    `## Latest run: ${meta.date.slice(0, 10)}`,
    '',
    `\`${meta.command}\` (${meta.mode} plan, ${Math.round(meta.wallSeconds)} s wall).`,
    '',
    '**Machine**',
    '',
    bullet('CPU (lscpu)', `${cpu.model}${cpu.vendor ? ` (${cpu.vendor}${cpu.family ? `, family ${cpu.family} model ${cpu.modelNumber} stepping ${cpu.stepping}` : ''})` : ''}, ${cpu.cpus} CPUs = ${cpu.coresPerSocket ?? '?'} cores × ${cpu.threadsPerCore ?? '?'} thread(s) per core${cpu.hypervisor ? `, under ${cpu.hypervisor}` : ''}`),
    bullet('ISA', `${cpu.avx512f ? 'AVX-512F, ' : ''}${cpu.avx2 ? 'AVX2' : ''}${cpu.fma ? ', FMA' : ''}`),
    bullet('caches', [cpu.l1d && `L1d ${cpu.l1d}`, cpu.l2 && `L2 ${cpu.l2}`, cpu.l3 && `L3 ${cpu.l3}`].filter(Boolean).join(', ')),
    bullet('memory', `${cpu.memGiB} GiB`),
    ...(peak ?? []).filter((p) => p.supported).map((p) => bullet(`fp32 FMA peak, ${p.isa}, ${p.threads} thread${p.threads === 1 ? '' : 's'}`, `${p.gflops.toFixed(1)} GFLOP/s (${p.perCore.toFixed(1)} per core)${p.when ? `, measured ${p.when} the suites (the higher of the two)` : ''}`)),
    bullet('memory cost per 4 KiB (bench/peak/pagefault.cc)', pageCost && `first write to a fresh page ${pageCost.freshUs} µs, with huge pages ${pageCost.hugeUs} µs, overwriting a resident page ${pageCost.residentUs} µs`),
    '',
    '**Versions and settings**',
    '',
    bullet('Node', meta.node),
    bullet('ntensor', `commit ${nt.short} (${nt.date?.slice(0, 10)}: ${nt.subject?.slice(0, 100)}${nt.subject?.length > 100 ? '…' : ''})${nt.dirtyNativeOrLib.length ? `, with uncommitted changes in ${nt.dirtyNativeOrLib.join(', ')}` : ''}; binary ${nt.binary?.path} built ${nt.binary?.built?.slice(0, 16).replace('T', ' ')} UTC; backend ${JSON.stringify(nt.backend)}`),
    ...Object.entries(versions).map(([k, v]) => bullet(k, v)),
    bullet('OpenBLAS settings in the environment', Object.entries(meta.env).map(([k, v]) => `${k}=${v ?? 'unset'}`).join(', ')),
    bullet('peak compiler', meta.gxx),
    '',
    ...reports.map((r) => suiteBlock(r.suite.name, r.suite.reportMarkdown(r.result, r.rctx))),
  ].filter((l) => l !== null);
  let text = existsSync(FILE) ? readFileSync(FILE, 'utf8') : PREAMBLE;
  const b = text.indexOf(BEGIN), e = text.indexOf(END);
  // Suites this run did not measure (--only) keep their section from the run that did.
  const ran = new Set(reports.map((r) => r.suite.name));
  if (b >= 0 && e > b) {
    for (const [suite, block] of previousBlocks(text.slice(b + BEGIN.length, e))) {
      if (!ran.has(suite)) lines.push(block.trimEnd(), '');
    }
  }
  lines.push(END);
  const section = lines.join('\n') + '\n';
  if (b >= 0 && e > b) text = text.slice(0, b) + section + text.slice(e + END.length + 1);
  else text = text.trimEnd() + '\n\n' + section;
  writeFileSync(FILE, text);
  return FILE;
}

const blockBegin = (suite) => `<!-- bench:suite:${suite} -->`;
const blockEnd = (suite) => `<!-- bench:suite:${suite}:end -->`;

function suiteBlock(suite, markdown) {
  return `${blockBegin(suite)}\n${markdown.trimEnd()}\n${blockEnd(suite)}\n`;
}

/**
 * The suite sections of an earlier "latest" section, as [suite, block]
 * pairs, each block marked with the run it came from (unless it already
 * is). Sections written before the per-suite markers existed are found by
 * their "### Name" heading.
 */
function previousBlocks(old) {
  const date = old.match(/## Latest run: (\S+)/)?.[1] ?? 'an earlier date';
  const command = old.match(/^`([^`]+)`/m)?.[1];
  const commit = old.match(/- ntensor: commit (\S+)/)?.[1];
  const origin = `_Not re-measured by the latest run: from the run of ${date}${command ? ` (\`${command}\`` : ''}${commit ? `${command ? ', ' : ' ('}ntensor ${commit})` : command ? ')' : ''}._`;
  const out = [];
  const re = /<!-- bench:suite:([\w-]+) -->\n([\s\S]*?)<!-- bench:suite:\1:end -->/g;
  let m;
  while ((m = re.exec(old)) !== null) {
    const body = m[2].includes('_Not re-measured by the latest run') ? m[2] : m[2].replace(/^(### [^\n]*\n)/, `$1\n${origin}\n`);
    out.push([m[1], suiteBlock(m[1], body)]);
  }
  if (out.length === 0) {
    // Before the markers: one "### Name" section per suite, up to the next one.
    const parts = old.split(/^(?=### )/m).slice(1);
    for (const part of parts) {
      const suite = part.match(/^### (\S+)/)[1].toLowerCase();
      out.push([suite, suiteBlock(suite, part.replace(/^(### [^\n]*\n)/, `$1\n${origin}\n`))]);
    }
  }
  return out;
}
