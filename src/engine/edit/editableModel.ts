// An opened model in the engine server: the base file seen through a PatchOverlay of edits
// (every read sees them), plus the edits it made, kept by id so that the editor's undo and
// redo can take one back or lay it on again without recomputing it. Saving writes the
// overlay as a .stpatch; baking writes base + overlay as a new model. The editor's undo
// stack lives in the extension host; this keeps only what the bytes need.

import * as nodePath from 'node:path';
import type { DocumentEdit, EditResult, EditState } from '../../shared/protocol';
import { UserError } from '../errors';
import { applyPatch } from '../patch/apply';
import { tensorBytes, tensorRef, type ByteSource } from '../patch/base';
import { readPatchFile, writePatchFile } from '../patch/file';
import { HunkBuilder } from '../patch/hunks';
import { PatchOverlay } from '../patch/overlay';
import { patchSummary } from '../patch/summary';
import { hunkElements, unitOf, type Hunk, type PatchFragment } from '../patch/types';
import type { Model } from '../safetensors/model';
import { editRegion, setElement } from './ops';

interface KeptEdit {
  fragment: PatchFragment;
  applied: boolean;
}

export class EditableModel {
  private overlay: PatchOverlay;
  private readonly kept = new Map<number, KeptEdit>();
  private nextEditId = 1;

  constructor(private readonly base: Model) {
    this.overlay = new PatchOverlay(base);
  }

  /** The model as edited: what every read request goes through. */
  get view(): Model {
    return this.overlay;
  }

  /** The model as opened, without the edits (readers that lay `tensorEdits` over it themselves). */
  get file(): Model {
    return this.base;
  }

  /**
   * The current edits of one tensor, sorted by offset. Never changed in place: any change
   * of the tensor's bytes gives new hunks, so an identical list means unchanged bytes.
   */
  tensorEdits(tensor: string): readonly Hunk[] {
    return this.overlay.hunks(tensor);
  }

  close(): Promise<void> {
    return this.base.close();
  }

  async edit(edit: DocumentEdit, signal?: AbortSignal): Promise<EditResult> {
    const fragment = await makeFragment(this.overlay, edit, signal);
    const changedBytes = fragment.hunks.reduce((n, h) => n + h.original.length, 0);
    if (changedBytes === 0) return { editId: 0, summary: `${describe(edit)} (no change)`, changedElements: 0, changedBytes: 0 };
    await this.overlay.apply(fragment);
    const editId = this.nextEditId++;
    this.kept.set(editId, { fragment, applied: true });
    const dtype = this.base.tensor(fragment.hunks[0].tensor).dtype;
    const changedElements = fragment.hunks.reduce((n, h) => {
      const [a, b] = hunkElements(dtype, h);
      return n + b - a;
    }, 0);
    return { editId, summary: fragment.ops[0]?.text ?? describe(edit), changedElements, changedBytes };
  }

  async undo(editId: number): Promise<EditState> {
    const kept = this.keptEdit(editId);
    if (!kept.applied) throw new UserError(`edit ${editId} is already undone`);
    await this.overlay.unapply(kept.fragment);
    kept.applied = false;
    return this.state();
  }

  async redo(editId: number): Promise<EditState> {
    const kept = this.keptEdit(editId);
    if (kept.applied) throw new UserError(`edit ${editId} is already applied`);
    await this.overlay.apply(kept.fragment);
    kept.applied = true;
    return this.state();
  }

  discard(): EditState {
    this.overlay = new PatchOverlay(this.base);
    this.kept.clear();
    return this.state();
  }

  async save(path: string): Promise<EditState & { path: string; summary: string }> {
    const out = this.outputPath(path, 'save the patch');
    const patch = await this.overlay.toPatch();
    await writePatchFile(out, patch);
    return { ...this.state(), path: out, summary: patchSummary(patch) };
  }

  async load(path: string): Promise<EditState & { summary: string }> {
    const patch = await readPatchFile(path);
    const overlay = new PatchOverlay(this.base);
    try {
      await overlay.load(patch);
    } catch (e) {
      if (e instanceof UserError) throw new UserError(`${nodePath.basename(path)}: ${e.message}`);
      throw e;
    }
    this.overlay = overlay;
    this.kept.clear();
    return { ...this.state(), summary: patchSummary(patch) };
  }

