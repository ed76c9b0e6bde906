// Exact k nearest neighbours (Euclidean or cosine), blocked, on ONNX Runtime.
//
// 0. Rows are put in a spatial order (k-d tree leaves), so that chunks and blocks of
//    consecutive rows hold near points.
// 1. ONNX Runtime scores blocks of queries against blocks of references with one GEMM and
//    keeps the best float32 score of every CHUNK consecutive references (onnxGraphs.ts).
//    Reference blocks are visited nearest first; a block whose bounding ball is too far
//    for every query of the block to improve its kept chunks is skipped.
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
  /** (query block, reference block) pairs skipped by the ball bound. */
  skippedBlocks: number;
}

export interface KnnOptions extends RunControl {
  /** Query rows; when absent the references are searched against themselves, excluding self. */
  queries?: Matrix;
}

const CHUNK = Number(process.env.TS_KNN_CHUNK ?? 16); // references per chunk maximum
const EXTRA_CHUNKS = 3; // chunks kept beyond k + 1, so the certificate nearly always holds
const REF_BLOCK = 4096; // references per GEMM block: the score block stays in cache, the ball is small
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
  const exact = cosine ? cosineDistance : euclideanDistance2;

  // Rows in a spatial order, so a chunk holds near points (its maximum then bounds its members
  // tightly) and a block fits in a small ball (whole blocks can be skipped, see below).
  const refOrder = spatialOrder(refs.data, n, d);
  const refRows = gather(refs.data, refOrder, d, cosine);
  const queryOrder = queries ? spatialOrder(queries.data, nq, d) : refOrder;
  const queryRows = queries ? gather(queries.data, queryOrder, d, cosine) : refRows;
  // Exact distances come from the rows as given (the sorted copies: chunks are then read
  // sequentially, not from all over memory); the scores and bounds use the unit rows for cosine.
  const refExact = cosine ? gather(refs.data, refOrder, d, false) : refRows;
  const queryExact = !queries ? refExact : cosine ? gather(queries.data, queryOrder, d, false) : queryRows;
  const refSquares = cosine ? rowSquares({ data: refExact, rows: n, cols: d }) : new Float64Array(0);
  const querySquares = cosine ? (queries ? rowSquares({ data: queryExact, rows: nq, cols: d }) : refSquares) : new Float64Array(0);

  // Reference blocks of equal width (a multiple of CHUNK, padded), transposed and augmented,
  // each with the ball (centre, radius) holding its rows.
  const chunksPerBlock = Math.ceil(Math.ceil(n / Math.ceil(n / REF_BLOCK)) / CHUNK);
  const width = chunksPerBlock * CHUNK;
  const blockCount = Math.ceil(n / width);
  const chunks = Math.ceil(n / CHUNK); // chunk c holds sorted positions [c * CHUNK, (c + 1) * CHUNK)
  let maxNorm2 = 0;
  const refBlocks: { tensor: ort.Tensor; centre: Float64Array; radius: number }[] = [];
  for (let b = 0; b < blockCount; b++) {
    const t = new Float32Array((d + 1) * width);
    t.fill(PAD_NORM2, d * width);
    const first = b * width;
    const count = Math.min(width, n - first);
    for (let j = 0; j < count; j++) {
      const row = (first + j) * d;
      let s = 0;
      for (let c = 0; c < d; c++) {
        const v = refRows[row + c];
        t[c * width + j] = v;
        s += v * v;
      }
      t[d * width + j] = s;
      if (s > maxNorm2) maxNorm2 = s;
    }
    refBlocks.push({ tensor: new ort.Tensor('float32', t, [d + 1, width]), ...ball(refRows, first, count, d) });
  }

  const graph = await session(`knn:${d}:${CHUNK}`, () => chunkMaxGraph(d, CHUNK));
  const gpu = providerInfo()?.provider !== 'cpu';
  const u = gpu ? 2 ** -10 : UNIT_ROUNDOFF; // GPU GEMMs may round their inputs to TF32
  const kk = Math.min(chunks, k + 1 + EXTRA_CHUNKS);
  const keptScore = new Float64Array(QUERY_BLOCK * kk);
  const keptChunk = new Int32Array(QUERY_BLOCK * kk);
  const query = new Float32Array(QUERY_BLOCK * (d + 1));
  const q2s = new Float64Array(QUERY_BLOCK);
  const epss = new Float64Array(QUERY_BLOCK);
  const indices = new Int32Array(nq * k);
  const dist = new Float64Array(nq * k);
  const candIndex = new Int32Array(k);
  const candDist = new Float64Array(k);
  let exhaustiveRows = 0;
  let skippedBlocks = 0;

  for (let q0 = 0; q0 < nq; q0 += QUERY_BLOCK) {
    throwIfAborted(signal);
    const rows = Math.min(QUERY_BLOCK, nq - q0);
    for (let r = 0; r < rows; r++) {
      let q2 = 0;
      for (let c = 0; c < d; c++) {
        const v = queryRows[(q0 + r) * d + c];
        query[r * (d + 1) + c] = 2 * v;
        q2 += v * v;
      }
      query[r * (d + 1) + d] = -1;
      q2s[r] = q2;
      epss[r] = 2 * (d + 8) * u * (q2 + 2 * Math.sqrt(q2 * maxNorm2) + maxNorm2);
    }
    const queryTensor = new ort.Tensor('float32', query.subarray(0, rows * (d + 1)), [rows, d + 1]);
    keptScore.fill(-Infinity);
    keptChunk.fill(-1);
    // Nearest blocks first, so the kept chunks are good early and far blocks can be skipped:
    // a block is skipped when, for every query of this block, even its nearest possible row
    // (distance to the ball's centre minus the radius) is farther than the kk-th kept chunk's
    // maximum allows (then none of its chunks could be kept).
    const { centre } = ball(queryRows, q0, rows, d);
    const visit = refBlocks.map((blk, b) => [squaredDistance(centre, blk.centre), b]).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    for (const [, b] of visit) {
      const blk = refBlocks[b];
      let needed = false;
      for (let r = 0; r < rows && !needed; r++) {
        const worst = keptScore[r * kk + kk - 1];
        if (worst === -Infinity) {
          needed = true;
          break;
        }
        let s = 0;
        for (let c = 0; c < d; c++) {
          const t = queryRows[(q0 + r) * d + c] - blk.centre[c];
          s += t * t;
        }
        const gap = Math.sqrt(s) - blk.radius;
        needed = !(gap > 0 && gap * gap * (1 - 1e-9) > q2s[r] - worst + epss[r]);
      }
      if (!needed) {
        skippedBlocks++;
        continue;
      }
      const out = await graph.run({ queries: queryTensor, refsT: blk.tensor });
      const chunkMax = out.chunkMax.data as Float32Array;
      for (let r = 0; r < rows; r++) {
        keepBest(chunkMax, r * chunksPerBlock, chunksPerBlock, b * chunksPerBlock, keptScore, keptChunk, r * kk, kk);
      }
      out.chunkMax.dispose();
    }

    for (let r = 0; r < rows; r++) {
      const i = queryOrder[q0 + r]; // the query's own index
      const q2 = q2s[r];
      const eps = epss[r];
      // Rank the members of the kept chunks exactly, best chunk first. Every reference in a
      // chunk not yet scanned (or in a skipped block) scores at most that chunk's maximum
      // (plus rounding), so its squared distance is at least q2 - max - eps: once that
      // exceeds the k-th distance found, nothing left can enter, and the row is certified.
      let m = 0;
      let certified = false;
      for (let c = 0; c < kk; c++) {
        if (m === k && q2 - keptScore[r * kk + c] - eps > (cosine ? 2 * candDist[k - 1] : candDist[k - 1])) {
          certified = true;
          break;
        }
        const chunk = keptChunk[r * kk + c];
        const end = Math.min(n, (chunk + 1) * CHUNK);
        for (let position = chunk * CHUNK; position < end; position++) {
          const j = refOrder[position];
          if (self && j === i) continue;
          const dj = exact(queryExact, q0 + r, refExact, position, d, querySquares, refSquares);
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
        exhaustiveRow(i, n, k, self, refOrder, (position) => exact(queryExact, q0 + r, refExact, position, d, querySquares, refSquares), indices, dist);
      }
    }
    onProgress?.({ phase: 'knn', done: q0 + rows, total: nq });
  }
  for (const blk of refBlocks) blk.tensor.dispose();

  const distances = new Float32Array(nq * k);
  for (let x = 0; x < distances.length; x++) distances[x] = cosine ? dist[x] : Math.sqrt(Math.max(0, dist[x]));
  return { rows: nq, k, indices, distances, exhaustiveRows, skippedBlocks };
}

