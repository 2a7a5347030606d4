// Dive into Deep Learning §6.5, "Pooling", run on ntensor:
//   npx tsx examples/d2l-6.5.ts   (after npm run build)
import { Tensor, arange, assertClose, avgPool2d, cat, maxPool2d, tensor, zeros } from 'ntensor';

// 6.5.1 The pooling layer written out, as d2l's pool2d: each output is the
// maximum or the mean of its pool_size window (no padding, stride 1).
function pool2d(X: Tensor, [p_h, p_w]: [number, number], mode: 'max' | 'avg' = 'max'): Tensor {
  const [h, w] = X.shape;
  const Y = zeros([h - p_h + 1, w - p_w + 1]);
  for (let i = 0; i < Y.shape[0]; i++) {
    for (let j = 0; j < Y.shape[1]; j++) {
      let acc = mode === 'max' ? -Infinity : 0;
      for (let a = 0; a < p_h; a++) {
        for (let b = 0; b < p_w; b++) {
          const v = X.data[(i + a) * w + j + b];
          acc = mode === 'max' ? Math.max(acc, v) : acc + v;
        }
      }
      Y.data[i * Y.shape[1] + j] = mode === 'max' ? acc : acc / (p_h * p_w);
    }
  }
  return Y;
}

const X = tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]);
console.log('6.5.1 pool2d(X, [2, 2]) =');
console.log(pool2d(X, [2, 2]));
console.log("pool2d(X, [2, 2], 'avg') =");
console.log(pool2d(X, [2, 2], 'avg'));
// The library's pooling gives the same (on a 1 x 3 x 3 input: one channel).
assertClose(maxPool2d(X.reshape(1, 3, 3), 2, { stride: 1 }).reshape(2, 2), pool2d(X, [2, 2]));
assertClose(avgPool2d(X.reshape(1, 3, 3), 2, { stride: 1 }).reshape(2, 2), pool2d(X, [2, 2], 'avg'));

// 6.5.2 Padding and stride: the stride defaults to the window.
const X4 = arange(16).reshape(1, 1, 4, 4);
console.log('\n6.5.2 X =');
console.log(X4);
console.log('maxPool2d(X, 3) =');
console.log(maxPool2d(X4, 3));
console.log('maxPool2d(X, 3, { padding: 1, stride: 2 }) =');
console.log(maxPool2d(X4, 3, { padding: 1, stride: 2 }));
console.log('maxPool2d(X, [2, 3], { stride: [2, 3], padding: [0, 1] }) =');
console.log(maxPool2d(X4, [2, 3], { stride: [2, 3], padding: [0, 1] }));

// 6.5.3 Multiple channels: each channel is pooled on its own.
const X2 = cat([X4, X4.add(1)], 1);
console.log('\n6.5.3 maxPool2d(cat([X, X + 1], 1), 3, { padding: 1, stride: 2 }) =');
console.log(maxPool2d(X2, 3, { padding: 1, stride: 2 }));
