import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import fc from 'fast-check';
import { parseHeader, readHeaderLength, SafetensorsError, type SafetensorsRule } from '../../src/engine/safetensors/header';
import { serializeSafetensors } from '../../src/engine/safetensors/writer';
import { UserError } from '../../src/engine/errors';
import { fixture, headerJson, rawSafetensors } from '../helpers/safetensors';

const FILE = 'model.safetensors';

function parse(bytes: Uint8Array, fileSize = bytes.length) {
  return parseHeader(FILE, bytes, fileSize);
}

/** Assert that parsing fails with `rule`, a one-line message naming the file; returns the message. */
function rejects(bytes: Uint8Array, rule: SafetensorsRule, fileSize = bytes.length): string {
  let caught: unknown;
  try {
    parse(bytes, fileSize);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof SafetensorsError, `expected SafetensorsError(${rule}), got ${caught === undefined ? 'success' : String(caught)}`);
  assert.ok(caught instanceof UserError);
  assert.equal(caught.rule, rule, caught.message);
  assert.ok(caught.message.startsWith(`${FILE}: `), caught.message);
  assert.ok(!caught.message.includes('\n'), caught.message);
  return caught.message;
}

/** A header text followed by exactly the data its offsets need. */
function withData(header: string, dataBytes: number): Uint8Array {
  return rawSafetensors(header, dataBytes);
}

describe('rule 1: header too small', () => {
  test('files of 0..7 bytes', () => {
    for (let n = 0; n < 8; n++) {
      const msg = rejects(new Uint8Array(n).fill(1), 'header_too_small');
      assert.match(msg, new RegExp(`file is ${n} bytes`));
    }
  });
});

describe('rule 2: header too large', () => {
  test('N above 100,000,000, u64 max included, checked before the file size', () => {
    const msg = rejects(rawSafetensors('{}', 0, 123456789012n), 'header_too_large');
    assert.equal(msg, 'model.safetensors: header length 123456789012 exceeds 100000000 bytes (header too large)');
    rejects(rawSafetensors('{}', 0, 100_000_001n), 'header_too_large');
    rejects(rawSafetensors('{}', 0, (1n << 64n) - 1n), 'header_too_large');
    rejects(rawSafetensors('{}', 0, 1n << 53n), 'header_too_large');
  });
  test('a file that is not safetensors at all (no JSON after the length) says so', () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52]);
    assert.match(rejects(png, 'header_too_large'), /\(header too large\); this does not look like a \.safetensors file$/);
    const text = new TextEncoder().encode('hello, this is a text file\n');
    assert.match(rejects(text, 'header_too_large'), /this does not look like a \.safetensors file$/);
  });
  test('N = 100,000,000 exactly is not too large (it fails the length check instead)', () => {
    rejects(rawSafetensors('{}', 0, 100_000_000n), 'invalid_header_length');
  });
});

describe('rule 3: header length past the end of the file', () => {
  test('8 + N > file size', () => {
    rejects(rawSafetensors('{}', 0, 3n), 'invalid_header_length');
    rejects(rawSafetensors('', 0, 1n), 'invalid_header_length');
    // the declared file size is what counts, not the bytes handed in
    rejects(rawSafetensors('{}'), 'invalid_header_length', 9);
  });
  test('readHeaderLength alone learns N from the first 8 bytes', () => {
    const file = withData(headerJson([['a', 'F32', [2], 0, 8]]), 8);
    const n = readHeaderLength(FILE, file.subarray(0, 8), file.length);
    assert.equal(n, file.length - 16);
    assert.throws(() => readHeaderLength(FILE, file.subarray(0, 8), 8 + n - 1), SafetensorsError);
  });
});

describe('rule 4: header not UTF-8', () => {
  const cases: [string, number[]][] = [
    ['invalid byte', [0x7b, 0xff, 0x7d]],
    ['truncated sequence', [0x7b, 0x22, 0xc3, 0x22, 0x7d]],
    ['overlong encoding', [0x7b, 0xc0, 0xaf, 0x7d]],
    ['encoded surrogate', [0x7b, 0xed, 0xa0, 0x80, 0x7d]],
  ];
  for (const [what, bytes] of cases) {
    test(what, () => {
      rejects(rawSafetensors(Uint8Array.from(bytes)), 'invalid_utf8');
    });
  }
});

