// UMAP's layout: stochastic gradient descent with negative sampling on the edges of the
// fuzzy graph, as umap-learn's optimize_layout_euclidean: an edge of weight w is sampled
// every max_w / w epochs, each sample attracts its two ends and repels the head from
// negative_sample_rate random points; the learning rate falls linearly to 0; gradients are
// clipped to [-4, 4].
//
// Two threads, same result as one. The points are split into two parts with about equal
// numbers of edges; each part moves its own points (the heads of its edges). Within an
// epoch a part sees its own points live and the other part's as they were at the start of
// the epoch: each part has its own copy of all positions (`view`), live in its own range and
// a snapshot elsewhere, so a read never has to ask whose point it is. Its moves of the other
// part's points (edge tails) are collected and applied at the end of the epoch. No value is read while another thread may write it,
// so the parts can run in parallel (a worker thread and this one, meeting at a barrier
// after each epoch) or one after the other with identical results: the embedding depends
// only on the seed. Small layouts run both parts in this thread.
//
// Differences from umap-learn, all within SGD's noise: the one-epoch-stale view of the
// other part, a sample's repulsions computed from the same head position and summed, and
// the curve coefficients interpolated from tables (curveTable.ts).
import { availableParallelism, loadavg } from 'node:os';
import { CancelledError, throwIfAborted } from '../errors';
import { curveTables, lookup } from './curveTable';
import type { FuzzyGraph } from './fuzzyGraph';
import { createWorker, workerAvailable } from './inWorker';
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
  /** 1: both parts in this thread; 2: the second part in a worker. Default: 2 from PARALLEL_MIN_POINTS points when a core is idle. */
  threads?: 1 | 2;
}

/** Below this many points a worker's start costs more than it saves. */
export const PARALLEL_MIN_POINTS = 4000;

/** Everything both parts read; typed arrays on SharedArrayBuffers when a worker takes part. */
export interface LayoutShared {
  n: number;
  dim: number;
  epochs: number;
  a: number;
  b: number;
  gamma: number;
  negativeRate: number;
  initialAlpha: number;
  /** Points [split, n) belong to part 1, edges [edgeSplit, count) too (edges are sorted by head). */
  split: number;
  edgeSplit: number;
  head: Int32Array;
  tail: Int32Array;
  epochsPerSample: Float64Array;
  /**
   * view[p]: part p's positions (n x dim): live in its range, the epoch's snapshot elsewhere.
   * Float32 as umap-learn's embedding: negative samples read random points, and at 100k
   * points float64 views and deltas no longer fit in a core's L2 cache (200 epochs, one
   * thread: 23.8 s -> 15.2 s; at 10k ~5% slower, the conversions).
   */
  view: [Float32Array, Float32Array];
  /** delta[p]: part p's moves of the other part's points during this epoch (n x dim). */
  delta: [Float32Array, Float32Array];
  /** Per-part xorshift32 seeds. */
  seeds: [number, number];
  /** [barrier count, barrier generation, stop flag (1 failed, 2 cancelled)]. */
  control: Int32Array;
}

const COUNT = 0;
const GENERATION = 1;
const STOP = 2;

/** Moves `embedding` (n x dim, row-major, float64) in place. */
export async function optimizeLayout(embedding: Float64Array, graph: FuzzyGraph, opts: LayoutOptions): Promise<void> {
  const { dim, epochs, signal, onProgress } = opts;
  if (dim !== 2 && dim !== 3) throw new Error(`layout dimensions must be 2 or 3, not ${dim}`);
  const n = graph.n;
  // Both choices give the same embedding; the worker only saves time, when a core is free
  // for it (on a busy machine two threads meeting at barriers are slower than one).
  const idleCore = availableParallelism() >= 2 && loadavg()[0] <= availableParallelism() - 1;
  const threads = workerAvailable() ? (opts.threads ?? (n >= PARALLEL_MIN_POINTS && idleCore ? 2 : 1)) : 1;
  const shared = prepare(embedding, graph, opts, threads === 2);
  if (threads === 1) {
    const parts = [new Part(shared, 0), new Part(shared, 1)];
    for (let epoch = 0; epoch < epochs; epoch++) {
      throwIfAborted(signal);
      parts[0].epoch(epoch);
      parts[1].epoch(epoch);
      parts[0].endEpoch();
      parts[1].endEpoch();
      onProgress?.({ phase: 'layout', done: epoch + 1, total: epochs });
    }
  } else {
    const worker = createWorker({ kind: 'layout', shared });
    const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
    try {
      // Wait (without blocking) until the worker runs its loop: this thread then blocks at
      // each barrier, where no worker error event could reach it.
      await new Promise<void>((resolve, reject) => {
        worker.once('message', () => resolve());
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`the layout worker exited with code ${code}`)));
      });
      const part = new Part(shared, 0);
      for (let epoch = 0; epoch < epochs; epoch++) {
        if (signal?.aborted) {
          stop(shared.control, 2);
          throw new CancelledError();
        }
        part.epoch(epoch);
        barrier(shared.control);
        part.endEpoch();
        barrier(shared.control);
        onProgress?.({ phase: 'layout', done: epoch + 1, total: epochs });
      }
    } catch (e) {
      stop(shared.control, 2);
      void worker.terminate();
      if (e instanceof LayoutAborted) throw new Error('the layout worker failed');
      throw e;
    }
    await exited;
  }
  const [view0, view1] = shared.view;
  embedding.set(view0.subarray(0, shared.split * dim));
  embedding.set(view1.subarray(shared.split * dim), shared.split * dim);
}

