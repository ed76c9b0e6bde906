// The host side of one review webview: relays its typed requests to the engine (each view
// says how, in `handle`), with cancellation, and passes its button clicks on. Holds no
// tensor data; tiles pass straight through as bytes.

import * as vscode from 'vscode';
import type { ReviewAction, ReviewFromWebview, ReviewRequest, ReviewToWebview } from '../../shared/reviewProtocol';
import type { EnginePatch } from './enginePatch';
import { oneLine } from './messages';

export abstract class ReviewSession implements vscode.Disposable {
  private readonly pending = new Map<number, vscode.CancellationTokenSource>();
  protected readonly disposables: vscode.Disposable[] = [];
  protected ready = false;
  private disposed = false;

  constructor(
    readonly panel: vscode.WebviewPanel,
    protected readonly log: vscode.LogOutputChannel,
  ) {
    this.disposables.push(panel.webview.onDidReceiveMessage((msg: ReviewFromWebview) => this.onMessage(msg)));
  }

  /** The webview (re)loaded: send it what it shows. */
  protected abstract onReady(): void;
  /** One engine request of the webview. */
  protected abstract handle(request: ReviewRequest, token: vscode.CancellationToken): Promise<unknown>;
  protected abstract onAction(action: ReviewAction): void | Promise<void>;
  protected onOpenHunkText(_msg: Extract<ReviewFromWebview, { type: 'openHunkText' }>): void | Promise<void> {}

  private onMessage(msg: ReviewFromWebview): void {
    switch (msg?.type) {
      case 'ready':
        this.ready = true;
        this.onReady();
        break;
      case 'request':
        void this.forward(msg.id, msg);
        break;
      case 'cancel':
        this.pending.get(msg.id)?.cancel();
        break;
      case 'action':
        void Promise.resolve(this.onAction(msg.action)).catch((err) => void vscode.window.showErrorMessage(`Tensorscope: ${oneLine(err)}`));
        break;
      case 'openHunkText':
        void Promise.resolve(this.onOpenHunkText(msg)).catch((err) => void vscode.window.showErrorMessage(`Tensorscope: ${oneLine(err)}`));
        break;
    }
  }

  private async forward(id: number, request: ReviewRequest): Promise<void> {
    const cts = new vscode.CancellationTokenSource();
    this.pending.set(id, cts);
    try {
      const result = await this.handle({ method: request.method, params: request.params } as ReviewRequest, cts.token);
      this.post({ type: 'response', id, result });
    } catch (err) {
      if (!cts.token.isCancellationRequested) this.log.debug(`${request.method} failed: ${oneLine(err)}`);
      this.post({ type: 'response', id, error: cts.token.isCancellationRequested ? 'cancelled' : oneLine(err) });
    } finally {
      this.pending.delete(id);
      cts.dispose();
    }
  }

  post(msg: ReviewToWebview): void {
    if (this.disposed) return;
    try {
      void this.panel.webview.postMessage(msg);
    } catch {
      /* panel closed */
    }
  }

  dispose(): void {
    this.disposed = true;
    for (const cts of this.pending.values()) cts.cancel();
    this.pending.clear();
    for (const d of this.disposables) d.dispose();
  }
}

/** The patch requests of a webview, answered from one of its patches. */
export function patchRequest(patch: EnginePatch, request: ReviewRequest, token: vscode.CancellationToken): Promise<unknown> {
  switch (request.method) {
    case 'hunks':
      return patch.request('patchHunks', { tensor: request.params.tensor, start: request.params.start, limit: request.params.limit }, token);
    case 'values':
      return patch.request('patchValues', { tensor: request.params.tensor, elements: request.params.elements, limit: request.params.limit }, token);
    case 'patchTile': {
      const { tensor, which, viewport, maxRows, maxCols, range } = request.params;
      return patch.request('patchTile', { tensor, side: which, viewport, maxRows, maxCols, range }, token);
    }
    default:
      return Promise.reject(new Error(`unsupported request ${request.method}`));
  }
}
