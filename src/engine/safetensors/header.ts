// Parsing and validation of a safetensors header: [u64 N little-endian][N bytes of JSON][data].
//
// The checks are the reference reader's (huggingface/safetensors, tensor.rs), in its order:
//  1 file shorter than 8 bytes                      header_too_small
//  2 N > 100,000,000                                header_too_large
//  3 8 + N > file size                              invalid_header_length
//  4 header not UTF-8                               invalid_utf8
//  5 JSON and schema                                invalid_json, not_an_object, invalid_metadata,
//                                                   missing_field, invalid_dtype, invalid_shape,
//                                                   invalid_offsets, duplicate_key
//  then for each entry in order of data_offsets (as the reference does, entry by entry):
//  6 begin == previous end (0 first), end >= begin  offset_gap, offset_overlap, offset_reversed
//  7 shape product, x bit size, fits in u64         shape_overflow
//  8 whole number of bytes                          partial_bits
//  9 end - begin == byte size                       size_mismatch
//  and finally
// 10 last end + 8 + N == file size                  trailing_bytes, missing_bytes
//
// One deliberate difference: a key repeated in the header (a tensor name, __metadata__, or a
// field of an entry) is rejected as duplicate_key. The reference rejects a repeated field or
// __metadata__ too, but silently keeps the last of two tensors with the same name; such a file
// is ambiguous, so we say so instead of guessing.
//
// Integer checks are exact: N is a u64, shapes may hold any u64 (`[0, 2^64-1]` is a valid
// empty tensor), and products must be checked for overflow exactly. Header integers are kept
// as numbers below 2^53 and as BigInt above (see U64). Offsets that pass end up below the
// file size, so they are returned as plain numbers.

import { DTYPE_BITS, isDType, type DType } from '../../shared/dtypes';
import { UserError } from '../errors';
import { readSchemaFast } from './headerFastPath';
import { JsonNumber, JsonObject, JsonSyntaxError, parseJson, type JsonValue } from './json';

export const MAX_HEADER_LENGTH = 100_000_000;
const U64_MAX = (1n << 64n) - 1n;

export interface HeaderEntry {
  name: string;
  dtype: DType;
  shape: number[];
  /** [begin, end) relative to the start of the data section (byte 8 + headerLength). */
  dataOffsets: [number, number];
}

export interface ParsedHeader {
  /** N, the length of the JSON header in bytes (data starts at 8 + N). */
  headerLength: number;
  metadata: Record<string, string> | null;
  /** In file order (by data offsets; header order among equal offsets). */
  entries: HeaderEntry[];
}

export type SafetensorsRule =
  | 'header_too_small'
  | 'header_too_large'
  | 'invalid_header_length'
  | 'invalid_utf8'
  | 'invalid_json'
  | 'not_an_object'
  | 'invalid_metadata'
  | 'duplicate_key'
  | 'missing_field'
  | 'invalid_dtype'
  | 'invalid_shape'
  | 'invalid_offsets'
  | 'offset_gap'
  | 'offset_overlap'
  | 'offset_reversed'
  | 'shape_overflow'
  | 'partial_bits'
  | 'size_mismatch'
  | 'trailing_bytes'
  | 'missing_bytes';

/** A file that breaks one of the format's rules; `rule` names which. */
export class SafetensorsError extends UserError {
  constructor(
    readonly rule: SafetensorsRule,
    message: string,
  ) {
    super(message, 'invalid_safetensors');
    this.name = 'SafetensorsError';
  }
}

/** Rules 1-3: the header length N from the first 8 bytes, checked against the file size. */
export function readHeaderLength(fileName: string, prefix: Uint8Array, fileSize: number): number {
  if (fileSize < 8 || prefix.length < 8) {
    throw new SafetensorsError(
      'header_too_small',
      `${fileName}: file is ${fileSize} bytes, too short for the 8-byte header length (header too small)`,
    );
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  // A safetensors header is JSON right after the length: without a '{' there, say what the file likely is.
  const hint = prefix.length > 8 && prefix[8] !== 0x7b ? '; this does not look like a .safetensors file' : '';
  if (n > BigInt(MAX_HEADER_LENGTH)) {
    throw new SafetensorsError(
      'header_too_large',
      `${fileName}: header length ${n} exceeds ${MAX_HEADER_LENGTH} bytes (header too large)${hint}`,
    );
  }
  if (8n + n > BigInt(fileSize)) {
    throw new SafetensorsError(
      'invalid_header_length',
      `${fileName}: header length ${n} runs past the end of the ${fileSize}-byte file (invalid header length)${hint}`,
    );
  }
  return Number(n);
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }); // keep a BOM: it is invalid JSON

