// The 22 safetensors dtypes and their sizes. No runtime dependencies: imported by all three processes.

export const DTYPE_BITS = {
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  BOOL: 8,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  F8_E4M3FNUZ: 8,
  F8_E5M2FNUZ: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  C64: 64,
  F64: 64,
  I64: 64,
  U64: 64,
} as const;

export type DType = keyof typeof DTYPE_BITS;

export const DTYPES = Object.keys(DTYPE_BITS) as DType[];

export function isDType(s: string): s is DType {
  return Object.prototype.hasOwnProperty.call(DTYPE_BITS, s);
}

/** Sub-byte dtypes are packed: an element does not start on a byte boundary. */
export function isPacked(dtype: DType): boolean {
  return DTYPE_BITS[dtype] < 8 && dtype !== 'BOOL';
}
