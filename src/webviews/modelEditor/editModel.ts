// Pure logic behind the edit controls: the ops and their parameters, row/column range text,
// the DocumentEdits they make, and the hex view's layout (rows on the patch format's grid,
// units of whole bytes, element positions). No DOM: unit-tested under node.

import { DTYPE_BITS, type DType } from '../../shared/dtypes';
import type { DocumentEdit, EditOp, Viewport } from '../../shared/protocol';

export type OpKind = EditOp['kind'];

export interface OpParam {
  name: string;
  label: string;
  initial: string;
  integer?: boolean;
}

/** The region ops, in menu order, with their parameters. */
export const OPS: { kind: OpKind; label: string; params: OpParam[] }[] = [
  { kind: 'scale', label: 'Scale', params: [{ name: 'factor', label: 'by', initial: '2' }] },
  { kind: 'add', label: 'Add', params: [{ name: 'amount', label: 'amount', initial: '0.1' }] },
  { kind: 'set', label: 'Set', params: [{ name: 'value', label: 'to', initial: '0' }] },
  {
    kind: 'clamp',
    label: 'Clamp',
    params: [
      { name: 'lo', label: 'min', initial: '-1' },
      { name: 'hi', label: 'max', initial: '1' },
    ],
  },
  { kind: 'zero', label: 'Zero', params: [] },
  {
    kind: 'noise',
    label: 'Add noise',
    params: [
      { name: 'std', label: 'std', initial: '0.01' },
      { name: 'seed', label: 'seed', initial: '0', integer: true },
    ],
  },
];

/** A number as typed: decimals, exponents, `nan`, `inf`, `-inf`; null when it is none of these. */
export function parseNumber(text: string): number | null {
  const t = text.trim().toLowerCase();
  if (t === 'nan') return NaN;
  if (/^[+-]?(inf|infinity)$/.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(t) && !/^[+-]?0x[0-9a-f]+$/.test(t)) return null;
  const v = Number(t);
  return Number.isNaN(v) ? null : v;
}

/**
 * The value typed for one element of `dtype`, or a one-line message saying why it cannot be set.
 * BOOL also takes true / false. An I64 / U64 integer that a double cannot hold exactly (beyond
 * 2^53; edits carry doubles) is refused: it would silently become a neighbouring integer, even
 * when the shown value is committed unchanged.
 */
export function elementValue(text: string, dtype: DType): number | string {
  const t = text.trim().toLowerCase();
  if (dtype === 'BOOL' && (t === 'true' || t === 'false')) return t === 'true' ? 1 : 0;
  const v = parseNumber(t);
  if (v === null) return `"${text.trim()}" is not a number`;
  const integer = /^([+-]?)(\d+|0x[0-9a-f]+)$/.exec(t);
  if ((dtype === 'I64' || dtype === 'U64') && integer && !Number.isSafeInteger(v)) {
    const magnitude = BigInt(integer[2]);
    if (BigInt(v) !== (integer[1] === '-' ? -magnitude : magnitude)) {
      return `${text.trim()} is not exact as a double (beyond 2^53): set the element's bytes instead`;
    }
  }
  return v;
}

/** The op from its kind and typed parameters, or a one-line message saying what is wrong. */
export function buildOp(kind: OpKind, values: Record<string, string>): EditOp | string {
  const spec = OPS.find((o) => o.kind === kind);
  if (!spec) return `unknown operation ${kind}`;
  const nums: Record<string, number> = {};
  for (const p of spec.params) {
    const v = parseNumber(values[p.name] ?? '');
    if (v === null) return `${p.label}: "${values[p.name] ?? ''}" is not a number`;
    if (p.integer && !(Number.isSafeInteger(v) && v >= 0)) return `${p.label} must be a whole number >= 0`;
    nums[p.name] = v;
  }
  switch (kind) {
    case 'set':
      return { kind, value: nums.value };
    case 'scale':
      return { kind, factor: nums.factor };
    case 'add':
      return { kind, amount: nums.amount };
    case 'clamp':
      if (!(nums.lo <= nums.hi)) return 'clamp needs min <= max';
      return { kind, lo: nums.lo, hi: nums.hi };
    case 'zero':
      return { kind };
    case 'noise':
      if (!(Number.isFinite(nums.std) && nums.std >= 0)) return 'std must be a finite number >= 0';
      return { kind, std: nums.std, seed: nums.seed };
  }
}

/**
 * A half-open range of `size` from text: "a:b", "a:", ":b", ":" or "" (all), or one index
 * "a". Negative numbers count from the end. A one-line message when it is not a range.
 */
export function parseRange(text: string, size: number, what: string): [number, number] | string {
  const t = text.trim();
  const idx = (s: string, dflt: number): number | null => {
    if (s.trim() === '') return dflt;
    if (!/^[+-]?\d+$/.test(s.trim())) return null;
    const v = Number(s);
    return v < 0 ? v + size : v;
  };
  let start: number | null;
  let end: number | null;
  if (!t.includes(':')) {
    start = idx(t, 0);
    end = t === '' ? size : start === null ? null : start + 1;
  } else {
    const [a, b, ...rest] = t.split(':');
    if (rest.length) return `${what} "${t}": use start:end`;
    start = idx(a, 0);
    end = idx(b, size);
  }
  if (start === null || end === null) return `${what} "${t}" is not a range like 0:16`;
  if (start < 0 || end > size || start >= end) return `${what} ${t} is outside 0:${size} or empty`;
  return [start, end];
}

