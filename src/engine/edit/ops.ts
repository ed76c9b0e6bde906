// Edits the editor makes on a rectangle of a tensor's 2-D view: set, scale, add, clamp, zero,
// seeded noise, and setting one element from a value or raw hex. An edit reads the current
// bytes (through the document's overlay), computes the new values, rounds them to the dtype
// and returns the difference as a PatchFragment: canonical hunks (one per contiguous run of
// changed elements) that the editor pushes on its undo stack.
//
// Speed: the region becomes sorted runs of contiguous elements, read in blocks of up to
// 8 MB; F32/F64/BF16 compute in place on typed arrays, other dtypes through the codec.

import { DTYPE_BITS, type DType } from '../../shared/dtypes';
import type { EditOp, TensorInfo, Viewport } from '../../shared/protocol';
import { resolveSlice, type ResolvedSlice } from '../compute/slice';
import { decodeElements, elementLocation } from '../dtype/decode';
import { encodeElement } from '../dtype/encode';
import { throwIfAborted, UserError } from '../errors';
import { CHUNK_BYTES, tensorRef, type ByteSource } from '../patch/base';
import { HunkBuilder } from '../patch/hunks';
import { unitOf, type PatchFragment } from '../patch/types';
import { gaussian } from './noise';

// The op type is shared with the extension host and the webview (they send edits).
export type { EditOp };

export interface EditRegion {
  tensor: string;
  /** numpy-style slice giving the 2-D view, e.g. "[0, :, :]". */
  slice: string;
  /** Part of the view; the whole view when absent. */
  rect?: Viewport;
}

/** Apply `op` to a region of a tensor; returns the change (empty hunks when nothing changed). */
export async function editRegion(source: ByteSource, region: EditRegion, op: EditOp, signal?: AbortSignal): Promise<PatchFragment> {
  const t = source.tensor(region.tensor);
  checkOp(t.dtype, op);
  const view = resolveSlice(t, region.slice);
  const rect = checkRect(t, view, region.rect);
  const builder = new HunkBuilder(t.name, t.dtype);
  const compute = makeCompute(t.dtype, op);
  const runs = regionRuns(view, rect);
  await forEachBlock(source, t, runs, signal, (copy, blockStart, first, count) => compute(copy, blockStart, first, count), builder);
  const hunks = builder.finish();
  const text = `${describeOp(op, view.slice, rect, view)}`;
  return { tensors: [tensorRef(t)], hunks, ops: hunks.length ? [{ tensor: t.name, text }] : [] };
}

export type ElementValue = { value: number } | { hex: string };

/** Set one element of a view, from a number (rounded to the dtype) or its raw bytes in hex. */
export async function setElement(source: ByteSource, at: { tensor: string; slice: string; row: number; col: number }, what: ElementValue): Promise<PatchFragment> {
  const t = source.tensor(at.tensor);
  const view = resolveSlice(t, at.slice);
  if (!Number.isInteger(at.row) || !Number.isInteger(at.col) || at.row < 0 || at.col < 0 || at.row >= view.rows || at.col >= view.cols) {
    throw new UserError(`element (${at.row}, ${at.col}) is outside the ${view.rows} x ${view.cols} view ${view.slice} of ${JSON.stringify(t.name)}`);
  }
  const index = view.offset + at.row * view.rowStride + at.col * view.colStride;
  const loc = elementLocation(t.dtype, index);
  const u = unitOf(t.dtype).bytes;
  const start = Math.floor(loc.byteStart / u) * u;
  const end = Math.ceil(loc.byteEnd / u) * u;
  const orig = await source.read(t, start, end);
  const copy = orig.slice();
  let text: string;
  if ('hex' in what) {
    const bytes = parseHex(what.hex, loc.byteEnd - loc.byteStart, t);
    copy.set(bytes, loc.byteStart - start);
    text = `bytes ${Buffer.from(bytes).toString('hex')}`;
  } else {
    if (typeof what.value !== 'number') throw new UserError('the new value must be a number');
    encodeElement(t.dtype, what.value, copy.subarray(loc.byteStart - start), loc.bitOffset);
    text = String(what.value);
  }
  const builder = new HunkBuilder(t.name, t.dtype);
  builder.add(start, orig, copy);
  const hunks = builder.finish();
  const nd = unravel(index, t.shape);
  return { tensors: [tensorRef(t)], hunks, ops: hunks.length ? [{ tensor: t.name, text: `set [${nd.join(', ')}] to ${text}` }] : [] };
}

function parseHex(hex: string, length: number, t: TensorInfo): Uint8Array {
  const clean = hex.replace(/^0x/i, '').replace(/[\s_]/g, '');
  if (!/^[0-9a-fA-F]*$/.test(clean) || clean.length !== 2 * length) {
    throw new UserError(`${JSON.stringify(hex)} is not ${length} byte(s) of hex for a ${t.dtype} element of ${JSON.stringify(t.name)}`);
  }
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}

function unravel(index: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = index % shape[d];
    index = Math.floor(index / shape[d]);
  }
  return out;
}

// ---- validation and descriptions ----

