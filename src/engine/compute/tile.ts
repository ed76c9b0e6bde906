// Heatmap tiles: a viewport of a 2-D slice view reduced to at most maxRows x maxCols cells,
// each cell the mean (and optionally min/max) of the finite elements of its block, quantised
// to one byte. Only the viewport's elements are read (see ./lines). Also the exact value of
// one element and the summary of a region, for hover and click.

import { TILE_NO_VALUE, type ElementInfo, type RegionSummary, type Tile, type TileRange, type TensorInfo, type Viewport } from '../../shared/protocol';
import { decodeElements, elementLocation, elementText } from '../dtype/decode';
import { UserError } from '../errors';
import type { Model } from '../safetensors/model';
import { readLines, type LineSpec, type ReadOptions, type Values } from './lines';
import { resolveSlice, type ResolvedSlice } from './slice';

export interface TileParams {
  slice: string;
  viewport: Viewport;
  maxRows: number;
  maxCols: number;
  range: TileRange;
  withMinMax?: boolean;
}

const MAX_TILE_SIDE = 16384;
const TOP_CODE = TILE_NO_VALUE - 1; // 254

/** The viewport clamped to the view: 0 <= row0 <= row1 <= rows, same for columns. */
export function clampViewport(vp: Viewport, rows: number, cols: number): Viewport {
  const c = (v: number, n: number) => (Number.isFinite(v) ? Math.min(Math.max(Math.floor(v), 0), n) : 0);
  const row0 = c(vp.row0, rows);
  const col0 = c(vp.col0, cols);
  return { row0, row1: Math.max(row0, c(vp.row1, rows)), col0, col1: Math.max(col0, c(vp.col1, cols)) };
}

/**
 * The lines covering a viewport of a view, in file order. Lines run along the axis with the
 * smaller stride (normally the columns), so each line is as dense as the view allows.
 * `rowsOuter` says whether a line is a row (outer = row index) or a column.
 */
function viewportLines(v: ResolvedSlice, vp: Viewport): { rowsOuter: boolean; lines: Iterable<LineSpec> } {
  const nr = vp.row1 - vp.row0;
  const nc = vp.col1 - vp.col0;
  const rowsOuter = nr <= 1 || (nc > 1 && Math.abs(v.rowStride) >= Math.abs(v.colStride));
  const [o0, o1, oStride, i0, count, iStride] = rowsOuter
    ? [vp.row0, vp.row1, v.rowStride, vp.col0, nc, v.colStride]
    : [vp.col0, vp.col1, v.colStride, vp.row0, nr, v.rowStride];
  function* lines(): Generator<LineSpec> {
    if (count <= 0) return;
    const descending = oStride < 0; // visit lines in increasing file position
    for (let k = 0; k < o1 - o0; k++) {
      const o = descending ? o1 - 1 - k : o0 + k;
      yield { outer: o, inner0: i0, count, start: v.offset + o * oStride + i0 * iStride, stride: iStride };
    }
  }
  return { rowsOuter, lines: lines() };
}

function checkTileSize(maxRows: number, maxCols: number): void {
  for (const [what, v] of [['maxRows', maxRows], ['maxCols', maxCols]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > MAX_TILE_SIDE) throw new UserError(`tile ${what} must be a whole number from 1 to ${MAX_TILE_SIDE}, not ${v}`);
  }
}

function rangeOf(range: TileRange, means: Float64Array): { lo: number; hi: number } {
  if (range.kind === 'fixed') {
    if (!Number.isFinite(range.lo) || !Number.isFinite(range.hi) || range.lo > range.hi) {
      throw new UserError(`tile range must have finite lo <= hi, not [${range.lo}, ${range.hi}]`);
    }
    return { lo: range.lo, hi: range.hi };
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < means.length; i++) {
    const m = means[i];
    if (m < lo) lo = m; // NaN (empty cell) compares false
    if (m > hi) hi = m;
  }
  if (lo > hi) return { lo: 0, hi: 0 }; // no finite cell
  if (range.kind === 'symmetric') {
    const m = Math.max(Math.abs(lo), Math.abs(hi));
    return { lo: -m, hi: m };
  }
  return { lo, hi };
}

/** Codes 0..254 linear over [lo, hi] (value = lo + code * (hi - lo) / 254); 255 for NaN. */
export function quantise(values: Float64Array, lo: number, hi: number): Uint8Array {
  const out = new Uint8Array(values.length);
  // Halves keep hi - lo finite for ranges near ±max double; scaling by 1/2 is exact.
  const span = hi * 0.5 - lo * 0.5;
  const loH = lo * 0.5;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== v) out[i] = TILE_NO_VALUE;
    else if (span > 0) out[i] = Math.min(TOP_CODE, Math.max(0, Math.round(((v * 0.5 - loH) / span) * TOP_CODE)));
    else out[i] = v < lo ? 0 : v > hi ? TOP_CODE : TOP_CODE >> 1;
  }
  return out;
}

