// The real `tensorscope` CLI (freshly bundled, spawned): diff / verify / apply / revert /
// compose end to end, exit codes (0 ok, 1 does not fit, 2 bad input) with one stderr line
// and no partial files, and a writer killed part-way leaving the base intact and no output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, openSync, readdirSync, readFileSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { buildEngine } from './cli-build';
import { runCli } from './cli-run';
import { editRegion } from '../../src/engine/edit/ops';
import { writePatchFile } from '../../src/engine/patch/file';
import { PatchOverlay } from '../../src/engine/patch/overlay';
import { parsePatch } from '../../src/engine/patch/parse';
import { openModel } from '../../src/engine/safetensors/model';
import { mixedTensors, mutateData, rng, safetensorsFile, sha256File, tempFolder } from './patch-helpers';

const dir = tempFolder('tensorscope-patch-cli-');
const at = (name: string) => join(dir, name);

const r = rng(99);
const baseBytes = safetensorsFile(mixedTensors(r));
const targetBytes = mutateData(baseBytes, 6, r);
writeFileSync(at('base.safetensors'), baseBytes);
writeFileSync(at('target.safetensors'), targetBytes);

/** Exit 2, exactly one line on stderr (no stack trace), nothing on stdout. */
function assertBadInput(res: { code: number | null; stdout: string; stderr: string }, pattern: RegExp): void {
  assert.equal(res.code, 2, `${res.stderr}${res.stdout}`);
  assert.equal(res.stdout, '');
  assert.match(res.stderr, /^tensorscope: [^\n]+\n$/);
  assert.doesNotMatch(res.stderr, /\n\s+at /);
  assert.match(res.stderr, pattern);
}

function hiddenTemps(): string[] {
  return readdirSync(dir).filter((n) => n.startsWith('.'));
}

test('diff, verify, apply, verify again, revert, compose: the whole round trip through the CLI', async () => {
  let res = await runCli(['diff', at('base.safetensors'), at('target.safetensors'), '-o', at('p.stpatch')]);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /^\d+ hunks? in \d+ tensors?, \d+ bytes? changed -> /);
  assert.match(readFileSync(at('p.stpatch'), 'utf8'), /^stpatch 1\n/);

  res = await runCli(['verify', at('base.safetensors'), at('p.stpatch')]);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /^clean: /);

  res = await runCli(['apply', at('base.safetensors'), at('p.stpatch'), '-o', at('baked.safetensors')]);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(Buffer.compare(readFileSync(at('baked.safetensors')), targetBytes), 0);

  res = await runCli(['verify', at('baked.safetensors'), at('p.stpatch')]);
  assert.equal(res.code, 1);
  assert.match(res.stdout, /^already applied/);

  res = await runCli(['apply', at('baked.safetensors'), at('p.stpatch'), '-o', at('twice.safetensors')]);
  assert.equal(res.code, 1);
  assert.match(res.stderr, /already applied/);
  assert.equal(existsSync(at('twice.safetensors')), false);

  res = await runCli(['revert', at('p.stpatch'), '-o', at('inverse.stpatch')]);
  assert.equal(res.code, 0, res.stderr);
  res = await runCli(['apply', at('baked.safetensors'), at('inverse.stpatch'), '-o', at('restored.safetensors')]);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(Buffer.compare(readFileSync(at('restored.safetensors')), baseBytes), 0);

  res = await runCli(['compose', at('p.stpatch'), at('inverse.stpatch'), '-o', at('nothing.stpatch')]);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /^0 hunks in 0 tensors/);
  res = await runCli(['compose', at('p.stpatch'), at('p.stpatch'), '-o', at('bad-compose.stpatch')]);
  assert.equal(res.code, 1);
  assert.match(res.stderr, /conflict: /);
  assert.equal(existsSync(at('bad-compose.stpatch')), false);
  assert.deepEqual(hiddenTemps(), []);
});

