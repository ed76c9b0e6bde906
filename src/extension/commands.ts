// The extension's commands (category "Tensorscope" in package.json): open a sharded model
// through its index, reveal a tensor of the active model editor by name, and the edit
// commands of the active model: bake into a new model, save the edits as a chosen patch,
// load a patch.

import * as path from 'node:path';
import * as vscode from 'vscode';
import { oneLine, readOnlyReason, type ModelDocument } from './modelDocument';
import { SHARDED_MODEL_EDITOR_VIEW_TYPE, withBakeProgress, type ModelEditorProvider } from './modelEditorProvider';

export const COMMANDS = {
  openShardedModel: 'tensorscope.openShardedModel',
  revealTensor: 'tensorscope.revealTensor',
  bake: 'tensorscope.bake',
  savePatchAs: 'tensorscope.savePatchAs',
  loadPatch: 'tensorscope.loadPatch',
} as const;

export function registerCommands(context: vscode.ExtensionContext, editors: ModelEditorProvider): void {
  context.subscriptions.push(
    vscode.commands.registerCommand(COMMANDS.openShardedModel, (uri?: vscode.Uri) => openShardedModel(uri)),
    vscode.commands.registerCommand(COMMANDS.revealTensor, (name?: string) => revealTensor(editors, name)),
    vscode.commands.registerCommand(COMMANDS.bake, (target?: vscode.Uri) => bake(editors, target)),
    vscode.commands.registerCommand(COMMANDS.savePatchAs, (target?: vscode.Uri) => savePatchAs(editors, target)),
    vscode.commands.registerCommand(COMMANDS.loadPatch, (source?: vscode.Uri) => loadPatch(editors, source)),
  );
}

/** The active model editor's document, or a message saying there is none. */
function activeDocument(editors: ModelEditorProvider, writes: boolean): ModelDocument | undefined {
  const document = editors.activeEditor()?.document;
  if (!document || !document.base.ok) {
    void vscode.window.showInformationMessage('Tensorscope: open a model first (a .safetensors file).');
    return undefined;
  }
  const reason = writes ? readOnlyReason() : undefined;
  if (reason) {
    void vscode.window.showErrorMessage(`Tensorscope: ${reason}`);
    return undefined;
  }
  return document;
}

/** Reports a failed command as one line (no stack, no crash). */
async function reportErrors(work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    void vscode.window.showErrorMessage(`Tensorscope: ${oneLine(err)}`);
  }
}

async function bake(editors: ModelEditorProvider, target: vscode.Uri | undefined): Promise<void> {
  const document = activeDocument(editors, true);
  if (!document) return;
  if (!(target instanceof vscode.Uri)) {
    const stem = document.fileName.replace(/\.safetensors(\.index\.json)?$/i, '');
    target = await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.joinPath(document.uri, '..', `${stem}.patched.safetensors`),
      filters: { Safetensors: ['safetensors'] },
      saveLabel: 'Bake',
      title: `Bake the edits of ${document.fileName} into a new model`,
    });
    if (!target) return;
  }
  const out = target;
  await reportErrors(async () => {
    const summary = await withBakeProgress(path.basename(out.fsPath), (onProgress) => document.bake(out.fsPath, onProgress));
    void vscode.window.showInformationMessage(`Tensorscope: wrote ${path.basename(out.fsPath)} (${summary})`);
  });
}

async function savePatchAs(editors: ModelEditorProvider, target: vscode.Uri | undefined): Promise<void> {
  const document = activeDocument(editors, true);
  if (!document) return;
  if (!(target instanceof vscode.Uri)) {
    target = await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.file(document.patchTarget),
      filters: { 'Tensorscope patch': ['stpatch'] },
      saveLabel: 'Save Patch',
      title: `Save the edits of ${document.fileName} as a patch`,
    });
    if (!target) return;
  }
  const out = target;
  await reportErrors(async () => {
    await document.choosePatchFile(out.fsPath);
    // VS Code's own save (so the editor's dirty mark clears), or a plain write when nothing is unsaved.
    if (document.isDirty) await vscode.workspace.save(document.uri);
    else await document.save();
    void vscode.window.showInformationMessage(`Tensorscope: saved the edits of ${document.fileName} to ${path.basename(out.fsPath)}`);
  });
}

async function loadPatch(editors: ModelEditorProvider, source: vscode.Uri | undefined): Promise<void> {
  const document = activeDocument(editors, false);
  if (!document) return;
  if (!(source instanceof vscode.Uri)) {
    const picked = await vscode.window.showOpenDialog({
      defaultUri: vscode.Uri.joinPath(document.uri, '..'),
      filters: { 'Tensorscope patch': ['stpatch'] },
      openLabel: 'Load Patch',
      title: `Load a patch into ${document.fileName}`,
    });
    if (!picked?.[0]) return;
    source = picked[0];
  }
  const from = source;
  await reportErrors(async () => {
    const summary = await document.loadPatch(from.fsPath);
    void vscode.window.showInformationMessage(`Tensorscope: loaded ${path.basename(from.fsPath)} (${summary})`);
  });
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
