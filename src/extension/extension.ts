// Extension entry: one engine per window (started on first use), the model editor, commands.

import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { WindowEngine } from './windowEngine';
import { ModelEditorProvider } from './modelEditorProvider';

/** What activate() returns: the window's engine client, for integration tests and other extensions. */
export interface TensorscopeApi {
  readonly engine: WindowEngine['client'];
}

export function activate(context: vscode.ExtensionContext): TensorscopeApi {
  const log = vscode.window.createOutputChannel('Tensorscope', { log: true });
  const engine = new WindowEngine(vscode.Uri.joinPath(context.extensionUri, 'dist', 'cli.js').fsPath, log);
  context.subscriptions.push(
    log,
    engine,
    // Open editors keep working (handles survive restarts); the user only gets a notice.
    engine.onDidRestart((reason) => void vscode.window.showWarningMessage(`Tensorscope engine restarted: ${reason}`)),
  );
  const editors = ModelEditorProvider.register(context, engine, log);
  registerCommands(context, editors);
  return { get engine() { return engine.client; } };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
