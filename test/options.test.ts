// Options objects: every function refuses a key it does not take (a
// TypeError naming the function and the key, as PyTorch refuses an
// unexpected keyword argument), before any other check; a key set to
// undefined passes; each documented key is accepted.
import { describe, expect, it } from 'vitest';

import {
  Tensor, allclose, arange, assertClose, avgPool2d, avgPool2dAsync, conv2d, conv2dAsync, corr2dAsync, corr2dMultiInAsync,
  corr2dMultiInOut1x1Async, corr2dMultiInOutAsync, full, manualSeed, matmul, matmulAsync, maxPool2d, maxPool2dAsync,
  normal, ones, packConv2d, rand, tensor, zeros, Generator,
} from '../lib/index';
import { errorOf } from './error-of';

type Call = (options: object) => unknown;

const x = normal(0, 1, [1, 2, 5, 5]);
const w = normal(0, 1, [3, 2, 3, 3]);
const a = normal(0, 1, [2, 3]), b = normal(0, 1, [3, 4]);
const X = normal(0, 1, [2, 4, 4]), K1 = normal(0, 1, [3, 2, 1, 1]), K = normal(0, 1, [2, 2]), Kin = normal(0, 1, [2, 2, 2]);
const layer = packConv2d(w, { padding: 1 });

// Each function, called with its options; the keys it takes, each with a
// value that works here.
const cases: Array<[string, Call, Record<string, unknown>]> = [
  ['tensor', (o) => tensor([1, 2], o), { dtype: 'float64' }],
  ['zeros', (o) => zeros([2], o), { dtype: 'float64' }],
  ['ones', (o) => ones([2], o), { dtype: 'float32' }],
  ['full', (o) => full([2], 3, o), { dtype: 'float64' }],
  ['arange', (o) => arange(0, 3, 1, o), { dtype: 'float64' }],
  ['normal', (o) => normal(0, 1, [2], o), { dtype: 'float64', generator: new Generator(1) }],
  ['rand', (o) => rand([2], o), { dtype: 'float64', generator: new Generator(1) }],
  ['matmul', (o) => matmul(a, b, o), { out: zeros([2, 4]) }],
  ['conv2d', (o) => conv2d(x, w, o), { bias: zeros([3]), stride: 1, padding: 1, dilation: 1, groups: 1, out: zeros([1, 3, 5, 5]) }],
  ['maxPool2d', (o) => maxPool2d(x, 2, o), { stride: 1, padding: 1, ceilMode: true, dilation: 1, out: zeros([1, 2, 6, 6]) }],
  ['avgPool2d', (o) => avgPool2d(x, 2, o),
    { stride: 1, padding: 1, ceilMode: true, countIncludePad: false, divisorOverride: 3, out: zeros([1, 2, 6, 6]) }],
  ['packConv2d', (o) => packConv2d(w, o), { bias: zeros([3]), stride: 1, padding: 1, dilation: 1, groups: 1 }],
  ['run', (o) => layer.run(x, o), { out: zeros([1, 3, 5, 5]) }],
  ['allclose', (o) => allclose(a, a, o), { rtol: 0, atol: 0, equalNan: true }],
  ['assertClose', (o) => assertClose(a, a, o), { rtol: 0, atol: 0, equalNan: true, message: 'm' }],
];

const asyncCases: Array<[string, Call, Record<string, unknown>]> = [
  ['matmulAsync', (o) => matmulAsync(a, b, o), { out: zeros([2, 4]) }],
  ['conv2dAsync', (o) => conv2dAsync(x, w, o), { bias: zeros([3]), stride: 1, padding: 1, dilation: 1, groups: 1, out: zeros([1, 3, 5, 5]) }],
  ['corr2dAsync', (o) => corr2dAsync(K, K, o), {}],
  ['corr2dMultiInAsync', (o) => corr2dMultiInAsync(X.reshape(2, 4, 4), Kin, o), {}],
  ['corr2dMultiInOutAsync', (o) => corr2dMultiInOutAsync(X, normal(0, 1, [3, 2, 2, 2]), o), {}],
  ['corr2dMultiInOut1x1Async', (o) => corr2dMultiInOut1x1Async(X, K1, o), {}],
  ['maxPool2dAsync', (o) => maxPool2dAsync(x, 2, o), { stride: 1, padding: 1, ceilMode: true, dilation: 1, out: zeros([1, 2, 6, 6]) }],
  ['avgPool2dAsync', (o) => avgPool2dAsync(x, 2, o),
    { stride: 1, padding: 1, ceilMode: true, countIncludePad: false, divisorOverride: 3, out: zeros([1, 2, 6, 6]) }],
  ['runAsync', (o) => layer.runAsync(x, o), { out: zeros([1, 3, 5, 5]) }],
];

