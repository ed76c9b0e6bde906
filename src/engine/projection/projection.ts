// The whole projection: standardise -> PCA -> exact kNN -> fuzzy graph -> UMAP layout, and
// the placement of new rows in a fitted projection (mean embedding of their exact k nearest
// training rows, in the space the neighbours were searched in).
//
// Initialisation: the first PCA coordinates (umap-learn's init="pca"), scaled to [0, 10] like
// umap-learn scales every initialisation. Spectral initialisation needs the bottom
// eigenvectors of the graph Laplacian, whose iterative solvers converge slowly on clustered
// data at 100k points; PCA costs nothing here (the coordinates exist) and keeps the global
// arrangement of clusters, which random initialisation (umap-js) does not.
import { UserError, throwIfAborted } from '../errors';
import { findAbParams } from './curve';
import { fuzzySimplicialSet } from './fuzzyGraph';
import { nearestNeighbors, type Neighbors } from './knn';
import { optimizeLayout } from './layout';
import { matmulGraph } from './onnxGraphs';
import { ort, providerInfo, session } from './ort';
import { MAX_COMPONENTS, applyScaler, fitPca, standardizeRows, type Scaler } from './pca';
import { Random } from './random';
import { matrixSource, type RowSource } from './rowSource';
import { METRICS, type Matrix, type Metric, type RunControl } from './types';

export interface ProjectionOptions {
  /** Neighbours per point, counting the point itself (umap-learn's n_neighbors). Default 15. */
  nNeighbors?: number;
  /** Embedding dimensions, 2 or 3. Default 2. */
  components?: number;
  /** PCA components before the neighbour search; 0 (or >= the columns) for none. Default 50. */
  pca?: number;
  metric?: Metric;
  minDist?: number;
  spread?: number;
  seed?: number;
  /** Default: defaultEpochs(rows), 500 for small sets down to 200 from 7,501 rows. */
  epochs?: number;
  /** Scale the columns before PCA (pca.ts columnScales: wide ones down, none up); they are always centred. Default true. */
  standardize?: boolean;
  init?: 'pca' | 'random';
}

export type ResolvedOptions = Required<ProjectionOptions>;

/** A fitted projection: everything needed to draw it and to place new rows in it. */
export interface Projection {
  options: ResolvedOptions;
  /** Training rows and their columns. */
  rows: number;
  cols: number;
  scaler: Scaler;
  /** null when the neighbours are searched in the standardised columns themselves. */
  pca: { components: Float32Array; nComponents: number; explainedVariance: Float64Array; totalVariance: number } | null;
  /** Training rows in the space of the neighbour search (PCA coordinates, or standardised rows). */
  space: Matrix;
  /** rows x options.components, float32. */
  embedding: Float32Array;
  /** The exact kNN graph of the training rows (n_neighbors - 1 others each); null when loaded from a file. */
  knn: Neighbors | null;
  /** The fitted curve parameters of the layout. */
  a: number;
  b: number;
  /** Facts about the run (not saved): seconds per phase, ONNX Runtime provider, etc. */
  stats: { seconds: Record<string, number>; provider: string; providerNote: string; exhaustiveRows: number };
}

/**
 * Layout epochs when not given, umap-js's schedule: 500 up to 2,500 rows, 400 up to 5,000, 300
 * up to 7,500, 200 above. umap-learn keeps 500 up to 10,000 rows; measured on the bench's
 * 10k x 256 clusters and 10k MNIST digits, 200 epochs reach the same trustworthiness (within
 * the seed-to-seed spread, and above umap-js's) in 40% of the layout time.
 */
export function defaultEpochs(rows: number): number {
  return rows <= 2500 ? 500 : rows <= 5000 ? 400 : rows <= 7500 ? 300 : 200;
}

