// The patch editor: a custom TEXT editor for *.stpatch (priority default). The text document
// stays the truth, so saving, undo, git and text diffs work as for any text file, and
// "Reopen Editor With… > Text Editor" shows the text.
//
// Diffs of a .stpatch, two ways:
// - "Tensorscope: Compare with HEAD" (editor title of any .stpatch editor, text diff editors
//   included; Explorer and Source Control context menus) opens the SEMANTIC diff from HEAD to
//   the working copy: hunks added, removed and changed, by tensor.
// - Diffs of a .stpatch open with this editor on both sides (package.json: priority
//   diffEditor "default"), e.g. a click on a changed patch in Source Control. The side whose
//   document comes from git (scheme `git`: the index "~" of a working-tree diff, HEAD or a
//   commit) shows the semantic diff from that version to the working copy; the other side
//   shows the patch as usual. The git side has no buttons: there is nothing to write from a
//   committed version. The index as the right side of a staged diff (ref "") shows its patch
//   read-only: a banner, Show Text, no Apply / Bake / Revert (the session refuses them too).

import * as vscode from 'vscode';
import { WEBVIEW_ROOTS } from '../webviewHtml';
import type { WindowEngine } from '../windowEngine';
import { baseName } from '../review/messages';
import { PatchChangesSession } from '../review/patchChanges';
import { reviewHtml } from '../review/reviewHtml';
import type { ReviewSession } from '../review/reviewSession';
import { BaseModels } from './baseModel';
import { parseGitUri } from './gitUri';
import { PatchEditorSession } from './patchEditorSession';

export const PATCH_EDITOR_VIEW_TYPE = 'tensorscope.patchEditor';

export class PatchEditorProvider implements vscode.CustomTextEditorProvider, vscode.Disposable {
  private readonly sessions = new Set<ReviewSession>();
  private readonly bases: BaseModels;

  static register(context: vscode.ExtensionContext, engine: WindowEngine, log: vscode.LogOutputChannel): PatchEditorProvider {
    const provider = new PatchEditorProvider(context, engine, log);
    context.subscriptions.push(
      provider,
      vscode.window.registerCustomEditorProvider(PATCH_EDITOR_VIEW_TYPE, provider, { webviewOptions: { retainContextWhenHidden: false }, supportsMultipleEditorsPerDocument: true }),
    );
    return provider;
  }

  private constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly engine: WindowEngine,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.bases = new BaseModels(context.workspaceState);
  }

  resolveCustomTextEditor(document: vscode.TextDocument, panel: vscode.WebviewPanel): void {
    setUpWebview(this.context.extensionUri, panel, 'patchEditor', baseName(document.uri.path));
    const git = parseGitUri(document.uri);
    const session = git && git.ref !== '' ? this.gitSide(document, panel, git) : new PatchEditorSession(document, panel, this.engine, this.bases, this.log);
    this.sessions.add(session);
    panel.onDidDispose(() => {
      this.sessions.delete(session);
      session.dispose();
    });
  }

  /** A committed version: the semantic diff from it to the working copy. */
  private gitSide(document: vscode.TextDocument, panel: vscode.WebviewPanel, git: { path: string; ref: string }): ReviewSession {
    const file = vscode.Uri.file(git.path);
    const name = baseName(git.path);
    const ref = git.ref === '~' ? 'index' : git.ref === 'HEAD' || git.ref.length < 12 ? git.ref : git.ref.slice(0, 8);
    return new PatchChangesSession(
      panel,
      this.engine,
      this.log,
      `${name}: ${ref} → working copy`,
      { text: document.getText(), label: `${name} @ ${ref}`, fileName: `${name}@${ref}` },
      async () => ({ text: (await vscode.workspace.openTextDocument(file)).getText(), label: `${name} (working copy)`, fileName: name }),
      file,
    );
  }

  dispose(): void {
    for (const s of this.sessions) s.dispose();
    this.sessions.clear();
  }
}

/** Scripts on, assets only from the extension's webview folders, the review shell. */
export function setUpWebview(extensionUri: vscode.Uri, panel: vscode.WebviewPanel, bundle: 'patchEditor' | 'compareView', title: string): void {
  panel.webview.options = { enableScripts: true, localResourceRoots: WEBVIEW_ROOTS.map((segments) => vscode.Uri.joinPath(extensionUri, ...segments)) };
  panel.webview.html = reviewHtml(bundle, {
    cspSource: panel.webview.cspSource,
    asset: (...segments) => panel.webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, ...segments)).toString(),
    title,
  });
}
