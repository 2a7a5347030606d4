// Runs bench/python/peer.py as a long-lived child: one JSON command per line
// in, one JSON reply per line out. One child per configuration (environment
// and thread count), so numpy/torch are imported once per configuration.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export const PYTHON = process.env.NTENSOR_BENCH_PYTHON || '/usr/bin/python3';
const PEER = fileURLToPath(new URL('../python/peer.py', import.meta.url));

export function pythonAvailable() {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const r = spawnSync(PYTHON, ['-c', 'import sys; print(sys.version)'], { encoding: 'utf8' });
  return r.status === 0 ? null : `${PYTHON} does not run: ${r.stderr || r.error}`;
}

/** The environment for a child: OpenBLAS settings applied (null value = unset) and every thread pool sized. */
export function childEnv(overrides, threads) {
  const env = { ...process.env };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === null) delete env[k];
    else env[k] = v;
  }
  for (const k of ['OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS']) env[k] = String(threads);
  return env;
}

export class PythonPeer {
  constructor(env) {
    this.stderr = '';
    this.child = spawn(PYTHON, ['-u', PEER], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (d) => {
      this.stderr = (this.stderr + d).slice(-4000);
    });
    this.pending = [];
    this.closed = false;
    this.exited = new Promise((resolve) => this.child.on('close', (code) => {
      this.closed = true;
      this.exitCode = code;
      for (const p of this.pending.splice(0)) p.reject(new Error(`python peer exited (${code}): ${this.stderr.trim()}`));
      resolve(code);
    }));
    this.child.stdin.on('error', () => { /* a child that died: its 'close' rejects what is pending */ });
    this.child.on('error', (err) => {
      for (const p of this.pending.splice(0)) p.reject(err);
    });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      const p = this.pending.shift();
      if (!p) return;
      try {
        p.resolve(JSON.parse(line));
      } catch {
        p.reject(new Error(`python peer: unreadable reply ${line.slice(0, 200)}`));
      }
    });
  }

  /** Sends one command; resolves with the reply, rejects if the command failed in Python. */
  request(cmd) {
    if (this.closed) return Promise.reject(new Error(`python peer exited (${this.exitCode}): ${this.stderr.trim()}`));
    return new Promise((resolve, reject) => {
      this.pending.push({
        resolve: (r) => (r.ok ? resolve(r) : reject(new Error(`python ${cmd.op}: ${r.error}`))),
        reject,
      });
      this.child.stdin.write(JSON.stringify(cmd) + '\n');
    });
  }

  async close() {
    if (this.child.exitCode === null) {
      this.child.stdin.end(JSON.stringify({ op: 'exit' }) + '\n');
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

const BLAS_ENV = ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE'];
// OpenBLAS core names whose sgemm kernels use AVX-512.
const AVX512_CORES = new Set(['skylakex', 'cooperlake', 'sapphirerapids']);
export const FORCED_CORE_DEFAULT = 'SkylakeX';

const describe = (env) => BLAS_ENV.map((k) => `${k}=${env[k] ?? 'unset'}`).join(', ');

/**
 * The OpenBLAS configurations to run each Python peer under:
 *  - 'env': the environment as set;
 *  - 'unset': OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed in the child only
 *    (only when the environment sets either; otherwise it is 'env' itself);
 *  - a forced core (OPENBLAS_CORETYPE=SkylakeX) when the CPU has AVX-512 but
 *    OpenBLAS's own detection (variables unset) picks a core without AVX-512
 *    kernels, so the table also shows what OpenBLAS does at its best here.
 * `coretype`: 'auto' (the rule above), 'none' (never force), or a core name (always force it).
 */
export async function openblasConfigs({ cpu, coretype = 'auto' }) {
  const set = Object.fromEntries(BLAS_ENV.map((k) => [k, process.env[k] ?? null]));
  const envSetsBlas = BLAS_ENV.some((k) => process.env[k] !== undefined);
  const configs = [{ id: 'env', label: `environment as set (${describe(set)})`, env: {} }];
  const unset = Object.fromEntries(BLAS_ENV.map((k) => [k, null]));
  if (envSetsBlas) configs.push({ id: 'unset', label: `${BLAS_ENV.join(' and ')} unset in this child only`, env: unset });
  const notes = [];
  if (!envSetsBlas) notes.push(`The environment sets neither ${BLAS_ENV.join(' nor ')}, so "as set" and "unset" are the same run (labelled env).`);
  // What OpenBLAS picks by itself (variables unset).
  let detected = null;
  const probe = new PythonPeer(childEnv(unset, 1));
  try {
    const h = await probe.request({ op: 'hello', threads: 1, libs: ['numpy'] });
    detected = h.blas?.find((b) => b.internal_api === 'openblas')?.architecture ?? null;
    if (!h.numpy) notes.push(`numpy is not importable by ${PYTHON}, so which BLAS it would use is unknown.`);
    else if (!h.blas) notes.push(`threadpoolctl is not importable by ${PYTHON}: the OpenBLAS core in use is not reported (Debian: python3-threadpoolctl).`);
    else if (!h.blas.some((b) => b.internal_api === 'openblas')) notes.push(`numpy does not use OpenBLAS here (${h.blas.map((b) => b.internal_api).join(', ') || 'reference BLAS'}); Debian: libopenblas0-pthread.`);
  } catch (err) {
    notes.push(`OpenBLAS probe failed: ${err.message}`);
  } finally {
    await probe.close();
  }
  let force = null;
  if (coretype !== 'auto' && coretype !== 'none') force = coretype;
  else if (coretype === 'auto' && cpu.avx512f && detected && !AVX512_CORES.has(detected.toLowerCase())) force = FORCED_CORE_DEFAULT;
  if (force) {
    configs.push({
      id: force,
      label: `OPENBLAS_CORETYPE=${force} forced, OPENBLAS_L2_SIZE unset` +
        (detected && !AVX512_CORES.has(detected.toLowerCase()) ? ` (OpenBLAS's own detection picks ${detected}, which has no AVX-512 kernels, on this AVX-512 CPU)` : ''),
      env: { ...unset, OPENBLAS_CORETYPE: force },
    });
  }
  return { configs, detected, notes };
}
