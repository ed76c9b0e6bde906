// The review features' engine methods through the real engine process (EngineClient under
// plain node): a patch's hunks, values and tiles read from its own bytes; checking, applying
// and reverting it against real models; the semantic diff of two versions of a patch; tiles
// of B − A; exporting a comparison as a patch; committed files out of a real git repository.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildEngine } from './cli-build';
import { runCliInProcess } from './cli-run';
import { tempFolder, writeModel, type GenTensor } from './patch-helpers';
import { EngineClient, EngineError } from '../../src/extension/engineClient';
import { EngineErrorCode, TILE_NO_VALUE } from '../../src/shared/protocol';

const LIMIT = { timeout: 20_000 };
const dir = tempFolder('tensorscope-review-');
const at = (name: string) => join(dir, name);

// Base: w [6, 8] F32 = i / 8, b [5] BF16 = 1..5, s [12] F4. Target: a run in row 2 scaled,
// one element of row 5, and one BF16 element changed; s untouched.
const W = Float32Array.from({ length: 48 }, (_, i) => i / 8);
const B16 = new Uint16Array([0x3f80, 0x4000, 0x4040, 0x4080, 0x40a0]); // 1, 2, 3, 4, 5
function tensors(w: Float32Array, b: Uint16Array): GenTensor[] {
  return [
    { name: 'b', dtype: 'BF16', shape: [5], data: new Uint8Array(b.buffer.slice(0)) },
    { name: 's', dtype: 'F4', shape: [12], data: Uint8Array.from({ length: 6 }, (_, i) => i * 17) },
    { name: 'w', dtype: 'F32', shape: [6, 8], data: new Uint8Array(w.buffer.slice(0)) },
  ];
}
const wTarget = W.slice();
for (let i = 19; i < 23; i++) wTarget[i] *= -2; // row 2, cols 3..6
wTarget[45] = 100; // row 5, col 5
const bTarget = B16.slice();
bTarget[1] = 0x4120; // 10
const BASE = writeModel(at('base.safetensors'), tensors(W, B16));
const TARGET = writeModel(at('target.safetensors'), tensors(wTarget, bTarget));
const OTHER = writeModel(at('other.safetensors'), tensors(W.map((x) => x + 1), B16));

let client: EngineClient;
after(() => client?.dispose());
async function engine(): Promise<EngineClient> {
  client ??= new EngineClient({ enginePath: await buildEngine() });
  return client;
}

async function cli(...args: string[]): Promise<void> {
  const r = await runCliInProcess(args);
  assert.equal(r.code, 0, r.stderr);
}

async function rejects(p: Promise<unknown>, code: number, message: RegExp): Promise<void> {
  const err = await p.then(() => assert.fail('expected a rejection'), (e: unknown) => e);
  assert.ok(err instanceof EngineError, String(err));
  assert.equal(err.code, code, err.message);
  assert.ok(!err.message.includes('\n'), `one line: ${err.message}`);
  assert.match(err.message, message);
}

async function openPatch(path: string) {
  const c = await engine();
  return c.request('patchOpen', { text: readFileSync(path, 'utf8'), name: 'p.stpatch' });
}

