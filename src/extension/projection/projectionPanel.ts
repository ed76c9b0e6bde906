// One clustering view: a WebviewPanel showing the rows of one 2-D tensor. The host opens the
// rows in the engine (projectionOpen), relays the webview's engine requests (adding the
// projection id) with their progress and cancellation, asks where to save a fitted
// projection, and opens the rows again after an engine restart. Holds no tensor data:
// results pass straight through to the webview.
//
// With the model's document open in a model editor, the rows are opened with its engine
// handle, so the engine reads them through the editor's edits; requests wait for pending
// edits first. When the edits change the view is told (it reloads what it shows and offers
// a refit); when the editor closes the rows are opened again from the file on disk; when an
// editor of the model opens later, the view switches to it once it is active again.

import * as path from 'node:path';
import * as vscode from 'vscode';
import type { EngineProgress } from '../../shared/protocol';
import { isProjectionViewMethod, type FromProjectionView, type ProjectionRowsInfo, type ToProjectionView } from '../../shared/projectionProtocol';
import type { ModelDocument } from '../modelDocument';
import { WEBVIEW_ROOTS } from '../webviewHtml';
import { refuseUntrustedWrite } from '../trust';
import type { WindowEngine } from '../windowEngine';
import { projectionViewHtml } from './projectionHtml';

export const PROJECTION_VIEW_TYPE = 'tensorscope.projection';

export class ProjectionPanel implements vscode.Disposable {
  readonly panel: vscode.WebviewPanel;
  private readonly pending = new Map<number, vscode.CancellationTokenSource>();
  private readonly disposables: vscode.Disposable[] = [];
  private readonly disposedEmitter = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposedEmitter.event;
  /** The rows as opened in the current engine (undefined while opening, or when that failed). */
  private info: ProjectionRowsInfo | undefined;
  private opening: Promise<void> | undefined;
  /** Counts open(): only the latest one's answer counts. */
  private openCount = 0;
  private ready = false;
  private disposed = false;
  /** The model editor's document whose edits the rows include; undefined: the file on disk. */
  private document: ModelDocument | undefined;
  private documentEvents: vscode.Disposable[] = [];

