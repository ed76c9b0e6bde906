// The webview's side of the host relay: typed engine requests by id, with progress and
// cancellation (an AbortSignal posts `cancel` and rejects at once). Also wraps the VS Code
// webview API (messages and the persisted view state).

import type { DocumentEdit, EditResult, ResultOf } from '../../shared/protocol';
import type { FromWebview, ToWebview, WebviewEngineMethod, WebviewParams } from '../../shared/webviewProtocol';

interface VsCodeApi {
  postMessage(msg: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();

export function postToHost(msg: FromWebview): void {
  vscode.postMessage(msg);
}

export function onHostMessage(handler: (msg: ToWebview) => void): void {
  window.addEventListener('message', (ev: MessageEvent) => handler(ev.data as ToWebview));
}

/** What the editor restores when VS Code re-creates the webview (tab hidden and shown again). */
export interface ViewState {
  tensor?: string;
  slice?: string;
  colorMode?: 'diverging' | 'sequential';
  filter?: string;
}

export function loadViewState(): ViewState {
  const s = vscode.getState();
  return s && typeof s === 'object' ? (s as ViewState) : {};
}

export function saveViewState(patch: ViewState): void {
  vscode.setState({ ...loadViewState(), ...patch });
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

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  onProgress?: (done: number, total: number) => void;
}

/** An engine error as the host reported it: one line, meant for the user. */
export class RequestError extends Error {}

export class HostRpc {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  /** Call from the host message handler; returns true when the message was an RPC reply. */
  handle(msg: ToWebview): boolean {
    if (msg.type === 'response') {
      const p = this.pending.get(msg.id);
      if (!p) return true; // cancelled before the answer came
      this.pending.delete(msg.id);
      if (msg.error !== undefined) p.reject(new RequestError(msg.error));
      else p.resolve(msg.result);
      return true;
    }
    if (msg.type === 'progress') {
      this.pending.get(msg.id)?.onProgress?.(msg.done, msg.total);
      return true;
    }
    return false;
  }

  request<M extends WebviewEngineMethod>(
    method: M,
    params: WebviewParams<M>,
    opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
  ): Promise<ResultOf<M>> {
    const { signal, onProgress } = opts;
    if (signal?.aborted) return Promise.reject(new CancelledError());
    const id = this.nextId++;
    return new Promise<ResultOf<M>>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onProgress });
      signal?.addEventListener(
        'abort',
        () => {
          if (!this.pending.delete(id)) return;
          postToHost({ type: 'cancel', id });
          reject(new CancelledError());
        },
        { once: true },
      );
      postToHost({ type: 'request', id, method, params });
    });
  }

  /** An edit of the model: the host applies it through the document (undo stack, dirty mark). */
  edit(edit: DocumentEdit): Promise<EditResult> {
    const id = this.nextId++;
    return new Promise<EditResult>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      postToHost({ type: 'edit', id, edit });
    });
  }
}