test('patch overview, hunk pages with regions, exact values from the patch bytes', LIMIT, async () => {
  await cli('diff', BASE, TARGET, '-o', at('p.stpatch'));
  const c = await engine();
  const o = await openPatch(at('p.stpatch'));
  assert.deepEqual(o.tensors.map((t) => [t.name, t.dtype, t.hunks, t.elements]), [['b', 'BF16', 1, 1], ['w', 'F32', 2, 5]]);
  assert.equal(o.hunks, 3);
  assert.equal(o.bytes, 2 + 5 * 4);
  assert.equal(o.base.length, 1);

  const page = await c.request('patchHunks', { patchId: o.patchId, tensor: 'w', start: 0, limit: 10 });
  assert.equal(page.total, 2);
  assert.deepEqual(page.hunks.map((h) => [h.hunk, h.elements, h.index, h.region]), [
    [1, [19, 23], [2, 3], { row0: 2, row1: 3, col0: 3, col1: 7 }],
    [2, [45, 46], [5, 5], { row0: 5, row1: 6, col0: 5, col1: 6 }],
  ]);
  assert.equal(page.hunks[0].offset, 19 * 4);
  assert.deepEqual((await c.request('patchHunks', { patchId: o.patchId, tensor: 'w', start: 1, limit: 1 })).hunks.map((h) => h.hunk), [2]);

  // Values of elements 18..24 of w: null outside the hunk, exact F32 text inside.
  const v = await c.request('patchValues', { patchId: o.patchId, tensor: 'w', elements: [18, 24] });
  assert.deepEqual(v.before, [null, ...[19, 20, 21, 22].map((i) => String(W[i])), null]);
  assert.deepEqual(v.after, [null, ...[19, 20, 21, 22].map((i) => String(wTarget[i])), null]);
  assert.equal(v.truncated, false);
  const bf = await c.request('patchValues', { patchId: o.patchId, tensor: 'b', elements: [0, 5], limit: 2 });
  assert.deepEqual([bf.elements, bf.before, bf.after, bf.truncated], [[0, 2], [null, '2'], [null, '10'], true]);
  await rejects(c.request('patchValues', { patchId: o.patchId, tensor: 'w', elements: [40, 49] }), EngineErrorCode.BadInput, /outside tensor "w"/);
  await rejects(c.request('patchHunks', { patchId: o.patchId, tensor: 's', start: 0, limit: 1 }), EngineErrorCode.BadInput, /does not touch tensor "s"/);
  await c.request('patchClose', { patchId: o.patchId });
  await rejects(c.request('patchHunks', { patchId: o.patchId, tensor: 'w', start: 0, limit: 1 }), EngineErrorCode.NotFound, /unknown patch id/);
});

test('a malformed patch is one line with its line number', LIMIT, async () => {
  const c = await engine();
  const text = readFileSync(at('p.stpatch'), 'utf8').replace(/^\+ [0-9a-f]{2}/m, '+ zz');
  const line = text.split('\n').findIndex((l) => l.startsWith('+ zz')) + 1;
  await rejects(c.request('patchOpen', { text, name: 'model.stpatch' }), EngineErrorCode.BadInput, new RegExp(`^model\\.stpatch:${line}: `));
  await rejects(c.request('patchOpen', { text: 'stpatch 1\nbase size 1 header-sha256 00\n', name: 'x.stpatch' }), EngineErrorCode.BadInput, /^x\.stpatch:2: /);
});

test('patch tiles: before / after / delta in the 2-D view, no value outside the hunks', LIMIT, async () => {
  const c = await engine();
  const o = await openPatch(at('p.stpatch'));
  const viewport = { row0: 0, row1: 6, col0: 0, col1: 8 };
  const tile = (side: 'before' | 'after' | 'delta') =>
    c.request('patchTile', { patchId: o.patchId, tensor: 'w', side, viewport, maxRows: 64, maxCols: 64, range: { kind: 'fixed', lo: -20, hi: 108 } });
  const [before, after, delta] = await Promise.all([tile('before'), tile('after'), tile('delta')]);
  assert.equal(after.exact, true);
  assert.deepEqual([after.rows, after.cols], [6, 8]);
  // codes are linear over [-20, 108]: 254 steps of 128/254.
  const value = (t: typeof after, i: number) => -20 + (t.mean[i] * 128) / 254;
  for (let i = 0; i < 48; i++) {
    const inHunk = (i >= 19 && i < 23) || i === 45;
    if (!inHunk) {
      assert.equal(after.mean[i], TILE_NO_VALUE, `element ${i} has no value`);
      continue;
    }
    assert.ok(Math.abs(value(after, i) - wTarget[i]) <= 0.26, `after[${i}]`);
    assert.ok(Math.abs(value(before, i) - W[i]) <= 0.26, `before[${i}]`);
    assert.ok(Math.abs(value(delta, i) - (wTarget[i] - W[i])) <= 0.26, `delta[${i}]`);
  }
  // A coarse tile of the same view: cells hold means of the covered elements only.
  const coarse = await c.request('patchTile', { patchId: o.patchId, tensor: 'w', side: 'after', viewport, maxRows: 3, maxCols: 2, range: { kind: 'auto' } });
  assert.deepEqual([coarse.rows, coarse.cols, coarse.cellRows, coarse.cellCols], [3, 2, 2, 4]);
  assert.equal(coarse.mean[0], TILE_NO_VALUE); // rows 0-1: nothing patched
  // Means: row 2-3 x cols 0-3 holds element 19 only (-4.75), cols 4-7 elements 20..22 (-5.25), rows 4-5 x cols 4-7 element 45 (100).
  assert.deepEqual([coarse.lo, coarse.hi], [-5.25, 100]);
  await c.request('patchClose', { patchId: o.patchId });
});

