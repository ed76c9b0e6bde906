// Standardisation + PCA against a naive reference written here: the covariance matrix of the
// scaled columns (divisor: the median deviation of the varying columns, or a quarter of the
// column's own when wider) and its leading eigenvectors by power iteration with deflation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fitPca } from '../../src/engine/projection/pca';
import { matrixSource, tensorSource } from '../../src/engine/projection/rowSource';
import { Random } from '../../src/engine/projection/random';
import { openModel } from '../../src/engine/safetensors/model';
import { writeSafetensors } from '../../src/engine/safetensors/writer';
import { UserError } from '../../src/engine/errors';

const tmp = mkdtempSync(join(tmpdir(), 'tensorscope-pca-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

/** Correlated columns with a decaying spectrum, offsets and unequal scales. */
function data(n: number, d: number, seed: number): Float32Array {
  const rng = new Random(seed);
  const mix = Array.from({ length: d * d }, () => rng.normal());
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const z = Array.from({ length: d }, (_, j) => rng.normal() * (1 + 8 / (j + 1)));
    for (let c = 0; c < d; c++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += mix[c * d + t] * z[t];
      x[i * d + c] = s * (1 + c) + 3 * c;
    }
  }
  return x;
}

/** Column divisors of the standardisation: max(median deviation of varying columns, own / 4). */
function referenceScales(x: Float32Array, n: number, d: number): number[] {
  const stds: number[] = [];
  for (let c = 0; c < d; c++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += x[i * d + c] / n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (x[i * d + c] - mean) ** 2 / n;
    stds.push(Math.sqrt(v));
  }
  const varying = stds.filter((s) => s > 1e-9).sort((a, b) => a - b);
  const median = varying[Math.floor(varying.length / 2)];
  return stds.map((s) => (s > 1e-9 ? Math.max(median, s / 4) : 1));
}

/** Reference: covariance of standardised columns, top eigenpairs by power iteration + deflation. */
function referencePca(x: Float32Array, n: number, d: number, count: number, standardize = true) {
  const mean = new Float64Array(d);
  const std = standardize ? referenceScales(x, n, d) : new Array<number>(d).fill(1);
  for (let c = 0; c < d; c++) {
    for (let i = 0; i < n; i++) mean[c] += x[i * d + c] / n;
  }
  const cov = new Float64Array(d * d);
  for (let a = 0; a < d; a++) {
    for (let b = 0; b < d; b++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += ((x[i * d + a] - mean[a]) / std[a]) * ((x[i * d + b] - mean[b]) / std[b]);
      cov[a * d + b] = s / (n - 1);
    }
  }
  let trace = 0;
  for (let a = 0; a < d; a++) trace += cov[a * d + a];
  const values: number[] = [];
  const vectors: Float64Array[] = [];
  for (let k = 0; k < count; k++) {
    let v = new Float64Array(d).map((_, i) => 1 + i * 0.01 * (k + 1));
    let lambda = 0;
    for (let iter = 0; iter < 5000; iter++) {
      const w = new Float64Array(d);
      for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) w[a] += cov[a * d + b] * v[b];
      const norm = Math.hypot(...w);
      const next = w.map((t) => t / norm);
      const change = Math.hypot(...next.map((t, i) => t - v[i]));
      v = next;
      lambda = norm;
      if (change < 1e-13) break;
    }
    values.push(lambda);
    vectors.push(v);
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) cov[a * d + b] -= lambda * v[a] * v[b];
  }
  return { values, vectors, trace };
}

function checkAgainstReference(model: Awaited<ReturnType<typeof fitPca>>['model'], ref: ReturnType<typeof referencePca>, d: number, tol: number) {
  const c = model.nComponents;
  // orthonormal rows
  for (let a = 0; a < c; a++) {
    for (let b = 0; b < c; b++) {
      let s = 0;
      for (let i = 0; i < d; i++) s += model.components[a * d + i] * model.components[b * d + i];
      assert.ok(Math.abs(s - (a === b ? 1 : 0)) < 1e-5, `components ${a}.${b} = ${s}`);
    }
  }
  for (let k = 0; k < c; k++) {
    const rel = Math.abs(model.explainedVariance[k] - ref.values[k]) / ref.values[k];
    assert.ok(rel < tol, `variance ${k}: ${model.explainedVariance[k]} vs ${ref.values[k]}`);
    let dot = 0;
    for (let i = 0; i < d; i++) dot += model.components[k * d + i] * ref.vectors[k][i];
    assert.ok(Math.abs(Math.abs(dot) - 1) < 1e-3, `component ${k} direction: |cos| = ${Math.abs(dot)}`);
  }
}

test('exact path (columns <= components + 10): variances and directions equal the reference', async () => {
  const [n, d] = [300, 12];
  const x = data(n, d, 1);
  const { model, coords } = await fitPca(matrixSource({ data: x, rows: n, cols: d }), { components: 4 });
  const ref = referencePca(x, n, d, 4);
  checkAgainstReference(model, ref, d, 1e-6);
  // coordinates are the standardised rows times the components
  for (const i of [0, 17, n - 1]) {
    for (let k = 0; k < 4; k++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += ((x[i * d + c] - model.scaler.mean[c]) / model.scaler.scale[c]) * model.components[k * d + c];
      assert.ok(Math.abs(coords.data[i * 4 + k] - s) < 1e-4 * Math.max(1, Math.abs(s)), `coords ${i},${k}`);
    }
  }
  assert.ok(Math.abs(model.totalVariance - ref.trace) < 1e-9 * ref.trace, `total variance ${model.totalVariance} vs ${ref.trace}`);
});

