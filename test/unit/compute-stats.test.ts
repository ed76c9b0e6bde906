import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TensorStats } from '../../src/shared/protocol';
import { CancelledError, UserError } from '../../src/engine/errors';
import { openModel } from '../../src/engine/safetensors/model';
import { EXACT_QUANTILES, QUANTILE_PS, tensorStats } from '../../src/engine/compute/stats';
import { normals, rng, tempModel, withAndWithoutSimd } from './compute-helpers';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

/** Naive reference: plain loops over the stored values, numpy's histogram edges and quantiles. */
function reference(values: number[], bins = 64) {
  const finite = values.filter((x) => Number.isFinite(x));
  const nan = values.filter((x) => Number.isNaN(x)).length;
  const inf = values.length - finite.length - nan;
  const zeros = values.filter((x) => x === 0).length;
  if (finite.length === 0) return { nan, inf, zeros, finite, min: null, max: null, mean: null, std: null, counts: null };
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const x of finite) {
    min = Math.min(min, x);
    max = Math.max(max, x);
    sum += x;
  }
  const mean = sum / finite.length;
  let m2 = 0;
  for (const x of finite) m2 += (x - mean) ** 2;
  const std = Math.sqrt(m2 / finite.length);
  const counts = new Array(bins).fill(0);
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? max : min + (i * (max - min)) / bins));
  for (const x of finite) {
    let b = bins - 1;
    while (b > 0 && x < edges[b]) b--;
    counts[b]++;
  }
  return { nan, inf, zeros, finite, min, max, mean, std, counts };
}

function sortedQuantile(sorted: number[], p: number): number {
  const pos = p * (sorted.length - 1);
  const lo = Math.floor(pos);
  return lo + 1 < sorted.length ? sorted[lo] + (pos - lo) * (sorted[lo + 1] - sorted[lo]) : sorted[lo];
}

function relClose(got: number | null, want: number | null, rel: number, what: string): void {
  if (want === null || got === null) return assert.equal(got, want, what);
  assert.ok(Math.abs(got - want) <= rel * Math.abs(want) + 1e-300, `${what}: got ${got}, want ${want}`);
}

function checkAgainst(stats: TensorStats, values: number[], what: string, bins = 64, binFraction = 1): void {
  const ref = reference(values, bins);
  assert.equal(stats.numel, values.length, `${what} numel`);
  assert.deepEqual([stats.nan, stats.inf, stats.zeros], [ref.nan, ref.inf, ref.zeros], `${what} counts`);
  assert.equal(stats.min, ref.min, `${what} min`);
  assert.equal(stats.max, ref.max, `${what} max`);
  relClose(stats.mean, ref.mean, 1e-12, `${what} mean`);
  relClose(stats.std, ref.std, 1e-12, `${what} std`);
  assert.equal(stats.histogram.counts.length, bins);
  if (ref.counts && ref.min !== ref.max) {
    assert.deepEqual(stats.histogram.counts, ref.counts, `${what} histogram`);
    const sorted = [...ref.finite].sort((a, b) => a - b);
    // Exact for small tensors, else within one fine histogram bin (or the given fraction of one).
    const width = sorted.length <= EXACT_QUANTILES ? 0 : (binFraction * ((ref.max as number) - (ref.min as number))) / 4096;
    for (const [p, q] of stats.quantiles) {
      const want = sortedQuantile(sorted, p);
      assert.ok(Math.abs(q - want) <= width * (1 + 1e-9), `${what} quantile ${p}: got ${q}, want ${want} (bin ${width})`);
    }
    assert.deepEqual(stats.quantiles.map(([p]) => p), QUANTILE_PS);
  }
}

