// Heatmaps of one tensor of two models for the compare view: A's, B's, and B − A as a
// derived tensor computed from both files' bytes as tiles ask for them (only the viewport's
// elements, in chunks; see compute/derivedTensor.ts). Tiles are the tile machinery's own, so
// a tile is never larger than the pixels it covers.

import type { ElementInfo, TensorInfo, Tile } from '../../shared/protocol';
import type { CompareSide, CompareTileRequest, CompareView } from '../../shared/reviewProtocol';
import { decodeElements, elementLocation } from '../dtype/decode';
import { UserError } from '../errors';
import { derivedTensor, type DerivedTensor } from '../compute/derivedTensor';
import { defaultSlice, resolveSlice } from '../compute/slice';
import { computeTile, elementAt } from '../compute/tile';
import type { Model } from '../safetensors/model';
import type { ModelCache } from './modelCache';

interface Pair {
  a: Model;
  b: Model;
  ta: TensorInfo | null;
  tb: TensorInfo | null;
}

async function pair(cache: ModelCache, pathA: string, pathB: string, tensor: string): Promise<Pair> {
  for (const [what, v] of [['pathA', pathA], ['pathB', pathB], ['tensor', tensor]]) {
    if (typeof v !== 'string') throw new UserError(`${what} must be a string`);
  }
  const [a, b] = await Promise.all([cache.get(pathA), cache.get(pathB)]);
  const find = (m: Model) => m.info.tensors.find((t) => t.name === tensor) ?? null;
  const p = { a, b, ta: find(a), tb: find(b) };
  if (!p.ta && !p.tb) throw new UserError(`no tensor ${JSON.stringify(tensor)} in either model`);
  return p;
}

function sides(p: Pair): CompareSide[] {
  const out: CompareSide[] = [];
  if (p.ta) out.push('a');
  if (p.tb) out.push('b');
  if (p.ta && p.tb && p.ta.dtype === p.tb.dtype && sameShape(p.ta.shape, p.tb.shape)) out.push('delta');
  return out;
}

export async function compareView(cache: ModelCache, pathA: string, pathB: string, tensor: string, slice?: string): Promise<CompareView> {
  const p = await pair(cache, pathA, pathB, tensor);
  const t = (p.ta ?? p.tb)!;
  const v = resolveSlice(t, slice ?? defaultSlice(t.shape));
  return { slice: v.slice, rows: v.rows, cols: v.cols, rowDim: v.rowDim, colDim: v.colDim, sides: sides(p) };
}

export async function compareTile(cache: ModelCache, req: CompareTileRequest, signal?: AbortSignal): Promise<Tile> {
  const p = await pair(cache, req.pathA, req.pathB, req.tensor);
  if (!sides(p).includes(req.side)) throw new UserError(unavailable(p, req.tensor, req.side));
  if (req.side === 'a') return computeTile(p.a, p.ta!, req, signal);
  if (req.side === 'b') return computeTile(p.b, p.tb!, req, signal);
  const d = deltaTensor(p.a, p.ta!, p.b, p.tb!);
  return computeTile(d.model, d.tensor, req, signal);
}

export async function compareElement(
  cache: ModelCache,
  pathA: string,
  pathB: string,
  tensor: string,
  slice: string,
  row: number,
  col: number,
): Promise<{ a: ElementInfo; b: ElementInfo; delta: number }> {
  const p = await pair(cache, pathA, pathB, tensor);
  if (!sides(p).includes('delta')) throw new UserError(unavailable(p, tensor, 'delta'));
  const [a, b] = await Promise.all([elementAt(p.a, p.ta!, slice, row, col), elementAt(p.b, p.tb!, slice, row, col)]);
  return { a, b, delta: b.value - a.value };
}

function unavailable(p: Pair, tensor: string, side: CompareSide): string {
  const name = JSON.stringify(tensor);
  if (side === 'a') return `tensor ${name} is not in A`;
  if (side === 'b') return `tensor ${name} is not in B`;
  if (!p.ta || !p.tb) return `tensor ${name} is only in ${p.ta ? 'A' : 'B'}: there is no B − A`;
  return `tensor ${name} is ${p.ta.dtype} [${p.ta.shape.join(', ')}] in A and ${p.tb.dtype} [${p.tb.shape.join(', ')}] in B: there is no element-wise B − A`;
}

/** B − A element by element (C64: |b − a|), as a derived F64 tensor of the same shape. */
export function deltaTensor(a: Model, ta: TensorInfo, b: Model, tb: TensorInfo): DerivedTensor {
  const dtype = ta.dtype;
  const complex = dtype === 'C64';
  let scratch = new Float64Array(0);
  return derivedTensor(`${ta.name} (B − A)`, ta.shape, async (first, out) => {
    const n = out.length;
    const start = elementLocation(dtype, first);
    const end = elementLocation(dtype, first + n - 1);
    const [bytesA, bytesB] = await Promise.all([a.read(ta, start.byteStart, end.byteEnd), b.read(tb, start.byteStart, end.byteEnd)]);
    const values = complex ? 2 * n : n;
    if (scratch.length < 2 * values) scratch = new Float64Array(2 * values);
    const va = scratch.subarray(0, values);
    const vb = scratch.subarray(values, 2 * values);
    if (complex) {
      decodeElements('F32', bytesA, 0, values, va);
      decodeElements('F32', bytesB, 0, values, vb);
      for (let i = 0; i < n; i++) out[i] = Math.hypot(vb[2 * i] - va[2 * i], vb[2 * i + 1] - va[2 * i + 1]);
    } else {
      decodeElements(dtype, bytesA, start.bitOffset, n, va);
      decodeElements(dtype, bytesB, start.bitOffset, n, vb);
      for (let i = 0; i < n; i++) out[i] = vb[i] - va[i];
    }
  });
}

function sameShape(x: number[], y: number[]): boolean {
  return x.length === y.length && x.every((d, i) => d === y[i]);
}
