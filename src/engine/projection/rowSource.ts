// Rows of a 2-D matrix, read block by block as float32: from a tensor of an open model
// (any real dtype, decoded on the fly, never the whole tensor at once), optionally with
// edited byte ranges laid over the bytes read (a model editor's unsaved edits), or from memory.
import type { TensorInfo } from '../../shared/protocol';
import { bytesSpanned, decodeElements, elementLocation } from '../dtype/decode';
import { UserError } from '../errors';
import type { Model } from '../safetensors/model';
import type { Matrix } from './types';

export interface RowSource {
  readonly rows: number;
  readonly cols: number;
  /** What the rows are, for messages: e.g. `acts.safetensors: tensor "layer1"`. */
  readonly label: string;
  /** Decode rows [row0, row1) into out[0 .. (row1 - row0) * cols), row-major. */
  read(row0: number, row1: number, out: Float32Array): Promise<void>;
}

export function matrixSource(m: Matrix, label = 'matrix'): RowSource {
  return {
    rows: m.rows,
    cols: m.cols,
    label,
    async read(row0, row1, out) {
      out.set(m.data.subarray(row0 * m.cols, row1 * m.cols));
    },
  };
}

/**
 * Edited bytes of one tensor: `bytes` replace the tensor's bytes from `offset` (relative to
 * its first byte). A list is sorted by offset, ranges disjoint (a PatchOverlay's hunks).
 */
export interface ByteEdit {
  readonly offset: number;
  readonly bytes: Uint8Array;
}

/**
 * The rows of a 2-D tensor, with `edits` laid over the bytes as read; a UserError when it is
 * not a 2-D real-valued tensor.
 */
export function tensorSource(model: Model, name: string, edits: readonly ByteEdit[] = []): RowSource {
  const t: TensorInfo = model.tensor(name);
  const label = `${baseName(model.info.path)}: tensor ${JSON.stringify(name)}`;
  if (t.shape.length !== 2) {
    throw new UserError(`${label} has shape [${t.shape.join(', ')}]; a projection needs a 2-D tensor [rows, features]`);
  }
  if (t.dtype === 'C64') throw new UserError(`${label} is complex (C64); a projection needs real values`);
  const [rows, cols] = t.shape;
  if (rows === 0 || cols === 0) throw new UserError(`${label} is empty (shape [${rows}, ${cols}])`);
  const chunkElements = 1 << 22; // decode at most 4M elements per read
  return {
    rows,
    cols,
    label,
    async read(row0, row1, out) {
      const first = row0 * cols;
      const count = (row1 - row0) * cols;
      for (let done = 0; done < count; done += chunkElements) {
        const n = Math.min(chunkElements, count - done);
        const at = elementLocation(t.dtype, first + done);
        const bytes = await model.read(t, at.byteStart, at.byteStart + bytesSpanned(t.dtype, at.bitOffset, n));
        if (edits.length) layEdits(edits, at.byteStart, bytes);
        decodeElements(t.dtype, bytes, at.bitOffset, n, out, done);
      }
    },
  };
}

/** Writes the parts of `edits` inside [start, start + bytes.length) into `bytes`. */
export function layEdits(edits: readonly ByteEdit[], start: number, bytes: Uint8Array): void {
  const end = start + bytes.length;
  // The first edit that ends after `start`.
  let lo = 0;
  let hi = edits.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (edits[mid].offset + edits[mid].bytes.length <= start) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < edits.length && edits[i].offset < end; i++) {
    const e = edits[i];
    const a = Math.max(start, e.offset);
    const b = Math.min(end, e.offset + e.bytes.length);
    bytes.set(e.bytes.subarray(a - e.offset, b - e.offset), a - start);
  }
}

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

const MAX_MATRIX_BYTES = 4 * 2 ** 30;

/** Every row in memory as float32 (for a neighbour search on the raw rows); finite values only. */
export async function readAllRows(source: RowSource): Promise<Matrix> {
  const { rows, cols } = source;
  if (rows * cols * 4 > MAX_MATRIX_BYTES) {
    throw new UserError(`${source.label} is too large (${rows} x ${cols}) to hold as float32 in memory; reduce it with PCA first`);
  }
  const data = new Float32Array(rows * cols);
  const blockRows = Math.max(1, Math.floor((1 << 22) / cols));
  for (let r0 = 0; r0 < rows; r0 += blockRows) {
    const r1 = Math.min(rows, r0 + blockRows);
    await source.read(r0, r1, data.subarray(r0 * cols, r1 * cols));
  }
  for (let x = 0; x < data.length; x++) {
    if (!Number.isFinite(data[x])) {
      throw new UserError(`${source.label} has a non-finite value (${data[x]}) at row ${Math.floor(x / cols)}, column ${x % cols}`);
    }
  }
  return { data, rows, cols };
}
