// Per-row data of a 2-D tensor for the clustering view: one row's values reduced to a
// screen's width, one colour value per row (its L2 norm or one column), the cosine of two
// rows, and a row's exact nearest rows by cosine. Rows are read block by block (RowSource),
// never the whole tensor at once, except for the neighbour search, which needs every row in
// memory (the caller keeps that matrix).
import { UserError, throwIfAborted } from '../errors';
import { nearestNeighbors } from '../projection/knn';
import type { RowSource } from '../projection/rowSource';
import type { Matrix, RunControl } from '../projection/types';

/** Rows per read when streaming: about 4M elements. */
function blockRows(cols: number, rows: number): number {
  return Math.max(1, Math.min(rows, Math.floor((1 << 22) / cols)));
}

export function checkRow(source: RowSource, row: unknown): number {
  if (!Number.isInteger(row) || (row as number) < 0 || (row as number) >= source.rows) {
    throw new UserError(`row ${JSON.stringify(row)} is outside ${source.label} (rows 0 to ${source.rows - 1})`);
  }
  return row as number;
}

export async function readRow(source: RowSource, row: number): Promise<Float32Array> {
  const out = new Float32Array(source.cols);
  await source.read(row, row + 1, out);
  return out;
}

/**
 * A row cut into at most `maxPoints` buckets of equal width (the last may be shorter), each
 * with its min and max: a line through lo and hi shows every spike of a wide row. NaN in a
 * bucket makes its lo and hi NaN only when every value of the bucket is NaN.
 */
export function bucketRow(values: Float32Array, maxPoints: number): { bucket: number; lo: Float32Array; hi: Float32Array } {
  const points = Math.max(1, Math.floor(maxPoints));
  const bucket = Math.max(1, Math.ceil(values.length / points));
  const count = Math.ceil(values.length / bucket);
  const lo = new Float32Array(count);
  const hi = new Float32Array(count);
  for (let b = 0; b < count; b++) {
    let min = Infinity;
    let max = -Infinity;
    const end = Math.min(values.length, (b + 1) * bucket);
    for (let i = b * bucket; i < end; i++) {
      const v = values[i];
      if (v < min) min = v;
      if (v > max) max = v;
    }
    lo[b] = min === Infinity ? NaN : min;
    hi[b] = max === -Infinity ? NaN : max;
  }
  return { bucket, lo, hi };
}

export function l2Norm(values: Float32Array): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i] * values[i];
  return Math.sqrt(s);
}

/** cos(a, b) in float64; null when either row is all zeros. */
export function cosine(a: Float32Array, b: Float32Array): number | null {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : null;
}

/** One value per row: its L2 norm (float64 sums), or its value in `column`. */
export async function rowColorValues(source: RowSource, coloring: { by: 'norm' } | { by: 'column'; column: number }, ctl: RunControl = {}): Promise<Float32Array> {
  const { rows, cols } = source;
  if (coloring.by === 'column' && (!Number.isInteger(coloring.column) || coloring.column < 0 || coloring.column >= cols)) {
    throw new UserError(`column ${JSON.stringify(coloring.column)} is outside ${source.label} (columns 0 to ${cols - 1})`);
  }
  if (coloring.by !== 'norm' && coloring.by !== 'column') throw new UserError(`unknown colouring ${JSON.stringify((coloring as { by: unknown }).by)}`);
  const out = new Float32Array(rows);
  const step = blockRows(cols, rows);
  const block = new Float32Array(step * cols);
  for (let r0 = 0; r0 < rows; r0 += step) {
    throwIfAborted(ctl.signal);
    const r1 = Math.min(rows, r0 + step);
    await source.read(r0, r1, block);
    for (let r = r0; r < r1; r++) {
      const at = (r - r0) * cols;
      if (coloring.by === 'column') {
        out[r] = block[at + coloring.column];
      } else {
        let s = 0;
        for (let c = 0; c < cols; c++) s += block[at + c] * block[at + c];
        out[r] = Math.sqrt(s);
      }
    }
    ctl.onProgress?.({ phase: 'read', done: r1, total: rows });
  }
  return out;
}

/** Min and max over the finite values; nulls when none is finite. */
export function finiteRange(values: Float32Array): { min: number | null; max: number | null } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return Number.isFinite(min) && Number.isFinite(max) ? { min, max } : { min: null, max: null };
}

/**
 * The k nearest rows of `row` by cosine, exact (the engine's ONNX Runtime search with the row
 * as the query), the row itself left out. Ties: lower index first.
 */
export async function nearestRowsByCosine(rows: Matrix, row: number, k: number, signal?: AbortSignal): Promise<{ indices: Int32Array; distances: Float32Array }> {
  const want = Math.min(k, rows.rows - 1);
  if (want < 1) return { indices: new Int32Array(0), distances: new Float32Array(0) };
  const query: Matrix = { data: rows.data.slice(row * rows.cols, (row + 1) * rows.cols), rows: 1, cols: rows.cols };
  // One more than asked: the row itself is among the nearest (at distance 0, or after an equal row).
  const knn = await nearestNeighbors(rows, want + 1, 'cosine', { queries: query, signal });
  const indices = new Int32Array(want);
  const distances = new Float32Array(want);
  let n = 0;
  for (let j = 0; j < knn.k && n < want; j++) {
    if (knn.indices[j] === row) continue;
    indices[n] = knn.indices[j];
    distances[n] = knn.distances[j];
    n++;
  }
  return { indices, distances };
}
