// UMAP end to end on generated clusters: separation, determinism for a seed, 3-D, placement
// of new rows, the saved projection read back by the project's reader, the worker thread
// (same result, progress, cancellation), and umap-learn's curve parameters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fitProjection, loadProjection, placeRows, projectMatrix, saveProjection, matrixSource, type Projection } from '../../src/engine/projection/index';
import { findAbParams } from '../../src/engine/projection/curve';
import { fuzzySimplicialSet } from '../../src/engine/projection/fuzzyGraph';
import { optimizeLayout } from '../../src/engine/projection/layout';
import { Random } from '../../src/engine/projection/random';
import { openModel } from '../../src/engine/safetensors/model';
import { CancelledError } from '../../src/engine/errors';

const tmp = mkdtempSync(join(tmpdir(), 'tensorscope-umap-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

const CLUSTERS = 4;

/** Gaussian clusters in d dimensions; row i belongs to cluster i % CLUSTERS. */
function clusters(n: number, d: number, seed: number, centresSeed = 100) {
  const crng = new Random(centresSeed);
  const centres = Array.from({ length: CLUSTERS }, () => Array.from({ length: d }, () => 3 * crng.normal()));
  const rng = new Random(seed);
  const data = new Float32Array(n * d);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % CLUSTERS;
    for (let c = 0; c < d; c++) data[i * d + c] = centres[labels[i]][c] + rng.normal();
  }
  return { matrix: { data, rows: n, cols: d }, labels };
}

/** Fraction of each point's 10 nearest embedded neighbours that share its cluster. */
function purity(embedding: Float32Array, dim: number, labels: Int32Array): number {
  const n = labels.length;
  let same = 0;
  for (let i = 0; i < n; i++) {
    const d: [number, number][] = [];
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      let s = 0;
      for (let c = 0; c < dim; c++) s += (embedding[i * dim + c] - embedding[j * dim + c]) ** 2;
      d.push([s, j]);
    }
    d.sort((a, b) => a[0] - b[0]);
    for (let t = 0; t < 10; t++) if (labels[d[t][1]] === labels[i]) same++;
  }
  return same / (n * 10);
}

const train = clusters(480, 60, 1);
const options = { pca: 20, epochs: 150, seed: 7 };
let fitted: Promise<Projection> | undefined;
const fit2d = () => (fitted ??= fitProjection(matrixSource(train.matrix), options));

test('2-D: clusters are separated (10-NN purity >= 0.95) and the result is deterministic for a seed', async () => {
  const p = await fit2d();
  assert.equal(p.embedding.length, 480 * 2);
  assert.ok(p.embedding.every(Number.isFinite));
  const score = purity(p.embedding, 2, train.labels);
  assert.ok(score >= 0.95, `purity ${score}`);
  const again = await fitProjection(matrixSource(train.matrix), options);
  assert.deepEqual(again.embedding, p.embedding);
  const otherSeed = await fitProjection(matrixSource(train.matrix), { ...options, seed: 8 });
  assert.notDeepEqual(otherSeed.embedding, p.embedding);
});

test('3-D works and separates the clusters too', async () => {
  const p = await fitProjection(matrixSource(train.matrix), { ...options, components: 3, metric: 'cosine' });
  assert.equal(p.embedding.length, 480 * 3);
  const score = purity(p.embedding, 3, train.labels);
  assert.ok(score >= 0.95, `purity ${score}`);
});

test('new rows land in their own cluster (mean embedding of their nearest training rows)', async () => {
  const p = await fit2d();
  const held = clusters(40, 60, 2);
  const placed = await placeRows(p, matrixSource(held.matrix));
  // centre of each cluster in the training embedding
  const centre = Array.from({ length: CLUSTERS }, () => [0, 0, 0]);
  for (let i = 0; i < p.rows; i++) {
    const c = centre[train.labels[i]];
    c[0] += p.embedding[2 * i];
    c[1] += p.embedding[2 * i + 1];
    c[2]++;
  }
  for (let i = 0; i < held.labels.length; i++) {
    const x = placed[2 * i];
    const y = placed[2 * i + 1];
    const nearest = centre
      .map((c, l) => [Math.hypot(x - c[0] / c[2], y - c[1] / c[2]), l])
      .sort((a, b) => a[0] - b[0])[0][1];
    assert.equal(nearest, held.labels[i], `held-out row ${i}`);
  }
});

