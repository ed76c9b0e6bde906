// A model opened in the model editor: the base model (a handle in the engine, header only)
// and its edits. The engine holds the edited bytes (an overlay over the base); the host
// keeps the record of edits (DocumentEdits) that VS Code's undo stack points into, and the
// .stpatch file the document is tied to (loaded from or saved to). Save writes the edits as
// that patch; Save As / Bake write a new model; backups keep unsaved edits across reloads.
// Nothing is written in an untrusted workspace.

import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DocumentEdit, EditResult, EngineProgress, ModelInfo } from '../shared/protocol';
import { DocumentEdits, type EditEntry } from './documentEdits';
import { readBackup, writeBackup } from './editBackup';
import type { WindowEngine } from './windowEngine';

export type ModelLoad = { ok: true; handle: string; info: ModelInfo } | { ok: false; message: string };

/** What every document needs from the extension. */
export interface DocumentServices {
  engine: WindowEngine;
  /** Per-model memory of a patch file the user chose (workspaceState). */
  patchFiles: PatchFileMemory;
  /** A private folder for copies of loaded patches. */
  copiesDir: string;
  log: vscode.LogOutputChannel;
}

export class PatchFileMemory {
  constructor(private readonly state: vscode.Memento) {}

  /** The patch file for a model: the one chosen before, else `<model>.stpatch` beside it. */
  get(modelPath: string): string {
    return this.state.get<string>(this.key(modelPath)) ?? defaultPatchPath(modelPath);
  }

  remember(modelPath: string, patchPath: string): Thenable<void> {
    return this.state.update(this.key(modelPath), patchPath === defaultPatchPath(modelPath) ? undefined : patchPath);
  }

  private key(modelPath: string): string {
    return `tensorscope.patchFile:${modelPath}`;
  }
}

/** `x.safetensors` and `x.safetensors.index.json` -> `x.stpatch` in the same folder. */
export function defaultPatchPath(modelPath: string): string {
  const dir = path.dirname(modelPath);
  const stem = path.basename(modelPath).replace(/\.safetensors(\.index\.json)?$/i, '');
  return path.join(dir, `${stem}.stpatch`);
}

/** Why edits are refused, or undefined when they are allowed. */
export function readOnlyReason(): string | undefined {
  return vscode.workspace.isTrusted ? undefined : 'This workspace is not trusted: the model opens read-only (no edits, saves or bakes).';
}

export class ModelDocument implements vscode.CustomDocument {
  private readonly disposed = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposed.event;
  /** An undoable edit was made (the provider passes it to VS Code). */
  private readonly edited = new vscode.EventEmitter<vscode.CustomDocumentEditEvent<ModelDocument>>();
  readonly onDidEdit = this.edited.event;
  /** The bytes changed (edit, undo, redo, revert, patch loaded): editors re-request what they show. */
  private readonly contentChanged = new vscode.EventEmitter<void>();
  readonly onDidChangeContent = this.contentChanged.event;
  private closed = false;
  /** The .stpatch whose content is the saved state (loaded or saved here); undefined: none yet. */
  private patchFile: string | undefined;
  /** The applied edits when last saved (or loaded): the document is dirty when they differ. */
  private savedEdits: readonly EditEntry[] = [];

  private constructor(
    readonly uri: vscode.Uri,
    /** The base model, or why it could not be opened (shown inside the editor, not as a crash). */
    readonly base: ModelLoad,
    private readonly services: DocumentServices,
    /** The edit record; undefined when the model did not open. */
    readonly edits: DocumentEdits | undefined,
  ) {
    if (edits) {
      // A replaced engine gets the edits replayed before anything reads from it.
      const sub = services.engine.onDidRestart(() => void edits.resync().catch((err) => this.services.log.error(oneLine(err))));
      this.disposed.event(() => sub.dispose());
    }
  }

