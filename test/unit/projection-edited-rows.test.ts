// The clustering view projects what the model editor shows: a tensor opened for projecting
// with the modelId of an open model (the editor's EditableModel in the real engine process)
// reads its rows through that model's edits, as they are at each request. An edit made
// after opening, undo and revert all show in the row values, colours, neighbours and
// cosines; a fit (in the bundled worker, which reopens the file and lays the tensor's edited
// bytes over it) places a row copied into another cluster in that cluster; the saved
// projection says it was fitted with edits. Opened by path, the rows stay the file on disk.
// Also: tensorSource with edits over a packed 4-bit tensor equals the same bytes written out.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildEngineWithWorker } from './cli-build';
import { tempFolder, writeModel, rng, randomBytes } from './patch-helpers';
import { EngineClient, EngineError } from '../../src/extension/engineClient';
import { EngineErrorCode, type DocumentEdit } from '../../src/shared/protocol';
import { loadProjection, tensorSource } from '../../src/engine/projection/index';
import { openModel } from '../../src/engine/safetensors/model';

const LIMIT = { timeout: 30_000 };
const dir = tempFolder('tensorscope-projection-edits-');
mkdirSync(join(dir, 'model'));
const MODEL = join(dir, 'model', 'model.safetensors');

// embed: N rows in CLUSTERS well separated clusters (row i in cluster i % CLUSTERS), F32.
const N = 160;
const D = 16;
const CLUSTERS = 4;
const random = rng(5);
const gauss = () => Math.sqrt(-2 * Math.log(Math.max(random(), 1e-12))) * Math.cos(2 * Math.PI * random());
const centres = Array.from({ length: CLUSTERS }, () => Array.from({ length: D }, () => 6 * gauss()));
const EMBED = new Float32Array(N * D);
for (let i = 0; i < N; i++) for (let c = 0; c < D; c++) EMBED[i * D + c] = centres[i % CLUSTERS][c] + gauss();
writeModel(MODEL, [
  { name: 'embed', dtype: 'F32', shape: [N, D], data: new Uint8Array(EMBED.buffer) },
  { name: 'other', dtype: 'F32', shape: [4, 4], data: new Uint8Array(64) },
]);

let client: EngineClient;
after(() => client?.dispose());
async function engine(): Promise<EngineClient> {
  if (client) return client;
  const cli = await buildEngineWithWorker();
  client = new EngineClient({ enginePath: cli });
  return client;
}

const f32 = (b: Uint8Array) => new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
const i32 = (b: Uint8Array) => [...new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4)];
const hex = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');
const rowOf = (m: Float32Array, r: number) => m.subarray(r * D, (r + 1) * D);
const zeroRow = (r: number): DocumentEdit => ({ type: 'region', tensor: 'embed', slice: '[:, :]', rect: { row0: r, row1: r + 1, col0: 0, col1: D }, op: { kind: 'zero' } });
/** Row `to` gets the values of row `from` (raw bytes, as the hex view writes them). */
const copyRow = (from: number, to: number): DocumentEdit => ({ type: 'bytes', tensor: 'embed', offset: to * D * 4, hex: hex(rowOf(EMBED, from)) });

/** The k nearest other rows of `m` to row r by cosine, ties by index (brute force, float64). */
function cosineNeighbours(m: Float32Array, r: number, k: number): number[] {
  const q = rowOf(m, r);
  const dist = (j: number) => {
    const x = rowOf(m, j);
    let qx = 0;
    let qq = 0;
    let xx = 0;
    for (let c = 0; c < D; c++) [qx, qq, xx] = [qx + q[c] * x[c], qq + q[c] * q[c], xx + x[c] * x[c]];
    return qq === 0 || xx === 0 ? 1 : 1 - qx / Math.sqrt(qq * xx);
  };
  return Array.from({ length: N }, (_, j) => j)
    .filter((j) => j !== r)
    .map((j) => ({ j, d: dist(j) }))
    .sort((a, b) => a.d - b.d || a.j - b.j)
    .slice(0, k)
    .map((x) => x.j);
}

/** The rows as the editor shows them after `edits` (applied here to a copy of EMBED). */
function edited(change: (m: Float32Array) => void): Float32Array {
  const m = EMBED.slice();
  change(m);
  return m;
}

/** The row nearest to row i in a 2-D embedding. */
function nearestEmbedded(xy: Float32Array, i: number): number {
  let best = -1;
  let bestD = Infinity;
  for (let j = 0; j < xy.length / 2; j++) {
    if (j === i) continue;
    const d = (xy[2 * i] - xy[2 * j]) ** 2 + (xy[2 * i + 1] - xy[2 * j + 1]) ** 2;
    if (d < bestD) [best, bestD] = [j, d];
  }
  return best;
}

