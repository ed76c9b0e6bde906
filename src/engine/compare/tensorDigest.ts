// One pass over a tensor's bytes giving a content hash and summary numbers, for textconv.
// The hash is over the raw bytes (so any change shows); the numbers are over the finite
// decoded values, accumulated in a fixed order so the same bytes always give the same
// result.

import { createHash } from 'node:crypto';
import { DTYPE_BITS, isPacked, type DType } from '../../shared/dtypes';
import type { TensorInfo } from '../../shared/protocol';
import { decodeElements } from '../dtype/decode';
import { throwIfAborted } from '../errors';
import { tensorByteLength, type Model } from '../safetensors/model';
import { DECODE_BATCH, batchBytes, chunkBytes, elementsIn } from './chunking';
import { HashWorker } from './hashWorker';

export interface TensorDigest {
  /** SHA-256 of the tensor's bytes, lowercase hex. */
  sha256: string;
  numel: number;
  nan: number;
  inf: number;
  /** Over finite values; null when there is none. Population std. */
  min: number | null;
  max: number | null;
  mean: number | null;
  std: number | null;
}

/**
 * Digests tensors one after another with reusable buffers. A tensor of one chunk is hashed
 * inline; a larger one streams through three shared buffers: while the main thread computes
 * the summary numbers of chunk k, the hash worker hashes chunk k-1 and chunk k+1 is read.
 * close() when done (it stops the worker).
 */
export class TensorDigester {
  private readonly slots: { shared: SharedArrayBuffer; bytes: Uint8Array; free: Promise<void> }[];
  private readonly values = new Float64Array(DECODE_BATCH);
  private hasher: HashWorker | null = null;

  constructor(maxChunkBytes: number) {
    this.slots = [0, 1, 2].map(() => {
      const shared = new SharedArrayBuffer(maxChunkBytes);
      return { shared, bytes: new Uint8Array(shared), free: Promise.resolve() };
    });
  }

  async digest(model: Model, t: TensorInfo, signal?: AbortSignal): Promise<TensorDigest> {
    const summary: Summary = PatternCounts.fits(t.dtype) ? new PatternCounts(t.dtype) : new DecodedMoments(t.dtype, this.values);
    const size = tensorByteLength(t);
    const step = chunkBytes(t.dtype);
    if (size <= step) {
      const chunk = await this.read(model, t, 0, step, this.slots[0].bytes);
      throwIfAborted(signal);
      summary.add(chunk);
      return { sha256: createHash('sha256').update(chunk).digest('hex'), ...summary.result() };
    }
    this.hasher ??= new HashWorker();
    const hasher = this.hasher;
    const chunks = Math.ceil(size / step);
    const readChunk = async (k: number) => {
      const slot = this.slots[k % this.slots.length];
      await slot.free;
      return this.read(model, t, k * step, step, slot.bytes);
    };
    let next: Promise<Uint8Array> | null = readChunk(0);
    let complete = false;
    try {
      for (let k = 0; k < chunks; k++) {
        const chunk: Uint8Array = await next!;
        throwIfAborted(signal);
        const slot = this.slots[k % this.slots.length];
        // A failed worker rejects digest() below; the slot only needs to know when it is free.
        slot.free = hasher.update(slot.shared, chunk.length).catch(() => {});
        next = k + 1 < chunks ? readChunk(k + 1) : null;
        summary.add(chunk);
      }
      const sha256 = await hasher.digest();
      complete = true;
      return { sha256, ...summary.result() };
    } finally {
      if (!complete) {
        await next?.catch(() => {});
        await hasher.digest().catch(() => {}); // drop the partial hash
      }
    }
  }

  async close(): Promise<void> {
    await this.hasher?.close();
    this.hasher = null;
  }

  private async read(model: Model, t: TensorInfo, offset: number, step: number, buffer: Uint8Array): Promise<Uint8Array> {
    const dest = buffer.subarray(0, Math.min(step, tensorByteLength(t) - offset));
    const n = await model.readInto(t, offset, dest);
    if (n !== dest.length) throw new Error(`short read of tensor '${t.name}' at byte ${offset}`);
    return dest;
  }
}

