// The model editor: a custom editor for *.safetensors (default) and *.safetensors.index.json
// (opt-in, through "Open Sharded Model"). Read-only for now; ModelDocument is where the edit
// overlay will live when this becomes a CustomEditorProvider.

import * as vscode from 'vscode';
import { ModelDocument } from './modelDocument';
import { ModelEditorSession } from './modelEditorSession';
import type { WindowEngine } from './windowEngine';
import { modelEditorHtml, WEBVIEW_ROOTS } from './webviewHtml';

export const MODEL_EDITOR_VIEW_TYPE = 'tensorscope.modelEditor';
/** Same editor, separate view type because its priority is "option" (JSON stays text by default). */
export const SHARDED_MODEL_EDITOR_VIEW_TYPE = 'tensorscope.shardedModelEditor';

export class ModelEditorProvider implements vscode.CustomReadonlyEditorProvider<ModelDocument>, vscode.Disposable {
  private readonly editors = new Set<ModelEditorSession>();
  private lastActive: ModelEditorSession | undefined;

  static register(context: vscode.ExtensionContext, engine: WindowEngine, log: vscode.LogOutputChannel): ModelEditorProvider {
    const provider = new ModelEditorProvider(context.extensionUri, engine, log);
    const options = { supportsMultipleEditorsPerDocument: true, webviewOptions: { retainContextWhenHidden: false } };
    context.subscriptions.push(
      provider,
      vscode.window.registerCustomEditorProvider(MODEL_EDITOR_VIEW_TYPE, provider, options),
      vscode.window.registerCustomEditorProvider(SHARDED_MODEL_EDITOR_VIEW_TYPE, provider, options),
    );
    return provider;
  }

  private constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly engine: WindowEngine,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  async openCustomDocument(uri: vscode.Uri): Promise<ModelDocument> {
    return ModelDocument.open(uri, this.engine);
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

  /** The model editor the user is in (or was in last, when focus moved to a panel or quick pick). */
  activeEditor(): ModelEditorSession | undefined {
    for (const e of this.editors) if (e.panel.active) return e;
    return this.lastActive;
  }

  dispose(): void {
    for (const e of this.editors) e.dispose();
    this.editors.clear();
  }
}
