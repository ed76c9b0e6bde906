// numpy basic indexing on a tensor's shape: parse a slice string ("[0, :, 10:20]",
// "[-1, ::2]", "[..., 3]") into a strided view of the tensor's elements, and reduce such a
// view to the 2-D view a heatmap shows. Only sliceValues reads data (through ./lines).

import type { SliceView, TensorInfo } from '../../shared/protocol';
import { UserError } from '../errors';
import type { Model } from '../safetensors/model';
import { numelOf, readLines, type LineSet } from './lines';

/** The result of basic indexing, in element units of the row-major tensor. */
export interface StridedView {
  /** Element index (row-major) of the view's first element. */
  offset: number;
  shape: number[];
  /** Element steps per view axis; may be negative (negative slice steps). */
  strides: number[];
  /** The tensor dimension each view axis comes from. */
  dims: number[];
  /** The normalised slice text: one item per tensor dimension, e.g. "[0, :, 10:20]". */
  text: string;
}

/** A slice resolved to a 2-D view with the strides to address it. */
export interface ResolvedSlice extends SliceView {
  offset: number;
  rowStride: number;
  colStride: number;
}

type Item =
  | { kind: 'index'; value: number }
  | { kind: 'slice'; start: number | null; stop: number | null; step: number | null }
  | { kind: 'ellipsis' };

const INT = /^[+-]?\d+$/;

function parseInt10(text: string, whole: string, what: string): number {
  if (!INT.test(text)) throw new UserError(`bad slice "${whole}": ${what} "${text}" is not an integer`);
  const v = Number(text);
  if (!Number.isSafeInteger(v)) throw new UserError(`bad slice "${whole}": ${what} "${text}" is too large`);
  return v;
}

function parseItems(text: string): Item[] {
  let body = text.trim();
  if (body.startsWith('[') || body.endsWith(']')) {
    if (!(body.startsWith('[') && body.endsWith(']'))) throw new UserError(`bad slice "${text}": unbalanced brackets`);
    body = body.slice(1, -1).trim();
  }
  if (body === '') return [];
  const parts = body.split(',').map((p) => p.trim());
  // Python allows one trailing comma ("[0,]"), nothing else empty.
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  return parts.map((p, i): Item => {
    if (p === '') throw new UserError(`bad slice "${text}": item ${i + 1} is empty`);
    if (p === '...') return { kind: 'ellipsis' };
    if (!p.includes(':')) return { kind: 'index', value: parseInt10(p, text, 'index') };
    const bounds = p.split(':').map((s) => s.trim());
    if (bounds.length > 3) throw new UserError(`bad slice "${text}": "${p}" has more than two colons`);
    const [start, stop, step] = bounds.map((s, k) =>
      s === undefined || s === '' ? null : parseInt10(s, text, ['start', 'stop', 'step'][k]),
    );
    if (step === 0) throw new UserError(`bad slice "${text}": slice step cannot be zero`);
    return { kind: 'slice', start: start ?? null, stop: stop ?? null, step: step ?? null };
  });
}

/** Python's PySlice_AdjustIndices: clamp start/stop into range and count the elements. */
function adjustSlice(start: number | null, stop: number | null, step: number, size: number): { start: number; length: number } {
  let lo: number;
  let hi: number;
  if (step > 0) {
    lo = start === null ? 0 : start < 0 ? Math.max(start + size, 0) : Math.min(start, size);
    hi = stop === null ? size : stop < 0 ? Math.max(stop + size, 0) : Math.min(stop, size);
    return { start: lo, length: hi > lo ? Math.floor((hi - lo - 1) / step) + 1 : 0 };
  }
  lo = start === null ? size - 1 : start < 0 ? Math.max(start + size, -1) : Math.min(start, size - 1);
  hi = stop === null ? -1 : stop < 0 ? Math.max(stop + size, -1) : Math.min(stop, size - 1);
  return { start: lo, length: lo > hi ? Math.floor((lo - hi - 1) / -step) + 1 : 0 };
}

function sliceText(item: Extract<Item, { kind: 'slice' }>): string {
  const s = item.start === null ? '' : String(item.start);
  const e = item.stop === null ? '' : String(item.stop);
  return item.step === null || item.step === 1 ? `${s}:${e}` : `${s}:${e}:${item.step}`;
}

