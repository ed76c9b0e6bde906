// Does a patch fit a base? Compares the base lines (file sizes, header hashes), each touched
// tensor's place, each hunk's original bytes and, when asked, each touched tensor's SHA-256.
// Reads only what the patch touches (hunk bytes by positional reads; whole touched tensors
// only when hashing).

import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { UserError } from '../errors';
import type { TensorInfo } from '../../shared/protocol';
import type { Model } from '../safetensors/model';
import { hashTensor, readBaseFiles, tensorBytes } from './base';
import { describeDifference, firstDifference } from './hunks';
import { hunkElements, unitOf, type Conflict, type Hunk, type Patch, type PatchTensor } from './types';

export interface CheckOptions {
  /** Only tensors whose names pass (the `--only GLOB` of apply). */
  only?: (name: string) => boolean;
  /** Also hash every selected tensor against base-sha256 / result-sha256 (verify). */
  hashes?: boolean;
}

export interface CheckResult {
  /** Every selected hunk finds its original bytes (and hashes match, when checked). */
  clean: boolean;
  /** Every selected hunk finds its new bytes (and result hashes match, when checked). */
  alreadyApplied: boolean;
  conflicts: Conflict[];
  /** The tensors and hunks that were selected. */
  tensors: PatchTensor[];
  hunks: Hunk[];
}

/** Hunks closer than this are checked with one read (reading through a gap is cheaper than another call). */
const READ_GAP = 16 << 10;
const READ_MAX = 8 << 20;

export async function checkPatch(model: Model, patch: Patch, options: CheckOptions = {}): Promise<CheckResult> {
  const conflicts: Conflict[] = [];
  const modelName = nodePath.basename(model.info.path);
  const only = options.only ?? (() => true);
  const tensors = patch.tensors.filter((t) => only(t.name));
  const selected = new Set(tensors.map((t) => t.name));
  const hunks = patch.hunks.filter((h) => selected.has(h.tensor));

  // Files: sizes and header hashes pin the layout.
  const base = await readBaseFiles(model);
  if (base.length !== patch.base.length) {
    conflicts.push({ tensor: null, message: `the patch is for a model of ${patch.base.length} file(s); ${modelName} has ${base.length}` });
    return { clean: false, alreadyApplied: false, conflicts, tensors, hunks };
  }
  patch.base.forEach((want, i) => {
    const have = base[i];
    const label = want.name ?? modelName;
    if (want.name !== have.name) conflicts.push({ tensor: null, message: `base file ${i} is ${JSON.stringify(want.name)} in the patch but ${JSON.stringify(have.name)} here` });
    else if (want.size !== have.size) conflicts.push({ tensor: null, message: `${label}: the patch's base is ${want.size} bytes, this file is ${have.size}` });
    else if (want.headerSha256 !== have.headerSha256) conflicts.push({ tensor: null, message: `${label}: header differs from the patch's base (header-sha256 ${short(want.headerSha256)}, found ${short(have.headerSha256)})` });
  });

  // Tensors: same place, dtype and shape.
  const infos = new Map<string, TensorInfo>();
  const modelTensors = new Map(model.info.tensors.map((x) => [x.name, x]));
  for (const t of tensors) {
    const info = modelTensors.get(t.name);
    const where = `${t.dtype} [${t.shape.join(', ')}] at ${t.fileOffset}`;
    if (!info) {
      conflicts.push({ tensor: t.name, message: `no such tensor in ${modelName}` });
    } else if (info.dtype !== t.dtype || info.shape.join() !== t.shape.join() || info.fileOffset !== t.fileOffset || info.fileIndex !== t.fileIndex) {
      conflicts.push({ tensor: t.name, message: `is ${info.dtype} [${info.shape.join(', ')}] at ${info.fileOffset} in ${modelName}, the patch expects ${where}` });
    } else {
      infos.set(t.name, info);
    }
  }

  // Hunks: original bytes present (clean), new bytes present (applied), or neither.
  let clean = conflicts.length === 0;
  let applied = conflicts.length === 0;
  const states = await hunkStates(model, hunks, infos);
  const byName = new Map(tensors.map((t) => [t.name, t]));
  for (let i = 0; i < hunks.length; i++) {
    const h = hunks[i];
    const state = states[i];
    if (!state) continue; // its tensor already conflicts
    const t = byName.get(h.tensor)!;
    const elements = hunkElements(t.dtype, h);
    if (state.kind === 'original') {
      applied = false;
    } else if (state.kind === 'replacement') {
      clean = false;
    } else {
      clean = applied = false;
      conflicts.push({ tensor: h.tensor, elements, message: describeDifference(t.dtype, t.shape, h.offset, h.original, state.found) });
    }
  }

  if (options.hashes) {
    for (const t of tensors) {
      const info = infos.get(t.name);
      if (!info) continue;
      const sha = await hashTensor(model, info);
      if (sha === t.baseSha256) applied = false;
      else if (sha === t.resultSha256) clean = false;
      else {
        clean = applied = false;
        conflicts.push({ tensor: t.name, message: `bytes differ from the patch's base outside the edited elements (base-sha256 ${short(t.baseSha256)}, found ${short(sha)})` });
      }
    }
  }

  if (!clean && !applied && conflicts.length === 0) {
    // Some hunks applied, others not: a partly applied patch.
    for (let i = 0; i < hunks.length; i++) {
      if (states[i]?.kind === 'replacement') {
        const h = hunks[i];
        const t = byName.get(h.tensor)!;
        conflicts.push({ tensor: h.tensor, elements: hunkElements(t.dtype, h), message: 'already has the new bytes (patch partly applied?)' });
      }
    }
  }
  if (hunks.length === 0 && tensors.length === 0) applied = false;
  return { clean: clean && conflicts.length === 0, alreadyApplied: applied && !clean && conflicts.length === 0, conflicts, tensors, hunks };
}

