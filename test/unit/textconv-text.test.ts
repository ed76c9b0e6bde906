// textconv: one stable line per tensor. Checked against the reference writer's fixture
// (its statistics and an independent SHA-256 of the bytes), for byte-identical output from
// identical content, for exactly one changed line per changed tensor, and for the lines it
// prints instead of failing (LFS pointers, malformed files) through the real CLI entry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/engine/cli';
import { textconv } from '../../src/engine/compare/textconv';
import { decodeElements } from '../../src/engine/dtype/decode';
import { writeSafetensors, type TensorToWrite } from '../../src/engine/safetensors/writer';

const FIXTURE = join(__dirname, '../fixtures/ref_mixed.safetensors');
const REF_STATS = JSON.parse(readFileSync(join(__dirname, '../fixtures/ref_mixed.stats.json'), 'utf8')) as Record<
  string,
  { shape: number[]; nan: number; inf: number; min: number | null; max: number | null; mean: number | null; std: number | null }
>;

const dir = mkdtempSync(join(tmpdir(), 'tensorscope-textconv-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) });
  return { code, stdout, stderr };
}

/** The tensors of a safetensors file read straight from its header, independently of the engine. */
function rawTensors(path: string): Map<string, { dtype: string; shape: number[]; bytes: Buffer }> {
  const file = readFileSync(path);
  const n = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + n).toString('utf8'));
  const out = new Map();
  for (const [name, e] of Object.entries<any>(header)) {
    if (name === '__metadata__') continue;
    out.set(name, { dtype: e.dtype, shape: e.shape, bytes: file.subarray(8 + n + e.data_offsets[0], 8 + n + e.data_offsets[1]) });
  }
  return out;
}

function parseLine(line: string) {
  const m = /^(\S+) (\S+) \[([\d, ]*)\] sha256:([0-9a-f]{16}) mean=(\S+) std=(\S+) min=(\S+) max=(\S+)((?: \w+=\d+)*)$/.exec(line);
  assert.ok(m, `line has the documented form: ${line}`);
  const num = (s: string) => (s === '-' ? null : Number(s));
  const extra = Object.fromEntries([...m[9].matchAll(/(\w+)=(\d+)/g)].map((x) => [x[1], Number(x[2])]));
  return {
    name: m[1],
    dtype: m[2],
    shape: m[3] === '' ? [] : m[3].split(', ').map(Number),
    hash: m[4],
    mean: num(m[5]),
    std: num(m[6]),
    min: num(m[7]),
    max: num(m[8]),
    nan: extra.nan ?? 0,
    inf: extra.inf ?? 0,
  };
}

function close6(actual: number | null, expected: number | null, what: string): void {
  if (actual === null || expected === null) return assert.equal(actual, expected, what);
  // 6 significant digits: within half a unit of the 6th digit.
  assert.ok(Math.abs(actual - expected) <= 5e-6 * Math.abs(expected) + 1e-300, `${what}: ${actual} vs ${expected}`);
}

