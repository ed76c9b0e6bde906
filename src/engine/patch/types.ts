// The in-memory form of a .stpatch (docs/stpatch.md): exact byte edits of a model's tensors,
// each hunk keeping its original bytes so a patch can be verified, reverted and composed.

import { DTYPE_BITS, type DType } from '../../shared/dtypes';

export const STPATCH_VERSION = 1;

/** One file of the base model, identified by content. */
export interface BaseFile {
  /** Shard name as in the index's weight_map; null for a single-file base. */
  name: string | null;
  size: number;
  /** SHA-256 (hex) of the file's first 8 + N bytes: header length and JSON header. */
  headerSha256: string;
}

/** Where a tensor lives: enough to address, decode and index its bytes without the base. */
export interface TensorRef {
  name: string;
  dtype: DType;
  shape: number[];
  /** Index into Patch.base (always 0 for a single-file base). */
  fileIndex: number;
  /** Absolute file offset of the tensor's first byte. */
  fileOffset: number;
}

/** A touched tensor: its place, the hashes of its bytes before and after, and what was done. */
export interface PatchTensor extends TensorRef {
  baseSha256: string;
  resultSha256: string;
  /** Descriptive `# op:` lines, in the order the edits were made; never executed. */
  ops: string[];
}

/** A contiguous run of changed bytes of one tensor (whole units, see unitOf). */
export interface Hunk {
  tensor: string;
  /** Byte offset relative to the tensor's first byte. */
  offset: number;
  original: Uint8Array;
  replacement: Uint8Array;
}

export interface Patch {
  base: BaseFile[];
  /** Sorted by name. */
  tensors: PatchTensor[];
  /** Sorted by tensor name, then offset; non-overlapping. */
  hunks: Hunk[];
}

/**
 * Edits without hashes: what an edit op produces and the editor keeps on its undo stack.
 * `tensors` describes every tensor the hunks name.
 */
export interface PatchFragment {
  tensors: TensorRef[];
  hunks: Hunk[];
  /** Descriptive op lines per tensor name. */
  ops: { tensor: string; text: string }[];
}

/** Where a patch does not fit its base. */
export interface Conflict {
  /** Tensor name, or null for a file-level problem (size, header hash). */
  tensor: string | null;
  /** Element range [start, end) of the hunk, when the conflict is in a hunk. */
  elements?: [number, number];
  /** One line: what was expected and what was found. */
  message: string;
}

/**
 * The smallest whole-byte group of elements: hunks start and end on unit boundaries.
 * F4: 1 byte = 2 elements; F6: 3 bytes = 4 elements; everything else one element.
 */
export interface Unit {
  bytes: number;
  elements: number;
}

export function unitOf(dtype: DType): Unit {
  const bits = DTYPE_BITS[dtype];
  if (bits === 4) return { bytes: 1, elements: 2 };
  if (bits === 6) return { bytes: 3, elements: 4 };
  return { bytes: bits / 8, elements: 1 };
}

/** Bytes per hex row of a hunk: rows sit on a tensor-relative grid of this many bytes. */
export function rowBytes(dtype: DType): number {
  return DTYPE_BITS[dtype] === 6 ? 12 : 16;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function tensorByteLength(t: Pick<TensorRef, 'dtype' | 'shape'>): number {
  return (numel(t.shape) * DTYPE_BITS[t.dtype]) / 8;
}

/** Flat (row-major) element index of the first element of the unit at `byteOffset`. */
export function elementAtByte(dtype: DType, byteOffset: number): number {
  const u = unitOf(dtype);
  return (byteOffset / u.bytes) * u.elements;
}

/** N-D index of flat element `index` in a row-major tensor of `shape`. */
export function unravelIndex(index: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let rest = index;
  for (let d = shape.length - 1; d >= 0; d--) {
    const size = shape[d];
    out[d] = size === 0 ? 0 : rest % size;
    rest = size === 0 ? 0 : Math.floor(rest / size);
  }
  return out;
}

/** Element range [start, end) a hunk covers. */
export function hunkElements(dtype: DType, h: Pick<Hunk, 'offset' | 'original'>): [number, number] {
  return [elementAtByte(dtype, h.offset), elementAtByte(dtype, h.offset + h.original.length)];
}

/** JavaScript's default string order, spelled out: patches sort tensors by it. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareHunks(a: Hunk, b: Hunk): number {
  return compareNames(a.tensor, b.tensor) || a.offset - b.offset;
}
