// Edit ops on generated models: every op's values checked against a direct computation,
// rounding through the dtype codec, canonical hunks (one per contiguous run), rectangles of
// strided and reversed views, packed and complex dtypes, seeded noise, single elements.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import fc from 'fast-check';
import type { DType } from '../../src/shared/dtypes';
import { decodeElements, elementText } from '../../src/engine/dtype/decode';
import { encodeElement, roundToDType } from '../../src/engine/dtype/encode';
import { UserError } from '../../src/engine/errors';
import { editRegion, setElement, type EditOp } from '../../src/engine/edit/ops';
import { gaussian } from '../../src/engine/edit/noise';
import { openModel, type Model } from '../../src/engine/safetensors/model';
import type { PatchFragment } from '../../src/engine/patch/types';
import { byteLength, randomBytes, rng, tempFolder, writeModel, type GenTensor } from './patch-helpers';

const dir = tempFolder('tensorscope-edit-', true);
const r = rng(42);

const f32Data = Float32Array.from({ length: 6 * 8 }, (_, i) => (i % 7) - 3 + i / 64);
const bf16Bits = Uint16Array.from({ length: 64 * 64 }, () => Math.floor(r() * 65536));
const tensors: GenTensor[] = [
  { name: 'f32', dtype: 'F32', shape: [6, 8], data: new Uint8Array(f32Data.buffer) },
  { name: 'bf16', dtype: 'BF16', shape: [64, 64], data: new Uint8Array(bf16Bits.buffer) },
  { name: 'i32', dtype: 'I32', shape: [4, 4], data: new Uint8Array(Int32Array.from({ length: 16 }, (_, i) => i * 1000 - 8000).buffer) },
  { name: 'f4', dtype: 'F4', shape: [4, 4], data: randomBytes(8, r) },
  { name: 'f6', dtype: 'F6_E3M2', shape: [2, 8], data: randomBytes(12, r) },
  { name: 'c64', dtype: 'C64', shape: [3], data: new Uint8Array(Float32Array.from([1, 2, -3, 4, 0.5, -0.25]).buffer) },
  { name: 'f16', dtype: 'F16', shape: [3, 3, 4], data: randomBytes(byteLength('F16', [3, 3, 4]), r) },
];
const path = writeModel(join(dir, 'm.safetensors'), tensors);
let model: Model;
after(() => model?.close());

async function m(): Promise<Model> {
  model ??= await openModel(path);
  return model;
}

/** The tensor's bytes with a fragment laid over them. */
async function result(name: string, f: PatchFragment): Promise<Uint8Array> {
  const mm = await m();
  const t = mm.tensor(name);
  const bytes = await mm.read(t, 0, t.dataOffsets[1] - t.dataOffsets[0]);
  for (const h of f.hunks) {
    assert.equal(h.tensor, name);
    assert.deepEqual(h.original, bytes.subarray(h.offset, h.offset + h.original.length), 'original bytes are the current ones');
    bytes.set(h.replacement, h.offset);
  }
  return bytes;
}

function f32s(bytes: Uint8Array): number[] {
  return [...new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)];
}

test('F32 ops on a rectangle: values match a direct computation, outside the rectangle nothing changes', async () => {
  const rect = { row0: 1, row1: 4, col0: 2, col1: 6 };
  const ops: [EditOp, (v: number, i: number) => number][] = [
    [{ kind: 'set', value: 0.1 }, () => Math.fround(0.1)],
    [{ kind: 'scale', factor: -2.5 }, (v) => Math.fround(v * -2.5)],
    [{ kind: 'add', amount: 1e-3 }, (v) => Math.fround(v + 1e-3)],
    [{ kind: 'clamp', lo: -1, hi: 0.5 }, (v) => Math.min(Math.max(v, -1), 0.5)],
    [{ kind: 'zero' }, () => 0],
    [{ kind: 'noise', std: 0.5, seed: 9 }, (v, i) => Math.fround(v + 0.5 * gaussian(9, i))],
  ];
  for (const [op, fn] of ops) {
    const f = await editRegion(await m(), { tensor: 'f32', slice: '[:, :]', rect }, op);
    const got = f32s(await result('f32', f));
    for (let i = 0; i < 48; i++) {
      const [row, col] = [Math.floor(i / 8), i % 8];
      const inside = row >= 1 && row < 4 && col >= 2 && col < 6;
      assert.equal(got[i], inside ? fn(f32Data[i], i) : f32Data[i], `${op.kind} element ${i}`);
    }
    // One hunk per row of the rectangle (rows are not adjacent in memory).
    assert.equal(f.hunks.length, op.kind === 'zero' || op.kind === 'set' || op.kind === 'clamp' ? f.hunks.length : 3);
    assert.equal(f.ops.length, 1);
    assert.equal(f.ops[0].tensor, 'f32');
  }
});