test('standardising: spreads relative to the typical column, capped at 4 times it, none scaled up', async () => {
  // Column deviations 0.001, 1, 1, 1, 2, 50 and a constant: the typical (median) one is 1.
  const spreads = [0.001, 1, 1, 1, 2, 50, 0];
  const [n, d] = [500, spreads.length];
  const rng = new Random(11);
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) x[i * d + c] = 5 + spreads[c] * (i % 2 === 0 ? 1 : -1) * (1 + 0.01 * rng.normal());
  const { model } = await fitPca(matrixSource({ data: x, rows: n, cols: d }), { components: 2 });
  const expected = referenceScales(x, n, d);
  for (let c = 0; c < d; c++) assert.ok(Math.abs(model.scaler.scale[c] - expected[c]) < 1e-9 * expected[c], `scale ${c}: ${model.scaler.scale[c]} vs ${expected[c]}`);
  const scaledStd = (c: number) => Math.sqrt(Array.from({ length: n }, (_, i) => ((x[i * d + c] - model.scaler.mean[c]) / model.scaler.scale[c]) ** 2).reduce((a, b) => a + b) / n);
  const typical = scaledStd(1);
  assert.ok(Math.abs(typical - 1) < 0.02, `typical column keeps its spread over the median: ${typical}`);
  assert.ok(Math.abs(scaledStd(0) / typical - 0.001) < 1e-4, 'the nearly constant column is not scaled up');
  assert.ok(Math.abs(scaledStd(4) / typical - 2) < 0.02, 'a column twice as wide stays twice as wide');
  assert.ok(Math.abs(scaledStd(5) / typical - 4) < 0.02, 'a column 50 times as wide is brought down to 4 times');
  assert.equal(model.scaler.scale[6], 1, 'constant column');
});

test('randomized path (columns > components + 10): leading variances match the reference', async () => {
  const [n, d] = [400, 40];
  const x = data(n, d, 2);
  const { model } = await fitPca(matrixSource({ data: x, rows: n, cols: d }), { components: 5, seed: 3 });
  checkAgainstReference(model, referencePca(x, n, d, 5), d, 1e-4);
});

test('--no-scale: only centred', async () => {
  const [n, d] = [200, 8];
  const x = data(n, d, 4);
  const { model } = await fitPca(matrixSource({ data: x, rows: n, cols: d }), { components: 3, standardize: false });
  assert.ok(Array.from(model.scaler.scale).every((s) => s === 1));
  checkAgainstReference(model, referencePca(x, n, d, 3, false), d, 1e-6);
});

test('streamed from a BF16 tensor in a file equals PCA of the decoded rows; deterministic for a seed', async () => {
  const [n, d] = [250, 30];
  const x = data(n, d, 5);
  const bf16 = new Uint16Array(n * d);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  const decoded = new Float32Array(n * d);
  for (let i = 0; i < n * d; i++) {
    f[0] = x[i];
    bf16[i] = u[0] >>> 16;
    u[0] = bf16[i] << 16;
    decoded[i] = f[0];
  }
  const file = join(tmp, 'bf16.safetensors');
  await writeSafetensors(file, [{ name: 'acts', dtype: 'BF16', shape: [n, d], data: new Uint8Array(bf16.buffer) }]);
  const model = await openModel(file);
  try {
    const fromFile = await fitPca(tensorSource(model, 'acts'), { components: 3, seed: 9 });
    const again = await fitPca(tensorSource(model, 'acts'), { components: 3, seed: 9 });
    const inMemory = await fitPca(matrixSource({ data: decoded, rows: n, cols: d }), { components: 3, seed: 9 });
    assert.deepEqual(fromFile.model.components, inMemory.model.components);
    assert.deepEqual(fromFile.coords.data, again.coords.data);
  } finally {
    await model.close();
  }
});

test('bad input: non-finite values, too many components, a tensor that is not 2-D', async () => {
  const x = data(50, 6, 6);
  x[7 * 6 + 2] = NaN;
  await assert.rejects(fitPca(matrixSource({ data: x, rows: 50, cols: 6 }, 'acts'), { components: 2 }), (e: unknown) => e instanceof UserError && /row 7, column 2/.test(e.message));
  await assert.rejects(fitPca(matrixSource({ data: data(50, 6, 7), rows: 50, cols: 6 }), { components: 7 }), UserError);
  const file = join(tmp, 'vec.safetensors');
  await writeSafetensors(file, [{ name: 'v', dtype: 'F32', shape: [2, 3, 4], data: new Uint8Array(96) }]);
  const model = await openModel(file);
  try {
    assert.throws(() => tensorSource(model, 'v'), (e: unknown) => e instanceof UserError && /shape \[2, 3, 4\].*2-D/.test(e.message));
  } finally {
    await model.close();
  }
});