/**
 * A spatial order of the rows: the leaf order of a k-d tree that splits each range at the
 * median of its column of largest variance, down to ranges of one chunk. Near rows then tend
 * to share chunks and blocks.
 */
function spatialOrder(data: Float32Array, n: number, d: number): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const key = new Float64Array(n);
  const stack: [number, number][] = [[0, n]];
  while (stack.length) {
    const [lo, hi] = stack.pop()!;
    if (hi - lo <= CHUNK) continue;
    // Column of largest variance over (a sample of) the range.
    const step = Math.max(1, Math.floor((hi - lo) / 256));
    let best = 0;
    let bestVariance = -1;
    for (let c = 0; c < d; c++) {
      let sum = 0;
      let sum2 = 0;
      let count = 0;
      for (let p = lo; p < hi; p += step) {
        const v = data[order[p] * d + c];
        sum += v;
        sum2 += v * v;
        count++;
      }
      const variance = sum2 / count - (sum / count) ** 2;
      if (variance > bestVariance) {
        bestVariance = variance;
        best = c;
      }
    }
    for (let p = lo; p < hi; p++) key[p] = data[order[p] * d + best];
    const mid = (lo + hi) >> 1;
    select(order, key, lo, hi - 1, mid);
    stack.push([lo, mid], [mid, hi]);
  }
  return order;
}

