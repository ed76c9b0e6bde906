// Decoding tensor bytes (little-endian, as safetensors stores them) into numbers and exact text.
//
// Bulk decoding is the hot path of statistics and tiles, so each dtype has a fast path:
// typed-array views for the plain numeric types (copied first when the bytes are not aligned),
// BF16 by shifting into float32 bits, F16 through a 65536-entry table, every 8-bit float through
// a 256-entry table and the packed F6/F4 through 64/16-entry tables.
//
// Packed sub-byte dtypes (F4, F6_E2M3, F6_E3M2) are a little-endian bit stream: element i
// occupies bits [i*b, (i+1)*b) counting from the least-significant bit of byte 0. For F4 this
// puts element 0 in the LOW nibble of byte 0, which is PyTorch's float4_e2m1fn_x2 layout
// ("val1 : val0" = bits 7654 : 3210). For F6 (no reference layout exists) it means 4 elements
// per 3 bytes read as one little-endian 24-bit word, element 0 in bits 0..5.

import { DTYPE_BITS, type DType } from '../../shared/dtypes';
import { FLOAT_FORMATS, decodeFloatBits, isSmallFloat, type SmallFloatDType } from './formats';

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---- element location ----

/** Where element `index` lives relative to the tensor's first byte. */
export function elementLocation(dtype: DType, index: number): { byteStart: number; byteEnd: number; bitOffset: number } {
  const bits = DTYPE_BITS[dtype];
  const firstBit = index * bits;
  const byteStart = Math.floor(firstBit / 8);
  return { byteStart, byteEnd: Math.ceil((firstBit + bits) / 8), bitOffset: firstBit - byteStart * 8 };
}

/** Bytes needed to hold `count` elements starting `bitOffset` bits into the first byte. */
export function bytesSpanned(dtype: DType, bitOffset: number, count: number): number {
  return count === 0 ? 0 : Math.ceil((bitOffset + count * DTYPE_BITS[dtype]) / 8);
}

// ---- lookup tables for small floats (built on first use) ----

const tables = new Map<SmallFloatDType, Float32Array>();

/** value of every bit pattern of a small float dtype; every value is exact in float32. */
export function smallFloatTable(dtype: SmallFloatDType): Float32Array {
  let table = tables.get(dtype);
  if (!table) {
    const format = FLOAT_FORMATS[dtype];
    table = new Float32Array(1 << format.bits);
    for (let b = 0; b < table.length; b++) table[b] = decodeFloatBits(format, b);
    tables.set(dtype, table);
  }
  return table;
}

// ---- bulk decoding ----

type Out = Float64Array | Float32Array;

type ViewCtor<T> = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): T; BYTES_PER_ELEMENT: number };

/** A typed view of the first `count` elements, copying the bytes when they are not aligned. */
function alignedView<T>(Ctor: ViewCtor<T>, bytes: Uint8Array, count: number, elementBytes = Ctor.BYTES_PER_ELEMENT): T {
  const n = count * elementBytes;
  const length = n / Ctor.BYTES_PER_ELEMENT;
  if (bytes.byteOffset % Ctor.BYTES_PER_ELEMENT === 0) return new Ctor(bytes.buffer, bytes.byteOffset, length);
  const copy = new Uint8Array(n);
  copy.set(bytes.subarray(0, n));
  return new Ctor(copy.buffer, 0, length);
}

const CHUNK = 16384;
const scratchU32 = new Uint32Array(CHUNK);
const scratchF32 = new Float32Array(scratchU32.buffer);

/**
 * Decode `count` elements into out[outOffset..]. `bytes` starts at the byte holding the first
 * element; bitOffset (0..7) is the first element's bit position inside bytes[0] (nonzero only
 * for packed F4/F6). C64 decodes to the modulus |z|, BOOL to 0/1 (any nonzero byte is true),
 * I64/U64 to the nearest double.
 */