  static async open(uri: vscode.Uri, services: DocumentServices, backupId?: string): Promise<ModelDocument> {
    const name = path.basename(uri.fsPath);
    if (uri.scheme !== 'file') {
      return new ModelDocument(uri, { ok: false, message: `${name}: only files on disk can be opened (scheme "${uri.scheme}")` }, services, undefined);
    }
    let doc: ModelDocument;
    try {
      const { handle, info } = await services.engine.client.openModel(uri.fsPath);
      doc = new ModelDocument(uri, { ok: true, handle, info }, services, new DocumentEdits(services.engine.client, handle, services.copiesDir));
    } catch (err) {
      return new ModelDocument(uri, { ok: false, message: oneLine(err) }, services, undefined);
    }
    if (backupId) await doc.restoreBackup(vscode.Uri.parse(backupId).fsPath);
    return doc;
  }

  get fileName(): string {
    return path.basename(this.uri.fsPath);
  }

  /** Tensor names in file order (for quick picks). */
  tensorNames(): string[] {
    return this.base.ok ? this.base.info.tensors.map((t) => t.name) : [];
  }

  /** The patch file Save writes. */
  get patchTarget(): string {
    return this.patchFile ?? this.services.patchFiles.get(this.uri.fsPath);
  }

  get isDirty(): boolean {
    const now = this.edits?.edits ?? [];
    return now.length !== this.savedEdits.length || now.some((e, i) => e !== this.savedEdits[i]);
  }

  /** Reads wait for pending edits (and an engine-restart replay) to finish. */
  async settled(): Promise<void> {
    await this.edits?.settled();
  }

  // ---- edits ----

  async applyEdit(edit: DocumentEdit): Promise<EditResult> {
    const edits = this.requireWritable('edit');
    const { entry, result } = await edits.apply(edit);
    if (entry) {
      this.edited.fire({
        document: this,
        label: entry.summary,
        undo: async () => {
          await edits.undo(entry);
          this.contentChanged.fire();
        },
        redo: async () => {
          await edits.redo(entry);
          this.contentChanged.fire();
        },
      });
      this.contentChanged.fire();
    }
    return result;
  }

  /** Makes a .stpatch the document's saved state (refused while there are unsaved edits). */
  async loadPatch(patchPath: string): Promise<string> {
    const edits = this.requireModel();
    if (this.isDirty) throw new Error(`${this.fileName} has unsaved edits: save or revert them before loading ${path.basename(patchPath)}`);
    const r = await edits.loadPatch(patchPath);
    this.patchFile = patchPath;
    this.savedEdits = [...edits.edits];
    this.contentChanged.fire();
    return r.summary;
  }

  // ---- save, save as, bake, revert, backup (CustomEditorProvider) ----

  async save(): Promise<void> {
    const edits = this.requireWritable('save');
    const target = this.patchTarget;
    if (this.patchFile !== target && (await exists(target))) {
      // A patch we did not load would be replaced by one without its edits.
      const choice = await vscode.window.showWarningMessage(
        `${path.basename(target)} exists and was not loaded into ${this.fileName}. Replace it with the current edits?`,
        { modal: true },
        'Replace',
      );
      if (choice !== 'Replace') throw new Error(`${path.basename(target)} was not replaced`);
    }
    await this.savePatchTo(edits, target);
  }

  /** Makes a chosen .stpatch this model's patch file (remembered per model): Save writes it from now on. */
  async choosePatchFile(target: string): Promise<void> {
    this.requireWritable('save');
    this.patchFile = target;
    await this.services.patchFiles.remember(this.uri.fsPath, target);
  }

  private async savePatchTo(edits: DocumentEdits, target: string): Promise<void> {
    const r = await edits.savePatch(target);
    this.patchFile = target;
    this.savedEdits = [...edits.edits];
    this.services.log.info(`saved ${target}: ${r.summary}`);
  }