type HunkState = { kind: 'original' } | { kind: 'replacement' } | { kind: 'conflict'; found: Uint8Array };

/**
 * What the base holds at each hunk. Synchronous positional reads: a sparse patch has
 * thousands of small hunks, and one pread each costs microseconds where a round trip
 * through the thread pool costs far more; nearby hunks share one read.
 */
async function hunkStates(model: Model, hunks: Hunk[], infos: Map<string, TensorInfo>): Promise<(HunkState | undefined)[]> {
  const states: (HunkState | undefined)[] = new Array(hunks.length);
  const fds = new Map<number, number>();
  const fdOf = (fileIndex: number) => {
    let fd = fds.get(fileIndex);
    if (fd === undefined) fds.set(fileIndex, (fd = fs.openSync(model.info.files[fileIndex].path, 'r')));
    return fd;
  };
  try {
    let i = 0;
    while (i < hunks.length) {
      const info = infos.get(hunks[i].tensor);
      if (!info) {
        i++;
        continue;
      }
      // One read window: hunks of the same tensor with small gaps.
      const start = hunks[i].offset;
      let end = start + hunks[i].original.length;
      let j = i + 1;
      while (j < hunks.length && hunks[j].tensor === hunks[i].tensor && hunks[j].offset - end <= READ_GAP && hunks[j].offset + hunks[j].original.length - start <= READ_MAX) {
        end = hunks[j].offset + hunks[j].original.length;
        j++;
      }
      if (end > tensorBytes(info)) throw new Error('checkPatch: hunk past the tensor end');
      const unit = unitOf(info.dtype).bytes;
      const fd = fdOf(info.fileIndex);
      const read = (from: number, length: number) => readAt(fd, model.info.files[info.fileIndex].path, info.fileOffset + from, length);
      if (j === i + 1 && end - start > READ_MAX) {
        states[i] = bigHunkState(read, hunks[i], unit);
      } else {
        const bytes = read(start, end - start);
        for (let k = i; k < j; k++) {
          const h = hunks[k];
          const found = bytes.subarray(h.offset - start, h.offset - start + h.original.length);
          if (firstDifference(h.original, found, unit) < 0) states[k] = { kind: 'original' };
          else if (firstDifference(h.replacement, found, unit) < 0) states[k] = { kind: 'replacement' };
          else states[k] = { kind: 'conflict', found: found.slice() };
        }
      }
      i = j;
    }
  } finally {
    for (const fd of fds.values()) fs.closeSync(fd);
  }
  return states;
}

function readAt(fd: number, path: string, position: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, out, done, Math.min(length - done, 1 << 30), position + done);
    if (n === 0) throw new UserError(`${nodePath.basename(path)}: file ended early at byte ${position + done} (changed while open?)`);
    done += n;
  }
  return out;
}

function bigHunkState(read: (from: number, length: number) => Uint8Array, h: Hunk, unit: number): HunkState {
  let original = true;
  let replacement = true;
  const step = READ_MAX - (READ_MAX % unit);
  for (let at = 0; at < h.original.length && (original || replacement); at += step) {
    const n = Math.min(step, h.original.length - at);
    const found = read(h.offset + at, n);
    if (original && firstDifference(h.original.subarray(at, at + n), found, unit) >= 0) original = false;
    if (replacement && firstDifference(h.replacement.subarray(at, at + n), found, unit) >= 0) replacement = false;
  }
  if (original) return { kind: 'original' };
  if (replacement) return { kind: 'replacement' };
  return { kind: 'conflict', found: read(h.offset, h.original.length) };
}

function short(hash: string): string {
  return `${hash.slice(0, 12)}…`;
}

/** One line per conflict, for the CLI: `tensor "w" elements 16:24: element 18 [0, 18]: expected ...`. */
export function conflictLine(c: Conflict): string {
  const what = c.tensor === null ? '' : `tensor ${JSON.stringify(c.tensor)}${c.elements ? ` elements ${c.elements[0]}:${c.elements[1]}` : ''}: `;
  return `${what}${c.message}`;
}

export type VerifyStatus = 'clean' | 'already-applied' | 'conflicts';

/** Full check of a patch against a base, touched tensors' hashes included. */
export async function verifyPatch(model: Model, patch: Patch): Promise<{ status: VerifyStatus; conflicts: Conflict[] }> {
  const r = await checkPatch(model, patch, { hashes: true });
  const status: VerifyStatus = r.clean ? 'clean' : r.alreadyApplied ? 'already-applied' : 'conflicts';
  return { status, conflicts: r.conflicts };
}
