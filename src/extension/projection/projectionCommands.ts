// "Tensorscope: Project Tensor Rows…": opens the clustering view of a 2-D tensor. Arguments
// (all optional): the model's Uri (Explorer context menu, or the model editor's "Project
// Rows" button) and the tensor's name. Without a Uri it uses the model of the active model
// editor tab, else asks for a file; without a tensor it offers the model's 2-D tensors.
// One view per (model, tensor): asking again reveals it. When the model is open in a model
// editor of this window, the view reads the rows through that editor's edits (its document,
// found by Uri); an open view switches over to an editor opened later (when asked again, or
// when the view is next active).

import * as path from 'node:path';
import * as vscode from 'vscode';
import type { TensorInfo } from '../../shared/protocol';
import type { ModelEditorProvider } from '../modelEditorProvider';
import type { WindowEngine } from '../windowEngine';
import { ProjectionPanel } from './projectionPanel';

export const PROJECT_ROWS_COMMAND = 'tensorscope.projectRows';
const MODEL_EDITOR_VIEW_TYPES = ['tensorscope.modelEditor', 'tensorscope.shardedModelEditor'];

export function registerProjectionView(context: vscode.ExtensionContext, engine: WindowEngine, log: vscode.LogOutputChannel, editors: ModelEditorProvider): void {
  const panels = new Map<string, ProjectionPanel>();
  context.subscriptions.push(
    vscode.commands.registerCommand(PROJECT_ROWS_COMMAND, (uri?: unknown, tensor?: unknown) =>
      projectRows(uri, tensor).catch((err: unknown) => void vscode.window.showErrorMessage(`Tensorscope: ${(err as Error).message?.split('\n')[0] ?? String(err)}`)),
    ),
    { dispose: () => [...panels.values()].forEach((p) => p.dispose()) },
  );

  async function projectRows(uriArg: unknown, tensorArg: unknown): Promise<void> {
    const uri = uriArg instanceof vscode.Uri ? uriArg : activeModelUri() ?? (await pickModelFile());
    if (!uri) return;
    if (uri.scheme !== 'file') throw new Error(`${path.basename(uri.path)}: only files on disk can be projected`);
    const modelPath = uri.fsPath;
    const tensor = typeof tensorArg === 'string' ? tensorArg : await pickTensor(modelPath);
    if (!tensor) return;
    const key = `${modelPath}\n${tensor}`;
    const findDocument = () => editors.documentFor(uri);
    const open = panels.get(key);
    if (open) {
      const document = findDocument();
      if (document) open.readThrough(document);
      return open.reveal();
    }
    const panel = new ProjectionPanel(modelPath, tensor, findDocument, context.extensionUri, engine, log);
    panels.set(key, panel);
    panel.onDidDispose(() => panels.delete(key));
  }

  /** The 2-D tensors of the model (its header, read by the engine), as a quick pick. */
  async function pickTensor(modelPath: string): Promise<string | undefined> {
    const { handle, info } = await engine.client.openModel(modelPath);
    void engine.client.closeModel(handle);
    const items = info.tensors.filter(isMatrix).map((t) => ({ label: t.name, description: `[${t.shape.join(', ')}] ${t.dtype}` }));
    const name = path.basename(modelPath);
    if (items.length === 0) {
      void vscode.window.showInformationMessage(`Tensorscope: ${name} has no 2-D tensor to project`);
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(items, { title: `Project Rows of a Tensor in ${name}`, placeHolder: 'A 2-D tensor [rows, features]', matchOnDescription: true });
    return picked?.label;
  }
}

function isMatrix(t: TensorInfo): boolean {
  return t.shape.length === 2 && t.shape[0] > 1 && t.shape[1] > 0 && t.dtype !== 'C64';
}

/** The model of the active model editor tab, else of one shown in another editor group. */
function activeModelUri(): vscode.Uri | undefined {
  const groups = vscode.window.tabGroups;
  for (const group of [groups.activeTabGroup, ...groups.all]) {
    const input = group.activeTab?.input;
    if (input instanceof vscode.TabInputCustom && MODEL_EDITOR_VIEW_TYPES.includes(input.viewType)) return input.uri;
  }
  return undefined;
}

async function pickModelFile(): Promise<vscode.Uri | undefined> {
  const picked = await vscode.window.showOpenDialog({
    canSelectMany: false,
    openLabel: 'Project Rows',
    filters: { Models: ['safetensors', 'json'] },
    title: 'Choose a model (.safetensors or .safetensors.index.json)',
  });
  return picked?.[0];
}
