// Exact kNN on ONNX Runtime against a brute-force search written here: Euclidean and cosine,
// rows against themselves (self excluded) and separate queries, data with many exact ties
// (integer values, duplicated rows), and bad arguments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { nearestNeighbors } from '../../src/engine/projection/knn';
import { Random } from '../../src/engine/projection/random';
import type { Matrix, Metric } from '../../src/engine/projection/types';
import { UserError } from '../../src/engine/errors';

/** Brute force in float64: sort every other row by (distance, index). */
function bruteForce(refs: Matrix, queries: Matrix | null, k: number, metric: Metric): { indices: number[][]; distances: number[][] } {
  const q = queries ?? refs;
  const d = refs.cols;
  const indices: number[][] = [];
  const distances: number[][] = [];
  for (let i = 0; i < q.rows; i++) {
    const all: [number, number][] = [];
    for (let j = 0; j < refs.rows; j++) {
      if (!queries && j === i) continue;
      let dot = 0;
      let qq = 0;
      let rr = 0;
      let sq = 0;
      for (let c = 0; c < d; c++) {
        const a = q.data[i * d + c];
        const b = refs.data[j * d + c];
        dot += a * b;
        qq += a * a;
        rr += b * b;
        sq += (a - b) * (a - b);
      }
      const dist = metric === 'euclidean' ? Math.sqrt(sq) : qq === 0 || rr === 0 ? 1 : 1 - dot / Math.sqrt(qq * rr);
      all.push([dist, j]);
    }
    all.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    indices.push(all.slice(0, k).map((x) => x[1]));
    distances.push(all.slice(0, k).map((x) => x[0]));
  }
  return { indices, distances };
}

function clustered(n: number, d: number, seed: number): Matrix {
  const rng = new Random(seed);
  const centres = Array.from({ length: 6 }, () => Array.from({ length: d }, () => 4 * rng.normal()));
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) data[i * d + c] = centres[i % 6][c] + rng.normal();
  return { data, rows: n, cols: d };
}

function assertSame(got: { indices: Int32Array; distances: Float32Array; k: number }, want: ReturnType<typeof bruteForce>, label: string): void {
  want.indices.forEach((row, i) => {
    assert.deepEqual(Array.from(got.indices.subarray(i * got.k, (i + 1) * got.k)), row, `${label}: neighbours of row ${i}`);
    row.forEach((_, c) => {
      const g = got.distances[i * got.k + c];
      const w = want.distances[i][c];
      assert.ok(Math.abs(g - w) <= 1e-5 * Math.max(1, w), `${label}: distance ${i},${c}: ${g} vs ${w}`);
    });
  });
}

for (const metric of ['euclidean', 'cosine'] as const) {
  test(`${metric}: equals brute force on clustered rows (recall 1.0, same order)`, async () => {
    // 8400 rows: two reference blocks, so candidates are merged across blocks.
    const refs = clustered(8400, 8, 1);
    const k = 10;
    const got = await nearestNeighbors(refs, k, metric);
    const sample = 120;
    const rowsToCheck = Array.from({ length: sample }, (_, s) => Math.floor((s * refs.rows) / sample));
    const want = bruteForceRows(refs, rowsToCheck, k, metric);
    assert.equal(got.rows, refs.rows);
    rowsToCheck.forEach((i, s) => {
      assert.deepEqual(Array.from(got.indices.subarray(i * k, (i + 1) * k)), want.indices[s], `row ${i}`);
    });
  });

  test(`${metric}: separate queries (no self exclusion) equal brute force`, async () => {
    const refs = clustered(700, 9, 2);
    const queries = clustered(50, 9, 3);
    const got = await nearestNeighbors(refs, 7, metric, { queries });
    assertSame(got, bruteForce(refs, queries, 7, metric), metric);
  });
}

/** Brute force for chosen rows of refs against refs (self excluded). */
function bruteForceRows(refs: Matrix, rows: number[], k: number, metric: Metric) {
  const d = refs.cols;
  const picked: Matrix = { data: new Float32Array(rows.length * d), rows: rows.length, cols: d };
  rows.forEach((i, s) => picked.data.set(refs.data.subarray(i * d, (i + 1) * d), s * d));
  // as queries, then drop each row's own index
  const withSelf = bruteForce(refs, picked, k + 1, metric);
  return {
    indices: withSelf.indices.map((row, s) => row.filter((j) => j !== rows[s]).slice(0, k)),
    distances: withSelf.distances,
  };
}

test('ties: integer data with duplicated rows gives the brute-force order (lower index first)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 12, max: 150 }),
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 0, max: 1000 }),
      fc.constantFrom<Metric>('euclidean', 'cosine'),
      async (n, d, seed, metric) => {
        const rng = new Random(seed);
        const data = new Float32Array(n * d);
        for (let i = 0; i < n; i++) {
          for (let c = 0; c < d; c++) data[i * d + c] = rng.int(4) - 1;
          // a third of the rows copy an earlier row exactly
          if (i > 0 && rng.float() < 0.33) {
            const src = rng.int(i);
            data.copyWithin(i * d, src * d, (src + 1) * d);
          }
        }
        const m = { data, rows: n, cols: d };
        const k = Math.min(n - 1, 1 + rng.int(10));
        const got = await nearestNeighbors(m, k, metric);
        assertSame(got, bruteForce(m, null, k, metric), `${metric} n=${n} d=${d}`);
      },
    ),
    { numRuns: 25 },
  );
});

test('bad arguments are one-line UserErrors', async () => {
  const m = clustered(20, 3, 4);
  await assert.rejects(nearestNeighbors(m, 20, 'euclidean'), (e: unknown) => e instanceof UserError && /less than the number of rows \(20\)/.test(e.message));
  await assert.rejects(nearestNeighbors(m, 0, 'euclidean'), UserError);
  await assert.rejects(nearestNeighbors(m, 3, 'euclidean', { queries: clustered(5, 4, 5) }), /columns/);
});