export function resolveOptions(o: ProjectionOptions, rows: number): ResolvedOptions {
  const r: ResolvedOptions = {
    nNeighbors: o.nNeighbors ?? 15,
    components: o.components ?? 2,
    pca: o.pca ?? 50,
    metric: o.metric ?? 'euclidean',
    minDist: o.minDist ?? 0.1,
    spread: o.spread ?? 1,
    seed: o.seed ?? 0,
    epochs: o.epochs ?? defaultEpochs(rows),
    standardize: o.standardize ?? true,
    init: o.init ?? 'pca',
  };
  const int = (name: string, v: number, min: number, max: number) => {
    if (!Number.isInteger(v) || v < min || v > max) throw new UserError(`${name} must be an integer from ${min} to ${max}, not ${v}`);
  };
  int('neighbors', r.nNeighbors, 2, 1000);
  int('components', r.components, 2, 3);
  int('pca', r.pca, 0, MAX_COMPONENTS);
  int('epochs', r.epochs, 1, 100_000);
  int('seed', r.seed, 0, 2 ** 32 - 1);
  if (!METRICS.includes(r.metric)) throw new UserError(`unknown metric '${r.metric}' (use ${METRICS.join(' or ')})`);
  if (!(r.spread > 0) || !(r.minDist >= 0) || r.minDist > r.spread) {
    throw new UserError(`min_dist must be from 0 to spread and spread positive (got min_dist ${r.minDist}, spread ${r.spread})`);
  }
  if (r.init !== 'pca' && r.init !== 'random') throw new UserError(`unknown init '${r.init}' (use pca or random)`);
  if (r.nNeighbors > rows) {
    throw new UserError(`neighbors (${r.nNeighbors}, counting the point itself) must be at most the number of rows (${rows})`);
  }
  return r;
}

export async function fitProjection(source: RowSource, options: ProjectionOptions, ctl: RunControl = {}): Promise<Projection> {
  const opts = resolveOptions(options, source.rows);
  const seconds: Record<string, number> = {};
  let t = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    seconds[name] = (now - t) / 1000;
    t = now;
  };

  // 1. Standardise and reduce.
  const pcaComponents = Math.min(opts.pca, source.rows);
  let space: Matrix;
  let scaler: Scaler;
  let pca: Projection['pca'] = null;
  if (pcaComponents > 0 && pcaComponents < source.cols) {
    const fit = await fitPca(source, { components: pcaComponents, standardize: opts.standardize, seed: opts.seed, ...ctl });
    scaler = fit.model.scaler;
    space = fit.coords;
    pca = {
      components: fit.model.components,
      nComponents: fit.model.nComponents,
      explainedVariance: fit.model.explainedVariance,
      totalVariance: fit.model.totalVariance,
    };
  } else {
    const s = await standardizeRows(source, opts.standardize, ctl);
    scaler = s.scaler;
    space = s.rows;
  }
  lap('pca');

  // 2. Exact neighbours (n_neighbors counts the point itself).
  const knn = await nearestNeighbors(space, opts.nNeighbors - 1, opts.metric, ctl);
  lap('knn');

  // 3. Fuzzy graph.
  throwIfAborted(ctl.signal);
  const graph = fuzzySimplicialSet(knn, opts.nNeighbors);
  ctl.onProgress?.({ phase: 'graph', done: 1, total: 1 });
  lap('graph');

  // 4. Layout.
  const dim = opts.components;
  const embedding64 = await initialEmbedding(space, pca !== null, dim, opts, ctl);
  const { a, b } = findAbParams(opts.spread, opts.minDist);
  await optimizeLayout(embedding64, graph, { dim, epochs: opts.epochs, a, b, seed: opts.seed, ...ctl });
  lap('layout');

  const info = providerInfo();
  return {
    options: opts,
    rows: source.rows,
    cols: source.cols,
    scaler,
    pca,
    space,
    embedding: Float32Array.from(embedding64),
    knn,
    a,
    b,
    stats: { seconds, provider: info?.provider ?? 'cpu', providerNote: info?.note ?? '', exhaustiveRows: knn.exhaustiveRows },
  };
}

