// Without any binary (no prebuild, no build/Release), the first native call
// fails with an error that says what to run, and nothing else breaks.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ntensor-nobinary-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('loader', () => {
  it('says what to run when no native binary exists', () => {
    fs.cpSync(path.join(root, 'dist'), path.join(dir, 'dist'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'ntensor', version: '0.0.0', main: 'dist/index.js' }));
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
    const script = `
      const nt = require(${JSON.stringify(path.join(dir, 'dist/index.js'))});
      const t = nt.tensor([[1, 2]]);               // pure-TS parts still work
      nt.matmul(t, t.T);                           // so do d2l-size float32 products (lib/ops/tiny.ts)
      try { nt.matmul(nt.ones([16, 16]), nt.ones([16, 16])); console.log('NO ERROR'); }
      catch (e) { console.log(e.message); }`;
    // Without the NTENSOR_NATIVE_PATH override (npm run test:sanitize sets it).
    const env = { ...process.env, NTENSOR_NATIVE_PATH: undefined };
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', env });
    expect(out).toContain('ntensor: no native binary could be loaded for');
    expect(out).toContain('npm rebuild ntensor');
    expect(out).not.toContain('NO ERROR');
  });

  it('a binary that is found but does not load is named, with the reason and what to run', () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ntensor-badbinary-'));
    try {
      fs.cpSync(path.join(root, 'dist'), path.join(d, 'dist'), { recursive: true });
      fs.writeFileSync(path.join(d, 'package.json'), JSON.stringify({ name: 'ntensor', version: '0.0.0', main: 'dist/index.js' }));
      fs.symlinkSync(path.join(root, 'node_modules'), path.join(d, 'node_modules'));
      const bad = path.join(d, 'build', 'Release', 'ntensor.node');
      fs.mkdirSync(path.dirname(bad), { recursive: true });
      fs.writeFileSync(bad, 'not an ELF file');
      const script = `const nt = require(${JSON.stringify(path.join(d, 'dist/index.js'))});
        try { nt.matmul(nt.ones([16, 16]), nt.ones([16, 16])); console.log('NO ERROR'); } catch (e) { console.log(e.message); }`;
      const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, NTENSOR_NATIVE_PATH: undefined } });
      expect(out).toContain(`${bad} was chosen but could not be loaded`);
      expect(out).toContain('npm rebuild ntensor');
      expect(out).toMatch(/Cause: .*(invalid ELF header|too short)/);
      expect(out).not.toContain('No prebuilt binary');
    } finally {
      fs.rmSync(d, { recursive: true, force: true });
    }
  });

  // NTENSOR_NATIVE_PATH loads exactly the file it names, with no fallback.
  const overrideScript = (file: string): string => `
    process.env.NTENSOR_NATIVE_PATH = ${JSON.stringify(file)};
    const nt = require(${JSON.stringify(path.join(root, 'dist/index.js'))});
    try { const t = nt.tensor([[1, 2]]); console.log(nt.matmul(t, t.T).item(), nt.backendInfo().isa); }
    catch (e) { console.log(e.message); }`;

  it('NTENSOR_NATIVE_PATH loads exactly the named binary', () => {
    const script = `
      const file = process.env.NTENSOR_NATIVE_PATH || require('node-gyp-build').resolve(${JSON.stringify(root)});
      ${overrideScript('FILE').replace('"FILE"', 'file')}
      console.log(Object.keys(require.cache).includes(file));`;
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', cwd: root });
    expect(out).toMatch(/^5 [\w-]+\ntrue\n$/); // the ISA name: whatever the kernels report
  });

  it('NTENSOR_NATIVE_PATH naming a missing or relative file fails with an error naming it', () => {
    const missing = path.join(dir, 'missing.node');
    const out = execFileSync(process.execPath, ['-e', overrideScript(missing)], { encoding: 'utf8' });
    expect(out).toContain(`NTENSOR_NATIVE_PATH=${missing} could not be loaded`);
    const rel = execFileSync(process.execPath, ['-e', overrideScript('build/Release/ntensor.node')], { encoding: 'utf8' });
    expect(rel).toContain('NTENSOR_NATIVE_PATH must be an absolute path');
  });
});
