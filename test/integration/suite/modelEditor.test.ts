// Opening models in the custom editor: a good model gets a model-editor tab; a malformed
// one is reported without taking the extension host down.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { MODEL_EDITOR, SHARDED_EDITOR, activeExtension, closeAllEditors, modelEditorTabs, waitFor, workspaceUri } from './helpers';

describe('model editor', () => {
  before(async () => {
    await activeExtension();
  });
  afterEach(closeAllEditors);

  it('opens a .safetensors file as a model-editor tab', async () => {
    const uri = workspaceUri('models', 'tiny-llama.safetensors');
    await vscode.commands.executeCommand('vscode.openWith', uri, MODEL_EDITOR);
    const found = await waitFor('a model-editor tab', () => modelEditorTabs().find((t) => t.input.uri.toString() === uri.toString()));
    assert.equal(found.input.viewType, MODEL_EDITOR);
    assert.equal(found.tab.label, 'tiny-llama.safetensors');
    assert.equal(found.tab.isActive, true);
  });

  it('opens a sharded model through its index.json', async () => {
    const uri = workspaceUri('models', 'sharded-llama', 'model.safetensors.index.json');
    await vscode.commands.executeCommand('vscode.openWith', uri, SHARDED_EDITOR);
    const found = await waitFor('a sharded-model tab', () => modelEditorTabs(SHARDED_EDITOR).find((t) => t.input.uri.toString() === uri.toString()));
    assert.equal(found.input.viewType, SHARDED_EDITOR);
  });

  it('reports a malformed file and keeps working', async () => {
    const broken = workspaceUri('broken', 'bad_json.safetensors');
    // Opening may reject or show the error inside the editor; either way the host survives.
    await Promise.resolve(vscode.commands.executeCommand('vscode.openWith', broken, MODEL_EDITOR)).catch(() => undefined);
    await closeAllEditors();
    const good = workspaceUri('models', 'conv-net.safetensors');
    await vscode.commands.executeCommand('vscode.openWith', good, MODEL_EDITOR);
    await waitFor('the good model to open after the broken one', () => modelEditorTabs().find((t) => t.input.uri.toString() === good.toString()));
    const ext = await activeExtension();
    assert.equal(ext.isActive, true);
  });
});
