// Review features' registration: the patch editor, and the commands
//   Tensorscope: Set Up Git Diff for Models   (.gitattributes + local textconv config)
//   Tensorscope: Compare Models               (Explorer: two selected models, or pick)
//   Tensorscope: Compare with HEAD            (.safetensors, sharded index: compare view; .stpatch: semantic diff)
// Git is run as plain `git` (git.ts): it works whether or not the built-in git extension is
// enabled, and committed models are streamed by the engine (gitBlob), never through here.

import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseGitUri } from '../patchEditor/gitUri';
import { PatchEditorProvider, setUpWebview } from '../patchEditor/patchEditorProvider';
import { refuseUntrustedWrite } from '../trust';
import type { WindowEngine } from '../windowEngine';
import { CompareSession, type CompareInputs } from './compareSession';
import { describeRev, existsAt, repoPath, repoRoot, showText } from './git';
import { plannedSetup, setUpGitDiff, textconvCommand, ATTRIBUTES_LINE, TEXTCONV_KEY } from './gitSetup';
import { baseName, oneLine } from './messages';
import { PatchChangesSession } from './patchChanges';

export const REVIEW_COMMANDS = {
  setUpGitDiff: 'tensorscope.setUpGitDiff',
  compareModels: 'tensorscope.compareModels',
  compareWithHead: 'tensorscope.compareWithHead',
} as const;

const MODEL_FILE = /\.safetensors(\.index\.json)?$/i;

export function registerReview(context: vscode.ExtensionContext, engine: WindowEngine, log: vscode.LogOutputChannel): void {
  PatchEditorProvider.register(context, engine, log);
  const review = new Review(context, engine, log);
  const guarded =
    <A extends unknown[]>(fn: (...args: A) => Promise<void>) =>
    (...args: A) =>
      fn(...args).catch((err) => void vscode.window.showErrorMessage(`Tensorscope: ${oneLine(err)}`));
  context.subscriptions.push(
    vscode.commands.registerCommand(REVIEW_COMMANDS.setUpGitDiff, guarded((uri?: unknown) => review.setUpGitDiff(asUri(uri)))),
    vscode.commands.registerCommand(REVIEW_COMMANDS.compareModels, guarded((uri?: unknown, uris?: unknown) => review.compareModels(asUri(uri), Array.isArray(uris) ? uris.map(asUri).filter(isUri) : []))),
    vscode.commands.registerCommand(REVIEW_COMMANDS.compareWithHead, guarded((arg?: unknown) => review.compareWithHead(asUri(arg) ?? activeResource()))),
  );
}

