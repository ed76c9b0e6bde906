// Fast paths of rule 5 (see header.ts). The exact parser (json.ts) reads any header and
// says what is wrong with a broken one, but its tree and the walk over it are slow: 1.1 ms
// for a 1000-tensor header, against 0.3 ms for the canonical scan below and 0.6 ms through
// JSON.parse. The readers here answer "accepted, and this is what it says", exactly as the
// exact parser would, or null, "not sure": every header they are not sure about, every
// broken one among them, goes to the exact parser, so all verdicts and error messages come
// from one place. test/unit/safetensors-fastpath.test.ts checks that they agree.
//
// 1. scanCanonical: the layout the reference writer (and ours) produces: compact, fields in
//    the order dtype, shape, data_offsets, no escapes, integers of at most 15 digits;
//    one regular expression per entry, no JSON tree. Most files.
// 2. readWithJsonParse: other layouts (fields in another order, as mlx writes them, spaces
//    or line breaks, extra fields), through JSON.parse. Where JSON.parse reads
//    differently, and how such text is kept off this path:
//    - a repeated key keeps its last value silently: each object member has exactly one
//      colon outside strings, so the colons of the text must be the members read plus the
//      colons inside the strings read; a dropped member (or string) leaves the text with more;
//    - lone surrogate escapes ("\ud800") are accepted; and an escape could spell a colon
//      ("\u003a") and fool the count: so no "\u" escape at all (real headers have none);
//    - integers above 2^53 round; 4.0, 4e0 and -0 read as integers: every dimension and
//      offset must be an integer in [0, 10^15) (15 digits, exact) that is not -0, and no
//      array element in the text may have a fraction or an exponent (NON_INTEGER_ELEMENT);
//    - nesting has no depth limit: only the schema's own shapes (depth 3) are accepted;
//    - keys that are array indices ("0", "17") come first, whatever the text's order: a
//      tensor named like that sends the header to the exact parser (order matters for ties).
//    What JSON.parse rejects (a BOM, trailing NULs, bad syntax) goes to the exact parser too.

import { isDType } from '../../shared/dtypes';
import type { HeaderSchema, RawEntry } from './header';

/** The header's metadata and entries as the exact parser would read them, or null when not sure. */
export function readSchemaFast(text: string): HeaderSchema | null {
  return scanCanonical(text) ?? readWithJsonParse(text);
}

// ---- 1. the canonical layout ----

/** The characters of a string without escapes or control characters: its text is its value. */
const PLAIN_CHARS = '[^"\\\\\\u0000-\\u001f]*';
/** An unsigned integer of at most 15 digits, written as JSON writes it: exact as a double. */
const INTEGER = '(?:0|[1-9][0-9]{0,14})';
/** One tensor: name, dtype, dimensions ("4,5" or ""), begin, end. */
const CANONICAL_ENTRY = new RegExp(
  `"(${PLAIN_CHARS})":\\{"dtype":"([0-9A-Z_]+)","shape":\\[((?:${INTEGER}(?:,${INTEGER})*)?)\\],"data_offsets":\\[(${INTEGER}),(${INTEGER})\\]\\}`,
  'y',
);
/** A key and its value in "__metadata__". */
const METADATA_PAIR = new RegExp(`"(${PLAIN_CHARS})":"(${PLAIN_CHARS})"`, 'y');
const TRAILING_WHITESPACE = /[ \t\n\r]*$/y;
const COMMA = 44;
const LBRACE = 123;
const RBRACE = 125;

/** The canonical layout read directly (see the top); null for anything else. */
export function scanCanonical(text: string): HeaderSchema | null {
  if (text.charCodeAt(0) !== LBRACE) return null;
  let pos = 1;
  /** Does another member follow at pos? After a comma one must; otherwise the object ends there. */
  let more = text.charCodeAt(pos) !== RBRACE;

  let metadata: Record<string, string> | null = null;
  if (more && text.startsWith('"__metadata__":', pos)) {
    const read = canonicalMetadata(text, pos + '"__metadata__":'.length);
    if (!read) return null;
    metadata = read.metadata;
    pos = read.end;
    more = text.charCodeAt(pos) === COMMA;
    if (more) pos++;
    else if (text.charCodeAt(pos) !== RBRACE) return null;
  }

  const raw: RawEntry[] = [];
  const names = new Set<string>();
  while (more) {
    CANONICAL_ENTRY.lastIndex = pos;
    const m = CANONICAL_ENTRY.exec(text);
    if (!m) return null;
    const name = m[1];
    const dtype = m[2];
    // A repeated name, or "__metadata__" as a tensor: the exact reading says what is wrong.
    if (names.has(name) || name === '__metadata__' || !isDType(dtype)) return null;
    names.add(name);
    raw.push({ name, dtype, shape: dimensions(m[3]), begin: Number(m[4]), end: Number(m[5]) });
    pos = CANONICAL_ENTRY.lastIndex;
    more = text.charCodeAt(pos) === COMMA;
    if (more) pos++;
    else if (text.charCodeAt(pos) !== RBRACE) return null;
  }
  TRAILING_WHITESPACE.lastIndex = pos + 1; // after the closing brace
  return TRAILING_WHITESPACE.test(text) ? { metadata, raw } : null;
}