function checkNumber(name: string, v: unknown, finite = false): void {
  if (typeof v !== 'number' || (finite && !Number.isFinite(v))) throw new UserError(`${name} must be a ${finite ? 'finite ' : ''}number, not ${JSON.stringify(v)}`);
}

function checkOp(dtype: DType, op: EditOp): void {
  switch (op.kind) {
    case 'set':
      return checkNumber('the value', op.value);
    case 'scale':
      return checkNumber('the factor', op.factor);
    case 'add':
      return checkNumber('the amount', op.amount);
    case 'clamp':
      checkNumber('the lower bound', op.lo);
      checkNumber('the upper bound', op.hi);
      if (!(op.lo <= op.hi)) throw new UserError(`clamp needs lower <= upper, got [${op.lo}, ${op.hi}]`);
      if (dtype === 'C64') throw new UserError('clamp is not defined for complex (C64) values');
      return;
    case 'zero':
      return;
    case 'noise':
      checkNumber('the noise std', op.std, true);
      if (op.std < 0) throw new UserError(`the noise std must be >= 0, got ${op.std}`);
      if (!Number.isSafeInteger(op.seed) || op.seed < 0) throw new UserError(`the noise seed must be a non-negative integer, got ${op.seed}`);
      return;
    default:
      throw new UserError(`unknown edit ${JSON.stringify((op as { kind: unknown }).kind)}`);
  }
}

function checkRect(t: TensorInfo, view: ResolvedSlice, rect: Viewport | undefined): Viewport {
  if (!rect) return { row0: 0, row1: view.rows, col0: 0, col1: view.cols };
  const ok = [rect.row0, rect.row1, rect.col0, rect.col1].every((v) => Number.isInteger(v)) && 0 <= rect.row0 && rect.row0 <= rect.row1 && rect.row1 <= view.rows && 0 <= rect.col0 && rect.col0 <= rect.col1 && rect.col1 <= view.cols;
  if (!ok) throw new UserError(`rows ${rect.row0}:${rect.row1}, cols ${rect.col0}:${rect.col1} is not inside the ${view.rows} x ${view.cols} view ${view.slice} of ${JSON.stringify(t.name)}`);
  return rect;
}

function describeOp(op: EditOp, slice: string, rect: Viewport, view: ResolvedSlice): string {
  const whole = rect.row0 === 0 && rect.col0 === 0 && rect.row1 === view.rows && rect.col1 === view.cols;
  const where = whole ? slice : `${slice} rows ${rect.row0}:${rect.row1} cols ${rect.col0}:${rect.col1}`;
  switch (op.kind) {
    case 'set':
      return `set ${where} to ${op.value}`;
    case 'scale':
      return `scale ${where} by ${op.factor}`;
    case 'add':
      return `add ${op.amount} to ${where}`;
    case 'clamp':
      return `clamp ${where} to [${op.lo}, ${op.hi}]`;
    case 'zero':
      return `zero ${where}`;
    case 'noise':
      return `add gaussian noise std ${op.std} seed ${op.seed} to ${where}`;
  }
}

// ---- the region as sorted runs of contiguous elements ----

interface Runs {
  starts: number[];
  lengths: number[];
}

/**
 * The region's elements as ascending, non-touching runs [start, start + length). Basic
 * indexing keeps the view's axes in tensor order, so visiting rows (outer) and columns
 * (inner) in the direction of increasing address yields ascending element indices.
 */
export function regionRuns(view: ResolvedSlice, rect: Viewport): Runs {
  const R = rect.row1 - rect.row0;
  const C = rect.col1 - rect.col0;
  const starts: number[] = [];
  const lengths: number[] = [];
  if (R === 0 || C === 0) return { starts, lengths };
  let rs = view.rowStride;
  let cs = view.colStride;
  // First element of the rectangle, then flip negative strides so addresses increase.
  let origin = view.offset + rect.row0 * rs + rect.col0 * cs;
  if (rs < 0) {
    origin += (R - 1) * rs;
    rs = -rs;
  }
  if (cs < 0) {
    origin += (C - 1) * cs;
    cs = -cs;
  }
  const push = (s: number, n: number) => {
    const last = starts.length - 1;
    if (last >= 0 && starts[last] + lengths[last] === s) lengths[last] += n;
    else {
      starts.push(s);
      lengths.push(n);
    }
  };
  if (C === 1 || cs === 1) {
    const n = C === 1 ? 1 : C;
    for (let r = 0; r < R; r++) push(origin + r * rs, n);
  } else if (R === 1 || rs === 1) {
    for (let c = 0; c < C; c++) push(origin + c * cs, R === 1 ? 1 : R);
  } else {
    for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) push(origin + r * rs + c * cs, 1);
  }
  for (let i = 1; i < starts.length; i++) {
    if (starts[i] < starts[i - 1] + lengths[i - 1]) throw new Error('regionRuns: runs out of order');
  }
  return { starts, lengths };
}

// ---- reading blocks, computing, and collecting hunks ----

/** Gap (bytes) between runs worth reading through rather than starting a new block. */
const READ_THROUGH = 64 << 10;

