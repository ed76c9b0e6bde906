// Compare two models tensor by tensor (matched by name). Tensors with the same dtype and
// shape are streamed in chunks from both files and byte-compared first: identical bytes
// mean unchanged without decoding anything, so comparing two mostly-equal checkpoints
// costs about the time it takes to read both. Only a tensor whose bytes differ is decoded
// and measured (see DiffAccumulator for the metrics and their NaN rules).

import type { ModelComparison, TensorChange, TensorComparison, TensorDiffMetrics, TensorInfo } from '../../shared/protocol';
import { throwIfAborted } from '../errors';
import { decodeElements } from '../dtype/decode';
import { tensorByteLength, type Model } from '../safetensors/model';
import { DECODE_BATCH, MAX_CHUNK_BYTES, batchBytes, chunkBytes, elementsIn } from './chunking';
import { DiffAccumulator } from './diffMetrics';
import { tensorChunks } from './tensorChunks';

export interface CompareOptions {
  signal?: AbortSignal;
  /** Bytes read so far from both files, out of the bytes of every same-layout tensor pair. */
  onProgress?: (done: number, total: number) => void;
}

export const TENSOR_CHANGES: TensorChange[] = ['changed', 'dtype', 'shape', 'added', 'removed', 'unchanged'];

export async function compareModels(a: Model, b: Model, options: CompareOptions = {}): Promise<ModelComparison> {
  const byNameA = new Map(a.info.tensors.map((t) => [t.name, t]));
  const byNameB = new Map(b.info.tensors.map((t) => [t.name, t]));
  const names = [...new Set([...byNameA.keys(), ...byNameB.keys()])].sort(byCodePoint);

  let total = 0;
  for (const name of names) {
    const ta = byNameA.get(name);
    const tb = byNameB.get(name);
    if (ta && tb && sameLayout(ta, tb)) total += 2 * tensorByteLength(ta);
  }

  const streamer = new PairStreamer(a, b, options, total);
  const tensors: TensorComparison[] = [];
  for (const name of names) {
    const ta = byNameA.get(name) ?? null;
    const tb = byNameB.get(name) ?? null;
    const entry: TensorComparison = {
      name,
      change: 'unchanged',
      a: ta && { dtype: ta.dtype, shape: [...ta.shape] },
      b: tb && { dtype: tb.dtype, shape: [...tb.shape] },
    };
    if (!ta) entry.change = 'added';
    else if (!tb) entry.change = 'removed';
    else if (ta.dtype !== tb.dtype) entry.change = 'dtype';
    else if (!sameShape(ta.shape, tb.shape)) entry.change = 'shape';
    else {
      const metrics = await streamer.compareTensor(ta, tb);
      if (metrics) {
        entry.change = 'changed';
        entry.metrics = metrics;
      }
    }
    tensors.push(entry);
  }

  const counts = Object.fromEntries(TENSOR_CHANGES.map((c) => [c, 0])) as Record<TensorChange, number>;
  for (const t of tensors) counts[t.change]++;
  return {
    pathA: a.info.path,
    pathB: b.info.path,
    tensors,
    counts,
    metadataChanged: changedKeys(a.info.metadata ?? {}, b.info.metadata ?? {}),
    bytesRead: streamer.bytesRead,
  };
}

/** Streams same-layout tensor pairs through reusable buffers and measures those that differ. */
class PairStreamer {
  bytesRead = 0;
  private done = 0;
  private readonly buffersA = twoBuffers();
  private readonly buffersB = twoBuffers();
  private scratch: [Uint8Array, Uint8Array] | null = null;
  private readonly valuesA = new Float64Array(2 * DECODE_BATCH);
  private readonly valuesB = new Float64Array(2 * DECODE_BATCH);

  constructor(
    private readonly a: Model,
    private readonly b: Model,
    private readonly options: CompareOptions,
    private readonly total: number,
  ) {}

