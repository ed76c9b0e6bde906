// Shared helpers for the extension-host tests: the extension under test and the
// workspace that test/e2e/run.mjs generated (models/, broken/).
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

export const EXTENSION_ID = 'tensorscope.tensorscope';
export const MODEL_EDITOR = 'tensorscope.modelEditor';
export const SHARDED_EDITOR = 'tensorscope.shardedModelEditor';

export function workspaceUri(...parts: string[]): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the test workspace folder is open');
  return vscode.Uri.joinPath(folder.uri, ...parts);
}

export async function activeExtension(): Promise<vscode.Extension<unknown>> {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is installed in the extension development host`);
  await ext.activate();
  return ext;
}

/** Custom-editor tabs of `viewType`, in every tab group. */
export function modelEditorTabs(viewType = MODEL_EDITOR): { tab: vscode.Tab; input: vscode.TabInputCustom }[] {
  return vscode.window.tabGroups.all
    .flatMap((g) => g.tabs)
    .filter((t) => t.input instanceof vscode.TabInputCustom && t.input.viewType === viewType)
    .map((tab) => ({ tab, input: tab.input as vscode.TabInputCustom }));
}

/** Polls `check` until it returns a truthy value or the time runs out. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function closeAllEditors(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}
