// A strict ESM consumer of the published types. Each @ts-expect-error line
// is a call the runtime refuses with a TypeError, refused here at compile
// time too; tsc fails if one of them compiles (the directive is unused).
import {
  type DType, type Tensor, allclose, arange, avgPool2d, conv2d, corr2d, full, matmul, matmulAsync, maxPool2d,
  normal, ones, packConv2d, rand, tensor, zeros,
} from 'ntensor';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
function expectType<T>(_value: T): <U>(ok: Equal<T, U>) => void {
  return () => {};
}

// dtypes: from the options' dtype, else float32; a Float64Array gives float64.
expectType(tensor(new Float64Array([1, 2])))<Tensor<'float64'>>(true);
expectType(tensor([1, 2]))<Tensor<'float32'>>(true);
expectType(tensor(new Float32Array(2), { dtype: 'float64' }))<Tensor<'float64'>>(true);
expectType(zeros([2]))<Tensor<'float32'>>(true);
expectType(ones([2], { dtype: 'float64' }))<Tensor<'float64'>>(true);
expectType(full([2], 1, {}))<Tensor<'float32'>>(true);
expectType(arange(4))<Tensor<'float32'>>(true);
expectType(arange(0, 4, 1, { dtype: 'float64' }))<Tensor<'float64'>>(true);
expectType(normal(0, 1, [2], { dtype: 'float64' }))<Tensor<'float64'>>(true);
expectType(rand([2]))<Tensor<'float32'>>(true);
const f32 = ones([2, 2]);
const f64 = ones([2, 2], { dtype: 'float64' });
expectType(f64.data)<Float64Array>(true);
expectType(normal(f64, f32))<Tensor<'float64'>>(true);
expectType(normal(f32))<Tensor<'float32'>>(true);
expectType(normal(0, f64, { generator: undefined }))<Tensor<'float64'>>(true);
// @ts-expect-error the tensor forms take no shape
normal(f32, 1, [2]);
// @ts-expect-error an explicit dtype parameter must come with the dtype option
zeros<'float64'>([2]);

// Ops keep the dtype.
expectType(matmul(f64, f64))<Tensor<'float64'>>(true);
expectType(f32.matmul(f32).add(1).sum())<Tensor<'float32'>>(true);
expectType(conv2d(ones([1, 1, 3, 3]), ones([1, 1, 2, 2])))<Tensor<'float32'>>(true);

// Two known, different dtypes do not compile where the op needs one dtype.
// @ts-expect-error float32 with float64
matmul(f32, f64);
// @ts-expect-error float32 with float64
f32.matmul(f64);
// @ts-expect-error float32 with float64
conv2d(ones([1, 1, 3, 3]), ones([1, 1, 2, 2], { dtype: 'float64' }));
// @ts-expect-error float32 with float64
corr2d(f32, f64);
// @ts-expect-error float32 with float64
void matmulAsync(f64, f32);
// @ts-expect-error float32 with float64
allclose(f32, f64);
// A tensor of unknown dtype pairs with either.
const unknown: Tensor = f64;
expectType(matmul(f32, unknown))<Tensor<'float32'>>(true);
expectType(matmul(unknown, f64))<Tensor<DType>>(true);
// Elementwise ops promote instead.
expectType(f32.add(f64))<Tensor>(true);

// Each pooling op's options have only its own keys.
const img = arange(16).reshape(1, 1, 4, 4);
maxPool2d(img, 2, { dilation: 1, ceilMode: false });
// One value in an array serves both dims (PyTorch's one-element list); a pooling stride of [] is the kernel.
maxPool2d(img, [2], { stride: [], padding: [1], dilation: [1] });
conv2d(img, ones([1, 1, 2, 2]), { stride: [2], padding: [1], dilation: [1, 1] });
// @ts-expect-error three values
conv2d(img, ones([1, 1, 2, 2]), { stride: [1, 1, 1] });
// @ts-expect-error conv2d's stride has no empty form
conv2d(img, ones([1, 1, 2, 2]), { stride: [] });
avgPool2d(img, 2, { countIncludePad: false, divisorOverride: 3 });
// @ts-expect-error avgPool2d's option
maxPool2d(img, 2, { countIncludePad: false });
// @ts-expect-error maxPool2d's option
avgPool2d(img, 2, { dilation: 2 });

// exactOptionalPropertyTypes: optional values forwarded as they are (a key
// set to undefined is allowed, as at run time).
export function layer(x: Tensor<'float32'>, w: Tensor<'float32'>, bias?: Tensor<'float32'>, stride?: number,
  signal?: AbortSignal): Promise<Tensor<'float32'>> {
  conv2d(x, w, { bias, stride, padding: undefined });
  packConv2d(w, { bias, winograd: undefined }).run(x, { out: undefined });
  allclose(x, x, { rtol: undefined, atol: undefined });
  return matmulAsync(x, w, { signal, out: undefined });
}
