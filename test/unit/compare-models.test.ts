// compareModels on generated models: every metric checked against a naive whole-array
// reference written here; added / removed / dtype / shape changes; identical models; the
// byte-compare fast path across chunk boundaries; progress and cancellation; layoutsMatch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DType } from '../../src/shared/dtypes';
import type { TensorDiffMetrics } from '../../src/shared/protocol';
import { compareModels } from '../../src/engine/compare/compareModels';
import { layoutsMatch } from '../../src/engine/compare/layout';
import { decodeElements } from '../../src/engine/dtype/decode';
import { CancelledError } from '../../src/engine/errors';
import { openModel, type Model } from '../../src/engine/safetensors/model';
import { writeSafetensors, type TensorToWrite } from '../../src/engine/safetensors/writer';

const dir = mkdtempSync(join(tmpdir(), 'tensorscope-compare-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function f32(values: ArrayLike<number>): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

function randomBytes(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
}

function randomF32(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => r() * 4 - 2);
}

let fileCounter = 0;
async function model(tensors: TensorToWrite[], metadata?: Record<string, string>): Promise<Model> {
  const path = join(dir, `m${fileCounter++}.safetensors`);
  await writeSafetensors(path, tensors, metadata);
  return openModel(path);
}

/** Every value of a tensor (C64 as interleaved re, im), decoded in one go. */
async function allValues(m: Model, name: string): Promise<Float64Array> {
  const t = m.tensor(name);
  const bytes = await m.read(t, 0, t.dataOffsets[1] - t.dataOffsets[0]);
  const numel = t.shape.reduce((a, b) => a * b, 1);
  const out = new Float64Array(t.dtype === 'C64' ? 2 * numel : numel);
  if (t.dtype === 'C64') decodeElements('F32', bytes, 0, 2 * numel, out);
  else decodeElements(t.dtype, bytes, 0, numel, out);
  return out;
}

/** The metrics the obvious way: whole arrays, one element (or complex pair) at a time. */
function naiveMetrics(a: Float64Array, b: Float64Array, components: number): TensorDiffMetrics {
  let differing = 0, nonFinite = 0, finitePairs = 0, maxAbs = 0, sumAbs = 0, d2 = 0, a2 = 0, b2 = 0, dot = 0;
  const xa = new Array<number>(components);
  const xb = new Array<number>(components);
  for (let i = 0; i < a.length; i += components) {
    for (let k = 0; k < components; k++) {
      xa[k] = a[i + k];
      xb[k] = b[i + k];
    }
    const equal = xa.every((v, k) => v === xb[k] || (Number.isNaN(v) && Number.isNaN(xb[k])));
    if (xa.every(Number.isFinite) && xb.every(Number.isFinite)) {
      finitePairs++;
      const diff = xa.map((v, k) => xb[k] - v);
      const abs = Math.sqrt(diff.reduce((s, v) => s + v * v, 0));
      if (!equal) differing++;
      maxAbs = Math.max(maxAbs, abs);
      sumAbs += abs;
      d2 += diff.reduce((s, v) => s + v * v, 0);
      a2 += xa.reduce((s, v) => s + v * v, 0);
      b2 += xb.reduce((s, v) => s + v * v, 0);
      dot += xa.reduce((s, v, k) => s + v * xb[k], 0);
    } else if (!equal) {
      differing++;
      nonFinite++;
    }
  }
  return {
    differing,
    nonFinite,
    finitePairs,
    maxAbs,
    meanAbs: finitePairs ? sumAbs / finitePairs : null,
    relative: a2 > 0 ? Math.sqrt(d2) / Math.sqrt(a2) : d2 === 0 ? 0 : null,
    cosine: a2 > 0 && b2 > 0 ? dot / Math.sqrt(a2 * b2) : null,
  };
}

function assertMetricsClose(actual: TensorDiffMetrics | undefined, expected: TensorDiffMetrics, what: string): void {
  assert.ok(actual, `${what}: metrics missing`);
  for (const key of ['differing', 'nonFinite', 'finitePairs', 'maxAbs'] as const) {
    assert.equal(actual[key], expected[key], `${what}: ${key}`);
  }
  for (const key of ['meanAbs', 'relative', 'cosine'] as const) {
    const x: number | null = actual[key];
    const y: number | null = expected[key];
    if (x === null || y === null) assert.equal(x, y, `${what}: ${key}`);
    else assert.ok(Math.abs(x - y) <= 1e-12 * Math.max(1, Math.abs(y)), `${what}: ${key} ${x} vs ${y}`);
  }
}

test('metrics of changed tensors match a naive reference, for several dtypes and chunk paths', async () => {
  const big = randomF32(3_000_000, 1); // 12 MB: three read chunks
  const bigLate = Float32Array.from(big);
  bigLate[2_900_000] += 0.5; // first difference in the last chunk: the equal prefix is re-read
  bigLate[2_999_999] = -7;
  const bigEarly = Float32Array.from(big);
  bigEarly[3] = 100; // only the first chunk differs: later chunks take the equal path
  const special = f32([1, 2, NaN, Infinity, -0, 3, NaN, -Infinity, 5, 0]);
  const special2 = f32([1, 2.5, NaN, 4, 0, -Infinity, 1, -Infinity, 5, NaN]);
  const bf16 = randomBytes(2 * 5000, 2);
  const bf16b = Uint8Array.from(bf16);
  for (let i = 0; i < bf16b.length; i += 97) bf16b[i] ^= 0x35;
  const i64 = new Uint8Array(new BigInt64Array([1n, -5n, 1n << 40n, 7n]).buffer);
  const i64b = new Uint8Array(new BigInt64Array([1n, -6n, (1n << 40n) + 3n, 7n]).buffer);
  const c64 = f32([1, 2, 3, 4, 5, 6]);
  const c64b = f32([1, 2, 3, 4.5, -5, 6]);
  const f4 = randomBytes(1000, 3); // 2000 packed elements
  const f4b = Uint8Array.from(f4);
  f4b[10] ^= 0x0f;
  f4b[999] ^= 0xf0;
  const f6 = randomBytes(3 * 300, 4);
  const f6b = Uint8Array.from(f6);
  f6b[450] ^= 0x3f;
  const zeroA = f32([0, 0, 0]);
  const zeroB = f32([0, 1, 0]);

  const tensorsA: TensorToWrite[] = [
    { name: 'big.late', dtype: 'F32', shape: [3000, 1000], data: f32(big) },
    { name: 'big.early', dtype: 'F32', shape: [3_000_000], data: f32(big) },
    { name: 'special', dtype: 'F32', shape: [10], data: special },
    { name: 'bf16', dtype: 'BF16', shape: [50, 100], data: bf16 },
    { name: 'i64', dtype: 'I64', shape: [4], data: i64 },
    { name: 'c64', dtype: 'C64', shape: [3], data: c64 },
    { name: 'f4', dtype: 'F4', shape: [2000], data: f4 },
    { name: 'f6', dtype: 'F6_E3M2', shape: [1200], data: f6 },
    { name: 'zero', dtype: 'F32', shape: [3], data: zeroA },
  ];
  const changed: Record<string, Uint8Array> = {
    'big.late': f32(bigLate),
    'big.early': f32(bigEarly),
    special: special2,
    bf16: bf16b,
    i64: i64b,
    c64: c64b,
    f4: f4b,
    f6: f6b,
    zero: zeroB,
  };
  const a = await model(tensorsA);
  const b = await model(tensorsA.map((t) => ({ ...t, data: changed[t.name] })));
  try {
    const result = await compareModels(a, b);
    assert.deepEqual(result.counts, { changed: 9, dtype: 0, shape: 0, added: 0, removed: 0, unchanged: 0 });
    for (const t of tensorsA) {
      const entry = result.tensors.find((e) => e.name === t.name)!;
      assert.equal(entry.change, 'changed', t.name);
      const expected = naiveMetrics(await allValues(a, t.name), await allValues(b, t.name), t.dtype === 'C64' ? 2 : 1);
      assertMetricsClose(entry.metrics, expected, t.name);
    }
    // Spot checks that the reference itself says what we think.
    const late = result.tensors.find((e) => e.name === 'big.late')!.metrics!;
    assert.equal(late.differing, 2);
    assert.equal(late.maxAbs, Math.abs(-7 - big[2_999_999]));
    const sp = result.tensors.find((e) => e.name === 'special')!.metrics!;
    // 2 -> 2.5 differs (finite); Inf -> 4, 3 -> -Inf, NaN -> 1, 0 -> NaN are non-finite changes;
    // NaN -> NaN, -Inf -> -Inf and -0 -> 0 are equal.
    assert.equal(sp.differing, 5);
    assert.equal(sp.nonFinite, 4);
    assert.equal(sp.maxAbs, 0.5);
    const zero = result.tensors.find((e) => e.name === 'zero')!.metrics!;
    assert.equal(zero.relative, null); // ‖A‖ = 0, ‖Δ‖ > 0
    assert.equal(zero.cosine, null);
    const c = result.tensors.find((e) => e.name === 'c64')!.metrics!;
    assert.equal(c.differing, 2);
    assert.equal(c.maxAbs, 10); // |(-5+6j) - (5+6j)|
    // Both files once, plus the identical chunks before big.late's first difference, again from A.
    assert.equal(result.bytesRead, 2 * tensorsA.reduce((s, t) => s + t.data.length, 0) + prefixBytes());
  } finally {
    await a.close();
    await b.close();
  }
});

function prefixBytes(): number {
  const chunk = 4 * 1024 * 1024; // F32 read chunk
  return Math.floor((2_900_000 * 4) / chunk) * chunk;
}

test('added, removed, dtype and shape changes; unchanged tensors are not decoded', async () => {
  const x = f32([1, 2, 3, 4, 5, 6]);
  const a = await model(
    [
      { name: 'same', dtype: 'F32', shape: [2, 3], data: x },
      { name: 'gone', dtype: 'F32', shape: [6], data: x },
      { name: 'recast', dtype: 'F32', shape: [6], data: x },
      { name: 'reshaped', dtype: 'F32', shape: [2, 3], data: x },
      { name: 'empty', dtype: 'F32', shape: [0, 4], data: new Uint8Array(0) },
    ],
    { format: 'pt', note: 'a' },
  );
  const b = await model(
    [
      { name: 'same', dtype: 'F32', shape: [2, 3], data: x },
      { name: 'new', dtype: 'BF16', shape: [2], data: new Uint8Array(4) },
      { name: 'recast', dtype: 'I32', shape: [6], data: x },
      { name: 'reshaped', dtype: 'F32', shape: [3, 2], data: x },
      { name: 'empty', dtype: 'F32', shape: [0, 4], data: new Uint8Array(0) },
    ],
    { format: 'pt', extra: '1' },
  );
  try {
    const r = await compareModels(a, b);
    assert.deepEqual(
      r.tensors.map((t) => [t.name, t.change]),
      [
        ['empty', 'unchanged'],
        ['gone', 'removed'],
        ['new', 'added'],
        ['recast', 'dtype'],
        ['reshaped', 'shape'],
        ['same', 'unchanged'],
      ],
    );
    assert.deepEqual(r.counts, { changed: 0, dtype: 1, shape: 1, added: 1, removed: 1, unchanged: 2 });
    assert.deepEqual(r.tensors.find((t) => t.name === 'recast')!.a, { dtype: 'F32', shape: [6] });
    assert.deepEqual(r.tensors.find((t) => t.name === 'recast')!.b, { dtype: 'I32', shape: [6] });
    assert.equal(r.tensors.find((t) => t.name === 'new')!.a, null);
    assert.deepEqual(r.metadataChanged, ['extra', 'note']);
    assert.equal(r.bytesRead, 2 * x.length); // only 'same' was read
    assert.ok(r.tensors.every((t) => t.metrics === undefined));
  } finally {
    await a.close();
    await b.close();
  }
});

test('identical models: nothing changed, progress reaches the total', async () => {
  const tensors: TensorToWrite[] = [
    { name: 'w', dtype: 'F32', shape: [1_500_000], data: f32(randomF32(1_500_000, 9)) },
    { name: 'b', dtype: 'F16', shape: [100], data: randomBytes(200, 10) },
  ];
  const a = await model(tensors);
  const b = await model(tensors);
  try {
    const steps: [number, number][] = [];
    const r = await compareModels(a, b, { onProgress: (done, total) => steps.push([done, total]) });
    assert.deepEqual(r.counts, { changed: 0, dtype: 0, shape: 0, added: 0, removed: 0, unchanged: 2 });
    assert.deepEqual(r.metadataChanged, []);
    const total = 2 * (6_000_000 + 200);
    assert.equal(r.bytesRead, total);
    assert.deepEqual(steps.at(-1), [total, total]);
    assert.ok(steps.length >= 3, 'progress is reported per chunk');
    for (let i = 1; i < steps.length; i++) assert.ok(steps[i][0] > steps[i - 1][0]);
  } finally {
    await a.close();
    await b.close();
  }
});

test('cancellation stops the comparison with CancelledError', async () => {
  const data = f32(randomF32(3_000_000, 11));
  const a = await model([{ name: 'w', dtype: 'F32', shape: [3_000_000], data }]);
  const b = await model([{ name: 'w', dtype: 'F32', shape: [3_000_000], data }]);
  try {
    const controller = new AbortController();
    let calls = 0;
    await assert.rejects(
      compareModels(a, b, {
        signal: controller.signal,
        onProgress: () => {
          if (++calls === 1) controller.abort();
        },
      }),
      CancelledError,
    );
    assert.equal(calls, 1);
  } finally {
    await a.close();
    await b.close();
  }
});

test('layoutsMatch names the first layout difference', async () => {
  const t = (name: string, dtype: DType, shape: number[]): TensorToWrite => ({
    name,
    dtype,
    shape,
    data: new Uint8Array((shape.reduce((x, y) => x * y, 1) * (dtype === 'F32' ? 4 : 2))),
  });
  const base = await model([t('a', 'F32', [2, 3]), t('b', 'F32', [4])], { note: 'x' });
  const sameButValues = await model([{ ...t('a', 'F32', [2, 3]), data: f32([1, 2, 3, 4, 5, 6]) }, t('b', 'F32', [4])], { note: 'longer metadata' });
  const cases: [Model, string | null][] = [
    [sameButValues, null],
    [await model([t('a', 'F32', [3, 2]), t('b', 'F32', [4])]), 'tensor "a": shape [2, 3] in A, [3, 2] in B'],
    [await model([t('a', 'F32', [2, 3]), t('b', 'F16', [4])]), 'tensor "b": dtype F32 in A, F16 in B'],
    [await model([t('a', 'F32', [2, 3])]), 'tensor "b" is only in A'],
    [await model([t('a', 'F32', [2, 3]), t('b', 'F32', [4]), t('c', 'F32', [1])]), 'tensor "c" is only in B'],
  ];
  try {
    for (const [other, expected] of cases) assert.equal(layoutsMatch(base.info, other.info), expected);
    // Same names, dtypes and shapes at other data offsets (another writer's order).
    const [ta, tb] = base.info.tensors;
    const swapped = {
      ...base.info,
      tensors: [
        { ...tb, dataOffsets: [0, 16] as [number, number], fileOffset: tb.fileOffset - 24 },
        { ...ta, dataOffsets: [16, 40] as [number, number], fileOffset: ta.fileOffset + 16 },
      ],
    };
    assert.equal(layoutsMatch(base.info, swapped), 'tensor "a": at data offset 0 in A, 16 in B');
    assert.equal(layoutsMatch(base.info, { ...base.info, files: [...base.info.files, base.info.files[0]] }), 'A has 1 file, B has 2');
  } finally {
    await base.close();
    for (const [m] of cases) await m.close();
  }
});

test('a sharded model compares tensor by tensor with a single file of the same tensors', async () => {
  const w = f32(randomF32(1000, 21));
  const b = f32(randomF32(10, 22));
  const single = await model([
    { name: 'w', dtype: 'F32', shape: [1000], data: w },
    { name: 'b', dtype: 'F32', shape: [10], data: b },
  ]);
  const shardDir = mkdtempSync(join(dir, 'sharded-'));
  const changedB = Float32Array.from(new Float32Array(b.buffer));
  changedB[9] = 1000;
  await writeSafetensors(join(shardDir, 'model-00001-of-00002.safetensors'), [{ name: 'w', dtype: 'F32', shape: [1000], data: w }]);
  await writeSafetensors(join(shardDir, 'model-00002-of-00002.safetensors'), [{ name: 'b', dtype: 'F32', shape: [10], data: new Uint8Array(changedB.buffer) }]);
  const index = join(shardDir, 'model.safetensors.index.json');
  writeFileSync(index, JSON.stringify({ metadata: {}, weight_map: { w: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } }));
  const sharded = await openModel(index);
  try {
    const r = await compareModels(single, sharded);
    assert.deepEqual(r.tensors.map((t) => [t.name, t.change]), [['b', 'changed'], ['w', 'unchanged']]);
    assert.equal(r.tensors[0].metrics!.maxAbs, 1000 - new Float32Array(b.buffer)[9]);
    assert.equal(layoutsMatch(single.info, sharded.info), 'A has 1 file, B has 2');
  } finally {
    await single.close();
    await sharded.close();
  }
});
