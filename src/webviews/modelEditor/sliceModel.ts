// The slice picker's model: a numpy-like slice string ("[0, :, 10:20]") as one spec per
// tensor dimension, and back. The engine is the authority on validity (it answers `slice`
// with the normalised string or a one-line error); this module only keeps the text field and
// the per-dimension controls in sync and maps view cells back to tensor indices. Pure.

export type DimSpec =
  | { kind: 'index'; index: number }
  /** Bounds as written (null = omitted), so "10:20:2" survives a round trip through the controls. */
  | { kind: 'range'; start: number | null; stop: number | null; step: number | null };

/** Parse a slice string into exactly `ndim` specs; null if it is not of the simple form the controls show. */
export function parseSlice(text: string, ndim: number): DimSpec[] | null {
  let s = text.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const parts = s.trim() === '' ? [] : s.split(',').map((p) => p.trim());
  const specs: DimSpec[] = [];
  let ellipsis = -1;
  for (const p of parts) {
    if (p === '...' || p === '…') {
      if (ellipsis >= 0) return null;
      ellipsis = specs.length;
      continue;
    }
    const spec = parseDim(p);
    if (!spec) return null;
    specs.push(spec);
  }
  if (specs.length > ndim) return null;
  const fill: DimSpec[] = Array.from({ length: ndim - specs.length }, () => fullRange());
  if (ellipsis >= 0) specs.splice(ellipsis, 0, ...fill);
  else specs.push(...fill);
  return specs;
}

function parseDim(p: string): DimSpec | null {
  const int = /^[+-]?\d+$/;
  if (int.test(p)) return { kind: 'index', index: Number(p) };
  const pieces = p.split(':');
  if (pieces.length < 2 || pieces.length > 3) return null;
  const nums = pieces.map((x) => x.trim());
  if (!nums.every((x) => x === '' || int.test(x))) return null;
  const num = (x: string | undefined) => (x === undefined || x === '' ? null : Number(x));
  return { kind: 'range', start: num(nums[0]), stop: num(nums[1]), step: num(nums[2]) };
}

export function fullRange(): DimSpec {
  return { kind: 'range', start: null, stop: null, step: null };
}

export function formatDim(spec: DimSpec): string {
  if (spec.kind === 'index') return String(spec.index);
  const a = spec.start === null ? '' : String(spec.start);
  const b = spec.stop === null ? '' : String(spec.stop);
  return spec.step === null ? `${a}:${b}` : `${a}:${b}:${spec.step}`;
}

export function formatSlice(specs: readonly DimSpec[]): string {
  return `[${specs.map(formatDim).join(', ')}]`;
}

/** The default view of a tensor: index 0 on leading dims, the last two dims as rows and cols. */
export function defaultSpecs(shape: readonly number[]): DimSpec[] {
  return shape.map((_, d) => (d >= shape.length - 2 ? fullRange() : { kind: 'index', index: 0 }));
}

/** Which dims are ranged (the view's axes): [rowDim, colDim]; -1 for an axis the view lacks. */
export function viewAxes(specs: readonly DimSpec[]): { rowDim: number; colDim: number } {
  const ranged = specs.flatMap((s, d) => (s.kind === 'range' ? [d] : []));
  if (ranged.length >= 2) return { rowDim: ranged[0], colDim: ranged[1] };
  if (ranged.length === 1) return { rowDim: -1, colDim: ranged[0] };
  return { rowDim: -1, colDim: -1 };
}

/**
 * Make `dim` a view axis (ranged, full extent) or an index. At most two dims are axes: making
 * a third one an axis turns the other axis farthest from `dim` back into index 0.
 */
export function setDimKind(specs: readonly DimSpec[], dim: number, kind: 'index' | 'range'): DimSpec[] {
  const out = specs.slice();
  if (kind === 'index') {
    if (out[dim].kind !== 'index') out[dim] = { kind: 'index', index: 0 };
    return out;
  }
  if (out[dim].kind === 'range') return out;
  out[dim] = fullRange();
  const ranged = out.flatMap((s, d) => (s.kind === 'range' && d !== dim ? [d] : []));
  if (ranged.length >= 2) {
    const drop = ranged.reduce((a, b) => (Math.abs(b - dim) > Math.abs(a - dim) ? b : a));
    out[drop] = { kind: 'index', index: 0 };
  }
  return out;
}

export function setDimIndex(specs: readonly DimSpec[], dim: number, index: number): DimSpec[] {
  const out = specs.slice();
  out[dim] = { kind: 'index', index };
  return out;
}

/** Python slice semantics: the indices a range selects along a dim of `size`, as start + step*i for i < count. */
export function resolveRange(spec: Extract<DimSpec, { kind: 'range' }>, size: number): { start: number; step: number; count: number } {
  const step = spec.step ?? 1;
  if (step === 0) return { start: 0, step: 1, count: 0 };
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  const norm = (v: number) => (v < 0 ? v + size : v);
  let start: number;
  let stop: number;
  if (step > 0) {
    start = spec.start === null ? 0 : clamp(norm(spec.start), 0, size);
    stop = spec.stop === null ? size : clamp(norm(spec.stop), 0, size);
  } else {
    start = spec.start === null ? size - 1 : clamp(norm(spec.start), -1, size - 1);
    stop = spec.stop === null ? -1 : clamp(norm(spec.stop), -1, size - 1);
  }
  const count = step > 0 ? Math.max(0, Math.ceil((stop - start) / step)) : Math.max(0, Math.ceil((start - stop) / -step));
  return { start, step, count };
}

/** The tensor index of a dim that is fixed by an index spec (negative counts from the end). */
export function resolveIndex(index: number, size: number): number {
  return index < 0 ? index + size : index;
}

/**
 * The full N-D tensor index ranges covered by view rows [row0, row1) and cols [col0, col1):
 * one [begin, end) per tensor dim with the step along it (fixed dims have end = begin + 1).
 */
export function viewCellToTensor(
  specs: readonly DimSpec[],
  shape: readonly number[],
  rows: [number, number],
  cols: [number, number],
): { begin: number; end: number; step: number }[] {
  const { rowDim, colDim } = viewAxes(specs);
  return specs.map((s, d) => {
    if (s.kind === 'index') {
      const i = resolveIndex(s.index, shape[d]);
      return { begin: i, end: i + 1, step: 1 };
    }
    const r = resolveRange(s, shape[d]);
    const [a, b] = d === rowDim ? rows : d === colDim ? cols : [0, 1];
    // Inclusive first and last tensor index of the view span, then as a half-open range.
    const first = r.start + r.step * a;
    const last = r.start + r.step * (b - 1);
    return r.step > 0 ? { begin: first, end: last + 1, step: r.step } : { begin: last, end: first + 1, step: -r.step };
  });
}

/** "[3, 10..17, 0..31]" for display: fixed dims as numbers, spans as first..last. */
export function formatTensorRanges(ranges: readonly { begin: number; end: number; step: number }[]): string {
  return `[${ranges
    .map((r) => (r.end - r.begin <= 1 ? String(r.begin) : r.step === 1 ? `${r.begin}..${r.end - 1}` : `${r.begin}..${r.end - 1} step ${r.step}`))
    .join(', ')}]`;
}