test('a conflicting base: exit 1, every conflict listed, nothing written', async () => {
  await runCli(['diff', at('base.safetensors'), at('target.safetensors'), '-o', at('q.stpatch')]);
  // Someone changed the base where each hunk is: every hunk conflicts.
  const q = parsePatch(readFileSync(at('q.stpatch')), 'q.stpatch');
  const other = Buffer.from(baseBytes);
  for (const h of q.hunks) other[q.tensors.find((t) => t.name === h.tensor)!.fileOffset + h.offset] ^= 0xff;
  writeFileSync(at('other.safetensors'), other);
  const res = await runCli(['apply', at('other.safetensors'), at('q.stpatch'), '-o', at('q-out.safetensors')]);
  assert.equal(res.code, 1);
  const conflicts = res.stderr.split('\n').filter((l) => l.startsWith('conflict: '));
  assert.equal(conflicts.length, q.hunks.length);
  for (const c of conflicts) assert.match(c, /^conflict: tensor "[^"]+" elements \d+:\d+: elements? \d+(:\d+)? \[[\d, ]*\]: expected .* found /);
  assert.match(res.stderr, /does not apply .* nothing written\n$/);
  assert.equal(existsSync(at('q-out.safetensors')), false);
});

test('bad input of any kind: exit 2, one line on stderr, no partial file', async () => {
  const lines = readFileSync(at('p.stpatch'), 'utf8').split('\n');
  const row = lines.findIndex((l) => l.startsWith('- '));
  lines[row] = lines[row].replace(/^- \S+/, '- zz');
  writeFileSync(at('broken.stpatch'), lines.join('\n'));
  writeFileSync(at('not-a-model.safetensors'), 'hello');

  const out = at('never.safetensors');
  assertBadInput(await runCli(['apply', at('base.safetensors'), at('broken.stpatch'), '-o', out]), new RegExp(`broken\\.stpatch:${row + 1}: expected hex bytes, got "zz"`));
  assertBadInput(await runCli(['apply', at('base.safetensors'), at('missing.stpatch'), '-o', out]), /missing\.stpatch: no such file/);
  assertBadInput(await runCli(['apply', at('not-a-model.safetensors'), at('p.stpatch'), '-o', out]), /not-a-model\.safetensors/);
  assertBadInput(await runCli(['apply', at('base.safetensors'), at('p.stpatch')]), /apply: missing -o OUTPUT/);
  assertBadInput(await runCli(['apply', at('base.safetensors'), at('p.stpatch'), '-o', join(dir, 'no-such-folder', 'x.safetensors')]), /cannot write: no such folder/);
  assertBadInput(await runCli(['apply', at('base.safetensors'), at('p.stpatch'), '-o', out, '--only', '[abc']), /unclosed "\["/);
  assertBadInput(await runCli(['apply', at('base.safetensors'), at('p.stpatch'), '-o', out, '--bogus']), /unknown option '--bogus'/);
  assertBadInput(await runCli(['verify', at('base.safetensors'), at('broken.stpatch')]), /broken\.stpatch:\d+: /);
  assertBadInput(await runCli(['verify', at('base.safetensors')]), /missing PATCH/);
  assertBadInput(await runCli(['revert', at('broken.stpatch'), '-o', at('never.stpatch')]), /broken\.stpatch:\d+: /);
  assertBadInput(await runCli(['compose', at('p.stpatch'), at('base.safetensors'), '-o', at('never.stpatch')]), /base\.safetensors:1: not a \.stpatch file/);
  writeFileSync(at('small.safetensors'), safetensorsFile(mixedTensors(rng(1)).slice(0, 3)));
  assertBadInput(await runCli(['diff', at('base.safetensors'), at('small.safetensors'), '-o', at('never.stpatch')]), /different layouts/);
  assertBadInput(await runCli(['diff', at('base.safetensors'), at('p.stpatch'), '-o', at('never.stpatch')]), /p\.stpatch/);
  assert.equal(existsSync(out), false);
  assert.equal(existsSync(at('never.stpatch')), false);
  assert.deepEqual(hiddenTemps(), []);
});

