// The projection engine: standardise -> PCA -> exact kNN (ONNX Runtime) -> UMAP, for the
// activation explorer, the CLI (umap, pca, knn) and the engine server.
//
// API (all long operations take `ctl: { signal?: AbortSignal, onProgress?(p) }` where
// p = { phase: 'scale'|'pca'|'knn'|'graph'|'layout'|'transform', done, total }; an aborted
// signal rejects with CancelledError, bad input with a one-line UserError):
//
//   projectRows(model: Model, tensorName: string, options?: ProjectionOptions, ctl?, edits?: ByteEdit[])
//       -> Promise<Projection>
//     Fits a projection of the rows of a 2-D tensor [N, D] (any real dtype) in a worker
//     thread (the file is reopened there by model.info.path, and `edits`, the tensor's
//     edited byte ranges, are laid over what it reads). Cancelling terminates it.
//   projectMatrix(m: Matrix, options?, ctl?) -> Promise<Projection>      (worker thread)
//   fitProjection(source: RowSource, options?, ctl?) -> Promise<Projection> (this thread)
//
//   ProjectionOptions: { nNeighbors = 15 (counting the point, as umap-learn), components = 2
//     (2 | 3), pca = 50 (0 = none), metric = 'euclidean' | 'cosine', minDist = 0.1,
//     spread = 1, seed = 0, epochs = defaultEpochs(N) (500, down to 200 above 7,500 rows),
//     standardize = true (centred; scaled so no column is wider than 4x the typical one and
//     none is scaled up: pca.ts columnScales), init = 'pca' | 'random' }
//   Projection: { embedding: Float32Array [rows x options.components], rows, cols, options
//     (resolved), scaler { mean, scale }, pca { components [P x D], explainedVariance,
//     totalVariance } | null, space: Matrix (training rows in the kNN space), knn: Neighbors
//     (the exact training kNN; null when loaded), a, b,
//     stats { seconds per phase, provider, providerNote, exhaustiveRows } }
//
//   placeRows(projection, source: RowSource, ctl?) -> Promise<Float32Array [rows x components]>
//     New rows at the mean embedding of their exact n_neighbors nearest training rows.
//   saveProjection(path, projection, extraMetadata?) -> Promise<void>   (atomic .safetensors)
//   loadProjection(path) -> Promise<Projection>   (file layout: see store.ts)
//
//   fitPca(source, { components, standardize?, seed?, powerIterations?, ...ctl })
//       -> Promise<{ model: PcaModel, coords: Matrix [N x components] }>
//   nearestNeighbors(refs: Matrix, k, metric, { queries?: Matrix, ...ctl })
//       -> Promise<Neighbors { rows, k, indices: Int32Array, distances: Float32Array, exhaustiveRows }>
//     Exact; without queries, the rows against themselves excluding self; ties by lower index.
//
//   tensorSource(model, tensorName, edits?) -> RowSource   (UserError unless a 2-D real tensor)
//   matrixSource(m: Matrix) -> RowSource;  readAllRows(source) -> Promise<Matrix>
import type { Model } from '../safetensors/model';
import { fitInWorker, workerAvailable } from './inWorker';
import { fitProjection, type Projection, type ProjectionOptions } from './projection';
import { matrixSource, tensorSource, type ByteEdit } from './rowSource';
import type { Matrix, RunControl } from './types';

export { defaultEpochs, fitProjection, placeRows, resolveOptions } from './projection';
export { workerAvailable } from './inWorker';
export type { Projection, ProjectionOptions, ResolvedOptions } from './projection';
export { saveProjection, loadProjection, projectionTensors, PROJECTION_FORMAT, PROJECTION_VERSION } from './store';
export { fitPca, applyScaler, MAX_COMPONENTS } from './pca';
export type { PcaModel, Scaler } from './pca';
export { nearestNeighbors } from './knn';
export type { Neighbors } from './knn';
export { tensorSource, matrixSource, readAllRows } from './rowSource';
export type { ByteEdit, RowSource } from './rowSource';
export { METRICS } from './types';
export type { Matrix, Metric, ProjectionProgress, RunControl } from './types';
export { providerInfo } from './ort';

/**
 * Fit a projection of a tensor's rows, with `edits` laid over its bytes, in a worker thread.
 * The worker gets a copy of the edits as they are now (workerData is cloned at once), so
 * edits made during the fit do not reach it.
 */
export function projectRows(model: Model, tensorName: string, options: ProjectionOptions = {}, ctl: RunControl = {}, edits: readonly ByteEdit[] = []): Promise<Projection> {
  const source = tensorSource(model, tensorName, edits); // bad input fails here, before a worker starts
  if (!workerAvailable()) return fitProjection(source, options, ctl);
  // A view into a larger buffer (the hunks of a loaded patch file) would carry all of it along.
  const own = edits.map((e) => (e.bytes.byteLength === e.bytes.buffer.byteLength ? e : { offset: e.offset, bytes: e.bytes.slice() }));
  return fitInWorker({ kind: 'tensor', path: model.info.path, tensor: tensorName, edits: own, options }, ctl);
}

/** Fit a projection of rows held in memory, in a worker thread (the data is copied to it). */
export function projectMatrix(m: Matrix, options: ProjectionOptions = {}, ctl: RunControl = {}): Promise<Projection> {
  if (!workerAvailable()) return fitProjection(matrixSource(m), options, ctl);
  return fitInWorker({ kind: 'matrix', data: m.data, rows: m.rows, cols: m.cols, label: 'matrix', options }, ctl);
}
