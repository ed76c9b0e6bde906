// The patch engine on real files: diff/apply reproduce the target byte for byte, apply then
// revert is the identity, compose equals applying in sequence (and equals the direct diff:
// patches are canonical), conflicts are all reported and nothing is written, verify tells
// clean / already applied / conflicts, --only, sharded bases, and the editor's overlay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { UserError } from '../../src/engine/errors';
import { editRegion } from '../../src/engine/edit/ops';
import { openModel } from '../../src/engine/safetensors/model';
import { applyPatch } from '../../src/engine/patch/apply';
import { verifyPatch } from '../../src/engine/patch/check';
import { composePatches, revertPatch } from '../../src/engine/patch/compose';
import { diffModels } from '../../src/engine/patch/diff';
import { PatchOverlay } from '../../src/engine/patch/overlay';
import { parsePatch } from '../../src/engine/patch/parse';
import { serializePatch } from '../../src/engine/patch/serialize';
import { tensorByteLength, type Patch } from '../../src/engine/patch/types';
import { mixedTensors, mutateData, rng, safetensorsFile, tempFolder, writeModel } from './patch-helpers';

// tmpfs where there is one: these tests write hundreds of small files and fsync each.
const dir = tempFolder('tensorscope-patch-', true);
let counter = 0;
function file(bytes: Uint8Array, ext = 'safetensors'): string {
  const path = join(dir, `f${counter++}.${ext}`);
  writeFileSync(path, bytes);
  return path;
}

async function diffFiles(a: string, b: string): Promise<Patch> {
  const base = await openModel(a);
  const target = await openModel(b);
  try {
    return (await diffModels(base, target)).patch;
  } finally {
    await base.close();
    await target.close();
  }
}

/** Through the text format, as a patch on disk would be. */
function viaText(p: Patch): Patch {
  return parsePatch(serializePatch(p), 'p.stpatch');
}

async function applyTo(base: string, p: Patch): Promise<Buffer> {
  const out = join(dir, `out${counter++}.safetensors`);
  const r = await applyPatch(base, p, out);
  assert.equal(r.written, true, r.conflicts.map((c) => c.message).join('; '));
  return readFileSync(out);
}

test('diff then apply reproduces the target; apply then revert restores the base (bytes)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 0, max: 12 }), async (seed, edits) => {
      const r = rng(seed);
      const a = safetensorsFile(mixedTensors(r));
      const b = mutateData(a, edits, r);
      const pa = file(a);
      const p = viaText(await diffFiles(pa, file(b)));
      const baked = await applyTo(pa, p);
      assert.equal(Buffer.compare(baked, b), 0);
      const back = await applyTo(file(baked), viaText(revertPatch(p)));
      assert.equal(Buffer.compare(back, a), 0);
    }),
    { numRuns: 12 },
  );
});

test('compose(p1, p2) equals applying p1 then p2, and is the direct diff', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 1e9 }), async (seed) => {
      const r = rng(seed);
      const a = safetensorsFile(mixedTensors(r));
      const b = mutateData(a, 1 + Math.floor(r() * 8), r);
      // Sometimes c puts some of b's changes back: they must drop out of the composition.
      const c = r() < 0.3 ? Buffer.from(a) : mutateData(b, 1 + Math.floor(r() * 8), r);
      const [pa, pb, pc] = [file(a), file(b), file(c)];
      const p1 = viaText(await diffFiles(pa, pb));
      const p2 = viaText(await diffFiles(pb, pc));
      const { patch, conflicts } = composePatches(p1, p2);
      assert.deepEqual(conflicts, []);
      assert.equal(Buffer.compare(await applyTo(pa, viaText(patch)), c), 0);
      assert.equal(serializePatch(patch).toString(), serializePatch(await diffFiles(pa, pc)).toString());
    }),
    { numRuns: 12 },
  );
});

test('compose reports where the second patch was not made on the first one\'s result', async () => {
  const r = rng(7);
  const a = safetensorsFile(mixedTensors(r));
  const b = Buffer.from(a);
  const dataStart = 8 + Number(a.readBigUInt64LE(0));
  b[dataStart] ^= 0xff; // first tensor, first element
  const c = Buffer.from(a);
  c[dataStart] ^= 0x0f; // the same byte, from the same base: not a sequence
  const pa = file(a);
  const p1 = await diffFiles(pa, file(b));
  const p2 = await diffFiles(pa, file(c));
  const { conflicts } = composePatches(p1, p2);
  assert.ok(conflicts.length >= 1);
  assert.ok(conflicts.some((x) => x.elements && /expected .* found/.test(x.message)), JSON.stringify(conflicts));
  const other = { ...p2, base: [{ ...p2.base[0], size: p2.base[0].size + 1 }] };
  assert.throws(() => composePatches(p1, other), (e) => e instanceof UserError && /different base models/.test(e.message));
});

