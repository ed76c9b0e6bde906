// One pass over a tensor's bytes giving a content hash and summary numbers, for textconv.
// The hash is over the raw bytes (so any change shows); the numbers are over the finite
// decoded values, accumulated in a fixed order so the same bytes always give the same
// result. Moments are combined per batch (Chan et al.), which keeps the std accurate when
// the mean is large compared with the spread (e.g. layer-norm weights near 1).

import { createHash } from 'node:crypto';
import type { TensorInfo } from '../../shared/protocol';
import { decodeElements } from '../dtype/decode';
import { throwIfAborted } from '../errors';
import type { Model } from '../safetensors/model';
import { DECODE_BATCH, batchBytes, chunkBytes, elementsIn } from './chunking';
import { tensorChunks } from './tensorChunks';

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

/** Reusable buffers for digesting many tensors one after another. */
export class TensorDigester {
  private readonly buffers: [Uint8Array, Uint8Array];
  private readonly values = new Float64Array(DECODE_BATCH);

  constructor(maxChunkBytes: number) {
    this.buffers = [Buffer.allocUnsafeSlow(maxChunkBytes), Buffer.allocUnsafeSlow(maxChunkBytes)];
  }

  async digest(model: Model, t: TensorInfo, signal?: AbortSignal): Promise<TensorDigest> {
    const hash = createHash('sha256');
    const moments = new Moments();
    const bytesPerBatch = batchBytes(t.dtype);
    for await (const [, chunk] of tensorChunks(model, t, chunkBytes(t.dtype), this.buffers)) {
      throwIfAborted(signal);
      hash.update(chunk);
      for (let start = 0; start < chunk.length; start += bytesPerBatch) {
        const end = Math.min(start + bytesPerBatch, chunk.length);
        const count = elementsIn(t.dtype, end - start);
        decodeElements(t.dtype, chunk.subarray(start, end), 0, count, this.values);
        moments.add(this.values, count);
      }
    }
    return { sha256: hash.digest('hex'), ...moments.result() };
  }
}

/** Count, NaN/Inf counts, min, max, mean and M2 of finite values, merged batch by batch. */
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
    let n = 0;
    let sum = 0;
    let nan = 0;
    let min = this.min;
    let max = this.max;
    for (let i = 0; i < count; i++) {
      const v = values[i];
      if (v - v === 0) {
        n++;
        sum += v;
        if (v < min) min = v;
        if (v > max) max = v;
      } else if (v !== v) nan++;
    }
    this.numel += count;
    this.nan += nan;
    this.inf += count - n - nan;
    this.min = min;
    this.max = max;
    if (n === 0) return;
    const batchMean = sum / n;
    let m2 = 0;
    for (let i = 0; i < count; i++) {
      const v = values[i];
      if (v - v === 0) {
        const d = v - batchMean;
        m2 += d * d;
      }
    }
    // Chan et al.: merge (this.n, this.mean, this.m2) with the batch's.
    const total = this.n + n;
    const delta = batchMean - this.mean;
    this.mean += (delta * n) / total;
    this.m2 += m2 + ((delta * delta * this.n) / total) * n;
    this.n = total;
  }

  result(): Omit<TensorDigest, 'sha256'> {
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
