// Patch algebra without the model: the inverse of a patch, and two patches in sequence as
// one. Both work from the bytes and hashes the patches carry.

import { UserError } from '../errors';
import { composeTensorHunks, describeDifference, invertHunk } from './hunks';
import { compareHunks, compareNames, hunkElements, type Conflict, type Hunk, type Patch, type PatchTensor, type TensorRef } from './types';

/** The patch that undoes `patch`: its base is `patch`'s result. */
export function revertPatch(patch: Patch): Patch {
  return {
    base: patch.base.map((b) => ({ ...b })),
    tensors: patch.tensors.map((t) => ({
      ...t,
      shape: [...t.shape],
      baseSha256: t.resultSha256,
      resultSha256: t.baseSha256,
      ops: [...t.ops].reverse().map((op) => `undo: ${op}`),
    })),
    hunks: patch.hunks.map(invertHunk),
  };
}

export interface ComposeResult {
  patch: Patch;
  conflicts: Conflict[];
}

/** `second` applied after `first`: one canonical patch from first's base to second's result. */
export function composePatches(first: Patch, second: Patch): ComposeResult {
  checkSameBase(first, second);
  const conflicts: Conflict[] = [];
  const t1 = new Map(first.tensors.map((t) => [t.name, t]));
  const t2 = new Map(second.tensors.map((t) => [t.name, t]));
  const names = [...new Set([...t1.keys(), ...t2.keys()])].sort(compareNames);
  const h1 = groupByTensor(first.hunks);
  const h2 = groupByTensor(second.hunks);

  const tensors: PatchTensor[] = [];
  const hunks: Hunk[] = [];
  for (const name of names) {
    const a = t1.get(name);
    const b = t2.get(name);
    if (a && b) {
      if (!samePlace(a, b)) {
        conflicts.push({ tensor: name, message: `is ${b.dtype} [${b.shape.join(', ')}] at ${b.fileOffset} in the second patch but ${a.dtype} [${a.shape.join(', ')}] at ${a.fileOffset} in the first` });
        continue;
      }
      if (b.baseSha256 !== a.resultSha256) {
        conflicts.push({ tensor: name, message: `the second patch was not made on the first one's result (its base-sha256 ${b.baseSha256.slice(0, 12)}… is not the first's result-sha256 ${a.resultSha256.slice(0, 12)}…)` });
      }
      const composed = composeTensorHunks(name, a.dtype, h1.get(name) ?? [], h2.get(name) ?? []);
      for (const m of composed.mismatches) {
        conflicts.push({ tensor: name, elements: hunkElements(a.dtype, m.hunk), message: describeDifference(a.dtype, a.shape, m.hunk.offset, m.expected, m.found) });
      }
      if (composed.hunks.length > 0) {
        tensors.push({ ...a, shape: [...a.shape], baseSha256: a.baseSha256, resultSha256: b.resultSha256, ops: [...a.ops, ...b.ops] });
        hunks.push(...composed.hunks);
      }
    } else {
      const t = (a ?? b)!;
      const own = (a ? h1 : h2).get(name) ?? [];
      if (own.length === 0) continue;
      tensors.push({ ...t, shape: [...t.shape], ops: [...t.ops] });
      hunks.push(...own);
    }
  }
  hunks.sort(compareHunks);
  return { patch: { base: first.base.map((b) => ({ ...b })), tensors, hunks }, conflicts };
}

function checkSameBase(first: Patch, second: Patch): void {
  const key = (p: Patch) => p.base.map((b) => `${b.name}|${b.size}|${b.headerSha256}`).join(';');
  if (key(first) !== key(second)) {
    throw new UserError('the two patches are for different base models (their "base" lines differ)');
  }
}

function samePlace(a: TensorRef, b: TensorRef): boolean {
  return a.dtype === b.dtype && a.shape.join() === b.shape.join() && a.fileIndex === b.fileIndex && a.fileOffset === b.fileOffset;
}

export function groupByTensor(hunks: readonly Hunk[]): Map<string, Hunk[]> {
  const out = new Map<string, Hunk[]>();
  for (const h of hunks) {
    let list = out.get(h.tensor);
    if (!list) out.set(h.tensor, (list = []));
    list.push(h);
  }
  for (const list of out.values()) list.sort((x, y) => x.offset - y.offset);
  return out;
}
