// Editing through VS Code's own commands: an edit (through the extension's API, as the
// webview makes it) marks the model dirty; `undo` / `redo` / save / revert are VS Code's
// commands; Bake is the extension's. Values are read back through the engine.
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as vscode from 'vscode';
import type { DocumentEdit, EditResult, ElementInfo, ModelInfo } from '../../../src/shared/protocol';
import { MODEL_EDITOR, activeExtension, closeAllEditors, modelEditorTabs, waitFor, workspaceUri } from './helpers';

interface Api {
  engine: {
    openModel(path: string): Promise<{ handle: string; info: ModelInfo }>;
    closeModel(handle: string): Promise<void>;
    request(method: 'element', params: { modelId: string; tensor: string; slice: string; row: number; col: number }): Promise<ElementInfo>;
  };
  applyEdit(uri: vscode.Uri, edit: DocumentEdit): Promise<EditResult>;
  modelHandle(uri: vscode.Uri): string | undefined;
}

const TENSOR = 'debug.activations_with_nan';

describe('editing through VS Code commands', () => {
  let api: Api;
  const uri = () => workspaceUri('models', 'quantized.safetensors');
  const isDirty = () => modelEditorTabs().find((t) => t.input.uri.toString() === uri().toString())?.tab.isDirty;
  const value = async (handle: string, row: number, col: number) => (await api.engine.request('element', { modelId: handle, tensor: TENSOR, slice: '[:, :]', row, col })).text;

  let autoSave: unknown;
  before(async () => {
    api = (await activeExtension()).exports as Api;
    await closeAllEditors();
    // The web workbench auto-saves after a delay by default; the dirty states here are ours.
    const files = vscode.workspace.getConfiguration('files');
    autoSave = files.inspect('autoSave')?.globalValue;
    await files.update('autoSave', 'off', vscode.ConfigurationTarget.Global);
  });
  after(async () => {
    await closeAllEditors();
    await vscode.workspace.getConfiguration('files').update('autoSave', autoSave, vscode.ConfigurationTarget.Global);
  });

  it('edit, undo, redo, save (.stpatch), revert, bake', async () => {
    await vscode.commands.executeCommand('vscode.openWith', uri(), MODEL_EDITOR);
    const handle = await waitFor('the model document', () => api.modelHandle(uri()));
    const original = await value(handle, 1, 2);

    const r = await api.applyEdit(uri(), { type: 'element', tensor: TENSOR, slice: '[:, :]', row: 1, col: 2, value: 0.1 });
    assert.equal(r.changedElements, 1);
    assert.equal(await value(handle, 1, 2), String(Math.fround(0.1)));
    await waitFor('the editor to be dirty', () => isDirty() === true);

    await vscode.commands.executeCommand('undo');
    await waitFor('undo', async () => (await value(handle, 1, 2)) === original);
    await waitFor('clean after undo', () => isDirty() === false);
    await vscode.commands.executeCommand('redo');
    await waitFor('redo', async () => (await value(handle, 1, 2)) === String(Math.fround(0.1)));
    await waitFor('dirty after redo', () => isDirty() === true);

    await vscode.commands.executeCommand('workbench.action.files.save');
    await waitFor('clean after save', () => isDirty() === false);
    const patchPath = workspaceUri('models', 'quantized.stpatch').fsPath;
    assert.ok(existsSync(patchPath), 'quantized.stpatch beside the model');
    assert.match(readFileSync(patchPath, 'utf8'), /^# op: set \[1, 2\] to 0\.1$/m);

    // Revert goes back to what is on disk: the base plus the saved patch.
    await api.applyEdit(uri(), { type: 'region', tensor: TENSOR, slice: '[:, :]', op: { kind: 'zero' } });
    assert.equal(await value(handle, 5, 5), '0');
    await vscode.commands.executeCommand('workbench.action.files.revert');
    await waitFor('revert', async () => (await value(handle, 1, 2)) === String(Math.fround(0.1)) && (await value(handle, 5, 5)) !== '0');
    assert.equal(isDirty(), false);

    // Bake writes a new model with the edits in it.
    const baked = workspaceUri('models', 'quantized.baked.safetensors');
    await vscode.commands.executeCommand('tensorscope.bake', baked);
    await waitFor('the baked model', () => existsSync(baked.fsPath));
    const opened = await api.engine.openModel(baked.fsPath);
    try {
      assert.equal(await value(opened.handle, 1, 2), String(Math.fround(0.1)));
      assert.equal(await value(opened.handle, 0, 0), await value(handle, 0, 0));
    } finally {
      await api.engine.closeModel(opened.handle);
    }
  });
});
