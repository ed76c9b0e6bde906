// The .stpatch text format: serialise/parse round trips byte for byte, the row grid and
// decoded-value comments, git-friendliness (one more edited element changes few lines), and
// malformed, truncated or random input always giving a one-line UserError with file:line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { DType } from '../../src/shared/dtypes';
import { UserError } from '../../src/engine/errors';
import { parsePatch } from '../../src/engine/patch/parse';
import { COMMENTED_BYTES, serializePatch } from '../../src/engine/patch/serialize';
import { encodeElement } from '../../src/engine/dtype/encode';
import { unitOf, type Hunk, type Patch, type PatchTensor } from '../../src/engine/patch/types';

const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);
const HASH_C = 'c'.repeat(64);

function tensor(name: string, dtype: DType, shape: number[], fileOffset = 1000, fileIndex = 0): PatchTensor {
  return { name, dtype, shape, fileIndex, fileOffset, baseSha256: HASH_B, resultSha256: HASH_C, ops: [] };
}

function hunk(name: string, offset: number, original: number[], replacement: number[]): Hunk {
  return { tensor: name, offset, original: Uint8Array.from(original), replacement: Uint8Array.from(replacement) };
}

const single = [{ name: null, size: 1 << 30, headerSha256: HASH_A }];

function text(p: Patch): string {
  return serializePatch(p).toString('utf8');
}

/** Lines of b not in a plus lines of a not in b (as multisets): what a line diff shows. */
function changedLines(a: string, b: string): number {
  const count = new Map<string, number>();
  for (const l of a.split('\n')) count.set(l, (count.get(l) ?? 0) + 1);
  for (const l of b.split('\n')) count.set(l, (count.get(l) ?? 0) - 1);
  let n = 0;
  for (const v of count.values()) n += Math.abs(v);
  return n;
}

function parseError(input: string | Uint8Array): string {
  try {
    parsePatch(input, 'model.stpatch');
  } catch (e) {
    assert.ok(e instanceof UserError, `not a UserError: ${(e as Error)?.stack}`);
    assert.ok(!e.message.includes('\n'));
    return e.message;
  }
  assert.fail('parsed without error');
}

test('a BF16 hunk: header line, rows on the 16-byte grid, hex in file order, exact values', () => {
  const t = tensor('w', 'BF16', [4, 8]);
  // elements 5..10 (bytes 10..22): row 1 = bytes 10..16 (3 elements), row 2 = 16..22.
  const orig = [0x80, 0x3f, 0x00, 0x40, 0x40, 0x40, 0x80, 0x40, 0xa0, 0x40, 0xc0, 0x40];
  const repl = [0x00, 0x40, 0x80, 0x40, 0xc0, 0x40, 0x00, 0x41, 0x20, 0x41, 0xc0, 0x7f];
  const s = text({ base: single, tensors: [t], hunks: [hunk('w', 10, orig, repl)] });
  const lines = s.split('\n');
  const at = lines.indexOf('@@ "w" elements 5:11 index [0, 5] offset 10 file-offset 1010');
  assert.ok(at > 0, s);
  assert.deepEqual(lines.slice(at + 1, at + 5), [
    '- 803f 0040 4040  # 1 2 3',
    '+ 0040 8040 c040  # 2 4 6',
    '- 8040 a040 c040  # 4 5 6',
    '+ 0041 2041 c07f  # 8 10 NaN',
  ]);
  assert.equal(lines[0], 'stpatch 1');
  assert.ok(lines.includes(`base size ${1 << 30} header-sha256 ${HASH_A}`));
  assert.ok(lines.includes('tensor "w" BF16 [4, 8] at 1000'));
  assert.equal(lines.at(-2), 'end');
  assert.equal(lines.at(-1), '');
});

