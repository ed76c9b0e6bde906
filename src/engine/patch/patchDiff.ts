// The semantic difference between two versions of a patch (old -> new): for each tensor, the
// hunks added, removed and changed. Hunks of the two versions whose byte ranges overlap form
// one cluster; a cluster is unchanged when it is one hunk with the same range and bytes on
// both sides, `changed` otherwise, and a hunk overlapping nothing is added or removed.
// For a changed cluster the elements whose patched value differs are counted: both versions
// are laid over the same base (each hunk's original bytes stand for the base where the other
// version has no hunk).

import type { HunkDiffEntry, PatchDiff, TensorDiffEntry } from '../../shared/reviewProtocol';
import { derivedTensor, type DerivedTensor } from '../compute/derivedTensor';
import { elementRegion, view2D, type PatchIndex } from './patchIndex';
import { compareNames, unitOf, type Hunk } from './types';

/** Entries per tensor in one answer (a sparse patch can have many thousands of hunks). */
export const MAX_DIFF_ENTRIES = 500;

export function diffPatches(older: PatchIndex, newer: PatchIndex, limit = MAX_DIFF_ENTRIES): PatchDiff {
  const key = (p: PatchIndex) => p.patch.base.map((b) => `${b.name}|${b.size}|${b.headerSha256}`).join(';');
  const counts = { added: 0, removed: 0, changed: 0, unchanged: 0 };
  const oldNames = new Set(older.tensorNames());
  const newNames = new Set(newer.tensorNames());
  const names = [...new Set([...oldNames, ...newNames])].sort(compareNames);
  const tensors: TensorDiffEntry[] = [];
  for (const name of names) {
    const inOld = oldNames.has(name);
    const inNew = newNames.has(name);
    const ref = (inNew ? newer : older).entry(name).tensor;
    const oldHunks = inOld ? older.entry(name).hunks : [];
    const newHunks = inNew ? newer.entry(name).hunks : [];
    const unit = unitOf(ref.dtype);
    const entries: HunkDiffEntry[] = [];
    let entryCount = 0;
    let unchanged = 0;
    for (const c of clusters(oldHunks, newHunks)) {
      const change = classify(c, unit.bytes, unit.elements);
      if (change === 'unchanged') {
        unchanged++;
        continue;
      }
      counts[change.kind]++;
      entryCount++;
      if (entries.length >= limit) continue;
      const elements: [number, number] = [(c.start / unit.bytes) * unit.elements, (c.end / unit.bytes) * unit.elements];
      entries.push({
        change: change.kind,
        tensor: name,
        elements,
        region: elementRegion(ref.shape, elements),
        old: c.oldIdx.map((k) => older.summary(name, k)),
        new: c.newIdx.map((k) => newer.summary(name, k)),
        differing: change.differing,
      });
    }
    counts.unchanged += unchanged;
    if (entryCount === 0) continue;
    tensors.push({ name, dtype: ref.dtype, shape: [...ref.shape], presence: inOld && inNew ? 'both' : inOld ? 'old' : 'new', entries, entryCount, unchanged });
  }
  return { sameBase: key(older) === key(newer), tensors, counts };
}

interface Cluster {
  /** Byte range [start, end) relative to the tensor. */
  start: number;
  end: number;
  oldIdx: number[];
  newIdx: number[];
  old: Hunk[];
  new: Hunk[];
}

/** Groups of overlapping hunks of two sorted, internally disjoint lists. */
function* clusters(a: Hunk[], b: Hunk[]): Generator<Cluster> {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const takeOld = j >= b.length || (i < a.length && a[i].offset <= b[j].offset);
    const first = takeOld ? a[i] : b[j];
    const c: Cluster = { start: first.offset, end: first.offset + first.original.length, oldIdx: [], newIdx: [], old: [], new: [] };
    if (takeOld) {
      c.oldIdx.push(i);
      c.old.push(a[i++]);
    } else {
      c.newIdx.push(j);
      c.new.push(b[j++]);
    }
    // Grow while the next hunk of either list starts inside the cluster.
    for (;;) {
      if (i < a.length && a[i].offset < c.end) {
        c.end = Math.max(c.end, a[i].offset + a[i].original.length);
        c.oldIdx.push(i);
        c.old.push(a[i++]);
      } else if (j < b.length && b[j].offset < c.end) {
        c.end = Math.max(c.end, b[j].offset + b[j].original.length);
        c.newIdx.push(j);
        c.new.push(b[j++]);
      } else break;
    }
    yield c;
  }
}

/** `differing` counts elements; for packed F4/F6, every element of a unit (whole bytes) that differs. */
function classify(c: Cluster, unitBytes: number, unitElements: number): 'unchanged' | { kind: 'added' | 'removed' | 'changed'; differing: number } {
  const elements = ((c.end - c.start) / unitBytes) * unitElements;
  if (c.new.length === 0) return { kind: 'removed', differing: elements };
  if (c.old.length === 0) return { kind: 'added', differing: elements };
  if (c.old.length === 1 && c.new.length === 1) {
    const [o, n] = [c.old[0], c.new[0]];
    if (o.offset === n.offset && equal(o.original, n.original) && equal(o.replacement, n.replacement)) return 'unchanged';
  }
  // The patched bytes of each version over the cluster, on the same (reconstructed) base.
  const length = c.end - c.start;
  const resultOld = new Uint8Array(length);
  const resultNew = new Uint8Array(length);
  for (const h of c.new) resultOld.set(h.original, h.offset - c.start);
  for (const h of c.old) resultOld.set(h.replacement, h.offset - c.start);
  for (const h of c.old) resultNew.set(h.original, h.offset - c.start);
  for (const h of c.new) resultNew.set(h.replacement, h.offset - c.start);
  let differing = 0;
  for (let at = 0; at < length; at += unitBytes) {
    for (let k = 0; k < unitBytes; k++) {
      if (resultOld[at + k] !== resultNew[at + k]) {
        differing += unitElements;
        break;
      }
    }
  }
  return { kind: 'changed', differing };
}

function equal(x: Uint8Array, y: Uint8Array): boolean {
  return x.length === y.length && Buffer.compare(x, y) === 0;
}

/**
 * How the patched values of a tensor change from the old version to the new one, as a
 * derived [rows, cols] tensor: new result − old result where either version has a hunk
 * (a version without a hunk there leaves the base, known from the other's original bytes),
 * NaN elsewhere.
 */
export function resultChange(older: PatchIndex, newer: PatchIndex, tensor: string): DerivedTensor {
  const ref = (newer.has(tensor) ? newer : older).entry(tensor).tensor;
  const { rows, cols } = view2D(ref.shape);
  return derivedTensor(`${tensor} (new − old)`, [rows, cols], async (first, out) => {
    const n = out.length;
    const oldResult = new Float64Array(n);
    const covered = new Uint8Array(n);
    // Old result: the base (from the new version's original bytes), then the old version's new bytes.
    out.fill(NaN);
    if (newer.has(tensor)) newer.decodeInto(tensor, 'before', first, oldResult, covered);
    if (older.has(tensor)) older.decodeInto(tensor, 'after', first, oldResult, covered);
    // New result: the base (from the old version's original bytes), then the new version's new bytes.
    if (older.has(tensor)) older.decodeInto(tensor, 'before', first, out);
    if (newer.has(tensor)) newer.decodeInto(tensor, 'after', first, out);
    for (let i = 0; i < n; i++) out[i] = covered[i] ? out[i] - oldResult[i] : NaN;
  });
}
