// The header fast paths (headerFastPath.ts) must never disagree with the exact parser: when
// one of them accepts a header, the exact reading accepts it too and reads the same metadata
// and entries (numbers, order, everything). Headers are generated in many layouts, then
// mutated toward what JSON.parse reads differently (repeated keys, 4.0 / 4e0 / -0, integers
// above 2^53, \u escapes, lone surrogates, deep nesting, a BOM, NULs, integer-like names...).
// And the fast paths must really be taken for the layouts they are for.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DTYPES } from '../../src/shared/dtypes';
import { readSchemaExact, SafetensorsError, type HeaderSchema } from '../../src/engine/safetensors/header';
import { readSchemaFast, readWithJsonParse, scanCanonical } from '../../src/engine/safetensors/headerFastPath';
import { serializeSafetensors } from '../../src/engine/safetensors/writer';

type Exact = { ok: true; schema: HeaderSchema } | { ok: false; rule: string };

function exact(text: string): Exact {
  try {
    return { ok: true, schema: readSchemaExact('h.safetensors', text) };
  } catch (e) {
    if (!(e instanceof SafetensorsError)) throw e;
    return { ok: false, rule: e.rule };
  }
}

/** Every fast reader that answers agrees with the exact reading; returns which answered. */
function agrees(text: string): { canonical: boolean; jsonParse: boolean } {
  const truth = exact(text);
  const answers = { canonical: scanCanonical(text), jsonParse: readWithJsonParse(text), fast: readSchemaFast(text) };
  for (const [reader, schema] of Object.entries(answers)) {
    if (schema === null) continue;
    assert.ok(truth.ok, `${reader} accepted what the exact parser rejects (${truth.ok ? '' : truth.rule}): ${JSON.stringify(text)}`);
    assert.deepStrictEqual(schema, truth.schema, `${reader} read differently: ${JSON.stringify(text)}`);
  }
  return { canonical: answers.canonical !== null, jsonParse: answers.jsonParse !== null };
}

// ---- generated headers ----

interface Entry {
  name: string;
  dtype: string;
  shape: string[]; // number texts, as written
  offsets: string[];
  extra: [string, string][]; // unknown fields: key, JSON value text
}
interface Header {
  metadata: 'absent' | 'null' | [string, string][];
  entries: Entry[];
}

