// The extension loads in a real VS Code and registers what its manifest promises.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { MODEL_EDITOR, SHARDED_EDITOR, activeExtension } from './helpers';

describe('activation', () => {
  it('activates without error', async () => {
    const ext = await activeExtension();
    assert.equal(ext.isActive, true);
  });

  it('registers every command its package.json contributes', async () => {
    const ext = await activeExtension();
    const contributed: string[] = (ext.packageJSON.contributes?.commands ?? []).map((c: { command: string }) => c.command);
    assert.ok(contributed.length > 0, 'package.json contributes commands');
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = contributed.filter((c) => !registered.has(c));
    assert.deepEqual(missing, [], 'contributed commands without a handler');
  });

  it('contributes the model editor for .safetensors and index.json files', async () => {
    const ext = await activeExtension();
    const editors: { viewType: string; selector: { filenamePattern: string }[] }[] = ext.packageJSON.contributes?.customEditors ?? [];
    const patterns = (viewType: string) => editors.find((e) => e.viewType === viewType)?.selector.map((s) => s.filenamePattern);
    assert.deepEqual(patterns(MODEL_EDITOR), ['*.safetensors']);
    assert.deepEqual(patterns(SHARDED_EDITOR), ['*.safetensors.index.json']);
  });
});
