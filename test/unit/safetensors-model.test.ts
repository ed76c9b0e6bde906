import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, open, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openModel, tensorByteLength, type Model } from '../../src/engine/safetensors/model';
import { SafetensorsError } from '../../src/engine/safetensors/header';
import { writeSafetensors, serializeSafetensors } from '../../src/engine/safetensors/writer';
import { decodeElements } from '../../src/engine/dtype/decode';
import { UserError } from '../../src/engine/errors';
import type { TensorInfo } from '../../src/shared/protocol';
import { bytesOf, fixture, headerJson, rawSafetensors, tempDir } from '../helpers/safetensors';

async function rejectsWith(p: Promise<unknown>, pattern: RegExp): Promise<UserError> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof UserError, `expected a UserError, got ${caught === undefined ? 'success' : String(caught)}`);
  assert.match(caught.message, pattern);
  assert.ok(!caught.message.includes('\n'));
  return caught;
}

describe('ref_mixed.safetensors (written by the reference implementation)', () => {
  let model: Model;
  const stats = JSON.parse(readFileSync(fixture('ref_mixed.stats.json'), 'utf8')) as Record<
    string,
    { shape: number[]; numel: number; nan: number; inf: number; zeros: number; min: number | null; max: number | null; mean: number | null; std: number | null }
  >;
  before(async () => {
    model = await openModel(fixture('ref_mixed.safetensors'));
  });
  after(() => model.close());

  test('files, metadata, names, dtypes, shapes', () => {
    assert.deepEqual(model.info.metadata, { format: 'pt', note: 'reference' });
    assert.equal(model.info.path, fixture('ref_mixed.safetensors'));
    assert.deepEqual(model.info.files, [{ path: fixture('ref_mixed.safetensors'), size: 80900, headerLength: 1296 }]);
    assert.equal(model.info.tensors.length, 16);
    assert.deepEqual(Object.keys(stats).sort(), model.info.tensors.map((t) => t.name).sort());
    for (const t of model.info.tensors) assert.deepEqual(t.shape, stats[t.name].shape, t.name);
    const dtypes = Object.fromEntries(model.info.tensors.map((t) => [t.name, t.dtype]));
    assert.deepEqual(dtypes, {
      'layers.1.ids': 'I64',
      'layers.1.f64': 'F64',
      'layers.0.attn.q.bias': 'F32',
      'layers.0.conv.weight': 'F32',
      'layers.0.mlp.up.weight': 'F32',
      'layers.1.empty': 'F32',
      'layers.1.scale': 'F32',
      'special.values': 'F32',
      'layers.1.i32': 'I32',
      'embed.weight': 'BF16',
      'layers.0.attn.q.weight': 'F16',
      'layers.1.f8e4m3': 'F8_E4M3',
      'layers.1.f8e5m2': 'F8_E5M2',
      'layers.1.i8': 'I8',
      'layers.1.u8': 'U8',
      'layers.1.mask': 'BOOL',
    });
  });

  test('tensors in file order, with absolute file offsets', () => {
    let end = 0;
    for (const t of model.info.tensors) {
      assert.equal(t.dataOffsets[0], end);
      assert.equal(t.fileOffset, 8 + 1296 + t.dataOffsets[0]);
      assert.equal(t.fileIndex, 0);
      end = t.dataOffsets[1];
    }
    assert.equal(8 + 1296 + end, 80900);
  });

  test('decoded values give the reference statistics', async () => {
    for (const t of model.info.tensors) {
      const ref = stats[t.name];
      const n = t.shape.reduce((a, b) => a * b, 1);
      assert.equal(n, ref.numel, t.name);
      const values = new Float64Array(n);
      decodeElements(t.dtype, await model.read(t, 0, tensorByteLength(t)), 0, n, values);
      let nan = 0, inf = 0, zeros = 0, count = 0, sum = 0, min = Infinity, max = -Infinity;
      for (const v of values) {
        if (Number.isNaN(v)) nan++;
        else if (!Number.isFinite(v)) inf++;
        else {
          if (v === 0) zeros++;
          count++;
          sum += v;
          min = Math.min(min, v);
          max = Math.max(max, v);
        }
      }
      const mean = sum / count;
      let sq = 0;
      for (const v of values) if (Number.isFinite(v)) sq += (v - mean) ** 2;
      assert.deepEqual([nan, inf, zeros], [ref.nan, ref.inf, ref.zeros], t.name);
      if (count === 0) {
        assert.equal(ref.min, null);
        continue;
      }
      assert.equal(min, ref.min, `${t.name} min`);
      assert.equal(max, ref.max, `${t.name} max`);
      const close = (a: number, b: number, what: string) =>
        assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `${t.name} ${what}: ${a} vs ${b}`);
      close(mean, ref.mean!, 'mean');
      close(Math.sqrt(sq / count), ref.std!, 'std');
    }
  });

  test('tensor() by name, with a clear error for unknown names', () => {
    assert.equal(model.tensor('embed.weight').dtype, 'BF16');
    assert.throws(
      () => model.tensor('nope'),
      (e: unknown) => e instanceof UserError && e.message === 'ref_mixed.safetensors: no tensor named "nope"',
    );
  });

  test('read() of a byte range matches the file bytes; bad ranges are errors', async () => {
    const file = readFileSync(fixture('ref_mixed.safetensors'));
    const t = model.tensor('layers.0.mlp.up.weight');
    const part = await model.read(t, 100, 1100);
    assert.deepEqual(part, new Uint8Array(file.subarray(t.fileOffset + 100, t.fileOffset + 1100)));
    assert.equal((await model.read(t, 5, 5)).length, 0);
    await rejectsWith(model.read(t, 0, tensorByteLength(t) + 1), /byte range \[0, 32769\) is outside tensor "layers.0.mlp.up.weight" \(32768 bytes\)/);
    await rejectsWith(model.read(t, -1, 4), /outside tensor/);
    await rejectsWith(model.read(t, 8, 4), /outside tensor/);
  });

  test('readInto() streams a tensor in chunks', async () => {
    const t = model.tensor('embed.weight');
    const whole = await model.read(t, 0, tensorByteLength(t));
    const chunk = new Uint8Array(5000);
    const collected: number[] = [];
    for (let at = 0; ; ) {
      const n = await model.readInto(t, at, chunk);
      if (n === 0) break;
      collected.push(...chunk.subarray(0, n));
      at += n;
    }
    assert.deepEqual(Uint8Array.from(collected), whole);
    await rejectsWith(model.readInto(t, tensorByteLength(t) + 1, chunk), /outside tensor/);
  });
});

