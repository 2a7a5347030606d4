// New result arrays that are not zeroed first (lib/dtype.ts allocateOutput:
// from UNINIT_OUTPUT_BYTES up, when the op writes every element, the memory
// comes from Buffer.allocUnsafeSlow as malloc left it). Every element must be
// written before the tensor is seen. To make a skipped element show for
// certain, these tests hand the ops memory full of 0xff bytes (NaN in
// float32 and float64) by wrapping Buffer.allocUnsafeSlow, and check every
// result against the plain loops of test/reference.ts. The outputs sit in
// the band just above the threshold and above 64 KiB.
import { afterEach, describe, expect, it } from 'vitest';

import {
  avgPool2d, avgPool2dAsync, conv2d, conv2dAsync, manualSeed, matmul, matmulAsync, maxPool2d,
  maxPool2dAsync, normal,
} from '../lib/index';
import type { DType, Tensor } from '../lib/index';
import { HUGE_OUTPUT_BYTES, HUGE_PAGE_BYTES, UNINIT_OUTPUT_BYTES } from '../lib/dtype';
import { native } from '../lib/native';
import * as ref from './reference';

const original = Buffer.allocUnsafeSlow;
let handedOut: number[] = [];

/** From now on Buffer.allocUnsafeSlow returns 0xff bytes, and records each size. */
function poisonUninitialised(): void {
  handedOut = [];
  Buffer.allocUnsafeSlow = ((size: number) => {
    handedOut.push(size);
    return original(size).fill(0xff);
  }) as typeof Buffer.allocUnsafeSlow;
}

afterEach(() => {
  Buffer.allocUnsafeSlow = original;
});

function bytesOf(shape: readonly number[], dtype: DType): number {
  return shape.reduce((a, b) => a * b, 1) * (dtype === 'float64' ? 8 : 4);
}

/** The result came from the poisoned path, and matches the reference within its bound. */
function expectWritten(y: Tensor, want: ref.RefResult, dtype: DType): void {
  expect(y.shape).toEqual(want.shape);
  expect(handedOut).toContain(bytesOf(want.shape, dtype));
  expect(ref.firstViolation(y.data, want, dtype)).toBeNull();
}

