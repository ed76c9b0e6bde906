// Small binary floating-point formats (16 bits and fewer) described by their fields, with
// exact conversion between bit patterns and doubles. Every value of these formats is exactly
// representable as a double (and as a float32), so decoding never rounds; encoding rounds to
// nearest, ties to even.
//
// Sources of the format definitions: IEEE 754 (F16), bfloat16 (BF16), the OCP 8-bit floating
// point spec (F8_E4M3 = float8_e4m3fn, F8_E5M2), the OCP MX spec (F8_E8M0 = float8_e8m0fnu,
// F6_E2M3, F6_E3M2, F4 = float4_e2m1fn) and Graphcore's FNUZ formats (F8_E4M3FNUZ,
// F8_E5M2FNUZ), as implemented by ml_dtypes / PyTorch.

import type { DType } from '../../shared/dtypes';

// ---- exact powers of two and binary exponents of doubles ----

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer); // little- or big-endian host: index by word below
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0; // word with the exponent

/** 2^k exactly, for integer k in [-1074, 1023]. */
export function pow2(k: number): number {
  if (k < -1022) return pow2(k + 200) * pow2(-200); // subnormal result: one exact multiply
  u32[HI] = (k + 1023) << 20;
  u32[1 - HI] = 0;
  return f64[0];
}

/** floor(log2(a)) exactly, for finite a > 0 (subnormal doubles included). */
export function floorLog2(a: number): number {
  f64[0] = a;
  const biased = (u32[HI] >>> 20) & 0x7ff;
  if (biased !== 0) return biased - 1023;
  return floorLog2(a * pow2(200)) - 200; // subnormal double
}

/** How a format spells NaN. */
export type NanEncoding =
  /** IEEE: all-ones exponent with a nonzero mantissa (all-ones exponent, zero mantissa = inf). */
  | 'ieee'
  /** Only the all-ones exponent-and-mantissa pattern, either sign (float8_e4m3fn; e8m0: 0xFF). */
  | 'all-ones'
  /** Only the "negative zero" pattern 0x80 (FNUZ formats: no -0, no inf). */
  | 'negative-zero'
  /** No NaN at all (MX F6 / F4). */
  | 'none';

export interface FloatFormat {
  dtype: DType;
  bits: number;
  expBits: number;
  manBits: number;
  bias: number;
  /** false only for F8_E8M0, which is a bare exponent: 2^(e - 127), no sign, no zero. */
  signed: boolean;
  /** IEEE-style ±infinity exists (F16, BF16, F8_E5M2). */
  hasInf: boolean;
  nan: NanEncoding;
  /** Largest finite value. */
  max: number;
  /** Exponent of the smallest normal value (1 - bias); for F8_E8M0 (no subnormals) of its smallest value. */
  emin: number;
  /** Bit pattern written for NaN (null when the format has none). */
  nanBits: number | null;
}

function makeFormat(
  dtype: DType,
  expBits: number,
  manBits: number,
  bias: number,
  opts: { signed?: boolean; hasInf: boolean; nan: NanEncoding },
): FloatFormat {
  const signed = opts.signed ?? true;
  const bits = (signed ? 1 : 0) + expBits + manBits;
  const expAllOnes = (1 << expBits) - 1;
  const manAllOnes = (1 << manBits) - 1;
  let max: number;
  let nanBits: number | null;
  switch (opts.nan) {
    case 'ieee': // top exponent reserved for inf/NaN
      max = (2 - pow2(-manBits)) * pow2(expAllOnes - 1 - bias);
      nanBits = (expAllOnes << manBits) | (1 << (manBits - 1)); // quiet NaN
      break;
    case 'all-ones': // only S.1111.111 is NaN, so the top exponent has one value fewer
      max = manBits === 0 ? pow2(expAllOnes - 1 - bias) : (2 - pow2(1 - manBits)) * pow2(expAllOnes - bias);
      nanBits = (expAllOnes << manBits) | manAllOnes;
      break;
    case 'negative-zero':
      max = (2 - pow2(-manBits)) * pow2(expAllOnes - bias);
      nanBits = 1 << (bits - 1);
      break;
    case 'none':
      max = (2 - pow2(-manBits)) * pow2(expAllOnes - bias);
      nanBits = null;
      break;
  }
  const emin = signed ? 1 - bias : -bias; // e8m0: its smallest value 2^-127 has exponent field 0
  return { dtype, bits, expBits, manBits, bias, signed, hasInf: opts.hasInf, nan: opts.nan, max, emin, nanBits };
}

