// ntensor's public API. The CommonJS build is the single implementation;
// index.mts re-exports it for `import`, so both share one addon instance.
export { Tensor, isTensor } from './tensor';
export type { NestedArray, Scalar } from './tensor';
export type { DType, FloatArray, TypedArrayFor } from './dtype';
export { setSmallTensorPool } from './dtype';
export { tensor, fromTypedArray, zeros, ones, full, arange, normal, rand } from './creation';
export type { DTypeOptions, RandomOptions } from './creation';
export { Generator, manualSeed, defaultGenerator } from './random';
export { add, sub, mul, div, neg, abs } from './ops/elementwise';
export { sum, mean, max, min } from './ops/reduce';
export { matmul } from './ops/matmul';
export type { MatmulOptions } from './ops/matmul';
export { stack, cat, transpose } from './ops/shape_ops';
export { conv2d, corr2d, corr2dMultiIn, corr2dMultiInOut, corr2dMultiInOut1x1 } from './ops/conv';
export type { Conv2dOptions, IntPair } from './ops/conv';
export { PackedConv2d, packConv2d } from './ops/conv_packed';
export type { PackConv2dOptions, PackedConv2dRunOptions } from './ops/conv_packed';
export {
  matmulAsync, conv2dAsync, corr2dAsync, corr2dMultiInAsync, corr2dMultiInOutAsync, corr2dMultiInOut1x1Async,
  maxPool2dAsync, avgPool2dAsync,
  INLINE_MAX_WORK, MAX_IN_FLIGHT,
} from './ops/async';
export type { AsyncOptions } from './ops/async';
export { maxPool2d, avgPool2d } from './ops/pool';
export type { Pool2dOptions, MaxPool2dOptions, AvgPool2dOptions } from './ops/pool';
export { allclose, assertClose, DEFAULT_TOLERANCES } from './testing';
export type { CloseOptions, AssertCloseOptions } from './testing';
export { formatTensor } from './print';
export { backendInfo, setNumThreads, getNumThreads } from './native';
export type { BackendInfo, GemmBlocking } from './native';
