// packConv2d: a conv2d whose weights are copied and packed once, for the
// many calls a model makes with the same layer (as onnxruntime packs a
// graph's initializers when the session is made). The packing is the
// transposed implicit GEMM's W^T blocks (native/kernels.h: conv2d_pack_*),
// the one path that otherwise repacks all the weights on every call (deep
// layers on small images: 512 -> 512 3x3 on 7^2 spends ~13 % of its time
// there). Every other path reads the copied weights as conv2d does; the bits
// are conv2d's in every case, except where the layer was made with
// `winograd: true` and a call takes Winograd (native/kernels.h:
// conv2d_winograd_*, whose transformed weights are made here too).
import { DType } from '../dtype';
import { fmt } from '../shape';
import { native } from '../native';
import { Tensor, checkTensor } from '../tensor';
import { AsyncOptions, checkAsyncOptions, runConv2dPlanAsync } from './async';
import { checkKeys, checkOptions, keysOf, withSignal } from '../options';
import { Conv2dOptions, Conv2dPlan, pair, paddingOf, prepareConv2d, runConv2dPlan } from './conv';

/** conv2d's options that belong to the layer (all but `out`), and the choice of Winograd. */
export interface PackConv2dOptions extends Omit<Conv2dOptions, 'out'> {
  /**
   * Allow Winograd F(2x2, 3x3) for a 3x3 kernel with stride 1 and dilation
   * 1 (default false): 16 multiplies per 2x2 output pixels and input channel
   * instead of 36, so 1.3-1.6x faster on wide layers, but the results are
   * rounded differently: within a few float32 ulps of conv2d's (measured
   * below 2e-6 of the largest output on ResNet-size layers), not its bits.
   * run() uses it where it pays (32 or more input and output channels per
   * group, an output of 11x11 or more); elsewhere run() is conv2d exactly.
   */
  winograd?: boolean | undefined;
}

/** A call's own options: where the result goes. */
export interface PackedConv2dRunOptions {
  /** As conv2d's `out`. */
  out?: Tensor | null | undefined;
}
const PACK_KEYS = keysOf<PackConv2dOptions>()(['bias', 'stride', 'padding', 'dilation', 'groups', 'winograd']);
const RUN_KEYS = keysOf<PackedConv2dRunOptions>()(['out']);
const RUN_ASYNC_KEYS = withSignal(RUN_KEYS);

const OP = 'packConv2d';

/**
 * conv2d(input, weight, options) for any number of inputs, with `weight`
 * and `bias` as they are now: both are copied here (later writes to the
 * originals are not seen) and the weights packed for the current
 * instruction set. `run` gives conv2d's result bit for bit, with conv2d's
 * checks and errors; with `winograd: true`, calls that take Winograd give
 * it within a few ulps instead (see PackConv2dOptions.winograd).
 */
export class PackedConv2d<D extends DType = DType> {
  /** The weights' dtype; inputs must have it. */
  readonly dtype: D;
  /** (out channels, in channels / groups, kH, kW). */
  readonly weightShape: readonly number[];
  readonly #weight: Tensor<D>;
  readonly #options: PackConv2dOptions;
  readonly #packed: ArrayBuffer | null;
  readonly #winograd: ArrayBuffer | null;

