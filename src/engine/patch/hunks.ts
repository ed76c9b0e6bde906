// Hunk algebra on one tensor's bytes: building canonical hunks (maximal runs of changed
// units) from before/after byte blocks, composing two edit sequences, overlaying hunks on
// bytes read from a base, and describing where bytes disagree.

import type { DType } from '../../shared/dtypes';
import { dataViewOf, unitFormatter } from './rowText';
import { elementAtByte, unitOf, unravelIndex, type Hunk } from './types';

/** Sub-block size for the memcmp fast path; a multiple of every unit size (1, 2, 3, 4, 8). */
const SUB_BLOCK = 12288;

function equalBytes(a: Uint8Array, b: Uint8Array, start: number, end: number): boolean {
  return Buffer.compare(a.subarray(start, end), b.subarray(start, end)) === 0;
}

/**
 * Turns before/after byte blocks of one tensor, given in increasing offset order, into
 * canonical hunks: maximal runs of changed units; runs continue across adjacent blocks.
 */
export class HunkBuilder {
  private readonly hunks: Hunk[] = [];
  private runStart = -1;
  private runEnd = -1;
  private origPieces: Uint8Array[] = [];
  private replPieces: Uint8Array[] = [];
  private readonly unit: number;
  private lastEnd = 0;

  constructor(
    readonly tensor: string,
    dtype: DType,
  ) {
    this.unit = unitOf(dtype).bytes;
  }

  /**
   * Adds bytes [offset, offset + orig.length) of the tensor (offset and length whole units).
   * The blocks are copied where they changed, so callers may reuse their buffers.
   */
  add(offset: number, orig: Uint8Array, repl: Uint8Array): void {
    if (offset < this.lastEnd) throw new Error(`HunkBuilder: block at ${offset} before ${this.lastEnd}`);
    this.lastEnd = offset + orig.length;
    const u = this.unit;
    const n = orig.length;
    let seg = -1; // start of the current changed segment, block-relative
    for (let s = 0; s < n; s += SUB_BLOCK) {
      const e = Math.min(n, s + SUB_BLOCK);
      if (equalBytes(orig, repl, s, e)) {
        if (seg >= 0) this.append(offset, orig, repl, seg, s);
        seg = -1;
        continue;
      }
      for (let at = s; at < e; at += u) {
        let changed = false;
        for (let k = 0; k < u; k++) {
          if (orig[at + k] !== repl[at + k]) {
            changed = true;
            break;
          }
        }
        if (changed) {
          if (seg < 0) seg = at;
        } else if (seg >= 0) {
          this.append(offset, orig, repl, seg, at);
          seg = -1;
        }
      }
    }
    if (seg >= 0) this.append(offset, orig, repl, seg, n);
  }

  private append(offset: number, orig: Uint8Array, repl: Uint8Array, a: number, b: number): void {
    const start = offset + a;
    if (this.runStart >= 0 && this.runEnd !== start) this.close();
    if (this.runStart < 0) this.runStart = start;
    this.origPieces.push(orig.slice(a, b));
    this.replPieces.push(repl.slice(a, b));
    this.runEnd = offset + b;
  }

  private close(): void {
    if (this.runStart < 0) return;
    this.hunks.push({ tensor: this.tensor, offset: this.runStart, original: concat(this.origPieces), replacement: concat(this.replPieces) });
    this.runStart = this.runEnd = -1;
    this.origPieces = [];
    this.replPieces = [];
  }

  finish(): Hunk[] {
    this.close();
    return this.hunks;
  }
}

