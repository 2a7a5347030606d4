// Joining and permuting: stack, cat, transpose. All produce new contiguous tensors.
import { DType, TypedArrayFor, allocate, promote } from '../dtype';
import { fmt, normDim, stridesOf } from '../shape';
import { Tensor, checkTensor } from '../tensor';

/** The tensors, checked, and the dtype of the result: float64 if any is (PyTorch's promotion). */
function checkList(op: string, tensors: unknown): { list: Tensor[]; dtype: DType } {
  if (!Array.isArray(tensors)) {
    throw new TypeError(`${op}: expected an array of Tensors, got ${typeof tensors}`);
  }
  if (tensors.length === 0) throw new RangeError(`${op}: expected a non-empty list of Tensors`);
  tensors.forEach((t, i) => checkTensor(op, t, `tensors[${i}]`));
  const list = tensors as Tensor[];
  return { list, dtype: list.reduce<DType>((d, t) => promote(d, t.dtype), list[0].dtype) };
}

/** Copies blocks: out is `outer` rows, each the inputs' rows laid side by side. */
function joinRows(op: string, tensors: Tensor[], outer: number, rowSizes: number[], dtype: DType): TypedArrayFor<DType> {
  const rowTotal = rowSizes.reduce((a, b) => a + b, 0);
  const out = allocate(dtype, outer * rowTotal, op);
  // Nothing to copy when the rows are empty, however many there are.
  for (let o = 0; o < outer && out.length > 0; o++) {
    let pos = o * rowTotal;
    for (let i = 0; i < tensors.length; i++) {
      const r = rowSizes[i];
      out.set(tensors[i].data.subarray(o * r, (o + 1) * r), pos);
      pos += r;
    }
  }
  return out;
}

export function stack<D extends DType>(tensors: readonly Tensor<D>[], dim = 0): Tensor<D> {
  const { list, dtype } = checkList('stack', tensors);
  const shape = list[0].shape;
  list.forEach((t, i) => {
    if (t.shape.length !== shape.length || t.shape.some((d, j) => d !== shape[j])) {
      throw new RangeError(`stack: stack expects each tensor to be equal size, but got ${fmt(shape)} at entry 0 and ${fmt(t.shape)} at entry ${i}`);
    }
  });
  const d = normDim('stack', dim, shape.length + 1);
  const outer = shape.slice(0, d).reduce((a, b) => a * b, 1);
  const inner = shape.slice(d).reduce((a, b) => a * b, 1);
  const data = joinRows('stack', list, outer, list.map(() => inner), dtype) as TypedArrayFor<D>;
  return new Tensor<D>(data, [...shape.slice(0, d), list.length, ...shape.slice(d)]);
}

export function cat<D extends DType>(tensors: readonly Tensor<D>[], dim = 0): Tensor<D> {
  const { list: all, dtype } = checkList('cat', tensors);
  all.forEach((t, i) => {
    if (t.shape.length === 0) throw new RangeError(`cat: zero-dimensional tensor (at position ${i}) cannot be concatenated`);
  });
  // As PyTorch, 1-D empty tensors (shape [0]) are skipped whatever the
  // others' shapes (legacy behaviour); they still count for the dtype.
  const skip = (t: Tensor): boolean => t.shape.length === 1 && t.shape[0] === 0;
  const first = all.findIndex((t) => !skip(t));
  const list = first < 0 ? [all[0]] : all.filter((t) => !skip(t));
  const ref = list[0].shape, at = Math.max(first, 0);
  const d = normDim('cat', dim, ref.length);
  all.forEach((t, i) => {
    if (skip(t)) return;
    if (t.shape.length !== ref.length) {
      throw new RangeError(`cat: Tensors must have same number of dimensions: got ${ref.length} and ${t.shape.length} (shapes ${fmt(ref)} and ${fmt(t.shape)} at positions ${at} and ${i})`);
    }
    t.shape.forEach((s, j) => {
      if (j !== d && s !== ref[j]) {
        throw new RangeError(`cat: Sizes of tensors must match except in dimension ${d}. Expected size ${ref[j]} but got size ${s} for tensor number ${i} in the list (shapes ${fmt(ref)} and ${fmt(t.shape)})`);
      }
    });
  });
  const outer = ref.slice(0, d).reduce((a, b) => a * b, 1);
  const tail = ref.slice(d + 1).reduce((a, b) => a * b, 1);
  const data = joinRows('cat', list, outer, list.map((t) => t.shape[d] * tail), dtype) as TypedArrayFor<D>;
  const shape = [...ref];
  shape[d] = list.reduce((s, t) => s + t.shape[d], 0);
  return new Tensor<D>(data, shape);
}

/** Swaps two dims (a contiguous copy). */
export function transpose<D extends DType>(t: Tensor<D>, dim0: number, dim1: number): Tensor<D> {
  checkTensor('transpose', t, 'input');
  const nd = t.ndim;
  const a = normDim('transpose', dim0, nd), b = normDim('transpose', dim1, nd);
  if (nd === 0 || a === b) return t.clone();
  const shape = [...t.shape];
  [shape[a], shape[b]] = [shape[b], shape[a]];
  const src = stridesOf(t.shape);
  const perm = [...src];
  [perm[a], perm[b]] = [perm[b], perm[a]];
  const out = allocate(t.dtype, t.numel) as TypedArrayFor<D>;
  const x = t.data;
  if (out.length === 0) return new Tensor<D>(out, shape); // a dim may be huge when another is 0
  if (nd === 2) {
    const [r, c] = shape;
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[i * c + j] = x[j * r + i];
    return new Tensor<D>(out, shape);
  }
  const idx = new Array<number>(nd).fill(0);
  let s = 0;
  for (let o = 0; o < out.length; o++) {
    out[o] = x[s];
    for (let k = nd - 1; k >= 0; k--) {
      idx[k]++;
      s += perm[k];
      if (idx[k] < shape[k]) break;
      s -= perm[k] * shape[k];
      idx[k] = 0;
    }
  }
  return new Tensor<D>(out, shape);
}