test('saved projection: plain safetensors with the expected tensors and metadata; loads back and places rows the same', async () => {
  const p = await fit2d();
  const file = join(tmp, 'projection.safetensors');
  await saveProjection(file, p, { source_tensor: 'acts' });
  const model = await openModel(file);
  try {
    const shapes = Object.fromEntries(model.info.tensors.map((t) => [t.name, `${t.dtype} [${t.shape.join(', ')}]`]));
    assert.deepEqual(shapes, {
      embedding: 'F32 [480, 2]',
      'pca.coords': 'F32 [480, 20]',
      'pca.components': 'F32 [20, 60]',
      'pca.explained_variance': 'F64 [20]',
      'scaler.mean': 'F64 [60]',
      'scaler.std': 'F64 [60]',
    });
    const meta = model.info.metadata!;
    assert.equal(meta.format, 'tensorscope.projection');
    assert.deepEqual(
      [meta.version, meta.n_neighbors, meta.metric, meta.min_dist, meta.seed, meta.pca_components, meta.source_tensor],
      ['1', '15', 'euclidean', '0.1', '7', '20', 'acts'],
    );
    const bytes = await model.read(model.tensor('embedding'), 0, 480 * 2 * 4);
    assert.deepEqual(new Float32Array(bytes.buffer, bytes.byteOffset, 480 * 2), p.embedding);
  } finally {
    await model.close();
  }
  const loaded = await loadProjection(file);
  assert.deepEqual(loaded.embedding, p.embedding);
  assert.deepEqual(loaded.options, p.options);
  const held = clusters(10, 60, 3);
  assert.deepEqual(await placeRows(loaded, matrixSource(held.matrix)), await placeRows(p, matrixSource(held.matrix)));
});

test('worker thread: the same embedding as in this thread, progress reported, cancellation terminates', async () => {
  const p = await fit2d();
  const phases = new Set<string>();
  const inWorker = await projectMatrix(train.matrix, options, { onProgress: (q) => phases.add(q.phase) });
  assert.deepEqual(inWorker.embedding, p.embedding);
  for (const phase of ['scale', 'pca', 'knn', 'layout']) assert.ok(phases.has(phase), `progress for ${phase}`);
  const controller = new AbortController();
  const started = Date.now();
  const run = projectMatrix(train.matrix, { ...options, epochs: 100_000 }, {
    signal: controller.signal,
    onProgress: (q) => q.phase === 'layout' && controller.abort(),
  });
  await assert.rejects(run, CancelledError);
  assert.ok(Date.now() - started < 20_000);
});

test('layout: two threads (a worker and this one) give exactly the single-thread result', async () => {
  const p = await fit2d();
  const graph = fuzzySimplicialSet(p.knn!, 15);
  const start = new Float64Array(480 * 2).map((_, i) => (i * 7919) % 1000 / 100);
  const results: Float64Array[] = [];
  for (const threads of [1, 2] as const) {
    const e = Float64Array.from(start);
    await optimizeLayout(e, graph, { dim: 2, epochs: 40, a: p.a, b: p.b, seed: 5, threads });
    results.push(e);
  }
  assert.deepEqual(results[1], results[0]);
  assert.notDeepEqual(results[0], start);
});

test("curve parameters equal umap-learn's find_ab_params", () => {
  // umap-learn 0.5: find_ab_params(1.0, 0.1) = (1.5769434603113077, 0.8950608779109733)
  const { a, b } = findAbParams(1, 0.1);
  assert.ok(Math.abs(a - 1.5769434603113077) < 1e-5 && Math.abs(b - 0.8950608779109733) < 1e-5, `${a} ${b}`);
});