test('stats of every tensor of the reference fixture match ref_mixed.stats.json', async () => {
  const want = JSON.parse(readFileSync(join(FIXTURES, 'ref_mixed.stats.json'), 'utf8')) as Record<string, Record<string, unknown>>;
  const model = await openModel(join(FIXTURES, 'ref_mixed.safetensors'));
  try {
    assert.equal(Object.keys(want).length, model.info.tensors.length);
    for (const [name, w] of Object.entries(want)) {
      const t = model.tensor(name);
      const s = await tensorStats(model, t);
      assert.deepEqual(t.shape, w.shape, name);
      assert.deepEqual([s.numel, s.nan, s.inf, s.zeros], [w.numel, w.nan, w.inf, w.zeros], `${name} counts`);
      assert.equal(s.min, w.min, `${name} min`);
      assert.equal(s.max, w.max, `${name} max`);
      relClose(s.mean, w.mean as number | null, 1e-9, `${name} mean`);
      relClose(s.std, w.std as number | null, 1e-9, `${name} std`);
      const finite = (w.numel as number) - (w.nan as number) - (w.inf as number);
      assert.equal(s.histogram.counts.reduce((a, b) => a + b, 0), finite, `${name} histogram total`);
      if (finite > 0) {
        assert.equal(s.quantiles[0][1], w.min);
        assert.equal(s.quantiles[s.quantiles.length - 1][1], w.max);
      }
    }
  } finally {
    await model.close();
  }
});

test('stats: special values across chunk boundaries, small chunks equal one big chunk', async () => {
  const n = 1000;
  const values = normals(n, 7, 3, 1);
  // Chunks of 64 bytes hold 16 F32 elements: put specials on both sides of several boundaries.
  for (const [i, v] of [[15, NaN], [16, Infinity], [31, -0], [32, 0], [47, -Infinity], [48, NaN], [0, NaN], [999, Infinity], [500, 3e4], [501, -3e4]] as const) values[i] = v;
  const { model, stored, cleanup } = await tempModel([
    { name: 'f32', dtype: 'F32', shape: [20, 50], values },
    { name: 'bf16', dtype: 'BF16', shape: [1000], values },
    { name: 'f64', dtype: 'F64', shape: [10, 10, 10], values },
  ]);
  try {
    await withAndWithoutSimd(async (path) => {
      for (const name of ['f32', 'bf16', 'f64']) {
        const t = model.tensor(name);
        const small = await tensorStats(model, t, { chunkBytes: 64 });
        const odd = await tensorStats(model, t, { chunkBytes: 40, bins: 10 });
        const big = await tensorStats(model, t);
        checkAgainst(small, stored.get(name)!, `${name} small chunks (${path})`);
        checkAgainst(odd, stored.get(name)!, `${name} odd chunks (${path})`, 10);
        checkAgainst(big, stored.get(name)!, `${name} one chunk (${path})`);
        assert.deepEqual(small.histogram, big.histogram);
      }
    });
  } finally {
    await cleanup();
  }
});

test('stats: all-NaN, empty, scalar, constant and integer dtypes', async () => {
  const r = rng(3);
  const ints = Array.from({ length: 777 }, () => Math.floor(r() * 200) - 100);
  const { model, stored, cleanup } = await tempModel([
    { name: 'nan', dtype: 'F16', shape: [3, 3], values: new Array(9).fill(NaN) },
    { name: 'inf', dtype: 'F32', shape: [2], values: [Infinity, -Infinity] },
    { name: 'empty', dtype: 'BF16', shape: [4, 0], values: [] },
    { name: 'scalar', dtype: 'F64', shape: [], values: [-2.5] },
    { name: 'const', dtype: 'I32', shape: [50], values: new Array(50).fill(7) },
    { name: 'i16', dtype: 'I16', shape: [777], values: ints },
    { name: 'u32', dtype: 'U32', shape: [777], values: ints.map((x) => x + 4e9 / 2) },
    { name: 'i64', dtype: 'I64', shape: [7, 111], values: ints.map((x) => x * 1e9) },
    { name: 'u8', dtype: 'U8', shape: [777], values: ints.map((x) => x + 100) },
    { name: 'bool', dtype: 'BOOL', shape: [777], values: ints.map((x) => (x > 10 ? 1 : 0)) },
    { name: 'f4', dtype: 'F4', shape: [776], values: ints.slice(0, 776).map((x) => x / 20) },
    { name: 'f6', dtype: 'F6_E3M2', shape: [776], values: ints.slice(0, 776).map((x) => x / 7) },
    { name: 'e4m3', dtype: 'F8_E4M3', shape: [777], values: ints.map((x) => x / 3) },
  ]);
  try {
    const nan = await tensorStats(model, model.tensor('nan'));
    assert.deepEqual([nan.numel, nan.nan, nan.inf, nan.min, nan.max, nan.mean, nan.std, nan.quantiles], [9, 9, 0, null, null, null, null, []]);
    assert.deepEqual(nan.histogram.counts, new Array(64).fill(0));
    const inf = await tensorStats(model, model.tensor('inf'));
    assert.deepEqual([inf.inf, inf.mean, inf.std], [2, null, null]);
    const empty = await tensorStats(model, model.tensor('empty'));
    assert.deepEqual([empty.numel, empty.nan, empty.min, empty.mean], [0, 0, null, null]);
    const scalar = await tensorStats(model, model.tensor('scalar'));
    assert.deepEqual([scalar.numel, scalar.min, scalar.max, scalar.mean, scalar.std], [1, -2.5, -2.5, -2.5, 0]);
    const cst = await tensorStats(model, model.tensor('const'), { bins: 5 });
    assert.deepEqual(cst.histogram, { min: 6.5, max: 7.5, counts: [0, 0, 50, 0, 0] }); // numpy's convention
    assert.ok(cst.quantiles.every(([, q]) => q === 7));
    await withAndWithoutSimd(async (path) => {
      for (const name of ['i16', 'u32', 'i64', 'u8', 'bool', 'f4', 'f6', 'e4m3']) {
        const t = model.tensor(name);
        checkAgainst(await tensorStats(model, t, { chunkBytes: 48 }), stored.get(name)!, `${name} (48-byte chunks, ${path})`);
        checkAgainst(await tensorStats(model, t, { bins: 7 }), stored.get(name)!, `${name} (7 bins, ${path})`, 7);
      }
    });
  } finally {
    await cleanup();
  }
});

