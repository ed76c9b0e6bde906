// Exact k nearest neighbours (Euclidean or cosine), blocked, on ONNX Runtime.
//
// 1. ONNX Runtime scores blocks of queries against blocks of references with one GEMM and
//    keeps the best float32 score of every CHUNK consecutive references (onnxGraphs.ts).
// 2. For each query, JS keeps the kk best chunks over all blocks, then ranks the members
//    of those chunks, best chunk first, by their exact distance (float64 from the float32
//    rows as given), ties broken by the lower index.
// 3. A rounding bound on the float32 scores certifies that no reference in a chunk not
//    scanned can be nearer than the k-th neighbour found (which also ends the scan early).
//    A query that cannot be certified (near-ties at the boundary, many duplicates) is
//    searched exhaustively in JS.
// So the result is the exact k nearest neighbours, whatever the data.
import { UserError, throwIfAborted } from '../errors';
import { ort, providerInfo, session } from './ort';
import { chunkMaxGraph } from './onnxGraphs';
import type { Matrix, Metric, RunControl } from './types';

export interface Neighbors {
  /** Rows of the queries (of the references when searching them against themselves). */
  rows: number;
  k: number;
  /** rows x k reference indices, nearest first (ties: lower index first). */
  indices: Int32Array;
  /** rows x k distances: Euclidean, or 1 - cosine similarity. */
  distances: Float32Array;
  /** Queries whose candidates could not be certified and were searched exhaustively. */
  exhaustiveRows: number;
}

export interface KnnOptions extends RunControl {
  /** Query rows; when absent the references are searched against themselves, excluding self. */
  queries?: Matrix;
}

const CHUNK = Number(process.env.TS_KNN_CHUNK ?? 16); // references per chunk maximum
const EXTRA_CHUNKS = 3; // chunks kept beyond k + 1, so the certificate nearly always holds
const REF_BLOCK = 8192; // references per GEMM block: the score block stays in cache
const QUERY_BLOCK = 256;
const PAD_NORM2 = 1e30; // squared norm of padding references: never among the best
const UNIT_ROUNDOFF = 2 ** -24;