export function concat(pieces: Uint8Array[]): Uint8Array {
  if (pieces.length === 1) return pieces[0];
  let n = 0;
  for (const p of pieces) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Where the second of two composed edit sequences does not start from the first's result. */
export interface HunkMismatch {
  /** The later hunk whose original bytes do not match. */
  hunk: Hunk;
  /** Tensor-relative byte offset of the first differing unit. */
  at: number;
  expected: Uint8Array;
  found: Uint8Array;
}

/**
 * `later` applied after `earlier` on one tensor (both sorted, non-overlapping): canonical
 * hunks from the original base to the final bytes, plus every later hunk whose original
 * bytes differ from what `earlier` left there. Bytes changed back to the base drop out.
 */
export function composeTensorHunks(tensor: string, dtype: DType, earlier: Hunk[], later: Hunk[]): { hunks: Hunk[]; mismatches: HunkMismatch[] } {
  const all = [...earlier.map((h) => ({ h, first: true })), ...later.map((h) => ({ h, first: false }))].sort((x, y) => x.h.offset - y.h.offset);
  const builder = new HunkBuilder(tensor, dtype);
  const mismatches: HunkMismatch[] = [];
  let i = 0;
  while (i < all.length) {
    // A group: hunks whose byte ranges overlap or touch.
    const gs = all[i].h.offset;
    let ge = gs + all[i].h.original.length;
    let j = i + 1;
    while (j < all.length && all[j].h.offset <= ge) {
      ge = Math.max(ge, all[j].h.offset + all[j].h.original.length);
      j++;
    }
    const group = all.slice(i, j);
    const base = new Uint8Array(ge - gs);
    const cur = new Uint8Array(ge - gs);
    // Bytes only the later sequence covers start at its original bytes (the base, untouched
    // by the earlier one); the earlier sequence's bytes then override both.
    for (const { h, first } of group) {
      if (first) continue;
      base.set(h.original, h.offset - gs);
      cur.set(h.original, h.offset - gs);
    }
    for (const { h, first } of group) {
      if (!first) continue;
      base.set(h.original, h.offset - gs);
      cur.set(h.replacement, h.offset - gs);
    }
    for (const { h, first } of group) {
      if (first) continue;
      const at = h.offset - gs;
      const found = cur.subarray(at, at + h.original.length);
      const diff = firstDifference(h.original, found, unitOf(dtype).bytes);
      if (diff >= 0) mismatches.push({ hunk: h, at: h.offset + diff, expected: h.original, found: found.slice() });
      cur.set(h.replacement, at);
    }
    builder.add(gs, base, cur);
    i = j;
  }
  return { hunks: builder.finish(), mismatches };
}

/** Byte offset of the first unit where a and b differ, or -1. */
export function firstDifference(a: Uint8Array, b: Uint8Array, unit: number): number {
  const n = Math.min(a.length, b.length);
  for (let s = 0; s < n; s += SUB_BLOCK) {
    const e = Math.min(n, s + SUB_BLOCK);
    if (equalBytes(a, b, s, e)) continue;
    for (let k = s; k < e; k++) if (a[k] !== b[k]) return k - (k % unit);
  }
  return -1;
}

/** The inverse edits: original and new bytes swapped (arrays shared, not copied). */
export function invertHunk(h: Hunk): Hunk {
  return { tensor: h.tensor, offset: h.offset, original: h.replacement, replacement: h.original };
}

/**
 * Writes the `which` bytes of the hunks overlapping [start, start + bytes.length) of the
 * tensor into `bytes` (hunks sorted by offset).
 */
export function overlayHunks(hunks: readonly Hunk[], start: number, bytes: Uint8Array, which: 'replacement' | 'original' = 'replacement'): void {
  const end = start + bytes.length;
  // First hunk that ends after `start`.
  let lo = 0;
  let hi = hunks.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (hunks[mid].offset + hunks[mid].original.length <= start) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < hunks.length && hunks[i].offset < end; i++) {
    const h = hunks[i];
    const src = h[which];
    const a = Math.max(start, h.offset);
    const b = Math.min(end, h.offset + src.length);
    bytes.set(src.subarray(a - h.offset, b - h.offset), a - start);
  }
}

/**
 * One line about the first unit where `expected` and `found` (both at tensor byte offset
 * `offset`) differ: `element 18 [0, 18]: expected 2 (0040), found 3 (4040)`.
 */
export function describeDifference(dtype: DType, shape: readonly number[], offset: number, expected: Uint8Array, found: Uint8Array): string {
  const unit = unitOf(dtype);
  const d = firstDifference(expected, found, unit.bytes);
  if (d < 0) return 'no difference';
  const f = unitFormatter(dtype);
  const first = elementAtByte(dtype, offset + d);
  const where = unit.elements === 1 ? `element ${first}` : `elements ${first}:${first + unit.elements}`;
  const show = (bytes: Uint8Array) => `${f.text(bytes, d, dataViewOf(bytes))} (${f.hex(bytes, d)})`;
  return `${where} [${unravelIndex(first, shape).join(', ')}]: expected ${show(expected)}, found ${show(found)}`;
}
