// What node-gyp needs to build the addon, copied into a scratch directory:
// `node-gyp rebuild` deletes ./build, so build-prebuilds.mjs and
// test-neon.mjs build in a copy (package.json, binding.gyp, native/, and
// node_modules linked for node-addon-api) and leave the dev build alone.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Copies the addon's build inputs from `root` into the new directory `dir`. */
export function copyAddonSources(root, dir) {
  fs.mkdirSync(dir, { recursive: true });
  for (const f of ['package.json', 'binding.gyp']) fs.copyFileSync(path.join(root, f), path.join(dir, f));
  fs.cpSync(path.join(root, 'native'), path.join(dir, 'native'), { recursive: true });
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
}