  async bake(path: string, progress: (done: number, total: number) => void): Promise<EditState & { path: string; summary: string }> {
    const out = this.outputPath(path, 'bake');
    const total = this.base.info.files.reduce((n, f) => n + f.size, 0);
    progress(0, total);
    const patch = await this.overlay.toPatch();
    const result = await applyPatch(this.base.info.path, patch, out);
    if (!result.written) {
      throw new UserError(`${nodePath.basename(this.base.info.path)} changed on disk since it was opened: ${result.conflicts[0]?.message ?? 'the edits do not fit it'}`);
    }
    progress(total, total);
    return { ...this.state(), path: out, summary: patchSummary(patch) };
  }

  state(): EditState {
    const hunks = this.overlay.hunks();
    return { tensors: new Set(hunks.map((h) => h.tensor)).size, hunks: hunks.length, changedBytes: hunks.reduce((n, h) => n + h.original.length, 0) };
  }

  private keptEdit(editId: number): KeptEdit {
    const kept = typeof editId === 'number' ? this.kept.get(editId) : undefined;
    if (!kept) throw new UserError(`no edit ${JSON.stringify(editId)} in this model (the patch was loaded or the edits discarded since)`);
    return kept;
  }

  /** An absolute output path that is not one of the model's own files. */
  private outputPath(path: string, what: string): string {
    if (typeof path !== 'string' || path === '') throw new UserError(`a file name is needed to ${what}`);
    const out = nodePath.resolve(path);
    const own = [this.base.info.path, ...this.base.info.files.map((f) => f.path)];
    if (own.includes(out)) throw new UserError(`cannot ${what} over the model itself (${nodePath.basename(out)}); choose another file`);
    return out;
  }
}

function makeFragment(source: ByteSource, edit: DocumentEdit, signal?: AbortSignal): Promise<PatchFragment> {
  if (typeof edit !== 'object' || edit === null) throw new UserError('the edit must be an object');
  switch (edit.type) {
    case 'region':
      return editRegion(source, { tensor: edit.tensor, slice: edit.slice, rect: edit.rect }, edit.op, signal);
    case 'element':
      return setElement(source, { tensor: edit.tensor, slice: edit.slice, row: edit.row, col: edit.col }, { value: edit.value });
    case 'bytes':
      return setBytes(source, edit.tensor, edit.offset, edit.hex);
    default:
      throw new UserError(`unknown edit type ${JSON.stringify((edit as { type: unknown }).type)}`);
  }
}

/** Raw bytes at a tensor-relative offset (the hex view); the hunk covers whole units. */
async function setBytes(source: ByteSource, tensor: string, offset: number, hex: string): Promise<PatchFragment> {
  const t = source.tensor(tensor);
  const size = tensorBytes(t);
  const clean = typeof hex === 'string' ? hex.replace(/\s+/g, '') : '';
  if (!/^([0-9a-fA-F]{2})+$/.test(clean)) throw new UserError(`${JSON.stringify(hex)} is not whole bytes of hex`);
  const bytes = Uint8Array.from(Buffer.from(clean, 'hex'));
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + bytes.length > size) {
    throw new UserError(`bytes ${offset}..${offset + bytes.length} are outside tensor ${JSON.stringify(t.name)} (${size} bytes)`);
  }
  const u = unitOf(t.dtype).bytes;
  const start = Math.floor(offset / u) * u;
  const end = Math.ceil((offset + bytes.length) / u) * u;
  const orig = await source.read(t, start, end);
  const copy = orig.slice();
  copy.set(bytes, offset - start);
  const builder = new HunkBuilder(t.name, t.dtype);
  builder.add(start, orig, copy);
  const hunks = builder.finish();
  return { tensors: [tensorRef(t)], hunks, ops: hunks.length ? [{ tensor: t.name, text: `bytes at offset ${offset} to ${clean.toLowerCase()}` }] : [] };
}

function describe(edit: DocumentEdit): string {
  switch (edit.type) {
    case 'region':
      return `${edit.op.kind} ${edit.tensor}`;
    case 'element':
      return `set (${edit.row}, ${edit.col}) of ${edit.tensor} to ${edit.value}`;
    case 'bytes':
      return `bytes at offset ${edit.offset} of ${edit.tensor}`;
  }
}
