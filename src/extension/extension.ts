// Extension entry: one engine per window (started on first use), the model editor, commands.
// activate() returns a small API (tests and other extensions): the engine client, and edits
// of an open model through its document (so they land on VS Code's undo stack).

import * as vscode from 'vscode';
import type { DocumentEdit, EditResult } from '../shared/protocol';
import { registerCommands } from './commands';
import type { EngineClient } from './engineClient';
import { WindowEngine } from './windowEngine';
import { ModelEditorProvider } from './modelEditorProvider';
import { registerReview } from './review/reviewCommands';
import { registerProjectionView } from './projection/projectionCommands';

export interface TensorscopeApi {
  readonly engine: EngineClient;
  /** Applies an edit to the open model `uri` as if made in its editor (undoable, marks it dirty). */
  applyEdit(uri: vscode.Uri, edit: DocumentEdit): Promise<EditResult>;
  /** The engine handle of the open model `uri` (reads through `engine` see its edits), if it is open. */
  modelHandle(uri: vscode.Uri): string | undefined;
}

export function activate(context: vscode.ExtensionContext): TensorscopeApi {
  const log = vscode.window.createOutputChannel('Tensorscope', { log: true });
  const engine = new WindowEngine(vscode.Uri.joinPath(context.extensionUri, 'dist', 'cli.js').fsPath, log);
  context.subscriptions.push(
    log,
    engine,
    // Open editors keep working (handles survive restarts, edits are replayed); the user only gets a notice.
    engine.onDidRestart((reason) => void vscode.window.showWarningMessage(`Tensorscope engine restarted: ${reason}`)),
  );
  const editors = ModelEditorProvider.register(context, engine, log);
  registerCommands(context, editors);
  registerReview(context, engine, log);
  registerProjectionView(context, engine, log, editors);
  return {
    get engine() {
      return engine.client;
    },
    async applyEdit(uri, edit) {
      const document = editors.documentFor(uri);
      if (!document) throw new Error(`${uri.fsPath} is not open in the model editor`);
      return document.applyEdit(edit);
    },
    modelHandle(uri) {
      const base = editors.documentFor(uri)?.base;
      return base?.ok ? base.handle : undefined;
    },
  };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
