// Pooling speed: ntensor's maxPool2d / avgPool2d against onnxruntime-node's
// MaxPool / AveragePool (a one-node model bench/lib/onnx.mjs writes), in one
// process, call by call with the order alternating, fresh outputs on both
// sides (onnxruntime-node hands back a new array per run). Prints, per case
// and thread count, each library's median time and the median [quartiles]
// over the pairs of onnxruntime time ÷ ntensor time (> 1: ntensor faster),
// after checking both give the same values.
//   node scripts/pool-speed.mjs [--pairs N] [--threads 1,2]
// Needs `npm run build` and onnxruntime-node (a devDependency). Wrap timing
// runs in `flock /tmp/ntensor-cpu.lock` on a shared host.
import { createRequire } from 'node:module';

import { buildModel } from '../bench/lib/onnx.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i < 0 ? dflt : args[i + 1];
};
const PAIRS = Number(opt('--pairs', 41));
const THREADS = opt('--threads', '1,2').split(',').map(Number);

const require = createRequire(import.meta.url);
const nt = require('..');
let ort;
try {
  ort = await import('onnxruntime-node');
} catch (err) {
  console.error(`pool-speed: onnxruntime-node does not load (${err.message.split('\n')[0]}); npm ci installs it`);
  process.exit(1);
}

// [name, op, input shape, kernel, stride, padding]: ResNet's stem pooling, a
// VGG/LeNet-style 2x2, an Inception-style 3x3 stride-1 average, a 2x2 average.
const CASES = [
  ['max 3x3 s2 p1 on 64x112²', 'max', [1, 64, 112, 112], 3, 2, 1],
  ['max 2x2 s2 on 64x56²', 'max', [1, 64, 56, 56], 2, 2, 0],
  ['avg 3x3 s1 p1 on 256x28²', 'avg', [1, 256, 28, 28], 3, 1, 1],
  ['avg 2x2 s2 on 128x56²', 'avg', [1, 128, 56, 56], 2, 2, 0],
];

const quantile = (v, q) => v.slice().sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor(v.length * q))];
const time = async (f) => {
  const t0 = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t0) / 1e3;
};

console.log(`pool-speed: ${PAIRS} pairs per case; ntensor ${nt.backendInfo().isa}; onnxruntime-node ${ort.env?.versions?.common ?? ''}`);
console.log('| case | threads | ntensor µs | onnxruntime µs | onnxruntime ÷ ntensor, paired |');
console.log('|---|---:|---:|---:|---:|');
for (const threads of THREADS) {
  nt.setNumThreads(threads);
  for (const [name, op, xs, k, s, p] of CASES) {
    const oh = Math.floor((xs[2] + 2 * p - k) / s) + 1;
    const model = buildModel({
      name: 'pool',
      nodes: [{
        opType: op === 'max' ? 'MaxPool' : 'AveragePool', inputs: ['X'], outputs: ['Y'], name: 'pool',
        attributes: { kernel_shape: [k, k], strides: [s, s], pads: [p, p, p, p], ...(op === 'avg' ? { count_include_pad: 1 } : {}) },
      }],
      inputs: [{ name: 'X', shape: xs }],
      outputs: [{ name: 'Y', shape: [xs[0], xs[1], oh, oh] }],
    });
    const session = await ort.InferenceSession.create(model, {
      intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
    });
    const x = nt.normal(0, 1, xs);
    const feeds = { X: new ort.Tensor('float32', x.data, xs) };
    const ours = async () => (op === 'max' ? nt.maxPool2d : nt.avgPool2d)(x, k, { stride: s, padding: p });
    const theirs = async () => session.run(feeds);
    const a = (await ours()).data, b = (await theirs()).Y.data;
    if (a.length !== b.length || a.some((v, i) => v !== b[i])) throw new Error(`pool-speed: ${name}: the two results differ`);
    for (let i = 0; i < 3; i++) {
      await ours();
      await theirs();
    }
    const tn = [], to = [], ratio = [];
    for (let i = 0; i < PAIRS; i++) {
      let a1, b1;
      if (i % 2) {
        a1 = await time(ours);
        b1 = await time(theirs);
      } else {
        b1 = await time(theirs);
        a1 = await time(ours);
      }
      tn.push(a1);
      to.push(b1);
      ratio.push(b1 / a1);
    }
    await session.release();
    const r = (q) => quantile(ratio, q).toFixed(2);
    console.log(`| ${name} | ${threads} | ${quantile(tn, 0.5).toFixed(0)} | ${quantile(to, 0.5).toFixed(0)} | ${r(0.5)} [${r(0.25)}–${r(0.75)}] |`);
  }
}
