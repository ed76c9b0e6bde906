// The projection webview's side of the host relay: typed engine requests by id, with progress
// (a fit's phase in `message`) and cancellation (an AbortSignal posts `cancel` and rejects at
// once), the "save projection" round trip, and little-endian views of binary results.

import type { ProjectionMethods, ProjectionViewMethod, ProjectionViewParams, FromProjectionView, ToProjectionView } from '../../shared/projectionProtocol';

interface VsCodeApi {
  postMessage(msg: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();

export function postToHost(msg: FromProjectionView): void {
  vscode.postMessage(msg);
}

export function onHostMessage(handler: (msg: ToProjectionView) => void): void {
  window.addEventListener('message', (ev: MessageEvent) => handler(ev.data as ToProjectionView));
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

export type ProgressHandler = (done: number, total: number, message?: string) => void;

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  onProgress?: ProgressHandler;
}

export class ProjectionRpc {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  /** Call from the host message handler; true when the message was an RPC reply. */
  handle(msg: ToProjectionView): boolean {
    if (msg.type === 'response') {
      const p = this.pending.get(msg.id);
      if (!p) return true; // cancelled before the answer came
      this.pending.delete(msg.id);
      if (msg.error !== undefined) p.reject(new Error(msg.error));
      else p.resolve(msg.result);
      return true;
    }
    if (msg.type === 'progress') {
      this.pending.get(msg.id)?.onProgress?.(msg.done, msg.total, msg.message);
      return true;
    }
    return false;
  }

  request<M extends ProjectionViewMethod>(
    method: M,
    params: ProjectionViewParams<M>,
    opts: { signal?: AbortSignal; onProgress?: ProgressHandler } = {},
  ): Promise<ProjectionMethods[M]['result']> {
    return this.send((id) => ({ type: 'request', id, method, params }), opts) as Promise<ProjectionMethods[M]['result']>;
  }

  /** The host asks for a file name and saves; null when the user cancelled the dialog. */
  save(): Promise<{ path: string } | null> {
    return this.send((id) => ({ type: 'save', id }), {}) as Promise<{ path: string } | null>;
  }

  private send(message: (id: number) => FromProjectionView, opts: { signal?: AbortSignal; onProgress?: ProgressHandler }): Promise<unknown> {
    const { signal, onProgress } = opts;
    if (signal?.aborted) return Promise.reject(new CancelledError());
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      signal?.addEventListener(
        'abort',
        () => {
          if (!this.pending.delete(id)) return;
          postToHost({ type: 'cancel', id });
          reject(new CancelledError());
        },
        { once: true },
      );
      postToHost(message(id));
    });
  }
}

/** A typed view of little-endian binary data (copied when not aligned). */
export function float32s(b: Uint8Array): Float32Array {
  return b.byteOffset % 4 === 0 ? new Float32Array(b.buffer, b.byteOffset, b.byteLength >> 2) : new Float32Array(b.slice().buffer);
}

export function int32s(b: Uint8Array): Int32Array {
  return b.byteOffset % 4 === 0 ? new Int32Array(b.buffer, b.byteOffset, b.byteLength >> 2) : new Int32Array(b.slice().buffer);
}

export function uint32s(b: Uint8Array): Uint32Array {
  return b.byteOffset % 4 === 0 ? new Uint32Array(b.buffer, b.byteOffset, b.byteLength >> 2) : new Uint32Array(b.slice().buffer);
}
