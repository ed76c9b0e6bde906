import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { DTYPES, DTYPE_BITS, type DType } from '../../src/shared/dtypes';
import { openModel, tensorByteLength } from '../../src/engine/safetensors/model';
import { parseHeader } from '../../src/engine/safetensors/header';
import { serializeSafetensors, writeSafetensors, type TensorToWrite } from '../../src/engine/safetensors/writer';
import { STALE_AFTER_MS, writeFileAtomic } from '../../src/engine/io/atomicWrite';
import { UserError } from '../../src/engine/errors';
import { fixture, tempDir } from '../helpers/safetensors';

let dir: string;
let cleanup: () => Promise<void>;
before(async () => ({ dir, cleanup } = await tempDir()));
after(() => cleanup());

function tensor(name: string, dtype: DType, shape: number[], fill = 0): TensorToWrite {
  const bytes = (shape.reduce((a, b) => a * b, 1) * DTYPE_BITS[dtype]) / 8;
  return { name, dtype, shape, data: Uint8Array.from({ length: bytes }, (_, i) => (i * 31 + fill) & 0xff) };
}

describe('layout of the reference writer', () => {
  test('rewriting ref_mixed gives the reference file byte for byte', async () => {
    const original = readFileSync(fixture('ref_mixed.safetensors'));
    const m = await openModel(fixture('ref_mixed.safetensors'));
    const tensors: TensorToWrite[] = [];
    // feed them in reverse name order: the writer must sort
    for (const t of [...m.info.tensors].sort((a, b) => (a.name < b.name ? 1 : -1))) {
      tensors.push({ name: t.name, dtype: t.dtype, shape: t.shape, data: await m.read(t, 0, tensorByteLength(t)) });
    }
    await m.close();
    const rewritten = serializeSafetensors(tensors, { format: 'pt', note: 'reference' });
    assert.equal(Buffer.compare(Buffer.from(rewritten), original), 0);
    const path = join(dir, 'ref_rewritten.safetensors');
    await writeSafetensors(path, tensors, { format: 'pt', note: 'reference' });
    assert.equal(Buffer.compare(await readFile(path), original), 0);
  });

  test('dtype order (widest first, the reference enum order), then name by UTF-8 bytes', () => {
    const tensors = DTYPES.map((d) => tensor(`t_${d}`, d, [2, 4]));
    tensors.push(tensor('\u{1F600}', 'F32', [1]), tensor('\uFFFF', 'F32', [1]), tensor('B', 'F32', [1]), tensor('a', 'F32', [1]));
    const bytes = serializeSafetensors(tensors);
    const h = parseHeader('x', bytes, bytes.length);
    const names = h.entries.map((e) => e.name);
    assert.deepEqual(names, [
      't_U64', 't_I64', 't_F64', 't_C64',
      'B', 'a', 't_F32', '\uFFFF', '\u{1F600}', // U+FFFF is EF BF BF, U+1F600 is F0 ...: UTF-8 order, not UTF-16
      't_U32', 't_I32', 't_BF16', 't_F16', 't_U16', 't_I16',
      't_F8_E5M2FNUZ', 't_F8_E4M3FNUZ', 't_F8_E8M0', 't_F8_E4M3', 't_F8_E5M2', 't_I8', 't_U8',
      't_F6_E3M2', 't_F6_E2M3', 't_F4', 't_BOOL',
    ]);
  });

  test('header: compact JSON, metadata first, padded with spaces to a multiple of 8', () => {
    const bytes = serializeSafetensors([tensor('w', 'F32', [2])], { b: '1', a: 'x"y' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal(n % 8, 0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    const json = '{"__metadata__":{"b":"1","a":"x\\"y"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    assert.equal(text, json + ' '.repeat(n - json.length));
    assert.ok(n - json.length < 8);
    // no metadata: no __metadata__ key at all
    const plain = serializeSafetensors([tensor('w', 'F32', [2])]);
    assert.ok(!new TextDecoder().decode(plain).includes('__metadata__'));
  });
});

describe('round trip', () => {
  test('every dtype, scalars and empty tensors, through a file', async () => {
    const tensors = [
      ...DTYPES.map((d, i) => tensor(`layer.${i}.${d}`, d, [3, 4], i)),
      tensor('scalar', 'F64', []),
      tensor('empty', 'BF16', [0, 7]),
      tensor('', 'U8', [1]),
    ];
    const path = join(dir, 'all.safetensors');
    await writeSafetensors(path, tensors, { format: 'pt' });
    const m = await openModel(path);
    try {
      assert.deepEqual(m.info.metadata, { format: 'pt' });
      assert.equal(m.info.tensors.length, tensors.length);
      for (const t of tensors) {
        const info = m.tensor(t.name);
        assert.equal(info.dtype, t.dtype);
        assert.deepEqual(info.shape, t.shape);
        assert.deepEqual(await m.read(info, 0, tensorByteLength(info)), t.data, t.name);
      }
    } finally {
      await m.close();
    }
  });

  test('random tensors: the parsed header describes exactly what was written', () => {
    const arbTensor = fc.record({
      name: fc.string({ maxLength: 12 }),
      dtype: fc.constantFrom(...DTYPES),
      shape: fc.array(fc.nat(5), { maxLength: 3 }),
    });
    fc.assert(
      fc.property(fc.uniqueArray(arbTensor, { selector: (t) => t.name, maxLength: 6 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 })), (specs, metadata) => {
        const tensors = specs
          .filter((s) => s.name !== '__metadata__')
          .map((s) => {
            const count = s.shape.reduce((a, b) => a * b, 1);
            // make packed tensors whole bytes
            const shape = (count * DTYPE_BITS[s.dtype]) % 8 === 0 ? s.shape : [...s.shape, 8];
            return tensor(s.name, s.dtype, shape, s.name.length);
          });
        const bytes = serializeSafetensors(tensors, metadata);
        const h = parseHeader('random.safetensors', bytes, bytes.length);
        assert.deepEqual(h.metadata, { ...metadata });
        assert.equal(h.entries.length, tensors.length);
        const dataStart = 8 + h.headerLength;
        for (const t of tensors) {
          const e = h.entries.find((x) => x.name === t.name)!;
          assert.equal(e.dtype, t.dtype);
          assert.deepEqual(e.shape, t.shape);
          assert.deepEqual(bytes.subarray(dataStart + e.dataOffsets[0], dataStart + e.dataOffsets[1]), t.data);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('bad input and atomic writes', () => {
  const bad: [string, TensorToWrite[], RegExp][] = [
    ['data of the wrong size', [{ name: 'a', dtype: 'F32', shape: [3], data: new Uint8Array(8) }], /tensor "a": F32 \[3\] needs 12 bytes, got 8/],
    ['partial bytes', [{ name: 'a', dtype: 'F4', shape: [3], data: new Uint8Array(2) }], /not a whole number of bytes/],
    ['a name twice', [tensor('a', 'U8', [1]), tensor('a', 'U8', [1])], /tensor "a" given twice/],
    ['__metadata__ as a name', [tensor('__metadata__', 'U8', [1])], /cannot be a tensor name/],
    ['a negative dimension', [{ name: 'a', dtype: 'U8', shape: [-1], data: new Uint8Array(0) }], /bad shape/],
    ['an unknown dtype', [{ name: 'a', dtype: 'F128' as DType, shape: [1], data: new Uint8Array(16) }], /unknown dtype "F128"/],
  ];
  for (const [what, tensors, pattern] of bad) {
    test(what, async () => {
      assert.throws(() => serializeSafetensors(tensors), (e: unknown) => e instanceof UserError && pattern.test(e.message));
      const path = join(dir, 'never.safetensors');
      await assert.rejects(writeSafetensors(path, tensors), UserError);
      await assert.rejects(readFile(path), { code: 'ENOENT' });
    });
  }

  test('replacing an existing file leaves no temporary files behind', async () => {
    const path = join(dir, 'replace.safetensors');
    await writeFile(path, 'old contents');
    await writeSafetensors(path, [tensor('a', 'U8', [4])]);
    const m = await openModel(path);
    assert.deepEqual(m.info.tensors.map((t) => t.name), ['a']);
    await m.close();
    assert.deepEqual((await readdir(dir)).filter((f) => f.includes('.tmp')), []);
  });

  test('the leftover temporary file of a killed writer goes with the next write', async () => {
    const path = join(dir, 'stale.safetensors');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout.trim();
    const leftover = join(dir, `.stale.safetensors.tmp-${dead}-0123456789ab`);
    writeFileSync(leftover, 'half a file');
    const old = (Date.now() - 2 * STALE_AFTER_MS) / 1000;
    utimesSync(leftover, old, old);
    await writeSafetensors(path, [tensor('a', 'U8', [4])]);
    assert.deepEqual((await readdir(dir)).filter((f) => f.startsWith('.stale')), []);
    await (await openModel(path)).close();
  });

  test('a failing write leaves the old file untouched and no temporary file', async () => {
    const path = join(dir, 'missing-folder', 'x.safetensors');
    await assert.rejects(writeSafetensors(path, [tensor('a', 'U8', [4])]), (e: unknown) => e instanceof UserError && e.message === `${path}: cannot write: no such folder ${join(dir, 'missing-folder')}`);
    // a write whose data source fails half-way, after the temporary file has some bytes
    const keep = join(dir, 'keep.safetensors');
    await writeFile(keep, 'precious');
    async function* failing() {
      yield new Uint8Array(1000);
      throw new Error('source failed');
    }
    await assert.rejects(writeFileAtomic(keep, failing()), /source failed/);
    assert.equal(await readFile(keep, 'utf8'), 'precious');
    assert.deepEqual((await readdir(dir)).filter((f) => f.includes('.tmp')), []);
  });
});