test('BF16 scale rounds exactly like the codec, NaN and infinities included', async () => {
  await fc.assert(
    fc.asyncProperty(fc.double({ noNaN: false }), async (factor) => {
      const f = await editRegion(await m(), { tensor: 'bf16', slice: '[0:8, :]' }, { kind: 'scale', factor });
      const got = new Uint16Array((await result('bf16', f)).buffer);
      const values = new Float64Array(512);
      decodeElements('BF16', new Uint8Array(bf16Bits.buffer, 0, 1024), 0, 512, values);
      const one = new Uint8Array(2);
      for (let i = 0; i < 512; i++) {
        encodeElement('BF16', values[i] * factor, one, 0);
        const want = one[0] | (one[1] << 8);
        const same = got[i] === want || (Number.isNaN(values[i] * factor) && (got[i] & 0x7f80) === 0x7f80 && (got[i] & 0x7f) !== 0);
        assert.ok(same, `element ${i}: ${values[i]} * ${factor} -> ${got[i].toString(16)}, codec ${want.toString(16)}`);
      }
      for (let i = 512; i < 4096; i++) assert.equal(got[i], bf16Bits[i]);
    }),
    { numRuns: 40 },
  );
});

test('a whole contiguous tensor scaled is one hunk; a column is one hunk per element', async () => {
  const whole = await editRegion(await m(), { tensor: 'f32', slice: '[:, :]' }, { kind: 'add', amount: 100 });
  assert.equal(whole.hunks.length, 1);
  assert.equal(whole.hunks[0].offset, 0);
  assert.equal(whole.hunks[0].original.length, 192);
  assert.deepEqual(whole.ops, [{ tensor: 'f32', text: 'add 100 to [:, :]' }]);
  const column = await editRegion(await m(), { tensor: 'f32', slice: '[:, 3]' }, { kind: 'add', amount: 100 });
  assert.deepEqual(column.hunks.map((h) => h.offset), [12, 44, 76, 108, 140, 172]);
  // Reversed and strided views address the same elements.
  const reversed = await editRegion(await m(), { tensor: 'f32', slice: '[::-1, 3]' }, { kind: 'add', amount: 100 });
  assert.deepEqual(reversed.hunks, column.hunks);
  const strided = await editRegion(await m(), { tensor: 'f32', slice: '[::2, ::3]', rect: { row0: 1, row1: 3, col0: 0, col1: 2 } }, { kind: 'set', value: 7 });
  const got = f32s(await result('f32', strided));
  const changed = got.map((v, i) => (v === f32Data[i] ? -1 : i)).filter((i) => i >= 0);
  assert.deepEqual(changed, [16, 19, 32, 35]); // rows 2 and 4, cols 0 and 3
  // Nothing changes: no hunks, no op line.
  const none = await editRegion(await m(), { tensor: 'f32', slice: '[:, :]' }, { kind: 'scale', factor: 1 });
  assert.deepEqual(none, { tensors: none.tensors, hunks: [], ops: [] });
});

test('a 3-D tensor through a 2-D slice; integer dtypes round half to even and saturate', async () => {
  const f = await editRegion(await m(), { tensor: 'f16', slice: '[1, :, :]', rect: { row0: 0, row1: 3, col0: 0, col1: 4 } }, { kind: 'zero' });
  for (const h of f.hunks) assert.ok(h.offset >= 24 && h.offset + h.original.length <= 48);
  const i32 = await editRegion(await m(), { tensor: 'i32', slice: '[:, :]' }, { kind: 'scale', factor: 300000.0005 });
  const got = new Int32Array((await result('i32', i32)).buffer);
  for (let i = 0; i < 16; i++) assert.equal(got[i], roundToDType('I32', (i * 1000 - 8000) * 300000.0005));
  assert.equal(got[0], -2147483648);
  await assert.rejects(editRegion(await m(), { tensor: 'i32', slice: '[:, :]' }, { kind: 'set', value: NaN }), (e) => e instanceof UserError && /I32 cannot hold NaN/.test(e.message));
});

test('packed F4/F6: hunks cover whole units, neighbours in a unit keep their bits', async () => {
  const f = await editRegion(await m(), { tensor: 'f4', slice: '[:, :]', rect: { row0: 1, row1: 2, col0: 1, col1: 2 } }, { kind: 'set', value: -6 });
  const orig = tensors[3].data;
  if (f.hunks.length) {
    assert.equal(f.hunks.length, 1);
    const h = f.hunks[0];
    assert.equal(h.offset, 2); // element 5 lives in byte 2, high nibble
    assert.equal(h.replacement[0] & 0x0f, orig[2] & 0x0f);
    assert.equal(h.replacement[0] >> 4, 0xf); // -6 in e2m1
  } else {
    assert.equal(orig[2] >> 4, 0xf);
  }
  const g = await editRegion(await m(), { tensor: 'f6', slice: '[:, :]', rect: { row0: 0, row1: 1, col0: 5, col1: 6 } }, { kind: 'set', value: 1 });
  for (const h of g.hunks) {
    assert.equal(h.offset % 3, 0);
    assert.equal(h.original.length % 3, 0);
  }
  const bytes = await result('f6', g);
  assert.equal(elementText('F6_E3M2', bytes.subarray(3), 6), '1'); // element 5 starts at bit 30
});

