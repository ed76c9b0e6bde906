// Statistics of one tensor, streamed in chunks (never the whole tensor in memory).
//
// Two passes over the data:
//   1. counts (NaN, ±Inf, ±0), min, max and the sum of finite values (float64; each chunk's
//      sum is added to the total, which keeps the rounding error near pairwise summation's);
//   2. with the mean known: the histogram and the corrected two-pass variance
//      M2 = Σ(x-mean)² - (Σ(x-mean))²/n, the numerically sound textbook method.
// Quantiles are numpy's default (linear interpolation) quantiles: exact for tensors of at most
// EXACT_QUANTILES finite values (collected and sorted in pass 2); for larger ones estimated
// from a fine histogram of at least 4096 equal-width bins gathered alongside the display
// histogram, each within one fine bin width, (max - min) / fineBins, of the exact value.

import type { TensorInfo, TensorStats } from '../../shared/protocol';
import { UserError } from '../errors';
import { tensorByteLength, type Model } from '../safetensors/model';
import { DEFAULT_CHUNK_BYTES, numelOf, readLines, type LineSet, type Values } from './lines';
import { kernels } from './wasm/kernels';

export interface StatsOptions {
  /** Display histogram bins (default 64). */
  bins?: number;
  signal?: AbortSignal;
  /** Bytes processed over both passes, out of twice the tensor's bytes. */
  onProgress?: (done: number, total: number) => void;
  /** Bytes per read (default 8 MiB); tests use small chunks to exercise chunk boundaries. */
  chunkBytes?: number;
}

export const QUANTILE_PS = [0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1];
const MIN_FINE_BINS = 4096;
export const EXACT_QUANTILES = 1 << 17;
const MAX_BINS = 1 << 20;

/** Pass 1 accumulators. */
class Moments {
  nan = 0;
  inf = 0;
  zeros = 0;
  finite = 0;
  min = Infinity;
  max = -Infinity;
  sum = 0;
  private readonly k = kernels();

  add(v: Values, at: number, n: number): void {
    const k = this.k;
    let i = at;
    const end = at + n;
    if (k && v instanceof Float32Array && k.owns(v)) {
      // The SIMD kernel takes multiples of 4 and returns per-lane results; the loop below does the rest.
      const simd = n & ~3;
      k.moments(v.byteOffset + at * 4, simd, k.outPtr);
      const lanes = k.f32(k.outPtr, 8);
      const sums = k.f64(k.outPtr + 32, 4);
      const counts = k.i32(k.outPtr + 64, 12);
      for (let l = 0; l < 4; l++) {
        if (lanes[l] < this.min) this.min = lanes[l];
        if (lanes[4 + l] > this.max) this.max = lanes[4 + l];
        this.sum += sums[l];
        this.finite += counts[l];
        this.zeros += counts[4 + l];
        this.nan += counts[8 + l];
        this.inf += simd / 4 - counts[l] - counts[8 + l];
      }
      i += simd;
    }
    let nan = 0;
    let inf = 0;
    let zeros = 0;
    let finite = 0;
    let min = this.min;
    let max = this.max;
    let sum = 0;
    for (; i < end; i++) {
      const x = v[i];
      // x - x is 0 exactly for finite x, NaN for NaN and ±Inf: one test for the common case.
      if (x - x === 0) {
        finite++;
        sum += x;
        if (x < min) min = x;
        if (x > max) max = x;
        if (x === 0) zeros++;
      } else if (x !== x) nan++;
      else inf++;
    }
    this.nan += nan;
    this.inf += inf;
    this.zeros += zeros;
    this.finite += finite;
    this.min = min;
    this.max = max;
    this.sum += sum;
  }
}

/** Pass 2 accumulators: deviations from the mean and the fine histogram over [lo, hi]. */
class Spread {
  m2 = 0;
  dev = 0;
  readonly counts: Float64Array;
  private readonly half: number;
  private readonly scale: number;
  private readonly k = kernels();
  /** The kernel's int32 counters (fine bins + one for non-finite values), emptied after each call. */
  private readonly kCounts: number = 0;

  constructor(
    private readonly mean: number,
    private readonly lo: number,
    hi: number,
    fineBins: number,
  ) {
    this.counts = new Float64Array(fineBins);
    // For ranges wider than the largest double (F64 data near ±max), work on halves: exact scaling.
    this.half = Number.isFinite(hi - lo) ? 1 : 0.5;
    this.scale = fineBins / (hi * this.half - lo * this.half);
    if (this.k) this.kCounts = this.k.heap.alloc((fineBins + 1) * 4);
  }

  add(v: Values, at: number, n: number): void {
    const { mean, lo, half, scale, counts, k } = this;
    const last = counts.length - 1;
    let i = at;
    const end = at + n;
    if (k && v instanceof Float32Array && k.owns(v) && half === 1) {
      const simd = n & ~3;
      // Nothing allocates between here and the copy-out, so these views stay valid.
      const kc = k.i32(this.kCounts, counts.length + 1).fill(0);
      k.spread(v.byteOffset + at * 4, simd, mean, lo, scale, last, this.kCounts, k.outPtr);
      const sums = k.f64(k.outPtr, 8);
      this.m2 += sums[0] + sums[1] + sums[2] + sums[3];
      this.dev += sums[4] + sums[5] + sums[6] + sums[7];
      for (let b = 0; b <= last; b++) counts[b] += kc[b];
      i += simd;
    }
    const loH = lo * half;
    let m2 = 0;
    let dev = 0;
    for (; i < end; i++) {
      const x = v[i];
      if (x - x === 0) {
        const d = x - mean;
        m2 += d * d;
        dev += d;
        let b = ((x * half - loH) * scale) | 0;
        if (b > last) b = last;
        counts[b]++;
      }
    }
    this.m2 += m2;
    this.dev += dev;
  }

