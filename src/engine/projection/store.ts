// A fitted projection as a plain .safetensors file, readable by any safetensors reader:
//
//   embedding              F32 [N, components]  the training embedding
//   scaler.mean            F64 [D]              standardised x = (x - mean) / std
//   scaler.std             F64 [D]              the divisors (pca.ts columnScales; all 1 with standardize=false)
//   pca.components         F32 [P, D]           with PCA: orthonormal rows
//   pca.explained_variance F64 [P]              with PCA
//   pca.coords             F32 [N, P]           with PCA: the training rows' PCA coordinates,
//                                               where new rows' neighbours are searched
//   scaled                 F32 [N, D]           without PCA: the standardised training rows
//
// `__metadata__` (strings): format = "tensorscope.projection", version, n_neighbors, metric,
// min_dist, spread, seed, epochs, standardize, init, pca_components, components, a, b, rows,
// cols, total_variance, plus anything the caller adds (e.g. the source tensor).
import { UserError } from '../errors';
import { openModel, type Model } from '../safetensors/model';
import { writeSafetensors, type TensorToWrite } from '../safetensors/writer';
import { decodeElements } from '../dtype/decode';
import type { Projection } from './projection';
import { METRICS, type Metric } from './types';

export const PROJECTION_FORMAT = 'tensorscope.projection';
export const PROJECTION_VERSION = '1';

function bytesOf(a: Float32Array | Float64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** The tensors and metadata of a projection (also used by the umap command's output). */
export function projectionTensors(p: Projection, extra: Record<string, string> = {}): { tensors: TensorToWrite[]; metadata: Record<string, string> } {
  const o = p.options;
  const tensors: TensorToWrite[] = [
    { name: 'embedding', dtype: 'F32', shape: [p.rows, o.components], data: bytesOf(p.embedding) },
    { name: p.pca ? 'pca.coords' : 'scaled', dtype: 'F32', shape: [p.space.rows, p.space.cols], data: bytesOf(p.space.data) },
    { name: 'scaler.mean', dtype: 'F64', shape: [p.cols], data: bytesOf(p.scaler.mean) },
    { name: 'scaler.std', dtype: 'F64', shape: [p.cols], data: bytesOf(p.scaler.scale) },
  ];
  if (p.pca) {
    tensors.push(
      { name: 'pca.components', dtype: 'F32', shape: [p.pca.nComponents, p.cols], data: bytesOf(p.pca.components) },
      { name: 'pca.explained_variance', dtype: 'F64', shape: [p.pca.nComponents], data: bytesOf(p.pca.explainedVariance) },
    );
  }
  const metadata: Record<string, string> = {
    ...extra,
    format: PROJECTION_FORMAT,
    version: PROJECTION_VERSION,
    n_neighbors: String(o.nNeighbors),
    metric: o.metric,
    min_dist: String(o.minDist),
    spread: String(o.spread),
    seed: String(o.seed),
    epochs: String(o.epochs),
    standardize: String(o.standardize),
    init: o.init,
    components: String(o.components),
    pca_components: String(p.pca ? p.pca.nComponents : 0),
    a: String(p.a),
    b: String(p.b),
    rows: String(p.rows),
    cols: String(p.cols),
    total_variance: String(p.pca ? p.pca.totalVariance : 0),
  };
  return { tensors, metadata };
}

/** Write a projection atomically. */
export async function saveProjection(path: string, p: Projection, extra: Record<string, string> = {}): Promise<void> {
  const { tensors, metadata } = projectionTensors(p, extra);
  await writeSafetensors(path, tensors, metadata);
}

/** Read a projection written by saveProjection; a UserError when the file is not one. */
export async function loadProjection(path: string): Promise<Projection> {
  const model = await openModel(path);
  try {
    return await readProjection(model);
  } finally {
    await model.close();
  }
}

async function readProjection(model: Model): Promise<Projection> {
  const name = model.info.path.split(/[\\/]/).pop();
  const meta = model.info.metadata ?? {};
  const bad = (what: string) => new UserError(`${name}: not a tensorscope projection (${what})`);
  if (meta.format !== PROJECTION_FORMAT) throw bad('metadata "format" is missing or different');
  if (meta.version !== PROJECTION_VERSION) throw bad(`unsupported version ${JSON.stringify(meta.version)}`);
  const num = (key: string) => {
    const v = Number(meta[key]);
    if (meta[key] === undefined || !Number.isFinite(v)) throw bad(`metadata "${key}" is missing or not a number`);
    return v;
  };
  const metric = meta.metric as Metric;
  if (!METRICS.includes(metric)) throw bad(`unknown metric ${JSON.stringify(meta.metric)}`);
  const rows = num('rows');
  const cols = num('cols');
  const components = num('components');
  const pcaComponents = num('pca_components');
  const read = async (tensor: string, shape: number[], F: typeof Float32Array | typeof Float64Array) => {
    const t = model.info.tensors.find((x) => x.name === tensor);
    if (!t) throw bad(`no tensor ${JSON.stringify(tensor)}`);
    const dtype = F === Float64Array ? 'F64' : 'F32';
    if (t.dtype !== dtype || t.shape.join() !== shape.join()) {
      throw bad(`tensor ${JSON.stringify(tensor)} is ${t.dtype} [${t.shape.join(', ')}], expected ${dtype} [${shape.join(', ')}]`);
    }
    const count = shape.reduce((x, y) => x * y, 1);
    const out = new F(count);
    decodeElements(t.dtype, await model.read(t, 0, t.dataOffsets[1] - t.dataOffsets[0]), 0, count, out);
    return out;
  };
  const spaceCols = pcaComponents > 0 ? pcaComponents : cols;
  const embedding = (await read('embedding', [rows, components], Float32Array)) as Float32Array;
  const space = (await read(pcaComponents > 0 ? 'pca.coords' : 'scaled', [rows, spaceCols], Float32Array)) as Float32Array;
  const mean = (await read('scaler.mean', [cols], Float64Array)) as Float64Array;
  const scale = (await read('scaler.std', [cols], Float64Array)) as Float64Array;
  let pca: Projection['pca'] = null;
  if (pcaComponents > 0) {
    pca = {
      components: (await read('pca.components', [pcaComponents, cols], Float32Array)) as Float32Array,
      nComponents: pcaComponents,
      explainedVariance: (await read('pca.explained_variance', [pcaComponents], Float64Array)) as Float64Array,
      totalVariance: num('total_variance'),
    };
  }
  const init = meta.init === 'random' ? 'random' : 'pca';
  return {
    options: {
      nNeighbors: num('n_neighbors'),
      components,
      pca: pcaComponents,
      metric,
      minDist: num('min_dist'),
      spread: num('spread'),
      seed: num('seed'),
      epochs: num('epochs'),
      standardize: meta.standardize !== 'false',
      init,
    },
    rows,
    cols,
    scaler: { mean, scale },
    pca,
    space: { data: space, rows, cols: spaceCols },
    embedding,
    knn: null,
    a: num('a'),
    b: num('b'),
    stats: { seconds: {}, provider: '', providerNote: '', exhaustiveRows: 0 },
  };
}