type SummaryNumbers = Omit<TensorDigest, 'sha256'>;

interface Summary {
  /** A chunk of whole elements, in tensor order. */
  add(chunk: Uint8Array): void;
  result(): SummaryNumbers;
}

/**
 * Byte-aligned dtypes of 8 or 16 bits (BF16, F16, F8, I8, ...): count how often each bit
 * pattern occurs (one increment per element, no decoding), then take the statistics over
 * the at most 65536 distinct values, exactly and in a fixed order (two-pass variance).
 */
class PatternCounts implements Summary {
  static fits(dtype: DType): boolean {
    return (DTYPE_BITS[dtype] === 8 || DTYPE_BITS[dtype] === 16) && !isPacked(dtype);
  }

  // Two count tables, for even and odd elements: runs of one pattern (common in real
  // weights) then do not wait on the increment before.
  private readonly even: Uint32Array;
  private readonly odd: Uint32Array;
  private readonly totals: Float64Array;
  private pending = 0;

  constructor(private readonly dtype: DType) {
    this.even = new Uint32Array(1 << DTYPE_BITS[dtype]);
    this.odd = new Uint32Array(this.even.length);
    this.totals = new Float64Array(this.even.length);
  }

  add(chunk: Uint8Array): void {
    const even = this.even;
    const odd = this.odd;
    // Chunks start at offset 0 of our own buffers, so a 16-bit view is aligned.
    const codes = DTYPE_BITS[this.dtype] === 8 ? chunk : new Uint16Array(chunk.buffer, chunk.byteOffset, chunk.length >> 1);
    const n = codes.length;
    let i = 0;
    for (; i + 1 < n; i += 2) {
      even[codes[i]]++;
      odd[codes[i + 1]]++;
    }
    if (i < n) even[codes[i]]++;
    // Move the counts into float64 before a Uint32 could overflow.
    this.pending += n;
    if (this.pending > 2 ** 31) this.flush();
  }

  private flush(): void {
    for (let p = 0; p < this.totals.length; p++) this.totals[p] += this.even[p] + this.odd[p];
    this.even.fill(0);
    this.odd.fill(0);
    this.pending = 0;
  }

  result(): SummaryNumbers {
    this.flush();
    const values = patternValues(this.dtype);
    let numel = 0, nan = 0, inf = 0, n = 0, sum = 0;
    let min = Infinity, max = -Infinity;
    for (let p = 0; p < values.length; p++) {
      const c = this.totals[p];
      if (c === 0) continue;
      const v = values[p];
      numel += c;
      if (v !== v) nan += c;
      else if (v - v !== 0) inf += c;
      else {
        n += c;
        sum += c * v;
        if (v < min) min = v;
        if (v > max) max = v;
      }
    }
    if (n === 0) return { numel, nan, inf, min: null, max: null, mean: null, std: null };
    const mean = sum / n;
    let m2 = 0;
    for (let p = 0; p < values.length; p++) {
      const c = this.totals[p];
      const v = values[p];
      if (c !== 0 && v - v === 0) m2 += c * (v - mean) * (v - mean);
    }
    return { numel, nan, inf, min, max, mean, std: Math.sqrt(m2 / n) };
  }
}

const patternTables = new Map<DType, Float64Array>();

/** The value of every bit pattern of an 8- or 16-bit dtype (index = the little-endian code). */
function patternValues(dtype: DType): Float64Array {
  let table = patternTables.get(dtype);
  if (!table) {
    const count = 1 << DTYPE_BITS[dtype];
    const codes = DTYPE_BITS[dtype] === 8 ? Uint8Array.from({ length: count }, (_, i) => i) : new Uint8Array(Uint16Array.from({ length: count }, (_, i) => i).buffer);
    table = new Float64Array(count);
    decodeElements(dtype, codes, 0, count, table);
    patternTables.set(dtype, table);
  }
  return table;
}

