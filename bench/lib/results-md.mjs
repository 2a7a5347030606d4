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
independent FMA chains (\`bench/peak/peak.cc\`).

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
    bullet('CPU (lscpu)', `${cpu.model}${cpu.vendor ? ` (${cpu.vendor})` : ''}, ${cpu.cpus} CPUs = ${cpu.coresPerSocket ?? '?'} cores × ${cpu.threadsPerCore ?? '?'} thread(s) per core${cpu.hypervisor ? `, under ${cpu.hypervisor}` : ''}`),
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