describe('new outputs that are not zeroed first are written in full', () => {
  it('the band tested is the uninitialised one: from 16 KiB', () => {
    expect(UNINIT_OUTPUT_BYTES).toBe(16384);
  });

  for (const dtype of ['float32', 'float64'] as const) {
    // [m, k, n]: outputs just above the threshold, in the band, and above 64 KiB.
    const products: Array<[number, number, number]> = dtype === 'float32'
      ? [[64, 40, 64], [61, 33, 83], [130, 20, 131]]
      : [[46, 30, 45], [57, 19, 67], [92, 24, 95]];
    it(`${dtype} matmul, 2-D and batched, sync and async`, async () => {
      manualSeed(11);
      for (const [m, k, n] of products) {
        expect(bytesOf([m, n], dtype)).toBeGreaterThanOrEqual(UNINIT_OUTPUT_BYTES);
        const a = normal(0, 1, [m, k], { dtype }), b = normal(0, 1, [k, n], { dtype });
        const want = ref.matmul2d(Array.from(a.data), Array.from(b.data), m, k, n);
        poisonUninitialised();
        expectWritten(matmul(a, b), want, dtype);
        poisonUninitialised();
        expectWritten(await matmulAsync(a, b), want, dtype);
      }
      const a = normal(0, 1, [3, 25, 17], { dtype }), b = normal(0, 1, [17, 70], { dtype });
      const want = ref.matmul(Array.from(a.data), a.shape, Array.from(b.data), b.shape);
      expect(bytesOf(want.shape, dtype)).toBeGreaterThanOrEqual(UNINIT_OUTPUT_BYTES);
      poisonUninitialised();
      expectWritten(matmul(a, b), want, dtype);
    });

    it(`${dtype} conv2d (3x3 padded, 1x1, strided), sync and async`, async () => {
      manualSeed(12);
      const cases: Array<[number[], number[], { stride?: number; padding?: number }]> = [
        [[1, 5, 24, 24], [dtype === 'float32' ? 8 : 4, 5, 3, 3], { padding: 1 }],
        [[2, 7, 13, 14], [12, 7, 1, 1], {}],
        [[1, 3, 41, 37], [12, 3, 3, 3], { stride: 2, padding: 1 }],
      ];
      for (const [xs, ws, options] of cases) {
        const x = normal(0, 1, xs, { dtype }), w = normal(0, 1, ws, { dtype });
        const want = ref.conv2d(Array.from(x.data), xs, Array.from(w.data), ws, options);
        expect(bytesOf(want.shape, dtype)).toBeGreaterThanOrEqual(UNINIT_OUTPUT_BYTES);
        poisonUninitialised();
        expectWritten(conv2d(x, w, options), want, dtype);
        poisonUninitialised();
        expectWritten(await conv2dAsync(x, w, options), want, dtype);
      }
    });

    it(`${dtype} maxPool2d and avgPool2d, sync and async`, async () => {
      manualSeed(13);
      const x = normal(0, 1, [1, 6, 31, 29], { dtype });
      for (const [k, stride, pad] of [[3, 1, 1], [2, 1, 0]] as const) {
        for (const kind of ['max', 'avg'] as const) {
          const want = ref.pool2d(x.data, x.shape, k, stride, pad, kind);
          expect(bytesOf(want.shape, dtype)).toBeGreaterThanOrEqual(UNINIT_OUTPUT_BYTES);
          const options = { stride, padding: pad };
          const runs = kind === 'max'
            ? [() => Promise.resolve(maxPool2d(x, k, options)), () => maxPool2dAsync(x, k, options)]
            : [() => Promise.resolve(avgPool2d(x, k, options)), () => avgPool2dAsync(x, k, options)];
          for (const run of runs) {
            poisonUninitialised();
            const y = await run();
            expect(y.shape).toEqual(want.shape);
            expect(handedOut).toContain(bytesOf(want.shape, dtype));
            const tol = dtype === 'float32' ? 1e-6 : 1e-15;
            const bad = want.data.findIndex((v, i) => !(Math.abs(y.data[i] - v) <= tol * Math.max(1, Math.abs(v))));
            expect(bad, `${kind} k=${k}: element ${bad} is ${y.data[bad]}, want ${want.data[bad]}`).toBe(-1);
          }
        }
      }
    });
  }

  it('from HUGE_OUTPUT_BYTES the output starts on a 2 MiB boundary of a buffer 2 MiB longer, and is written in full', async () => {
    expect(HUGE_OUTPUT_BYTES).toBe(2 << 20);
    expect(HUGE_PAGE_BYTES).toBe(2 << 20);
    manualSeed(14);
    /** The result sits on a 2 MiB boundary in a buffer HUGE_PAGE_BYTES longer than it, from the poisoned path, and matches the reference. */
    const expectOnHugePage = (y: Tensor, want: ref.RefResult, dtype: DType): void => {
      const bytes = bytesOf(want.shape, dtype);
      expect(bytes).toBeGreaterThanOrEqual(HUGE_OUTPUT_BYTES);
      expect(handedOut).toContain(bytes + HUGE_PAGE_BYTES);
      expect(y.data.buffer.byteLength).toBe(bytes + HUGE_PAGE_BYTES);
      expect(y.data.byteOffset).toBe(native()._hugePageOffset(y.data.buffer as ArrayBuffer));
      expect(y.data.byteOffset).toBeLessThan(HUGE_PAGE_BYTES);
      expect(ref.firstViolation(y.data, want, dtype)).toBeNull();
    };
    // 736^2 fp32 (2.07 MiB) and 520^2 fp64 (2.06 MiB).
    for (const [dtype, m] of [['float32', 736], ['float64', 520]] as const) {
      const a = normal(0, 1, [m, 6], { dtype }), b = normal(0, 1, [6, m], { dtype });
      const want = ref.matmul2d(Array.from(a.data), Array.from(b.data), m, 6, m);
      poisonUninitialised();
      expectOnHugePage(matmul(a, b), want, dtype);
      poisonUninitialised();
      expectOnHugePage(await matmulAsync(a, b), want, dtype);
    }
    // A 1x1 convolution with a 2.15 MiB output.
    const x = normal(0, 1, [1, 4, 150, 150]), w = normal(0, 1, [25, 4, 1, 1]);
    const want = ref.conv2d(Array.from(x.data), x.shape, Array.from(w.data), w.shape, {});
    poisonUninitialised();
    expectOnHugePage(conv2d(x, w), want, 'float32');
    poisonUninitialised();
    expectOnHugePage(await conv2dAsync(x, w), want, 'float32');
    // Just below: an ordinary uninitialised buffer, the array at its start.
    const c = normal(0, 1, [700, 6]), d = normal(0, 1, [6, 700]);
    expect(bytesOf([700, 700], 'float32')).toBeLessThan(HUGE_OUTPUT_BYTES);
    poisonUninitialised();
    const y = matmul(c, d);
    expect(handedOut).toContain(bytesOf([700, 700], 'float32'));
    expect(y.data.byteOffset).toBe(0);
    expect(y.data.buffer.byteLength).toBe(bytesOf([700, 700], 'float32'));
  });

  it('_hugePageOffset takes an ArrayBuffer only', () => {
    const f = native()._hugePageOffset as unknown as (v: unknown) => number;
    expect(() => f(new Float32Array(4))).toThrow(TypeError);
    expect(() => f(undefined)).toThrow(/_hugePageOffset: expected an ArrayBuffer/);
    const off = f(new ArrayBuffer(64));
    expect(Number.isInteger(off) && off >= 0 && off < HUGE_PAGE_BYTES).toBe(true);
  });

  it('below the threshold the array is zeroed as usual (allocUnsafeSlow is not called)', () => {
    const a = normal(0, 1, [20, 10]), b = normal(0, 1, [10, 30]);
    expect(bytesOf([20, 30], 'float32')).toBeLessThan(UNINIT_OUTPUT_BYTES);
    poisonUninitialised();
    matmul(a, b);
    expect(handedOut).toEqual([]);
  });
});