test('check, apply (also in place), revert: against the real base, target and another model', LIMIT, async () => {
  const c = await engine();
  const o = await openPatch(at('p.stpatch'));
  assert.equal((await c.request('patchCheck', { patchId: o.patchId, basePath: BASE })).state, 'clean');
  assert.equal((await c.request('patchCheck', { patchId: o.patchId, basePath: TARGET })).state, 'applied');
  const conflicts = await c.request('patchCheck', { patchId: o.patchId, basePath: OTHER });
  assert.equal(conflicts.state, 'conflicts');
  assert.equal(conflicts.conflictCount, 2, JSON.stringify(conflicts.conflicts));
  assert.deepEqual(conflicts.conflicts.map((x) => [x.tensor, x.elements]), [['w', [19, 23]], ['w', [45, 46]]]);
  assert.match(conflicts.conflicts[0].message, /expected .*found/);

  // Apply into a new file: the target's bytes exactly. On conflicts: nothing is written.
  const out = at('applied.safetensors');
  const applied = await c.request('patchApply', { patchId: o.patchId, basePath: BASE, outPath: out });
  assert.equal(applied.written, true);
  assert.ok(readFileSync(out).equals(readFileSync(TARGET)));
  const refused = await c.request('patchApply', { patchId: o.patchId, basePath: OTHER, outPath: at('never.safetensors') });
  assert.equal(refused.written, false);
  assert.equal(refused.check.state, 'conflicts');
  assert.equal(existsSync(at('never.safetensors')), false);
  // In place: the output is the base itself.
  const copy = writeModel(at('inplace.safetensors'), tensors(W, B16));
  assert.equal((await c.request('patchApply', { patchId: o.patchId, basePath: copy, outPath: copy })).written, true);
  assert.ok(readFileSync(copy).equals(readFileSync(TARGET)));
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.')), [], 'no temp files left');

  // Revert writes the inverse patch; applied to the target it gives the base back.
  assert.deepEqual(await c.request('patchRevert', { patchId: o.patchId, outPath: at('undo.stpatch') }), { hunks: 3 });
  await cli('apply', TARGET, at('undo.stpatch'), '-o', at('back.safetensors'));
  assert.ok(readFileSync(at('back.safetensors')).equals(readFileSync(BASE)));
  await c.request('patchClose', { patchId: o.patchId });
});

