// Helpers for the "preallocated outputs" (steady-state) rows: each library
// that can write into an existing output does so, so no call pays for fresh
// output pages. Support is detected at run time: ntensor's `{ out }` option
// counts only when the call returns `out` itself with the product in it;
// onnxruntime-node's pre-allocated fetches only when the Float32Array given
// as the output really holds the result after a run.

/** Largest |x - y| over largest |y|. */
export function maxRelDiff(x, y) {
  let d = 0, s = 0;
  for (let i = 0; i < x.length; i++) {
    d = Math.max(d, Math.abs(x[i] - y[i]));
    s = Math.max(s, Math.abs(y[i]));
  }
  return d / (s || 1);
}

/**
 * Does `callOut(out)` write into `out` and return it? `fresh` is the same
 * call without `out` (a new tensor, the reference); `alloc(shape)` makes the
 * output. Returns { ok: true, out } or { ok: false, reason }.
 */
export function checkNtOut(callOut, fresh, alloc) {
  let ref, out, r;
  try {
    ref = fresh();
    out = alloc(ref.shape);
    out.data.fill(Number.NaN);
    r = callOut(out);
  } catch (err) {
    return { ok: false, reason: `the call with { out } threw: ${err.message.split('\n')[0]}` };
  }
  if (r !== out) return { ok: false, reason: 'the call with { out } returned a new tensor, not out (the option is ignored by this build)' };
  const d = maxRelDiff(out.data, ref.data);
  if (Number.isNaN(d)) return { ok: false, reason: 'the call returned out, but out still holds the NaNs it was filled with before the call' };
  if (!(d < 1e-5)) return { ok: false, reason: `out holds a different result than the call without out (relative difference ${d})` };
  return { ok: true, out };
}

/**
 * Runs `session` once with a pre-allocated output `name` over a NaN-filled
 * Float32Array and checks that array against `ref` (a Float32Array).
 * Returns { ok, reason?, yTensor, fetches, returnsCopy }: returnsCopy is true
 * when the result onnxruntime-node hands back is not a view of that array.
 */
export async function checkOrtOut(ort, session, feeds, name, shape, ref) {
  const buf = new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(Number.NaN);
  const yTensor = new ort.Tensor('float32', buf, shape);
  const fetches = { [name]: yTensor };
  let r;
  try {
    r = await session.run(feeds, fetches);
  } catch (err) {
    return { ok: false, reason: `session.run with a pre-allocated output threw: ${err.message.split('\n')[0]}` };
  }
  const d = maxRelDiff(buf, ref);
  if (!(d < 1e-4)) return { ok: false, reason: `after session.run(feeds, { ${name}: preallocated }) the preallocated Float32Array does not hold the result (relative difference ${d})` };
  return { ok: true, yTensor, fetches, returnsCopy: r[name]?.data?.buffer !== buf.buffer };
}