  /** null when the bytes are identical, else the metrics. */
  async compareTensor(ta: TensorInfo, tb: TensorInfo): Promise<TensorDiffMetrics | null> {
    const step = chunkBytes(ta.dtype);
    const chunksA = tensorChunks(this.a, ta, step, this.buffersA);
    const chunksB = tensorChunks(this.b, tb, step, this.buffersB);
    let acc: DiffAccumulator | null = null;
    try {
      for (;;) {
        const [nextA, nextB] = await Promise.all([chunksA.next(), chunksB.next()]);
        if (nextA.done || nextB.done) break;
        throwIfAborted(this.options.signal);
        const [offset, chunkA] = nextA.value;
        const chunkB = nextB.value[1];
        this.bytesRead += chunkA.length + chunkB.length;
        const same = Buffer.compare(chunkA, chunkB) === 0;
        if (!acc && !same) {
          // The first difference: the identical chunks before it still count in the norms.
          acc = new DiffAccumulator(ta.dtype === 'C64' ? 2 : 1);
          await this.addEqualRange(acc, ta, 0, offset, step);
        }
        if (acc) this.accumulate(acc, ta, chunkA, same ? null : chunkB);
        this.done += chunkA.length + chunkB.length;
        this.options.onProgress?.(this.done, this.total);
      }
    } finally {
      await Promise.all([chunksA.return(undefined), chunksB.return(undefined)]);
    }
    return acc ? acc.result() : null;
  }

  /** Re-reads A's bytes [start, end), known to equal B's, into the norms. */
  private async addEqualRange(acc: DiffAccumulator, ta: TensorInfo, start: number, end: number, step: number): Promise<void> {
    this.scratch ??= twoBuffers();
    for await (const [, chunk] of tensorChunks(this.a, ta, step, this.scratch, start, end)) {
      throwIfAborted(this.options.signal);
      this.bytesRead += chunk.length;
      this.accumulate(acc, ta, chunk, null);
    }
  }

  /**
   * Decodes a chunk in cache-sized batches; chunkB null means B's bytes equal A's. In a batch
   * whose bytes differ, only the blocks that differ are decoded from B and compared pair by
   * pair: a few edited elements cost little more than an unchanged tensor.
   */
  private accumulate(acc: DiffAccumulator, t: TensorInfo, chunkA: Uint8Array, chunkB: Uint8Array | null): void {
    const bytesPerBatch = batchBytes(t.dtype);
    const bytesPerBlock = bytesPerBatch / (DECODE_BATCH / COMPARE_BLOCK);
    for (let start = 0; start < chunkA.length; start += bytesPerBatch) {
      const end = Math.min(start + bytesPerBatch, chunkA.length);
      const count = elementsIn(t.dtype, end - start);
      decodeValues(t, chunkA.subarray(start, end), count, this.valuesA, 0);
      if (!chunkB || Buffer.compare(chunkA.subarray(start, end), chunkB.subarray(start, end)) === 0) {
        acc.addEqual(this.valuesA, 0, count);
        continue;
      }
      for (let block = start, first = 0; block < end; block += bytesPerBlock, first += COMPARE_BLOCK) {
        const blockEnd = Math.min(block + bytesPerBlock, end);
        const n = elementsIn(t.dtype, blockEnd - block);
        const bytesB = chunkB.subarray(block, blockEnd);
        if (Buffer.compare(chunkA.subarray(block, blockEnd), bytesB) === 0) {
          acc.addEqual(this.valuesA, first, n);
        } else {
          decodeValues(t, bytesB, n, this.valuesB, first);
          acc.addPairs(this.valuesA, this.valuesB, first, n);
        }
      }
    }
  }
}

/** Elements per block compared bytewise inside a batch that differs (divides DECODE_BATCH). */
const COMPARE_BLOCK = 1024;

function twoBuffers(): [Uint8Array, Uint8Array] {
  return [Buffer.allocUnsafeSlow(MAX_CHUNK_BYTES), Buffer.allocUnsafeSlow(MAX_CHUNK_BYTES)];
}

/** Complex C64 decodes as interleaved F32 (re, im) so both components are compared. */
function decodeValues(t: TensorInfo, bytes: Uint8Array, count: number, out: Float64Array, first: number): void {
  if (t.dtype === 'C64') decodeElements('F32', bytes, 0, 2 * count, out, 2 * first);
  else decodeElements(t.dtype, bytes, 0, count, out, first);
}

function sameLayout(ta: TensorInfo, tb: TensorInfo): boolean {
  return ta.dtype === tb.dtype && sameShape(ta.shape, tb.shape);
}

function sameShape(x: number[], y: number[]): boolean {
  return x.length === y.length && x.every((d, i) => d === y[i]);
}

function changedKeys(x: Record<string, string>, y: Record<string, string>): string[] {
  const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
  return [...keys].filter((k) => !Object.hasOwn(x, k) || !Object.hasOwn(y, k) || x[k] !== y[k]).sort(byCodePoint);
}

/** Plain code-point order, independent of locale (so output is the same everywhere). */
export function byCodePoint(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}