  constructor(
    readonly modelPath: string,
    readonly tensor: string,
    /** The model's document when it is open in a model editor. */
    private readonly findDocument: () => ModelDocument | undefined,
    extensionUri: vscode.Uri,
    private readonly engine: WindowEngine,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.panel = vscode.window.createWebviewPanel(PROJECTION_VIEW_TYPE, `Projection: ${tensor}`, vscode.ViewColumn.Active, {
      enableScripts: true,
      // A fit can take minutes: keep the drawn projection when the tab is hidden.
      retainContextWhenHidden: true,
      localResourceRoots: WEBVIEW_ROOTS.map((segments) => vscode.Uri.joinPath(extensionUri, ...segments)),
    });
    this.disposables.push(
      this.panel.webview.onDidReceiveMessage((msg: FromProjectionView) => this.onMessage(msg)),
      this.panel.onDidDispose(() => this.dispose()),
      // A model editor opened since: its edits are read from when the view is next looked at.
      this.panel.onDidChangeViewState(() => {
        const document = this.panel.active ? this.findDocument() : undefined;
        if (document) this.readThrough(document);
      }),
      engine.onDidRestart(() => void this.open(true)),
    );
    this.panel.webview.html = projectionViewHtml({
      cspSource: this.panel.webview.cspSource,
      asset: (...segments) => this.panel.webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, ...segments)).toString(),
    });
    this.follow(findDocument());
    void this.open(false);
  }

  reveal(): void {
    this.panel.reveal();
  }

  /** Reads the rows through `document`'s edits from now on (when not already). */
  readThrough(document: ModelDocument): void {
    if (document === this.document || !document.base.ok) return;
    this.follow(document);
    void this.open(false, 'The rows now include the edits of the model editor; press Project to fit them.');
  }

  private follow(document: ModelDocument | undefined): void {
    for (const d of this.documentEvents) d.dispose();
    this.documentEvents = [];
    this.document = document?.base.ok ? document : undefined;
    if (!this.document) return;
    const followed = this.document;
    this.documentEvents.push(
      followed.onDidChangeContent(() => this.post({ type: 'modelChanged' })),
      followed.onDidDispose(() => {
        if (this.document !== followed || this.disposed) return;
        this.follow(undefined);
        void this.open(false, `The model editor of ${this.fileName} was closed: the rows are the file on disk again; press Project to fit them.`);
      }),
    );
  }

  private get fileName(): string {
    return path.basename(this.modelPath);
  }

  /**
   * Opens the rows in the engine, through the document's edits when there is one, and tells
   * the webview when they are ready. Again: after an engine restart (`restarted`), or with a
   * `note` when the document changed (the rows opened before are closed then).
   */
  private open(restarted: boolean, note?: string): Promise<void> {
    const before = this.info;
    this.info = undefined;
    // A restarted engine has none of the old ids (and may give them out again): nothing to close.
    if (before && !restarted) this.closeInEngine(before.projectionId);
    const document = this.document;
    const count = ++this.openCount;
    const opening = (async () => {
      try {
        // Pending edits (and, after a restart, their replay) come first.
        await document?.settled();
        const modelId = document?.base.ok ? document.base.handle : undefined;
        const info = await this.engine.client.request('projectionOpen', modelId ? { path: this.modelPath, tensor: this.tensor, modelId } : { path: this.modelPath, tensor: this.tensor });
        if (this.disposed || this.openCount !== count) return void this.closeInEngine(info.projectionId);
        this.info = info;
        if (info.tokenizerNote) this.log.info(`projection of ${this.tensor}: ${info.tokenizerNote}`);
        if (this.ready) this.post({ type: 'init', info, fileName: this.fileName, restarted, note });
      } catch (err) {
        if (this.openCount !== count) return;
        if (this.ready) this.post({ type: 'loadError', message: oneLine(err) });
        this.log.warn(`projection of ${this.tensor} in ${this.fileName}: ${oneLine(err)}`);
      }
    })();
    this.opening = opening;
    return opening;
  }

  private onMessage(msg: FromProjectionView): void {
    switch (msg?.type) {
      case 'ready':
        this.ready = true;
        void this.opening?.then(() => {
          if (this.info) this.post({ type: 'init', info: this.info, fileName: this.fileName });
          else this.post({ type: 'loadError', message: `${this.fileName}: could not open tensor ${this.tensor} (see the Tensorscope log)` });
        });
        break;
      case 'request':
        void this.forward(msg.id, msg.method, msg.params);
        break;
      case 'cancel':
        this.pending.get(msg.id)?.cancel();
        break;
      case 'save':
        void this.save(msg.id);
        break;
      case 'error':
        void vscode.window.showErrorMessage(`Tensorscope: ${msg.message}`);
        break;
    }
  }

  private async forward(id: number, method: unknown, params: unknown): Promise<void> {
    const info = this.info;
    if (!info) return this.post({ type: 'response', id, error: `${this.tensor} is not open in the engine` });
    if (!isProjectionViewMethod(method) || typeof params !== 'object' || params === null) {
      return this.post({ type: 'response', id, error: `unsupported request ${String(method)}` });
    }
    const cts = new vscode.CancellationTokenSource();
    this.pending.set(id, cts);
    const onProgress = (p: EngineProgress) => this.post({ type: 'progress', id, done: p.done, total: p.total, message: p.message });
    try {
      // The webview's params are typed by the shared protocol; the host only adds the id.
      const full = { ...(params as object), projectionId: info.projectionId } as never;
      // Rows read through the editor's edits: wait until the edits made so far are in the engine.
      await this.document?.settled();
      const result = await this.engine.client.request(method, full, cts.token, onProgress);
      this.post({ type: 'response', id, result });
    } catch (err) {
      const cancelled = cts.token.isCancellationRequested;
      if (!cancelled) this.log.debug(`${method} failed: ${oneLine(err)}`);
      this.post({ type: 'response', id, error: cancelled ? 'cancelled' : oneLine(err) });
    } finally {
      this.pending.delete(id);
      cts.dispose();
    }
  }

  private async save(id: number): Promise<void> {
    const info = this.info;
    try {
      if (!info) throw new Error(`${this.tensor} is not open in the engine`);
      if (refuseUntrustedWrite('Save Projection')) return this.post({ type: 'response', id, result: null });
      const stem = this.tensor.replace(/[^\w.-]+/g, '_');
      const target = await vscode.window.showSaveDialog({
        defaultUri: vscode.Uri.file(path.join(path.dirname(this.modelPath), `${stem}.projection.safetensors`)),
        filters: { 'Projection (safetensors)': ['safetensors'] },
        title: `Save the projection of ${this.tensor}`,
        saveLabel: 'Save Projection',
      });
      if (!target) return this.post({ type: 'response', id, result: null });
      const saved = await this.engine.client.request('projectionSave', { projectionId: info.projectionId, path: target.fsPath });
      this.post({ type: 'response', id, result: saved });
      void vscode.window.showInformationMessage(`Tensorscope: saved the projection of ${this.tensor} to ${path.basename(saved.path)}`);
    } catch (err) {
      this.post({ type: 'response', id, error: oneLine(err) });
    }
  }

  private post(msg: ToProjectionView): void {
    if (this.disposed) return;
    try {
      void this.panel.webview.postMessage(msg);
    } catch {
      /* panel closed */
    }
  }

  private closeInEngine(projectionId: string): void {
    void this.engine.client.request('projectionClose', { projectionId }).catch(() => {});
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const cts of this.pending.values()) cts.cancel();
    this.pending.clear();
    if (this.info) this.closeInEngine(this.info.projectionId);
    for (const d of [...this.disposables, ...this.documentEvents]) d.dispose();
    this.panel.dispose();
    this.disposedEmitter.fire();
    this.disposedEmitter.dispose();
  }
}

function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0];
}
