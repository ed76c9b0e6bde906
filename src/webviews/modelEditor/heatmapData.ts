// From an engine Tile to what the heatmap draws: codes to z rows (no value -> null), cell edges
// in element coordinates, colour-bar ticks in real values, colour scales, and the cell under a
// point. Pure functions; the plotting itself is in heatmapView.ts.

import { TILE_LEVELS, TILE_NO_VALUE, type Tile, type Viewport } from '../../shared/protocol';
import { formatTick } from './format';

const MAX_CODE = TILE_LEVELS - 1; // 254

/** The value a code stands for: codes 0..254 span [lo, hi] linearly. */
export function codeToValue(code: number, lo: number, hi: number): number {
  return lo + (code * (hi - lo)) / MAX_CODE;
}

/** The code for a value (for placing colour-bar ticks); not clamped. */
export function valueToCode(value: number, lo: number, hi: number): number {
  return hi === lo ? 0 : ((value - lo) * MAX_CODE) / (hi - lo);
}

/** Row-major codes to plotly's z: an array per row, null where the cell has no value. */
export function tileToZ(tile: Pick<Tile, 'rows' | 'cols' | 'mean'>): (number | null)[][] {
  const z: (number | null)[][] = new Array(tile.rows);
  for (let r = 0; r < tile.rows; r++) {
    const row: (number | null)[] = new Array(tile.cols);
    const base = r * tile.cols;
    for (let c = 0; c < tile.cols; c++) {
      const code = tile.mean[base + c];
      row[c] = code === TILE_NO_VALUE ? null : code;
    }
    z[r] = row;
  }
  return z;
}

/**
 * Cell edges along one axis in element coordinates: element i spans [i - 0.5, i + 0.5], so
 * integer positions are element centres. The last cell may be shorter than `cell`.
 */
export function cellEdges(begin: number, end: number, cell: number, count: number): number[] {
  const edges = new Array<number>(count + 1);
  for (let i = 0; i <= count; i++) edges[i] = Math.min(begin + i * cell, end) - 0.5;
  return edges;
}

/** Which cell of a tile holds view element (row, col), with the element span of that cell; null if outside. */
export function cellAt(
  tile: Pick<Tile, 'viewport' | 'rows' | 'cols' | 'cellRows' | 'cellCols'>,
  row: number,
  col: number,
): { i: number; j: number; viewport: Viewport } | null {
  const v = tile.viewport;
  if (row < v.row0 || row >= v.row1 || col < v.col0 || col >= v.col1) return null;
  const i = Math.min(tile.rows - 1, Math.floor((row - v.row0) / tile.cellRows));
  const j = Math.min(tile.cols - 1, Math.floor((col - v.col0) / tile.cellCols));
  return {
    i,
    j,
    viewport: {
      row0: v.row0 + i * tile.cellRows,
      row1: Math.min(v.row0 + (i + 1) * tile.cellRows, v.row1),
      col0: v.col0 + j * tile.cellCols,
      col1: Math.min(v.col0 + (j + 1) * tile.cellCols, v.col1),
    },
  };
}

/** 1, 2 or 5 times a power of ten, so that `span` holds about `target` steps. */
export function niceStep(span: number, target: number): number {
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / Math.max(1, target);
  const pow = Math.pow(10, Math.floor(Math.log10(raw)));
  const m = raw / pow;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * pow;
}

/** Colour-bar ticks: round real values inside [lo, hi], placed at their codes. */
export function colorbarTicks(lo: number, hi: number, target = 6): { tickvals: number[]; ticktext: string[] } {
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || hi <= lo) {
    return { tickvals: [0], ticktext: [Number.isFinite(lo) ? formatTick(lo, Math.abs(lo) || 1) : '—'] };
  }
  const step = niceStep(hi - lo, target);
  const first = Math.ceil(lo / step - 1e-9);
  const last = Math.floor(hi / step + 1e-9);
  const tickvals: number[] = [];
  const ticktext: string[] = [];
  for (let k = first; k <= last; k++) {
    const v = k === 0 ? 0 : k * step; // no "-0", no 0.30000000000000004 drift in labels
    tickvals.push(valueToCode(v, lo, hi));
    ticktext.push(formatTick(v, step));
  }
  return { tickvals, ticktext };
}

export type ColorMode = 'diverging' | 'sequential';
export type ColorScale = [number, string][];

/** Blue - neutral - red, centred on 0 for symmetric tiles; the centre blends into the theme. */
export function divergingScale(dark: boolean): ColorScale {
  const centre = dark ? '#262626' : '#f7f7f7';
  const blue = dark ? ['#053061', '#2166ac', '#4393c3', '#6aa6cf'] : ['#053061', '#2166ac', '#4393c3', '#92c5de'];
  const red = dark ? ['#d87a62', '#d6604d', '#b2182b', '#67001f'] : ['#f4a582', '#d6604d', '#b2182b', '#67001f'];
  return [
    [0, blue[0]],
    [0.15, blue[1]],
    [0.3, blue[2]],
    [0.42, blue[3]],
    [0.5, centre],
    [0.58, red[0]],
    [0.7, red[1]],
    [0.85, red[2]],
    [1, red[3]],
  ];
}

/** Viridis (perceptually uniform, readable on light and dark backgrounds). */
export function sequentialScale(): ColorScale {
  const stops = ['#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1f9e89', '#35b779', '#6ece58', '#b5de2b', '#fde725'];
  return stops.map((c, i) => [i / (stops.length - 1), c]);
}
