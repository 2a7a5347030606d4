// The d2l §6.4 seed at its own sizes, step by step, for any build of
// ntensor `nt` (bench/suites/matmul.mjs and scripts/latency.mjs time these):
// X (3×3×3) and K (2×3×1×1) drawn after manualSeed(0), the inputs of each
// step computed once, and one function per step. `seed` runs the whole
// example: normal, both formulations, sub, abs, sum, item and the check.
export function d2lSeedSteps(nt) {
  nt.manualSeed(0);
  const X = nt.normal(0, 1, [3, 3, 3]);
  const K = nt.normal(0, 1, [2, 3, 1, 1]);
  const K2 = K.reshape(2, 3), X2 = X.reshape(3, 9);
  const Y1 = nt.corr2dMultiInOut1x1(X, K), Y2 = nt.corr2dMultiInOut(X, K);
  const D = Y1.sub(Y2), A = D.abs(), S = A.sum();
  return {
    inputs: { X, K, K2, X2 },
    steps: {
      matmul: () => nt.matmul(K2, X2),
      normal: () => [nt.normal(0, 1, [3, 3, 3]), nt.normal(0, 1, [2, 3, 1, 1])],
      oneByOne: () => nt.corr2dMultiInOut1x1(X, K),
      corr: () => nt.corr2dMultiInOut(X, K),
      sub: () => Y1.sub(Y2),
      abs: () => D.abs(),
      sum: () => A.sum(),
      item: () => S.item(),
      seed: () => {
        const x = nt.normal(0, 1, [3, 3, 3]);
        const k = nt.normal(0, 1, [2, 3, 1, 1]);
        const y1 = nt.corr2dMultiInOut1x1(x, k);
        const y2 = nt.corr2dMultiInOut(x, k);
        return y1.sub(y2).abs().sum().item() < 1e-6;
      },
    },
  };
}