  /** Save As: a new model with the edits baked in. */
  async saveAs(destination: vscode.Uri, onProgress?: (p: EngineProgress) => void): Promise<void> {
    if (/\.stpatch$/i.test(destination.path)) {
      throw new Error(`Save As writes a new model (.safetensors); use "Tensorscope: Save Edits as Patch…" to choose a .stpatch file`);
    }
    await this.bake(destination.fsPath, onProgress);
  }

  async bake(outPath: string, onProgress?: (p: EngineProgress) => void): Promise<string> {
    const edits = this.requireWritable('bake');
    const r = await edits.bake(outPath, onProgress);
    this.services.log.info(`baked ${r.path}: ${r.summary}`);
    return r.summary;
  }

  /** Back to what is on disk: the base plus the document's patch file, if it has one. */
  async revert(): Promise<void> {
    const edits = this.requireModel();
    await edits.discard();
    if (this.patchFile && (await exists(this.patchFile))) {
      try {
        await edits.loadPatch(this.patchFile);
      } catch (err) {
        void vscode.window.showErrorMessage(`Tensorscope: ${oneLine(err)}`);
        this.patchFile = undefined;
      }
    }
    this.savedEdits = [...edits.edits];
    this.contentChanged.fire();
  }

  async backup(destination: vscode.Uri): Promise<vscode.CustomDocumentBackup> {
    const edits = this.requireModel();
    await edits.settled();
    const info = (this.base as { info: ModelInfo }).info;
    try {
      await writeBackup(destination.fsPath, this.uri.fsPath, info.files.map((f) => f.path), this.patchFile ?? null, edits.snapshot());
    } catch (err) {
      this.services.log.error(`${this.fileName}: backup to ${destination.toString()} failed: ${oneLine(err)}`);
      throw err;
    }
    this.services.log.info(`${this.fileName}: backed up ${edits.edits.length} unsaved edit(s) to ${destination.toString()}`);
    return { id: destination.toString(), delete: () => void fs.rm(destination.fsPath, { force: true }).catch(() => undefined) };
  }

  private async restoreBackup(file: string): Promise<void> {
    const edits = this.requireModel();
    try {
      const { header, snapshot } = await readBackup(file, this.services.copiesDir);
      try {
        await edits.restore(snapshot);
      } finally {
        if (snapshot.baseline) await fs.rm(snapshot.baseline, { force: true });
      }
      this.patchFile = header.patchFile ?? undefined;
      // The restored edits are unsaved: the document stays dirty until saved.
      this.savedEdits = [];
      this.services.log.info(`${this.fileName}: restored ${snapshot.edits.length} unsaved edit(s) from a backup`);
    } catch (err) {
      this.services.log.warn(`${this.fileName}: backup ${file} not restored: ${oneLine(err)}`);
      void vscode.window.showWarningMessage(`Tensorscope: the unsaved edits of ${this.fileName} were not restored: ${oneLine(err)}`);
    }
  }

  private requireModel(): DocumentEdits {
    if (!this.edits) throw new Error(this.base.ok ? `${this.fileName} is not open` : this.base.message);
    return this.edits;
  }

  private requireWritable(what: string): DocumentEdits {
    const edits = this.requireModel();
    const reason = readOnlyReason();
    if (reason) throw new Error(`cannot ${what} ${this.fileName}: the workspace is not trusted`);
    return edits;
  }

  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    const edits = this.edits;
    if (this.base.ok) {
      const handle = this.base.handle;
      // Closing is best effort: the engine may already be gone when the window closes.
      void (async () => {
        await edits?.dispose().catch(() => undefined);
        await this.services.engine.client.closeModel(handle).catch(() => undefined);
      })();
    }
    this.disposed.fire();
    this.disposed.dispose();
    this.edited.dispose();
    this.contentChanged.dispose();
  }
}

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(
    () => true,
    () => false,
  );
}

/** A user-facing one-line message from anything thrown. */
export function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split(/\r?\n/).find((l) => l.trim() !== '')?.trim() ?? 'unknown error';
}
