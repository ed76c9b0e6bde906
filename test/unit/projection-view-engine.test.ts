// The clustering view's engine methods through the real engine process (EngineClient under
// plain node, the projection worker bundled next to the engine as in dist/): a clustered
// tensor with a tokenizer.json next to its model is opened, projected (binary embedding,
// progress by phase, cancellation), saved; a row's values, its exact cosine neighbours, the
// cosine of two rows, colour values and token strings are checked against direct
// computations on the same numbers.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildEngineWithWorker } from './cli-build';
import { tempFolder, writeModel, rng } from './patch-helpers';
import { EngineClient, EngineError, type CancellationTokenLike } from '../../src/extension/engineClient';
import { EngineErrorCode, type EngineProgress } from '../../src/shared/protocol';
import { loadProjection } from '../../src/engine/projection/index';

const LIMIT = { timeout: 30_000 };
const dir = tempFolder('tensorscope-projection-view-');
mkdirSync(join(dir, 'model'));
const MODEL = join(dir, 'model', 'model.safetensors');

// embed: N rows in CLUSTERS clusters (row i in cluster i % CLUSTERS), D columns, F32.
const N = 240;
const D = 24;
const CLUSTERS = 4;
const random = rng(11);
const gauss = () => Math.sqrt(-2 * Math.log(Math.max(random(), 1e-12))) * Math.cos(2 * Math.PI * random());
const centres = Array.from({ length: CLUSTERS }, () => Array.from({ length: D }, () => 4 * gauss()));
const EMBED = new Float32Array(N * D);
for (let i = 0; i < N; i++) for (let c = 0; c < D; c++) EMBED[i * D + c] = centres[i % CLUSTERS][c] + gauss();
EMBED.set(EMBED.subarray(5 * D, 6 * D), 9 * D); // rows 5 and 9 are equal: a tie the neighbours must order by index
const TOKENS = Array.from({ length: N }, (_, i) => (i % 7 === 0 ? `Ġword${i}` : `tok${i}`));
TOKENS[3] = 'héllo wörld ✓'; // non-ASCII survives the UTF-8 blob

writeModel(MODEL, [
  { name: 'embed', dtype: 'F32', shape: [N, D], data: new Uint8Array(EMBED.buffer) },
  { name: 'other', dtype: 'F32', shape: [16, 8], data: new Uint8Array(16 * 8 * 4) },
  { name: 'bias', dtype: 'F32', shape: [8], data: new Uint8Array(32) },
]);
writeFileSync(
  join(dir, 'model', 'tokenizer.json'),
  JSON.stringify({
    version: '1.0',
    added_tokens: [{ id: N - 1, content: '<|end|>', special: true }],
    model: { type: 'BPE', vocab: Object.fromEntries(TOKENS.slice(0, N - 1).map((t, i) => [t, i])), merges: [] },
  }),
);
TOKENS[N - 1] = '<|end|>';

let client: EngineClient;
after(() => client?.dispose());
async function engine(): Promise<EngineClient> {
  if (client) return client;
  const cli = await buildEngineWithWorker();
  client = new EngineClient({ enginePath: cli });
  return client;
}

async function rejects(p: Promise<unknown>, code: number, message: RegExp): Promise<void> {
  const err = await p.then(() => assert.fail('expected a rejection'), (e: unknown) => e);
  assert.ok(err instanceof EngineError, String(err));
  assert.equal(err.code, code, err.message);
  assert.ok(!err.message.includes('\n'), `one line: ${err.message}`);
  assert.match(err.message, message);
}

const f32 = (b: Uint8Array) => new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
const i32 = (b: Uint8Array) => new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4);
const row = (r: number) => EMBED.subarray(r * D, (r + 1) * D);

/** Cosine distances of every other row to row r in float64, sorted (distance, then index). */
function bruteForceCosine(r: number): { index: number; distance: number }[] {
  const q = row(r);
  const out: { index: number; distance: number }[] = [];
  for (let j = 0; j < N; j++) {
    if (j === r) continue;
    const x = row(j);
    let qx = 0;
    let qq = 0;
    let xx = 0;
    for (let c = 0; c < D; c++) {
      qx += q[c] * x[c];
      qq += q[c] * q[c];
      xx += x[c] * x[c];
    }
    out.push({ index: j, distance: 1 - qx / Math.sqrt(qq * xx) });
  }
  return out.sort((a, b) => a.distance - b.distance || a.index - b.index);
}

let opened: Promise<string> | undefined;
async function open(): Promise<string> {
  opened ??= (async () => (await (await engine()).request('projectionOpen', { path: MODEL, tensor: 'embed' })).projectionId)();
  return opened;
}