const plainName = fc.stringMatching(/^[a-z_.0-9]{0,12}$/);
const anyName = fc.oneof(
  plainName,
  fc.string({ maxLength: 6 }),
  fc.string({ unit: 'binary', maxLength: 4 }),
  fc.constantFrom('__metadata__', '__proto__', '0', '17', '4294967295', '01', 'a:b', 'x"y', 'back\\slash', 'dtype', 'e1', '1.0', ''),
);
const integerText = fc.oneof(
  { weight: 6, arbitrary: fc.nat({ max: 5000 }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('0', '999999999999999', '1000000000000000', '9007199254740993', '18446744073709551615', '18446744073709551616') },
);
const oddNumberText = fc.constantFrom('4.0', '4e0', '40E-1', '-0', '-4', '0.5', '1e400', '04');
const entryArb = (name: fc.Arbitrary<string>, odd: boolean): fc.Arbitrary<Entry> =>
  fc.record({
    name,
    dtype: odd ? fc.oneof(fc.constantFrom(...DTYPES), fc.constantFrom('f32', 'F128', '')) : fc.constantFrom(...DTYPES),
    shape: fc.array(odd ? fc.oneof({ weight: 5, arbitrary: integerText }, { weight: 1, arbitrary: oddNumberText }) : integerText, { maxLength: 3 }),
    offsets: fc.tuple(integerText, odd ? fc.oneof({ weight: 5, arbitrary: integerText }, { weight: 1, arbitrary: oddNumberText }) : integerText).map((t) => [...t]),
    extra: odd
      ? fc.array(fc.tuple(fc.constantFrom('extra', 'dtype', 'shape', 'data_offsets', '__proto__', 'a:b'), fc.constantFrom('1', '1.5', 'null', 'true', '"s"', '"x:y"', '[1]', '{"a":1}', '"\\u0041"')), { maxLength: 2 })
      : fc.constant([]),
  });
const metadataArb = (odd: boolean) =>
  fc.oneof(
    fc.constantFrom<'absent' | 'null'>('absent', 'null'),
    fc.array(fc.tuple(odd ? anyName : plainName, odd ? fc.string({ maxLength: 8 }) : fc.stringMatching(/^[ -~]{0,10}$/)), { maxLength: 3 }),
  );
const headerArb = (odd: boolean): fc.Arbitrary<Header> =>
  fc.record({ metadata: metadataArb(odd), entries: fc.array(entryArb(odd ? anyName : plainName, odd), { maxLength: 5 }) });

interface Style {
  order: 'canonical' | 'sorted' | 'reversed';
  space: '' | ' ' | '\n  ';
  metadataLast: boolean;
  escapeAll: boolean; // \u escapes for every non-ASCII character and "/"
  padding: string;
}
const styleArb: fc.Arbitrary<Style> = fc.record({
  order: fc.constantFrom('canonical', 'sorted', 'reversed'),
  space: fc.constantFrom('', ' ', '\n  '),
  metadataLast: fc.boolean(),
  escapeAll: fc.boolean(),
  padding: fc.constantFrom('', '   ', ' \n\t\r'),
});
const CANONICAL_STYLE: Style = { order: 'canonical', space: '', metadataLast: false, escapeAll: false, padding: '    ' };

function str(s: string, style: Style): string {
  const json = JSON.stringify(s);
  return style.escapeAll ? json.replace(/[^\x20-\x7e]|\//g, (c) => (c === '/' ? '\\/' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)) : json;
}

function render(h: Header, style: Style): string {
  const sp = style.space;
  const obj = (members: string[]) => (members.length === 0 ? '{}' : `{${sp}${members.join(`,${sp}`)}${sp}}`);
  const member = (key: string, value: string) => `${str(key, style)}:${sp === '' ? '' : ' '}${value}`;
  const arr = (items: string[]) => `[${items.join(`,${sp === '\n  ' ? ' ' : sp}`)}]`;
  const entries = h.entries.map((e) => {
    const fields: [string, string][] = [
      ['dtype', str(e.dtype, style)],
      ['shape', arr(e.shape)],
      ['data_offsets', arr(e.offsets)],
    ];
    if (style.order === 'sorted') fields.sort((a, b) => (a[0] < b[0] ? -1 : 1));
    if (style.order === 'reversed') fields.reverse();
    return member(e.name, obj([...fields, ...e.extra].map(([k, v]) => member(k, v))));
  });
  const members = [...entries];
  if (h.metadata !== 'absent') {
    const value = h.metadata === 'null' ? 'null' : obj(h.metadata.map(([k, v]) => member(k, str(v, style))));
    const m = member('__metadata__', value);
    if (style.metadataLast) members.push(m);
    else members.unshift(m);
  }
  return obj(members) + style.padding;
}

/** Text edits toward what JSON.parse reads differently from the exact parser. */
const mutation = fc.oneof(
  fc.constant((t: string) => t.replace(/\{("[^"]*":\{[^{}]*\})/, '{$1,$1')), // a tensor twice
  fc.constant((t: string) => t.replace(/"dtype":("[^"]*")/, '"dtype":$1,"dtype":$1')), // a field twice
  fc.constant((t: string) => t.replace('"__metadata__":', '"__metadata__":{},"__metadata__":')), // metadata twice
  fc.constant((t: string) => t.replace(/\[(\d+)/, '[$1.0')),
  fc.constant((t: string) => t.replace(/(\d+)\]/, '$1e0]')),
  fc.constant((t: string) => t.replace(/\[\d+/, '[-0')),
  fc.constant((t: string) => t.replace(/\d+\]/, '9007199254740993]')),
  fc.constant((t: string) => t.replace(/"([a-z])/, '"\\ud800$1')), // a lone surrogate
  fc.constant((t: string) => t.replace(/"([a-z])/, '"\\u003a$1')), // an escaped colon
  fc.constant((t: string) => t.replace(/"([a-z])/, '"\\ud83d\\ude00$1')), // a proper pair
  fc.constant((t: string) => t.replace(/"shape"/, `"deep":${'['.repeat(130)}${']'.repeat(130)},"shape"`)),
  fc.constant((t: string) => `\ufeff${t}`),
  fc.constant((t: string) => `${t}\0\0`),
  fc.constant((t: string) => ` ${t}`),
  fc.constant((t: string) => t.replace(/\}\s*$/, ',}')),
  fc.constant((t: string) => t.replace(/,/, ',,')),
  fc.constant((t: string) => t.replace(/:/, '::')),
  fc.constant((t: string) => t.replace(/"[a-z_.]+":\{/, '"0":{')), // an array-index name
  fc.record({ at: fc.nat(), len: fc.nat({ max: 3 }) }).map(({ at, len }) => (t: string) => t.slice(0, at % (t.length + 1)) + t.slice((at % (t.length + 1)) + len)),
  fc.record({ at: fc.nat(), c: fc.constantFrom('"', ':', ',', '{', '}', '[', ']', '\\', '0', 'e', '.', '-', ' ') }).map(({ at, c }) => (t: string) => t.slice(0, at % (t.length + 1)) + c + t.slice(at % (t.length + 1))),
  fc.record({ at: fc.nat(), c: fc.constantFrom('"', ':', ',', '{', '}', ']', 'x', ' ') }).map(({ at, c }) => (t: string) => {
    const i = at % Math.max(1, t.length);
    return t.slice(0, i) + c + t.slice(i + 1);
  }),
);

describe('fast paths agree with the exact parser', () => {
  test('generated headers in any layout (plain names and values)', () => {
    fc.assert(fc.property(headerArb(false), styleArb, (h, style) => void agrees(render(h, style))), { numRuns: 400 });
  });

  test('generated headers with odd names, values and fields', () => {
    fc.assert(fc.property(headerArb(true), styleArb, (h, style) => void agrees(render(h, style))), { numRuns: 600 });
  });

  test('mutated headers', () => {
    fc.assert(
      fc.property(headerArb(false), fc.oneof(fc.constant(CANONICAL_STYLE), styleArb), fc.array(mutation, { minLength: 1, maxLength: 3 }), (h, style, edits) => {
        let text = render(h, style);
        for (const edit of edits) text = edit(text);
        agrees(text);
      }),
      { numRuns: 1000 },
    );
  });

  test('hand-picked headers where JSON.parse reads differently', () => {
    const entry = (name: string, shape = '[2]', offsets = '[0,8]') => `"${name}":{"dtype":"F32","shape":${shape},"data_offsets":${offsets}}`;
    const cases = [
      `{${entry('a')},${entry('a')}}`,
      `{"__metadata__":{},${entry('a')},"__metadata__":{}}`,
      `{${entry('__metadata__')}}`,
      `{"__metadata__":null,${entry('__metadata__')}}`,
      `{${entry('a')},${entry('__metadata__', '[2]', '[8,16]')}}`,
      `{${entry('a')}]`,
      `{${entry('a')}} }`,
      `{${entry('a')}}}`,
      `{${entry('a')},}`,
      `{${entry('a')}${entry('b')}}`,
      `{"a":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}`,
      `{"__metadata__":{"k":"1","k":"2"},${entry('a')}}`,
      `{"__metadata__": {"k": "1", "k": "2"}, ${entry('a')}}`,
      `{${entry('a', '[2.0]')}}`,
      `{${entry('a', '[2e0]')}}`,
      `{${entry('a', '[-0]', '[0,0]')}}`,
      `{${entry('a', '[9007199254740993]', '[0,36028797018963972]')}}`,
      `{${entry('a', '[1000000000000000]', '[0,4000000000000000]')}}`,
      `{${entry('\\ud800')}}`,
      `{${entry('\\u0061')},${entry('a')}}`,
      `{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"deep":${'['.repeat(200)}${']'.repeat(200)}}}`,
      `{${entry('b', '[1]', '[4,8]')},${entry('0', '[1]', '[0,4]')}}`,
      `{${entry('__proto__')}}`,
      `{"__metadata__":{"__proto__":"x"}}`,
      `\ufeff{${entry('a')}}`,
      `{${entry('a')}}\0`,
      '',
      '{}',
      '{} ',
      ' {}',
    ];
    for (const text of cases) agrees(text);
  });
});

describe('fast paths are taken where they are meant to be', () => {
  test("the writer's output: the canonical scan", () => {
    fc.assert(
      fc.property(headerArb(false), fc.boolean(), (h, withMetadata) => {
        const names = [...new Set(h.entries.map((e) => e.name))].filter((n) => n !== '__metadata__');
        const file = serializeSafetensors(
          names.map((name, i) => ({ name, dtype: 'U8', shape: [i], data: new Uint8Array(i) })),
          withMetadata ? { format: 'pt', 'a:b': 'c' } : undefined,
        );
        const text = new TextDecoder().decode(file.subarray(8, 8 + Number(new DataView(file.buffer).getBigUint64(0, true))));
        assert.ok(agrees(text).canonical, text);
      }),
      { numRuns: 100 },
    );
  });

  test('canonical text with unique plain names: the canonical scan', () => {
    fc.assert(
      fc.property(headerArb(false), (h) => {
        const seen = new Set<string>(['__metadata__']);
        const entries = h.entries.filter((e) => !seen.has(e.name) && !!seen.add(e.name));
        const small = (n: string) => n.length <= 15;
        fc.pre(entries.every((e) => [...e.shape, ...e.offsets].every(small)));
        fc.pre(h.metadata === 'absent' || h.metadata === 'null' || h.metadata.every(([, v]) => !/["\\]/.test(v)));
        assert.ok(agrees(render({ ...h, entries }, CANONICAL_STYLE)).canonical);
      }),
      { numRuns: 200 },
    );
  });

  test('other layouts without escapes or integer-like names: JSON.parse', () => {
    fc.assert(
      fc.property(headerArb(false), styleArb, (h, style) => {
        const seen = new Set<string>(['__metadata__']);
        const entries = h.entries.filter((e) => !seen.has(e.name) && !/^\d/.test(e.name) && !!seen.add(e.name));
        const metadata = h.metadata === 'absent' || h.metadata === 'null' ? h.metadata : [...new Map(h.metadata)];
        fc.pre(entries.every((e) => [...e.shape, ...e.offsets].every((n) => n.length <= 15)));
        const text = render({ metadata, entries }, { ...style, escapeAll: false });
        // Any "\u" in the text (even after an escaped backslash) goes to the exact parser on purpose.
        fc.pre(!text.includes('\\u'));
        assert.ok(agrees(text).jsonParse, text);
      }),
      { numRuns: 200 },
    );
  });
});
