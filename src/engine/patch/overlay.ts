// A model seen through unsaved edits: the editor's document state in the engine. It is a
// Model (reads return the edited bytes, so stats, tiles and further edits see the edits),
// and it holds the edits as one canonical set of hunks from the base, so saving is just
// serialising them with the touched tensors' hashes. Undo/redo apply a fragment's inverse.

import type { TensorInfo } from '../../shared/protocol';
import { UserError } from '../errors';
import type { Model } from '../safetensors/model';
import { hashTensor, readBaseFiles, tensorRef } from './base';
import { checkPatch } from './check';
import { groupByTensor } from './compose';
import { composeTensorHunks, describeDifference, firstDifference, invertHunk, overlayHunks } from './hunks';
import { compareNames, unitOf, type Hunk, type Patch, type PatchFragment, type PatchTensor } from './types';

export class PatchOverlay implements Model {
  /** Canonical hunks from the base, per tensor, sorted by offset. */
  private readonly edits = new Map<string, Hunk[]>();
  /** Op lines in the order edits were made, per tensor. */
  private readonly ops = new Map<string, string[]>();

  constructor(readonly base: Model) {}

  get info() {
    return this.base.info;
  }

  tensor(name: string): TensorInfo {
    return this.base.tensor(name);
  }

  async read(t: TensorInfo, start: number, end: number): Promise<Uint8Array> {
    const bytes = await this.base.read(t, start, end);
    const hunks = this.edits.get(t.name);
    if (hunks) overlayHunks(hunks, start, bytes);
    return bytes;
  }

  async readInto(t: TensorInfo, start: number, dest: Uint8Array): Promise<number> {
    const n = await this.base.readInto(t, start, dest);
    const hunks = this.edits.get(t.name);
    if (hunks) overlayHunks(hunks, start, dest.subarray(0, n));
    return n;
  }

  close(): Promise<void> {
    return this.base.close();
  }

  /** The current edits of one tensor (or all, sorted by tensor then offset). */
  hunks(tensor?: string): Hunk[] {
    if (tensor !== undefined) return this.edits.get(tensor) ?? [];
    return [...this.edits.keys()].sort(compareNames).flatMap((name) => this.edits.get(name)!);
  }

  get isEmpty(): boolean {
    return this.edits.size === 0;
  }

  /**
   * Lays an edit made on the current state (e.g. by editRegion on this overlay) over it.
   * Checks first that the fragment's original bytes are what the document holds now.
   */
  async apply(fragment: PatchFragment): Promise<void> {
    await this.checkCurrent(fragment.hunks);
    this.compose(fragment.hunks, fragment);
    for (const op of fragment.ops) {
      let list = this.ops.get(op.tensor);
      if (!list) this.ops.set(op.tensor, (list = []));
      list.push(op.text);
    }
  }

  /** Takes back `fragment`, the last edit applied (undo). */
  async unapply(fragment: PatchFragment): Promise<void> {
    const inverse = fragment.hunks.map(invertHunk);
    await this.checkCurrent(inverse);
    this.compose(inverse, fragment);
    for (const op of [...fragment.ops].reverse()) {
      const list = this.ops.get(op.tensor);
      const i = list ? list.lastIndexOf(op.text) : -1;
      if (list && i >= 0) list.splice(i, 1);
      if (list && list.length === 0) this.ops.delete(op.tensor);
    }
  }

  private async checkCurrent(hunks: Hunk[]): Promise<void> {
    for (const h of hunks) {
      const t = this.base.tensor(h.tensor);
      const current = await this.read(t, h.offset, h.offset + h.original.length);
      if (firstDifference(h.original, current, unitOf(t.dtype).bytes) >= 0) {
        throw new UserError(`edit of ${JSON.stringify(h.tensor)} was made on different bytes than the document holds: ${describeDifference(t.dtype, t.shape, h.offset, h.original, current)}`);
      }
    }
  }

  private compose(hunks: Hunk[], fragment: PatchFragment): void {
    const refs = new Map(fragment.tensors.map((t) => [t.name, t]));
    const next = new Map<string, Hunk[]>();
    for (const [name, list] of groupByTensor(hunks)) {
      const t = refs.get(name) ?? this.base.tensor(name);
      const { hunks: composed, mismatches } = composeTensorHunks(name, t.dtype, this.edits.get(name) ?? [], list);
      if (mismatches.length > 0) {
        const m = mismatches[0];
        throw new UserError(`edit of ${JSON.stringify(name)} was made on different bytes than the document holds: ${describeDifference(t.dtype, t.shape, m.at, m.expected, m.found)}`);
      }
      next.set(name, composed);
    }
    // Only commit when every tensor composed cleanly.
    for (const [name, list] of next) {
      if (list.length) this.edits.set(name, list);
      else this.edits.delete(name);
    }
  }

  /** Replaces the edits with a saved patch's, after checking that it fits the base. */
  async load(patch: Patch): Promise<void> {
    const check = await checkPatch(this.base, patch, { hashes: true });
    if (!check.clean) {
      const first = check.conflicts[0]?.message ?? (check.alreadyApplied ? 'the model already has its edits' : 'it does not fit');
      throw new UserError(`the patch does not apply to this model: ${first}`);
    }
    this.edits.clear();
    this.ops.clear();
    for (const [name, list] of groupByTensor(patch.hunks)) this.edits.set(name, list);
    for (const t of patch.tensors) if (t.ops.length) this.ops.set(t.name, [...t.ops]);
  }

  /** The edits as a patch of the base: reads and hashes each touched tensor twice. */
  async toPatch(): Promise<Patch> {
    const tensors: PatchTensor[] = [];
    for (const name of [...this.edits.keys()].sort(compareNames)) {
      const t = this.base.tensor(name);
      const hunks = this.edits.get(name)!;
      const [baseSha256, resultSha256] = await Promise.all([hashTensor(this.base, t), hashTensor(this.base, t, hunks)]);
      tensors.push({ ...tensorRef(t), baseSha256, resultSha256, ops: [...(this.ops.get(name) ?? [])] });
    }
    return { base: await readBaseFiles(this.base), tensors, hunks: this.hunks() };
  }
}
