// Builds ONNX models as protobuf bytes, with no protobuf or onnx library:
// ModelProto → GraphProto → NodeProto, graph inputs/outputs as ValueInfoProto,
// weights as TensorProto initializers with raw_data. Field numbers are those
// of onnx/onnx.proto (IR version 8).
//
//   const bytes = buildModel({
//     nodes: [{ opType: 'Conv', inputs: ['X', 'W'], outputs: ['Y'],
//               attributes: { strides: [1, 1], pads: [1, 1, 1, 1] } }],
//     inputs: [{ name: 'X', shape: [1, 3, 32, 32] }],
//     outputs: [{ name: 'Y', shape: [1, 16, 32, 32] }],
//     initializers: [{ name: 'W', shape: [16, 3, 3, 3], data: weightsFloat32Array }],
//   });
import { Writer } from './protobuf.mjs';

export const IR_VERSION = 8;
export const DEFAULT_OPSET = 13;

// onnx.TensorProto.DataType
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, DOUBLE: 11 };
const ARRAY_DTYPE = new Map([
  [Float32Array, DataType.FLOAT],
  [Float64Array, DataType.DOUBLE],
  [Int32Array, DataType.INT32],
  [BigInt64Array, DataType.INT64],
  [Uint8Array, DataType.UINT8],
  [Int8Array, DataType.INT8],
]);

// onnx.AttributeProto.AttributeType
const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7, STRINGS: 8 };

/** TensorShapeProto; a string dimension is a symbolic dim_param, a number a dim_value. */
function shapeProto(shape) {
  const w = new Writer();
  for (const d of shape) {
    const dim = new Writer();
    if (typeof d === 'string') dim.string(2, d);
    else dim.int(1, d);
    w.message(1, dim);
  }
  return w;
}

/** ValueInfoProto for a dense tensor: { name, shape, elemType = FLOAT }. */
export function valueInfo({ name, shape, elemType = DataType.FLOAT }) {
  const tensorType = new Writer().int(1, elemType).message(2, shapeProto(shape));
  const type = new Writer().message(1, tensorType);
  return new Writer().string(1, name).message(2, type);
}

/** TensorProto with raw_data (little-endian, as this x86-64 host stores it). */
export function tensorProto({ name, shape, data }) {
  const dataType = ARRAY_DTYPE.get(data.constructor);
  if (dataType === undefined) throw new TypeError(`tensorProto: unsupported array type ${data.constructor.name}`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new RangeError(`tensorProto: '${name}' has ${data.length} elements but shape [${shape}] needs ${count}`);
  const w = new Writer().ints(1, shape).int(2, dataType);
  if (name !== undefined) w.string(8, name);
  return w.bytes(9, data);
}

/** AttributeProto, typed from the JS value: number (int if integral unless {float}), number[], string, string[], typed array (tensor). */
export function attribute(name, value) {
  const w = new Writer().string(1, name);
  if (typeof value === 'object' && value !== null && 'float' in value) {
    return Array.isArray(value.float)
      ? w.floats(7, value.float).int(20, AttrType.FLOATS)
      : w.float(2, value.float).int(20, AttrType.FLOAT);
  }
  if (typeof value === 'number' || typeof value === 'bigint') {
    return Number.isInteger(Number(value)) ? w.int(3, value).int(20, AttrType.INT) : w.float(2, value).int(20, AttrType.FLOAT);
  }
  if (typeof value === 'string') return w.string(4, value).int(20, AttrType.STRING);
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === 'string')) return w.strings(9, value).int(20, AttrType.STRINGS);
    if (value.every((v) => Number.isInteger(v))) return w.ints(8, value).int(20, AttrType.INTS);
    return w.floats(7, value).int(20, AttrType.FLOATS);
  }
  if (value && value.data && value.shape) return w.message(5, tensorProto(value)).int(20, AttrType.TENSOR);
  throw new TypeError(`attribute: cannot encode '${name}'`);
}

/** NodeProto: { opType, inputs, outputs, name?, domain?, attributes? }. */
export function nodeProto({ opType, inputs, outputs, name, domain, attributes = {} }) {
  const w = new Writer().strings(1, inputs).strings(2, outputs);
  if (name !== undefined) w.string(3, name);
  w.string(4, opType);
  for (const [k, v] of Object.entries(attributes)) w.message(5, attribute(k, v));
  if (domain !== undefined) w.string(7, domain);
  return w;
}

/** The serialised ModelProto (Uint8Array) for one graph. */
export function buildModel({ nodes, inputs, outputs, initializers = [], name = 'bench', opset = DEFAULT_OPSET }) {
  const graph = new Writer()
    .messages(1, nodes.map(nodeProto))
    .string(2, name)
    .messages(5, initializers.map(tensorProto))
    .messages(11, inputs.map(valueInfo))
    .messages(12, outputs.map(valueInfo));
  const opsetId = new Writer().string(1, '').int(2, opset);
  return new Writer()
    .int(1, IR_VERSION)
    .string(2, 'ntensor-bench')
    .message(7, graph)
    .message(8, opsetId)
    .finish();
}

/** Y[M,N] = A[M,K] · B[K,N], both operands graph inputs. */
export function matmulModel(m, k, n) {
  return buildModel({
    name: `matmul_${m}x${k}x${n}`,
    nodes: [{ opType: 'MatMul', inputs: ['A', 'B'], outputs: ['Y'], name: 'matmul' }],
    inputs: [{ name: 'A', shape: [m, k] }, { name: 'B', shape: [k, n] }],
    outputs: [{ name: 'Y', shape: [m, n] }],
  });
}

/**
 * Y = Conv(X, W[, B]) with the weights (and bias) as initializers, as a
 * deployed model holds them. xShape is N,C,H,W; weight is { shape: [Cout,C/group,kh,kw], data }.
 */
export function conv2dModel({ xShape, weight, bias, stride = [1, 1], pad = [0, 0], group = 1 }) {
  const [nb, , h, w] = xShape;
  const [cout, , kh, kw] = weight.shape;
  const oh = Math.floor((h + 2 * pad[0] - kh) / stride[0]) + 1;
  const ow = Math.floor((w + 2 * pad[1] - kw) / stride[1]) + 1;
  const initializers = [{ name: 'W', ...weight }];
  if (bias) initializers.push({ name: 'B', shape: [cout], data: bias });
  return buildModel({
    name: 'conv2d',
    nodes: [{
      opType: 'Conv',
      inputs: bias ? ['X', 'W', 'B'] : ['X', 'W'],
      outputs: ['Y'],
      name: 'conv',
      attributes: { kernel_shape: [kh, kw], strides: stride, pads: [pad[0], pad[1], pad[0], pad[1]], dilations: [1, 1], group },
    }],
    inputs: [{ name: 'X', shape: xShape }],
    outputs: [{ name: 'Y', shape: [nb, cout, oh, ow] }],
    initializers,
  });
}