test('reference fixture: a line per tensor with the right hash and the reference statistics', async () => {
  const text = await textconv(FIXTURE);
  assert.ok(text.endsWith('\n'));
  const lines = text.trimEnd().split('\n');
  assert.deepEqual(lines.slice(0, 2), ['__metadata__ "format": "pt"', '__metadata__ "note": "reference"']);
  const raw = rawTensors(FIXTURE);
  const tensorLines = lines.slice(2).map(parseLine);
  assert.deepEqual(
    tensorLines.map((l) => l.name),
    [...raw.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
  );
  for (const l of tensorLines) {
    const r = raw.get(l.name)!;
    const ref = REF_STATS[l.name];
    assert.equal(l.dtype, r.dtype);
    assert.deepEqual(l.shape, r.shape);
    assert.equal(l.hash, createHash('sha256').update(r.bytes).digest('hex').slice(0, 16), `${l.name} hash`);
    assert.equal(l.nan, ref.nan, `${l.name} nan`);
    assert.equal(l.inf, ref.inf, `${l.name} inf`);
    for (const key of ['mean', 'std', 'min', 'max'] as const) close6(l[key], ref[key], `${l.name} ${key}`);
  }
});

function tensors(seed: number): TensorToWrite[] {
  const f = new Float32Array(1000).map((_, i) => Math.sin(i * seed));
  return [
    { name: 'a.weight', dtype: 'F32', shape: [10, 100], data: new Uint8Array(f.buffer) },
    { name: 'b.bias', dtype: 'BF16', shape: [8], data: new Uint8Array(16).map((_, i) => i * 7) },
    { name: 'c.ids', dtype: 'I64', shape: [2], data: new Uint8Array(16).fill(1) },
  ];
}

test('same content gives byte-identical text; one changed tensor changes exactly its line', async () => {
  const p1 = join(dir, 'one.safetensors');
  const p2 = join(dir, 'two.safetensors');
  await writeSafetensors(p1, tensors(1), { z: '1', a: '2' });
  await writeSafetensors(p2, [...tensors(1)].reverse(), { a: '2', z: '1' });
  const t1 = await textconv(p1);
  assert.equal(await textconv(p2), t1);
  assert.equal(await textconv(p1), t1);

  const changed = tensors(1);
  const data = Uint8Array.from(changed[1].data);
  data[3] ^= 1;
  changed[1] = { ...changed[1], data };
  const p3 = join(dir, 'three.safetensors');
  await writeSafetensors(p3, changed, { z: '1', a: '2' });
  const before = t1.split('\n');
  const after = (await textconv(p3)).split('\n');
  assert.equal(after.length, before.length);
  const differing = before.map((line, i) => [line, after[i]]).filter(([x, y]) => x !== y);
  assert.equal(differing.length, 1);
  assert.ok(differing[0][0].startsWith('b.bias BF16 [8] sha256:'));
  assert.notEqual(parseLine(differing[0][0]).hash, parseLine(differing[0][1]).hash);
});

test('large tensors (hashed on the worker, several chunks): hash and numbers match a naive reference', async () => {
  const n = 2_200_000; // F32: 3 read chunks, BF16: 2
  const f = new Float32Array(n);
  const bf = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    f[i] = Math.sin(i) * 3 + 1;
    bf[i] = 0x3f80 + ((i * 2654435761) >>> 22); // 1.0 .. ~3.4
  }
  f[1_234_567] = NaN;
  f[n - 1] = -Infinity;
  const path = join(dir, 'large.safetensors');
  const data = { f32: new Uint8Array(f.buffer), bf16: new Uint8Array(bf.buffer) };
  await writeSafetensors(path, [
    { name: 'f32', dtype: 'F32', shape: [n], data: data.f32 },
    { name: 'bf16', dtype: 'BF16', shape: [1000, n / 1000], data: data.bf16 },
  ]);
  const first = await textconv(path);
  assert.equal(await textconv(path), first);
  const lines = first.trimEnd().split('\n').map(parseLine);
  assert.deepEqual(lines.map((l) => l.name), ['bf16', 'f32']);
  for (const l of lines) {
    const bytes = data[l.name as 'f32' | 'bf16'];
    assert.equal(l.hash, createHash('sha256').update(bytes).digest('hex').slice(0, 16), `${l.name} hash`);
    const values = new Float64Array(n);
    decodeElements(l.dtype as 'F32' | 'BF16', bytes, 0, n, values);
    let count = 0, sum = 0, min = Infinity, max = -Infinity, nan = 0;
    for (const v of values) {
      if (Number.isNaN(v)) nan++;
      else if (Number.isFinite(v)) {
        count++;
        sum += v;
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
    }
    const mean = sum / count;
    let m2 = 0;
    for (const v of values) if (Number.isFinite(v)) m2 += (v - mean) ** 2;
    close6(l.mean, mean, `${l.name} mean`);
    close6(l.std, Math.sqrt(m2 / count), `${l.name} std`);
    close6(l.min, min, `${l.name} min`);
    close6(l.max, max, `${l.name} max`);
    assert.equal(l.nan, nan);
    assert.equal(l.inf, n - count - nan);
  }
  assert.equal(lines[1].nan, 1);
  assert.equal(lines[1].inf, 1);
});

test('CLI: an LFS pointer and a malformed file each give one comment line and exit 0', async () => {
  const oid = 'sha256:' + 'ab'.repeat(32);
  const pointer = join(dir, 'pointer.safetensors');
  writeFileSync(pointer, `version https://git-lfs.github.com/spec/v1\noid ${oid}\nsize 123456789\n`);
  const lfs = await cli('textconv', pointer);
  assert.deepEqual(lfs, { code: 0, stdout: `# tensorscope: Git LFS pointer (content not fetched): oid ${oid} size 123456789\n`, stderr: '' });

  const malformed = join(dir, 'hole.safetensors');
  copyFileSync(join(__dirname, '../fixtures/malformed/hole.safetensors'), malformed);
  const bad = await cli('textconv', malformed);
  assert.equal(bad.code, 0);
  assert.equal(bad.stderr, '');
  assert.match(bad.stdout, /^# tensorscope: \S+hole\.safetensors: data of "b" starts at 8 but the previous tensor ends at 4 \(gap\)\n$/);

  const missing = await cli('textconv', join(dir, 'nope.safetensors'));
  assert.equal(missing.code, 0);
  assert.match(missing.stdout, /^# tensorscope: \S+nope\.safetensors: no such file\n$/);

  const good = await cli('textconv', FIXTURE);
  assert.deepEqual(good, { code: 0, stdout: await textconv(FIXTURE), stderr: '' });

  const usage = await cli('textconv');
  assert.equal(usage.code, 2);
  assert.equal(usage.stdout, '');
  assert.equal(usage.stderr.trimEnd().split('\n').length, 1);
});
