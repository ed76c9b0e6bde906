// Every webview's side of the host relay: the VS Code webview API (acquired once per page, as
// VS Code allows), the persisted view state, and requests by id with progress and cancellation
// (an AbortSignal posts `cancel` and rejects at once). Each view wraps it with its own message
// types (modelEditor/hostRpc.ts, projectionView/rpc.ts, review/hostRpc.ts).

interface VsCodeApi {
  postMessage(msg: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();

export function postMessage(msg: unknown): void {
  vscode.postMessage(msg);
}

export function onMessage<T>(handler: (msg: T) => void): void {
  window.addEventListener('message', (ev: MessageEvent) => handler(ev.data as T));
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

/** An error as the host reported it: one line, meant for the user. */
export class RequestError extends Error {}

export type ProgressHandler = (done: number, total: number, message?: string) => void;

export interface SendOptions {
  signal?: AbortSignal;
  onProgress?: ProgressHandler;
}

/** The host's replies every view's protocol shares (a view without progress never gets one). */
type Reply =
  | { type: 'response'; id: number; result?: unknown; error?: string }
  | { type: 'progress'; id: number; done: number; total: number; message?: string };

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  onProgress?: ProgressHandler;
}

export class RpcClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  /** Call from the host message handler; true when the message was a reply to a request. */
  handle(msg: { type: string }): boolean {
    const reply = msg as Reply;
    if (reply.type === 'response') {
      const p = this.pending.get(reply.id);
      if (!p) return true; // cancelled before the answer came
      this.pending.delete(reply.id);
      if (reply.error !== undefined) p.reject(new RequestError(reply.error));
      else p.resolve(reply.result);
      return true;
    }
    if (reply.type === 'progress') {
      this.pending.get(reply.id)?.onProgress?.(reply.done, reply.total, reply.message);
      return true;
    }
    return false;
  }

  /** Posts `message(id)` and resolves with the host's response to that id. */
  protected send(message: (id: number) => unknown, opts: SendOptions = {}): Promise<unknown> {
    const { signal, onProgress } = opts;
    if (signal?.aborted) return Promise.reject(new CancelledError());
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      signal?.addEventListener(
        'abort',
        () => {
          if (!this.pending.delete(id)) return;
          postMessage({ type: 'cancel', id });
          reject(new CancelledError());
        },
        { once: true },
      );
      postMessage(message(id));
    });
  }
}