/** A base with a small tensor and a sparse `size`-byte one (mostly holes). */
function sparseBase(path: string, size: number): void {
  let json = JSON.stringify({ small: { dtype: 'U8', shape: [16], data_offsets: [0, 16] }, big: { dtype: 'U8', shape: [size], data_offsets: [16, 16 + size] } });
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  const fd = openSync(path, 'w');
  writeSync(fd, Buffer.concat([prefix, Buffer.from(json), Buffer.alloc(16, 7)]));
  ftruncateSync(fd, 8 + json.length + 16 + size);
  closeSync(fd);
}

/** A patch of the small tensor (made in-process: only the CLI's apply is under test here). */
async function smallPatch(base: string, patchPath: string): Promise<void> {
  const model = await openModel(base);
  const doc = new PatchOverlay(model);
  try {
    await doc.apply(await editRegion(doc, { tensor: 'small', slice: '[:]', rect: { row0: 0, row1: 1, col0: 2, col1: 9 } }, { kind: 'add', amount: 5 }));
    await writePatchFile(patchPath, await doc.toPatch());
  } finally {
    await doc.close();
  }
}

async function spawnApply(base: string, patch: string, out: string, env: NodeJS.ProcessEnv = {}) {
  const cli = await buildEngine();
  const child = spawn(process.execPath, [cli, 'apply', base, patch, '-o', out], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return { child, exited, stderr: () => stderr };
}

test('a writer killed part-way leaves the base intact and no output file', async () => {
  const base = at('sparse.safetensors');
  sparseBase(base, 1 << 20);
  await smallPatch(base, at('sparse.stpatch'));
  const before = sha256File(base);
  const out = at('sparse-out.safetensors');
  // The test hook stops the writer after its first patched bytes: temp file written, not renamed.
  const run = await spawnApply(base, at('sparse.stpatch'), out, { TENSORSCOPE_TEST_PAUSE_AFTER_BYTES: '1' });
  for (let i = 0; i < 5000 && !run.stderr().includes('tensorscope-test: paused') && run.child.exitCode === null; i++) {
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  assert.match(run.stderr(), /tensorscope-test: paused/);
  const temps = hiddenTemps().filter((n) => n.startsWith('.sparse-out.safetensors.tmp-'));
  assert.equal(temps.length, 1, 'the writer works in a hidden temp file');
  assert.equal(existsSync(out), false);
  run.child.kill('SIGKILL');
  await run.exited;
  assert.equal(existsSync(out), false, 'no output file after the kill');
  assert.equal(sha256File(base), before, 'base intact');

  // The leftover temp is cleaned by the next write once it is stale (dead pid, old mtime).
  const old = new Date(Date.now() - 3600_000);
  utimesSync(join(dir, temps[0]), old, old);
  const res = await runCli(['apply', base, at('sparse.stpatch'), '-o', out]);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(hiddenTemps().filter((n) => n.startsWith('.sparse-out')), []);
  assert.match((await runCli(['verify', out, at('sparse.stpatch')])).stdout, /already applied/);
});

test('a 200 MB bake killed at a random moment: the output is absent or complete, never partial', async () => {
  const base = at('big.safetensors');
  sparseBase(base, 200 << 20);
  await smallPatch(base, at('big.stpatch'));
  const before = sha256File(base);
  const out = at('big-out.safetensors');
  const run = await spawnApply(base, at('big.stpatch'), out);
  // Kill as soon as the temp file shows up (mid-copy, typically).
  for (let i = 0; i < 5000 && run.child.exitCode === null; i++) {
    if (hiddenTemps().some((n) => n.startsWith('.big-out.safetensors.tmp-'))) break;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  run.child.kill('SIGKILL');
  await run.exited;
  if (existsSync(out)) {
    const verify = await runCli(['verify', out, at('big.stpatch')]);
    assert.match(verify.stdout, /already applied/, 'an output file is always the complete result');
  }
  assert.equal(sha256File(base), before, 'base intact');
});