/** Apply a numpy basic-indexing slice to a row-major tensor of `shape`. */
export function parseSlice(text: string, shape: number[]): StridedView {
  const items = parseItems(text);
  const ellipses = items.filter((it) => it.kind === 'ellipsis').length;
  if (ellipses > 1) throw new UserError(`bad slice "${text}": an index can only have a single ellipsis ("...")`);
  const indexed = items.length - ellipses;
  if (indexed > shape.length) {
    throw new UserError(`bad slice "${text}": too many indices for a ${shape.length}-dimensional tensor (${indexed} given)`);
  }
  // Expand the ellipsis (or the implicit trailing one) into full slices.
  const full: Item = { kind: 'slice', start: null, stop: null, step: null };
  const at = items.findIndex((it) => it.kind === 'ellipsis');
  const fill = Array.from({ length: shape.length - indexed }, () => full);
  const expanded = at < 0 ? [...items, ...fill] : [...items.slice(0, at), ...fill, ...items.slice(at + 1)];

  const tensorStrides = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    tensorStrides[d] = acc;
    acc *= shape[d];
  }
  const view: StridedView = { offset: 0, shape: [], strides: [], dims: [], text: '' };
  const texts: string[] = [];
  expanded.forEach((item, d) => {
    const size = shape[d];
    if (item.kind === 'index') {
      const i = item.value < 0 ? item.value + size : item.value;
      if (i < 0 || i >= size) throw new UserError(`index ${item.value} is out of bounds for dimension ${d} of size ${size}`);
      view.offset += i * tensorStrides[d];
      texts.push(String(i));
    } else if (item.kind === 'slice') {
      const step = item.step ?? 1;
      const { start, length } = adjustSlice(item.start, item.stop, step, size);
      // An empty slice may start out of range; it addresses nothing, so keep offset valid.
      if (length > 0) view.offset += start * tensorStrides[d];
      view.shape.push(length);
      view.strides.push(step * tensorStrides[d]);
      view.dims.push(d);
      texts.push(sliceText(item));
    }
  });
  view.text = `[${texts.join(', ')}]`;
  return view;
}

/** Reduce a strided view to rows x cols for a heatmap (1-D -> 1 x n, 0-D -> 1 x 1). */
export function toView2D(tensorName: string, view: StridedView, slice: string): ResolvedSlice {
  const n = view.shape.length;
  const empty = view.shape.some((s) => s === 0);
  if (n > 2 && !empty) {
    throw new UserError(`slice "${slice}" of "${tensorName}" leaves ${n} dimensions; a heatmap needs at most 2`);
  }
  const base = { slice: view.text, offset: view.offset };
  if (n > 2) return { ...base, rows: 0, cols: 0, rowDim: -1, colDim: -1, rowStride: 0, colStride: 0 };
  if (n === 2) {
    return {
      ...base,
      rows: view.shape[0],
      cols: view.shape[1],
      rowDim: view.dims[0],
      colDim: view.dims[1],
      rowStride: view.strides[0],
      colStride: view.strides[1],
    };
  }
  if (n === 1) return { ...base, rows: 1, cols: view.shape[0], rowDim: -1, colDim: view.dims[0], rowStride: 0, colStride: view.strides[0] };
  return { ...base, rows: 1, cols: 1, rowDim: -1, colDim: -1, rowStride: 0, colStride: 0 };
}

/** Resolve a slice string against a tensor for a heatmap. */
export function resolveSlice(tensor: { name: string; shape: number[] }, slice: string): ResolvedSlice {
  return toView2D(tensor.name, parseSlice(slice, tensor.shape), slice);
}

/** The first heatmap of a tensor: index 0 on leading dimensions, the last two in full. */
export function defaultSlice(shape: number[]): string {
  // A size-0 leading dimension cannot be indexed; keep it whole (the view is empty anyway).
  const items = shape.map((size, d) => (d < shape.length - 2 && size > 0 ? '0' : ':'));
  return `[${items.join(', ')}]`;
}

/**
 * The values of a slice (any number of dimensions), row-major, as float64 (C64: modulus).
 * Refuses results of more than `limit` elements.
 */
export async function sliceValues(
  model: Model,
  t: TensorInfo,
  slice: string,
  limit = Infinity,
  signal?: AbortSignal,
): Promise<{ shape: number[]; values: Float64Array }> {
  const view = parseSlice(slice, t.shape);
  const n = numelOf(view.shape);
  if (n > limit) {
    throw new UserError(`slice "${slice}" of "${t.name}" has ${n} elements, more than the limit of ${limit}`);
  }
  const values = new Float64Array(n);
  if (n === 0) return { shape: view.shape, values };
  // One line per index of the leading axes, along the last axis (a scalar is one line of 1).
  const last = view.shape.length - 1;
  const lineLength = last >= 0 ? view.shape[last] : 1;
  const set: LineSet = {
    lines: n / lineLength,
    count: lineLength,
    stride: last >= 0 ? view.strides[last] : 1,
    start: (line) => {
      // Unravel the line number over the leading axes (row-major).
      let start = view.offset;
      for (let a = last - 1, rest = line; a >= 0; a--) {
        start += (rest % view.shape[a]) * view.strides[a];
        rest = Math.floor(rest / view.shape[a]);
      }
      return start;
    },
  };
  await readLines(model, t, set, (v, at, count, line, inner0) => {
    const to = line * lineLength + inner0;
    for (let j = 0; j < count; j++) values[to + j] = v[at + j];
  }, { signal });
  return { shape: view.shape, values };
}
