// One open model editor panel: relays the webview's engine requests (adding the model's
// handle), their progress and cancellation, passes its edits to the document (which puts
// them on the undo stack), and pushes host events (reveal, engine restart, content changed,
// read-only) to the webview. Holds no tensor data; results pass straight through.

import * as vscode from 'vscode';
import { isWebviewEngineMethod, type FromWebview, type ToWebview } from '../shared/webviewProtocol';
import type { DocumentEdit, EngineProgress } from '../shared/protocol';
import { oneLine, readOnlyReason, type ModelDocument } from './modelDocument';
import type { WindowEngine } from './windowEngine';

export class ModelEditorSession implements vscode.Disposable {
  private readonly pending = new Map<number, vscode.CancellationTokenSource>();
  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;
  /** A reveal asked for before the webview was ready goes out with `init`. */
  private pendingReveal: string | undefined;

  constructor(
    readonly document: ModelDocument,
    readonly panel: vscode.WebviewPanel,
    private readonly engine: WindowEngine,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.disposables.push(
      panel.webview.onDidReceiveMessage((msg: FromWebview) => this.onMessage(msg)),
      engine.onDidRestart(() => this.post({ type: 'engineRestarted' })),
      document.onDidChangeContent(() => this.post({ type: 'changed' })),
    );
  }

  reveal(tensor: string): void {
    if (this.ready) this.post({ type: 'reveal', tensor });
    else this.pendingReveal = tensor;
  }

  private onMessage(msg: FromWebview): void {
    switch (msg?.type) {
      case 'ready':
        this.ready = true;
        this.sendInit();
        break;
      case 'request':
        void this.forward(msg.id, msg.method, msg.params);
        break;
      case 'edit':
        void this.edit(msg.id, msg.edit);
        break;
      case 'cancel':
        this.pending.get(msg.id)?.cancel();
        break;
      case 'error':
        void vscode.window.showErrorMessage(`Tensorscope: ${msg.message}`);
        break;
      case 'projectRows':
        void vscode.commands.executeCommand('tensorscope.projectRows', this.document.uri, msg.tensor);
        break;
    }
  }

  private sendInit(): void {
    const { base, fileName } = this.document;
    if (base.ok) {
      this.post({ type: 'init', info: base.info, fileName, selectTensor: this.pendingReveal, readOnly: readOnlyReason() });
    } else {
      this.post({ type: 'loadError', fileName, message: base.message });
    }
    this.pendingReveal = undefined;
  }

  /** Workspace trust changed: tell the webview whether it may edit. */
  updateReadOnly(): void {
    if (this.ready) this.post({ type: 'readOnly', reason: readOnlyReason() });
  }

  private async edit(id: number, edit: unknown): Promise<void> {
    try {
      if (typeof edit !== 'object' || edit === null) throw new Error('the edit must be an object');
      const result = await this.document.applyEdit(edit as DocumentEdit);
      this.post({ type: 'response', id, result });
    } catch (err) {
      this.post({ type: 'response', id, error: oneLine(err) });
    }
  }

  private async forward(id: number, method: unknown, params: unknown): Promise<void> {
    const { base } = this.document;
    if (!base.ok) return this.post({ type: 'response', id, error: base.message });
    if (!isWebviewEngineMethod(method) || typeof params !== 'object' || params === null) {
      return this.post({ type: 'response', id, error: `unsupported request ${String(method)}` });
    }
    const cts = new vscode.CancellationTokenSource();
    this.pending.set(id, cts);
    const onProgress = (p: EngineProgress) => this.post({ type: 'progress', id, done: p.done, total: p.total });
    try {
      // Reads see every edit made before them (and the edits replayed into a new engine).
      await this.document.settled();
      // The webview's params are typed by the shared protocol; the host only adds the handle.
      const full = { ...(params as object), modelId: base.handle } as never;
      const result = await this.engine.client.request(method, full, cts.token, onProgress);
      this.post({ type: 'response', id, result });
    } catch (err) {
      if (!cts.token.isCancellationRequested) this.log.debug(`${method} failed: ${oneLine(err)}`);
      this.post({ type: 'response', id, error: cts.token.isCancellationRequested ? 'cancelled' : oneLine(err) });
    } finally {
      this.pending.delete(id);
      cts.dispose();
    }
  }

  private post(msg: ToWebview): void {
    // A message to a disposed panel throws; nothing to deliver then.
    try {
      void this.panel.webview.postMessage(msg);
    } catch {
      /* panel closed */
    }
  }

  dispose(): void {
    for (const cts of this.pending.values()) cts.cancel();
    this.pending.clear();
    for (const d of this.disposables) d.dispose();
  }
}
