// The editor's engine methods through the real engine process (EngineClient under plain
// node): edit, undo, redo, savePatch (= `diff base baked`), loadPatch, bake (= `apply`),
// the hex view's decoded bytes, and the host's edit record surviving engine restarts.
import { test, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildEngine } from './cli-build';
import { runCliInProcess } from './cli-run';
import { byteLength, randomBytes, rng, tempFolder, writeModel, type GenTensor } from './patch-helpers';
import { EngineClient, EngineError } from '../../src/extension/engineClient';
import { DocumentEdits } from '../../src/extension/documentEdits';
import { EngineErrorCode, type DocumentEdit } from '../../src/shared/protocol';

const LIMIT = { timeout: 20_000 };
const dir = tempFolder('tensorscope-editor-');
const r = rng(7);

const f32 = Float32Array.from({ length: 6 * 8 }, (_, i) => (i % 7) - 3 + i / 64);
const tensors: GenTensor[] = [
  { name: 'w.bf16', dtype: 'BF16', shape: [32, 32], data: randomBytes(byteLength('BF16', [32, 32]), r) },
  { name: 'w.f32', dtype: 'F32', shape: [6, 8], data: new Uint8Array(f32.buffer) },
  { name: 'w.f4', dtype: 'F4', shape: [4, 8], data: randomBytes(16, r) },
  { name: 'w.i8', dtype: 'I8', shape: [10], data: Uint8Array.from({ length: 10 }, (_, i) => (i * 13) & 0xff) },
];
const MODEL = writeModel(join(dir, 'm.safetensors'), tensors);
const OTHER = writeModel(join(dir, 'other.safetensors'), tensors.map((t) => ({ ...t, data: randomBytes(t.data.length, r) })));

let client: EngineClient;
after(() => client?.dispose());

async function engine(): Promise<EngineClient> {
  client ??= new EngineClient({ enginePath: await buildEngine() });
  return client;
}

async function value(c: EngineClient, handle: string, tensor: string, row: number, col: number): Promise<string> {
  return (await c.request('element', { modelId: handle, tensor, slice: '[:, :]', row, col })).text;
}

async function open(t: TestContext): Promise<{ c: EngineClient; handle: string }> {
  const c = await engine();
  const { handle } = await c.openModel(MODEL);
  t.after(() => c.closeModel(handle));
  return { c, handle };
}

test('edit rounds to the dtype and is seen by every read; undo and redo restore exact bytes', LIMIT, async (t) => {
  const { c, handle } = await open(t);
  const before = await c.request('bytes', { modelId: handle, tensor: 'w.f32', start: 0, end: 192 });
  const edit = await c.request('edit', { modelId: handle, edit: { type: 'element', tensor: 'w.f32', slice: '[:, :]', row: 1, col: 2, value: 0.1 } });
  assert.equal(edit.changedElements, 1);
  assert.equal(edit.changedBytes, 4);
  assert.equal(edit.summary, 'set [1, 2] to 0.1');
  // The stored value is the float32 nearest 0.1.
  assert.equal(await value(c, handle, 'w.f32', 1, 2), String(Math.fround(0.1)));

  const scale = await c.request('edit', { modelId: handle, edit: { type: 'region', tensor: 'w.f32', slice: '[:, :]', rect: { row0: 0, row1: 2, col0: 0, col1: 8 }, op: { kind: 'scale', factor: 2 } } });
  assert.equal(scale.summary, 'scale [:, :] rows 0:2 cols 0:8 by 2');
  assert.equal(await value(c, handle, 'w.f32', 1, 2), String(Math.fround(Math.fround(0.1) * 2)));
  assert.equal(await value(c, handle, 'w.f32', 0, 5), String(Math.fround(f32[5] * 2)));
  const stats = await c.request('stats', { modelId: handle, tensor: 'w.f32' });
  assert.equal(stats.max, Math.max(...Array.from(f32.slice(16)), ...Array.from(f32.slice(0, 16), (v, i) => (i === 10 ? Math.fround(0.1) * 2 : Math.fround(v * 2)))));

  // Undo in reverse order, then redo.
  let state = await c.request('undoEdit', { modelId: handle, editId: scale.editId });
  assert.equal(await value(c, handle, 'w.f32', 1, 2), String(Math.fround(0.1)));
  assert.deepEqual(state, { tensors: 1, hunks: 1, changedBytes: 4 });
  state = await c.request('undoEdit', { modelId: handle, editId: edit.editId });
  assert.deepEqual(state, { tensors: 0, hunks: 0, changedBytes: 0 });
  const after0 = await c.request('bytes', { modelId: handle, tensor: 'w.f32', start: 0, end: 192 });
  assert.deepEqual(after0.data, before.data, 'undo gives the original bytes back');
  await c.request('redoEdit', { modelId: handle, editId: edit.editId });
  await c.request('redoEdit', { modelId: handle, editId: scale.editId });
  assert.equal(await value(c, handle, 'w.f32', 1, 2), String(Math.fround(Math.fround(0.1) * 2)));

  // Wrong order and unknown ids are one-line errors; nothing changes.
  await assert.rejects(c.request('redoEdit', { modelId: handle, editId: scale.editId }), /already applied/);
  await assert.rejects(c.request('undoEdit', { modelId: handle, editId: 999 }), /no edit 999/);
  await assert.rejects(c.request('undoEdit', { modelId: handle, editId: edit.editId }), (e: EngineError) => e.code === EngineErrorCode.BadInput && /different bytes/.test(e.message));
  // An edit that changes nothing is not kept.
  const none = await c.request('edit', { modelId: handle, edit: { type: 'region', tensor: 'w.i8', slice: '[:]', rect: { row0: 0, row1: 1, col0: 0, col1: 1 }, op: { kind: 'scale', factor: 3 } } });
  assert.deepEqual([none.editId, none.changedElements], [0, 0]); // element 0 is 0
  await assert.rejects(c.request('edit', { modelId: handle, edit: { type: 'region', tensor: 'w.f32', slice: '[:, :]', op: { kind: 'clamp', lo: 2, hi: 1 } } }), /lower <= upper/);
});