export async function computeTile(model: Model, t: TensorInfo, req: TileParams, signal?: AbortSignal, readOpts: ReadOptions = {}): Promise<Tile> {
  checkTileSize(req.maxRows, req.maxCols);
  const view = resolveSlice(t, req.slice);
  const vp = clampViewport(req.viewport, view.rows, view.cols);
  const nr = vp.row1 - vp.row0;
  const nc = vp.col1 - vp.col0;
  const cellRows = Math.max(1, Math.ceil(nr / req.maxRows));
  const cellCols = Math.max(1, Math.ceil(nc / req.maxCols));
  const rows = Math.ceil(nr / cellRows);
  const cols = Math.ceil(nc / cellCols);
  const cells = rows * cols;

  const sum = new Float64Array(cells);
  const cnt = new Float64Array(cells);
  const withMinMax = req.withMinMax === true;
  const mins = withMinMax ? new Float64Array(cells).fill(Infinity) : null;
  const maxs = withMinMax ? new Float64Array(cells).fill(-Infinity) : null;

  const { rowsOuter, lines } = viewportLines(view, vp);
  // Cell index = outerCell * outerMul + innerCell * innerMul.
  const [outer0, outerCell, outerMul, inner0v, innerCell, innerMul] = rowsOuter
    ? [vp.row0, cellRows, cols, vp.col0, cellCols, 1]
    : [vp.col0, cellCols, 1, vp.row0, cellRows, cols];

  const visit = (v: Values, n: number, outer: number, inner0: number): void => {
    const base = Math.floor((outer - outer0) / outerCell) * outerMul;
    let j = 0;
    let pos = inner0 - inner0v; // inner index within the viewport
    if (innerCell === 1 && mins === null) {
      // Exact along the line (the common overview case): one element per cell.
      let k = base + pos * innerMul;
      for (; j < n; j++, k += innerMul) {
        const x = v[j];
        if (x - x === 0) {
          sum[k] += x;
          cnt[k]++;
        }
      }
      return;
    }
    while (j < n) {
      const cell = Math.floor(pos / innerCell);
      const take = Math.min(n - j, (cell + 1) * innerCell - pos);
      const end = j + take;
      const k = base + cell * innerMul;
      let s = 0;
      let c = 0;
      let lo = Infinity;
      let hi = -Infinity;
      for (; j < end; j++) {
        const x = v[j];
        if (x - x === 0) {
          s += x;
          c++;
          if (x < lo) lo = x;
          if (x > hi) hi = x;
        }
      }
      pos += take;
      sum[k] += s;
      cnt[k] += c;
      if (mins !== null && maxs !== null) {
        if (lo < mins[k]) mins[k] = lo;
        if (hi > maxs[k]) maxs[k] = hi;
      }
    }
  };
  await readLines(model, t, lines, visit, { ...readOpts, signal });

  const means = new Float64Array(cells);
  for (let i = 0; i < cells; i++) means[i] = cnt[i] > 0 ? sum[i] / cnt[i] : NaN;
  const { lo, hi } = rangeOf(req.range, means);
  const tile: Tile = { viewport: vp, rows, cols, cellRows, cellCols, exact: cellRows === 1 && cellCols === 1, lo, hi, mean: quantise(means, lo, hi) };
  if (mins && maxs) {
    for (let i = 0; i < cells; i++) {
      if (cnt[i] === 0) mins[i] = maxs[i] = NaN;
    }
    tile.min = quantise(mins, lo, hi);
    tile.max = quantise(maxs, lo, hi);
  }
  return tile;
}

function viewName(t: TensorInfo, view: ResolvedSlice): string {
  return `the ${view.rows} x ${view.cols} view ${view.slice} of "${t.name}"`;
}

/** Exact information about the element at (row, col) of a slice view. */
export async function elementAt(model: Model, t: TensorInfo, slice: string, row: number, col: number): Promise<ElementInfo> {
  const view = resolveSlice(t, slice);
  if (!Number.isInteger(row) || !Number.isInteger(col) || row < 0 || col < 0 || row >= view.rows || col >= view.cols) {
    throw new UserError(`element (${row}, ${col}) is outside ${viewName(t, view)}`);
  }
  const element = view.offset + row * view.rowStride + col * view.colStride;
  const index = new Array<number>(t.shape.length);
  for (let d = t.shape.length - 1, rest = element; d >= 0; d--) {
    index[d] = rest % t.shape[d];
    rest = Math.floor(rest / t.shape[d]);
  }
  const loc = elementLocation(t.dtype, element);
  const bytes = await model.read(t, loc.byteStart, loc.byteEnd);
  const value = new Float64Array(1);
  decodeElements(t.dtype, bytes, loc.bitOffset, 1, value, 0);
  let hex = '';
  for (const b of bytes) hex += b.toString(16).padStart(2, '0');
  return {
    index,
    text: elementText(t.dtype, bytes, loc.bitOffset),
    value: value[0],
    byteOffset: t.fileOffset + loc.byteStart,
    bitOffset: loc.bitOffset,
    hex,
  };
}

/** Count, NaNs and min/max/mean of the finite elements in a viewport of a slice view. */
export async function regionSummary(model: Model, t: TensorInfo, slice: string, viewport: Viewport, signal?: AbortSignal, readOpts: ReadOptions = {}): Promise<RegionSummary> {
  const view = resolveSlice(t, slice);
  const vp = clampViewport(viewport, view.rows, view.cols);
  let nan = 0;
  let finite = 0;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  const visit = (v: Values, n: number): void => {
    for (let j = 0; j < n; j++) {
      const x = v[j];
      if (x - x === 0) {
        finite++;
        sum += x;
        if (x < min) min = x;
        if (x > max) max = x;
      } else if (x !== x) nan++;
    }
  };
  await readLines(model, t, viewportLines(view, vp).lines, visit, { ...readOpts, signal });
  const count = (vp.row1 - vp.row0) * (vp.col1 - vp.col0);
  if (finite === 0) return { viewport: vp, count, nan, min: null, max: null, mean: null };
  return { viewport: vp, count, nan, min, max, mean: sum / finite };
}