test('semantic diff of two versions of a patch: added, removed, changed, unchanged hunks', LIMIT, async () => {
  // New version: the row-2 run grows by one element and changes one value, the row-5 edit is
  // gone, b is unchanged, and a new element of w row 0 is edited.
  const w2 = W.slice();
  for (let i = 19; i < 24; i++) w2[i] = wTarget[i] ?? 0;
  w2[23] = -7;
  w2[20] = 55;
  w2[1] = 9;
  writeModel(at('target2.safetensors'), tensors(w2, bTarget));
  await cli('diff', BASE, at('target2.safetensors'), '-o', at('p2.stpatch'));
  const c = await engine();
  const [a, b] = [await openPatch(at('p.stpatch')), await openPatch(at('p2.stpatch'))];
  const d = await c.request('patchDiff', { oldPatchId: a.patchId, newPatchId: b.patchId });
  assert.equal(d.sameBase, true);
  assert.deepEqual(d.counts, { added: 1, removed: 1, changed: 1, unchanged: 1 });
  assert.deepEqual(d.tensors.map((t) => [t.name, t.presence, t.entryCount, t.unchanged]), [['w', 'both', 3, 0]]);
  const entries = d.tensors[0].entries.map((e) => [e.change, e.elements, e.differing, e.old.length, e.new.length]);
  assert.deepEqual(entries, [
    ['added', [1, 2], 1, 0, 1],
    ['changed', [19, 24], 2, 1, 1], // element 20 (a new value) and 23 (newly edited)
    ['removed', [45, 46], 1, 1, 0],
  ]);
  // new result − old result over the whole of w: 0 where both agree, no value where neither has a hunk.
  const change = await c.request('patchDiffTile', {
    oldPatchId: a.patchId,
    newPatchId: b.patchId,
    tensor: 'w',
    viewport: { row0: 0, row1: 6, col0: 0, col1: 8 },
    maxRows: 6,
    maxCols: 8,
    range: { kind: 'fixed', lo: -127, hi: 127 },
  });
  const expected = new Map([
    [1, 9 - W[1]],
    [19, 0],
    [20, 55 - wTarget[20]],
    [21, 0],
    [22, 0],
    [23, -7 - W[23]],
    [45, W[45] - 100], // the old version's edit is gone: back to the base
  ]);
  for (let i = 0; i < 48; i++) {
    const want = expected.get(i);
    if (want === undefined) assert.equal(change.mean[i], TILE_NO_VALUE, `element ${i}`);
    else assert.ok(Math.abs(-127 + change.mean[i] - want) <= 0.5, `element ${i}: code ${change.mean[i]}, want ${want}`);
  }
  // The reverse direction mirrors it.
  const r = await c.request('patchDiff', { oldPatchId: b.patchId, newPatchId: a.patchId });
  assert.deepEqual(r.counts, { added: 1, removed: 1, changed: 1, unchanged: 1 });
  await c.request('patchClose', { patchId: a.patchId });
  await c.request('patchClose', { patchId: b.patchId });
});

test('compare tiles: A, B and B − A with linked viewports; elements; export as .stpatch', LIMIT, async () => {
  const c = await engine();
  const view = await c.request('compareView', { pathA: BASE, pathB: TARGET, tensor: 'w' });
  assert.deepEqual([view.rows, view.cols, view.sides], [6, 8, ['a', 'b', 'delta']]);
  const viewport = { row0: 2, row1: 6, col0: 0, col1: 8 };
  const req = { pathA: BASE, pathB: TARGET, tensor: 'w', slice: view.slice, viewport, maxRows: 100, maxCols: 100, range: { kind: 'fixed' as const, lo: -10, hi: 100 } };
  const [ta, tb, td] = await Promise.all((['a', 'b', 'delta'] as const).map((side) => c.request('compareTile', { ...req, side })));
  const value = (t: typeof ta, i: number) => -10 + (t.mean[i] * 110) / 254;
  for (let k = 0; k < 32; k++) {
    const i = 16 + k; // rows 2..5
    assert.ok(Math.abs(value(ta, k) - W[i]) <= 0.22, `A[${i}]`);
    assert.ok(Math.abs(value(tb, k) - wTarget[i]) <= 0.22, `B[${i}]`);
    assert.ok(Math.abs(value(td, k) - (wTarget[i] - W[i])) <= 0.22, `B−A[${i}]`);
  }
  const e = await c.request('compareElement', { pathA: BASE, pathB: TARGET, tensor: 'w', slice: view.slice, row: 5, col: 5 });
  assert.deepEqual([e.a.text, e.b.text, e.delta], [String(W[45]), '100', 100 - W[45]]);

  // A tensor only in one model has no B − A.
  const lone = writeModel(at('lone.safetensors'), [...tensors(W, B16), { name: 'extra', dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) }]);
  assert.deepEqual((await c.request('compareView', { pathA: BASE, pathB: lone, tensor: 'extra' })).sides, ['b']);
  await rejects(c.request('compareTile', { ...req, pathB: lone, tensor: 'extra', side: 'delta' }), EngineErrorCode.BadInput, /only in B/);

  // Export: the same bytes as `tensorscope diff`.
  const r = await c.request('exportPatch', { pathA: BASE, pathB: TARGET, outPath: at('exported.stpatch') });
  assert.deepEqual(r, { tensors: 2, hunks: 3, bytes: 22, headersDiffer: false });
  assert.equal(readFileSync(at('exported.stpatch'), 'utf8'), readFileSync(at('p.stpatch'), 'utf8'));
  await rejects(c.request('exportPatch', { pathA: BASE, pathB: lone, outPath: at('never.stpatch') }), EngineErrorCode.BadInput, /different layouts/);
});