  release(): void {
    this.k?.heap.release(this.kCounts, (this.counts.length + 1) * 4);
  }
}

export async function tensorStats(model: Model, t: TensorInfo, opts: StatsOptions = {}): Promise<TensorStats> {
  const bins = opts.bins ?? 64;
  if (!Number.isInteger(bins) || bins < 1 || bins > MAX_BINS) {
    throw new UserError(`bins must be a whole number from 1 to ${MAX_BINS}, not ${bins}`);
  }
  const numel = numelOf(t.shape);
  const bytes = tensorByteLength(t);
  const total = 2 * bytes;
  let done = 0;
  const onBytes = (n: number) => {
    done += n;
    opts.onProgress?.(done, total);
  };
  const whole: LineSet = { lines: 1, count: numel, stride: 1, start: () => 0 };
  const readOpts = { chunkBytes: opts.chunkBytes ?? DEFAULT_CHUNK_BYTES, signal: opts.signal, onBytes };

  const m = new Moments();
  await readLines(model, t, whole, (v, at, n) => m.add(v, at, n), readOpts);

  // -0 and +0 compare equal, so which one ends up as min/max depends on the order of the
  // lanes; report +0 (JSON has no -0 anyway).
  m.min += 0;
  m.max += 0;
  const base = { numel, nan: m.nan, inf: m.inf, zeros: m.zeros };
  if (m.finite === 0) {
    opts.onProgress?.(total, total);
    return { ...base, min: null, max: null, mean: null, std: null, histogram: { min: 0, max: 0, counts: new Array(bins).fill(0) }, quantiles: [] };
  }
  const mean = m.sum / m.finite;
  if (m.min === m.max) {
    // One distinct value: numpy's convention, range [v - 0.5, v + 0.5], everything in the middle bin.
    opts.onProgress?.(total, total);
    const counts = new Array(bins).fill(0);
    counts[Math.floor(bins / 2)] = m.finite;
    return {
      ...base,
      min: m.min,
      max: m.max,
      mean: m.min,
      std: 0,
      histogram: { min: m.min - 0.5, max: m.max + 0.5, counts },
      quantiles: QUANTILE_PS.map((p) => [p, m.min]),
    };
  }

  const perBin = Math.ceil(MIN_FINE_BINS / bins);
  const s = new Spread(mean, m.min, m.max, bins * perBin);
  // Small tensors: keep the finite values for exact quantiles.
  const finite = m.finite <= EXACT_QUANTILES ? new Float64Array(m.finite) : null;
  let kept = 0;
  try {
    await readLines(
      model,
      t,
      whole,
      (v, at, n) => {
        s.add(v, at, n);
        if (finite) {
          for (let i = at; i < at + n; i++) if (v[i] - v[i] === 0) finite[kept++] = v[i];
        }
      },
      readOpts,
    );
  } finally {
    s.release();
  }
  finite?.sort();

  const variance = Math.max(0, (s.m2 - (s.dev * s.dev) / m.finite) / m.finite);
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < s.counts.length; i++) counts[Math.floor(i / perBin)] += s.counts[i];
  return {
    ...base,
    min: m.min,
    max: m.max,
    mean,
    std: Math.sqrt(variance),
    histogram: { min: m.min, max: m.max, counts },
    quantiles: QUANTILE_PS.map((p) => [p, finite ? sortedQuantile(finite, p) : histogramQuantile(s.counts, m.min, m.max, m.finite, p)]),
  };
}

/** numpy's linear-interpolation quantile of sorted values. */
export function sortedQuantile(sorted: Float64Array, p: number): number {
  const rank = p * (sorted.length - 1);
  const below = Math.floor(rank);
  const frac = rank - below;
  return frac === 0 ? sorted[below] : sorted[below] + frac * (sorted[below + 1] - sorted[below]);
}

/**
 * numpy's linear-interpolation quantile, estimated from equal-width bin counts over [lo, hi]:
 * the order statistics on either side of rank p·(n-1) are placed uniformly inside their bins.
 */
export function histogramQuantile(counts: Float64Array, lo: number, hi: number, n: number, p: number): number {
  if (p <= 0) return lo;
  if (p >= 1) return hi;
  const rank = p * (n - 1);
  const below = Math.floor(rank);
  const frac = rank - below;
  const a = orderStatistic(counts, lo, hi, below);
  if (frac === 0) return a;
  const b = orderStatistic(counts, lo, hi, below + 1);
  return a + frac * (b - a);
}

/** Estimated value of the k-th smallest element (0-based). */
function orderStatistic(counts: Float64Array, lo: number, hi: number, k: number): number {
  const width = hi / counts.length - lo / counts.length;
  let seen = 0;
  for (let b = 0; b < counts.length; b++) {
    const c = counts[b];
    if (k < seen + c) {
      const v = lo + (b + (k - seen + 0.5) / c) * width;
      return Math.min(hi, Math.max(lo, v));
    }
    seen += c;
  }
  return hi;
}