test('a conflicting base: every conflict is reported with tensor, elements, expected and found; nothing is written', async () => {
  const r = rng(11);
  const tensors = mixedTensors(r);
  const a = safetensorsFile(tensors);
  const b = Buffer.from(a);
  const dataStart = 8 + Number(a.readBigUInt64LE(0));
  // a.bf16 is first: change elements 3 and 20; b.f32 starts at byte 120: change element 2.
  b.writeUInt16LE(0x3f80, dataStart + 6);
  b.writeUInt16LE(0x4000, dataStart + 40);
  b.writeFloatLE(1.5, dataStart + 120 + 8);
  const pa = file(a);
  const p = await diffFiles(pa, file(b));
  assert.equal(p.hunks.length, 3);
  // The base others edited meanwhile: elements 3 and 20 of a.bf16 differ from the patch's originals.
  const moved = Buffer.from(a);
  moved.writeUInt16LE(0x4040, dataStart + 6);
  moved.writeUInt16LE(0x4080, dataStart + 40);
  const out = join(dir, 'conflict-out.safetensors');
  const res = await applyPatch(file(moved), p, out);
  assert.equal(res.written, false);
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(dir).filter((n) => n.includes('conflict-out')), []);
  assert.equal(res.conflicts.length, 2);
  assert.deepEqual(res.conflicts.map((c) => [c.tensor, c.elements]), [['a.bf16', [3, 4]], ['a.bf16', [20, 21]]]);
  assert.match(res.conflicts[0].message, /^element 3 \[0, 3\]: expected .* \([0-9a-f]{4}\), found 3 \(4040\)$/);
});

test('verify: clean, already applied, conflicts (hunks or bytes elsewhere in a touched tensor)', async () => {
  const r = rng(23);
  const a = safetensorsFile(mixedTensors(r));
  const b = mutateData(a, 5, r);
  const pa = file(a);
  const pb = file(b);
  const p = viaText(await diffFiles(pa, pb));
  const verify = async (path: string) => {
    const m = await openModel(path);
    try {
      return await verifyPatch(m, p);
    } finally {
      await m.close();
    }
  };
  assert.equal((await verify(pa)).status, 'clean');
  assert.equal((await verify(pb)).status, 'already-applied');
  // A byte outside every hunk, inside a touched tensor: only the tensor hash can tell.
  const touched = p.hunks[0];
  const t = p.tensors.find((x) => x.name === touched.tensor)!;
  const outside = Buffer.from(a);
  let at = -1;
  const tensorLength = tensorByteLength(t);
  for (let off = 0; off < tensorLength; off++) {
    if (!p.hunks.some((h) => h.tensor === t.name && off >= h.offset && off < h.offset + h.original.length)) {
      at = off;
      break;
    }
  }
  if (at >= 0) {
    outside[t.fileOffset + at] ^= 1;
    const v = await verify(file(outside));
    assert.equal(v.status, 'conflicts');
    assert.match(v.conflicts[0].message, /outside the edited elements/);
  }
  // Another header (metadata) is another base.
  const other = file(safetensorsFile(mixedTensors(rng(23)), { note: 'x' }));
  const v = await verify(other);
  assert.equal(v.status, 'conflicts');
  assert.ok(v.conflicts.some((c) => c.tensor === null && /header|bytes/.test(c.message)), JSON.stringify(v.conflicts));
});

test('apply --only applies the hunks of matching tensors', async () => {
  const r = rng(5);
  const tensors = mixedTensors(r);
  const a = safetensorsFile(tensors);
  const changed = tensors.map((t) => ({ ...t, data: t.data.map((x) => x ^ 0x11) }));
  const b = safetensorsFile(changed);
  const pa = file(a);
  const p = await diffFiles(pa, file(b));
  const out = join(dir, 'only.safetensors');
  const res = await applyPatch(pa, p, out, { only: '{a.*,c.u8}' });
  assert.equal(res.written, true);
  assert.deepEqual(res.tensors.map((t) => t.name), ['a.bf16', 'c.u8']);
  const expect = safetensorsFile(tensors.map((t, i) => (t.name === 'a.bf16' || t.name === 'c.u8' ? changed[i] : t)));
  assert.equal(Buffer.compare(readFileSync(out), expect), 0);
  await assert.rejects(applyPatch(pa, p, out, { only: 'nothing*' }), /matches none/);
});

test('diff refuses models of different layouts, naming the first difference', async () => {
  const r = rng(3);
  const tensors = mixedTensors(r);
  const pa = file(safetensorsFile(tensors));
  const renamed = file(safetensorsFile(tensors.map((t, i) => (i === 2 ? { ...t, name: 'zz' } : t))));
  await assert.rejects(diffFiles(pa, renamed), (e) => e instanceof UserError && /different layouts.*tensor "c\.u8" is only in A/.test(e.message));
  const retyped = file(safetensorsFile(tensors.map((t, i) => (i === 2 ? { ...t, dtype: 'I8' as const } : t))));
  await assert.rejects(diffFiles(pa, retyped), /tensor "c\.u8": dtype U8 in A, I8 in B/);
});