export async function nearestNeighbors(refs: Matrix, k: number, metric: Metric, opts: KnnOptions = {}): Promise<Neighbors> {
  const { queries, signal, onProgress } = opts;
  const self = !queries;
  const n = refs.rows;
  const d = refs.cols;
  if (queries && queries.cols !== d) throw new UserError(`queries have ${queries.cols} columns, the references ${d}`);
  if (!Number.isInteger(k) || k < 1) throw new UserError(`number of neighbours must be at least 1, not ${k}`);
  if (self && k >= n) throw new UserError(`number of neighbours (${k}) must be less than the number of rows (${n})`);
  if (!self && k > n) throw new UserError(`number of neighbours (${k}) must be at most the number of reference rows (${n})`);
  const nq = queries ? queries.rows : n;
  const cosine = metric === 'cosine';
  const refRows = cosine ? unitRows(refs) : refs.data;
  const queryRows = queries ? (cosine ? unitRows(queries) : queries.data) : refRows;
  // Exact distances come from the rows as given (not the unit rows of the score).
  const qData = queries ? queries.data : refs.data;
  const exact = cosine ? cosineDistance : euclideanDistance2;
  const refSquares = cosine ? rowSquares(refs) : new Float64Array(0);
  const querySquares = cosine ? (queries ? rowSquares(queries) : refSquares) : new Float64Array(0);

  // Reference blocks of equal width (a multiple of CHUNK, padded), transposed and augmented.
  const chunksPerBlock = Math.ceil(Math.ceil(n / Math.ceil(n / REF_BLOCK)) / CHUNK);
  const width = chunksPerBlock * CHUNK;
  const blockCount = Math.ceil(n / width);
  const chunks = Math.ceil(n / CHUNK); // chunk c holds references [c * CHUNK, (c + 1) * CHUNK)
  let maxNorm2 = 0;
  const refBlocks: ort.Tensor[] = [];
  for (let b = 0; b < blockCount; b++) {
    const t = new Float32Array((d + 1) * width);
    t.fill(PAD_NORM2, d * width);
    for (let j = 0; j < width && b * width + j < n; j++) {
      const row = (b * width + j) * d;
      let s = 0;
      for (let c = 0; c < d; c++) {
        const v = refRows[row + c];
        t[c * width + j] = v;
        s += v * v;
      }
      t[d * width + j] = s;
      if (s > maxNorm2) maxNorm2 = s;
    }
    refBlocks.push(new ort.Tensor('float32', t, [d + 1, width]));
  }

  const graph = await session(`knn:${d}:${CHUNK}`, () => chunkMaxGraph(d, CHUNK));
  const gpu = providerInfo()?.provider !== 'cpu';
  const u = gpu ? 2 ** -10 : UNIT_ROUNDOFF; // GPU GEMMs may round their inputs to TF32
  const kk = Math.min(chunks, k + 1 + EXTRA_CHUNKS);
  const keptScore = new Float64Array(QUERY_BLOCK * kk);
  const keptChunk = new Int32Array(QUERY_BLOCK * kk);
  const query = new Float32Array(QUERY_BLOCK * (d + 1));
  const indices = new Int32Array(nq * k);
  const dist = new Float64Array(nq * k);
  const candIndex = new Int32Array(k);
  const candDist = new Float64Array(k);
  let exhaustiveRows = 0;

  for (let q0 = 0; q0 < nq; q0 += QUERY_BLOCK) {
    throwIfAborted(signal);
    const rows = Math.min(QUERY_BLOCK, nq - q0);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < d; c++) query[r * (d + 1) + c] = 2 * queryRows[(q0 + r) * d + c];
      query[r * (d + 1) + d] = -1;
    }
    const queryTensor = new ort.Tensor('float32', query.subarray(0, rows * (d + 1)), [rows, d + 1]);
    keptScore.fill(-Infinity);
    keptChunk.fill(-1);
    for (let b = 0; b < blockCount; b++) {
      const out = await graph.run({ queries: queryTensor, refsT: refBlocks[b] });
      const chunkMax = out.chunkMax.data as Float32Array;
      for (let r = 0; r < rows; r++) {
        keepBest(chunkMax, r * chunksPerBlock, chunksPerBlock, b * chunksPerBlock, keptScore, keptChunk, r * kk, kk);
      }
      out.chunkMax.dispose();
    }

    for (let r = 0; r < rows; r++) {
      const i = q0 + r;
      let q2 = 0;
      for (let c = 0; c < d; c++) q2 += queryRows[i * d + c] * queryRows[i * d + c];
      const eps = 2 * (d + 8) * u * (q2 + 2 * Math.sqrt(q2 * maxNorm2) + maxNorm2);
      // Rank the members of the kept chunks exactly, best chunk first. Every reference in a
      // chunk not yet scanned scores at most that chunk's maximum (plus rounding), so its
      // squared distance is at least q2 - max - eps: once that exceeds the k-th distance
      // found, nothing left can enter, and the row is certified.
      let m = 0;
      let certified = false;
      for (let c = 0; c < kk; c++) {
        if (m === k && q2 - keptScore[r * kk + c] - eps > (cosine ? 2 * candDist[k - 1] : candDist[k - 1])) {
          certified = true;
          break;
        }
        const chunk = keptChunk[r * kk + c];
        const end = Math.min(n, (chunk + 1) * CHUNK);
        for (let j = chunk * CHUNK; j < end; j++) {
          if (self && j === i) continue;
          const dj = exact(qData, i, refs.data, j, d, querySquares, refSquares);
          if (m < k || dj < candDist[k - 1] || (dj === candDist[k - 1] && j < candIndex[k - 1])) {
            let p = m < k ? m++ : k - 1;
            while (p > 0 && (candDist[p - 1] > dj || (candDist[p - 1] === dj && candIndex[p - 1] > j))) {
              candDist[p] = candDist[p - 1];
              candIndex[p] = candIndex[p - 1];
              p--;
            }
            candDist[p] = dj;
            candIndex[p] = j;
          }
        }
      }
      // All chunks scanned, or the rest bounded by the last kept chunk's maximum.
      if (!certified && m === k) {
        certified = kk === chunks || q2 - keptScore[r * kk + kk - 1] - eps > (cosine ? 2 * candDist[k - 1] : candDist[k - 1]);
      }
      if (certified) {
        indices.set(candIndex, i * k);
        dist.set(candDist, i * k);
      } else {
        exhaustiveRows++;
        exhaustiveRow(i, n, k, self, (j) => exact(qData, i, refs.data, j, d, querySquares, refSquares), indices, dist);
      }
    }
    onProgress?.({ phase: 'knn', done: q0 + rows, total: nq });
  }
  for (const t of refBlocks) t.dispose();

  const distances = new Float32Array(nq * k);
  for (let x = 0; x < distances.length; x++) distances[x] = cosine ? dist[x] : Math.sqrt(Math.max(0, dist[x]));
  return { rows: nq, k, indices, distances, exhaustiveRows };
}

