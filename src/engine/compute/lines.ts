// Reading a strided selection of a tensor as "lines": runs of elements start, start+stride,
// ... A caller describes what it needs line by line (a row of a viewport, a column of a
// transposed view, a whole tensor as one line); this module cuts long lines into pieces,
// merges nearby pieces into one positional read of at most `chunkBytes`, keeps a few reads
// in flight while the previous one is processed, and hands each piece to the visitor
// decoded and dense (values[0..count) are the piece's elements in line order).

import { DTYPE_BITS, isPacked, type DType } from '../../shared/dtypes';
import type { TensorInfo } from '../../shared/protocol';
import { decodeElements } from '../dtype/decode';
import { throwIfAborted } from '../errors';
import type { Model } from '../safetensors/model';

export type Values = Float32Array | Float64Array;

/** Elements start + k * stride (k < count) of the tensor; outer/inner0 are the caller's coordinates. */
export interface LineSpec {
  outer: number;
  inner0: number;
  count: number;
  start: number;
  stride: number;
}

/** values[0..count) hold the elements of line `outer` from inner index inner0 on. Do not keep `values`. */
export type LineVisitor = (values: Values, count: number, outer: number, inner0: number) => void;

export interface ReadOptions {
  /** Largest single read (default 8 MiB). */
  chunkBytes?: number;
  /** Pieces closer than this are read together, skipping the bytes between (default 64 KiB). */
  maxGapBytes?: number;
  signal?: AbortSignal;
  /** Called after each read is processed, with its byte count. */
  onBytes?: (bytes: number) => void;
}

export const DEFAULT_CHUNK_BYTES = 8 << 20;
const DEFAULT_MAX_GAP_BYTES = 64 << 10;
/** Reads in flight at once: enough to overlap I/O with decoding, few enough to bound memory. */
const READ_DEPTH = 3;

/** float32 holds every value of these dtypes exactly; the others decode to float64. */
export function decodesToFloat32(dtype: DType): boolean {
  return DTYPE_BITS[dtype] <= 16 || dtype === 'F32';
}

export function allocValues(dtype: DType, n: number): Values {
  return decodesToFloat32(dtype) ? new Float32Array(n) : new Float64Array(n);
}

export function numelOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

interface Piece extends LineSpec {
  /** Byte range of the piece's covering span, relative to the tensor start. */
  byteStart: number;
  byteEnd: number;
}

interface Group {
  byteStart: number;
  byteEnd: number;
  pieces: Piece[];
}

/** Decode `count` elements starting at bit `bitOffset` of `bytes`; F32/F64 are viewed in place when aligned. */
function decodeDense(dtype: DType, bytes: Uint8Array, bitOffset: number, count: number, scratch: Values): Values {
  if (dtype === 'F32' && (bytes.byteOffset & 3) === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, count);
  if (dtype === 'F64' && (bytes.byteOffset & 7) === 0) return new Float64Array(bytes.buffer, bytes.byteOffset, count);
  decodeElements(dtype, bytes, bitOffset, count, scratch, 0);
  return scratch;
}

/** Cut lines into pieces whose covering span fits one read; sparse lines into single elements. */
function* piecesOf(lines: Iterable<LineSpec>, bits: number, chunkBytes: number, maxGapBytes: number): Generator<Piece> {
  // A packed piece may start mid-byte: leave room for its partial first and last bytes.
  const slackBits = bits % 8 === 0 ? 0 : 16;
  const maxSpan = Math.max(1, Math.floor((chunkBytes * 8 - slackBits) / bits));
  const elemBytes = Math.max(1, bits / 8);
  for (const line of lines) {
    if (line.count <= 0) continue;
    const step = Math.abs(line.stride);
    // Elements farther apart than a gap are read one by one rather than with everything between.
    const perPiece = step * elemBytes > maxGapBytes ? 1 : step === 0 ? line.count : Math.floor((maxSpan - 1) / step) + 1;
    for (let k = 0; k < line.count; k += perPiece) {
      const count = Math.min(perPiece, line.count - k);
      const start = line.start + k * line.stride;
      const last = start + (count - 1) * line.stride;
      const lo = Math.min(start, last);
      const hi = Math.max(start, last) + 1;
      yield {
        outer: line.outer,
        inner0: line.inner0 + k,
        count,
        start,
        stride: line.stride,
        byteStart: Math.floor((lo * bits) / 8),
        byteEnd: Math.ceil((hi * bits) / 8),
      };
    }
  }
}