export function decodeElements(dtype: DType, bytes: Uint8Array, bitOffset: number, count: number, out: Out, outOffset = 0): void {
  if (count === 0) return;
  const needed = bytesSpanned(dtype, bitOffset, count);
  if (bytes.length < needed) throw new RangeError(`decodeElements: ${count} ${dtype} elements need ${needed} bytes, got ${bytes.length}`);
  if (outOffset + count > out.length) throw new RangeError(`decodeElements: output too short for ${count} elements`);
  if (!HOST_LITTLE_ENDIAN) return decodeScalar(dtype, bytes, bitOffset, count, out, outOffset);
  switch (dtype) {
    case 'F64':
      return out.set(alignedView(Float64Array, bytes, count), outOffset);
    case 'F32':
      return out.set(alignedView(Float32Array, bytes, count), outOffset);
    case 'I32':
      return out.set(alignedView(Int32Array, bytes, count), outOffset);
    case 'U32':
      return out.set(alignedView(Uint32Array, bytes, count), outOffset);
    case 'I16':
      return out.set(alignedView(Int16Array, bytes, count), outOffset);
    case 'U16':
      return out.set(alignedView(Uint16Array, bytes, count), outOffset);
    case 'I8':
      return out.set(new Int8Array(bytes.buffer, bytes.byteOffset, count), outOffset);
    case 'U8':
      return out.set(bytes.subarray(0, count), outOffset);
    case 'BOOL':
      for (let i = 0; i < count; i++) out[outOffset + i] = bytes[i] !== 0 ? 1 : 0;
      return;
    case 'BF16':
      return decodeBF16(bytes, count, out, outOffset);
    case 'I64':
    case 'U64':
      return decode64BitInts(dtype === 'I64', bytes, count, out, outOffset);
    case 'C64':
      return decodeComplexModulus(bytes, count, out, outOffset);
    case 'F16': {
      const table = smallFloatTable('F16');
      const src = alignedView(Uint16Array, bytes, count);
      for (let i = 0; i < count; i++) out[outOffset + i] = table[src[i]];
      return;
    }
    case 'F8_E5M2':
    case 'F8_E4M3':
    case 'F8_E8M0':
    case 'F8_E4M3FNUZ':
    case 'F8_E5M2FNUZ': {
      const table = smallFloatTable(dtype);
      for (let i = 0; i < count; i++) out[outOffset + i] = table[bytes[i]];
      return;
    }
    case 'F4':
    case 'F6_E2M3':
    case 'F6_E3M2':
      return decodePacked(dtype, bytes, bitOffset, count, out, outOffset);
  }
}

function decodeBF16(bytes: Uint8Array, count: number, out: Out, outOffset: number): void {
  const src = alignedView(Uint16Array, bytes, count);
  if (out instanceof Float32Array) {
    // Write float32 bit patterns straight into the output.
    const dst = new Uint32Array(out.buffer, out.byteOffset + outOffset * 4, count);
    for (let i = 0; i < count; i++) dst[i] = src[i] << 16;
    return;
  }
  for (let start = 0; start < count; start += CHUNK) {
    const n = Math.min(CHUNK, count - start);
    for (let i = 0; i < n; i++) scratchU32[i] = src[start + i] << 16;
    out.set(n === CHUNK ? scratchF32 : scratchF32.subarray(0, n), outOffset + start);
  }
}

function decode64BitInts(signed: boolean, bytes: Uint8Array, count: number, out: Out, outOffset: number): void {
  // hi * 2^32 + lo: both terms are exact doubles, so the one addition rounds once, to nearest.
  const lo = alignedView(Uint32Array, bytes, count, 8);
  const hi = signed ? new Int32Array(lo.buffer, lo.byteOffset, lo.length) : lo;
  for (let i = 0; i < count; i++) out[outOffset + i] = hi[2 * i + 1] * 4294967296 + lo[2 * i];
}

function decodeComplexModulus(bytes: Uint8Array, count: number, out: Out, outOffset: number): void {
  const parts = alignedView(Float32Array, bytes, count, 8);
  for (let i = 0; i < count; i++) out[outOffset + i] = complexModulus(parts[2 * i], parts[2 * i + 1]);
}

/** |re + im j| of float32 parts: their squares are exact doubles, so one sqrt of their sum is within an ulp. */
function complexModulus(re: number, im: number): number {
  const m = Math.sqrt(re * re + im * im);
  return Number.isFinite(m) ? m : Math.hypot(re, im); // |inf + NaN j| = inf
}

function decodePacked(dtype: 'F4' | 'F6_E2M3' | 'F6_E3M2', bytes: Uint8Array, bitOffset: number, count: number, out: Out, outOffset: number): void {
  const table = smallFloatTable(dtype);
  if (dtype === 'F4') return decodeF4(table, bytes, bitOffset, count, out, outOffset);
  const bits = DTYPE_BITS[dtype];
  const mask = (1 << bits) - 1;
  let at = 0;
  let shift = bitOffset;
  for (let i = 0; i < count; i++) {
    let word = bytes[at] >>> shift;
    if (shift + bits > 8) word |= bytes[at + 1] << (8 - shift);
    out[outOffset + i] = table[word & mask];
    shift += bits;
    if (shift >= 8) {
      shift -= 8;
      at++;
    }
  }
}

