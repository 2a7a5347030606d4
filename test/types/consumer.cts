// The same package through require (CommonJS), strict.
import nt = require('ntensor');

const a: nt.Tensor<'float64'> = nt.tensor(new Float64Array([1, 2, 3]));
const b = nt.matmul(a, a);
const s: number = b.item();
// @ts-expect-error float64 with float32
nt.matmul(a, nt.tensor([1, 2, 3]));
export { s };
