// A parsed patch arranged for viewing: hunks by tensor (with their position in the patch),
// summaries with element ranges and where they sit in the tensor's 2-D view, exact values
// of element runs, and the patch's values as a derived tensor for heatmap tiles. Everything
// is read from the patch's own bytes: no base model is needed.

import type { ElementRegion, HunkSummary, PatchOverview, PatchSide, PatchTensorSummary, PatchValues } from '../../shared/reviewProtocol';
import { DTYPE_BITS } from '../../shared/dtypes';
import { decodeElements } from '../dtype/decode';
import { UserError } from '../errors';
import { derivedTensor, type DerivedTensor } from '../compute/derivedTensor';
import { dataViewOf, unitFormatter } from './rowText';
import { hunkElements, numel, unitOf, unravelIndex, type Hunk, type Patch, type PatchTensor } from './types';

/** Most values one patchValues answer carries (a hunk may hold millions). */
export const MAX_VALUES = 4096;

interface TensorHunks {
  tensor: PatchTensor;
  hunks: Hunk[];
  /** Position of hunks[0] among all the patch's hunks. */
  first: number;
  /** Element range of each hunk. */
  ranges: [number, number][];
}

/** The 2-D view a heatmap shows: rows = product of the leading dimensions, cols = the last. */
export function view2D(shape: readonly number[]): { rows: number; cols: number } {
  if (shape.length === 0) return { rows: 1, cols: 1 };
  const cols = shape[shape.length - 1];
  return { rows: cols === 0 ? 0 : numel(shape) / cols, cols };
}

/** The rows and columns of the 2-D view that elements [first, end) touch. */
export function elementRegion(shape: readonly number[], [first, end]: [number, number]): ElementRegion {
  const { cols } = view2D(shape);
  if (cols === 0 || end <= first) return { row0: 0, row1: 0, col0: 0, col1: 0 };
  const row0 = Math.floor(first / cols);
  const row1 = Math.floor((end - 1) / cols) + 1;
  if (row1 - row0 === 1) return { row0, row1, col0: first % cols, col1: ((end - 1) % cols) + 1 };
  return { row0, row1, col0: 0, col1: cols };
}

export class PatchIndex {
  private readonly byTensor = new Map<string, TensorHunks>();

  constructor(
    readonly patch: Patch,
    readonly name: string,
  ) {
    let at = 0;
    const tensors = new Map(patch.tensors.map((t) => [t.name, t]));
    for (let i = 0; i < patch.hunks.length; i++) {
      const h = patch.hunks[i];
      let entry = this.byTensor.get(h.tensor);
      if (!entry) {
        const tensor = tensors.get(h.tensor);
        if (!tensor) throw new UserError(`${name}: hunk of tensor ${JSON.stringify(h.tensor)} has no tensor block`);
        entry = { tensor, hunks: [], first: i, ranges: [] };
        this.byTensor.set(h.tensor, entry);
      }
      entry.hunks.push(h);
      entry.ranges.push(hunkElements(entry.tensor.dtype, h));
      at++;
    }
    for (const t of patch.tensors) if (!this.byTensor.has(t.name)) this.byTensor.set(t.name, { tensor: t, hunks: [], first: at, ranges: [] });
  }

  overview(patchId: string): PatchOverview {
    const tensors: PatchTensorSummary[] = this.patch.tensors.map((t) => {
      const e = this.entry(t.name);
      return {
        name: t.name,
        dtype: t.dtype,
        shape: [...t.shape],
        fileIndex: t.fileIndex,
        fileOffset: t.fileOffset,
        ops: [...t.ops],
        hunks: e.hunks.length,
        elements: e.ranges.reduce((n, [a, b]) => n + b - a, 0),
        bytes: e.hunks.reduce((n, h) => n + h.original.length, 0),
      };
    });
    return {
      patchId,
      base: this.patch.base.map((b) => ({ ...b })),
      tensors,
      hunks: this.patch.hunks.length,
      bytes: tensors.reduce((n, t) => n + t.bytes, 0),
    };
  }

  entry(tensor: string): TensorHunks {
    const e = this.byTensor.get(tensor);
    if (!e) throw new UserError(`${this.name}: the patch does not touch tensor ${JSON.stringify(tensor)}`);
    return e;
  }

  tensorNames(): string[] {
    return this.patch.tensors.map((t) => t.name);
  }

  /** Summary of hunk k of a tensor. */
  summary(tensor: string, k: number): HunkSummary {
    const e = this.entry(tensor);
    const h = e.hunks[k];
    const elements = e.ranges[k];
    return {
      hunk: e.first + k,
      tensor,
      elements: [elements[0], elements[1]],
      index: unravelIndex(elements[0], e.tensor.shape),
      offset: h.offset,
      fileOffset: e.tensor.fileOffset + h.offset,
      bytes: h.original.length,
      region: elementRegion(e.tensor.shape, elements),
    };
  }