test('rows read through the open model follow its edits, undo and revert; opened by path they stay the file', LIMIT, async () => {
  const c = await engine();
  const { handle } = await c.openModel(MODEL);
  try {
    const fromModel = await c.request('projectionOpen', { path: MODEL, tensor: 'embed', modelId: handle });
    const fromFile = await c.request('projectionOpen', { path: MODEL, tensor: 'embed' });
    assert.deepEqual([fromModel.withEdits, fromFile.withEdits, fromModel.path, fromModel.rows, fromModel.cols], [true, false, MODEL, N, D]);
    const id = fromModel.projectionId;
    const row = async (projectionId: string, r: number) => f32((await c.request('projectionRow', { projectionId, row: r, maxPoints: D })).lo);
    const near = async (projectionId: string, r: number, k = 6) => i32((await c.request('projectionNeighbors', { projectionId, row: r, k })).indices);

    // Before any edit: the file. The neighbour scan keeps these rows in memory now.
    assert.deepEqual(await row(id, 7), rowOf(EMBED, 7));
    assert.deepEqual(await near(id, 3), cosineNeighbours(EMBED, 3, 6));

    // Zero row 7 and put row 1's values (cluster 1) into row 3 (cluster 3), after opening.
    const zero = await c.request('edit', { modelId: handle, edit: zeroRow(7) });
    const copy = await c.request('edit', { modelId: handle, edit: copyRow(1, 3) });
    const now = edited((m) => {
      m.fill(0, 7 * D, 8 * D);
      m.set(rowOf(EMBED, 1), 3 * D);
    });
    assert.deepEqual(await row(id, 7), new Float32Array(D));
    assert.deepEqual(await row(id, 3), rowOf(EMBED, 1));
    assert.equal((await c.request('projectionRow', { projectionId: id, row: 7, maxPoints: D })).norm, 0);
    // Neighbours: row 3 is now row 1's twin, among cluster 1; row 7 is at distance 1 from all.
    const near3 = await near(id, 3);
    assert.deepEqual(near3, cosineNeighbours(now, 3, 6));
    assert.equal(near3[0], 1);
    assert.ok(near3.every((j) => j % CLUSTERS === 1), `row 3's neighbours are in cluster 1: ${near3}`);
    assert.deepEqual(near3, await near(id, 3));
    const far = await c.request('projectionNeighbors', { projectionId: id, row: 7, k: 3 });
    assert.deepEqual([i32(far.indices), [...f32(far.distances)]], [[0, 1, 2], [1, 1, 1]]);
    const all = await c.request('projectionNeighbors', { projectionId: id, row: 11, k: N - 1 });
    assert.equal(f32(all.distances)[i32(all.indices).indexOf(7)], 1, 'a zero row is at distance 1 from every row');
    // Colours and cosines.
    const norms = f32((await c.request('projectionColors', { projectionId: id, coloring: { by: 'norm' } })).values);
    assert.equal(norms[7], 0);
    assert.ok(Math.abs(norms[3] - Math.hypot(...rowOf(EMBED, 1))) < 1e-4);
    assert.deepEqual(f32((await c.request('projectionColors', { projectionId: id, coloring: { by: 'column', column: 2 } })).values), Float32Array.from({ length: N }, (_, r) => now[r * D + 2]));
    assert.ok(Math.abs(((await c.request('projectionCosine', { projectionId: id, a: 1, b: 3 })).cosine ?? 0) - 1) < 1e-12);
    assert.equal((await c.request('projectionCosine', { projectionId: id, a: 7, b: 3 })).cosine, null);

    // Opened by path: the file on disk, whatever the editor holds.
    assert.deepEqual(await row(fromFile.projectionId, 7), rowOf(EMBED, 7));
    assert.deepEqual(await near(fromFile.projectionId, 3), cosineNeighbours(EMBED, 3, 6));

    // An edit of another tensor changes nothing here; undo of the copy brings row 3 back.
    await c.request('edit', { modelId: handle, edit: { type: 'region', tensor: 'other', slice: '[:, :]', op: { kind: 'set', value: 1 } } });
    assert.deepEqual(await row(id, 3), rowOf(EMBED, 1));
    await c.request('undoEdit', { modelId: handle, editId: copy.editId });
    assert.deepEqual(await row(id, 3), rowOf(EMBED, 3));
    assert.deepEqual(await near(id, 3), cosineNeighbours(edited((m) => m.fill(0, 7 * D, 8 * D)), 3, 6));
    await c.request('redoEdit', { modelId: handle, editId: copy.editId });
    assert.deepEqual(await row(id, 3), rowOf(EMBED, 1));
    // Revert (discard): the file again.
    await c.request('discardEdits', { modelId: handle });
    assert.deepEqual(await row(id, 7), rowOf(EMBED, 7));
    assert.deepEqual(await near(id, 3), cosineNeighbours(EMBED, 3, 6));
    assert.ok(zero.editId > 0);

    await c.request('projectionClose', { projectionId: fromFile.projectionId });
    await c.request('projectionClose', { projectionId: id });
    // Closing a projection does not close the editor's model.
    assert.deepEqual((await c.request('edit', { modelId: handle, edit: zeroRow(0) })).changedElements, D);
  } finally {
    await c.closeModel(handle);
  }
});