describe('opening: errors name the file', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir()));
  after(() => cleanup());

  test('missing file', async () => {
    await rejectsWith(openModel(join(dir, 'nope.safetensors')), /nope\.safetensors: no such file$/);
  });
  test('a directory', async () => {
    await mkdir(join(dir, 'folder.safetensors'));
    await rejectsWith(openModel(join(dir, 'folder.safetensors')), /folder\.safetensors: is a directory/);
  });
  test('every malformed reference fixture', async () => {
    const verdicts = JSON.parse(readFileSync(fixture('malformed', 'verdicts.json'), 'utf8')) as Record<string, string>;
    for (const [file, verdict] of Object.entries(verdicts)) {
      const p = openModel(fixture('malformed', file));
      if (verdict === 'ok') await (await p).close();
      else assert.ok((await rejectsWith(p, new RegExp(`^${file.replace('.', '\\.')}: `))) instanceof SafetensorsError);
    }
  });
  test('a file cut short inside its header', async () => {
    const path = join(dir, 'cut.safetensors');
    await writeFile(path, rawSafetensors(headerJson([['a', 'F32', [2], 0, 8]]), 8).subarray(0, 20));
    const e = await rejectsWith(openModel(path), /^cut\.safetensors: header length \d+ runs past the end/);
    assert.equal((e as SafetensorsError).rule, 'invalid_header_length');
  });
  test('closed model refuses reads', async () => {
    const path = join(dir, 'small.safetensors');
    await writeSafetensors(path, [{ name: 'x', dtype: 'U8', shape: [2], data: new Uint8Array([1, 2]) }]);
    const m = await openModel(path);
    await m.close();
    await m.close(); // twice is fine
    await rejectsWith(m.read(m.tensor('x'), 0, 1), /small\.safetensors: model is closed/);
  });
});