  hunks(tensor: string, start: number, limit: number): { total: number; hunks: HunkSummary[] } {
    const e = this.entry(tensor);
    const from = clampInt(start, 0, e.hunks.length);
    const to = clampInt(from + Math.max(0, Math.floor(limit)), from, e.hunks.length);
    const hunks: HunkSummary[] = [];
    for (let k = from; k < to; k++) hunks.push(this.summary(tensor, k));
    return { total: e.hunks.length, hunks };
  }

  /** Exact text of elements [first, end) before and after (null outside every hunk), at most `limit`. */
  values(tensor: string, [first, end]: [number, number], limit = 256): PatchValues {
    const e = this.entry(tensor);
    const total = numel(e.tensor.shape);
    if (!Number.isSafeInteger(first) || !Number.isSafeInteger(end) || first < 0 || end < first || end > total) {
      throw new UserError(`elements ${first}:${end} are outside tensor ${JSON.stringify(tensor)} (${total} elements)`);
    }
    const max = clampInt(limit, 1, MAX_VALUES);
    const stop = Math.min(end, first + max);
    const before: (string | null)[] = new Array(stop - first).fill(null);
    const after: (string | null)[] = new Array(stop - first).fill(null);
    const unit = unitOf(e.tensor.dtype);
    const format = unitFormatter(e.tensor.dtype);
    for (let k = firstHunkEndingAfter(e.ranges, first); k < e.hunks.length && e.ranges[k][0] < stop; k++) {
      const h = e.hunks[k];
      const [h0, h1] = e.ranges[k];
      const views = [dataViewOf(h.original), dataViewOf(h.replacement)];
      // Whole units: an F4/F6 unit holds several elements.
      for (let u = Math.floor((Math.max(first, h0) - h0) / unit.elements); h0 + u * unit.elements < Math.min(stop, h1); u++) {
        const at = u * unit.bytes;
        const texts = [format.text(h.original, at, views[0]).split(' '), format.text(h.replacement, at, views[1]).split(' ')];
        for (let j = 0; j < unit.elements; j++) {
          const el = h0 + u * unit.elements + j;
          if (el < first || el >= stop) continue;
          before[el - first] = texts[0][j];
          after[el - first] = texts[1][j];
        }
      }
    }
    return { elements: [first, stop], before, after, truncated: stop < end };
  }

  /** Whether the patch touches `tensor`. */
  has(tensor: string): boolean {
    return this.byTensor.has(tensor);
  }

  /**
   * Decodes the patch's values of elements [first, first + out.length) of a tensor into
   * `out` (the original or the new bytes), where a hunk covers them; marks those in `covered`.
   * Elements no hunk covers are left as they are.
   */
  decodeInto(tensor: string, which: 'before' | 'after', first: number, out: Float64Array, covered?: Uint8Array): void {
    const e = this.entry(tensor);
    const dtype = e.tensor.dtype;
    const bits = DTYPE_BITS[dtype];
    const end = first + out.length;
    for (let k = firstHunkEndingAfter(e.ranges, first); k < e.hunks.length && e.ranges[k][0] < end; k++) {
      const h = e.hunks[k];
      const [h0, h1] = e.ranges[k];
      const from = Math.max(first, h0);
      const count = Math.min(end, h1) - from;
      const bit = (from - h0) * bits;
      decodeElements(dtype, (which === 'before' ? h.original : h.replacement).subarray(Math.floor(bit / 8)), bit % 8, count, out, from - first);
      covered?.fill(1, from - first, from - first + count);
    }
  }

  /** The patch's values of a tensor as a derived [rows, cols] tensor (NaN where no hunk covers). */
  derived(tensor: string, side: PatchSide): DerivedTensor {
    const e = this.entry(tensor);
    const { rows, cols } = view2D(e.tensor.shape);
    let scratch = new Float64Array(0);
    return derivedTensor(`${tensor} (${side})`, [rows, cols], async (first, out) => {
      out.fill(NaN);
      if (side !== 'delta') return this.decodeInto(tensor, side, first, out);
      if (scratch.length < out.length) scratch = new Float64Array(out.length);
      const before = scratch.subarray(0, out.length);
      this.decodeInto(tensor, 'before', first, before);
      this.decodeInto(tensor, 'after', first, out);
      for (let i = 0; i < out.length; i++) out[i] -= before[i];
    });
  }
}

/** The first k with ranges[k][1] > element (ranges sorted and disjoint). */
function firstHunkEndingAfter(ranges: [number, number][], element: number): number {
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ranges[mid][1] <= element) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function clampInt(v: number, lo: number, hi: number): number {
  return Number.isFinite(v) ? Math.min(Math.max(Math.floor(v), lo), hi) : lo;
}