export function formatRange([start, end]: readonly [number, number]): string {
  return `${start}:${end}`;
}

/** The rectangle that typed row and column ranges select in a rows x cols view. */
export function rectFromText(rows: string, cols: string, view: { rows: number; cols: number }): Viewport | string {
  const r = parseRange(rows, view.rows, 'rows');
  if (typeof r === 'string') return r;
  const c = parseRange(cols, view.cols, 'cols');
  if (typeof c === 'string') return c;
  return { row0: r[0], row1: r[1], col0: c[0], col1: c[1] };
}

export function isWholeView(rect: Viewport, view: { rows: number; cols: number }): boolean {
  return rect.row0 === 0 && rect.col0 === 0 && rect.row1 === view.rows && rect.col1 === view.cols;
}

/** A region edit; the whole view leaves out `rect` (the patch's op line then says so). */
export function regionEdit(tensor: string, slice: string, rect: Viewport, view: { rows: number; cols: number }, op: EditOp): DocumentEdit {
  return isWholeView(rect, view) ? { type: 'region', tensor, slice, op } : { type: 'region', tensor, slice, rect, op };
}

export function elementCountOf(rect: Viewport): number {
  return Math.max(0, rect.row1 - rect.row0) * Math.max(0, rect.col1 - rect.col0);
}

// ---- the hex view ----

/** Bytes per hex row: the patch format's grid (16, or 12 for F6 so rows hold whole units). */
export function hexRowBytes(dtype: DType): number {
  return DTYPE_BITS[dtype] === 6 ? 12 : 16;
}

/** The smallest group of whole bytes holding whole elements (F4: 1 byte = 2, F6: 3 bytes = 4). */
export function unitOf(dtype: DType): { bytes: number; elements: number } {
  const bits = DTYPE_BITS[dtype];
  if (bits === 4) return { bytes: 1, elements: 2 };
  if (bits === 6) return { bytes: 3, elements: 4 };
  return { bytes: bits / 8, elements: 1 };
}

/** Flat index of the first element of the unit at a tensor-relative byte offset. */
export function elementAtByte(dtype: DType, offset: number): number {
  const u = unitOf(dtype);
  return Math.floor(offset / u.bytes) * u.elements;
}

/** Tensor-relative byte offset of the unit holding element `index`. */
export function byteOfElement(dtype: DType, index: number): number {
  const u = unitOf(dtype);
  return Math.floor(index / u.elements) * u.bytes;
}

export function unravel(index: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = shape[d] === 0 ? 0 : index % shape[d];
    index = shape[d] === 0 ? 0 : Math.floor(index / shape[d]);
  }
  return out;
}

/** Flat element index -> a slice and (row, col) naming it, for an `element` edit. */
export function elementAddress(index: number, shape: readonly number[]): { slice: string; row: number; col: number } {
  if (shape.length === 0) return { slice: '[]', row: 0, col: 0 };
  const nd = unravel(index, shape);
  const last = nd.pop()!;
  return { slice: `[${[...nd.map(String), ':'].join(', ')}]`, row: 0, col: last };
}

/** Hex digits as typed (spaces allowed) for exactly `bytes` bytes, lowercase; null when not. */
export function cleanHex(text: string, bytes: number): string | null {
  const t = text.replace(/\s+/g, '').replace(/^0x/i, '').toLowerCase();
  return /^[0-9a-f]*$/.test(t) && t.length === 2 * bytes ? t : null;
}

/** Zero-padded hex of a byte offset, at least 8 digits. */
export function offsetHex(offset: number): string {
  return offset.toString(16).padStart(8, '0');
}

/**
 * Virtual scrolling over many rows: the scroll area is at most `maxPx` tall; beyond that,
 * scroll positions map proportionally onto rows (a 4 GB tensor still scrolls end to end).
 */
export function virtualRows(totalRows: number, rowPx: number, viewPx: number, scrollTop: number, maxPx = 4_000_000): { spacerPx: number; firstRow: number; topPx: number; visible: number } {
  const visible = Math.max(1, Math.ceil(viewPx / rowPx) + 1);
  const natural = totalRows * rowPx;
  if (natural <= maxPx) {
    const firstRow = Math.max(0, Math.min(Math.floor(scrollTop / rowPx), Math.max(0, totalRows - 1)));
    return { spacerPx: natural, firstRow, topPx: firstRow * rowPx, visible };
  }
  const maxScroll = Math.max(1, maxPx - viewPx);
  const lastFirst = Math.max(0, totalRows - visible + 1);
  const firstRow = Math.min(lastFirst, Math.round((Math.min(scrollTop, maxScroll) / maxScroll) * lastFirst));
  return { spacerPx: maxPx, firstRow, topPx: Math.min(scrollTop, maxScroll), visible };
}

/** The scroll position that puts `row` at the top. */
export function scrollTopForRow(row: number, totalRows: number, rowPx: number, viewPx: number, maxPx = 4_000_000): number {
  const natural = totalRows * rowPx;
  if (natural <= maxPx) return row * rowPx;
  const visible = Math.max(1, Math.ceil(viewPx / rowPx) + 1);
  const lastFirst = Math.max(1, totalRows - visible + 1);
  return (Math.min(row, lastFirst) / lastFirst) * Math.max(1, maxPx - viewPx);
}