/**
 * Parse and validate a header. `prefix` holds at least the first 8 + N bytes of the file
 * (learn N from the first 8 with readHeaderLength); `fileSize` is the whole file's size.
 * Throws SafetensorsError (a UserError) naming `fileName` for every broken rule.
 */
export function parseHeader(fileName: string, prefix: Uint8Array, fileSize: number): ParsedHeader {
  const headerLength = readHeaderLength(fileName, prefix, fileSize);
  if (prefix.length < 8 + headerLength) {
    throw new RangeError(`parseHeader: need the first ${8 + headerLength} bytes of ${fileName}, got ${prefix.length}`);
  }

  let text: string;
  try {
    text = utf8.decode(prefix.subarray(8, 8 + headerLength));
  } catch {
    throw new SafetensorsError('invalid_utf8', `${fileName}: header is not valid UTF-8`);
  }

  // Rule 5: a fast reader where it provably reads what the exact parser would (most headers;
  // see headerFastPath.ts), else the exact parser, which also says what is wrong.
  const { metadata, raw } = readSchemaFast(text) ?? readSchemaExact(fileName, text);
  const entries = validateLayout(fileName, raw, headerLength, fileSize);
  return { headerLength, metadata, entries };
}

// ---- rule 5: schema ----

/**
 * A u64 read from the header: a plain number below 2^53 (exact, and the case of every real
 * file), a bigint from 2^53 on. `<`, `>`, `==` and `!=` compare the two kinds exactly, so only
 * arithmetic needs to tell them apart. This keeps huge headers fast (no bigint per number).
 */
export type U64 = number | bigint;

export interface RawEntry {
  name: string;
  dtype: DType;
  shape: U64[];
  begin: U64;
  end: U64;
}

/** What rule 5 reads: the metadata, and the entries in header order (not yet checked against each other). */
export interface HeaderSchema {
  metadata: Record<string, string> | null;
  raw: RawEntry[];
}

/** Rule 5 with the exact parser: reads any header, and says what is wrong with a broken one. */
export function readSchemaExact(fileName: string, text: string): HeaderSchema {
  let json: JsonValue;
  try {
    json = parseJson(text);
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    const what = text.length === 0 ? 'header is empty' : `header is not valid JSON: ${e.message}`;
    throw new SafetensorsError('invalid_json', `${fileName}: ${what}`);
  }
  return readSchema(fileName, json);
}