/** PCA (or random) coordinates scaled to [0, 10] per dimension, with a little noise. */
async function initialEmbedding(space: Matrix, isPca: boolean, dim: number, opts: ResolvedOptions, ctl: RunControl): Promise<Float64Array> {
  const n = space.rows;
  const rng = new Random(opts.seed ^ 0x5eed);
  const out = new Float64Array(n * dim);
  let have = 0;
  if (opts.init === 'pca') {
    let coords = space;
    if (!isPca) {
      const reduce = Math.min(dim, space.cols, n);
      coords = (await fitPca(matrixSource(space), { components: reduce, standardize: false, seed: opts.seed, signal: ctl.signal })).coords;
    }
    have = Math.min(dim, coords.cols);
    for (let i = 0; i < n; i++) for (let c = 0; c < have; c++) out[i * dim + c] = coords.data[i * coords.cols + c];
  }
  for (let i = 0; i < n; i++) for (let c = have; c < dim; c++) out[i * dim + c] = rng.float();
  for (let c = 0; c < dim; c++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      lo = Math.min(lo, out[i * dim + c]);
      hi = Math.max(hi, out[i * dim + c]);
    }
    const scale = hi > lo ? 10 / (hi - lo) : 0;
    for (let i = 0; i < n; i++) out[i * dim + c] = (out[i * dim + c] - lo) * scale + 1e-4 * rng.normal();
  }
  return out;
}

/**
 * Place new rows (same columns as the training rows) in a fitted projection: each at the
 * mean embedding of its exact nearest training rows (n_neighbors of them).
 */
export async function placeRows(projection: Projection, source: RowSource, ctl: RunControl = {}): Promise<Float32Array> {
  if (source.cols !== projection.cols) {
    throw new UserError(`${source.label} has ${source.cols} columns; the projection was fitted on ${projection.cols}`);
  }
  const dim = projection.options.components;
  const k = Math.min(projection.options.nNeighbors, projection.rows);
  const out = new Float32Array(source.rows * dim);
  const blockRows = Math.max(1, Math.min(source.rows, 16384, Math.floor((1 << 24) / source.cols)));
  const raw = new Float32Array(blockRows * source.cols);
  for (let r0 = 0; r0 < source.rows; r0 += blockRows) {
    throwIfAborted(ctl.signal);
    const r1 = Math.min(source.rows, r0 + blockRows);
    const rows = r1 - r0;
    await source.read(r0, r1, raw);
    for (let x = 0; x < rows * source.cols; x++) {
      if (!Number.isFinite(raw[x])) throw new UserError(`${source.label} has a non-finite value at row ${r0 + Math.floor(x / source.cols)}`);
    }
    const queries = await toSpace(projection, applyScaler(raw.subarray(0, rows * source.cols), rows, projection.scaler), rows);
    const knn = await nearestNeighbors(projection.space, k, projection.options.metric, { queries, signal: ctl.signal });
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < k; j++) {
        const t = knn.indices[i * k + j];
        for (let c = 0; c < dim; c++) out[(r0 + i) * dim + c] += projection.embedding[t * dim + c] / k;
      }
    }
    ctl.onProgress?.({ phase: 'transform', done: r1, total: source.rows });
  }
  return out;
}

/** Standardised rows -> the neighbour-search space (PCA coordinates when there is a PCA). */
async function toSpace(projection: Projection, x: Float32Array, rows: number): Promise<Matrix> {
  const { pca, cols } = projection;
  if (!pca) return { data: x, rows, cols };
  const c = pca.nComponents;
  const componentsT = new Float32Array(cols * c);
  for (let k = 0; k < c; k++) for (let i = 0; i < cols; i++) componentsT[i * c + k] = pca.components[k * cols + i];
  const mm = await session('matmul', matmulGraph);
  const out = await mm.run({ a: new ort.Tensor('float32', x, [rows, cols]), b: new ort.Tensor('float32', componentsT, [cols, c]) });
  return { data: out.c.data as Float32Array, rows, cols: c };
}