test('gitBlob: a committed model in a temp file until released; an LFS pointer without content is one line', LIMIT, async () => {
  const repo = tempFolder('tensorscope-review-git-');
  const env = { ...process.env, HOME: repo, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: join(repo, '.none') };
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repo, env, encoding: 'utf8' });
  git('init', '-q');
  writeModel(join(repo, 'm.safetensors'), tensors(W, B16));
  writeFileSync(join(repo, 'big.safetensors'), `version https://git-lfs.github.com/spec/v1\noid sha256:${'ab'.repeat(32)}\nsize 12345\n`);
  git('add', '.');
  git('commit', '-q', '-m', 'one');
  writeModel(join(repo, 'm.safetensors'), tensors(wTarget, bTarget));

  const c = await engine();
  const blob = await c.request('gitBlob', { cwd: repo, rev: 'HEAD', path: 'm.safetensors' });
  assert.ok(readFileSync(blob.path).equals(readFileSync(BASE)), 'HEAD version, not the working copy');
  const cmp = await c.request('compare', { pathA: blob.path, pathB: join(repo, 'm.safetensors') });
  assert.deepEqual(cmp.counts.changed, 2);
  await c.request('releaseBlob', { path: blob.path });
  assert.equal(existsSync(blob.path), false, 'released');
  await rejects(c.request('gitBlob', { cwd: repo, rev: 'HEAD', path: 'big.safetensors' }), EngineErrorCode.BadInput, /Git LFS pointer whose content is not here/);
  await rejects(c.request('gitBlob', { cwd: repo, rev: 'HEAD', path: 'nope.safetensors' }), EngineErrorCode.BadInput, /nope\.safetensors/);
});