export const FLOAT_FORMATS = {
  F16: makeFormat('F16', 5, 10, 15, { hasInf: true, nan: 'ieee' }),
  BF16: makeFormat('BF16', 8, 7, 127, { hasInf: true, nan: 'ieee' }),
  F8_E5M2: makeFormat('F8_E5M2', 5, 2, 15, { hasInf: true, nan: 'ieee' }),
  F8_E4M3: makeFormat('F8_E4M3', 4, 3, 7, { hasInf: false, nan: 'all-ones' }),
  F8_E8M0: makeFormat('F8_E8M0', 8, 0, 127, { signed: false, hasInf: false, nan: 'all-ones' }),
  F8_E4M3FNUZ: makeFormat('F8_E4M3FNUZ', 4, 3, 8, { hasInf: false, nan: 'negative-zero' }),
  F8_E5M2FNUZ: makeFormat('F8_E5M2FNUZ', 5, 2, 16, { hasInf: false, nan: 'negative-zero' }),
  F6_E2M3: makeFormat('F6_E2M3', 2, 3, 1, { hasInf: false, nan: 'none' }),
  F6_E3M2: makeFormat('F6_E3M2', 3, 2, 3, { hasInf: false, nan: 'none' }),
  F4: makeFormat('F4', 2, 1, 1, { hasInf: false, nan: 'none' }),
} satisfies Partial<Record<DType, FloatFormat>>;

export type SmallFloatDType = keyof typeof FLOAT_FORMATS;

export function isSmallFloat(dtype: DType): dtype is SmallFloatDType {
  return Object.prototype.hasOwnProperty.call(FLOAT_FORMATS, dtype);
}

// ---- bits -> value ----

/** The exact value of one bit pattern (sign in the top bit of `bits`, low `format.bits` bits used). */
export function decodeFloatBits(format: FloatFormat, bits: number): number {
  const { expBits, manBits, bias } = format;
  const manMask = (1 << manBits) - 1;
  const expMask = (1 << expBits) - 1;
  const negative = format.signed && ((bits >>> (expBits + manBits)) & 1) === 1;
  const e = (bits >>> manBits) & expMask;
  const m = bits & manMask;
  switch (format.nan) {
    case 'ieee':
      if (e === expMask) return m !== 0 ? NaN : negative ? -Infinity : Infinity;
      break;
    case 'all-ones':
      if (e === expMask && m === manMask) return NaN;
      break;
    case 'negative-zero':
      if (negative && e === 0 && m === 0) return NaN;
      break;
    case 'none':
      break;
  }
  let value: number;
  if (!format.signed) value = pow2(e - bias); // e8m0: a bare exponent
  else if (e === 0) value = m * pow2(1 - bias - manBits); // zero / subnormal
  else value = ((1 << manBits) + m) * pow2(e - bias - manBits);
  return negative ? -value : value;
}

// ---- value -> rounded value -> bits ----

function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * The value of `format` nearest to x (ties to even). Overflow: formats with infinity round to
 * ±inf as IEEE does; formats without infinity saturate to ±max (like the "satfinite"
 * conversions of GPUs and the OCP MX spec's recommendation; ml_dtypes/PyTorch casts give NaN
 * instead), and so does ±inf. NaN stays NaN (the caller rejects it for formats without NaN).
 * F8_E8M0 has no zero and no sign: anything below 2^-127 (zero and negatives included) gives 2^-127.
 * FNUZ formats have no -0: a result of -0 is +0.
 */
export function roundToFormat(format: FloatFormat, x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (!format.signed) return roundUnsignedExponent(format, x);
  const negative = x < 0 || Object.is(x, -0);
  const a = Math.abs(x);
  let r: number;
  if (a === Infinity) r = format.hasInf ? Infinity : format.max;
  else if (a === 0) r = 0;
  else {
    const quantumExp = Math.max(floorLog2(a), format.emin) - format.manBits;
    r = roundHalfEven(a * pow2(-quantumExp)) * pow2(quantumExp);
    if (r > format.max) r = format.hasInf ? Infinity : format.max;
  }
  if (negative && !(r === 0 && format.nan === 'negative-zero')) return -r;
  return r;
}

function roundUnsignedExponent(format: FloatFormat, x: number): number {
  const lo = pow2(format.emin); // 2^-127
  if (!(x > lo)) return lo;
  if (x >= format.max) return format.max;
  const k = floorLog2(x);
  const below = pow2(k);
  if (x === below) return x;
  const mid = below * 1.5;
  if (x < mid) return below;
  if (x > mid) return below * 2;
  return (k + format.bias) % 2 === 0 ? below : below * 2; // tie: even exponent field
}

/** Bit pattern of a value that is exactly representable in `format` (see roundToFormat), or NaN. */
export function encodeFloatBits(format: FloatFormat, v: number): number {
  if (Number.isNaN(v)) {
    if (format.nanBits === null) throw new RangeError(`${format.dtype} has no NaN`);
    return format.nanBits;
  }
  const { expBits, manBits, bias } = format;
  const signBit = format.signed && (v < 0 || Object.is(v, -0)) ? 1 << (expBits + manBits) : 0;
  const a = Math.abs(v);
  if (a === Infinity) return signBit | (((1 << expBits) - 1) << manBits);
  if (a === 0) return format.nan === 'negative-zero' ? 0 : signBit; // FNUZ: 0x80 is NaN, not -0
  const k = floorLog2(a);
  if (!format.signed) return k + bias;
  if (k < format.emin) return signBit | (a * pow2(manBits - format.emin)); // subnormal: exponent field 0
  const mantissa = a * pow2(manBits - k) - (1 << manBits);
  return signBit | ((k + bias) << manBits) | mantissa;
}
