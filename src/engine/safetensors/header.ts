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
// All integer checks use BigInt: N is a u64, shapes may hold any u64 (`[0, 2^64-1]` is a valid
// empty tensor), and products must be checked for overflow exactly. Offsets end up below the
// file size, so they are returned as plain numbers (exact below 2^53).

import { DTYPE_BITS, isDType, type DType } from '../../shared/dtypes';
import { UserError } from '../errors';
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
  if (n > BigInt(MAX_HEADER_LENGTH)) {
    throw new SafetensorsError(
      'header_too_large',
      `${fileName}: header length ${n} exceeds ${MAX_HEADER_LENGTH} bytes (header too large)`,
    );
  }
  if (8n + n > BigInt(fileSize)) {
    throw new SafetensorsError(
      'invalid_header_length',
      `${fileName}: header length ${n} runs past the end of the ${fileSize}-byte file (invalid header length)`,
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

  let json: JsonValue;
  try {
    json = parseJson(text);
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    const what = headerLength === 0 ? 'header is empty' : `header is not valid JSON: ${e.message}`;
    throw new SafetensorsError('invalid_json', `${fileName}: ${what}`);
  }

  const { metadata, raw } = readSchema(fileName, json);
  const entries = validateLayout(fileName, raw, headerLength, fileSize);
  return { headerLength, metadata, entries };
}

// ---- rule 5: schema ----

interface RawEntry {
  name: string;
  dtype: DType;
  shape: bigint[];
  begin: bigint;
  end: bigint;
}

function kindOf(v: JsonValue): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof JsonObject) return 'an object';
  if (v instanceof JsonNumber) return `the number ${v.text}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  return String(v);
}

/** A JSON number that is an integer in [0, 2^64 - 1] written without fraction or exponent (as serde_json reads a u64). */
function asU64(v: JsonValue): bigint | null {
  if (!(v instanceof JsonNumber) || !/^(0|[1-9][0-9]*)$/.test(v.text)) return null;
  const n = BigInt(v.text);
  return n <= U64_MAX ? n : null;
}

function readSchema(fileName: string, json: JsonValue): { metadata: Record<string, string> | null; raw: RawEntry[] } {
  if (!(json instanceof JsonObject)) {
    throw new SafetensorsError('not_an_object', `${fileName}: header is ${kindOf(json)}, not a JSON object`);
  }
  let metadata: Record<string, string> | null = null;
  const raw: RawEntry[] = [];
  const seen = new Set<string>();
  for (const [name, value] of json.members) {
    if (seen.has(name)) {
      const what = name === '__metadata__' ? '"__metadata__"' : `tensor ${JSON.stringify(name)}`;
      throw new SafetensorsError('duplicate_key', `${fileName}: header lists ${what} twice`);
    }
    seen.add(name);
    if (name === '__metadata__') metadata = readMetadata(fileName, value);
    else raw.push(readEntry(fileName, name, value));
  }
  return { metadata, raw };
}

function readMetadata(fileName: string, value: JsonValue): Record<string, string> | null {
  if (value === null) return null;
  if (!(value instanceof JsonObject)) {
    throw new SafetensorsError('invalid_metadata', `${fileName}: "__metadata__" is ${kindOf(value)}, not an object of strings`);
  }
  const metadata: Record<string, string> = Object.create(null);
  for (const [key, v] of value.members) {
    if (typeof v !== 'string') {
      throw new SafetensorsError(
        'invalid_metadata',
        `${fileName}: "__metadata__" value of ${JSON.stringify(key)} is ${kindOf(v)}, not a string`,
      );
    }
    metadata[key] = v; // a repeated key keeps the last value, as the reference does
  }
  return { ...metadata };
}

function readEntry(fileName: string, name: string, value: JsonValue): RawEntry {
  const tensor = `tensor ${JSON.stringify(name)}`;
  if (!(value instanceof JsonObject)) {
    throw new SafetensorsError('not_an_object', `${fileName}: ${tensor} is ${kindOf(value)}, not an object`);
  }
  const fields = new Map<string, JsonValue>();
  for (const [key, v] of value.members) {
    if ((key === 'dtype' || key === 'shape' || key === 'data_offsets') && fields.has(key)) {
      throw new SafetensorsError('duplicate_key', `${fileName}: ${tensor} has "${key}" twice`);
    }
    fields.set(key, v); // unknown fields are allowed and ignored
  }
  for (const key of ['dtype', 'shape', 'data_offsets']) {
    if (!fields.has(key)) throw new SafetensorsError('missing_field', `${fileName}: ${tensor} has no "${key}"`);
  }

  const dtype = fields.get('dtype')!;
  if (typeof dtype !== 'string' || !isDType(dtype)) {
    const shown = typeof dtype === 'string' ? JSON.stringify(dtype) : kindOf(dtype);
    throw new SafetensorsError('invalid_dtype', `${fileName}: ${tensor} has unknown dtype ${shown}`);
  }

  const shapeValue = fields.get('shape')!;
  if (!Array.isArray(shapeValue)) {
    throw new SafetensorsError('invalid_shape', `${fileName}: ${tensor} has shape ${kindOf(shapeValue)}, not an array`);
  }
  const shape = shapeValue.map((d) => {
    const n = asU64(d);
    if (n === null) {
      throw new SafetensorsError(
        'invalid_shape',
        `${fileName}: ${tensor} has shape dimension ${kindOf(d)}, not an integer in [0, 2^64-1]`,
      );
    }
    return n;
  });

  const offsets = fields.get('data_offsets')!;
  const pair = Array.isArray(offsets) && offsets.length === 2 ? offsets.map(asU64) : null;
  if (pair === null || pair[0] === null || pair[1] === null) {
    const shown = Array.isArray(offsets) ? `[${offsets.map(jsonText).join(', ')}]` : kindOf(offsets);
    throw new SafetensorsError(
      'invalid_offsets',
      `${fileName}: ${tensor} has data_offsets ${shown}, not two integers [begin, end]`,
    );
  }
  return { name, dtype, shape, begin: pair[0], end: pair[1] };
}

function jsonText(v: JsonValue): string {
  if (v instanceof JsonNumber) return v.text;
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return '[...]';
  if (v instanceof JsonObject) return '{...}';
  return String(v);
}

// ---- rules 6-10: layout ----

function validateLayout(fileName: string, raw: RawEntry[], headerLength: number, fileSize: number): HeaderEntry[] {
  const sorted = raw
    .map((e, i) => ({ e, i }))
    .sort((a, b) => cmp(a.e.begin, b.e.begin) || cmp(a.e.end, b.e.end) || a.i - b.i)
    .map((x) => x.e);

  let previousEnd = 0n;
  let previous: RawEntry | null = null;
  for (const e of sorted) {
    const tensor = JSON.stringify(e.name);
    // 6: contiguous, in order
    if (e.begin !== previousEnd) {
      const kind = e.begin > previousEnd ? 'gap' : 'overlap';
      const before = previous ? `the previous tensor ends at ${previousEnd}` : 'the data section starts at 0';
      throw new SafetensorsError(
        kind === 'gap' ? 'offset_gap' : 'offset_overlap',
        `${fileName}: data of ${tensor} starts at ${e.begin} but ${before} (${kind})`,
      );
    }
    if (e.end < e.begin) {
      throw new SafetensorsError(
        'offset_reversed',
        `${fileName}: data of ${tensor} ends at ${e.end}, before it starts at ${e.begin} (reversed offsets)`,
      );
    }
    // 7: element count and bit count fit in a u64, multiplied in order like checked_mul
    let count = 1n;
    for (const d of e.shape) {
      count *= d;
      if (count > U64_MAX) throw overflow(fileName, e);
    }
    const bits = count * BigInt(DTYPE_BITS[e.dtype]);
    if (bits > U64_MAX) throw overflow(fileName, e);
    // 8: whole bytes
    if (bits % 8n !== 0n) {
      throw new SafetensorsError(
        'partial_bits',
        `${fileName}: ${tensor} has ${count} ${e.dtype} elements = ${bits} bits, not a whole number of bytes`,
      );
    }
    // 9: the range holds exactly the tensor
    if (e.end - e.begin !== bits / 8n) {
      throw new SafetensorsError(
        'size_mismatch',
        `${fileName}: ${tensor} (${e.dtype} [${e.shape.join(', ')}]) needs ${bits / 8n} bytes but data_offsets [${e.begin}, ${e.end}] hold ${e.end - e.begin}`,
      );
    }
    previousEnd = e.end;
    previous = e;
  }

  // 10: the data section ends exactly at the end of the file
  const expected = 8n + BigInt(headerLength) + previousEnd;
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
    shape: e.shape.map(Number), // a dimension above 2^53 only occurs in an empty tensor
    dataOffsets: [Number(e.begin), Number(e.end)],
  }));
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function overflow(fileName: string, e: RawEntry): SafetensorsError {
  return new SafetensorsError(
    'shape_overflow',
    `${fileName}: ${JSON.stringify(e.name)} shape [${e.shape.join(', ')}] of ${e.dtype} overflows 64 bits`,
  );
}

/** Bytes of a tensor of this dtype and shape; throws RangeError when the bits are not whole bytes. */
export function tensorByteSize(dtype: DType, shape: readonly number[]): number {
  let count = 1;
  for (const d of shape) count *= d;
  const bits = count * DTYPE_BITS[dtype];
  if (bits % 8 !== 0) throw new RangeError(`${count} ${dtype} elements are ${bits} bits, not a whole number of bytes`);
  return bits / 8;
}

/** Number of elements of a shape (1 for a scalar). */
export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const d of shape) count *= d;
  return count;
}