/** Merge consecutive pieces into reads of at most chunkBytes with gaps of at most maxGapBytes. */
function* groupsOf(pieces: Iterable<Piece>, chunkBytes: number, maxGapBytes: number): Generator<Group> {
  let group: Group | null = null;
  for (const p of pieces) {
    if (group) {
      const lo = Math.min(group.byteStart, p.byteStart);
      const hi = Math.max(group.byteEnd, p.byteEnd);
      const gap = Math.max(p.byteStart - group.byteEnd, group.byteStart - p.byteEnd);
      if (hi - lo <= chunkBytes && gap <= maxGapBytes) {
        group.byteStart = lo;
        group.byteEnd = hi;
        group.pieces.push(p);
        continue;
      }
      yield group;
    }
    group = { byteStart: p.byteStart, byteEnd: p.byteEnd, pieces: [p] };
  }
  if (group) yield group;
}

/** Read the lines of tensor `t` and visit each piece, decoded. */
export async function readLines(model: Model, t: TensorInfo, lines: Iterable<LineSpec>, visit: LineVisitor, opts: ReadOptions = {}): Promise<void> {
  const dtype = t.dtype;
  const bits = DTYPE_BITS[dtype];
  const chunkBytes = Math.max(opts.chunkBytes ?? DEFAULT_CHUNK_BYTES, 16);
  const maxGapBytes = opts.maxGapBytes ?? DEFAULT_MAX_GAP_BYTES;
  const groups = groupsOf(piecesOf(lines, bits, chunkBytes, maxGapBytes), chunkBytes, maxGapBytes);

  const freeBuffers: Uint8Array[] = [];
  const takeBuffer = (n: number): Uint8Array => {
    const i = freeBuffers.findIndex((b) => b.byteLength >= n);
    // A fresh ArrayBuffer starts at offset 0, so F32/F64 views of it are aligned.
    const buf = i >= 0 ? freeBuffers.splice(i, 1)[0] : new Uint8Array(Math.max(n, 1 << 16));
    return buf;
  };
  let scratch: Values = allocValues(dtype, 0);
  let gather = new Uint8Array(0);

  const startRead = (g: Group): Promise<{ g: Group; buf: Uint8Array }> => {
    const buf = takeBuffer(g.byteEnd - g.byteStart);
    return model.readInto(t, g.byteStart, buf.subarray(0, g.byteEnd - g.byteStart)).then(() => ({ g, buf }));
  };

  const processPiece = (p: Piece, g: Group, buf: Uint8Array): void => {
    if (scratch.length < p.count) scratch = allocValues(dtype, Math.max(p.count, 1024));
    const bitStart = p.start * bits;
    if (p.stride === 1 || p.count === 1) {
      const at = Math.floor(bitStart / 8) - g.byteStart;
      const end = Math.ceil((bitStart + p.count * bits) / 8) - g.byteStart;
      visit(decodeDense(dtype, buf.subarray(at, end), bitStart % 8, p.count, scratch), p.count, p.outer, p.inner0);
      return;
    }
    if (!isPacked(dtype)) {
      // Gather the strided elements' bytes into one dense run, then decode it in bulk.
      const eb = bits / 8;
      const n = p.count * eb;
      if (gather.byteLength < n) gather = new Uint8Array(Math.max(n, 1 << 16));
      let src = p.start * eb - g.byteStart;
      const step = p.stride * eb;
      for (let k = 0, dst = 0; k < p.count; k++, src += step) {
        for (let b = 0; b < eb; b++) gather[dst++] = buf[src + b];
      }
      visit(decodeDense(dtype, gather.subarray(0, n), 0, p.count, scratch), p.count, p.outer, p.inner0);
      return;
    }
    // Packed sub-byte dtype with a stride: decode element by element (rare and small).
    const one = allocValues(dtype, 1);
    for (let k = 0; k < p.count; k++) {
      const bit = (p.start + k * p.stride) * bits;
      decodeElements(dtype, buf.subarray(Math.floor(bit / 8) - g.byteStart), bit % 8, 1, one, 0);
      scratch[k] = one[0];
    }
    visit(scratch, p.count, p.outer, p.inner0);
  };

  const inFlight: Promise<{ g: Group; buf: Uint8Array }>[] = [];
  const fill = () => {
    while (inFlight.length < READ_DEPTH) {
      const next = groups.next();
      if (next.done) return;
      inFlight.push(startRead(next.value));
    }
  };
  try {
    throwIfAborted(opts.signal);
    fill();
    while (inFlight.length > 0) {
      const { g, buf } = await inFlight.shift()!;
      throwIfAborted(opts.signal);
      for (const p of g.pieces) processPiece(p, g, buf);
      freeBuffers.push(buf);
      opts.onBytes?.(g.byteEnd - g.byteStart);
      fill();
    }
  } finally {
    // Let reads still in flight finish quietly (their errors are not this call's anymore).
    for (const r of inFlight) r.catch(() => undefined);
  }
}