describe('sharded models (*.safetensors.index.json)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const a = new Float32Array([1, 2, 3, 4]);
  const b = new Uint8Array([9, 8, 7]);
  const c = new Int16Array([-5, 5]);
  before(async () => {
    ({ dir, cleanup } = await tempDir());
    await writeSafetensors(join(dir, 'model-00001-of-00002.safetensors'), [
      { name: 'layer.0.w', dtype: 'F32', shape: [2, 2], data: bytesOf(a) },
      { name: 'layer.0.b', dtype: 'U8', shape: [3], data: b },
    ], { format: 'pt' });
    await writeSafetensors(join(dir, 'model-00002-of-00002.safetensors'), [
      { name: 'layer.1.w', dtype: 'I16', shape: [2], data: bytesOf(c) },
    ]);
  });
  after(() => cleanup());

  async function writeIndex(name: string, index: unknown): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, typeof index === 'string' ? index : JSON.stringify(index));
    return path;
  }

  const weightMap = {
    'layer.0.w': 'model-00001-of-00002.safetensors',
    'layer.0.b': 'model-00001-of-00002.safetensors',
    'layer.1.w': 'model-00002-of-00002.safetensors',
  };

  test('one tree over all shards, metadata from the index', async () => {
    const path = await writeIndex('model.safetensors.index.json', { metadata: { total_size: 26, note: 'x', nested: { a: [1] } }, weight_map: weightMap });
    const m = await openModel(path);
    try {
      assert.equal(m.info.path, path);
      assert.deepEqual(m.info.metadata, { total_size: '26', note: 'x', nested: '{"a":[1]}' });
      assert.deepEqual(m.info.files.map((f) => f.path), [join(dir, 'model-00001-of-00002.safetensors'), join(dir, 'model-00002-of-00002.safetensors')]);
      assert.deepEqual(m.info.tensors.map((t) => [t.name, t.fileIndex]), [['layer.0.w', 0], ['layer.0.b', 0], ['layer.1.w', 1]]);
      const read = async (t: TensorInfo) => m.read(t, 0, tensorByteLength(t));
      assert.deepEqual(await read(m.tensor('layer.0.w')), bytesOf(a));
      assert.deepEqual(await read(m.tensor('layer.0.b')), b);
      assert.deepEqual(await read(m.tensor('layer.1.w')), bytesOf(c));
      assert.throws(() => m.tensor('nope'), /model\.safetensors\.index\.json: no tensor named "nope"/);
    } finally {
      await m.close();
    }
  });

  test('no metadata gives null', async () => {
    const m = await openModel(await writeIndex('nometa.safetensors.index.json', { weight_map: weightMap }));
    assert.equal(m.info.metadata, null);
    await m.close();
  });

  test('index not JSON', async () => {
    await rejectsWith(openModel(await writeIndex('bad.safetensors.index.json', '{"weight_map": ')), /^bad\.safetensors\.index\.json: not valid JSON/);
  });
  test('weight_map missing or not an object', async () => {
    await rejectsWith(openModel(await writeIndex('nomap.safetensors.index.json', { metadata: {} })), /^nomap\.safetensors\.index\.json: no "weight_map" object/);
    await rejectsWith(openModel(await writeIndex('arrmap.safetensors.index.json', { weight_map: [] })), /no "weight_map" object/);
    await rejectsWith(openModel(await writeIndex('empty.safetensors.index.json', { weight_map: {} })), /weight_map is empty/);
    await rejectsWith(openModel(await writeIndex('num.safetensors.index.json', { weight_map: { a: 3 } })), /weight_map entry for "a" is not a file name/);
  });
  test('shard missing', async () => {
    const e = await rejectsWith(
      openModel(await writeIndex('missing.safetensors.index.json', { weight_map: { ...weightMap, extra: 'model-00003-of-00003.safetensors' } })),
      /model-00003-of-00003\.safetensors: no such file \(listed in missing\.safetensors\.index\.json\)/,
    );
    assert.ok(e);
  });
  test('tensor listed in weight_map but absent from its shard', async () => {
    await rejectsWith(
      openModel(await writeIndex('absent.safetensors.index.json', { weight_map: { ...weightMap, 'layer.9.w': 'model-00002-of-00002.safetensors' } })),
      /^absent\.safetensors\.index\.json: weight_map puts tensor "layer\.9\.w" in model-00002-of-00002\.safetensors, but that shard has no such tensor/,
    );
    await rejectsWith(
      openModel(await writeIndex('wrong.safetensors.index.json', { weight_map: { ...weightMap, 'layer.1.w': 'model-00001-of-00002.safetensors' } })),
      /weight_map puts tensor "layer\.1\.w" in model-00001-of-00002\.safetensors/,
    );
  });
  test('the same tensor in two shards', async () => {
    await writeSafetensors(join(dir, 'dup-a.safetensors'), [{ name: 't', dtype: 'U8', shape: [1], data: new Uint8Array([1]) }]);
    await writeSafetensors(join(dir, 'dup-b.safetensors'), [{ name: 't', dtype: 'U8', shape: [1], data: new Uint8Array([2]) }, { name: 'u', dtype: 'U8', shape: [1], data: new Uint8Array([3]) }]);
    await rejectsWith(
      openModel(await writeIndex('dup.safetensors.index.json', { weight_map: { t: 'dup-a.safetensors', u: 'dup-b.safetensors' } })),
      /^dup\.safetensors\.index\.json: tensor "t" is in both dup-a\.safetensors and dup-b\.safetensors/,
    );
  });
  test('a malformed shard is reported with the shard name', async () => {
    await writeFile(join(dir, 'broken.safetensors'), rawSafetensors(headerJson([['q', 'F32', [1], 0, 4]]), 5));
    const e = await rejectsWith(
      openModel(await writeIndex('broken.safetensors.index.json', { weight_map: { q: 'broken.safetensors' } })),
      /^broken\.safetensors: 1 bytes after the end of the last tensor/,
    );
    assert.equal((e as SafetensorsError).rule, 'trailing_bytes');
  });
});