type Compute = (copy: Uint8Array, blockStart: number, first: number, count: number) => void;

async function forEachBlock(source: ByteSource, t: TensorInfo, runs: Runs, signal: AbortSignal | undefined, compute: Compute, builder: HunkBuilder): Promise<void> {
  const unit = unitOf(t.dtype);
  const maxElements = Math.floor(CHUNK_BYTES / unit.bytes) * unit.elements;
  const byteStart = (e: number) => Math.floor(e / unit.elements) * unit.bytes;
  const byteEnd = (e: number) => Math.ceil(e / unit.elements) * unit.bytes;
  let pieces: [number, number][] = [];
  let bs = -1;
  let be = -1;
  const flush = async () => {
    if (pieces.length === 0) return;
    throwIfAborted(signal);
    const orig = await source.read(t, bs, be);
    const copy = orig.slice();
    for (const [first, count] of pieces) compute(copy, bs, first, count);
    builder.add(bs, orig, copy);
    pieces = [];
  };
  for (let i = 0; i < runs.starts.length; i++) {
    for (let s = runs.starts[i], end = s + runs.lengths[i]; s < end; ) {
      const n = Math.min(end - s, maxElements);
      const ps = byteStart(s);
      const pe = byteEnd(s + n);
      if (pieces.length && ps >= be && (ps - be > READ_THROUGH || pe - bs > CHUNK_BYTES)) await flush();
      if (pieces.length === 0) bs = ps;
      be = Math.max(be, pe);
      pieces.push([s, n]);
      s += n;
    }
  }
  await flush();
}

/** Per-element new value (NaN-preserving where it matters); `index` is the flat element index. */
function valueFunction(op: EditOp): (v: number, index: number) => number {
  switch (op.kind) {
    case 'set':
      return () => op.value;
    case 'scale':
      return (v) => v * op.factor;
    case 'add':
      return (v) => v + op.amount;
    case 'clamp':
      return (v) => (v < op.lo ? op.lo : v > op.hi ? op.hi : v);
    case 'zero':
      return () => 0;
    case 'noise':
      return (v, i) => v + op.std * gaussian(op.seed, i);
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function makeCompute(dtype: DType, op: EditOp): Compute {
  const fn = valueFunction(op);
  const bits = DTYPE_BITS[dtype];
  switch (dtype) {
    case 'F32':
    case 'F64':
      return (copy, bs, first, count) => {
        const at = copy.byteOffset + first * (bits / 8) - bs;
        const a = dtype === 'F32' ? new Float32Array(copy.buffer, at, count) : new Float64Array(copy.buffer, at, count);
        for (let i = 0; i < count; i++) a[i] = fn(a[i], first + i);
      };
    case 'BF16':
      return (copy, bs, first, count) => {
        const at = copy.byteOffset + first * 2 - bs;
        const a = new Uint16Array(copy.buffer, at, count);
        for (let i = 0; i < count; i++) {
          u32[0] = a[i] << 16;
          const v = fn(f32[0], first + i);
          f32[0] = v;
          if (f32[0] === v) {
            // Exact in float32: round to nearest even on the float32 bits (one rounding only).
            const x = u32[0];
            a[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
          } else {
            encodeElement('BF16', v, copy.subarray(first * 2 - bs + i * 2), 0);
          }
        }
      };
    case 'C64':
      return (copy, bs, first, count) => {
        const a = new Float32Array(copy.buffer, copy.byteOffset + first * 8 - bs, count * 2);
        for (let i = 0; i < count; i++) {
          const index = first + i;
          const re = a[2 * i];
          const im = a[2 * i + 1];
          switch (op.kind) {
            case 'set':
              a[2 * i] = op.value;
              a[2 * i + 1] = 0;
              break;
            case 'scale':
              a[2 * i] = re * op.factor;
              a[2 * i + 1] = im * op.factor;
              break;
            case 'add':
              a[2 * i] = re + op.amount;
              break;
            case 'zero':
              a[2 * i] = 0;
              a[2 * i + 1] = 0;
              break;
            case 'noise':
              a[2 * i] = re + op.std * gaussian(op.seed, index, 0);
              a[2 * i + 1] = im + op.std * gaussian(op.seed, index, 1);
              break;
            case 'clamp':
              throw new UserError('clamp is not defined for complex (C64) values');
          }
        }
      };
    default: {
      const values = new Float64Array(Math.min(1 << 20, Math.floor(CHUNK_BYTES / Math.max(1, bits / 8)) + 4));
      return (copy, bs, first, count) => {
        for (let done = 0; done < count; done += values.length) {
          const n = Math.min(values.length, count - done);
          const loc = elementLocation(dtype, first + done);
          decodeElements(dtype, copy.subarray(loc.byteStart - bs), loc.bitOffset, n, values);
          for (let i = 0; i < n; i++) {
            const e = first + done + i;
            const l = bits % 8 === 0 ? null : elementLocation(dtype, e);
            const byte = l ? l.byteStart : (e * bits) / 8;
            encodeElement(dtype, fn(values[i], e), copy.subarray(byte - bs), l ? l.bitOffset : 0);
          }
        }
      };
    }
  }
}