/** Part 1 of a parallel layout, in a worker thread; `ready` tells the other thread it runs. */
export function runLayoutWorker(shared: LayoutShared, ready: () => void): void {
  const part = new Part(shared, 1);
  ready();
  try {
    for (let epoch = 0; epoch < shared.epochs; epoch++) {
      part.epoch(epoch);
      barrier(shared.control);
      part.endEpoch();
      barrier(shared.control);
    }
  } catch (e) {
    if (e instanceof LayoutAborted) return;
    stop(shared.control, 1);
    throw e;
  }
}

class LayoutAborted extends Error {}

/** Raise the stop flag and wake the other thread. */
function stop(control: Int32Array, why: 1 | 2): void {
  Atomics.compareExchange(control, STOP, 0, why);
  Atomics.add(control, GENERATION, 1);
  Atomics.notify(control, GENERATION);
}

/** Both threads wait here; the stop flag ends the wait with LayoutAborted. */
function barrier(control: Int32Array): void {
  const generation = Atomics.load(control, GENERATION);
  if (Atomics.load(control, STOP) !== 0) throw new LayoutAborted();
  if (Atomics.add(control, COUNT, 1) === 1) {
    Atomics.store(control, COUNT, 0);
    Atomics.add(control, GENERATION, 1);
    Atomics.notify(control, GENERATION);
    return;
  }
  // Spin briefly first: with both threads on their own cores the other one is usually
  // microseconds away, less than a sleep and wake-up costs.
  for (let spin = 0; spin < 20000 && Atomics.load(control, GENERATION) === generation; spin++);
  while (Atomics.load(control, GENERATION) === generation) Atomics.wait(control, GENERATION, generation, 1000);
  if (Atomics.load(control, STOP) !== 0) throw new LayoutAborted();
}

function prepare(embedding: Float64Array, graph: FuzzyGraph, opts: LayoutOptions, parallel: boolean): LayoutShared {
  const { dim, epochs } = opts;
  const n = graph.n;
  const make = <T extends Float64Array | Float32Array | Int32Array>(C: { new (b: ArrayBufferLike): T; BYTES_PER_ELEMENT: number }, length: number): T =>
    new C(parallel ? new SharedArrayBuffer(length * C.BYTES_PER_ELEMENT) : new ArrayBuffer(length * C.BYTES_PER_ELEMENT));

  // Edges as COO sorted by head; weights below max / epochs would never be sampled (umap-learn drops them).
  let maxWeight = 0;
  for (let x = 0; x < graph.weights.length; x++) maxWeight = Math.max(maxWeight, graph.weights[x]);
  const minWeight = maxWeight / epochs;
  let count = 0;
  for (let x = 0; x < graph.weights.length; x++) if (graph.weights[x] >= minWeight) count++;
  const head = make(Int32Array, count);
  const tail = make(Int32Array, count);
  const epochsPerSample = make(Float64Array, count);
  let e = 0;
  for (let i = 0; i < n; i++) {
    for (let x = graph.rowStart[i]; x < graph.rowStart[i + 1]; x++) {
      if (graph.weights[x] < minWeight) continue;
      head[e] = i;
      tail[e] = graph.cols[x];
      epochsPerSample[e] = maxWeight / graph.weights[x];
      e++;
    }
  }
  // Split where half of the sampling work (sum of 1 / epochsPerSample) is done.
  let work = 0;
  for (let x = 0; x < count; x++) work += 1 / epochsPerSample[x];
  let edgeSplit = 0;
  for (let acc = 0; edgeSplit < count && acc < work / 2; edgeSplit++) acc += 1 / epochsPerSample[edgeSplit];
  while (edgeSplit > 0 && edgeSplit < count && head[edgeSplit] === head[edgeSplit - 1]) edgeSplit++;
  const split = edgeSplit < count ? head[edgeSplit] : n;

  const view0 = make(Float32Array, n * dim);
  view0.set(embedding);
  const view1 = make(Float32Array, n * dim);
  view1.set(embedding);
  const rng = new Random(opts.seed);
  return {
    n,
    dim,
    epochs,
    a: opts.a,
    b: opts.b,
    gamma: opts.repulsionStrength ?? 1,
    negativeRate: opts.negativeSampleRate ?? 5,
    initialAlpha: opts.learningRate ?? 1,
    split,
    edgeSplit,
    head,
    tail,
    epochsPerSample,
    view: [view0, view1],
    delta: [make(Float32Array, n * dim), make(Float32Array, n * dim)],
    seeds: [rng.int32() | 1, rng.int32() | 1],
    control: make(Int32Array, 4),
  };
}

