// The host's record of one model document's edits: the patch the document started from (a
// private copy, so a later save over the original file does not change it) and the edits
// applied since, as small deterministic JSON (DocumentEdit). The engine holds the bytes;
// this record is what brings them back when the engine process is replaced (replay: load
// the copy, apply each edit again) and what a backup stores.
//
// Every operation runs in order through one queue, and first makes sure the engine it
// talks to holds this record's state (an engine restart is noticed by its pid).
// No `vscode` import: unit tests drive it under plain node with the real engine.

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { DocumentEdit, EditResult, EditState, EngineProgress } from '../shared/protocol';
import type { EngineClient } from './engineClient';

/** One applied (or undone) edit; the undo stack's entries point at these. */
export interface EditEntry {
  readonly edit: DocumentEdit;
  readonly summary: string;
  applied: boolean;
  /** The id the current engine gave it; undefined when that engine never applied it. */
  engineId?: number;
  /** Which engine `engineId` belongs to. */
  enginePid?: number;
}

/** What a backup holds: enough to rebuild the document's state. */
export interface EditsSnapshot {
  /** The starting patch (a private copy) or null for the bare model. */
  baseline: string | null;
  /** Applied edits, oldest first. */
  edits: DocumentEdit[];
}

export class DocumentEdits {
  private baselineCopy: string | null = null;
  /** Applied edits in order (undone ones are not in here; the undo stack keeps them). */
  private applied: EditEntry[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  /** The engine pid whose overlay matches this record. */
  private syncedPid: number | undefined;
  /** Why the state could not be rebuilt in a new engine (then every operation fails with it). */
  private broken: string | undefined;

  constructor(
    private readonly client: EngineClient,
    readonly handle: string,
    /** A private folder for copies of loaded patches. */
    private readonly copiesDir: string,
  ) {}

  /** The edits since the starting patch, oldest first. */
  get edits(): readonly EditEntry[] {
    return this.applied;
  }

  get baseline(): string | null {
    return this.baselineCopy;
  }

  /** Applies an edit; `entry` is undefined when it changed nothing (and nothing was recorded). */
  apply(edit: DocumentEdit): Promise<{ entry?: EditEntry; result: EditResult }> {
    return this.run(async (pid) => {
      const result = await this.client.request('edit', { modelId: this.handle, edit });
      if (result.changedElements === 0) return { result };
      const entry: EditEntry = { edit, summary: result.summary, applied: true, engineId: result.editId, enginePid: pid };
      this.applied.push(entry);
      return { entry, result };
    });
  }

  /** Undo the most recent applied edit `entry` (the undo stack calls these in reverse order). */
  undo(entry: EditEntry): Promise<void> {
    return this.run(async () => {
      if (!entry.applied) return;
      const i = this.applied.lastIndexOf(entry);
      if (i < 0) throw new Error(`"${entry.summary}" is not part of this document's edits any more`);
      await this.client.request('undoEdit', { modelId: this.handle, editId: entry.engineId! });
      this.applied.splice(i, 1);
      entry.applied = false;
    });
  }

  redo(entry: EditEntry): Promise<void> {
    return this.run(async (pid) => {
      if (entry.applied) return;
      if (entry.engineId !== undefined && entry.enginePid === pid) {
        await this.client.request('redoEdit', { modelId: this.handle, editId: entry.engineId });
      } else {
        // Made by an earlier engine: the same edit of the same bytes gives the same result.
        const r = await this.client.request('edit', { modelId: this.handle, edit: entry.edit });
        entry.engineId = r.editId;
        entry.enginePid = pid;
      }
      entry.applied = true;
      this.applied.push(entry);
    });
  }

  /** Makes a saved patch the starting state (its edits are not undoable); the current edits are dropped. */
  loadPatch(patchPath: string): Promise<EditState & { summary: string }> {
    return this.run(async () => {
      const copy = await this.copyPatch(patchPath);
      try {
        const r = await this.client.request('loadPatch', { modelId: this.handle, path: copy });
        await this.replaceBaseline(copy);
        this.applied = [];
        return r;
      } catch (err) {
        await removeCopy(copy);
        // Messages name the file the user chose, not our private copy.
        if (err instanceof Error) err.message = err.message.split(copy).join(patchPath);
        throw err;
      }
    });
  }

  /** Back to the bare model: drops the starting patch and every edit. */
  discard(): Promise<void> {
    return this.run(async () => {
      await this.client.request('discardEdits', { modelId: this.handle });
      await this.replaceBaseline(null);
      this.applied = [];
    });
  }

  savePatch(patchPath: string): Promise<EditState & { path: string; summary: string }> {
    return this.run(() => this.client.request('savePatch', { modelId: this.handle, path: patchPath }));
  }

  bake(outPath: string, onProgress?: (p: EngineProgress) => void): Promise<EditState & { path: string; summary: string }> {
    return this.run(() => this.client.request('bake', { modelId: this.handle, path: outPath }, undefined, onProgress));
  }

  /** Rebuilds a state (from a backup): starting patch, then each edit in order. */
  restore(snapshot: EditsSnapshot): Promise<void> {
    return this.run(async () => {
      await this.client.request('discardEdits', { modelId: this.handle });
      const copy = snapshot.baseline === null ? null : await this.copyPatch(snapshot.baseline);
      await this.replaceBaseline(copy);
      this.applied = snapshot.edits.map((edit) => ({ edit, summary: '', applied: true }));
      await this.replay();
    });
  }

  snapshot(): EditsSnapshot {
    return { baseline: this.baselineCopy, edits: this.applied.map((e) => e.edit) };
  }

  /** Waits for queued operations (and a pending rebuild) so reads see the current state. */
  async settled(): Promise<void> {
    await this.queue.catch(() => undefined);
  }

  /** The engine was replaced: rebuild the state there now (reads wait for it through settled()). */
  resync(): Promise<void> {
    return this.run(async () => undefined);
  }

  /** Forgets the copies this record made. */
  async dispose(): Promise<void> {
    await this.settled();
    await this.replaceBaseline(null);
  }

  private run<T>(op: (pid: number) => Promise<T>): Promise<T> {
    const next = this.queue.then(async () => {
      if (this.broken) throw new Error(this.broken);
      const pid = await this.sync();
      return op(pid);
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Makes sure the live engine holds this state; returns its pid. */
  private async sync(): Promise<number> {
    const { pid } = await this.client.request('hello', {});
    if (this.syncedPid === undefined) {
      this.syncedPid = pid; // the model was opened in this engine with no edits
    } else if (this.syncedPid !== pid) {
      try {
        await this.replay();
      } catch (err) {
        this.broken = `the edits could not be restored after the engine restarted: ${(err as Error).message}`;
        throw new Error(this.broken);
      }
      this.syncedPid = pid;
    }
    return pid;
  }

  /** The live engine's overlay := starting patch + applied edits (it opened the model afresh). */
  private async replay(): Promise<void> {
    const { pid } = await this.client.request('hello', {});
    if (this.baselineCopy !== null) await this.client.request('loadPatch', { modelId: this.handle, path: this.baselineCopy });
    for (const entry of this.applied) {
      const r = await this.client.request('edit', { modelId: this.handle, edit: entry.edit });
      entry.engineId = r.editId;
      entry.enginePid = pid;
    }
    this.syncedPid = pid;
  }

  private async copyPatch(patchPath: string): Promise<string> {
    // A folder of its own per copy, so the copy keeps the file's name (engine messages name it).
    const folder = path.join(this.copiesDir, randomBytes(8).toString('hex'));
    await fs.mkdir(folder, { recursive: true });
    const copy = path.join(folder, path.basename(patchPath));
    try {
      await fs.copyFile(patchPath, copy);
    } catch (err) {
      await fs.rm(folder, { recursive: true, force: true });
      const code = (err as NodeJS.ErrnoException).code;
      throw new Error(`${path.basename(patchPath)}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message.split('\n')[0]}`);
    }
    return copy;
  }

  private async replaceBaseline(copy: string | null): Promise<void> {
    const old = this.baselineCopy;
    this.baselineCopy = copy;
    if (old !== null && old !== copy) await removeCopy(old);
  }
}

async function removeCopy(copy: string): Promise<void> {
  await fs.rm(path.dirname(copy), { recursive: true, force: true });
}
