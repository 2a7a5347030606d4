// packConv2d (weights copied and packed once) against conv2d and the
// reference loops, bit for bit: the packed W^T blocks that gemm-t reads
// (several depth blocks, channel counts off the 64-wide blocks, groups,
// every ISA the packing is made and run under, 1 to 3 threads), the copy of
// the weights, the API's checks, the async twin, and a native side that
// checks the packed buffer it is given before reading it.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { firstBitDifference } from './bits';
import { GEMMT_SHAPES, NativeConvCase, convSizes, describeCase, outShape, restoreNativeAfterAll, runNativeConv } from './conv-cases';

import { Generator, PackedConv2d, Tensor, conv2d, normal, packConv2d, setNumThreads, zeros } from '../lib/index';
import { native } from '../lib/native';

type DT = 'float32' | 'float64';
const binding = native();
restoreNativeAfterAll();

// gemm-t's shapes (four depth blocks and more, channels off the 64-wide
// blocks, two groups under one 32-wide panel, dilation, 130 channels: three
// blocks, the last of 2) and 96 channels over 36 depth blocks.
const SHAPES: NativeConvCase[] = [
  ...GEMMT_SHAPES,
  { ...GEMMT_SHAPES[0], co: 96 },
];

const kOf = (s: NativeConvCase): number => (s.c / s.groups) * s.kh * s.kw;

describe('weights packed ahead for gemm-t (native conv2dPack)', () => {
  it('float32: same bits as the reference loops, packed under each ISA and run under each, 1 to 3 threads', () => {
    const g = new Generator(401);
    const isas = binding.backendInfo().supportedIsas;
    let packedRuns = 0;
    for (const s of SHAPES) {
      const x = normal(0, 1, [s.n, s.c, s.h, s.w], { generator: g });
      const w = normal(0, 1, [s.co, s.c / s.groups, s.kh, s.kw], { generator: g });
      const b = s.bias ? normal(0, 1, [s.co], { generator: g }) : null;
      binding._setConvPath('reference');
      const want = runNativeConv(s, x, w, b, null);
      for (const packIsa of isas) {
        binding._setIsa(packIsa as 'avx512');
        const packed = binding.conv2dPack(w.data, s.co, kOf(s), s.groups);
        for (const runIsa of isas) {
          binding._setIsa(runIsa as 'avx512');
          for (const threads of [1, 2, 3]) {
            setNumThreads(threads);
            binding._setConvPath('gemm-t');
            const got = runNativeConv(s, x, w, b, packed);
            const path = binding._lastConv2d().path;
            // A packing is read only under the layout it was made for.
            const used = packed !== null && binding.conv2dPack(w.data, s.co, kOf(s), s.groups) !== null && packIsa === runIsa;
            if (used) packedRuns++;
            expect(path, `packed under ${packIsa}, run under ${runIsa}: ${describeCase(s)}`).toBe(used ? 'gemm-t packed' : 'gemm-t');
            expect(firstBitDifference(got, want), `packed under ${packIsa}, run under ${runIsa}, ${threads} threads: ${describeCase(s)}`).toBe(-1);
          }
        }
      }
      binding._setIsa('auto');
    }
    // On an AVX-512 machine the packed blocks were read (else only the fallback ran).
    if (isas.includes('avx512')) expect(packedRuns).toBeGreaterThan(0);
  });

  it('the other paths ignore the packing and give their own bits', () => {
    const s = SHAPES[1];
    const g = new Generator(402);
    const x = normal(0, 1, [s.n, s.c, s.h, s.w], { generator: g });
    const w = normal(0, 1, [s.co, s.c, s.kh, s.kw], { generator: g });
    const b = normal(0, 1, [s.co], { generator: g });
    const packed = binding.conv2dPack(w.data, s.co, kOf(s), s.groups);
    binding._setConvPath('reference');
    const want = runNativeConv(s, x, w, b, null);
    for (const path of ['gemm', 'direct', 'auto'] as const) {
      binding._setConvPath(path);
      expect(firstBitDifference(runNativeConv(s, x, w, b, packed), want), path).toBe(-1);
    }
    binding._setConvPath('auto');
  });

  it('float64 has no layout (null), and conv2d takes null as no packing', () => {
    const w = normal(0, 1, [64, 8, 3, 3], { dtype: 'float64' });
    expect(binding.conv2dPack(w.data, 64, 72, 1)).toBeNull();
  });

  it('checks the buffer before reading it: wrong shape, short, detached or not an ArrayBuffer', () => {
    const s = SHAPES[1];
    const x = normal(0, 1, [s.n, s.c, s.h, s.w]);
    const w = normal(0, 1, [s.co, s.c, s.kh, s.kw]);
    const packed = binding.conv2dPack(w.data, s.co, kOf(s), s.groups);
    if (packed === null) return; // no layout on this CPU: nothing is ever read
    const [n, co, oh, ow] = outShape(s);
    const out = new Float32Array(n * co * oh * ow);
    const call = (p: unknown) => () => binding.conv2d(x.data, w.data, null, out, convSizes(s), p as ArrayBuffer);
    // Packed from weights of another shape (fewer output channels).
    const other = binding.conv2dPack(w.data.subarray(0, 64 * kOf(s)), 64, kOf(s), 1);
    expect(call(other)).toThrow(RangeError);
    expect(call(other)).toThrow(/packed.*not packed from weights of this shape/);
    // Its header kept, its data cut short.
    expect(call(packed.slice(0, 4096))).toThrow(/packed.*too short/);
    expect(call(new ArrayBuffer(8))).toThrow(RangeError);
    expect(call(new Float32Array(packed.byteLength / 4))).toThrow(TypeError);
    const detached = packed.slice(0);
    structuredClone(detached, { transfer: [detached] });
    expect(call(detached)).toThrow(RangeError);
    // The conv2dPack call checks its own arguments.
    expect(() => binding.conv2dPack(w.data, s.co + 1, kOf(s), 1)).toThrow(RangeError);
    expect(() => binding.conv2dPack(w.data, s.co, kOf(s), 3)).toThrow(/argument 'groups' \(\d+\) must divide 'cout'/);
    expect(() => binding.conv2dPack(w.data, 0, kOf(s), 1)).toThrow(RangeError);
  });
});