const sig = { signal: new AbortController().signal };

describe('options objects', () => {
  it.each(cases)('%s: a misspelt key is a TypeError naming the function and the key; undefined ones pass; its own keys work', async (op, call, own) => {
    const err = await errorOf(() => call({ ...own, paddng: 1 }));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toMatch(new RegExp(`^${op}: unexpected option 'paddng' \\(${op} takes `));
    for (const key of Object.keys(own)) expect(err.message).toContain(key);
    expect(() => call({ ...own, paddng: undefined })).not.toThrow();
    expect(() => call(own)).not.toThrow();
  });

  it.each(asyncCases)('%s: a misspelt key rejects with a TypeError naming the function; signal and its own keys work', async (op, call, own) => {
    const err = await errorOf(() => call({ ...own, ...sig, sginal: 1 }));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toMatch(new RegExp(`^${op}: unexpected option 'sginal' \\(${op} takes .*signal\\)$`));
    await expect(call({ ...own, ...sig })).resolves.toBeInstanceOf(Tensor);
  });

  it('the key check comes first (before the tensors are checked), and a sync function refuses signal', () => {
    expect(() => conv2d(null as never, w, { paddin: 1 } as never)).toThrow(/^conv2d: unexpected option 'paddin'/);
    expect(() => maxPool2d(null as never, 2, { stride: 1, dilatoin: 2 } as never)).toThrow(/^maxPool2d: unexpected option 'dilatoin'/);
    expect(() => packConv2d(null as never, { gropus: 2 } as never)).toThrow(/^packConv2d: unexpected option 'gropus'/);
    expect(() => packConv2d(w, { out: zeros([1]) } as never)).toThrow('packConv2d: out belongs to each call');
    expect(() => normal(0, -1, [2], { dtyp: 'float64' } as never)).toThrow(/^normal: unexpected option 'dtyp'/);
    expect(() => matmul(a, b, sig as never)).toThrow("matmul: unexpected option 'signal' (matmul takes out)");
  });

  it('each pooling op refuses the other\'s own options', () => {
    // @ts-expect-error the other op's option is not in this op's options type either
    expect(() => avgPool2d(x, 2, { dilation: 2 })).toThrow(/^avgPool2d: unexpected option 'dilation'/);
    // @ts-expect-error the other op's option is not in this op's options type either
    expect(() => maxPool2d(x, 2, { countIncludePad: false })).toThrow(/^maxPool2d: unexpected option 'countIncludePad'/);
    // @ts-expect-error the other op's option is not in this op's options type either
    expect(() => maxPool2d(x, 2, { divisorOverride: 2 })).toThrow(/^maxPool2d: unexpected option 'divisorOverride'/);
  });

  it('a known key is read once (getters run once), an unknown one at most once', () => {
    manualSeed(0);
    let reads = 0, unknownReads = 0;
    const o = {};
    Object.defineProperty(o, 'dtype', { get: () => { reads++; return 'float64'; }, enumerable: true });
    Object.defineProperty(o, 'extra', { get: () => { unknownReads++; return undefined; }, enumerable: true });
    expect(normal(0, 1, [2], o).dtype).toBe('float64');
    expect([reads, unknownReads]).toEqual([1, 1]);
  });

  it('creation and testing functions refuse a non-object', () => {
    expect(() => zeros([2], null as never)).toThrow('zeros: options must be an object');
    expect(() => normal(0, 1, [2], 'float64' as never)).toThrow('normal: options must be an object');
    expect(() => allclose(a, a, 1 as never)).toThrow('allclose: options must be an object');
  });
});