/** Every other dtype: decode in cache-sized batches and merge running moments. */
class DecodedMoments implements Summary {
  private readonly moments = new Moments();

  constructor(
    private readonly dtype: DType,
    private readonly values: Float64Array,
  ) {}

  add(chunk: Uint8Array): void {
    const bytesPerBatch = batchBytes(this.dtype);
    for (let start = 0; start < chunk.length; start += bytesPerBatch) {
      const end = Math.min(start + bytesPerBatch, chunk.length);
      const count = elementsIn(this.dtype, end - start);
      decodeElements(this.dtype, chunk.subarray(start, end), 0, count, this.values);
      this.moments.add(this.values, count);
    }
  }

  result(): SummaryNumbers {
    return this.moments.result();
  }
}

/**
 * Count, NaN/Inf counts, min, max, mean and M2 of finite values, merged batch by batch.
 * Each batch is one pass over values shifted by a guess of the mean (the running mean, or
 * the batch's first finite value), which keeps Σd² - (Σd)²/n accurate; batches are then
 * merged exactly (Chan et al.).
 */
class Moments {
  private numel = 0;
  private nan = 0;
  private inf = 0;
  private n = 0;
  private mean = 0;
  private m2 = 0;
  private min = Infinity;
  private max = -Infinity;

  add(values: Float64Array, count: number): void {
    if (count === 0) return;
    this.numel += count;
    // Fast path: no finiteness test per element; a NaN or ±Infinity poisons s2, and then
    // the careful loop redoes the batch.
    let shift = this.n > 0 ? this.mean : values[0];
    let min = this.min;
    let max = this.max;
    // Two interleaved sums halve the dependency chains (about twice as fast).
    let s1a = 0, s1b = 0, s2a = 0, s2b = 0;
    let i = 0;
    for (; i + 1 < count; i += 2) {
      const x = values[i];
      const y = values[i + 1];
      const dx = x - shift;
      const dy = y - shift;
      s1a += dx;
      s1b += dy;
      s2a += dx * dx;
      s2b += dy * dy;
      if (x < min) min = x;
      if (x > max) max = x;
      if (y < min) min = y;
      if (y > max) max = y;
    }
    if (i < count) {
      const x = values[i];
      const dx = x - shift;
      s1a += dx;
      s2a += dx * dx;
      if (x < min) min = x;
      if (x > max) max = x;
    }
    let s1 = s1a + s1b;
    let s2 = s2a + s2b;
    let n = count;
    if (!(s2 - s2 === 0)) {
      let nan = 0;
      let inf = 0;
      n = 0;
      s1 = 0;
      s2 = 0;
      min = this.min;
      max = this.max;
      if (!(shift - shift === 0)) shift = values.subarray(0, count).find((x) => x - x === 0) ?? 0;
      for (let i = 0; i < count; i++) {
        const x = values[i];
        if (x - x === 0) {
          const d = x - shift;
          n++;
          s1 += d;
          s2 += d * d;
          if (x < min) min = x;
          if (x > max) max = x;
        } else if (x !== x) nan++;
        else inf++;
      }
      this.nan += nan;
      this.inf += inf;
    }
    this.min = min;
    this.max = max;
    if (n === 0) return;
    const batchMean = shift + s1 / n;
    const batchM2 = Math.max(0, s2 - (s1 * s1) / n);
    // Chan et al.: merge (this.n, this.mean, this.m2) with the batch's.
    const total = this.n + n;
    const delta = batchMean - this.mean;
    this.mean += (delta * n) / total;
    this.m2 += batchM2 + ((delta * delta * this.n) / total) * n;
    this.n = total;
  }

  result(): SummaryNumbers {
    const none = this.n === 0;
    return {
      numel: this.numel,
      nan: this.nan,
      inf: this.inf,
      min: none ? null : this.min,
      max: none ? null : this.max,
      mean: none ? null : this.mean,
      std: none ? null : Math.sqrt(this.m2 / this.n),
    };
  }
}