/** Merge `count` chunk maxima into a row's kept list (descending, length kk). */
function keepBest(
  values: Float32Array, from: number, count: number, firstChunk: number,
  keptScore: Float64Array, keptChunk: Int32Array, at: number, kk: number,
): void {
  let threshold = keptScore[at + kk - 1];
  for (let c = 0; c < count; c++) {
    const v = values[from + c];
    if (v <= threshold) continue;
    let p = kk - 1;
    while (p > 0 && keptScore[at + p - 1] < v) {
      keptScore[at + p] = keptScore[at + p - 1];
      keptChunk[at + p] = keptChunk[at + p - 1];
      p--;
    }
    keptScore[at + p] = v;
    keptChunk[at + p] = firstChunk + c;
    threshold = keptScore[at + kk - 1];
  }
}

/** Squared Euclidean distance between row i of a and row j of b, in float64. */
function euclideanDistance2(a: Float32Array, i: number, b: Float32Array, j: number, d: number): number {
  let s = 0;
  for (let c = 0, x = i * d, y = j * d; c < d; c++) {
    const t = a[x + c] - b[y + c];
    s += t * t;
  }
  return s;
}

/**
 * 1 - cosine similarity in float64 (a zero row has similarity 0 to everything); aa and bb
 * hold the rows' squared norms.
 */
function cosineDistance(a: Float32Array, i: number, b: Float32Array, j: number, d: number, aa: Float64Array, bb: Float64Array): number {
  if (aa[i] === 0 || bb[j] === 0) return 1;
  let ab = 0;
  for (let c = 0, x = i * d, y = j * d; c < d; c++) ab += a[x + c] * b[y + c];
  return 1 - ab / Math.sqrt(aa[i] * bb[j]);
}

function rowSquares(m: Matrix): Float64Array {
  const out = new Float64Array(m.rows);
  for (let i = 0; i < m.rows; i++) {
    let s = 0;
    for (let c = 0; c < m.cols; c++) s += m.data[i * m.cols + c] * m.data[i * m.cols + c];
    out[i] = s;
  }
  return out;
}

function exhaustiveRow(
  i: number, n: number, k: number, self: boolean, distanceTo: (j: number) => number, indices: Int32Array, dist: Float64Array,
): void {
  const all = new Float64Array(n);
  for (let j = 0; j < n; j++) all[j] = distanceTo(j);
  const order = Int32Array.from({ length: n }, (_, j) => j).filter((j) => !(self && j === i));
  order.sort((x, y) => all[x] - all[y] || x - y);
  for (let c = 0; c < k; c++) {
    indices[i * k + c] = order[c];
    dist[i * k + c] = all[order[c]];
  }
}

/** Rows scaled to unit length (float32); zero rows stay zero. */
export function unitRows(m: Matrix): Float32Array {
  const out = new Float32Array(m.rows * m.cols);
  for (let i = 0; i < m.rows; i++) {
    let s = 0;
    for (let c = 0; c < m.cols; c++) s += m.data[i * m.cols + c] ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let c = 0; c < m.cols; c++) out[i * m.cols + c] = m.data[i * m.cols + c] * inv;
  }
  return out;
}
