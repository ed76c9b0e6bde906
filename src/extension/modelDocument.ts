// A model opened in the model editor: the base model (a handle in the engine, header only)
// for now. Edits come next as an overlay of patch hunks on top of this base, with undo/redo
// and save; they belong here, so the provider can switch to a CustomEditorProvider with
// `onDidChangeCustomDocument` without restructuring.

import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ModelInfo } from '../shared/protocol';
import type { WindowEngine } from './windowEngine';

export type ModelLoad = { ok: true; handle: string; info: ModelInfo } | { ok: false; message: string };

export class ModelDocument implements vscode.CustomDocument {
  private readonly disposed = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposed.event;
  private closed = false;

  private constructor(
    readonly uri: vscode.Uri,
    /** The base model, or why it could not be opened (shown inside the editor, not as a crash). */
    readonly base: ModelLoad,
    private readonly engine: WindowEngine,
  ) {}

  static async open(uri: vscode.Uri, engine: WindowEngine): Promise<ModelDocument> {
    const name = path.basename(uri.fsPath);
    if (uri.scheme !== 'file') {
      return new ModelDocument(uri, { ok: false, message: `${name}: only files on disk can be opened (scheme "${uri.scheme}")` }, engine);
    }
    try {
      const { handle, info } = await engine.client.openModel(uri.fsPath);
      return new ModelDocument(uri, { ok: true, handle, info }, engine);
    } catch (err) {
      return new ModelDocument(uri, { ok: false, message: oneLine(err) }, engine);
    }
  }

  get fileName(): string {
    return path.basename(this.uri.fsPath);
  }

  /** Tensor names in file order (for quick picks). */
  tensorNames(): string[] {
    return this.base.ok ? this.base.info.tensors.map((t) => t.name) : [];
  }

  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.base.ok) {
      // Closing is best effort: the engine may already be gone when the window closes.
      this.engine.client.closeModel(this.base.handle).catch(() => undefined);
    }
    this.disposed.fire();
    this.disposed.dispose();
  }
}

/** A user-facing one-line message from anything thrown. */
export function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split(/\r?\n/).find((l) => l.trim() !== '')?.trim() ?? 'unknown error';
}
