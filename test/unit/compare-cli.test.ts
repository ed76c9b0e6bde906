// `tensorscope compare` through the CLI entry: the table, --json, --sort, --all and bad input
// (exit 2, one stderr line, nothing on stdout).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelComparison } from '../../src/shared/protocol';
import { REF_MIXED, FIXTURES, runCliInProcess as cli, safetensorsBytes } from './cli-run';

const dir = mkdtempSync(join(tmpdir(), 'tensorscope-compare-cli-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function f32(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

const A = join(dir, 'a.safetensors');
const B = join(dir, 'b.safetensors');
writeFileSync(
  A,
  safetensorsBytes([
    { name: 'small', dtype: 'F32', shape: [4], data: f32([1, 2, 3, 4]) }, // max |Δ| 0.1, cos ~1
    { name: 'flip', dtype: 'F32', shape: [2], data: f32([1, 1]) }, // sign flip: cos -1, max |Δ| 2
    { name: 'big', dtype: 'F32', shape: [2], data: f32([100, 0]) }, // max |Δ| 50, rel 0.5, cos 1
    { name: 'same', dtype: 'F32', shape: [2], data: f32([5, 6]) },
    { name: 'old', dtype: 'F32', shape: [1], data: f32([0]) },
  ]),
);
writeFileSync(
  B,
  safetensorsBytes([
    { name: 'small', dtype: 'F32', shape: [4], data: f32([1, 2, 3, 4.1]) },
    { name: 'flip', dtype: 'F32', shape: [2], data: f32([-1, -1]) },
    { name: 'big', dtype: 'F32', shape: [2], data: f32([50, 0]) },
    { name: 'same', dtype: 'F32', shape: [2], data: f32([5, 6]) },
    { name: 'new', dtype: 'BF16', shape: [1], data: new Uint8Array(2) },
  ]),
);

test('--json gives the whole comparison; --sort orders changed tensors by the metric', async () => {
  const r = await cli(['compare', A, B, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const c = JSON.parse(r.stdout) as ModelComparison;
  assert.deepEqual(c.counts, { changed: 3, dtype: 0, shape: 0, added: 1, removed: 1, unchanged: 1 });
  assert.deepEqual(c.tensors.map((t) => t.name), ['big', 'flip', 'new', 'old', 'same', 'small']);
  const flip = c.tensors.find((t) => t.name === 'flip')!.metrics!;
  assert.deepEqual(flip, { differing: 2, nonFinite: 0, finitePairs: 2, maxAbs: 2, meanAbs: 2, relative: 2, cosine: -1 });

  const order = async (key: string) =>
    (JSON.parse((await cli(['compare', A, B, '--json', '--sort', key])).stdout) as ModelComparison).tensors.map((t) => t.name);
  assert.deepEqual(await order('maxAbs'), ['big', 'flip', 'small', 'new', 'old', 'same']);
  assert.deepEqual(await order('rel'), ['flip', 'big', 'small', 'new', 'old', 'same']);
  assert.deepEqual(await order('cos'), ['flip', 'small', 'big', 'new', 'old', 'same']);
  assert.deepEqual(await order('name'), ['big', 'flip', 'new', 'old', 'same', 'small']);
});

test('the table shows changed, added and removed tensors (unchanged only with --all)', async () => {
  const r = await cli(['compare', A, B, '--sort', 'maxAbs']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines[0], `A: ${A}`);
  assert.equal(lines[1], `B: ${B}`);
  assert.equal(lines[2], '3 changed, 1 added, 1 removed; 1 unchanged');
  assert.match(lines[4], /^tensor\s+change\s+dtype\s+shape\s+differing\s+max\|Δ\|\s+mean\|Δ\|\s+‖Δ‖\/‖A‖\s+cos$/);
  const rows = lines.slice(5).map((l) => l.split(/\s{2,}/));
  assert.deepEqual(rows, [
    ['big', 'changed', 'F32', '[2]', '1 (50%)', '50', '25', '0.5', '1'],
    ['flip', 'changed', 'F32', '[2]', '2 (100%)', '2', '2', '2', '-1'],
    ['small', 'changed', 'F32', '[4]', '1 (25%)', '0.1', '0.025', '0.01826', '0.999924'],
    ['new', 'added', 'BF16', '[1]'],
    ['old', 'removed', 'F32', '[1]'],
  ]);
  const all = await cli(['compare', A, B, '--all']);
  assert.match(all.stdout, /\nsame\s+unchanged\s+F32\s+\[2\]\n/);

  const same = await cli(['compare', REF_MIXED, REF_MIXED]);
  assert.equal(same.stdout, `A: ${REF_MIXED}\nB: ${REF_MIXED}\nno tensor changed; 16 unchanged\n`);
});

test('bad input: exit 2, one line on stderr, nothing on stdout', async () => {
  const cases = [
    ['compare', A],
    ['compare', A, join(dir, 'missing.safetensors')],
    ['compare', join(FIXTURES, 'malformed/hole.safetensors'), B],
    ['compare', A, B, '--sort', 'size'],
    ['compare', A, B, '--frobnicate'],
  ];
  for (const args of cases) {
    const r = await cli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '', args.join(' '));
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^tensorscope: /);
  }
});

test('-o writes the differences as a .stpatch that turns A into B', async () => {
  const tensors = (bias: number[]) => [
    { name: 'w', dtype: 'F32', shape: [2, 2], data: f32([1, 2, 3, 4]) },
    { name: 'bias', dtype: 'F32', shape: [3], data: f32(bias) },
  ];
  const base = join(dir, 'base.safetensors');
  const target = join(dir, 'target.safetensors');
  writeFileSync(base, safetensorsBytes(tensors([0, 0, 1])));
  writeFileSync(target, safetensorsBytes(tensors([0, 0.5, 1])));
  const patch = join(dir, 'out.stpatch');
  const r = await cli(['compare', base, target, '-o', patch]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^1 changed; 1 unchanged$/m);
  assert.match(r.stdout, /\npatch: 1 hunk in 1 tensor, 4 bytes changed -> .*out\.stpatch\n$/);
  assert.match(readFileSync(patch, 'utf8'), /^stpatch 1\n/);

  // Applying the patch to A gives B byte for byte (the patch helper's own apply).
  const applied = join(dir, 'applied.safetensors');
  const apply = await cli(['apply', base, patch, '-o', applied]);
  assert.equal(apply.code, 0, apply.stderr);
  assert.ok(readFileSync(applied).equals(readFileSync(target)));

  // Different layouts: exit 2, one line naming the difference, no file.
  const refused = join(dir, 'refused.stpatch');
  const bad = await cli(['compare', A, B, '-o', refused]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stdout, '');
  assert.equal(bad.stderr, `tensorscope: compare: cannot write ${refused}: tensor "old" is only in A (a .stpatch needs the same tensors at the same offsets)\n`);
  assert.equal(existsSync(refused), false);
});
