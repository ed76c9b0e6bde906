// Workspace Trust: in an untrusted workspace (Restricted Mode) Tensorscope only reads.
// Every action that writes a file outside the model editor (which has its own read-only
// mode, modelDocument.readOnlyReason) asks here first; the check is in the extension host,
// so a webview cannot get around it.

import * as vscode from 'vscode';

/** In an untrusted workspace: says why `action` writes nothing (one line) and returns true. */
export function refuseUntrustedWrite(action: string): boolean {
  if (vscode.workspace.isTrusted) return false;
  void vscode.window.showErrorMessage(`Tensorscope: ${action} is not available: this workspace is not trusted (Restricted Mode writes no files).`);
  return true;
}