/** One part's state and its epoch loop. */
class Part {
  private readonly lo: number;
  private readonly hi: number;
  private readonly e0: number;
  private readonly e1: number;
  private readonly nextSample: Float64Array;
  private readonly nextNegative: Float64Array;
  /** Epochs between negative samplings and its inverse (a multiplication beats a division). */
  private readonly perNegative: Float64Array;
  private readonly negativesPerEpoch: Float64Array;
  private readonly attract: Float64Array;
  private readonly repel: Float64Array;
  private x32: number;

  constructor(private readonly s: LayoutShared, private readonly part: 0 | 1) {
    this.lo = part === 0 ? 0 : s.split;
    this.hi = part === 0 ? s.split : s.n;
    this.e0 = part === 0 ? 0 : s.edgeSplit;
    this.e1 = part === 0 ? s.edgeSplit : s.head.length;
    this.nextSample = s.epochsPerSample.slice(this.e0, this.e1);
    this.perNegative = this.nextSample.map((v) => v / s.negativeRate);
    this.negativesPerEpoch = this.perNegative.map((v) => 1 / v);
    this.nextNegative = this.perNegative.slice();
    const tables = curveTables(s.a, s.b, s.gamma);
    this.attract = tables.attract;
    this.repel = tables.repel;
    this.x32 = s.seeds[part];
  }

  epoch(epoch: number): void {
    const { dim, n, head, tail, epochsPerSample } = this.s;
    const { lo, hi, e0, e1, nextSample, nextNegative, perNegative, negativesPerEpoch, attract, repel } = this;
    const pos = this.s.view[this.part];
    const delta = this.s.delta[this.part];
    const alpha = this.s.initialAlpha * (1 - epoch / this.s.epochs);
    const toIndex = n / 4294967296;
    let x32 = this.x32;
    const lo3 = lo * dim;
    const hi3 = hi * dim;
    for (let x = e0; x < e1; x++) {
      const local = x - e0;
      if (nextSample[local] > epoch) continue;
      const j = head[x] * dim;
      const k = tail[x] * dim;
      // Written out for 2 and 3 dimensions: the loop body is the whole cost of the layout.
      let c0 = pos[j];
      let c1 = pos[j + 1];
      let c2 = dim === 3 ? pos[j + 2] : 0;
      let t0 = c0 - pos[k];
      let t1 = c1 - pos[k + 1];
      let t2 = dim === 3 ? c2 - pos[k + 2] : 0;
      let d2 = t0 * t0 + t1 * t1 + t2 * t2;
      if (d2 > 0) {
        const coeff = lookup(attract, d2);
        const g0 = clip(coeff * t0) * alpha;
        const g1 = clip(coeff * t1) * alpha;
        const g2 = dim === 3 ? clip(coeff * t2) * alpha : 0;
        c0 += g0;
        c1 += g1;
        c2 += g2;
        const moved = k >= lo3 && k < hi3 ? pos : delta;
        moved[k] -= g0;
        moved[k + 1] -= g1;
        if (dim === 3) moved[k + 2] -= g2;
      }
      nextSample[local] += epochsPerSample[x];

      // Repulsion from negative samples, all measured from the head's position after the
      // attraction, so they do not wait on each other.
      const negatives = Math.floor((epoch - nextNegative[local]) * negativesPerEpoch[local]);
      let r0 = 0;
      let r1 = 0;
      let r2 = 0;
      for (let p = 0; p < negatives; p++) {
        x32 ^= x32 << 13;
        x32 ^= x32 >>> 17;
        x32 ^= x32 << 5;
        const o = Math.floor((x32 >>> 0) * toIndex) * dim;
        if (o === j) continue;
        t0 = c0 - pos[o];
        t1 = c1 - pos[o + 1];
        t2 = dim === 3 ? c2 - pos[o + 2] : 0;
        d2 = t0 * t0 + t1 * t1 + t2 * t2;
        if (d2 <= 0) continue;
        const coeff = lookup(repel, d2);
        r0 += clip(coeff * t0);
        r1 += clip(coeff * t1);
        if (dim === 3) r2 += clip(coeff * t2);
      }
      pos[j] = c0 + r0 * alpha;
      pos[j + 1] = c1 + r1 * alpha;
      if (dim === 3) pos[j + 2] = c2 + r2 * alpha;
      nextNegative[local] += negatives * perNegative[local];
    }
    this.x32 = x32;
  }

  /**
   * After both parts' epoch: take the other part's moves of our points, and give the other
   * part's view our points as they now are (its snapshot for the next epoch).
   */
  endEpoch(): void {
    const { dim } = this.s;
    const own = this.s.view[this.part];
    const others = this.s.view[this.part === 0 ? 1 : 0];
    const incoming = this.s.delta[this.part === 0 ? 1 : 0];
    for (let i = this.lo * dim; i < this.hi * dim; i++) {
      own[i] += incoming[i];
      incoming[i] = 0;
      others[i] = own[i];
    }
  }
}

function clip(g: number): number {
  return g > 4 ? 4 : g < -4 ? -4 : g;
}