test('gitBlob of a sharded model: the committed index with its shards at that revision (LFS shards: local content or one line)', LIMIT, async () => {
  const repo = tempFolder('tensorscope-review-git-shards-');
  const env = { ...process.env, HOME: repo, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: join(repo, '.none') };
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repo, env, encoding: 'utf8' });
  git('init', '-q');
  mkdirSync(join(repo, 'models'));
  const [b, s, w] = tensors(W, B16);
  const [bTo, , wTo] = tensors(wTarget, bTarget);
  const shard1 = join(repo, 'models', 'm-00001-of-00002.safetensors');
  const shard2 = join(repo, 'models', 'm-00002-of-00002.safetensors');
  const index = join(repo, 'models', 'm.safetensors.index.json');
  const indexJson = (map: Record<string, string>) => JSON.stringify({ metadata: { total_size: 0 }, weight_map: map });
  writeFileSync(index, indexJson({ b: 'm-00001-of-00002.safetensors', s: 'm-00001-of-00002.safetensors', w: 'm-00002-of-00002.safetensors' }));
  writeModel(shard1, [b, s]);
  writeModel(shard2, [w]);
  // Names a shard outside the repository.
  writeFileSync(join(repo, 'models', 'out.safetensors.index.json'), indexJson({ w: '../../w.safetensors' }));
  git('add', '.');
  git('commit', '-q', '-m', 'sharded');
  // The working copy moves on: b (shard 1) and w (shard 2) change.
  writeModel(shard1, [bTo, s]);
  writeModel(shard2, [wTo]);

  const c = await engine();
  const head = await c.request('gitBlob', { cwd: repo, rev: 'HEAD', path: 'models/m.safetensors.index.json' });
  const shardFiles = Object.values(JSON.parse(readFileSync(head.path, 'utf8')).weight_map as Record<string, string>);
  assert.equal(new Set(shardFiles).size, 2);
  // HEAD's tensors are the base's (the single-file model of the same tensors), not the working copy's.
  const vsBase = await c.request('compare', { pathA: head.path, pathB: BASE });
  assert.deepEqual(vsBase.counts, { changed: 0, dtype: 0, shape: 0, added: 0, removed: 0, unchanged: 3 });
  const vsWork = await c.request('compare', { pathA: head.path, pathB: index });
  assert.deepEqual(vsWork.tensors.filter((t) => t.change === 'changed').map((t) => t.name), ['b', 'w']);
  assert.equal(vsWork.tensors.find((t) => t.name === 'w')?.metrics?.maxAbs, 100 - 45 / 8);
  const view = await c.request('compareView', { pathA: head.path, pathB: index, tensor: 'w' });
  assert.deepEqual(view.sides, ['a', 'b', 'delta']);
  await c.request('releaseBlob', { path: head.path });
  for (const f of [head.path, ...shardFiles]) assert.equal(existsSync(f), false, `released: ${f}`);

  // Shard 2 in Git LFS: its content from the local LFS store; then a pointer whose content is not here.
  const lfsPointer = (content: Buffer, store: boolean) => {
    const oid = createHash('sha256').update(content).digest('hex');
    if (store) {
      const folder = join(repo, '.git', 'lfs', 'objects', oid.slice(0, 2), oid.slice(2, 4));
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, oid), content);
    }
    return `version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\nsize ${content.length}\n`;
  };
  writeFileSync(shard2, lfsPointer(readFileSync(writeModel(join(repo, 'w.tmp'), [wTo])), true));
  git('commit', '-q', '-m', 'lfs, fetched', '--', 'models/m-00002-of-00002.safetensors');
  const lfs = await c.request('gitBlob', { cwd: repo, rev: 'HEAD', path: 'models/m.safetensors.index.json' });
  const vsTarget = await c.request('compare', { pathA: lfs.path, pathB: TARGET });
  assert.deepEqual(vsTarget.tensors.filter((t) => t.change !== 'unchanged').map((t) => t.name), ['b'], 'w is the LFS content (the target\'s), b the committed base');
  await c.request('releaseBlob', { path: lfs.path });
  writeFileSync(shard2, lfsPointer(Buffer.from('not fetched'), false));
  git('commit', '-q', '-m', 'lfs, not fetched', '--', 'models/m-00002-of-00002.safetensors');
  await rejects(
    c.request('gitBlob', { cwd: repo, rev: 'HEAD', path: 'models/m.safetensors.index.json' }),
    EngineErrorCode.BadInput,
    /^git:HEAD:models\/m-00002-of-00002\.safetensors: is a Git LFS pointer whose content is not here \(oid sha256:[0-9a-f]{64}\); run 'git lfs fetch'$/,
  );
  // The first commit: HEAD~2 as well as HEAD.
  const first = await c.request('gitBlob', { cwd: repo, rev: 'HEAD~2', path: 'models/m.safetensors.index.json' });
  assert.equal((await c.request('compare', { pathA: first.path, pathB: BASE })).counts.unchanged, 3);
  await c.request('releaseBlob', { path: first.path });
  await rejects(c.request('gitBlob', { cwd: repo, rev: 'HEAD', path: 'models/out.safetensors.index.json' }), EngineErrorCode.BadInput, /out\.safetensors\.index\.json: weight_map names "\.\.\/\.\.\/w\.safetensors", outside the repository/);
});
