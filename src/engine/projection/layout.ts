// UMAP's layout: stochastic gradient descent with negative sampling on the edges of the
// fuzzy graph, as umap-learn's optimize_layout_euclidean (single-threaded, so the result is
// the same for the same seed): an edge of weight w is sampled every max_w / w epochs, each
// sample attracts its two ends and repels the head from negative_sample_rate random points;
// the learning rate falls linearly to 0; gradients are clipped to [-4, 4]. One difference:
// a sample's repulsions are all computed from the same head position and then summed.
import { throwIfAborted } from '../errors';
import { attractExact, curveTables, lookup, repelExact } from './curveTable';
import type { FuzzyGraph } from './fuzzyGraph';
import { Random } from './random';
import type { RunControl } from './types';

export interface LayoutOptions extends RunControl {
  dim: number;
  epochs: number;
  a: number;
  b: number;
  seed: number;
  negativeSampleRate?: number;
  learningRate?: number;
  repulsionStrength?: number;
}

/** Moves `embedding` (n x dim, row-major, float64) in place. */
export function optimizeLayout(embedding: Float64Array, graph: FuzzyGraph, opts: LayoutOptions): void {
  const { dim, epochs, a, b, signal, onProgress } = opts;
  if (dim !== 2 && dim !== 3) throw new Error(`layout dimensions must be 2 or 3, not ${dim}`);
  const negativeRate = opts.negativeSampleRate ?? 5;
  const initialAlpha = opts.learningRate ?? 1;
  const gamma = opts.repulsionStrength ?? 1;
  const n = graph.n;
  const rng = new Random(opts.seed);

  // Edges as COO; weights below max / epochs would never be sampled (umap-learn drops them).
  let maxWeight = 0;
  for (let x = 0; x < graph.weights.length; x++) maxWeight = Math.max(maxWeight, graph.weights[x]);
  let count = 0;
  for (let x = 0; x < graph.weights.length; x++) if (graph.weights[x] >= maxWeight / epochs) count++;
  const head = new Int32Array(count);
  const tail = new Int32Array(count);
  const epochsPerSample = new Float64Array(count);
  let e = 0;
  for (let i = 0; i < n; i++) {
    for (let x = graph.rowStart[i]; x < graph.rowStart[i + 1]; x++) {
      if (graph.weights[x] < maxWeight / epochs) continue;
      head[e] = i;
      tail[e] = graph.cols[x];
      epochsPerSample[e] = maxWeight / graph.weights[x];
      e++;
    }
  }
  const epochsPerNegative = new Float64Array(count);
  for (let x = 0; x < count; x++) epochsPerNegative[x] = epochsPerSample[x] / negativeRate;
  const nextSample = Float64Array.from(epochsPerSample);
  const nextNegative = Float64Array.from(epochsPerNegative);

  const { attract, repel } = curveTables(a, b, gamma);
  // Negative samples come from a xorshift32 stream held in a local variable (a PRNG object's
  // call costs more than the rest of a negative step); seeded from the run's seed.
  let x32 = rng.int32() | 1;
  const toIndex = n / 4294967296;
  for (let epoch = 0; epoch < epochs; epoch++) {
    throwIfAborted(signal);
    const alpha = initialAlpha * (1 - epoch / epochs);
    for (let x = 0; x < count; x++) {
      if (nextSample[x] > epoch) continue;
      const j = head[x] * dim;
      const k = tail[x] * dim;
      // Written out for 2 and 3 dimensions: the loop body is the whole cost of the layout.
      let c0 = embedding[j];
      let c1 = embedding[j + 1];
      let c2 = dim === 3 ? embedding[j + 2] : 0;
      let t0 = c0 - embedding[k];
      let t1 = c1 - embedding[k + 1];
      let t2 = dim === 3 ? c2 - embedding[k + 2] : 0;
      let d2 = t0 * t0 + t1 * t1 + t2 * t2;
      if (d2 > 0) {
        let coeff = lookup(attract, d2);
        if (coeff !== coeff) coeff = attractExact(d2, a, b); // outside the table
        const g0 = clip(coeff * t0) * alpha;
        const g1 = clip(coeff * t1) * alpha;
        c0 += g0;
        c1 += g1;
        embedding[k] -= g0;
        embedding[k + 1] -= g1;
        if (dim === 3) {
          const g2 = clip(coeff * t2) * alpha;
          c2 += g2;
          embedding[k + 2] -= g2;
        }
      }
      nextSample[x] += epochsPerSample[x];

      // Repulsion from negative samples, all measured from the head's position after the
      // attraction: independent of each other, so the CPU overlaps them (chaining each on the
      // previous one's move made the layout latency-bound, ~3x slower).
      const negatives = Math.floor((epoch - nextNegative[x]) / epochsPerNegative[x]);
      let r0 = 0;
      let r1 = 0;
      let r2 = 0;
      for (let p = 0; p < negatives; p++) {
        x32 ^= x32 << 13;
        x32 ^= x32 >>> 17;
        x32 ^= x32 << 5;
        const o = Math.floor((x32 >>> 0) * toIndex) * dim;
        if (o === j) continue;
        t0 = c0 - embedding[o];
        t1 = c1 - embedding[o + 1];
        t2 = dim === 3 ? c2 - embedding[o + 2] : 0;
        d2 = t0 * t0 + t1 * t1 + t2 * t2;
        if (d2 <= 0) continue;
        let coeff = lookup(repel, d2);
        if (coeff !== coeff) coeff = repelExact(d2, a, b, gamma);
        r0 += clip(coeff * t0);
        r1 += clip(coeff * t1);
        if (dim === 3) r2 += clip(coeff * t2);
      }
      c0 += r0 * alpha;
      c1 += r1 * alpha;
      c2 += r2 * alpha;
      embedding[j] = c0;
      embedding[j + 1] = c1;
      if (dim === 3) embedding[j + 2] = c2;
      nextNegative[x] += negatives * epochsPerNegative[x];
    }
    onProgress?.({ phase: 'layout', done: epoch + 1, total: epochs });
  }
}

function clip(g: number): number {
  return g > 4 ? 4 : g < -4 ? -4 : g;
}
