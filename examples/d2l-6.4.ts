// Dive into Deep Learning §6.4, "Multiple Input and Multiple Output
// Channels", run on ntensor. Run it with `npm run demo`.
import {
  assertClose, corr2dMultiIn, corr2dMultiInOut, corr2dMultiInOut1x1, manualSeed, normal, stack, tensor,
} from 'ntensor';

// 6.4.1 Multiple input channels: cross-correlate each channel, then sum.
const X = tensor([
  [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]],
  [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]],
]);
let K = tensor([
  [[0.0, 1.0], [2.0, 3.0]],
  [[1.0, 2.0], [3.0, 4.0]],
]);
console.log('6.4.1 corr2dMultiIn(X, K) =');
console.log(corr2dMultiIn(X, K));

// 6.4.2 Multiple output channels: one kernel per output channel.
K = stack([K, K.add(1), K.add(2)], 0);
console.log('\n6.4.2 K.shape =', K.shape);
console.log('corr2dMultiInOut(X, K) =');
console.log(corr2dMultiInOut(X, K));

// 6.4.3 A 1x1 convolution is a fully connected layer applied at every pixel.
manualSeed(0);
const X3 = normal(0, 1, [3, 3, 3]);
const K3 = normal(0, 1, [2, 3, 1, 1]);
const Y1 = corr2dMultiInOut1x1(X3, K3);
const Y2 = corr2dMultiInOut(X3, K3);
console.log('\n6.4.3 corr2dMultiInOut1x1(X, K) =');
console.log(Y1);
const diff = Y1.sub(Y2).abs().sum().item();
if (!(diff < 1e-6)) throw new Error('1x1 conv != matmul');
assertClose(Y1, Y2);
console.log(`|Y1 - Y2|.sum() = ${diff}: the matmul and cross-correlation formulations agree.`);
