// d2l §6.4.3's closing check must hold for every seed, not just a lucky one.
// Both formulations reduce the same products in the same order with fused
// multiply-adds (see native/kernels.h), so they agree bit for bit.
import { describe, expect, it } from 'vitest';

import {
  Generator, assertClose, corr2dMultiInOut, corr2dMultiInOut1x1, normal,
} from '../lib/index';

describe('d2l 6.4.3: 1x1 convolution == fully connected layer', () => {
  it('agrees exactly for 5000 seeds at the seed size (X 3x3x3, K 2x3x1x1)', () => {
    let worst = 0;
    for (let seed = 0; seed < 5000; seed++) {
      const generator = new Generator(seed);
      const X = normal(0, 1, [3, 3, 3], { generator });
      const K = normal(0, 1, [2, 3, 1, 1], { generator });
      const Y1 = corr2dMultiInOut1x1(X, K);
      const Y2 = corr2dMultiInOut(X, K);
      const diff = Y1.sub(Y2).abs().sum().item();
      worst = Math.max(worst, diff);
      if (!(diff < 1e-6)) throw new Error(`seed ${seed}: |Y1 - Y2|.sum() = ${diff}`);
      assertClose(Y1, Y2);
    }
    expect(worst).toBe(0);
  });

  it('agrees exactly for many channel counts and image sizes, float32 and float64', () => {
    const generator = new Generator(123);
    for (const dtype of ['float32', 'float64'] as const) {
      for (const [ci, co, h, w] of [[1, 1, 1, 1], [3, 2, 3, 3], [16, 5, 7, 9], [64, 8, 5, 5], [300, 3, 4, 6]]) {
        const X = normal(0, 1, [ci, h, w], { generator, dtype });
        const K = normal(0, 1, [co, ci, 1, 1], { generator, dtype });
        const Y1 = corr2dMultiInOut1x1(X, K);
        const Y2 = corr2dMultiInOut(X, K);
        expect(Y1.shape).toEqual([co, h, w]);
        expect(Array.from(Y1.data)).toEqual(Array.from(Y2.data));
      }
    }
  });

  it('the check is not vacuous: a perturbed kernel is caught', () => {
    const generator = new Generator(7);
    const X = normal(0, 1, [3, 3, 3], { generator });
    const K = normal(0, 1, [2, 3, 1, 1], { generator });
    const K2 = K.clone();
    K2.data[0] += 1e-3;
    const diff = corr2dMultiInOut1x1(X, K).sub(corr2dMultiInOut(X, K2)).abs().sum().item();
    expect(diff).toBeGreaterThan(1e-6);
  });
});
