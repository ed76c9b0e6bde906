// Reading a strided selection of a tensor as "lines": line i holds the elements
// start(i) + k * stride, k < count (a row of a viewport, a column of a view, a whole tensor
// as one line). Lines are cut into pieces that fit one decode batch; nearby pieces are merged
// into one positional read; a few reads stay in flight while the previous one is decoded and
// visited. Pieces are numbered, not allocated, so a 32000-row viewport costs no garbage.

import { DTYPE_BITS, isPacked, type DType } from '../../shared/dtypes';
import type { TensorInfo } from '../../shared/protocol';
import { decodeElements } from '../dtype/decode';
import { throwIfAborted } from '../errors';
import type { Model } from '../safetensors/model';
import { kernels, type Kernels } from './wasm/kernels';

export type Values = Float32Array | Float64Array;

/** `lines` lines of `count` elements each: element k of line i is start(i) + k * stride. */
export interface LineSet {
  lines: number;
  count: number;
  stride: number;
  start(line: number): number;
}

/** values[at .. at + n) are the elements inner0 .. inner0 + n of line `line`. Do not keep `values`. */
export type LineVisitor = (values: Values, at: number, n: number, line: number, inner0: number) => void;

export interface ReadOptions {
  /** Largest single read (default 8 MiB, and at most one decode batch of elements). */
  chunkBytes?: number;
  /** Pieces closer than this are read together, skipping the bytes between (default 64 KiB). */
  maxGapBytes?: number;
  signal?: AbortSignal;
  /** Called after each read is processed, with its byte count. */
  onBytes?: (bytes: number) => void;
}

export const DEFAULT_CHUNK_BYTES = 8 << 20;
const DEFAULT_MAX_GAP_BYTES = 64 << 10;
/**
 * Elements decoded at once, the most a visitor sees in one call: 1 MiB of float32, so the
 * decoded values are still in cache when the visitor reads them (4x larger was 15% slower).
 */
export const DECODE_BATCH = 1 << 18;
/** Reads in flight at once: enough to overlap I/O with decoding, few enough to bound memory. */
const READ_DEPTH = 4;

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

/**
 * Decodes runs of elements of one dtype into a reused scratch array of maxCount elements.
 * Where the SIMD kernels are available, dtypes exact in float32 are decoded into the
 * kernels' memory (F32 read there needs no decoding at all), so visitors can run kernels on
 * the values in place (see Kernels.owns).
 */
class Decoder {
  readonly k: Kernels | null;
  private f32Ptr = 0;
  private f32: Float32Array | null = null;
  private raw: Uint8Array | null = null;
  private scratch: Values | null = null;

  constructor(
    private readonly dtype: DType,
    private readonly maxCount: number,
  ) {
    this.k = decodesToFloat32(dtype) ? kernels() : null;
  }

  /** count (<= maxCount) elements from bit `bitOffset` of `bytes` into values[0..count). Valid until the next call. */
  decode(bytes: Uint8Array, bitOffset: number, count: number): Values {
    const { k, dtype } = this;
    if (!k) return this.decodeJs(bytes, bitOffset, count);
    const inMemory = k.owns(bytes);
    if (dtype === 'F32' && inMemory && (bytes.byteOffset & 3) === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, count);
    if (!this.f32) {
      this.f32Ptr = k.heap.alloc(this.maxCount * 4);
      this.f32 = k.f32(this.f32Ptr, this.maxCount);
    }
    const out = this.f32;
    if (dtype === 'F32') {
      new Uint8Array(out.buffer, out.byteOffset, count * 4).set(bytes.subarray(0, count * 4));
    } else if (dtype === 'BF16') {
      const simd = count & ~7;
      let src = bytes.byteOffset;
      if (!inMemory) {
        this.raw ??= k.u8(k.heap.alloc(this.maxCount * 2), this.maxCount * 2);
        this.raw.set(bytes.subarray(0, simd * 2));
        src = this.raw.byteOffset;
      }
      k.decodeBf16(src, this.f32Ptr, simd);
      if (simd < count) decodeElements(dtype, bytes.subarray(simd * 2), 0, count - simd, out, simd);
    } else {
      decodeElements(dtype, bytes, bitOffset, count, out, 0);
    }
    return out;
  }

  private decodeJs(bytes: Uint8Array, bitOffset: number, count: number): Values {
    // F32/F64 need no decoding: view them in place when aligned.
    if (this.dtype === 'F32' && (bytes.byteOffset & 3) === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, count);
    if (this.dtype === 'F64' && (bytes.byteOffset & 7) === 0) return new Float64Array(bytes.buffer, bytes.byteOffset, count);
    this.scratch ??= allocValues(this.dtype, this.maxCount);
    decodeElements(this.dtype, bytes, bitOffset, count, this.scratch, 0);
    return this.scratch;
  }