test('complex C64: scale and set act on both parts; clamp is refused', async () => {
  const f = await editRegion(await m(), { tensor: 'c64', slice: '[:]' }, { kind: 'scale', factor: 2 });
  assert.deepEqual(f32s(await result('c64', f)), [2, 4, -6, 8, 1, -0.5]);
  const s = await editRegion(await m(), { tensor: 'c64', slice: '[1:2]' }, { kind: 'set', value: 3 });
  assert.deepEqual(f32s(await result('c64', s)), [1, 2, 3, 0, 0.5, -0.25]);
  await assert.rejects(editRegion(await m(), { tensor: 'c64', slice: '[:]' }, { kind: 'clamp', lo: 0, hi: 1 }), /not defined for complex/);
});

test('seeded noise: same seed same bytes, per-element (rectangle-independent), roughly N(0, std)', async () => {
  const op: EditOp = { kind: 'noise', std: 0.1, seed: 1234 };
  const a = await editRegion(await m(), { tensor: 'f32', slice: '[:, :]' }, op);
  const b = await editRegion(await m(), { tensor: 'f32', slice: '[:, :]' }, op);
  assert.deepEqual(a.hunks, b.hunks);
  const part = await editRegion(await m(), { tensor: 'f32', slice: '[2:4, 1:3]' }, op);
  const whole = f32s(await result('f32', a));
  const sub = f32s(await result('f32', part));
  for (const i of [17, 18, 25, 26]) assert.equal(sub[i], whole[i]);
  const other = await editRegion(await m(), { tensor: 'f32', slice: '[:, :]' }, { ...op, seed: 1235 });
  assert.notDeepEqual(other.hunks, a.hunks);
  const n = 200000;
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const z = gaussian(77, i);
    sum += z;
    sq += z * z;
  }
  assert.ok(Math.abs(sum / n) < 0.01);
  assert.ok(Math.abs(Math.sqrt(sq / n) - 1) < 0.01);
});

test('setElement from a value or raw hex; bad positions and hex are UserErrors', async () => {
  const v = await setElement(await m(), { tensor: 'f32', slice: '[:, :]', row: 2, col: 5 }, { value: 1.5 });
  assert.equal(v.hunks.length, 1);
  assert.equal(v.hunks[0].offset, 21 * 4);
  assert.deepEqual(v.ops, [{ tensor: 'f32', text: 'set [2, 5] to 1.5' }]);
  assert.equal(f32s(await result('f32', v))[21], 1.5);
  const h = await setElement(await m(), { tensor: 'bf16', slice: '[3, :]', row: 0, col: 2 }, { hex: '80 3f' });
  assert.deepEqual([...(await result('bf16', h)).subarray((3 * 64 + 2) * 2, (3 * 64 + 2) * 2 + 2)], [0x80, 0x3f]);
  await assert.rejects(setElement(await m(), { tensor: 'bf16', slice: '[3, :]', row: 0, col: 2 }, { hex: '803f00' }), /not 2 byte\(s\) of hex/);
  await assert.rejects(setElement(await m(), { tensor: 'f32', slice: '[:, :]', row: 6, col: 0 }, { value: 1 }), /outside the 6 x 8 view/);
  await assert.rejects(editRegion(await m(), { tensor: 'f32', slice: '[:, :]', rect: { row0: 0, row1: 9, col0: 0, col1: 1 } }, { kind: 'zero' }), /not inside the 6 x 8 view/);
  await assert.rejects(editRegion(await m(), { tensor: 'f32', slice: '[:, :]' }, { kind: 'clamp', lo: 2, hi: 1 }), /lower <= upper/);
  await assert.rejects(editRegion(await m(), { tensor: 'nope', slice: '[:]' }, { kind: 'zero' }), (e) => e instanceof UserError);
});

test('dtypes without NaN: a NaN result is refused, not written', async () => {
  const dtypes: DType[] = ['F4', 'F6_E3M2'];
  for (const d of dtypes) {
    const name = d === 'F4' ? 'f4' : 'f6';
    await assert.rejects(editRegion(await m(), { tensor: name, slice: '[:, :]' }, { kind: 'set', value: NaN }), /cannot hold NaN/);
  }
});
