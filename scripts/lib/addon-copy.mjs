// What node-gyp needs to build the addon, copied into a scratch directory:
// `node-gyp rebuild` deletes ./build, so build-prebuilds.mjs, test-neon.mjs
// and test-clang.mjs build in a copy (package.json, binding.gyp, native/,
// and node_modules linked for node-addon-api) and leave the dev build alone.
// Also where node-gyp and the Node headers it builds against are.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Copies the addon's build inputs from `root` into the new directory `dir`. */
export function copyAddonSources(root, dir) {
  fs.mkdirSync(dir, { recursive: true });
  for (const f of ['package.json', 'binding.gyp']) fs.copyFileSync(path.join(root, f), path.join(dir, f));
  fs.cpSync(path.join(root, 'native'), path.join(dir, 'native'), { recursive: true });
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
}

/** node-gyp as npm ships it (npm sets npm_config_node_gyp for scripts); throws if it is not there. */
export function nodeGypScript() {
  const script = process.env.npm_config_node_gyp ||
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (!fs.existsSync(script)) throw new Error(`node-gyp not found at ${script}`);
  return script;
}

/**
 * Node headers for node-gyp (never downloaded): NTENSOR_NODEDIR, npm's
 * nodedir, this node's install prefix, /usr or /usr/local, the first with
 * include/node/node_api.h. `log` notes a version other than this node's
 * (fine for Node-API); throws if there are none.
 */
export function findNodeDir(log = console.log) {
  const candidates = [
    process.env.NTENSOR_NODEDIR,
    process.env.npm_config_nodedir,
    path.resolve(path.dirname(fs.realpathSync(process.execPath)), '..'),
    '/usr',
    '/usr/local',
  ].filter(Boolean);
  for (const dir of candidates) {
    const h = path.join(dir, 'include', 'node', 'node_version.h');
    if (!fs.existsSync(h) || !fs.existsSync(path.join(dir, 'include', 'node', 'node_api.h'))) continue;
    const text = fs.readFileSync(h, 'utf8');
    const v = ['MAJOR', 'MINOR', 'PATCH'].map((k) => text.match(new RegExp(`#define NODE_${k}_VERSION (\\d+)`))?.[1]).join('.');
    if (`v${v}` !== process.version) log(`note: headers in ${dir} are v${v}, node is ${process.version} (fine for Node-API)`);
    return dir;
  }
  throw new Error(
    `no Node headers found (looked for include/node/node_api.h under ${candidates.join(', ')}). ` +
      'Install the Node development headers or set NTENSOR_NODEDIR; this script never downloads them.',
  );
}