class Review {
  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly engine: WindowEngine,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  async setUpGitDiff(uri: vscode.Uri | undefined): Promise<void> {
    if (refuseUntrustedWrite('Set Up Git Diff for Models')) return;
    const root = await this.pickRepository(uri);
    if (!root) return;
    const cli = vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'cli.js').fsPath;
    const command = textconvCommand(process.execPath, cli);
    const plan = await plannedSetup(root);
    if (!plan.attributesAdded && plan.previousCommand === command) {
      void vscode.window.showInformationMessage(`Tensorscope: git diff already shows models as text in ${baseName(root)}.`);
      return;
    }
    const detail = [
      plan.attributesAdded ? `Append to .gitattributes:\n  ${ATTRIBUTES_LINE}` : `.gitattributes already has:\n  ${ATTRIBUTES_LINE}`,
      `Set in this repository's local git config (.git/config):\n  ${TEXTCONV_KEY} = ${command}`,
      plan.previousCommand !== null ? `(it is now: ${plan.previousCommand})` : '',
      'Then `git diff` lists the tensors that changed in .safetensors files, with their statistics.',
    ]
      .filter(Boolean)
      .join('\n\n');
    const ok = await vscode.window.showInformationMessage(`Set up git diff for models in ${root}?`, { modal: true, detail }, 'Set Up');
    if (ok !== 'Set Up') return;
    const done = await setUpGitDiff(root, command);
    this.log.info(`git diff set up in ${root}: ${TEXTCONV_KEY} = ${command}${done.attributesAdded ? `; appended "${ATTRIBUTES_LINE}" to ${done.attributesFile}` : ''}`);
    void vscode.window.showInformationMessage(`Tensorscope: git diff now shows .safetensors files as text in ${baseName(root)}${done.attributesAdded ? ' (.gitattributes changed: commit it to share the attribute)' : ''}.`);
  }

  /** The repository of `uri`, else of the workspace folders (asking when there are several). */
  private async pickRepository(uri: vscode.Uri | undefined): Promise<string | undefined> {
    const dirs = uri?.scheme === 'file' ? [path.dirname(uri.fsPath)] : (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
    const roots = [...new Set((await Promise.all(dirs.map(repoRoot))).filter((r): r is string => r !== null))];
    if (roots.length === 0) {
      void vscode.window.showErrorMessage('Tensorscope: no git repository here (open a folder inside one, or run `git init`).');
      return undefined;
    }
    if (roots.length === 1) return roots[0];
    return vscode.window.showQuickPick(roots, { title: 'Set up git diff for models in which repository?' });
  }

  async compareModels(uri: vscode.Uri | undefined, uris: vscode.Uri[]): Promise<void> {
    let models = (uris.length > 0 ? uris : uri ? [uri] : []).filter((u) => MODEL_FILE.test(u.path));
    if (models.length > 2) {
      void vscode.window.showErrorMessage(`Tensorscope: select two models to compare, not ${models.length}.`);
      return;
    }
    while (models.length < 2) {
      const picked = await this.pickModel(models[0]);
      if (!picked) return;
      models = [...models, picked];
    }
    const [a, b] = models;
    this.openCompare({
      pathA: a.fsPath,
      pathB: b.fsPath,
      labelA: vscode.workspace.asRelativePath(a, false),
      labelB: vscode.workspace.asRelativePath(b, false),
      exportDefault: vscode.Uri.joinPath(a, '..', `${stem(b)}.stpatch`),
    });
  }

  private async pickModel(other: vscode.Uri | undefined): Promise<vscode.Uri | undefined> {
    const found = (await vscode.workspace.findFiles('**/*.{safetensors,safetensors.index.json}', '**/node_modules/**', 500))
      .filter((u) => u.toString() !== other?.toString())
      .sort((x, y) => x.fsPath.localeCompare(y.fsPath));
    const pick = await vscode.window.showQuickPick(
      found.map((u) => ({ label: vscode.workspace.asRelativePath(u, false), uri: u })),
      { title: other ? `Compare ${baseName(other.path)} (A) with… (B)` : 'Compare models: first model (A, before)', placeHolder: 'A .safetensors model of the workspace' },
    );
    return pick?.uri;
  }

  private openCompare(inputs: CompareInputs): void {
    const panel = vscode.window.createWebviewPanel('tensorscope.compare', `${baseName(inputs.labelA)} ↔ ${baseName(inputs.labelB)}`, vscode.ViewColumn.Active, { retainContextWhenHidden: true });
    setUpWebview(this.context.extensionUri, panel, 'compareView', panel.title);
    const session = new CompareSession(panel, this.engine, this.log, inputs);
    panel.onDidDispose(() => session.dispose());
  }

  /** The committed version (HEAD) against the working copy: the compare view for models, the semantic diff for patches. */
  async compareWithHead(uri: vscode.Uri | undefined): Promise<void> {
    if (!uri) {
      void vscode.window.showInformationMessage('Tensorscope: open or select a .safetensors or .stpatch file to compare with HEAD.');
      return;
    }
    const git = parseGitUri(uri);
    const file = git ? vscode.Uri.file(git.path) : uri;
    if (file.scheme !== 'file') throw new Error(`${baseName(file.path)} is not a file on disk`);
    const isPatch = /\.stpatch$/i.test(file.path);
    if (!isPatch && !MODEL_FILE.test(file.path)) throw new Error(`${baseName(file.path)}: Compare with HEAD works on .safetensors, .safetensors.index.json and .stpatch files`);
    const root = await repoRoot(path.dirname(file.fsPath));
    if (!root) throw new Error(`${baseName(file.path)} is not in a git repository`);
    const rel = repoPath(root, file.fsPath);
    if (!(await existsAt(root, 'HEAD', rel))) throw new Error(`${rel} is not committed at HEAD (nothing to compare with)`);
    const head = await describeRev(root, 'HEAD');
    const name = baseName(file.path);
    if (isPatch) return this.openPatchChanges(root, rel, file, head);

    // A sharded model's index comes with its shards as committed at HEAD (engine: gitBlob.ts).
    const what = /\.json$/i.test(rel) ? `${rel} and its shards` : rel;
    const blob = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Tensorscope: reading ${what} at HEAD…` }, () =>
      this.engine.client.request('gitBlob', { cwd: root, rev: 'HEAD', path: rel }),
    );
    this.openCompare({
      pathA: blob.path,
      pathB: file.fsPath,
      labelA: `${name} @ ${head}`,
      labelB: `${name} (working copy)`,
      exportDefault: vscode.Uri.joinPath(file, '..', `${stem(file)}.stpatch`),
      release: () => this.engine.client.request('releaseBlob', { path: blob.path }).then(() => undefined),
    });
  }

  private async openPatchChanges(root: string, rel: string, file: vscode.Uri, head: string): Promise<void> {
    const name = baseName(file.path);
    const older = await showText(root, 'HEAD', rel);
    const title = `${name}: ${head} → working copy`;
    const panel = vscode.window.createWebviewPanel('tensorscope.patchChanges', `${name} (HEAD ↔ working copy)`, vscode.ViewColumn.Active, { retainContextWhenHidden: true });
    setUpWebview(this.context.extensionUri, panel, 'patchEditor', title);
    const session = new PatchChangesSession(
      panel,
      this.engine,
      this.log,
      title,
      { text: older, label: `${name} @ ${head}`, fileName: `${name}@HEAD` },
      async () => ({ text: (await vscode.workspace.openTextDocument(file)).getText(), label: `${name} (working copy)`, fileName: name }),
      file,
    );
    panel.onDidDispose(() => session.dispose());
  }
}

function stem(uri: vscode.Uri): string {
  return baseName(uri.path).replace(MODEL_FILE, '');
}

/** A URI from a command argument: a Uri (Explorer, editor title) or an SCM resource state. */
function asUri(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  const resource = (arg as { resourceUri?: unknown } | undefined)?.resourceUri;
  return resource instanceof vscode.Uri ? resource : undefined;
}

function isUri(u: vscode.Uri | undefined): u is vscode.Uri {
  return u !== undefined;
}

/** The file of the active editor: a text editor, a custom editor (model or patch editor) or a diff side. */
function activeResource(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (input instanceof vscode.TabInputText || input instanceof vscode.TabInputCustom) return input.uri;
  if (input instanceof vscode.TabInputTextDiff) return input.modified;
  return vscode.window.activeTextEditor?.document.uri;
}