test('open: rows, columns and the tokens of the tokenizer.json next to the model', LIMIT, async () => {
  const c = await engine();
  const info = await c.request('projectionOpen', { path: MODEL, tensor: 'embed' });
  assert.deepEqual([info.rows, info.cols, info.dtype, info.tensor, info.path], [N, D, 'F32', 'embed', MODEL]);
  assert.deepEqual(info.tokens, { count: N, model: 'BPE', file: join(dir, 'model', 'tokenizer.json') });
  await c.request('projectionClose', { projectionId: info.projectionId });
  await rejects(c.request('projectionRow', { projectionId: info.projectionId, row: 0, maxPoints: 10 }), EngineErrorCode.NotFound, /unknown projection id/);

  // Another tensor of the same model: the tokenizer does not fit its rows, and says so.
  const other = await c.request('projectionOpen', { path: MODEL, tensor: 'other' });
  assert.equal(other.tokens, null);
  assert.match(other.tokenizerNote ?? '', /tokenizer\.json has 240 tokens and other 16 rows/);
  await rejects(c.request('projectionTokenSearch', { projectionId: other.projectionId, query: 'tok', limit: 5 }), EngineErrorCode.BadInput, /other has no tokens/);
  await c.request('projectionClose', { projectionId: other.projectionId });

  await rejects(c.request('projectionOpen', { path: MODEL, tensor: 'bias' }), EngineErrorCode.BadInput, /model\.safetensors: tensor "bias" has shape \[8\]; a projection needs a 2-D tensor/);
  await rejects(c.request('projectionOpen', { path: join(dir, 'nope.safetensors'), tensor: 'x' }), EngineErrorCode.BadInput, /nope\.safetensors/);
});

test('fit: float32 embedding bytes (N x components), progress by phase, clusters kept apart; save writes a projection file', LIMIT, async () => {
  const c = await engine();
  const projectionId = await open();
  const phases = new Set<string>();
  const fit = await c.request('projectionFit', { projectionId, options: { nNeighbors: 10, metric: 'cosine', pca: 8, components: 2, seed: 3 } }, undefined, (p: EngineProgress) => {
    if (p.message) phases.add(p.message);
  });
  assert.ok(fit.embedding instanceof Uint8Array);
  assert.equal(fit.embedding.byteLength, N * 2 * 4);
  assert.deepEqual([fit.rows, fit.components], [N, 2]);
  for (const phase of ['pca', 'knn', 'graph', 'layout']) assert.ok(phases.has(phase), `progress reports phase ${phase}: ${[...phases]}`);
  const xy = f32(fit.embedding);
  assert.ok(xy.every(Number.isFinite));
  // Every point's nearest embedded point is in its own cluster.
  let same = 0;
  for (let i = 0; i < N; i++) {
    let best = -1;
    let bestD = Infinity;
    for (let j = 0; j < N; j++) {
      if (j === i) continue;
      const d = (xy[2 * i] - xy[2 * j]) ** 2 + (xy[2 * i + 1] - xy[2 * j + 1]) ** 2;
      if (d < bestD) [best, bestD] = [j, d];
    }
    if (best % CLUSTERS === i % CLUSTERS) same++;
  }
  assert.ok(same / N > 0.95, `nearest embedded point in the same cluster for ${same}/${N}`);

  const target = join(dir, 'embed.projection.safetensors');
  const saved = await c.request('projectionSave', { projectionId, path: target });
  assert.equal(saved.path, target);
  const back = await loadProjection(target);
  assert.deepEqual([back.rows, back.cols, back.options.components, back.options.metric, back.options.nNeighbors], [N, D, 2, 'cosine', 10]);
  assert.deepEqual(back.embedding, xy);

  const three = await c.request('projectionFit', { projectionId, options: { nNeighbors: 10, metric: 'euclidean', pca: 0, components: 3, seed: 3 } });
  assert.equal(three.embedding.byteLength, N * 3 * 4);
  await rejects(c.request('projectionFit', { projectionId, options: { nNeighbors: 1, metric: 'cosine', pca: 8, components: 2, seed: 0 } }), EngineErrorCode.BadInput, /neighbors must be an integer from 2/);
});

test('fit: cancelling rejects at once and the engine goes on answering', LIMIT, async () => {
  const c = await engine();
  const projectionId = await open();
  let cancel!: () => void;
  const listeners: (() => void)[] = [];
  const token: CancellationTokenLike = {
    isCancellationRequested: false,
    onCancellationRequested(l) {
      listeners.push(l);
      return { dispose() {} };
    },
  };
  cancel = () => {
    (token as { isCancellationRequested: boolean }).isCancellationRequested = true;
    for (const l of listeners) l();
  };
  const fit = c.request('projectionFit', { projectionId, options: { nNeighbors: 15, metric: 'euclidean', pca: 8, components: 2, seed: 1 } }, token, (p) => {
    if (p.message === 'knn' || p.message === 'layout') cancel();
  });
  await rejects(fit, EngineErrorCode.Cancelled, /cancelled/);
  const r = await c.request('projectionCosine', { projectionId, a: 0, b: 0 });
  assert.ok(Math.abs((r.cosine ?? 0) - 1) < 1e-12);
});