describe('hostile packed buffers', () => {
  it('2000 random calls: the result of a good packing or none, else a TypeError or RangeError with out untouched', () => {
    const g = new Generator(405);
    let rnd = 12345;
    const next = (n: number): number => {
      rnd = (rnd * 1103515245 + 12345) >>> 0;
      return (rnd >>> 8) % n;
    };
    const counts = { result: 0, TypeError: 0, RangeError: 0 };
    for (let i = 0; i < 2000; i++) {
      const groups = 1 + next(2);
      const s: NativeConvCase = {
        n: 1 + next(2), c: groups * (1 + next(20)), h: 3 + next(6), w: 3 + next(6), co: groups * (1 + next(80)),
        kh: 1 + next(3), kw: 1 + next(3), stride: [1 + next(2), 1 + next(2)], pad: [next(2), next(2), next(2), next(2)],
        dil: [1, 1], groups, bias: next(2) === 1,
      };
      const x = normal(0, 1, [s.n, s.c, s.h, s.w], { generator: g });
      const w = normal(0, 1, [s.co, s.c / s.groups, s.kh, s.kw], { generator: g });
      const b = s.bias ? normal(0, 1, [s.co], { generator: g }) : null;
      const good = binding.conv2dPack(w.data, s.co, kOf(s), s.groups);
      const kind = next(7);
      let packed: unknown;
      let fine = false;
      if (kind === 0) [packed, fine] = [null, true];
      else if (kind === 1) [packed, fine] = [good, true];
      else if (kind === 2) packed = good === null ? new ArrayBuffer(next(64)) : good.slice(0, next(good.byteLength)); // cut short
      else if (kind === 3) { // random bytes, sometimes behind this call's header
        const buf = new ArrayBuffer(next(8192));
        const bytes = new Uint8Array(buf);
        for (let j = 0; j < bytes.length; j++) bytes[j] = next(256);
        if (buf.byteLength >= 32 && next(2) === 1) new BigInt64Array(buf, 0, 4).set([BigInt(next(3)), BigInt(s.co), BigInt(kOf(s)), BigInt(s.groups)]);
        packed = buf;
      } else if (kind === 4) packed = binding.conv2dPack(normal(0, 1, [s.co + groups, kOf(s)], { generator: g }).data, s.co + groups, kOf(s), groups) ?? 7;
      else if (kind === 5) packed = new Float32Array(64);
      else packed = 'packed';
      if (packed === null && kind !== 0) fine = true;
      binding._setConvPath(next(2) === 1 ? 'gemm-t' : 'auto');
      const [n, co, oh, ow] = outShape(s);
      const out = new Float32Array(n * co * oh * ow).fill(NaN);
      let err: unknown = null;
      try {
        binding.conv2d(x.data, w.data, b ? b.data : null, out, convSizes(s), packed as ArrayBuffer);
      } catch (e) {
        err = e;
      }
      if (err === null) {
        // Accepted: a good packing, none, or random bytes that passed the
        // header and length checks (then any values, but every one written).
        expect(fine || kind === 3, `kind ${kind}: ${describeCase(s)}`).toBe(true);
        // (Random bytes give random values: only the reads' bounds matter,
        // which the sanitizer run checks.)
        if (fine) {
          binding._setConvPath('reference');
          expect(firstBitDifference(out, runNativeConv(s, x, w, b, null)), `kind ${kind}: ${describeCase(s)}`).toBe(-1);
        }
        counts.result++;
      } else {
        expect(fine, `kind ${kind} threw ${String(err)}`).toBe(false);
        expect(err instanceof TypeError || err instanceof RangeError, String(err)).toBe(true);
        expect(out.every((v) => Number.isNaN(v)), 'out untouched').toBe(true);
        counts[(err as Error).constructor.name as 'TypeError' | 'RangeError']++;
      }
    }
    binding._setConvPath('auto');
    expect(counts.result).toBeGreaterThan(400);
    expect(counts.TypeError).toBeGreaterThan(100);
    expect(counts.RangeError).toBeGreaterThan(200);
  });
});