  release(): void {
    if (!this.k) return;
    if (this.f32) this.k.heap.release(this.f32Ptr, this.maxCount * 4);
    if (this.raw) this.k.heap.release(this.raw.byteOffset, this.maxCount * 2);
  }
}

/**
 * Read buffers kept between calls (fresh multi-MiB buffers cost page faults on every use):
 * in the kernels' memory when the data will go through kernels, else ordinary memory.
 * Concurrent calls share the pool, so a buffer is lent to one read at a time and comes back
 * only when nothing can touch it any more: its read has completed and its pieces have been
 * visited. A read that failed is never known to be done with its buffer (a source reading
 * a range in parts at once rejects on the first failure while other parts still write), so
 * its buffer is dropped, not reused: kernel memory stays allocated, a rare and bounded loss.
 */
const bufferPool: Uint8Array[] = [];
const POOL_SIZE = 6;
/** Buffers lent out and not yet given back: giving one back twice would hand it to two reads. */
const lent = new WeakSet<Uint8Array>();

function takeBuffer(n: number, k: Kernels | null): Uint8Array {
  const i = bufferPool.findIndex((b) => b.byteLength >= n && (k ? k.owns(b) : !(b.buffer instanceof SharedArrayBuffer)));
  const size = Math.max(n, 1 << 16);
  const b = i >= 0 ? bufferPool.splice(i, 1)[0] : k ? k.u8(k.heap.alloc(size), size) : new Uint8Array(size);
  lent.add(b);
  return b;
}

/** Give back a buffer whose read has completed and whose data has been used. */
function returnBuffer(b: Uint8Array, k: Kernels | null): void {
  if (!lent.delete(b)) throw new Error('line reader: a read buffer was given back twice');
  if (bufferPool.length < POOL_SIZE && b.byteLength <= DEFAULT_CHUNK_BYTES) bufferPool.push(b);
  else if (k?.owns(b)) k.heap.release(b.byteOffset, b.byteLength);
}

/** A buffer whose read failed: never lent again (see above). */
function dropBuffer(b: Uint8Array): void {
  lent.delete(b);
}

/** Pieces [from, to) read as bytes [byteStart, byteEnd) of the tensor. */
interface Group {
  from: number;
  to: number;
  byteStart: number;
  byteEnd: number;
  /** Pieces are back to back in ascending order with stride 1: decode the bytes in one go. */
  dense: boolean;
  /** Elements from the first piece's first to the last piece's last (for dense groups). */
  elements: number;
}