test('a fit reads the edits (in the worker): a row copied into another cluster lands there; the saved file says so', LIMIT, async () => {
  const c = await engine();
  const { handle } = await c.openModel(MODEL);
  try {
    const { projectionId } = await c.request('projectionOpen', { path: MODEL, tensor: 'embed', modelId: handle });
    const options = { nNeighbors: 10, metric: 'euclidean', pca: 0, components: 2, seed: 4 } as const;
    const clusterOfNearest = async (r: number) => nearestEmbedded(f32((await c.request('projectionFit', { projectionId, options })).embedding), r) % CLUSTERS;

    assert.equal(await clusterOfNearest(3), 3, 'unedited, row 3 sits in its own cluster');
    // Rows 3 and 6 (clusters 3 and 2) take the values of rows 1 and 4 (clusters 1 and 0).
    await c.request('edit', { modelId: handle, edit: copyRow(1, 3) });
    await c.request('edit', { modelId: handle, edit: copyRow(4, 6) });
    const fit = await c.request('projectionFit', { projectionId, options });
    const xy = f32(fit.embedding);
    assert.equal(nearestEmbedded(xy, 3) % CLUSTERS, 1, 'row 3 lands in cluster 1');
    assert.equal(nearestEmbedded(xy, 6) % CLUSTERS, 0, 'row 6 lands in cluster 0');
    const target = join(dir, 'edited.projection.safetensors');
    await c.request('projectionSave', { projectionId, path: target });
    const saved = await openModel(target);
    try {
      assert.equal(saved.info.metadata?.source_edits, "fitted with the model editor's edits: 2 byte ranges, 128 bytes");
    } finally {
      await saved.close();
    }
    assert.deepEqual((await loadProjection(target)).embedding, xy);

    // The model editor closes: a clear one-line error, not a read of a closed file.
    await c.closeModel(handle);
    const err = await c.request('projectionRow', { projectionId, row: 0, maxPoints: 4 }).then(() => assert.fail('expected a rejection'), (e: unknown) => e);
    assert.ok(err instanceof EngineError && err.code === EngineErrorCode.BadInput, String(err));
    assert.match(err.message, /^model\.safetensors is no longer open in a model editor: open the projection of embed again$/);
    await c.request('projectionClose', { projectionId });
  } finally {
    await c.closeModel(handle);
  }
});

test('projectionOpen with an unknown modelId is refused', LIMIT, async () => {
  const c = await engine();
  const err = await c.request('projectionOpen', { path: MODEL, tensor: 'embed', modelId: 'model-999' }).then(() => assert.fail('expected a rejection'), (e: unknown) => e);
  assert.ok(err instanceof EngineError && err.code === EngineErrorCode.NotFound, String(err));
});

test('tensorSource with edits over packed 4-bit rows equals the same bytes written to a file', LIMIT, async () => {
  const r = rng(9);
  const rows = 6;
  const cols = 5; // odd: every other row starts in the middle of a byte
  const bytes = randomBytes(Math.ceil((rows * cols) / 2), r);
  const edits = [
    { offset: 0, bytes: randomBytes(2, r) },
    { offset: 5, bytes: randomBytes(1, r) },
    { offset: 8, bytes: randomBytes(5, r) },
    { offset: 14, bytes: randomBytes(1, r) },
  ];
  const after = bytes.slice();
  for (const e of edits) after.set(e.bytes, e.offset);
  const a = await openModel(writeModel(join(dir, 'f4-base.safetensors'), [{ name: 'w', dtype: 'F4', shape: [rows, cols], data: bytes }]));
  const b = await openModel(writeModel(join(dir, 'f4-edited.safetensors'), [{ name: 'w', dtype: 'F4', shape: [rows, cols], data: after }]));
  try {
    for (const [r0, r1] of [[0, rows], [1, 4], [3, 4], [5, 6]]) {
      const got = new Float32Array((r1 - r0) * cols);
      const want = new Float32Array((r1 - r0) * cols);
      await tensorSource(a, 'w', edits).read(r0, r1, got);
      await tensorSource(b, 'w').read(r0, r1, want);
      assert.deepEqual(got, want, `rows ${r0}..${r1}`);
    }
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});