describe('packConv2d', () => {
  const cases: { name: string; x: number[]; w: number[]; opts: Parameters<typeof packConv2d>[1] }[] = [
    { name: '256 on 7^2 -> 256, 3x3 pad 1 (auto takes gemm-t)', x: [1, 256, 7, 7], w: [256, 256, 3, 3], opts: { padding: 1 } },
    { name: 'batch 2, bias, stride 2', x: [2, 32, 12, 12], w: [48, 32, 3, 3], opts: { stride: 2, padding: 1, bias: null } },
    { name: "groups 2, padding 'same' with an even kernel, dilation 2", x: [1, 16, 10, 9], w: [64, 8, 2, 4], opts: { groups: 2, padding: 'same', dilation: 2 } },
    { name: 'unbatched input, 1x1', x: [64, 5, 6], w: [40, 64, 1, 1], opts: {} },
    { name: 'the 64 on 56^2 layer (direct-t)', x: [1, 64, 56, 56], w: [64, 64, 3, 3], opts: { padding: 1 } },
  ];
  for (const dtype of ['float32', 'float64'] as DT[]) {
    it(`${dtype}: run gives conv2d's bits, fresh and into out`, () => {
      const g = new Generator(dtype === 'float32' ? 403 : 404);
      for (const c of cases) {
        const x = normal(0, 1, c.x, { generator: g, dtype });
        const w = normal(0, 1, c.w, { generator: g, dtype });
        const opts = { ...c.opts, bias: c.name.includes('bias') ? normal(0, 1, [c.w[0]], { generator: g, dtype }) : null };
        const want = conv2d(x, w, opts);
        const layer = packConv2d(w, opts);
        expect(layer).toBeInstanceOf(PackedConv2d);
        expect(layer.dtype).toBe(dtype);
        expect(layer.weightShape).toEqual(c.w);
        const got = layer.run(x);
        expect(got.shape, c.name).toEqual(want.shape);
        expect(firstBitDifference(got.data, want.data), c.name).toBe(-1);
        const out = zeros(want.shape, { dtype });
        expect(layer.run(x, { out })).toBe(out);
        expect(firstBitDifference(out.data, want.data), `${c.name}, out`).toBe(-1);
        if (c.name.startsWith('256 on 7^2') && layer.isPacked) expect(binding._lastConv2d().path).toBe('gemm-t packed');
      }
    });
  }

  it('copies the weights and bias: later writes to the originals are not seen', () => {
    const x = normal(0, 1, [1, 64, 7, 7]);
    const w = normal(0, 1, [64, 64, 3, 3]);
    const bias = normal(0, 1, [64]);
    const want = conv2d(x, w, { padding: 1, bias });
    const layer = packConv2d(w, { padding: 1, bias });
    w.data.fill(7);
    bias.data.fill(-1);
    expect(firstBitDifference(layer.run(x).data, want.data)).toBe(-1);
    // On the forced gemm-t path the copy and the packing agree too.
    binding._setConvPath('gemm-t');
    expect(firstBitDifference(layer.run(x).data, want.data)).toBe(-1);
    binding._setConvPath('direct-t');
    expect(firstBitDifference(layer.run(x).data, want.data)).toBe(-1);
    binding._setConvPath('auto');
  });

  it("runAsync resolves with run's bits; a signal aborts it", async () => {
    const x = normal(0, 1, [1, 256, 7, 7]);
    const w = normal(0, 1, [256, 256, 3, 3]);
    const layer = packConv2d(w, { padding: 1 });
    const want = conv2d(x, w, { padding: 1 });
    const got = await layer.runAsync(x);
    expect(firstBitDifference(got.data, want.data)).toBe(-1);
    const out = zeros(want.shape);
    expect(await layer.runAsync(x, { out })).toBe(out);
    expect(firstBitDifference(out.data, want.data)).toBe(-1);
    const ac = new AbortController();
    ac.abort();
    await expect(layer.runAsync(x, { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
    await expect(layer.runAsync(normal(0, 1, [1, 255, 7, 7]))).rejects.toThrow(RangeError);
  });

  it('packs nothing where the blocks would dwarf the weights (few channels per group), and runs as conv2d', () => {
    // A 1x1 depthwise layer: each group's block is 128 x 64 elements for one
    // weight (8192x; 4096 groups asked for 128 MiB before).
    const w = normal(0, 1, [4096, 1, 1, 1]);
    const layer = packConv2d(w, { groups: 4096 });
    expect(layer.isPacked).toBe(false);
    const x = normal(0, 1, [1, 4096, 2, 2]);
    expect(firstBitDifference(layer.run(x).data, conv2d(x, w, { groups: 4096 }).data)).toBe(-1);
    // A layer that takes the packed path still packs.
    if (binding.backendInfo().isa === 'avx512') expect(packConv2d(normal(0, 1, [64, 64, 3, 3])).isPacked).toBe(true);
  });

  it('a layer dropped while its runAsync job runs: the job holds all six buffers (input, weights, bias, out, packing, Winograd packing)', () => {
    const script = `
      const nt = require(${JSON.stringify(new URL('../dist/index.js', import.meta.url).pathname)});
      const w = nt.normal(0, 1, [128, 128, 3, 3]), b = nt.ones([128]), x = nt.normal(0, 1, [1, 128, 64, 64]);
      const want = nt.packConv2d(w, { bias: b, padding: 1, winograd: true }).run(x);
      const jobs = [];
      for (let i = 0; i < 4; i++) jobs.push((() => nt.packConv2d(w, { bias: b, padding: 1, winograd: true }).runAsync(x))());
      for (let i = 0; i < 10; i++) { nt.normal(0, 1, [512, 512]); globalThis.gc(); }
      Promise.all(jobs).then((ys) => console.log(ys.every((y) => y.data.every((v, i) => Object.is(v, want.data[i]))) ? 'ok' : 'wrong'));
    `;
    const r = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: 120_000 });
    expect(r.signal).toBeNull();
    expect(r.stdout.trim()).toBe('ok');
  });

  it("checks its arguments with TypeErrors and RangeErrors naming packConv2d, and run gives conv2d's errors", () => {
    const w = normal(0, 1, [8, 4, 3, 3]);
    expect(() => packConv2d(null as unknown as Tensor)).toThrow(TypeError);
    expect(() => packConv2d(null as unknown as Tensor)).toThrow(/^packConv2d: argument 'weight' must be a Tensor/);
    expect(() => packConv2d(normal(0, 1, [8, 4, 3]))).toThrow(/^packConv2d: weight must be 4-D/);
    expect(() => packConv2d(w, null as unknown as object)).toThrow(/^packConv2d: options must be an object/);
    expect(() => packConv2d(w, { out: zeros([1]) } as object)).toThrow(/^packConv2d: out belongs to each call/);
    expect(() => packConv2d(w, { bias: normal(0, 1, [7]) })).toThrow(/^packConv2d: .*expected bias to be 1-dimensional with 8 elements/);
    expect(() => packConv2d(w, { bias: normal(0, 1, [8], { dtype: 'float64' }) })).toThrow(TypeError);
    expect(() => packConv2d(w, { groups: 3 })).toThrow(/^packConv2d: Given groups=3, expected weight to be divisible by 3/);
    expect(() => packConv2d(w, { groups: 0 })).toThrow(RangeError);
    expect(() => packConv2d(w, { stride: 0 })).toThrow(/^packConv2d: non-positive stride/);
    expect(() => packConv2d(w, { dilation: [1, 0] })).toThrow(RangeError);
    expect(() => packConv2d(normal(0, 1, [8, 4, 0, 3]))).toThrow(/kernel size must be positive/);
    expect(() => packConv2d(normal(0, 1, [0, 4, 3, 3]))).toThrow(/^packConv2d: Given groups=1, expected weight to be at least 1 at dimension 0/);
    // padding, checked when the layer is made, as stride and dilation are.
    expect(() => packConv2d(w, { padding: NaN })).toThrow(/^packConv2d: padding must be an integer or an array of one or two integers, got NaN/);
    expect(() => packConv2d(w, { padding: 1.5 })).toThrow(TypeError);
    expect(() => packConv2d(w, { padding: 'foo' as 'same' })).toThrow(/^packConv2d: Invalid padding string: 'foo'/);
    expect(() => packConv2d(w, { padding: [1, 2, 3] as unknown as [number, number] })).toThrow(RangeError);
    expect(() => packConv2d(w, { padding: -1 })).toThrow(/^packConv2d: negative padding is not supported/);
    expect(() => packConv2d(w, { padding: 'same', stride: 2 })).toThrow(/^packConv2d: padding='same' is not supported for strided convolutions/);
    expect(packConv2d(w, { padding: 'same' }).run(normal(0, 1, [1, 4, 5, 5])).shape).toEqual([1, 8, 5, 5]);
    const layer = packConv2d(w);
    expect(() => layer.run(normal(0, 1, [1, 5, 6, 6]))).toThrow(/^conv2d: Given groups=1, weight of size \[8, 4, 3, 3\], expected input\[1, 5, 6, 6\] to have 4 channels, but got 5 channels instead/);
    // @ts-expect-error a float64 input for a float32 layer does not compile either
    expect(() => layer.run(normal(0, 1, [1, 4, 6, 6], { dtype: 'float64' }))).toThrow(TypeError);
    expect(() => layer.run(normal(0, 1, [1, 4, 2, 2]))).toThrow(/Kernel size can't be greater than actual input size/);
    expect(() => layer.run(normal(0, 1, [1, 4, 6, 6]), { out: zeros([1, 8, 3, 3]) })).toThrow(RangeError);
    expect(() => layer.run(normal(0, 1, [1, 4, 6, 6]), 5 as unknown as object)).toThrow(/^run: options must be an object/);
  });
});