describe('offsets beyond 4 GiB (sparse file)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir()));
  after(() => cleanup());

  test('a tensor whose data starts after 4 GiB reads correctly', async () => {
    const big = 2 ** 32 + 12; // U8 elements, mostly a hole in the file
    const tail = new Float32Array([1.5, -2, 3.25, 1e-3]);
    const header = headerJson([['big', 'U8', [big], 0, big], ['tail', 'F32', [4], big, big + 16]]);
    const start = rawSafetensors(header);
    const path = join(dir, 'sparse.safetensors');
    const size = start.length + big + 16;
    await writeFile(path, start);
    await truncate(path, size); // sparse: costs no disk
    const h = await open(path, 'r+');
    await h.write(bytesOf(tail), 0, 16, size - 16);
    await h.write(new Uint8Array([0xab, 0xcd]), 0, 2, start.length + 2 ** 32 + 1);
    await h.close();

    const m = await openModel(path);
    try {
      const t = m.tensor('tail');
      assert.ok(t.fileOffset > 2 ** 32);
      assert.deepEqual(t.dataOffsets, [big, big + 16]);
      assert.equal(t.fileOffset, start.length + big);
      const values = new Float64Array(4);
      decodeElements('F32', await m.read(t, 0, 16), 0, 4, values);
      assert.deepEqual([...values], [1.5, -2, 3.25, Math.fround(1e-3)]);
      const b = m.tensor('big');
      assert.deepEqual(await m.read(b, 2 ** 32, 2 ** 32 + 4), new Uint8Array([0, 0xab, 0xcd, 0]));
      const into = new Uint8Array(100);
      assert.equal(await m.readInto(b, big - 3, into), 3);
      assert.equal(m.info.files[0].size, size);
    } finally {
      await m.close();
    }
  });
});

test('serializeSafetensors output opens as a model', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = join(dir, 'mem.safetensors');
    await writeFile(path, serializeSafetensors([{ name: 'z', dtype: 'F64', shape: [1], data: bytesOf(new Float64Array([Math.PI])) }]));
    const m = await openModel(path);
    const v = new Float64Array(1);
    decodeElements('F64', await m.read(m.tensor('z'), 0, 8), 0, 1, v);
    assert.equal(v[0], Math.PI);
    await m.close();
  } finally {
    await cleanup();
  }
});
