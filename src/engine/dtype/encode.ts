// Rounding doubles to a dtype and writing their bits (little-endian), for edits.
//
// Rounding is to nearest, ties to even, for every dtype (integers too: 2.5 -> 2).
// Out of range: F32/F16/BF16/F8_E5M2 overflow to ±Infinity as IEEE does; formats without
// infinity (F8_E4M3, FNUZ, F6, F4) and integers saturate to their largest / smallest value,
// ±Infinity included. F8_E8M0 (positive powers of two only) clamps to [2^-127, 2^127].
// NaN is kept where the format has one and rejected (UserError) where it has not (F4, F6,
// integers, BOOL). C64 stores the value as the real part with a zero imaginary part, and its
// stored value is reported as the modulus, as decoding does.

import { DTYPE_BITS, type DType } from '../../shared/dtypes';
import { UserError } from '../errors';
import { FLOAT_FORMATS, encodeFloatBits, isSmallFloat, roundToFormat } from './formats';

const INT_RANGES: Partial<Record<DType, [number, number]>> = {
  I8: [-128, 127],
  U8: [0, 255],
  I16: [-32768, 32767],
  U16: [0, 65535],
  I32: [-2147483648, 2147483647],
  U32: [0, 4294967295],
  // As doubles: 2^63 - 1 and 2^64 - 1 round to 2^63 and 2^64 (the BigInt write clamps exactly).
  I64: [-(2 ** 63), 2 ** 63],
  U64: [0, 2 ** 64],
};

function roundHalfEvenInt(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

function noNaN(dtype: DType): never {
  throw new UserError(`${dtype} cannot hold NaN`);
}

/** The value actually stored when `value` is written as `dtype` (see the rules above). */
export function roundToDType(dtype: DType, value: number): number {
  if (isSmallFloat(dtype)) {
    const format = FLOAT_FORMATS[dtype];
    if (Number.isNaN(value) && format.nanBits === null) noNaN(dtype);
    return roundToFormat(format, value);
  }
  switch (dtype) {
    case 'F64':
      return value;
    case 'F32':
      return Math.fround(value);
    case 'C64':
      return Math.abs(Math.fround(value));
    case 'BOOL':
      if (Number.isNaN(value)) noNaN(dtype);
      return value !== 0 ? 1 : 0;
    default: {
      if (Number.isNaN(value)) noNaN(dtype);
      const [lo, hi] = INT_RANGES[dtype]!;
      if (value <= lo) return lo;
      if (value >= hi) return hi;
      return roundHalfEvenInt(value) + 0; // + 0 turns -0 into 0
    }
  }
}

/** Write `value`, rounded to `dtype`, into bytes[0..] (bitOffset: position inside bytes[0] of packed F4/F6). */
export function encodeElement(dtype: DType, value: number, bytes: Uint8Array, bitOffset = 0): void {
  const stored = roundToDType(dtype, value);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (isSmallFloat(dtype)) {
    const code = encodeFloatBits(FLOAT_FORMATS[dtype], stored);
    const bits = DTYPE_BITS[dtype];
    if (bits === 16) v.setUint16(0, code, true);
    else if (bits === 8) bytes[0] = code;
    else writePacked(bytes, bitOffset, bits, code);
    return;
  }
  switch (dtype) {
    case 'F64':
      return v.setFloat64(0, stored, true);
    case 'F32':
      return v.setFloat32(0, stored, true);
    case 'C64':
      v.setFloat32(0, value, true);
      return v.setFloat32(4, 0, true);
    case 'BOOL':
    case 'U8':
      bytes[0] = stored;
      return;
    case 'I8':
      return v.setInt8(0, stored);
    case 'I16':
      return v.setInt16(0, stored, true);
    case 'U16':
      return v.setUint16(0, stored, true);
    case 'I32':
      return v.setInt32(0, stored, true);
    case 'U32':
      return v.setUint32(0, stored, true);
    case 'I64': {
      const b = BigInt(stored);
      return v.setBigInt64(0, b > 0x7fffffffffffffffn ? 0x7fffffffffffffffn : b, true);
    }
    case 'U64': {
      const b = BigInt(stored);
      return v.setBigUint64(0, b > 0xffffffffffffffffn ? 0xffffffffffffffffn : b, true);
    }
  }
}

/** Replace `bits` bits at bit position `bitOffset` of the little-endian bit stream `bytes`. */
function writePacked(bytes: Uint8Array, bitOffset: number, bits: number, code: number): void {
  const mask = (1 << bits) - 1;
  bytes[0] = (bytes[0] & ~(mask << bitOffset)) | ((code << bitOffset) & 0xff);
  if (bitOffset + bits > 8) {
    const spill = 8 - bitOffset; // bits already written into bytes[0]
    bytes[1] = (bytes[1] & ~(mask >>> spill)) | (code >>> spill);
  }
}