test('packed F4 and F6 hunks cover whole units; comments list every element of a unit', () => {
  const f4 = tensor('f4', 'F4', [8]);
  const f6 = tensor('f6', 'F6_E2M3', [8], 2000);
  // F4 byte 0x21: element 0 = low nibble 1 (0.5), element 1 = high nibble 2 (1).
  const s = text({
    base: single,
    tensors: [f4, f6],
    hunks: [hunk('f4', 1, [0x21], [0x12]), hunk('f6', 3, [0, 0, 0], [8, 0, 0])],
  });
  assert.match(s, /@@ "f4" elements 2:4 index \[2\] offset 1 file-offset 1001\n- 21  # 0\.5 1\n\+ 12  # 1 0\.5\n/);
  assert.match(s, /@@ "f6" elements 4:8 index \[4\] offset 3 file-offset 2003\n- 000000  # 0 0 0 0\n\+ 080000  # 1 0 0 0\n/);
  assert.deepEqual(unitOf('F6_E3M2'), { bytes: 3, elements: 4 });
});

test('sharded bases name each file and each tensor its file', () => {
  const base = [
    { name: 'model-00001-of-00002.safetensors', size: 5000, headerSha256: HASH_A },
    { name: 'model-00002-of-00002.safetensors', size: 6000, headerSha256: HASH_B },
  ];
  const t = tensor('x', 'U8', [10], 100, 1);
  const s = text({ base, tensors: [t], hunks: [hunk('x', 0, [1], [2])] });
  assert.match(s, /^base "model-00002-of-00002.safetensors" size 6000 header-sha256 b{64}$/m);
  assert.match(s, /^tensor "x" U8 \[10\] file 1 at 100$/m);
  const back = parsePatch(s, 'p.stpatch');
  assert.deepEqual(back.base, base);
  assert.equal(back.tensors[0].fileIndex, 1);
});

// ---- round trips ----

const DTYPES: DType[] = ['BF16', 'F16', 'F32', 'F64', 'U8', 'I8', 'BOOL', 'I32', 'I64', 'U64', 'C64', 'F4', 'F6_E2M3', 'F6_E3M2', 'F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'I16', 'U16', 'U32'];

const arbName = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('', 'a b', 'quote"d', 'back\\slash', 'new\nline', 'é✓', 'model.layers.0.weight'));

/** Random well-formed patches: tensors of random dtypes and shapes, non-overlapping unit-aligned hunks. */
const arbPatch: fc.Arbitrary<Patch> = fc
  .record({
    names: fc.uniqueArray(arbName, { minLength: 0, maxLength: 4 }),
    seed: fc.integer({ min: 1, max: 1 << 30 }),
    ops: fc.array(fc.string({ maxLength: 20 }), { maxLength: 2 }),
  })
  .map(({ names, seed, ops }) => {
    let s = seed;
    const r = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
    const tensors: PatchTensor[] = [];
    const hunks: Hunk[] = [];
    let fileOffset = 64;
    for (const name of names) {
      const dtype = DTYPES[Math.floor(r() * DTYPES.length)];
      const u = unitOf(dtype);
      const units = 1 + Math.floor(r() * 40);
      const shape = r() < 0.5 ? [units * u.elements] : [units * u.elements / (u.elements === 1 ? 1 : u.elements), u.elements];
      const t: PatchTensor = { ...tensor(name, dtype, shape, fileOffset), ops: ops.map((o) => o.replace(/[\r\n]/g, ' ')) };
      tensors.push(t);
      fileOffset += units * u.bytes;
      for (let unit = 0; unit < units; ) {
        const start = unit + Math.floor(r() * 5);
        const len = 1 + Math.floor(r() * 12);
        if (start + len > units) break;
        const n = len * u.bytes;
        const original = Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
        const replacement = Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
        hunks.push({ tensor: name, offset: start * u.bytes, original, replacement });
        unit = start + len + 1;
      }
    }
    return { base: [{ name: null, size: fileOffset + 10, headerSha256: HASH_A }], tensors, hunks };
  });

test('parse(serialise(p)) gives p back, and serialising it again gives the same bytes', () => {
  fc.assert(
    fc.property(arbPatch, (p) => {
      const bytes = serializePatch(p);
      const back = parsePatch(bytes, 'p.stpatch');
      assert.deepEqual(Buffer.compare(serializePatch(back), bytes), 0);
      assert.deepEqual(back.tensors.map((t) => t.name), [...p.tensors.map((t) => t.name)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      assert.equal(back.hunks.length, p.hunks.length);
      for (const h of back.hunks) {
        const o = p.hunks.find((x) => x.tensor === h.tensor && x.offset === h.offset)!;
        assert.deepEqual(h.original, o.original);
        assert.deepEqual(h.replacement, o.replacement);
      }
      for (const t of back.tensors) assert.deepEqual(t.ops, p.tensors.find((x) => x.name === t.name)!.ops);
    }),
    { numRuns: 150 },
  );
});

test('serialising is deterministic: the order hunks and tensors are given in does not matter', () => {
  fc.assert(
    fc.property(arbPatch, (p) => {
      const shuffled: Patch = { base: p.base, tensors: [...p.tensors].reverse(), hunks: [...p.hunks].reverse() };
      assert.equal(Buffer.compare(serializePatch(shuffled), serializePatch(p)), 0);
    }),
    { numRuns: 50 },
  );
});

// ---- git-friendliness ----

test('one more edited element changes only a few lines of the patch', () => {
  const t = tensor('w', 'BF16', [64, 64]);
  const make = (ranges: [number, number][]): string => {
    const hunks = ranges.map(([a, b]) => {
      const n = (b - a) * 2;
      return hunk('w', a * 2, Array.from({ length: n }, (_, i) => (a * 2 + i) & 0xff), Array.from({ length: n }, (_, i) => (a * 2 + i + 7) & 0xff));
    });
    return text({ base: single, tensors: [t], hunks });
  };
  const before = make([[100, 900], [2000, 2100]]);
  assert.ok(before.split('\n').length > 200);
  // Counted like git's -/+ lines: a changed line counts twice (old and new).
  // Grow the first hunk by one element at its start or end: its @@ line and one row pair.
  assert.ok(changedLines(before, make([[99, 900], [2000, 2100]])) <= 6);
  assert.ok(changedLines(before, make([[100, 901], [2000, 2100]])) <= 6);
  // One isolated element: a new 3-line hunk and its blank separator.
  assert.ok(changedLines(before, make([[100, 900], [1500, 1501], [2000, 2100]])) <= 4);
  // Bridging two hunks: one @@ line and its separator go, the shared row pair changes.
  assert.ok(changedLines(make([[100, 200], [201, 300]]), make([[100, 300]])) <= 8);
});

// ---- malformed input ----

function validText(): string {
  const t = tensor('w', 'BF16', [4, 8]);
  return text({ base: single, tensors: [t], hunks: [hunk('w', 0, [1, 2, 3, 4], [5, 6, 7, 8]), hunk('w', 16, [1, 2], [3, 4])] });
}

test('bad hex names the line and the offending text', () => {
  const lines = validText().split('\n');
  const row = lines.findIndex((l) => l.startsWith('- 0102'));
  lines[row] = '- zz 0304  # whatever';
  assert.equal(parseError(lines.join('\n')), `model.stpatch:${row + 1}: expected hex bytes, got "zz"`);
});

test('each kind of malformed line gives a UserError with its line number', () => {
  const good = validText();
  const lines = good.split('\n');
  const find = (prefix: string) => lines.findIndex((l) => l.startsWith(prefix));
  const cases: [number, string, RegExp][] = [
    [0, 'stpatch 2', /unsupported \.stpatch version/],
    [0, 'hello', /not a \.stpatch file/],
    [find('base '), 'base size x header-sha256 ' + HASH_A, /non-negative integer file size, got "x"/],
    [find('base '), 'base size 10 header-sha256 abc', /SHA-256/],
    [find('tensor '), 'tensor "w" XX9 [4, 8] at 1000', /unknown dtype "XX9"/],
    [find('tensor '), 'tensor w BF16 [4, 8] at 1000', /expected a quoted tensor name/],
    [find('tensor '), 'tensor "w BF16 [4, 8] at 1000', /unterminated tensor name/],
    [find('tensor '), 'tensor "w" BF16 [4, 8] at 1000 extra', /unexpected "extra"/],
    [find('tensor '), 'tensor "w" BF16 [4, 8] at 1073741820', /runs past the end/],
    [find('base-sha256'), 'base-sha256 ' + 'A'.repeat(64), /SHA-256/],
    [find('@@'), '@@ "w" elements 0:2 index [0, 1] offset 0 file-offset 1000', /index \[0, 1\] does not match element 0/],
    [find('@@'), '@@ "w" elements 0:2 index [0, 0] offset 2 file-offset 1000', /offset 2 does not match/],
    [find('@@'), '@@ "w" elements 0:2 index [0, 0] offset 0 file-offset 1001', /file-offset 1001 does not match/],
    [find('@@'), '@@ "v" elements 0:2 index [0, 0] offset 0 file-offset 1000', /no "tensor" line declares/],
    [find('@@'), '@@ "w" elements 0:99 index [0, 0] offset 0 file-offset 1000', /past the end of tensor "w"/],
    [find('@@'), '@@ "w" elements 2:2 index [0, 2] offset 4 file-offset 1004', /empty element range/],
    [find('- 0102'), '- 0102030405  # one byte too many', /more original bytes than its 4/],
    [find('- 0102'), '- 010', /odd number of digits/],
    [find('+ 0506'), 'frobnicate', /expected a "base", "tensor", "@@" or "end" line, got "frobnicate"/],
    [find('end'), 'end now', /unexpected text on the "end" line/],
  ];
  for (const [index, replacement, pattern] of cases) {
    const copy = [...lines];
    copy[index] = replacement;
    const message = parseError(copy.join('\n'));
    assert.match(message, /^model\.stpatch:\d+: /, message);
    assert.match(message, pattern, `${replacement} -> ${message}`);
    const lineNo = Number(/:(\d+):/.exec(message)![1]);
    assert.ok(lineNo >= index + 1 && lineNo <= index + 3, `${replacement} -> ${message} (expected near line ${index + 1})`);
  }
});

test('hunk rows short of the hunk, overlapping hunks and a missing end line are errors', () => {
  const lines = validText().split('\n');
  const row = lines.findIndex((l) => l.startsWith('+ 0506'));
  const short = [...lines];
  short[row] = '+ 0506';
  assert.match(parseError(short.join('\n')), /hunk at line \d+ is cut short: it covers 4 bytes but has 4 original and 2 new bytes/);

  const overlap = validText().replace('@@ "w" elements 8:9 index [1, 0] offset 16 file-offset 1016', '@@ "w" elements 1:2 index [0, 1] offset 2 file-offset 1002');
  assert.match(parseError(overlap), /overlaps the hunk at line/);

  assert.match(parseError(validText().replace(/end\n$/, '')), /missing the "end" line/);
  assert.match(parseError(''), /^model\.stpatch:1: empty file/);
});

test('every truncation of a valid patch is an error with a line number', () => {
  const good = Buffer.from(validText());
  for (let cut = 0; cut < good.length - 1; cut++) {
    assert.match(parseError(good.subarray(0, cut)), /^model\.stpatch:\d+: /);
  }
  // Only the final newline may go.
  assert.doesNotThrow(() => parsePatch(good.subarray(0, good.length - 1), 'p'));
});

test('random garbage and random corruptions never crash the parser', () => {
  const good = Buffer.from(validText());
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 400 }),
        fc.string({ maxLength: 400 }).map((s) => Buffer.from(s)),
        fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })).map(([at, b]) => {
          const copy = Buffer.from(good);
          copy[at] = b;
          return copy;
        }),
        fc.tuple(fc.nat(good.length), fc.nat(good.length)).map(([a, b]) => Buffer.concat([good.subarray(0, Math.min(a, b)), good.subarray(Math.max(a, b))])),
      ),
      (input) => {
        try {
          parsePatch(input, 'model.stpatch');
        } catch (e) {
          assert.ok(e instanceof UserError, `not a UserError: ${(e as Error)?.stack}`);
          assert.match(e.message, /^model\.stpatch:\d+: [^\n]+$/);
        }
      },
    ),
    { numRuns: 1500 },
  );
});

