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
      try { nt.matmul(t, t.T); console.log('NO ERROR'); }
      catch (e) { console.log(e.message); }`;
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(out).toContain('ntensor: no native binary could be loaded for');
    expect(out).toContain('npm rebuild ntensor');
    expect(out).not.toContain('NO ERROR');
  });
});
