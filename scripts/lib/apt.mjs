// Tools the test scripts need from Debian: when one is missing and the
// process runs as root (CI), its packages are installed with apt-get (after
// an `apt-get update` if the first try fails); otherwise the caller gets an
// Error saying what to install.
import { spawnSync } from 'node:child_process';

export const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

/** Makes sure every command in `tools` is on PATH, installing `packages` as root; `log` reports an install. */
export function ensureTools(tools, packages, log = console.log) {
  if (tools.every(has)) return;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    throw new Error(`needs ${tools.filter((t) => !has(t)).join(', ')}: apt-get install ${packages.join(' ')}`);
  }
  log(`installing ${packages.join(' ')} (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...packages], { stdio: 'inherit', env });
  if (install().status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    install();
  }
  const missing = tools.filter((t) => !has(t));
  if (missing.length) throw new Error(`could not install ${packages.join(' ')} (still missing: ${missing.join(', ')})`);
}
