// The model editor: a custom editor for *.safetensors (default) and *.safetensors.index.json
// (opt-in, through "Open Sharded Model"). Editable: each edit goes on VS Code's undo stack
// (onDidChangeCustomDocument), Save writes the edits as a .stpatch beside the model, Save As
// bakes a new model, and backups keep unsaved edits across window reloads. Opening a model
// whose patch exists offers to load it.

import * as path from 'node:path';
import * as vscode from 'vscode';
import { ModelDocument, oneLine, PatchFileMemory, type DocumentServices } from './modelDocument';
import { ModelEditorSession } from './modelEditorSession';
import type { WindowEngine } from './windowEngine';
import { modelEditorHtml, WEBVIEW_ROOTS } from './webviewHtml';

export const MODEL_EDITOR_VIEW_TYPE = 'tensorscope.modelEditor';
/** Same editor, separate view type because its priority is "option" (JSON stays text by default). */
export const SHARDED_MODEL_EDITOR_VIEW_TYPE = 'tensorscope.shardedModelEditor';

export class ModelEditorProvider implements vscode.CustomEditorProvider<ModelDocument>, vscode.Disposable {
  private readonly editors = new Set<ModelEditorSession>();
  private readonly documents = new Set<ModelDocument>();
  private lastActive: ModelEditorSession | undefined;
  private readonly changes = new vscode.EventEmitter<vscode.CustomDocumentEditEvent<ModelDocument>>();
  readonly onDidChangeCustomDocument = this.changes.event;
  private readonly services: DocumentServices;

  static register(context: vscode.ExtensionContext, engine: WindowEngine, log: vscode.LogOutputChannel): ModelEditorProvider {
    const provider = new ModelEditorProvider(context, engine, log);
    const options = { supportsMultipleEditorsPerDocument: true, webviewOptions: { retainContextWhenHidden: false } };
    context.subscriptions.push(
      provider,
      vscode.window.registerCustomEditorProvider(MODEL_EDITOR_VIEW_TYPE, provider, options),
      vscode.window.registerCustomEditorProvider(SHARDED_MODEL_EDITOR_VIEW_TYPE, provider, options),
      vscode.workspace.onDidGrantWorkspaceTrust(() => {
        for (const e of provider.editors) e.updateReadOnly();
      }),
    );
    return provider;
  }

  private readonly extensionUri: vscode.Uri;

  private constructor(
    context: vscode.ExtensionContext,
    private readonly engine: WindowEngine,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.extensionUri = context.extensionUri;
    this.services = {
      engine,
      patchFiles: new PatchFileMemory(context.workspaceState),
      copiesDir: path.join(context.globalStorageUri.fsPath, 'patch-copies', `${process.pid}`),
      log,
    };
  }

  async openCustomDocument(uri: vscode.Uri, openContext: vscode.CustomDocumentOpenContext): Promise<ModelDocument> {
    const document = await ModelDocument.open(uri, this.services, openContext.backupId);
    this.documents.add(document);
    document.onDidEdit((e) => this.changes.fire(e));
    document.onDidDispose(() => this.documents.delete(document));
    if (!openContext.backupId && document.base.ok) void this.offerPatch(document);
    return document;
  }

  /** The model has a patch file: offer to load it as the overlay (a notification, never blocking the editor). */
  private async offerPatch(document: ModelDocument): Promise<void> {
    const patchPath = document.patchTarget;
    if (!(await vscode.workspace.fs.stat(vscode.Uri.file(patchPath)).then(() => true, () => false))) return;
    const name = path.basename(patchPath);
    const choice = await vscode.window.showInformationMessage(`${name} has saved edits of ${document.fileName}. Load them?`, 'Load', 'Ignore');
    if (choice !== 'Load') return;
    try {
      const summary = await document.loadPatch(patchPath);
      void vscode.window.showInformationMessage(`Tensorscope: loaded ${name} (${summary})`);
    } catch (err) {
      void vscode.window.showErrorMessage(`Tensorscope: ${oneLine(err)}`);
    }
  }

  async resolveCustomEditor(document: ModelDocument, panel: vscode.WebviewPanel): Promise<void> {
    const root = this.extensionUri;
    panel.webview.options = { enableScripts: true, localResourceRoots: WEBVIEW_ROOTS.map((segments) => vscode.Uri.joinPath(root, ...segments)) };
    const editor = new ModelEditorSession(document, panel, this.engine, this.log);
    this.editors.add(editor);
    if (panel.active) this.lastActive = editor;
    panel.onDidChangeViewState(() => {
      if (panel.active) this.lastActive = editor;
    });
    panel.onDidDispose(() => {
      this.editors.delete(editor);
      if (this.lastActive === editor) this.lastActive = undefined;
      editor.dispose();
    });
    panel.webview.html = modelEditorHtml({
      cspSource: panel.webview.cspSource,
      asset: (...segments) => panel.webview.asWebviewUri(vscode.Uri.joinPath(root, ...segments)).toString(),
    });
  }

  saveCustomDocument(document: ModelDocument): Thenable<void> {
    return document.save();
  }

  saveCustomDocumentAs(document: ModelDocument, destination: vscode.Uri): Thenable<void> {
    return withBakeProgress(path.basename(destination.fsPath), (onProgress) => document.saveAs(destination, onProgress));
  }

  revertCustomDocument(document: ModelDocument): Thenable<void> {
    return document.revert();
  }

  backupCustomDocument(document: ModelDocument, context: vscode.CustomDocumentBackupContext): Thenable<vscode.CustomDocumentBackup> {
    return document.backup(context.destination);
  }

  /** The model editor the user is in (or was in last, when focus moved to a panel or quick pick). */
  activeEditor(): ModelEditorSession | undefined {
    for (const e of this.editors) if (e.panel.active) return e;
    return this.lastActive;
  }

  /** The open document of a model, if any. */
  documentFor(uri: vscode.Uri): ModelDocument | undefined {
    for (const d of this.documents) if (d.uri.toString() === uri.toString()) return d;
    return undefined;
  }

  dispose(): void {
    for (const e of this.editors) e.dispose();
    this.editors.clear();
    this.changes.dispose();
  }
}

/** Runs a bake under a progress notification (the engine reports bytes). */
export function withBakeProgress<T>(target: string, work: (onProgress: (p: { done: number; total: number }) => void) => Promise<T>): Thenable<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Tensorscope: writing ${target}` }, async (progress) => {
    let last = 0;
    return work(({ done, total }) => {
      const pct = total > 0 ? (done / total) * 100 : 0;
      progress.report({ increment: pct - last });
      last = pct;
    });
  });
}
