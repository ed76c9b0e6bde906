// The clustering view's exact cosine neighbours of one row (CosineScanner): the same rows as
// the engine's batched exact search (nearestNeighbors) and as a brute force in the test, with
// the rows cached in memory or streamed block by block; zero rows, equal rows, k beyond the
// rows, non-finite values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CosineScanner, bucketRow } from '../../src/engine/rows/rowData';
import { nearestNeighbors } from '../../src/engine/projection/knn';
import { matrixSource } from '../../src/engine/projection/rowSource';
import { UserError } from '../../src/engine/errors';
import { rng } from './patch-helpers';

function randomRows(n: number, d: number, seed: number): Float32Array {
  const r = rng(seed);
  const data = new Float32Array(n * d);
  for (let i = 0; i < data.length; i++) data[i] = r() * 2 - 1 + (Math.floor(i / d) % 5 === 0 ? 0.5 : 0);
  return data;
}

test('same neighbours and distances as the engine’s batched exact search (cached and streamed rows)', async () => {
  const n = 1500;
  const d = 37; // not a multiple of the scan's unrolling
  const data = randomRows(n, d, 5);
  const m = { data, rows: n, cols: d };
  const cached = new CosineScanner(matrixSource(m));
  const streamed = new CosineScanner(matrixSource(m), 0);
  const k = 20;
  const queries = [0, 1, 777, n - 1];
  const batch = await nearestNeighbors(m, k, 'cosine'); // every row against the others
  for (const q of queries) {
    const expected = [...batch.indices.subarray(q * k, (q + 1) * k)];
    for (const [name, scanner] of [['cached', cached], ['streamed', streamed]] as const) {
      const got = await scanner.nearest(q, k);
      assert.deepEqual([...got.indices], expected, `${name}: row ${q}`);
      for (let j = 0; j < k; j++) assert.ok(Math.abs(got.distances[j] - batch.distances[q * k + j]) < 1e-6, `${name}: row ${q} distance ${j}`);
    }
  }
});

test('equal rows tie by index, a zero row is at distance 1 from all, k is capped at the other rows', async () => {
  const d = 4;
  const data = Float32Array.from([1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 1, 0, 0, 3, 0, 0, 0, 0, 1, 0, 0]);
  const scanner = new CosineScanner(matrixSource({ data, rows: 6, cols: d }));
  const r = await scanner.nearest(0, 10);
  assert.deepEqual([...r.indices], [2, 4, 3, 1, 5]); // 2 and 4 both at 0; then 45°; then the zero row and the orthogonal row at 1
  assert.deepEqual([...r.distances].map((x) => Number(x.toFixed(6))), [0, 0, Number((1 - Math.SQRT1_2).toFixed(6)), 1, 1]);
  const zero = await scanner.nearest(1, 3);
  assert.deepEqual([...zero.distances], [1, 1, 1]);
  assert.deepEqual([...zero.indices], [0, 2, 3]);
});

test('a non-finite value is a one-line UserError naming where it is', async () => {
  const data = randomRows(10, 3, 1);
  data[7 * 3 + 2] = NaN;
  for (const limit of [undefined, 0]) {
    const scanner = new CosineScanner(matrixSource({ data, rows: 10, cols: 3 }, 'm.safetensors: tensor "e"'), limit);
    await assert.rejects(scanner.nearest(0, 3), (e: unknown) => e instanceof UserError && /m\.safetensors: tensor "e" has a non-finite value \(NaN\) at row 7, column 2/.test(e.message));
  }
});

test('bucketRow: min and max per bucket, the last bucket shorter, NaN only when a bucket is all NaN', () => {
  const v = Float32Array.from([1, 5, -2, 3, NaN, NaN, 7]);
  const b = bucketRow(v, 3);
  assert.equal(b.bucket, 3);
  assert.deepEqual([...b.lo], [-2, 3, 7]);
  assert.deepEqual([...b.hi], [5, 3, 7]);
  const all = bucketRow(Float32Array.from([NaN, NaN, 1]), 2);
  assert.deepEqual([...all.lo], [NaN, 1]);
  assert.equal(bucketRow(v, 100).bucket, 1);
});
