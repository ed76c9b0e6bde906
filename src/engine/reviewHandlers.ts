// The engine methods of the review features (src/shared/reviewProtocol.ts): patches held by
// id for the patch editor and the semantic patch diff, tiles of two models for the compare
// view, exporting a comparison as a patch, and committed files out of git. EngineSession
// (server.ts) serves these next to its own methods.

import { resolve } from 'node:path';
import { ResponseError } from 'vscode-jsonrpc/node';
import { EngineErrorCode } from '../shared/protocol';
import type { PatchCheck, ReviewMethods } from '../shared/reviewProtocol';
import { UserError } from './errors';
import { resolveModelPath } from './compare/gitBlob';
import { ModelCache } from './compare/modelCache';
import { compareElement, compareTile, compareView } from './compare/compareTiles';
import { computeTile } from './compute/tile';
import { applyPatch } from './patch/apply';
import { checkPatch, type CheckResult } from './patch/check';
import { revertPatch } from './patch/compose';
import { diffModels } from './patch/diff';
import { writePatchFile } from './patch/file';
import { parsePatch } from './patch/parse';
import { diffPatches, resultChange } from './patch/patchDiff';
import { PatchIndex } from './patch/patchIndex';
import { openModel } from './safetensors/model';

interface Context {
  signal: AbortSignal;
  progress(done: number, total: number): void;
}

type ReviewHandlers = {
  [M in keyof ReviewMethods]: (params: ReviewMethods[M]['params'], ctx: Context) => Promise<ReviewMethods[M]['result']>;
};

/** Conflicts listed in one answer; the count says how many there are. */
const MAX_CONFLICTS = 200;

export class ReviewSession {
  private readonly patches = new Map<string, PatchIndex>();
  private nextPatchId = 1;
  private readonly models = new ModelCache();
  /** Temp files of git blobs, by path: how to remove them. */
  private readonly blobs = new Map<string, () => Promise<void>>();