/** Read the lines of tensor `t` and visit each piece, decoded. */
export async function readLines(model: Model, t: TensorInfo, set: LineSet, visit: LineVisitor, opts: ReadOptions = {}): Promise<void> {
  const dtype = t.dtype;
  const bits = DTYPE_BITS[dtype];
  const elemBytes = Math.max(1, bits / 8);
  const maxGapBytes = opts.maxGapBytes ?? DEFAULT_MAX_GAP_BYTES;
  // A read decodes in one batch; a packed piece may start mid-byte: room for partial bytes.
  const chunkBytes = Math.max(16, Math.min(opts.chunkBytes ?? DEFAULT_CHUNK_BYTES, Math.floor((DECODE_BATCH * bits) / 8)));
  const slackBits = bits % 8 === 0 ? 0 : 16;
  const maxSpan = Math.max(1, Math.floor((chunkBytes * 8 - slackBits) / bits));

  const { lines, count, stride } = set;
  const step = Math.abs(stride);
  // Elements farther apart than a gap are read one by one rather than with everything between.
  const perPiece = count <= 0 ? 1 : step * elemBytes > maxGapBytes ? 1 : step === 0 ? count : Math.min(count, Math.floor((maxSpan - 1) / step) + 1);
  const piecesPerLine = count <= 0 ? 0 : Math.ceil(count / perPiece);
  const totalPieces = lines * piecesPerLine;

  // Piece p: line, first inner index, element count, first element (set by locate()).
  let pLine = 0;
  let pInner = 0;
  let pCount = 0;
  let pFirst = 0;
  const locate = (p: number): void => {
    pLine = Math.floor(p / piecesPerLine);
    pInner = (p - pLine * piecesPerLine) * perPiece;
    pCount = Math.min(perPiece, count - pInner);
    pFirst = set.start(pLine) + pInner * stride;
  };

  let nextPiece = 0;
  /** The next group of pieces, or null when all are taken. */
  const nextGroup = (): Group | null => {
    if (nextPiece >= totalPieces) return null;
    const g: Group = { from: nextPiece, to: nextPiece, byteStart: 0, byteEnd: 0, dense: stride === 1 || count === 1, elements: 0 };
    let firstElement = 0;
    let lastElement = 0;
    for (; nextPiece < totalPieces; nextPiece++) {
      locate(nextPiece);
      const last = pFirst + (pCount - 1) * stride;
      const lo = Math.floor((Math.min(pFirst, last) * bits) / 8);
      const hi = Math.ceil(((Math.max(pFirst, last) + 1) * bits) / 8);
      if (g.to > g.from) {
        const start = Math.min(g.byteStart, lo);
        const end = Math.max(g.byteEnd, hi);
        const gap = Math.max(lo - g.byteEnd, g.byteStart - hi);
        if (end - start > chunkBytes || gap > maxGapBytes) break;
        if (pFirst !== lastElement + 1) g.dense = false;
        g.byteStart = start;
        g.byteEnd = end;
      } else {
        g.byteStart = lo;
        g.byteEnd = hi;
        firstElement = pFirst;
      }
      lastElement = last;
      g.to = nextPiece + 1;
    }
    g.elements = lastElement - firstElement + 1;
    return g;
  };

  // Dense reads decode whole (at most chunkBytes of elements), other pieces one by one.
  const decoder = new Decoder(dtype, Math.max(1, Math.min(Math.ceil((chunkBytes * 8) / bits), lines * count)));
  let gather = new Uint8Array(0);

  const processGroup = (g: Group, buf: Uint8Array): void => {
    if (g.dense) {
      // One decode for the whole read, then each piece is a run of the decoded values.
      locate(g.from);
      const first = pFirst;
      const values = decoder.decode(buf.subarray(0, g.byteEnd - g.byteStart), (first * bits) % 8, g.elements);
      for (let p = g.from; p < g.to; p++) {
        locate(p);
        visit(values, pFirst - first, pCount, pLine, pInner);
      }
      return;
    }
    for (let p = g.from; p < g.to; p++) {
      locate(p);
      visit(decodePiece(buf, g.byteStart), 0, pCount, pLine, pInner);
    }
  };

  /** The located piece's elements, dense, from the group's buffer. */
  const decodePiece = (buf: Uint8Array, base: number): Values => {
    const bitStart = pFirst * bits;
    if (stride === 1 || pCount === 1) {
      const at = Math.floor(bitStart / 8) - base;
      const end = Math.ceil((bitStart + pCount * bits) / 8) - base;
      return decoder.decode(buf.subarray(at, end), bitStart % 8, pCount);
    }
    if (!isPacked(dtype)) {
      // Gather the strided elements' bytes into one dense run, then decode it in bulk.
      const n = pCount * elemBytes;
      if (gather.byteLength < n) gather = new Uint8Array(Math.max(n, 1 << 16));
      let src = pFirst * elemBytes - base;
      const jump = stride * elemBytes;
      for (let k = 0, dst = 0; k < pCount; k++, src += jump) {
        for (let b = 0; b < elemBytes; b++) gather[dst++] = buf[src + b];
      }
      return decoder.decode(gather.subarray(0, n), 0, pCount);
    }
    // Packed sub-byte dtype with a stride: element by element (rare and small).
    const values = allocValues(dtype, pCount);
    for (let k = 0; k < pCount; k++) {
      const bit = (pFirst + k * stride) * bits;
      decodeElements(dtype, buf.subarray(Math.floor(bit / 8) - base), bit % 8, 1, values, k);
    }
    return values;
  };

  const k = decoder.k;
  const startRead = (g: Group): Promise<{ g: Group; buf: Uint8Array }> => {
    const buf = takeBuffer(g.byteEnd - g.byteStart, k);
    let read: Promise<number>;
    try {
      read = model.readInto(t, g.byteStart, buf.subarray(0, g.byteEnd - g.byteStart));
    } catch (e) {
      returnBuffer(buf, k); // thrown before any read started
      return Promise.reject(e);
    }
    return read.then(
      () => ({ g, buf }),
      (e: unknown) => {
        dropBuffer(buf);
        throw e;
      },
    );
  };

  const inFlight: Promise<{ g: Group; buf: Uint8Array }>[] = [];
  const fill = () => {
    while (inFlight.length < READ_DEPTH) {
      const g = nextGroup();
      if (!g) return;
      inFlight.push(startRead(g));
    }
  };
  try {
    throwIfAborted(opts.signal);
    fill();
    while (inFlight.length > 0) {
      const { g, buf } = await inFlight.shift()!;
      try {
        throwIfAborted(opts.signal);
        processGroup(g, buf);
      } finally {
        returnBuffer(buf, k);
      }
      opts.onBytes?.(g.byteEnd - g.byteStart);
      fill();
    }
  } finally {
    // Reads still in flight (after an error or a cancel) finish quietly and give back their buffers.
    for (const r of inFlight) r.then(({ buf }) => returnBuffer(buf, k), () => undefined);
    decoder.release();
  }
}