test('a sharded base: diff, apply into a new folder with the index and every shard', async () => {
  const r = rng(9);
  const tensors = mixedTensors(r);
  const shardDir = join(dir, 'sharded');
  const editedDir = join(dir, 'sharded-edited');
  const write = (folder: string, ts: typeof tensors) => {
    mkdirSync(folder, { recursive: true });
    writeModel(join(folder, 'model-00001-of-00002.safetensors'), ts.slice(0, 4));
    writeModel(join(folder, 'model-00002-of-00002.safetensors'), ts.slice(4));
    const weightMap = Object.fromEntries(ts.map((t, i) => [t.name, `model-0000${i < 4 ? 1 : 2}-of-00002.safetensors`]));
    writeFileSync(join(folder, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    return join(folder, 'model.safetensors.index.json');
  };
  const base = write(shardDir, tensors);
  const edited = tensors.map((t, i) => (i === 1 || i === 6 ? { ...t, data: t.data.map((x) => x ^ 0x80) } : t));
  const target = write(editedDir, edited);
  const p = viaText(await diffFiles(base, target));
  assert.deepEqual(p.base.map((b) => b.name), ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
  assert.match(serializePatch(p).toString(), /^tensor "g\.f64" F64 \[2, 3\] file 1 at \d+$/m);
  const out = join(dir, 'baked-shards');
  const res = await applyPatch(base, p, out);
  assert.equal(res.written, true);
  for (const name of ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json']) {
    assert.equal(Buffer.compare(readFileSync(join(out, name)), readFileSync(join(editedDir, name))), 0, name);
  }
  await assert.rejects(applyPatch(base, p, out), /exists and is not an empty folder/);
});

test('the overlay: edits read through, undo restores, toPatch equals the diff of the baked model', async () => {
  const r = rng(13);
  const pa = file(safetensorsFile(mixedTensors(r)));
  const model = await openModel(pa);
  const doc = new PatchOverlay(model);
  try {
    const f1 = await editRegion(doc, { tensor: 'b.f32', slice: '[:, :]', rect: { row0: 1, row1: 3, col0: 0, col1: 5 } }, { kind: 'set', value: 0.25 });
    await doc.apply(f1);
    const f2 = await editRegion(doc, { tensor: 'b.f32', slice: '[2, :]' }, { kind: 'scale', factor: 4 });
    await doc.apply(f2);
    const t = doc.tensor('b.f32');
    const row2 = new Float32Array((await doc.read(t, 40, 60)).buffer);
    assert.deepEqual([...row2], [1, 1, 1, 1, 1]);
    const patch = await doc.toPatch();
    assert.deepEqual(patch.tensors[0].ops, ['set [:, :] rows 1:3 cols 0:5 to 0.25', 'scale [2, :] by 4']);
    const bakedPath = join(dir, 'overlay-baked.safetensors');
    assert.equal((await applyPatch(pa, patch, bakedPath)).written, true);
    const direct = await diffFiles(pa, bakedPath);
    assert.equal(serializePatch({ ...patch, tensors: patch.tensors.map((x) => ({ ...x, ops: [] })) }).toString(), serializePatch(direct).toString());
    await doc.unapply(f2);
    await doc.unapply(f1);
    assert.equal(doc.isEmpty, true);
    assert.deepEqual(await doc.read(t, 0, 140), await model.read(t, 0, 140));
    // An edit made on other bytes is refused.
    await assert.rejects(doc.unapply(f1), /made on different bytes/);
  } finally {
    await doc.close();
  }
});

test('the overlay loads a saved patch only onto its own base', async () => {
  const r = rng(17);
  const a = safetensorsFile(mixedTensors(r));
  const b = mutateData(a, 4, r);
  const pa = file(a);
  const pb = file(b);
  const p = viaText(await diffFiles(pa, pb));
  const onBase = new PatchOverlay(await openModel(pa));
  try {
    await onBase.load(p);
    for (const t of onBase.info.tensors) {
      const n = t.dataOffsets[1] - t.dataOffsets[0];
      assert.deepEqual(Buffer.from(await onBase.read(t, 0, n)), b.subarray(t.fileOffset, t.fileOffset + n), t.name);
    }
    assert.equal(serializePatch(await onBase.toPatch()).toString(), serializePatch(p).toString());
  } finally {
    await onBase.close();
  }
  const onTarget = new PatchOverlay(await openModel(pb));
  try {
    await assert.rejects(onTarget.load(p), /does not apply to this model: the model already has its edits/);
    assert.equal(onTarget.isEmpty, true);
  } finally {
    await onTarget.close();
  }
});