test('neighbours by cosine equal a brute-force float64 reference (row itself left out, ties by index)', LIMIT, async () => {
  const c = await engine();
  const projectionId = await open();
  for (const [r, k] of [[0, 10], [5, 6], [9, 6], [123, 30], [N - 1, N - 1]] as const) {
    const got = await c.request('projectionNeighbors', { projectionId, row: r, k });
    const indices = [...i32(got.indices)];
    const distances = f32(got.distances);
    const ref = bruteForceCosine(r).slice(0, k);
    assert.deepEqual(indices, ref.map((x) => x.index), `neighbours of row ${r}`);
    for (let j = 0; j < k; j++) assert.ok(Math.abs(distances[j] - ref[j].distance) < 1e-5, `row ${r} neighbour ${j}: ${distances[j]} vs ${ref[j].distance}`);
  }
  const five = await c.request('projectionNeighbors', { projectionId, row: 5, k: 1 });
  assert.deepEqual([...i32(five.indices)], [9], 'the equal row is the nearest');
  await rejects(c.request('projectionNeighbors', { projectionId, row: N, k: 3 }), EngineErrorCode.BadInput, /row 240 is outside model\.safetensors: tensor "embed" \(rows 0 to 239\)/);
  await rejects(c.request('projectionNeighbors', { projectionId, row: 0, k: 0 }), EngineErrorCode.BadInput, /k must be an integer/);
});

test('row colours: norms and a column equal direct computation; cosine of two rows', LIMIT, async () => {
  const c = await engine();
  const projectionId = await open();
  const norms = await c.request('projectionColors', { projectionId, coloring: { by: 'norm' } });
  const values = f32(norms.values);
  assert.equal(values.length, N);
  let lo = Infinity;
  let hi = -Infinity;
  for (let r = 0; r < N; r++) {
    const expected = Math.hypot(...row(r));
    assert.ok(Math.abs(values[r] - expected) <= 1e-6 * expected, `norm of row ${r}: ${values[r]} vs ${expected}`);
    lo = Math.min(lo, values[r]);
    hi = Math.max(hi, values[r]);
  }
  assert.deepEqual([norms.min, norms.max, norms.label], [lo, hi, '‖row‖₂']);
  const column = await c.request('projectionColors', { projectionId, coloring: { by: 'column', column: 7 } });
  assert.deepEqual(f32(column.values), Float32Array.from({ length: N }, (_, r) => EMBED[r * D + 7]));
  await rejects(c.request('projectionColors', { projectionId, coloring: { by: 'column', column: D } }), EngineErrorCode.BadInput, /column 24 is outside/);

  const cos = await c.request('projectionCosine', { projectionId, a: 4, b: 17 });
  const expected = 1 - bruteForceCosine(4).find((x) => x.index === 17)!.distance;
  assert.ok(Math.abs((cos.cosine ?? NaN) - expected) < 1e-12, `${cos.cosine} vs ${expected}`);
});

test('row values: exact when narrow, min/max buckets when wider than the screen', LIMIT, async () => {
  const c = await engine();
  const projectionId = await open();
  const exact = await c.request('projectionRow', { projectionId, row: 17, maxPoints: 100 });
  assert.deepEqual([exact.row, exact.cols, exact.bucket], [17, D, 1]);
  assert.deepEqual(f32(exact.lo), row(17));
  assert.deepEqual(f32(exact.hi), row(17));
  assert.ok(Math.abs(exact.norm - Math.hypot(...row(17))) < 1e-9);
  const coarse = await c.request('projectionRow', { projectionId, row: 17, maxPoints: 5 });
  assert.equal(coarse.bucket, 5); // ceil(24 / 5)
  const lo = f32(coarse.lo);
  const hi = f32(coarse.hi);
  assert.equal(lo.length, 5);
  for (let b = 0; b < 5; b++) {
    const part = [...row(17).subarray(b * 5, Math.min(D, (b + 1) * 5))];
    assert.deepEqual([lo[b], hi[b]], [Math.min(...part), Math.max(...part)]);
  }
});

test('tokens: every row’s string as a UTF-8 blob with uint32 ends; search over them', LIMIT, async () => {
  const c = await engine();
  const projectionId = await open();
  const t = await c.request('projectionTokens', { projectionId });
  assert.equal(t.count, N);
  const ends = new Uint32Array(t.ends.buffer, t.ends.byteOffset, t.count);
  const decoder = new TextDecoder();
  const strings = Array.from({ length: t.count }, (_, i) => decoder.decode(t.text.subarray(i === 0 ? 0 : ends[i - 1], ends[i])));
  assert.deepEqual(strings, TOKENS);

  const found = await c.request('projectionTokenSearch', { projectionId, query: 'word7', limit: 3 });
  assert.deepEqual(found.matches[0], { id: 7, token: 'Ġword7' });
  assert.equal(found.total, TOKENS.filter((s) => s.toLowerCase().includes('word7')).length);
  assert.equal(found.matches.length, 3);
  assert.deepEqual((await c.request('projectionTokenSearch', { projectionId, query: '<|end|>', limit: 5 })).matches, [{ id: N - 1, token: '<|end|>' }]);
});
