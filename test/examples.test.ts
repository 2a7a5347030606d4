// The runnable examples, run as a user runs them: through the package name
// (dist/, built by `npm test`), from TypeScript, from import and from require.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..');
const run = (args: string[]): string => execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' });

describe('examples', () => {
  it('`npm run demo` runs d2l-6.4.ts: d2l\'s exact values, and the seed check passes', () => {
    // The example the demo script names (after its build step), so that the
    // README's first command cannot point at a file that is not there.
    const demo = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.demo;
    const example = /^npm run build && tsx (\S+)$/.exec(demo)?.[1];
    expect(example, `package.json scripts.demo: ${demo}`).toBe('examples/d2l-6.4.ts');
    const out = run([path.join(root, 'node_modules/tsx/dist/cli.mjs'), example as string]);
    expect(out).toContain('tensor([[ 56.,  72.],\n        [104., 120.]])');
    expect(out).toContain(
      'tensor([[[ 56.,  72.],\n         [104., 120.]],\n\n        [[ 76., 100.],\n         [148., 172.]],\n\n        [[ 96., 128.],\n         [192., 224.]]])',
    );
    expect(out).toContain('the matmul and cross-correlation formulations agree');
  });

  it('d2l-6.5.ts (pooling) prints d2l\'s values', () => {
    const out = run([path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'examples/d2l-6.5.ts']);
    expect(out).toContain('tensor([[4., 5.],\n        [7., 8.]])');
    expect(out).toContain('tensor([[2., 3.],\n        [5., 6.]])');
    expect(out).toContain('tensor([[[[10.]]]])');
    expect(out).toContain('tensor([[[[ 5.,  7.],\n          [13., 15.]],\n\n         [[ 6.,  8.],\n          [14., 16.]]]])');
  });

  it('seed.mjs (import) and seed.cjs (require) print the same tensor', () => {
    const a = run(['examples/seed.mjs']);
    const b = run(['examples/seed.cjs']);
    expect(a).toMatch(/^tensor\(\[\[\[/);
    expect(a).toBe(b);
  });

  it('import and require share one module instance (one addon)', () => {
    const out = run(['--input-type=module', '-e',
      "import * as esm from 'ntensor'; import { createRequire } from 'node:module'; const cjs = createRequire(import.meta.url)('ntensor'); console.log(esm.Tensor === cjs.Tensor && esm.matmul === cjs.matmul);"]);
    expect(out.trim()).toBe('true');
  });
});