  constructor(weight: Tensor<D>, options: PackConv2dOptions = {}) {
    // Option keys first (lib/options.ts), with a word on the one key that belongs to each call.
    if (options !== null && typeof options === 'object' && (options as Conv2dOptions).out != null) {
      throw new TypeError(`${OP}: out belongs to each call (run(input, { out })), not to the packed weights`);
    }
    checkKeys(OP, options, PACK_KEYS);
    checkTensor(OP, weight, 'weight');
    if (options === null || typeof options !== 'object') throw new TypeError(`${OP}: options must be an object`);
    const { bias = null, stride, padding, dilation, groups = 1, winograd = false } = options;
    if (weight.ndim !== 4) {
      throw new RangeError(`${OP}: weight must be 4-D (out_channels, in_channels / groups, kH, kW), but got weight of size ${fmt(weight.shape)}`);
    }
    if (bias !== null) {
      checkTensor(OP, bias, 'bias');
      if (bias.dtype !== weight.dtype) throw new TypeError(`${OP}: weight type (${weight.dtype}) and bias type (${bias.dtype}) should be the same`);
    }
    const [cout, cin, kh, kw] = weight.shape;
    if (bias !== null && (bias.ndim !== 1 || bias.shape[0] !== cout)) {
      throw new RangeError(`${OP}: Given weight of size ${fmt(weight.shape)}, expected bias to be 1-dimensional with ${cout} elements, but got bias of size ${fmt(bias.shape)} instead`);
    }
    if (typeof groups !== 'number' || !Number.isSafeInteger(groups)) throw new TypeError(`${OP}: groups must be an integer`);
    if (groups < 1) throw new RangeError(`${OP}: non-positive groups is not supported (got ${groups})`);
    if (cout < groups) {
      throw new RangeError(`${OP}: Given groups=${groups}, expected weight to be at least ${groups} at dimension 0, but got weight of size ${fmt(weight.shape)} instead`);
    }
    if (cout % groups !== 0) {
      throw new RangeError(`${OP}: Given groups=${groups}, expected weight to be divisible by ${groups} at dimension 0, but got weight of size ${fmt(weight.shape)} instead`);
    }
    if (kh === 0 || kw === 0) throw new RangeError(`${OP}: kernel size must be positive, got weight of size ${fmt(weight.shape)}`);
    // The per-call options conv2d would reject whatever the input.
    const [sh, sw] = pair(OP, 'stride', stride, 1, 1);
    const [dh, dw] = pair(OP, 'dilation', dilation, 1, 1);
    paddingOf(OP, padding, stride, sh, sw, dh * (kh - 1) + 1, dw * (kw - 1) + 1);
    if (typeof winograd !== 'boolean') throw new TypeError(`${OP}: winograd must be a boolean, got ${typeof winograd}`);
    this.dtype = weight.dtype;
    this.weightShape = weight.shape;
    this.#weight = weight.clone();
    const own = bias === null ? null : bias.clone();
    this.#options = Object.freeze({ bias: own, stride, padding, dilation, groups });
    this.#packed = cout > 0 && cin > 0 ? native().conv2dPack(this.#weight.data, cout, cin * kh * kw, groups) : null;
    const winogradApplies = kh === 3 && kw === 3 && sh === 1 && sw === 1 && dh === 1 && dw === 1;
    this.#winograd = winograd && winogradApplies && cout > 0 && cin > 0
      ? native().conv2dWinogradPack(this.#weight.data, cout, cin, groups) : null;
  }

  /**
   * Whether run may compute by Winograd: the option was set and the kernel
   * is 3x3 with stride 1 and dilation 1 (run still takes conv2d's own path,
   * and bits, where Winograd would not be faster).
   */
  get winograd(): boolean {
    return this.#winograd !== null;
  }

  /** Whether the weights are packed (an instruction set with a layout for this dtype); else run packs per call as conv2d. */
  get isPacked(): boolean {
    return this.#packed !== null;
  }

  /** conv2d(input, weight, {...options, out}). */
  run(input: Tensor<D>, options?: PackedConv2dRunOptions): Tensor<D>;
  run(input: Tensor, options?: PackedConv2dRunOptions): Tensor {
    checkOptions('run', options, RUN_KEYS);
    return runConv2dPlan(this.#plan(input, options));
  }

  /** run() on libuv's thread pool, as conv2dAsync; options also take a signal. */
  runAsync(input: Tensor<D>, options?: PackedConv2dRunOptions & AsyncOptions): Promise<Tensor<D>>;
  async runAsync(input: Tensor, options?: PackedConv2dRunOptions & AsyncOptions): Promise<Tensor> {
    const signal = checkAsyncOptions('runAsync', options, RUN_ASYNC_KEYS);
    return runConv2dPlanAsync('runAsync', signal, this.#plan(input, options, true));
  }

  /** conv2d's checked plan for this input with the copied weights, reading the packing (options already checked; defer: prepareConv2d's). */
  #plan(input: Tensor, options: PackedConv2dRunOptions | undefined, defer = false): Conv2dPlan {
    const p = prepareConv2d(input, this.#weight, { ...this.#options, out: options?.out }, defer);
    p.packed = this.#packed;
    p.winograd = this.#winograd;
    return p;
  }
}

/** new PackedConv2d(weight, options): conv2d's layer options, the weights copied and packed once. */
export function packConv2d<D extends DType>(weight: Tensor<D>, options?: PackConv2dOptions): PackedConv2d<D> {
  return new PackedConv2d(weight, options);
}
