// The addon keeps its state in Napi::Addon instance data, so it loads and
// runs in worker threads and the main thread at once.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';

import { corr2dMultiInOut, corr2dMultiInOut1x1, manualSeed, normal } from '../lib/index';

const root = path.resolve(__dirname, '..');

const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const nt = require(${JSON.stringify(path.join(root, 'dist/index.js'))});
nt.manualSeed(workerData.seed);
const X = nt.normal(0, 1, [16, 8, 8]);
const K = nt.normal(0, 1, [4, 16, 1, 1]);
let diff = 0;
for (let i = 0; i < 200; i++) diff += nt.corr2dMultiInOut1x1(X, K).sub(nt.corr2dMultiInOut(X, K)).abs().sum().item();
parentPort.postMessage({ diff, first: Array.from(nt.corr2dMultiInOut(X, K).data.slice(0, 4)) });
`;

describe('worker_threads', () => {
  it('runs in 4 workers and the main thread at once with correct results', async () => {
    const seeds = [1, 2, 3, 4];
    const results = await Promise.all(seeds.map((seed) => new Promise<{ diff: number; first: number[] }>((resolve, reject) => {
      const w = new Worker(workerSource, { eval: true, workerData: { seed } });
      w.once('message', (m) => { resolve(m); void w.terminate(); });
      w.once('error', reject);
    })));
    for (const [i, seed] of seeds.entries()) {
      manualSeed(seed);
      const X = normal(0, 1, [16, 8, 8]);
      const K = normal(0, 1, [4, 16, 1, 1]);
      expect(results[i].diff).toBe(0);
      expect(results[i].first).toEqual(Array.from(corr2dMultiInOut(X, K).data.slice(0, 4)));
      expect(corr2dMultiInOut1x1(X, K).data).toEqual(corr2dMultiInOut(X, K).data);
    }
  });
});