/** The value of "__metadata__" at `pos` (null or an object of strings) and where it ends; null if not canonical. */
function canonicalMetadata(text: string, pos: number): { metadata: Record<string, string> | null; end: number } | null {
  // (Its own function: inlined into scanCanonical this loop made the entry loop 50% slower.)
  if (text.startsWith('null', pos)) return { metadata: null, end: pos + 4 };
  if (text.charCodeAt(pos++) !== LBRACE) return null;
  // As the exact reading does: a repeated key keeps its first place and its last value.
  const pairs: Record<string, string> = Object.create(null);
  let more = text.charCodeAt(pos) !== RBRACE;
  while (more) {
    METADATA_PAIR.lastIndex = pos;
    const m = METADATA_PAIR.exec(text);
    if (!m) return null;
    pairs[m[1]] = m[2];
    pos = METADATA_PAIR.lastIndex;
    more = text.charCodeAt(pos) === COMMA;
    if (more) pos++;
    else if (text.charCodeAt(pos) !== RBRACE) return null;
  }
  return { metadata: { ...pairs }, end: pos + 1 };
}

/**
 * "4,5" -> [4, 5], "" -> [] (digits and commas only, each number at most 15 digits: exact).
 * A loop, not split(',').map(Number), which took a third of the scan's time.
 */
function dimensions(list: string): number[] {
  const out: number[] = [];
  if (list.length === 0) return out;
  let d = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list.charCodeAt(i);
    if (c === COMMA) {
      out.push(d);
      d = 0;
    } else {
      d = d * 10 + (c - 48);
    }
  }
  out.push(d);
  return out;
}

// ---- 2. any layout, through JSON.parse ----

/**
 * A number with a fraction or an exponent followed by the end of an array element, e.g.
 * "4.0]" or "1e3,". Finds every such number in an array (maybe also text in a string that
 * looks like one: then the exact parser just does the work).
 */
const NON_INTEGER_ELEMENT = /[0-9][.eE][+-]?[0-9]+[ \t\n\r]*[,\]]/;
/** Integers below this have at most 15 digits, so a double holds them exactly. */
const EXACT_BELOW = 1e15;

type JsonRecord = Record<string, unknown>;

function isRecord(v: unknown): v is JsonRecord {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An integer dimension or offset, written as plain digits (checked with NON_INTEGER_ELEMENT). */
function isPlainInteger(v: unknown): v is number {
  return typeof v === 'number' && Math.floor(v) === v && v < EXACT_BELOW && (v > 0 || Object.is(v, 0));
}

/** Would JSON.parse move this key ahead of the others (an array index, below 2^32 - 1)? */
function isArrayIndex(key: string): boolean {
  const c = key.charCodeAt(0);
  return c >= 48 && c <= 57 && /^(?:0|[1-9][0-9]{0,9})$/.test(key) && Number(key) < 4294967295;
}

function colonsIn(s: string): number {
  let n = 0;
  for (let i = s.indexOf(':'); i !== -1; i = s.indexOf(':', i + 1)) n++;
  return n;
}

/** Any layout read with JSON.parse where that provably reads what the exact parser would (see the top); else null. */
export function readWithJsonParse(text: string): HeaderSchema | null {
  if (text.includes('\\u') || NON_INTEGER_ELEMENT.test(text)) return null;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isRecord(json)) return null;

  let members = 0;
  let colonsInStrings = 0;
  let metadata: Record<string, string> | null = null;
  const raw: RawEntry[] = [];
  for (const name of Object.keys(json)) {
    const value = json[name];
    members++;
    colonsInStrings += colonsIn(name);
    if (name === '__metadata__') {
      if (value === null) continue;
      if (!isRecord(value)) return null;
      for (const key of Object.keys(value)) {
        const v = value[key];
        if (typeof v !== 'string') return null;
        members++;
        colonsInStrings += colonsIn(key) + colonsIn(v);
      }
      metadata = value as Record<string, string>;
      continue;
    }
    if (isArrayIndex(name) || !isRecord(value)) return null;
    let dtype: unknown;
    let shape: unknown;
    let offsets: unknown;
    for (const key of Object.keys(value)) {
      const v = value[key];
      members++;
      if (key === 'dtype') dtype = v;
      else if (key === 'shape') shape = v;
      else if (key === 'data_offsets') offsets = v;
      else if (typeof v === 'object' && v !== null) return null; // an unknown field: scalars only
      else colonsInStrings += colonsIn(key) + (typeof v === 'string' ? colonsIn(v) : 0);
    }
    if (typeof dtype !== 'string' || !isDType(dtype) || !Array.isArray(shape) || !Array.isArray(offsets) || offsets.length !== 2) return null;
    for (let i = 0; i < shape.length; i++) if (!isPlainInteger(shape[i])) return null;
    const [begin, end] = offsets as unknown[];
    if (!isPlainInteger(begin) || !isPlainInteger(end)) return null;
    raw.push({ name, dtype, shape: shape as number[], begin, end });
  }
  if (colonsIn(text) !== members + colonsInStrings) return null;
  return { metadata, raw };
}
