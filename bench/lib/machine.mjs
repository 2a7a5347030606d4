// What a result came from: CPU (lscpu), cores, Node, the ntensor commit and
// build that was loaded, and peer versions found in node_modules.
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
const require = createRequire(path.join(ROOT, 'package.json'));

function run(cmd, args, { trim = true } = {}) {
  try {
    const out = execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return trim ? out.trim() : out;
  } catch {
    return null;
  }
}

export function cpuInfo() {
  const lscpu = run('lscpu', []) ?? '';
  const field = (name) => lscpu.match(new RegExp(`^${name}:\\s*(.+)$`, 'm'))?.[1]?.trim();
  const flags = (field('Flags') ?? '').split(/\s+/);
  return {
    model: field('Model name') ?? os.cpus()[0]?.model ?? 'unknown',
    vendor: field('Vendor ID'),
    family: field('CPU family') ?? null,
    modelNumber: field('Model') ?? null,
    stepping: field('Stepping') ?? null,
    cpus: Number(field('CPU\\(s\\)')) || os.cpus().length,
    threadsPerCore: Number(field('Thread\\(s\\) per core')) || null,
    coresPerSocket: Number(field('Core\\(s\\) per socket')) || null,
    hypervisor: field('Hypervisor vendor') ?? null,
    l1d: field('L1d cache'), l2: field('L2 cache'), l3: field('L3 cache'),
    avx512f: flags.includes('avx512f'),
    avx2: flags.includes('avx2'),
    fma: flags.includes('fma'),
    availableParallelism: os.availableParallelism?.() ?? os.cpus().length,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
  };
}

export function gitInfo() {
  const commit = run('git', ['rev-parse', 'HEAD']);
  const subject = run('git', ['log', '-1', '--format=%s']);
  // porcelain lines are 'XY path': keep the paths of uncommitted changes to what the build compiles
  const dirty = (run('git', ['status', '--porcelain', '--', 'native', 'lib', 'CMakeLists.txt', 'binding.gyp'], { trim: false }) ?? '')
    .split('\n').filter(Boolean).map((l) => l.slice(3));
  const date = run('git', ['log', '-1', '--format=%cI']);
  return { commit, short: commit?.slice(0, 7) ?? null, subject, date, dirtyNativeOrLib: dirty };
}

export function packageVersion(name) {
  try {
    return JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')).version;
  } catch {
    return null;
  }
}

/** The .node file node-gyp-build loads for ntensor (build/Release before prebuilds/). */
export function ntensorBinary() {
  try {
    const file = require('node-gyp-build').resolve(ROOT);
    return { path: path.relative(ROOT, file), built: statSync(file).mtime.toISOString() };
  } catch {
    return null;
  }
}

export function environmentOf(keys) {
  return Object.fromEntries(keys.map((k) => [k, process.env[k] ?? null]));
}
