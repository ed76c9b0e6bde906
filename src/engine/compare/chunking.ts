// How the compare and textconv passes cut a tensor into pieces.
// A read chunk is large (a few MiB) so that the byte comparison and the hash run at disk
// speed; it is decoded in small batches so that the float64 scratch stays in cache and a
// 4-bit dtype does not need 16x its bytes in memory. Both are whole numbers of elements
// (for packed dtypes a multiple of 3 bytes: 24 bits hold whole F4 and F6 elements).

import { DTYPE_BITS, type DType } from '../../shared/dtypes';

/** Elements decoded at once: 64 Ki float64 = 512 KiB, comfortably inside L2. */
export const DECODE_BATCH = 1 << 16;

const TARGET_CHUNK_BYTES = 4 << 20;

/** Bytes in one decode batch of this dtype (a whole number: 2^16 elements x bits / 8). */
export function batchBytes(dtype: DType): number {
  return (DECODE_BATCH * DTYPE_BITS[dtype]) / 8;
}

/** Bytes read at once for this dtype: a whole number of decode batches, about 4 MiB. */
export function chunkBytes(dtype: DType): number {
  const batch = batchBytes(dtype);
  return batch * Math.max(1, Math.floor(TARGET_CHUNK_BYTES / batch));
}

/** The largest chunk of any dtype, for allocating reusable buffers once. */
export const MAX_CHUNK_BYTES = Math.max(...Object.keys(DTYPE_BITS).map((d) => chunkBytes(d as DType)));

/** Elements in `bytes` bytes of this dtype (bytes is a whole number of elements). */
export function elementsIn(dtype: DType, bytes: number): number {
  return Math.floor((bytes * 8) / DTYPE_BITS[dtype]);
}