function kindOf(v: JsonValue): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof JsonObject) return 'an object';
  if (v instanceof JsonNumber) return `the number ${v.text}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  return String(v);
}

const UNSIGNED_INTEGER = /^(?:0|[1-9][0-9]*)$/;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A JSON number that is an integer in [0, 2^64 - 1] written without sign, fraction or exponent (as serde_json reads a u64). */
function asU64(v: JsonValue): U64 | null {
  if (!(v instanceof JsonNumber) || !UNSIGNED_INTEGER.test(v.text)) return null;
  if (v.text.length <= 15) return Number(v.text); // < 10^15 < 2^53
  const n = BigInt(v.text);
  if (n > U64_MAX) return null;
  return n <= MAX_SAFE ? Number(n) : n;
}

function readSchema(fileName: string, json: JsonValue): HeaderSchema {
  if (!(json instanceof JsonObject)) {
    throw new SafetensorsError('not_an_object', `${fileName}: header is ${kindOf(json)}, not a JSON object`);
  }
  let metadata: Record<string, string> | null = null;
  const raw: RawEntry[] = [];
  const seen = new Set<string>();
  const { keys, values } = json;
  for (let i = 0; i < keys.length; i++) {
    const name = keys[i];
    if (seen.has(name)) {
      const what = name === '__metadata__' ? '"__metadata__"' : `tensor ${JSON.stringify(name)}`;
      throw new SafetensorsError('duplicate_key', `${fileName}: header lists ${what} twice`);
    }
    seen.add(name);
    if (name === '__metadata__') metadata = readMetadata(fileName, values[i]);
    else raw.push(readEntry(fileName, name, values[i]));
  }
  return { metadata, raw };
}

function readMetadata(fileName: string, value: JsonValue): Record<string, string> | null {
  if (value === null) return null;
  if (!(value instanceof JsonObject)) {
    throw new SafetensorsError('invalid_metadata', `${fileName}: "__metadata__" is ${kindOf(value)}, not an object of strings`);
  }
  const metadata: Record<string, string> = Object.create(null);
  value.keys.forEach((key, i) => {
    const v = value.values[i];
    if (typeof v !== 'string') {
      throw new SafetensorsError(
        'invalid_metadata',
        `${fileName}: "__metadata__" value of ${JSON.stringify(key)} is ${kindOf(v)}, not a string`,
      );
    }
    metadata[key] = v; // a repeated key keeps the last value, as the reference does
  });
  return { ...metadata };
}

const NOT_SET = Symbol('not set');

// Module-level helpers, not closures: readEntry runs once per tensor and must not allocate needlessly.
function tensorLabel(name: string): string {
  return `tensor ${JSON.stringify(name)}`;
}

function duplicateField(fileName: string, name: string, key: string): SafetensorsError {
  return new SafetensorsError('duplicate_key', `${fileName}: ${tensorLabel(name)} has "${key}" twice`);
}

function readEntry(fileName: string, name: string, value: JsonValue): RawEntry {
  if (!(value instanceof JsonObject)) {
    throw new SafetensorsError('not_an_object', `${fileName}: ${tensorLabel(name)} is ${kindOf(value)}, not an object`);
  }
  let dtype: JsonValue | typeof NOT_SET = NOT_SET;
  let shapeValue: JsonValue | typeof NOT_SET = NOT_SET;
  let offsets: JsonValue | typeof NOT_SET = NOT_SET;
  for (let i = 0; i < value.keys.length; i++) {
    const v = value.values[i];
    switch (value.keys[i]) {
      case 'dtype':
        if (dtype !== NOT_SET) throw duplicateField(fileName, name, 'dtype');
        dtype = v;
        break;
      case 'shape':
        if (shapeValue !== NOT_SET) throw duplicateField(fileName, name, 'shape');
        shapeValue = v;
        break;
      case 'data_offsets':
        if (offsets !== NOT_SET) throw duplicateField(fileName, name, 'data_offsets');
        offsets = v;
        break;
      default: // unknown fields are allowed and ignored
    }
  }
  const missing = dtype === NOT_SET ? 'dtype' : shapeValue === NOT_SET ? 'shape' : offsets === NOT_SET ? 'data_offsets' : null;
  if (missing) throw new SafetensorsError('missing_field', `${fileName}: ${tensorLabel(name)} has no "${missing}"`);

  if (typeof dtype !== 'string' || !isDType(dtype)) {
    const shown = typeof dtype === 'string' ? JSON.stringify(dtype) : kindOf(dtype as JsonValue);
    throw new SafetensorsError('invalid_dtype', `${fileName}: ${tensorLabel(name)} has unknown dtype ${shown}`);
  }

  if (!Array.isArray(shapeValue)) {
    throw new SafetensorsError('invalid_shape', `${fileName}: ${tensorLabel(name)} has shape ${kindOf(shapeValue as JsonValue)}, not an array`);
  }
  const shape: U64[] = new Array(shapeValue.length);
  for (let i = 0; i < shapeValue.length; i++) {
    const n = asU64(shapeValue[i]);
    if (n === null) {
      throw new SafetensorsError(
        'invalid_shape',
        `${fileName}: ${tensorLabel(name)} has shape dimension ${kindOf(shapeValue[i])}, not an integer in [0, 2^64-1]`,
      );
    }
    shape[i] = n;
  }

  const pair = offsets as JsonValue;
  const begin = Array.isArray(pair) && pair.length === 2 ? asU64(pair[0]) : null;
  const end = Array.isArray(pair) && pair.length === 2 ? asU64(pair[1]) : null;
  if (begin === null || end === null) {
    const shown = Array.isArray(pair) ? `[${pair.map(jsonText).join(', ')}]` : kindOf(pair);
    throw new SafetensorsError(
      'invalid_offsets',
      `${fileName}: ${tensorLabel(name)} has data_offsets ${shown}, not two integers [begin, end]`,
    );
  }
  return { name, dtype, shape, begin, end };
}

function jsonText(v: JsonValue): string {
  if (v instanceof JsonNumber) return v.text;
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return '[...]';
  if (v instanceof JsonObject) return '{...}';
  return String(v);
}

// ---- rules 6-10: layout ----

function subtract(a: U64, b: U64): U64 {
  return typeof a === 'number' && typeof b === 'number' ? a - b : BigInt(a) - BigInt(b);
}

/** Element and bit counts, multiplied in order with an overflow check at each step like checked_mul; null on overflow. */
function counts(shape: U64[], bitsPerElement: number): { count: U64; bits: U64 } | null {
  let small = 1;
  let big: bigint | null = null; // once a product leaves the exact-number range
  for (const d of shape) {
    if (big === null && typeof d === 'number') {
      const p = small * d; // exact iff <= MAX_SAFE_INTEGER (rounding is monotonic)
      if (p <= Number.MAX_SAFE_INTEGER) {
        small = p;
        continue;
      }
    }
    big = (big ?? BigInt(small)) * BigInt(d);
    if (big > U64_MAX) return null;
  }
  if (big === null && small * bitsPerElement <= Number.MAX_SAFE_INTEGER) return { count: small, bits: small * bitsPerElement };
  const bits = (big ?? BigInt(small)) * BigInt(bitsPerElement);
  return bits > U64_MAX ? null : { count: big ?? small, bits };
}

function validateLayout(fileName: string, raw: RawEntry[], headerLength: number, fileSize: number): HeaderEntry[] {
  const sorted = inOffsetOrder(raw);

  let previousEnd: U64 = 0;
  let previous: RawEntry | null = null;
  for (const e of sorted) {
    // 6: contiguous, in order (== compares number and bigint exactly)
    if (e.begin != previousEnd) {
      const kind = e.begin > previousEnd ? 'gap' : 'overlap';
      const before = previous ? `the previous tensor ends at ${previousEnd}` : 'the data section starts at 0';
      throw new SafetensorsError(
        kind === 'gap' ? 'offset_gap' : 'offset_overlap',
        `${fileName}: data of ${JSON.stringify(e.name)} starts at ${e.begin} but ${before} (${kind})`,
      );
    }
    if (e.end < e.begin) {
      throw new SafetensorsError(
        'offset_reversed',
        `${fileName}: data of ${JSON.stringify(e.name)} ends at ${e.end}, before it starts at ${e.begin} (reversed offsets)`,
      );
    }
    // 7: element count and bit count fit in a u64
    const c = counts(e.shape, DTYPE_BITS[e.dtype]);
    if (c === null) {
      throw new SafetensorsError(
        'shape_overflow',
        `${fileName}: ${JSON.stringify(e.name)} shape [${e.shape.join(', ')}] of ${e.dtype} overflows 64 bits`,
      );
    }
    // 8: whole bytes
    const { count, bits } = c;
    if (typeof bits === 'number' ? bits % 8 !== 0 : bits % 8n !== 0n) {
      throw new SafetensorsError(
        'partial_bits',
        `${fileName}: ${JSON.stringify(e.name)} has ${count} ${e.dtype} elements = ${bits} bits, not a whole number of bytes`,
      );
    }
    // 9: the range holds exactly the tensor
    const size = typeof bits === 'number' ? bits / 8 : bits / 8n;
    const held = subtract(e.end, e.begin);
    if (held != size) {
      throw new SafetensorsError(
        'size_mismatch',
        `${fileName}: ${JSON.stringify(e.name)} (${e.dtype} [${e.shape.join(', ')}]) needs ${size} bytes but data_offsets [${e.begin}, ${e.end}] hold ${held}`,
      );
    }
    previousEnd = e.end;
    previous = e;
  }

  // 10: the data section ends exactly at the end of the file
  const expected = 8n + BigInt(headerLength) + BigInt(previousEnd);
  const size = BigInt(fileSize);
  if (expected < size) {
    throw new SafetensorsError(
      'trailing_bytes',
      `${fileName}: ${size - expected} bytes after the end of the last tensor (trailing bytes)`,
    );
  }
  if (expected > size) {
    throw new SafetensorsError(
      'missing_bytes',
      `${fileName}: file ends ${expected - size} bytes before the end of the tensor data (truncated)`,
    );
  }

  return sorted.map((e) => ({
    name: e.name,
    dtype: e.dtype,
    shape: asNumbers(e.shape), // a dimension above 2^53 only occurs in an empty tensor
    dataOffsets: [Number(e.begin), Number(e.end)],
  }));
}

function cmp(a: U64, b: U64): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The entries by begin offset, then end offset, then header order (headers are usually in this order already). */
function inOffsetOrder(raw: RawEntry[]): RawEntry[] {
  let sorted = true;
  for (let i = 1; i < raw.length && sorted; i++) sorted = (cmp(raw[i - 1].begin, raw[i].begin) || cmp(raw[i - 1].end, raw[i].end)) <= 0;
  if (sorted) return raw;
  const order = raw.map((_, i) => i);
  order.sort((i, j) => cmp(raw[i].begin, raw[j].begin) || cmp(raw[i].end, raw[j].end) || i - j);
  return order.map((i) => raw[i]);
}

/** The shape as numbers (the same array when it holds no bigint: it is ours alone). */
function asNumbers(shape: U64[]): number[] {
  for (const d of shape) if (typeof d !== 'number') return shape.map(Number);
  return shape as number[];
}
