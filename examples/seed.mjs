// The seed of d2l §6.4.3 in plain JavaScript, as an ES module.
import { normal, corr2dMultiInOut, corr2dMultiInOut1x1, assertClose } from 'ntensor';

const X = normal(0, 1, [3, 3, 3]);
const K = normal(0, 1, [2, 3, 1, 1]);
const Y1 = corr2dMultiInOut1x1(X, K);
const Y2 = corr2dMultiInOut(X, K);
console.log(Y1);
if (!(Y1.sub(Y2).abs().sum().item() < 1e-6)) throw new Error('1x1 conv != matmul');
assertClose(Y1, Y2);
console.log('closing check passed: 1x1 convolution == matmul');
