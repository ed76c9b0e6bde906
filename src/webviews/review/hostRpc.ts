// The review webviews' side of the host relay: the VS Code webview API (acquired once per
// page), typed requests by id with cancellation (an AbortSignal posts `cancel` and rejects
// at once), and button actions.

import type { ReviewAction, ReviewFromWebview, ReviewRequest, ReviewToWebview } from '../../shared/reviewProtocol';

interface VsCodeApi {
  postMessage(msg: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();

export function postToHost(msg: ReviewFromWebview): void {
  vscode.postMessage(msg);
}

export function action(a: ReviewAction): void {
  postToHost({ type: 'action', action: a });
}

export function onHostMessage(handler: (msg: ReviewToWebview) => void): void {
  window.addEventListener('message', (ev: MessageEvent) => handler(ev.data as ReviewToWebview));
}

/** Small view state VS Code keeps while the webview is hidden and re-created. */
export function loadState<T extends object>(): Partial<T> {
  const s = vscode.getState();
  return s && typeof s === 'object' ? (s as Partial<T>) : {};
}

export function saveState<T extends object>(patch: Partial<T>): void {
  vscode.setState({ ...loadState<T>(), ...patch });
}

export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

export function isCancelled(err: unknown): boolean {
  return err instanceof CancelledError;
}

type Params<M extends ReviewRequest['method']> = Extract<ReviewRequest, { method: M }>['params'];

export class ReviewRpc {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

  /** Call from the message handler; true when the message was a reply. */
  handle(msg: ReviewToWebview): boolean {
    if (msg.type !== 'response') return false;
    const p = this.pending.get(msg.id);
    if (!p) return true;
    this.pending.delete(msg.id);
    if (msg.error !== undefined) p.reject(new Error(msg.error));
    else p.resolve(msg.result);
    return true;
  }

  request<T, M extends ReviewRequest['method'] = ReviewRequest['method']>(method: M, params: Params<M>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(new CancelledError());
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      signal?.addEventListener(
        'abort',
        () => {
          if (!this.pending.delete(id)) return;
          postToHost({ type: 'cancel', id });
          reject(new CancelledError());
        },
        { once: true },
      );
      postToHost({ type: 'request', id, method, params } as ReviewFromWebview);
    });
  }
}