/** F4: two elements per byte, low nibble first. */
function decodeF4(table: Float32Array, bytes: Uint8Array, bitOffset: number, count: number, out: Out, outOffset: number): void {
  let i = 0;
  let at = 0;
  if (bitOffset === 4) {
    out[outOffset] = table[bytes[0] >>> 4];
    i = 1;
    at = 1;
  }
  for (; i + 1 < count; i += 2, at++) {
    const b = bytes[at];
    out[outOffset + i] = table[b & 15];
    out[outOffset + i + 1] = table[b >>> 4];
  }
  if (i < count) out[outOffset + i] = table[bytes[at] & 15];
}

function decodeScalar(dtype: DType, bytes: Uint8Array, bitOffset: number, count: number, out: Out, outOffset: number): void {
  const bits = DTYPE_BITS[dtype];
  for (let i = 0; i < count; i++) {
    const firstBit = bitOffset + i * bits;
    const byte = Math.floor(firstBit / 8);
    out[outOffset + i] = elementValue(dtype, bytes.subarray(byte), firstBit - byte * 8);
  }
}

// ---- one element ----

/** Raw code of a small float element (bit pattern in the low bits). */
export function elementCode(dtype: DType, bytes: Uint8Array, bitOffset: number): number {
  const bits = DTYPE_BITS[dtype];
  if (bits === 16) return bytes[0] | (bytes[1] << 8);
  if (bits === 8) return bytes[0];
  let word = bytes[0] >>> bitOffset;
  if (bitOffset + bits > 8) word |= bytes[1] << (8 - bitOffset);
  return word & ((1 << bits) - 1);
}

function dataView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Value of one element (same conventions as decodeElements), decoded without tables. */
export function elementValue(dtype: DType, bytes: Uint8Array, bitOffset = 0): number {
  if (isSmallFloat(dtype)) return decodeFloatBits(FLOAT_FORMATS[dtype], elementCode(dtype, bytes, bitOffset));
  const v = dataView(bytes);
  switch (dtype) {
    case 'BOOL':
      return bytes[0] !== 0 ? 1 : 0;
    case 'U8':
      return bytes[0];
    case 'I8':
      return v.getInt8(0);
    case 'I16':
      return v.getInt16(0, true);
    case 'U16':
      return v.getUint16(0, true);
    case 'I32':
      return v.getInt32(0, true);
    case 'U32':
      return v.getUint32(0, true);
    case 'F32':
      return v.getFloat32(0, true);
    case 'F64':
      return v.getFloat64(0, true);
    case 'I64':
      return Number(v.getBigInt64(0, true));
    case 'U64':
      return Number(v.getBigUint64(0, true));
    case 'C64':
      return complexModulus(v.getFloat32(0, true), v.getFloat32(4, true));
  }
}

/** Shortest text that reads back as exactly this double; "-0" keeps its sign. */
export function formatDouble(x: number): string {
  return Object.is(x, -0) ? '-0' : String(x);
}

/**
 * Exact text of one element, no precision lost: "NaN", "Infinity", "-Infinity", "-0"; floats
 * as the shortest decimal that reads back as the same double (every F32 and smaller float is
 * exactly a double); I64/U64 exact; C64 as "1.5+2j" / "1.5-2j"; BOOL as "true" / "false".
 */
export function elementText(dtype: DType, bytes: Uint8Array, bitOffset = 0): string {
  const v = dataView(bytes);
  switch (dtype) {
    case 'BOOL':
      return bytes[0] !== 0 ? 'true' : 'false';
    case 'I64':
      return v.getBigInt64(0, true).toString();
    case 'U64':
      return v.getBigUint64(0, true).toString();
    case 'C64': {
      const re = v.getFloat32(0, true);
      const im = v.getFloat32(4, true);
      const imText = formatDouble(im);
      return `${formatDouble(re)}${imText.startsWith('-') ? '' : '+'}${imText}j`;
    }
    default:
      return formatDouble(elementValue(dtype, bytes, bitOffset));
  }
}
