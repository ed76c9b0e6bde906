// Which model a .stpatch applies to. A patch names its base by content (sizes and hashes),
// not by path, so the editor finds a candidate and the engine checks it: the model chosen
// before for this patch (remembered in workspaceState), else `<name>.safetensors` (or
// `<name>.safetensors.index.json`) beside `<name>.stpatch`, the pair the model editor saves.
// Otherwise the user picks one once, from the workspace's models, and it is remembered.

import * as vscode from 'vscode';

const STATE_KEY = 'tensorscope.patchBases';
const MAX_PICKS = 500;

export interface BaseCandidate {
  uri: vscode.Uri;
  how: 'remembered' | 'beside';
}

export class BaseModels {
  constructor(private readonly state: vscode.Memento) {}

  async find(patch: vscode.Uri): Promise<BaseCandidate | undefined> {
    const remembered = this.remembered()[patch.toString()];
    if (remembered) {
      const uri = vscode.Uri.parse(remembered);
      if (await exists(uri)) return { uri, how: 'remembered' };
    }
    for (const uri of besideCandidates(patch)) if (await exists(uri)) return { uri, how: 'beside' };
    return undefined;
  }

  /** Asks for a base (quick pick of the workspace's models, or a file dialog) and remembers it. */
  async choose(patch: vscode.Uri): Promise<vscode.Uri | undefined> {
    const found = await vscode.workspace.findFiles('**/*.{safetensors,safetensors.index.json}', '**/node_modules/**', MAX_PICKS);
    const browse = { label: '$(folder-opened) Browse…', uri: undefined as vscode.Uri | undefined };
    const items = found
      .sort((a, b) => a.fsPath.localeCompare(b.fsPath))
      .map((uri) => ({ label: vscode.workspace.asRelativePath(uri, false), uri: uri as vscode.Uri | undefined }));
    const pick = await vscode.window.showQuickPick([...items, browse], {
      title: `Base model for ${patch.path.split('/').pop()}`,
      placeHolder: 'The model this patch applies to (checked by its content hashes)',
      matchOnDescription: true,
    });
    if (!pick) return undefined;
    let uri = pick.uri;
    if (!uri) {
      const chosen = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'Safetensors model': ['safetensors', 'json'] }, openLabel: 'Use as Base' });
      uri = chosen?.[0];
    }
    if (uri) await this.remember(patch, uri);
    return uri;
  }

  async remember(patch: vscode.Uri, base: vscode.Uri): Promise<void> {
    await this.state.update(STATE_KEY, { ...this.remembered(), [patch.toString()]: base.toString() });
  }

  private remembered(): Record<string, string> {
    return this.state.get<Record<string, string>>(STATE_KEY) ?? {};
  }
}

/** `x.stpatch` -> `x.safetensors`, `x.safetensors.index.json` in the same folder. */
export function besideCandidates(patch: vscode.Uri): vscode.Uri[] {
  const name = patch.path.split('/').pop() ?? '';
  const stem = name.replace(/\.stpatch$/i, '');
  const dir = vscode.Uri.joinPath(patch, '..');
  return [vscode.Uri.joinPath(dir, `${stem}.safetensors`), vscode.Uri.joinPath(dir, `${stem}.safetensors.index.json`)];
}

async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    return (await vscode.workspace.fs.stat(uri)).type === vscode.FileType.File;
  } catch {
    return false;
  }
}