/** Reorder order[lo..hi] (with key[] alongside) so position m holds the m-th smallest key. */
function select(order: Int32Array, key: Float64Array, lo: number, hi: number, m: number): void {
  const swap = (a: number, b: number) => {
    const t = order[a];
    order[a] = order[b];
    order[b] = t;
    const k = key[a];
    key[a] = key[b];
    key[b] = k;
  };
  while (hi > lo) {
    // median of three as the pivot, then Hoare partition
    const mid = (lo + hi) >> 1;
    if (key[mid] < key[lo]) swap(mid, lo);
    if (key[hi] < key[lo]) swap(hi, lo);
    if (key[hi] < key[mid]) swap(hi, mid);
    const pivot = key[mid];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (key[i] < pivot) i++;
      while (key[j] > pivot) j--;
      if (i <= j) swap(i++, j--);
    }
    if (m <= j) hi = j;
    else if (m >= i) lo = i;
    else return;
  }
}

/** The rows in `order` (unit rows for cosine), as one float32 matrix. */
function gather(data: Float32Array, order: Int32Array, d: number, unit: boolean): Float32Array {
  const out = new Float32Array(order.length * d);
  for (let p = 0; p < order.length; p++) {
    const src = order[p] * d;
    let s = 0;
    if (unit) for (let c = 0; c < d; c++) s += data[src + c] * data[src + c];
    const scale = !unit ? 1 : s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let c = 0; c < d; c++) out[p * d + c] = data[src + c] * scale;
  }
  return out;
}

/** Centre (mean) and radius (largest distance to it, float64) of rows [first, first + count). */
function ball(rows: Float32Array, first: number, count: number, d: number): { centre: Float64Array; radius: number } {
  const centre = new Float64Array(d);
  for (let j = first; j < first + count; j++) for (let c = 0; c < d; c++) centre[c] += rows[j * d + c];
  for (let c = 0; c < d; c++) centre[c] /= count;
  let radius2 = 0;
  for (let j = first; j < first + count; j++) {
    let s = 0;
    for (let c = 0; c < d; c++) {
      const t = rows[j * d + c] - centre[c];
      s += t * t;
    }
    radius2 = Math.max(radius2, s);
  }
  return { centre, radius: Math.sqrt(radius2) * (1 + 1e-9) };
}

function squaredDistance(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let c = 0; c < a.length; c++) s += (a[c] - b[c]) ** 2;
  return s;
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

// The exact distances sum in four interleaved float64 accumulators: one accumulator makes
// the loop wait on each addition (latency-bound, ~3x slower).

/** Squared Euclidean distance between row i of a and row j of b, in float64. */
function euclideanDistance2(a: Float32Array, i: number, b: Float32Array, j: number, d: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const x = i * d;
  const y = j * d;
  let c = 0;
  for (; c + 3 < d; c += 4) {
    const t0 = a[x + c] - b[y + c];
    const t1 = a[x + c + 1] - b[y + c + 1];
    const t2 = a[x + c + 2] - b[y + c + 2];
    const t3 = a[x + c + 3] - b[y + c + 3];
    s0 += t0 * t0;
    s1 += t1 * t1;
    s2 += t2 * t2;
    s3 += t3 * t3;
  }
  for (; c < d; c++) {
    const t = a[x + c] - b[y + c];
    s0 += t * t;
  }
  return s0 + s1 + (s2 + s3);
}

/**
 * 1 - cosine similarity in float64 (a zero row has similarity 0 to everything); aa and bb
 * hold the rows' squared norms.
 */
function cosineDistance(a: Float32Array, i: number, b: Float32Array, j: number, d: number, aa: Float64Array, bb: Float64Array): number {
  if (aa[i] === 0 || bb[j] === 0) return 1;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const x = i * d;
  const y = j * d;
  let c = 0;
  for (; c + 3 < d; c += 4) {
    s0 += a[x + c] * b[y + c];
    s1 += a[x + c + 1] * b[y + c + 1];
    s2 += a[x + c + 2] * b[y + c + 2];
    s3 += a[x + c + 3] * b[y + c + 3];
  }
  for (; c < d; c++) s0 += a[x + c] * b[y + c];
  return 1 - (s0 + s1 + (s2 + s3)) / Math.sqrt(aa[i] * bb[j]);
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

/** Row i's k nearest by trying every reference; distanceTo takes sorted positions. */
function exhaustiveRow(
  i: number, n: number, k: number, self: boolean, order: Int32Array, distanceTo: (position: number) => number,
  indices: Int32Array, dist: Float64Array,
): void {
  const all = new Float64Array(n);
  for (let p = 0; p < n; p++) all[order[p]] = distanceTo(p);
  const byIndex = Int32Array.from({ length: n }, (_, j) => j).filter((j) => !(self && j === i));
  byIndex.sort((x, y) => all[x] - all[y] || x - y);
  for (let c = 0; c < k; c++) {
    indices[i * k + c] = byIndex[c];
    dist[i * k + c] = all[byIndex[c]];
  }
}
