// A check that ntensor's native kernels load and compute: the d2l seed's
// float32 calls are small enough to run in JS (lib/ops/tiny.ts) and load no
// .node, so CI's node-gyp step and the pack test (which copies this file
// into its temporary project) run this too. A product and a padded
// convolution above that size, against plain loops; prints the kernels'
// ISA and 'native check passed'.
const nt = require('ntensor');
const g = new nt.Generator(1);
const a = nt.normal(0, 1, [24, 20], { generator: g }), b = nt.normal(0, 1, [20, 28], { generator: g });
const c = nt.matmul(a, b);
for (let i = 0; i < 24; i++) for (let j = 0; j < 28; j++) {
  let s = 0;
  for (let p = 0; p < 20; p++) s += a.data[i * 20 + p] * b.data[p * 28 + j];
  if (Math.abs(c.data[i * 28 + j] - s) > 1e-4) throw new Error('matmul differs at ' + i + ',' + j);
}
const x = nt.normal(0, 1, [4, 9, 9], { generator: g }), w = nt.normal(0, 1, [5, 4, 3, 3], { generator: g });
const y = nt.conv2d(x, w, { padding: 1 });
for (let o = 0; o < 5; o++) for (let r = 0; r < 9; r++) for (let q = 0; q < 9; q++) {
  let s = 0;
  for (let i = 0; i < 4; i++) for (let u = 0; u < 3; u++) for (let v = 0; v < 3; v++) {
    const rr = r + u - 1, qq = q + v - 1;
    if (rr >= 0 && rr < 9 && qq >= 0 && qq < 9) s += x.data[(i * 9 + rr) * 9 + qq] * w.data[((o * 4 + i) * 3 + u) * 3 + v];
  }
  if (Math.abs(y.data[(o * 9 + r) * 9 + q] - s) > 1e-4) throw new Error('conv2d differs at ' + o + ',' + r + ',' + q);
}
console.log(nt.backendInfo().isa + ' kernels, ' + nt.backendInfo().threads + ' threads');
console.log('native check passed');
