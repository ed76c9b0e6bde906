// The small ONNX graphs the projection engine runs on ONNX Runtime (IR 8, opset 17), built
// with onnx-proto. Each is a few nodes around a GEMM, which ONNX Runtime runs here at
// 100-300 GFLOP/s, far beyond a JS loop.
import { onnx } from 'onnx-proto';

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const A = onnx.AttributeProto.AttributeType;

type Dim = number | string;

function valueInfo(name: string, elemType: number, dims: Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

const int = (name: string, i: number): onnx.IAttributeProto => ({ name, type: A.INT, i });
const ints = (name: string, v: number[]): onnx.IAttributeProto => ({ name, type: A.INTS, ints: v });
const int64s = (name: string, v: number[]): onnx.ITensorProto => ({ name, dataType: INT64, dims: [v.length], int64Data: v });

function encodeModel(graph: onnx.IGraphProto): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'tensorscope',
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

/**
 * Scores of a block of queries against a block of references, reduced to the best score of
 * every `chunk` consecutive references.
 *
 * Inputs: `queries` [B, dim + 1] holding rows [2q, -1], and `refsT` [dim + 1, M] holding
 * columns [r; |r|^2] (padding columns: zeros and a huge |r|^2). Output: `chunkMax`
 * [B, M / chunk]. Their product is score = 2 q.r - |r|^2 = |q|^2 - |q - r|^2: for a fixed
 * query the largest scores are the nearest references (for cosine the rows are unit rows).
 *
 * Only the chunk maxima leave ONNX Runtime: copying a whole score block out, or ONNX
 * Runtime's TopK and GatherElements, each cost more than the GEMM itself (measured). The
 * caller keeps the best chunks of each query and ranks their members exactly.
 */
export function chunkMaxGraph(dim: number, chunk: number): Uint8Array {
  return encodeModel({
    name: 'knn_chunk_max',
    input: [valueInfo('queries', FLOAT, ['B', dim + 1]), valueInfo('refsT', FLOAT, [dim + 1, 'M'])],
    output: [valueInfo('chunkMax', FLOAT, ['B', 'C'])],
    initializer: [int64s('chunked', [0, -1, chunk])],
    node: [
      { opType: 'MatMul', input: ['queries', 'refsT'], output: ['score'] },
      { opType: 'Reshape', input: ['score', 'chunked'], output: ['score3'] },
      { opType: 'ReduceMax', input: ['score3'], output: ['chunkMax'], attribute: [ints('axes', [2]), int('keepdims', 0)] },
    ],
  });
}

/**
 * One step of subspace iteration on a block of rows: `y` = x z and `g` = x^T y, so summing
 * `g` over all row blocks gives X^T X z without holding X.
 * Inputs `x` [B, D], `z` [D, L]; outputs `y` [B, L], `g` [D, L].
 */
export function powerStepGraph(): Uint8Array {
  return encodeModel({
    name: 'power_step',
    input: [valueInfo('x', FLOAT, ['B', 'D']), valueInfo('z', FLOAT, ['D', 'L'])],
    output: [valueInfo('y', FLOAT, ['B', 'L']), valueInfo('g', FLOAT, ['D', 'L'])],
    node: [
      { opType: 'MatMul', input: ['x', 'z'], output: ['y'] },
      { opType: 'Gemm', input: ['x', 'y'], output: ['g'], attribute: [int('transA', 1)] },
    ],
  });
}

/** A plain product: `a` [M, K] x `b` [K, N] -> `c` [M, N]. */
export function matmulGraph(): Uint8Array {
  return encodeModel({
    name: 'matmul',
    input: [valueInfo('a', FLOAT, ['M', 'K']), valueInfo('b', FLOAT, ['K', 'N'])],
    output: [valueInfo('c', FLOAT, ['M', 'N'])],
    node: [{ opType: 'MatMul', input: ['a', 'b'], output: ['c'] }],
  });
}
