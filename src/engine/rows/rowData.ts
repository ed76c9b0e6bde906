// Per-row data of a 2-D tensor for the clustering view: one row's values reduced to a
// screen's width, one colour value per row (its L2 norm or one column), the cosine of two
// rows, and a row's exact nearest rows by cosine. Rows are read block by block (RowSource);
// the neighbour scan keeps them in memory when they fit.
import { UserError, throwIfAborted } from '../errors';
import type { RowSource } from '../projection/rowSource';
import type { RunControl } from '../projection/types';

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

/** Rows kept in memory as float32 for repeated neighbour scans, up to this size; larger tensors are re-read per scan. */
const MAX_CACHED_BYTES = 2 ** 30;

/**
 * Exact nearest rows by cosine for one query row at a time (a click): a linear scan in
 * float64 over every row, which for one query costs N x D multiply-adds and nothing else.
 * (The engine's batched search, nearestNeighbors, prepares transposed GEMM blocks of all
 * rows on every call: right for N queries at once, 10x slower than a scan for one.) The
 * distance is computed as the batched search computes it: 1 - a.b / sqrt(|a|^2 |b|^2), 1
 * when either row is zero. Ties: lower index first. Rows stay in memory after the first
 * scan when they fit in MAX_CACHED_BYTES as float32; their squared norms always stay.
 */
export class CosineScanner {
  private rows: Promise<Float32Array | null> | undefined;
  private squares: Float64Array | undefined;

  constructor(
    private readonly source: RowSource,
    private readonly maxCachedBytes = MAX_CACHED_BYTES,
  ) {}

  async nearest(row: number, k: number, signal?: AbortSignal): Promise<{ indices: Int32Array; distances: Float32Array }> {
    const { rows: n, cols: d } = this.source;
    const want = Math.min(k, n - 1);
    const query = await readRow(this.source, row);
    let qq = 0;
    for (let c = 0; c < d; c++) qq += query[c] * query[c];
    const best = new TopK(want);
    const squares = this.squares ?? new Float64Array(n);
    const scanBlock = (data: Float32Array, r0: number, r1: number) => {
      for (let r = r0; r < r1; r++) {
        const at = (r - r0) * d;
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        let c = 0;
        for (; c + 3 < d; c += 4) {
          s0 += query[c] * data[at + c];
          s1 += query[c + 1] * data[at + c + 1];
          s2 += query[c + 2] * data[at + c + 2];
          s3 += query[c + 3] * data[at + c + 3];
        }
        for (; c < d; c++) s0 += query[c] * data[at + c];
        if (!this.squares) {
          let x = 0;
          for (let j = 0; j < d; j++) x += data[at + j] * data[at + j];
          squares[r] = x;
        }
        if (r === row) continue;
        best.offer(r, qq === 0 || squares[r] === 0 ? 1 : 1 - (s0 + s1 + (s2 + s3)) / Math.sqrt(qq * squares[r]));
      }
    };
    const cached = await this.cachedRows();
    if (cached) {
      for (let r0 = 0; r0 < n; r0 += 65536) {
        throwIfAborted(signal);
        const r1 = Math.min(n, r0 + 65536);
        scanBlock(cached.subarray(r0 * d, r1 * d), r0, r1);
      }
    } else {
      const step = blockRows(d, n);
      const block = new Float32Array(step * d);
      for (let r0 = 0; r0 < n; r0 += step) {
        throwIfAborted(signal);
        const r1 = Math.min(n, r0 + step);
        await this.source.read(r0, r1, block);
        checkFinite(this.source, block, r0, r1 - r0);
        scanBlock(block, r0, r1);
      }
    }
    this.squares = squares;
    return best.result();
  }

  /** Every row as float32 when they fit in MAX_CACHED_BYTES (read once; a failed read is tried again next time). */
  private cachedRows(): Promise<Float32Array | null> {
    const { rows, cols } = this.source;
    if (rows * cols * 4 > this.maxCachedBytes) return Promise.resolve(null);
    if (!this.rows) {
      const reading = (async () => {
        const data = new Float32Array(rows * cols);
        const step = blockRows(cols, rows);
        for (let r0 = 0; r0 < rows; r0 += step) {
          const r1 = Math.min(rows, r0 + step);
          await this.source.read(r0, r1, data.subarray(r0 * cols, r1 * cols));
        }
        checkFinite(this.source, data, 0, rows);
        return data;
      })();
      this.rows = reading;
      reading.catch(() => {
        if (this.rows === reading) this.rows = undefined;
      });
    }
    return this.rows;
  }
}

/** A UserError naming the first non-finite value: a distance to it means nothing. */
function checkFinite(source: RowSource, data: Float32Array, row0: number, rows: number): void {
  const cols = source.cols;
  for (let x = 0; x < rows * cols; x++) {
    if (!Number.isFinite(data[x])) {
      throw new UserError(`${source.label} has a non-finite value (${data[x]}) at row ${row0 + Math.floor(x / cols)}, column ${x % cols}; nearest rows need finite values`);
    }
  }
}

/** The k smallest distances seen, ties kept in the order offered (lower index first). */
class TopK {
  private readonly indices: Int32Array;
  private readonly distances: Float64Array;
  private size = 0;

  constructor(private readonly k: number) {
    this.indices = new Int32Array(k);
    this.distances = new Float64Array(k);
  }

  offer(index: number, distance: number): void {
    const { k } = this;
    if (k === 0 || (this.size === k && !(distance < this.distances[k - 1]))) return;
    let at = Math.min(this.size, k - 1);
    while (at > 0 && this.distances[at - 1] > distance) {
      this.distances[at] = this.distances[at - 1];
      this.indices[at] = this.indices[at - 1];
      at--;
    }
    this.distances[at] = distance;
    this.indices[at] = index;
    if (this.size < k) this.size++;
  }

  result(): { indices: Int32Array; distances: Float32Array } {
    return { indices: this.indices.slice(0, this.size), distances: Float32Array.from(this.distances.subarray(0, this.size)) };
  }
}