test('stats: F64 values near ±max do not overflow the histogram', async () => {
  const values = [-1.7e308, 1.7e308, 0, 1e308, -1e308, 5];
  const { model, stored, cleanup } = await tempModel([{ name: 'x', dtype: 'F64', shape: [6], values }]);
  try {
    const s = await tensorStats(model, model.tensor('x'), { bins: 4 });
    // Edges -1.7e308, -0.85e308, 0, 0.85e308, 1.7e308 (the naive reference overflows here).
    assert.deepEqual(s.histogram.counts, [2, 0, 2, 2]);
    assert.deepEqual(stored.get('x'), values);
    assert.equal(s.min, -1.7e308);
  } finally {
    await cleanup();
  }
});

test('stats: quantiles of a large normal sample are within one fine bin of the exact ones', async () => {
  const values = normals(EXACT_QUANTILES + 3000, 11, 0.02, 5); // large offset, small spread: tests the variance method too
  values[77] = 9; // an outlier widens the bins
  const { model, stored, cleanup } = await tempModel([{ name: 'w', dtype: 'F32', shape: [values.length], values }]);
  try {
    await withAndWithoutSimd(async (path) => {
      // Smooth data fills each bin nearly uniformly: the estimates land within a tenth of a bin.
      checkAgainst(await tensorStats(model, model.tensor('w'), { chunkBytes: 65536 }), stored.get('w')!, `normal (${path})`, 64, 0.1);
    });
  } finally {
    await cleanup();
  }
});

test('stats: progress in bytes, cancellation, bad bins', async () => {
  const { model, cleanup } = await tempModel([{ name: 'w', dtype: 'F32', shape: [4096], values: normals(4096, 1) }]);
  try {
    const t = model.tensor('w');
    const seen: [number, number][] = [];
    await tensorStats(model, t, { chunkBytes: 1024, onProgress: (d, n) => seen.push([d, n]) });
    assert.ok(seen.length >= 32);
    assert.deepEqual(seen[seen.length - 1], [2 * 16384, 2 * 16384]);
    assert.ok(seen.every(([d], i) => i === 0 || d > seen[i - 1][0]));

    const ac = new AbortController();
    let calls = 0;
    const run = tensorStats(model, t, { chunkBytes: 1024, signal: ac.signal, onProgress: () => ++calls === 3 && ac.abort() });
    await assert.rejects(run, CancelledError);
    assert.ok(calls < 32);
    for (const bins of [0, 1.5, -3, 1e9]) await assert.rejects(tensorStats(model, t, { bins }), UserError);
  } finally {
    await cleanup();
  }
});