test('savePatch equals `diff base baked`, bake equals `apply`, loadPatch brings the edits back', LIMIT, async (t) => {
  const { c, handle } = await open(t);
  const edits: DocumentEdit[] = [
    { type: 'region', tensor: 'w.bf16', slice: '[:, :]', op: { kind: 'scale', factor: 1.5 } },
    { type: 'region', tensor: 'w.bf16', slice: '[:, :]', rect: { row0: 4, row1: 9, col0: 3, col1: 30 }, op: { kind: 'noise', std: 0.25, seed: 11 } },
    { type: 'element', tensor: 'w.f4', slice: '[:, :]', row: 2, col: 5, value: -3 },
    { type: 'bytes', tensor: 'w.i8', offset: 3, hex: '7f80' },
  ];
  for (const edit of edits) assert.ok((await c.request('edit', { modelId: handle, edit })).changedElements > 0);
  const patchPath = join(dir, 'm.stpatch');
  const saved = await c.request('savePatch', { modelId: handle, path: patchPath });
  assert.deepEqual([saved.tensors, saved.path], [3, patchPath]);
  const baked = join(dir, 'baked.safetensors');
  const bake = await c.request('bake', { modelId: handle, path: baked }, undefined, () => {});
  assert.equal(bake.path, baked);

  // The saved patch is the byte difference (apart from its descriptive `# op:` lines).
  const diffed = join(dir, 'diffed.stpatch');
  assert.equal((await runCliInProcess(['diff', MODEL, baked, '-o', diffed])).code, 0);
  const text = readFileSync(patchPath, 'utf8');
  assert.match(text, /# op: scale \[:, :\] by 1\.5\n# op: add gaussian noise std 0\.25 seed 11/);
  assert.match(text, /# op: bytes at offset 3 to 7f80/);
  assert.equal(text.replace(/^# op: .*\n/gm, ''), readFileSync(diffed, 'utf8'));
  // Baking equals applying the saved patch with the CLI.
  const applied = join(dir, 'applied.safetensors');
  assert.equal((await runCliInProcess(['apply', MODEL, patchPath, '-o', applied])).code, 0);
  assert.ok(readFileSync(applied).equals(readFileSync(baked)));

  // A fresh open shows the base; loading the patch shows the edits again.
  const { handle: h2 } = await c.openModel(MODEL);
  t.after(() => c.closeModel(h2));
  const bf16 = tensors[0];
  const fresh = await c.request('bytes', { modelId: h2, tensor: 'w.bf16', start: 0, end: bf16.data.length });
  assert.deepEqual(fresh.data, bf16.data);
  const loaded = await c.request('loadPatch', { modelId: h2, path: patchPath });
  assert.equal(loaded.tensors, 3);
  const edited = await c.request('bytes', { modelId: h2, tensor: 'w.bf16', start: 0, end: bf16.data.length });
  assert.deepEqual(edited.data, (await c.request('bytes', { modelId: handle, tensor: 'w.bf16', start: 0, end: bf16.data.length })).data);
  // Saving the loaded state writes the same patch again (deterministic).
  const again = join(dir, 'again.stpatch');
  await c.request('savePatch', { modelId: h2, path: again });
  assert.equal(readFileSync(again, 'utf8'), text);
  // Discard shows the base again.
  await c.request('discardEdits', { modelId: h2 });
  assert.deepEqual((await c.request('bytes', { modelId: h2, tensor: 'w.bf16', start: 0, end: 64 })).data, bf16.data.subarray(0, 64));
});

test('a patch that does not fit, and writes over the model itself, are refused with one line', LIMIT, async (t) => {
  const c = await engine();
  const { handle } = await c.openModel(OTHER);
  t.after(() => c.closeModel(handle));
  const patchPath = join(dir, 'm.stpatch');
  if (!existsSync(patchPath)) {
    const { handle: h } = await c.openModel(MODEL);
    await c.request('edit', { modelId: h, edit: { type: 'element', tensor: 'w.f32', slice: '[:, :]', row: 0, col: 0, value: 5 } });
    await c.request('savePatch', { modelId: h, path: patchPath });
    await c.closeModel(h);
  }
  await assert.rejects(c.request('loadPatch', { modelId: handle, path: patchPath }), (e: EngineError) => {
    assert.ok(!e.message.includes('\n'));
    assert.match(e.message, /^m\.stpatch: the patch does not apply to this model: /);
    return true;
  });
  writeFileSync(join(dir, 'bad.stpatch'), 'stpatch 1\nbase size x\n');
  await assert.rejects(c.request('loadPatch', { modelId: handle, path: join(dir, 'bad.stpatch') }), /bad\.stpatch:2: /);
  await assert.rejects(c.request('savePatch', { modelId: handle, path: OTHER }), /cannot save the patch over the model itself/);
  await assert.rejects(c.request('bake', { modelId: handle, path: OTHER }), /cannot bake over the model itself/);
});

test('bytes with decode: one value per element, packed F4 included', LIMIT, async (t) => {
  const { c, handle } = await open(t);
  const r4 = await c.request('bytes', { modelId: handle, tensor: 'w.f4', start: 0, end: 4, decode: true });
  assert.equal(r4.values?.length, 8);
  // F4 (E2M1): element 0 is the low nibble.
  const f4 = [0, 0.5, 1, 1.5, 2, 3, 4, 6];
  const b0 = tensors[2].data[0];
  const nib = (n: number) => (n & 8 ? -1 : 1) * f4[n & 7];
  assert.deepEqual(r4.values!.slice(0, 2).map(Number), [nib(b0 & 15), nib(b0 >> 4)]);
  const ri = await c.request('bytes', { modelId: handle, tensor: 'w.i8', start: 2, end: 6, decode: true });
  assert.deepEqual(ri.values, [26, 39, 52, 65].map(String));
  const rf = await c.request('bytes', { modelId: handle, tensor: 'w.f32', start: 2, end: 12, decode: true });
  assert.deepEqual(rf.values, [String(f32[1]), String(f32[2])], 'whole elements inside the range only');
});

test('the host record survives engine restarts: replayed edits, then undo and redo', LIMIT, async (t) => {
  const c = await engine();
  const { handle } = await c.openModel(MODEL);
  t.after(() => c.closeModel(handle));
  const record = new DocumentEdits(c, handle, join(dir, 'copies'));
  const patchPath = join(dir, 'start.stpatch');
  {
    const { handle: h } = await c.openModel(MODEL);
    await c.request('edit', { modelId: h, edit: { type: 'element', tensor: 'w.f32', slice: '[:, :]', row: 5, col: 7, value: 100 } });
    await c.request('savePatch', { modelId: h, path: patchPath });
    await c.closeModel(h);
  }
  await record.loadPatch(patchPath);
  // The starting patch is a private copy: overwriting the original does not change the record.
  writeFileSync(patchPath, 'overwritten');
  const { entry: a } = await record.apply({ type: 'region', tensor: 'w.f32', slice: '[:, :]', op: { kind: 'add', amount: 1 } });
  const { entry: b } = await record.apply({ type: 'element', tensor: 'w.f32', slice: '[:, :]', row: 0, col: 0, value: -7 });
  assert.ok(a && b);
  const same = await record.apply({ type: 'element', tensor: 'w.f32', slice: '[:, :]', row: 0, col: 0, value: -7 });
  assert.deepEqual([same.entry, same.result.changedElements], [undefined, 0], 'no change, no entry');
  const expected = async () => (await c.request('bytes', { modelId: handle, tensor: 'w.f32', start: 0, end: 192 })).data;
  const edited = await expected();
  assert.equal(await value(c, handle, 'w.f32', 5, 7), '101');

  // An engine killed from outside (a crash): the next operation replays in the new engine.
  const pid = c.pid!;
  process.kill(pid, 'SIGKILL');
  await new Promise((resolve) => setTimeout(resolve, 100));
  await record.resync();
  assert.notEqual(c.pid, pid);
  assert.deepEqual(await expected(), edited);
  await record.undo(b!);
  assert.equal(await value(c, handle, 'w.f32', 0, 0), String(Math.fround(f32[0] + 1)));

  // Stopped on purpose (no restart event): undo and redo still find their edits.
  c.stop();
  await record.undo(a!);
  assert.equal(await value(c, handle, 'w.f32', 5, 7), '100');
  assert.equal(await value(c, handle, 'w.f32', 0, 0), String(f32[0]));
  c.stop();
  await record.redo(a!);
  await record.redo(b!);
  assert.deepEqual(await expected(), edited);
  assert.deepEqual(record.snapshot().edits, [a!.edit, b!.edit]);

  // A snapshot (what a backup holds) rebuilds the same state in another document.
  const { handle: h3 } = await c.openModel(MODEL);
  t.after(() => c.closeModel(h3));
  const other = new DocumentEdits(c, h3, join(dir, 'copies'));
  await other.restore(record.snapshot());
  assert.deepEqual((await c.request('bytes', { modelId: h3, tensor: 'w.f32', start: 0, end: 192 })).data, edited);
  await other.dispose();
  await record.dispose();
  assert.equal(record.baseline, null);
});