  readonly handlers: ReviewHandlers = {
    patchOpen: async ({ text, name }) => {
      requireString(text, 'text');
      requireString(name, 'name');
      const index = new PatchIndex(parsePatch(text, name), name);
      const patchId = `p${this.nextPatchId++}`;
      this.patches.set(patchId, index);
      return index.overview(patchId);
    },

    patchClose: async ({ patchId }) => {
      this.patches.delete(patchId);
      return null;
    },

    patchHunks: async ({ patchId, tensor, start, limit }) => this.patch(patchId).hunks(tensor, start, limit),

    patchValues: async ({ patchId, tensor, elements, limit }) => {
      if (!Array.isArray(elements) || elements.length !== 2) throw new UserError('elements must be [first, end]');
      return this.patch(patchId).values(tensor, elements, limit);
    },

    patchTile: async ({ patchId, tensor, side, viewport, maxRows, maxCols, range }, ctx) => {
      if (side !== 'before' && side !== 'after' && side !== 'delta') throw new UserError(`side must be before, after or delta, not ${JSON.stringify(side)}`);
      const d = this.patch(patchId).derived(tensor, side);
      return computeTile(d.model, d.tensor, { slice: '[:, :]', viewport, maxRows, maxCols, range }, ctx.signal);
    },

    patchCheck: async ({ patchId, basePath }) => {
      const index = this.patch(patchId);
      requireString(basePath, 'basePath');
      const model = await openModel(resolve(basePath));
      try {
        return checkResult(basePath, await checkPatch(model, index.patch), index);
      } finally {
        await model.close();
      }
    },

    patchApply: async ({ patchId, basePath, outPath }) => {
      const index = this.patch(patchId);
      requireString(basePath, 'basePath');
      requireString(outPath, 'outPath');
      const r = await applyPatch(resolve(basePath), index.patch, resolve(outPath));
      return { written: r.written, check: checkResult(basePath, r, index) };
    },

    patchRevert: async ({ patchId, outPath }) => {
      const index = this.patch(patchId);
      requireString(outPath, 'outPath');
      const inverse = revertPatch(index.patch);
      await writePatchFile(resolve(outPath), inverse);
      return { hunks: inverse.hunks.length };
    },

    patchDiff: async ({ oldPatchId, newPatchId, limit }) => diffPatches(this.patch(oldPatchId), this.patch(newPatchId), limit),

    patchDiffTile: async ({ oldPatchId, newPatchId, tensor, viewport, maxRows, maxCols, range }, ctx) => {
      const [older, newer] = [this.patch(oldPatchId), this.patch(newPatchId)];
      if (!older.has(tensor) && !newer.has(tensor)) throw new UserError(`neither version of the patch touches tensor ${JSON.stringify(tensor)}`);
      const d = resultChange(older, newer, tensor);
      return computeTile(d.model, d.tensor, { slice: '[:, :]', viewport, maxRows, maxCols, range }, ctx.signal);
    },

    compareView: async ({ pathA, pathB, tensor, slice }) => compareView(this.models, pathA, pathB, tensor, slice),

    compareTile: async (req, ctx) => compareTile(this.models, req, ctx.signal),

    compareElement: async ({ pathA, pathB, tensor, slice, row, col }) => compareElement(this.models, pathA, pathB, tensor, slice, row, col),

    exportPatch: async ({ pathA, pathB, outPath }, ctx) => {
      requireString(outPath, 'outPath');
      const [a, b] = await Promise.all([this.models.get(pathA), this.models.get(pathB)]);
      const { patch, headersDiffer } = await diffModels(a, b, { signal: ctx.signal, progress: ctx.progress });
      await writePatchFile(resolve(outPath), patch);
      return { tensors: patch.tensors.length, hunks: patch.hunks.length, bytes: patch.hunks.reduce((n, h) => n + h.original.length, 0), headersDiffer };
    },

    gitBlob: async ({ cwd, rev, path }) => {
      requireString(cwd, 'cwd');
      requireString(rev, 'rev');
      requireString(path, 'path');
      if (rev.includes(':')) throw new UserError(`bad revision ${JSON.stringify(rev)}`);
      const resolved = await resolveModelPath(`git:${rev}:${path}`, cwd);
      this.blobs.set(resolved.path, resolved.dispose);
      return { path: resolved.path };
    },

    releaseBlob: async ({ path }) => {
      const dispose = this.blobs.get(path);
      this.blobs.delete(path);
      this.models.forget(path);
      await dispose?.();
      return null;
    },
  };

  private patch(patchId: unknown): PatchIndex {
    const index = typeof patchId === 'string' ? this.patches.get(patchId) : undefined;
    if (!index) throw new ResponseError(EngineErrorCode.NotFound, `unknown patch id ${JSON.stringify(patchId)} (closed, or opened by an earlier engine)`);
    return index;
  }

  async closeAll(): Promise<void> {
    this.patches.clear();
    const blobs = [...this.blobs.values()];
    this.blobs.clear();
    await Promise.allSettled([this.models.closeAll(), ...blobs.map((d) => d())]);
  }
}

function checkResult(basePath: string, r: CheckResult, index: PatchIndex): PatchCheck {
  const state = r.clean ? 'clean' : r.alreadyApplied ? 'applied' : 'conflicts';
  const conflicts = r.conflicts.slice(0, MAX_CONFLICTS).map((c) => ({ tensor: c.tensor, elements: c.elements, message: c.message }));
  // A partly applied patch reports its applied hunks as conflicts; a patch with neither gets one line.
  if (state === 'conflicts' && conflicts.length === 0) conflicts.push({ tensor: null, elements: undefined, message: `the base holds neither the patch's original bytes nor its new bytes (${index.patch.hunks.length} hunks checked)` });
  return { basePath, state, conflicts, conflictCount: Math.max(r.conflicts.length, conflicts.length) };
}

function requireString(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string') throw new UserError(`${what} must be a string`);
}
