#!/usr/bin/env node
// npm lifecycle checks, shipped in the tarball (package.json "files").
//
//   node scripts/npm-lifecycle.cjs prepack
//     `npm pack` / `npm publish`: refuse to pack a tarball that would not
//     work: dist/ not built (the package's main), or a prebuild missing for
//     a platform the README promises one for (then every install there
//     would compile). NTENSOR_PACK_NO_PREBUILDS=1 packs without prebuilds
//     on purpose (the source-fallback test, scripts/pack-test.mjs --source).
//
//   node scripts/npm-lifecycle.cjs install-failed
//     The install script is `node-gyp-build || node scripts/npm-lifecycle.cjs
//     install-failed`: node-gyp-build found no prebuild that fits and could
//     not compile one, and its own error (above) names node-gyp's missing
//     tool, not ntensor or what to do: this says that. Exits 1.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
// The prebuilds the tarball must carry (README: "Prebuilt binaries").
const PREBUILT = ['linux-x64', 'linux-arm64'];

function prepack() {
  const problems = [];
  for (const f of ['dist/index.js', 'dist/index.mjs', 'dist/index.d.ts', 'dist/index.d.mts']) {
    if (!fs.existsSync(path.join(root, f))) problems.push(`${f} is missing: run \`npm run build:ts\``);
  }
  if (process.env.NTENSOR_PACK_NO_PREBUILDS !== '1') {
    for (const t of PREBUILT) {
      const dir = path.join(root, 'prebuilds', t);
      const has = fs.existsSync(dir) && fs.readdirSync(dir).some((f) => f.endsWith('.node'));
      if (!has) {
        problems.push(`prebuilds/${t}/ has no .node: run \`npm run build:prebuilds${t === `${process.platform}-${process.arch}` ? '' : ` -- --arch ${t.split('-')[1]}`}\``);
      }
    }
  }
  if (problems.length) {
    console.error(`ntensor prepack: this tarball would not work:\n  - ${problems.join('\n  - ')}\n` +
      '(NTENSOR_PACK_NO_PREBUILDS=1 packs without prebuilds on purpose: every install then compiles.)');
    process.exit(1);
  }
}

function installFailed() {
  const libc = process.platform === 'linux' ? `, ${process.env.LIBC || (fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc')}` : '';
  console.error([
    '',
    `ntensor: no prebuilt binary fits ${process.platform}-${process.arch}${libc} (Node ${process.version}), ` +
      'and compiling it from source failed (node-gyp\'s error is above).',
    `Prebuilt binaries ship for ${PREBUILT.join(' and ')} with glibc 2.14 or later (2.17 on arm64); elsewhere the install compiles.`,
    'To compile, install python3, make and a C++17 compiler (g++ or clang++), then run `npm rebuild ntensor`',
    '(offline, point node-gyp at installed Node headers: `npm rebuild ntensor --nodedir=/usr`).',
    '',
  ].join('\n'));
  process.exit(1);
}

const cmd = process.argv[2];
if (cmd === 'prepack') prepack();
else if (cmd === 'install-failed') installFailed();
else {
  console.error(`npm-lifecycle: unknown command ${cmd} (prepack, install-failed)`);
  process.exit(2);
}