describe('rule 5: JSON and schema', () => {
  const cases: [string, string, SafetensorsRule][] = [
    ['N = 0', '', 'invalid_json'],
    ['truncated JSON', '{', 'invalid_json'],
    ['a BOM', '\ufeff{}', 'invalid_json'],
    ['trailing NUL bytes', '{}\0\0\0\0\0\0', 'invalid_json'],
    ['trailing garbage', '{} x', 'invalid_json'],
    ['trailing comma', '{"__metadata__":{"a":"b"},}', 'invalid_json'],
    ['single quotes', "{'a':1}", 'invalid_json'],
    ['unescaped control character in a string', '{"a\tb":1}', 'invalid_json'],
    ['lone surrogate escape', '{"\\ud800":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}', 'invalid_json'],
    ['leading zero', '{"a":{"dtype":"F32","shape":[01],"data_offsets":[0,4]}}', 'invalid_json'],
    ['nesting deeper than 128', `{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4],"x":${'['.repeat(200)}${']'.repeat(200)}}}`, 'invalid_json'],
    ['top level an array', '[]', 'not_an_object'],
    ['top level a number', '1', 'not_an_object'],
    ['top level null', 'null', 'not_an_object'],
    ['entry a number', '{"a":1}', 'not_an_object'],
    ['entry an array', '{"a":[0,4]}', 'not_an_object'],
    ['unknown dtype', '{"a":{"dtype":"F128","shape":[4],"data_offsets":[0,16]}}', 'invalid_dtype'],
    ['lower-case dtype', '{"a":{"dtype":"f32","shape":[4],"data_offsets":[0,16]}}', 'invalid_dtype'],
    ['dtype not a string', '{"a":{"dtype":4,"shape":[4],"data_offsets":[0,16]}}', 'invalid_dtype'],
    ['missing dtype', '{"a":{"shape":[4],"data_offsets":[0,16]}}', 'missing_field'],
    ['missing shape', '{"a":{"dtype":"F32","data_offsets":[0,16]}}', 'missing_field'],
    ['missing data_offsets', '{"a":{"dtype":"F32","shape":[4]}}', 'missing_field'],
    ['shape not an array', '{"a":{"dtype":"F32","shape":4,"data_offsets":[0,16]}}', 'invalid_shape'],
    ['negative dimension', '{"a":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}}', 'invalid_shape'],
    ['negative zero dimension', '{"a":{"dtype":"F32","shape":[-0],"data_offsets":[0,0]}}', 'invalid_shape'],
    ['float dimension', '{"a":{"dtype":"F32","shape":[4.0],"data_offsets":[0,16]}}', 'invalid_shape'],
    ['exponent dimension', '{"a":{"dtype":"F32","shape":[4e0],"data_offsets":[0,16]}}', 'invalid_shape'],
    ['string dimension', '{"a":{"dtype":"F32","shape":["4"],"data_offsets":[0,16]}}', 'invalid_shape'],
    ['dimension 2^64', '{"a":{"dtype":"F32","shape":[0,18446744073709551616],"data_offsets":[0,0]}}', 'invalid_shape'],
    ['one offset', '{"a":{"dtype":"F32","shape":[4],"data_offsets":[0]}}', 'invalid_offsets'],
    ['three offsets', '{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16,16]}}', 'invalid_offsets'],
    ['negative offset', '{"a":{"dtype":"F32","shape":[4],"data_offsets":[-1,15]}}', 'invalid_offsets'],
    ['float offset', '{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16.0]}}', 'invalid_offsets'],
    ['string offset', '{"a":{"dtype":"F32","shape":[4],"data_offsets":["0",16]}}', 'invalid_offsets'],
    ['offsets an object', '{"a":{"dtype":"F32","shape":[4],"data_offsets":{"0":16}}}', 'invalid_offsets'],
    ['offset above u64', '{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,18446744073709551616]}}', 'invalid_offsets'],
    ['metadata value a number', '{"__metadata__":{"a":1}}', 'invalid_metadata'],
    ['metadata value null', '{"__metadata__":{"a":null}}', 'invalid_metadata'],
    ['metadata an array', '{"__metadata__":["a"]}', 'invalid_metadata'],
    ['metadata a string', '{"__metadata__":"a"}', 'invalid_metadata'],
    ['tensor twice', '{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', 'duplicate_key'],
    ['metadata twice', '{"__metadata__":{},"__metadata__":{}}', 'duplicate_key'],
    ['field twice', '{"a":{"dtype":"U8","dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 'duplicate_key'],
  ];
  for (const [what, header, rule] of cases) {
    test(what, () => {
      rejects(withData(header, 16), rule);
    });
  }

  test('messages say what is wrong', () => {
    assert.equal(
      rejects(withData('{"a.weight":{"dtype":"f32","shape":[4],"data_offsets":[0,16]}}', 16), 'invalid_dtype'),
      'model.safetensors: tensor "a.weight" has unknown dtype "f32"',
    );
    assert.match(rejects(withData('{"a":{"dtype":"F32","shape":[4]}}', 0), 'missing_field'), /tensor "a" has no "data_offsets"/);
    assert.match(rejects(withData('{', 0), 'invalid_json'), /not valid JSON: .*end of header/);
    assert.match(rejects(withData('', 0), 'invalid_json'), /header is empty/);
  });

  const accepted: [string, string, number][] = [
    ['metadata null', '{"__metadata__":null}', 0],
    ['empty header object', '{}', 0],
    ['unknown extra fields in an entry', '{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2],"extra":{"x":[1.5e300,null]}}}', 2],
    ['whitespace around the object', ' \t\n\r{}\n  ', 0],
    ['a scalar', '{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}', 4],
    ['an empty tensor name', '{"":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1],
    ['escapes in names and metadata', '{"__metadata__":{"k\\n":"\\u00e9\\ud83d\\ude00\\/"},"\\"q\\"":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1],
    ['several zero-size tensors sharing one offset', '{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"I8","shape":[2,0],"data_offsets":[0,0]},"c":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"d":{"dtype":"F16","shape":[0],"data_offsets":[1,1]}}', 1],
    ['shape [0, 2^64-1]', '{"a":{"dtype":"F64","shape":[0,18446744073709551615],"data_offsets":[0,0]}}', 0],
    ['a header length that is not a multiple of 8', '{"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}}', 3],
  ];
  for (const [what, header, dataBytes] of accepted) {
    test(`accepts ${what}`, () => {
      parse(withData(header, dataBytes));
    });
  }

  test('parsed content of an accepted header', () => {
    const h = parse(withData('{"__metadata__":{"k\\n":"\\u00e9\\ud83d\\ude00\\/"},"\\"q\\"":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1));
    assert.deepEqual(h.metadata, { 'k\n': 'é😀/' });
    assert.deepEqual(h.entries, [{ name: '"q"', dtype: 'U8', shape: [1], dataOffsets: [0, 1] }]);
    assert.equal(parse(withData('{"__metadata__":null}', 0)).metadata, null);
    assert.equal(parse(withData('{}', 0)).metadata, null);
  });
});

describe('rule 6: offsets in order, contiguous', () => {
  test('first tensor not at 0 is a gap', () => {
    const msg = rejects(withData(headerJson([['a', 'F32', [1], 4, 8]]), 8), 'offset_gap');
    assert.match(msg, /data of "a" starts at 4 but the data section starts at 0 \(gap\)/);
  });
  test('hole between tensors', () => {
    const msg = rejects(withData(headerJson([['a', 'F32', [8], 0, 32], ['b', 'F32', [2], 40, 48]]), 48), 'offset_gap');
    assert.equal(msg, 'model.safetensors: data of "b" starts at 40 but the previous tensor ends at 32 (gap)');
  });
  test('overlap', () => {
    rejects(withData(headerJson([['a', 'F32', [3], 0, 12], ['b', 'F32', [2], 8, 16]]), 16), 'offset_overlap');
  });
  test('two tensors sharing one range', () => {
    rejects(withData(headerJson([['a', 'F32', [2], 0, 8], ['b', 'F32', [2], 0, 8]]), 8), 'offset_overlap');
  });
  test('reversed offsets', () => {
    rejects(withData(headerJson([['a', 'F32', [1], 0, 4], ['b', 'F32', [1], 4, 0]]), 4), 'offset_reversed');
  });
  test('header order does not matter, offsets do', () => {
    const h = parse(withData(headerJson([['z', 'F32', [1], 4, 8], ['a', 'U8', [4], 0, 4]]), 8));
    assert.deepEqual(h.entries.map((e) => e.name), ['a', 'z']);
  });
});

describe('rule 7: shape overflow', () => {
  test('element count above u64', () => {
    rejects(withData('{"a":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}}', 0), 'shape_overflow');
  });
  test('bit count above u64', () => {
    rejects(withData('{"a":{"dtype":"F32","shape":[1152921504606846976],"data_offsets":[0,0]}}', 0), 'shape_overflow');
  });
  test('overflow before a zero dimension still counts (the product is checked in order)', () => {
    rejects(withData('{"a":{"dtype":"U8","shape":[18446744073709551615,2,0],"data_offsets":[0,0]}}', 0), 'shape_overflow');
  });
  test('2^64-1 elements of 8 bits overflow the bit count; 2^61-1 elements do not (a size mismatch)', () => {
    rejects(withData('{"a":{"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,0]}}', 0), 'shape_overflow');
    rejects(withData('{"a":{"dtype":"U8","shape":[2305843009213693951],"data_offsets":[0,0]}}', 0), 'size_mismatch');
    rejects(withData('{"a":{"dtype":"U8","shape":[2305843009213693952],"data_offsets":[0,0]}}', 0), 'shape_overflow');
  });
});

describe('integers above 2^53 are exact (where doubles would round)', () => {
  const entry = (name: string, shape: string, begin: string, end: string) =>
    `"${name}":{"dtype":"U8","shape":[${shape}],"data_offsets":[${begin},${end}]}`;
  const header = (...entries: string[]) => withData(`{${entries.join(',')}}`, 0);
  test('2^53 + 1 bytes described exactly pass rules 6-9 (the file is just short)', () => {
    rejects(header(entry('a', '9007199254740993', '0', '9007199254740993')), 'missing_bytes');
    rejects(header(entry('a', '3,3002399751580331', '0', '9007199254740993')), 'missing_bytes');
    rejects(header(entry('a', '1073741824,1073741824', '0', '1152921504606846976')), 'missing_bytes');
  });
  test('off by one above 2^53 is a size mismatch', () => {
    const msg = rejects(header(entry('a', '9007199254740993', '0', '9007199254740992')), 'size_mismatch');
    assert.match(msg, /needs 9007199254740993 bytes but data_offsets \[0, 9007199254740992\] hold 9007199254740992/);
    rejects(header(entry('a', '3,3002399751580331', '0', '9007199254740992')), 'size_mismatch');
  });
  test('gap and contiguity across 2^53', () => {
    const a = entry('a', '9007199254740991', '0', '9007199254740991');
    const msg = rejects(header(a, entry('b', '1', '9007199254740992', '9007199254740993')), 'offset_gap');
    assert.match(msg, /starts at 9007199254740992 but the previous tensor ends at 9007199254740991/);
    rejects(header(a, entry('b', '2', '9007199254740991', '9007199254740993')), 'missing_bytes');
    rejects(header(a, entry('b', '3', '9007199254740991', '9007199254740993')), 'size_mismatch');
    rejects(header(entry('a', '9007199254740993', '0', '9007199254740993'), entry('b', '1', '9007199254740992', '9007199254740993')), 'offset_overlap');
  });
});

describe('rule 8: whole bytes', () => {
  test('3 x F4 and 1 x F6 are partial bytes', () => {
    rejects(withData('{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}', 2), 'partial_bits');
    rejects(withData('{"a":{"dtype":"F6_E2M3","shape":[1],"data_offsets":[0,1]}}', 1), 'partial_bits');
  });
  test('4 x F6 and 2 x F4 are whole bytes', () => {
    parse(withData('{"a":{"dtype":"F6_E3M2","shape":[2,2],"data_offsets":[0,3]},"b":{"dtype":"F4","shape":[2],"data_offsets":[3,4]}}', 4));
  });
});

describe('rule 9: size matches dtype and shape', () => {
  test('range longer and shorter than the tensor', () => {
    const msg = rejects(withData(headerJson([['a', 'F32', [3], 0, 16]]), 16), 'size_mismatch');
    assert.match(msg, /"a" \(F32 \[3\]\) needs 12 bytes but data_offsets \[0, 16\] hold 16/);
    rejects(withData(headerJson([['a', 'BF16', [3], 0, 4]]), 4), 'size_mismatch');
  });
});

describe('rule 10: file ends where the data ends', () => {
  test('trailing bytes', () => {
    assert.match(rejects(withData(headerJson([['a', 'F32', [1], 0, 4]]), 5), 'trailing_bytes'), /1 bytes after/);
  });
  test('missing bytes', () => {
    rejects(withData(headerJson([['a', 'F32', [2], 0, 8]]), 7), 'missing_bytes');
  });
});

describe('rule order', () => {
  test('the earlier rule wins', () => {
    // bad JSON and trailing bytes
    rejects(withData('{', 10), 'invalid_json');
    // unknown dtype and a gap
    rejects(withData(headerJson([['a', 'F99', [1], 4, 8]]), 8), 'invalid_dtype');
    // entry by entry in offset order: a size mismatch in the first entry before a gap in the second
    rejects(withData(headerJson([['a', 'F32', [2], 0, 4], ['b', 'F32', [1], 8, 12]]), 12), 'size_mismatch');
    // ... and a gap in the first before a size mismatch in the second
    rejects(withData(headerJson([['a', 'F32', [1], 4, 8], ['b', 'F32', [2], 8, 12]]), 12), 'offset_gap');
    // partial bits before size mismatch, overflow before partial bits
    rejects(withData(headerJson([['a', 'F4', [3], 0, 5]]), 5), 'partial_bits');
  });
});

describe('generated files with one corruption are caught by that rule', () => {
  const dtypes = ['F32', 'BF16', 'U8', 'I64', 'F8_E4M3', 'F4', 'F6_E2M3'] as const;
  const bits = { F32: 32, BF16: 16, U8: 8, I64: 64, F8_E4M3: 8, F4: 4, F6_E2M3: 6 };
  // contiguous entries: [name, dtype, shape, begin, end]
  const layoutArb = fc
    .array(fc.tuple(fc.constantFrom(...dtypes), fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 2 })), { minLength: 1, maxLength: 5 })
    .map((specs) => {
      let at = 0;
      return specs.map(([dtype, dims], i): [string, string, number[], number, number] => {
        const shape = [...dims, 4]; // 4 elements of any dtype here are whole bytes
        const size = (shape.reduce((a, b) => a * b, 1) * bits[dtype]) / 8;
        const entry: [string, string, number[], number, number] = [`t${i}`, dtype, shape, at, at + size];
        at += size;
        return entry;
      });
    });
  const dataLength = (entries: [string, string, number[], number, number][]) => entries[entries.length - 1][4];

  test('valid as generated', () => {
    fc.assert(fc.property(layoutArb, (entries) => void parse(withData(headerJson(entries), dataLength(entries)))), { numRuns: 100 });
  });
  test('shifting one tensor and all after it opens a gap', () => {
    fc.assert(
      fc.property(layoutArb, fc.nat(), fc.integer({ min: 1, max: 9 }), (entries, seed, d) => {
        const i = seed % entries.length;
        const shifted = entries.map((e, j): typeof e => (j >= i ? [e[0], e[1], e[2], e[3] + d, e[4] + d] : e));
        rejects(withData(headerJson(shifted), dataLength(shifted)), 'offset_gap');
      }),
      { numRuns: 100 },
    );
  });
  test('growing one tensor range makes a size mismatch', () => {
    fc.assert(
      fc.property(layoutArb, fc.nat(), fc.integer({ min: 1, max: 9 }), (entries, seed, d) => {
        const i = seed % entries.length;
        const grown = entries.map((e, j): typeof e => (j > i ? [e[0], e[1], e[2], e[3] + d, e[4] + d] : j === i ? [e[0], e[1], e[2], e[3], e[4] + d] : e));
        rejects(withData(headerJson(grown), dataLength(grown)), 'size_mismatch');
      }),
      { numRuns: 100 },
    );
  });
  test('bytes added or removed at the end', () => {
    fc.assert(
      fc.property(layoutArb, fc.integer({ min: 1, max: 9 }), (entries, d) => {
        const file = withData(headerJson(entries), dataLength(entries) + d);
        rejects(file, 'trailing_bytes');
        const cut = Math.min(d, dataLength(entries));
        rejects(file.subarray(0, file.length - d - cut), 'missing_bytes');
      }),
      { numRuns: 100 },
    );
  });
});

describe('reference fixtures', () => {
  const verdicts = JSON.parse(readFileSync(fixture('malformed', 'verdicts.json'), 'utf8')) as Record<string, 'ok' | 'error'>;
  const expectedRule: Record<string, SafetensorsRule> = {
    'bad_json.safetensors': 'invalid_json',
    'extra_bytes.safetensors': 'trailing_bytes',
    'hole.safetensors': 'offset_gap',
    'huge_n.safetensors': 'header_too_large',
    'meta_not_string.safetensors': 'invalid_metadata',
    'overlap.safetensors': 'offset_overlap',
    'size_mismatch.safetensors': 'size_mismatch',
    'unknown_dtype.safetensors': 'invalid_dtype',
  };
  test('every malformed fixture has a verdict', () => {
    const files = readdirSync(fixture('malformed')).filter((f) => f.endsWith('.safetensors'));
    assert.deepEqual(files.sort(), Object.keys(verdicts).sort());
  });
  for (const [file, verdict] of Object.entries(verdicts)) {
    test(`${file}: ${verdict}`, () => {
      const bytes = new Uint8Array(readFileSync(fixture('malformed', file)));
      if (verdict === 'ok') {
        const h = parseHeader(file, bytes, bytes.length);
        assert.ok(h.headerLength >= 0);
        return;
      }
      assert.throws(
        () => parseHeader(file, bytes, bytes.length),
        (e: unknown) => e instanceof SafetensorsError && e.rule === expectedRule[file] && e.message.startsWith(`${file}: `),
      );
    });
  }
  test('f4_ok: 4 x F4 in 2 bytes; ws_padded: whitespace padding; scalar: shape []', () => {
    const read = (f: string) => {
      const b = new Uint8Array(readFileSync(fixture('malformed', f)));
      return parseHeader(f, b, b.length);
    };
    assert.deepEqual(read('f4_ok.safetensors').entries, [{ name: 'a', dtype: 'F4', shape: [4], dataOffsets: [0, 2] }]);
    assert.deepEqual(read('ws_padded.safetensors').entries, []);
    assert.deepEqual(read('scalar.safetensors').entries, [{ name: 'a', dtype: 'F32', shape: [], dataOffsets: [0, 4] }]);
  });
});

describe('fuzzing: never anything but SafetensorsError, always fast', () => {
  const onlySafetensorsErrors = (bytes: Uint8Array, fileSize = bytes.length) => {
    try {
      const h = parseHeader(FILE, bytes, fileSize);
      // Accepted: the layout must really be consistent.
      let end = 0;
      for (const e of h.entries) {
        assert.equal(e.dataOffsets[0], end);
        end = e.dataOffsets[1];
      }
      assert.equal(8 + h.headerLength + end, fileSize);
    } catch (e) {
      if (!(e instanceof SafetensorsError)) throw e;
      assert.ok(e.message.startsWith(`${FILE}: `) && !e.message.includes('\n'));
    }
  };

  test('arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => onlySafetensorsErrors(b)), { numRuns: 300 });
  });

  test('arbitrary header text with a correct length field', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), fc.nat(16), (s, extra) => onlySafetensorsErrors(rawSafetensors(s, extra))),
      { numRuns: 300 },
    );
  });

  const valid = serializeSafetensors(
    [
      { name: 'w', dtype: 'F32', shape: [2, 2], data: new Uint8Array(16) },
      { name: 'b', dtype: 'BF16', shape: [3], data: new Uint8Array(6) },
      { name: 'q', dtype: 'F4', shape: [4], data: new Uint8Array(2) },
      { name: 's', dtype: 'I64', shape: [], data: new Uint8Array(8) },
    ],
    { format: 'pt' },
  );

  test('mutated valid files (bytes changed, cut, inserted)', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(valid.length - 1), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat(valid.length) }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(valid.length), value: fc.integer({ min: 0, max: 255 }) }),
    );
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => {
        let b = Array.from(valid);
        for (const m of mutations) {
          const at = Math.min(m.at, b.length);
          if (m.kind === 'set') b[Math.min(at, b.length - 1)] = m.value;
          else if (m.kind === 'cut') b = b.slice(0, at);
          else b.splice(at, 0, m.value);
        }
        onlySafetensorsErrors(Uint8Array.from(b));
      }),
      { numRuns: 1000 },
    );
  });

  test('mutated header text (JSON tokens swapped for others)', () => {
    const text = new TextDecoder().decode(valid.subarray(8, 8 + Number(new DataView(valid.buffer).getBigUint64(0, true))));
    const tokens = text.match(/"[^"]*"|-?\d+|[{}[\]:,]| +/g)!;
    const replacement = fc.constantFrom('0', '-1', '1e3', '18446744073709551616', '"F32"', '"F4"', 'null', '[]', '{}', '[0,0]', '"x"', ',', ':', '{', ']', '"__metadata__"', '"\\ud800"', '1.5');
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(tokens.length - 1), replacement), { minLength: 1, maxLength: 3 }), fc.nat(64), (edits, dataLen) => {
        const t = [...tokens];
        for (const [i, r] of edits) t[i] = r;
        onlySafetensorsErrors(rawSafetensors(t.join(''), dataLen));
      }),
      { numRuns: 1000 },
    );
  });
});
