// Rewrites the "latest run" section of bench/RESULTS.md (between the
// bench:latest markers) from a run's metadata and each suite's Markdown
// report, so the file is reproducible with `npm run bench -- --write-results`.
// Text outside the markers is kept.
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

Method: each library gets a warm-up, then timed samples (each sample repeats the
call enough to last ≥ 2 ms; samples are taken until ~0.7 s of work, at least 3),
and reports the median and the best sample per call. numpy and PyTorch run in
long-lived \`/usr/bin/python3\` children, one per OpenBLAS configuration and
thread count, with the same timing plan. The peak is a native loop of
independent FMA chains (\`bench/peak/peak.cc\`, compiled by the bench with g++ into
\`bench/.build/\`). Each run also writes \`bench/results/<date>-<suite>.json\` (every
timing) and \`bench/results/<suite>.svg\` (GFLOP/s against size); both are gitignored.

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

export function writeResultsMd({ meta, peak, reports }) {
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
    ...(peak ?? []).filter((p) => p.supported).map((p) => bullet(`fp32 FMA peak, ${p.isa}, ${p.threads} thread${p.threads === 1 ? '' : 's'}`, `${p.gflops.toFixed(1)} GFLOP/s (${p.perCore.toFixed(1)} per core)`)),
    '',
    '**Versions and settings**',
    '',
    bullet('Node', meta.node),
    bullet('ntensor', `commit ${nt.short} (${nt.date?.slice(0, 10)}: ${nt.subject?.slice(0, 100)}${nt.subject?.length > 100 ? '…' : ''})${nt.dirtyNativeOrLib.length ? `, with uncommitted changes in ${nt.dirtyNativeOrLib.join(', ')}` : ''}; binary ${nt.binary?.path} built ${nt.binary?.built?.slice(0, 16).replace('T', ' ')} UTC; backend ${JSON.stringify(nt.backend)}`),
    ...Object.entries(versions).map(([k, v]) => bullet(k, v)),
    bullet('OpenBLAS settings in the environment', Object.entries(meta.env).map(([k, v]) => `${k}=${v ?? 'unset'}`).join(', ')),
    bullet('peak compiler', meta.gxx),
    '',
    ...reports.map((r) => r.suite.reportMarkdown(r.result, r.rctx)),
    END,
  ].filter((l) => l !== null);
  const section = lines.join('\n') + '\n';
  let text = existsSync(FILE) ? readFileSync(FILE, 'utf8') : PREAMBLE;
  const b = text.indexOf(BEGIN), e = text.indexOf(END);
  if (b >= 0 && e > b) text = text.slice(0, b) + section + text.slice(e + END.length + 1);
  else text = text.trimEnd() + '\n\n' + section;
  writeFileSync(FILE, text);
  return FILE;
}