test('a hunk claiming more bytes than the text holds is refused without allocating them', () => {
  const t = tensor('w', 'U8', [2 ** 40]);
  const s = text({ base: [{ name: null, size: 2 ** 41, headerSha256: HASH_A }], tensors: [t], hunks: [hunk('w', 0, [1], [2])] }).replace('elements 0:1 index [0] offset 0 file-offset 1000', 'elements 0:1000000000000 index [0] offset 0 file-offset 1000');
  assert.match(parseError(s), /more than the rest of the patch holds/);
});

test('value comments are the shortest decimals that read back as the same value in the dtype', () => {
  const cases: [DType, number[], string][] = [
    ['BF16', [0x88, 0x39], '0.00026'], // exactly 0.0002593994140625
    ['F32', [0xcd, 0xcc, 0xcc, 0x3d], '0.1'],
    ['F16', [0x00, 0x7c], 'Infinity'],
    ['F32', [0x00, 0x00, 0x00, 0x80], '-0'],
    ['C64', [0, 0, 0xc0, 0x3f, 0, 0, 0, 0xc0], '1.5-2j'],
    ['I64', [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], '9223372036854775807'],
  ];
  for (const [dtype, bytes, want] of cases) {
    const t = tensor('v', dtype, [8]);
    const s = text({ base: single, tensors: [t], hunks: [hunk('v', 0, bytes, bytes.map((b) => b ^ 1))] });
    assert.match(s, new RegExp(`^- [0-9a-f]+  # ${want.replace(/[.+-]/g, '\\$&')}$`, 'm'), `${dtype} ${want}`);
  }
  // Every comment reads back to its element's exact bits (NaN aside).
  fc.assert(
    fc.property(fc.constantFrom<DType>('BF16', 'F16', 'F32', 'F8_E4M3', 'F8_E5M2', 'F64'), fc.uint8Array({ minLength: 8, maxLength: 8 }), (dtype, raw) => {
      const size = unitOf(dtype).bytes;
      const bytes = [...raw.subarray(0, size)];
      const s = text({ base: single, tensors: [tensor('v', dtype, [4])], hunks: [hunk('v', 0, bytes, bytes.map((b) => b ^ 0x10))] });
      const comment = /^- [0-9a-f]+  # (\S+)$/m.exec(s)![1];
      const back = new Uint8Array(size);
      encodeElement(dtype, Number(comment), back, 0);
      if (comment !== 'NaN') assert.deepEqual([...back], bytes, `${dtype} ${bytes} -> ${comment}`);
    }),
    { numRuns: 600 },
  );
});

test('rows far into a huge hunk carry no value comment, and still parse', () => {
  const n = COMMENTED_BYTES + 64;
  const t = tensor('big', 'U8', [n]);
  const s = text({ base: single, tensors: [t], hunks: [hunk('big', 0, Array.from({ length: n }, (_, i) => i & 0xff), Array.from({ length: n }, (_, i) => (i + 1) & 0xff))] });
  const rows = s.split('\n').filter((l) => l.startsWith('- '));
  assert.equal(rows.length, n / 16);
  assert.ok(rows[COMMENTED_BYTES / 16 - 1].includes('#'));
  assert.ok(!rows[COMMENTED_BYTES / 16].includes('#'));
  assert.equal(Buffer.compare(serializePatch(parsePatch(s, 'p')), Buffer.from(s)), 0);
});
