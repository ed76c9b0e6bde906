// The extension's commands (category "Tensorscope" in package.json): open a sharded model
// through its index, and reveal a tensor of the active model editor by name.

import * as vscode from 'vscode';
import { SHARDED_MODEL_EDITOR_VIEW_TYPE, type ModelEditorProvider } from './modelEditorProvider';

export const COMMANDS = {
  openShardedModel: 'tensorscope.openShardedModel',
  revealTensor: 'tensorscope.revealTensor',
} as const;

export function registerCommands(context: vscode.ExtensionContext, editors: ModelEditorProvider): void {
  context.subscriptions.push(
    vscode.commands.registerCommand(COMMANDS.openShardedModel, (uri?: vscode.Uri) => openShardedModel(uri)),
    vscode.commands.registerCommand(COMMANDS.revealTensor, (name?: string) => revealTensor(editors, name)),
  );
}

async function openShardedModel(uri: vscode.Uri | undefined): Promise<void> {
  if (!(uri instanceof vscode.Uri)) {
    const picked = await vscode.window.showOpenDialog({
      canSelectMany: false,
      openLabel: 'Open Sharded Model',
      filters: { 'Sharded safetensors index': ['json'] },
      title: 'Open a *.safetensors.index.json',
    });
    if (!picked?.[0]) return;
    uri = picked[0];
  }
  if (!/\.safetensors\.index\.json$/i.test(uri.path)) {
    void vscode.window.showErrorMessage(`Tensorscope: ${uri.path.split('/').pop()} is not a *.safetensors.index.json file`);
    return;
  }
  await vscode.commands.executeCommand('vscode.openWith', uri, SHARDED_MODEL_EDITOR_VIEW_TYPE);
}

async function revealTensor(editors: ModelEditorProvider, name: string | undefined): Promise<void> {
  const editor = editors.activeEditor();
  if (!editor) {
    void vscode.window.showInformationMessage('Tensorscope: open a model first (a .safetensors file).');
    return;
  }
  const names = editor.document.tensorNames();
  if (typeof name !== 'string') {
    name = await vscode.window.showQuickPick(names, {
      title: `Reveal Tensor in ${editor.document.fileName}`,
      placeHolder: 'Tensor name',
      matchOnDescription: true,
    });
    if (!name) return;
  } else if (!names.includes(name)) {
    void vscode.window.showErrorMessage(`Tensorscope: no tensor "${name}" in ${editor.document.fileName}`);
    return;
  }
  editor.panel.reveal(undefined, false);
  editor.reveal(name);
}
