// The projection webview's side of the host relay: the shared webview RPC client typed with the
// clustering view's messages (progress carries a fit's phase in `message`), the "save
// projection" round trip, and little-endian views of binary results.

import type { ProjectionMethods, ProjectionViewMethod, ProjectionViewParams, FromProjectionView, ToProjectionView } from '../../shared/projectionProtocol';
import { onMessage, postMessage, RpcClient, type SendOptions } from '../shared/hostRpc';

export { CancelledError, isCancelled, type ProgressHandler } from '../shared/hostRpc';

export function postToHost(msg: FromProjectionView): void {
  postMessage(msg);
}

export function onHostMessage(handler: (msg: ToProjectionView) => void): void {
  onMessage(handler);
}

export class ProjectionRpc extends RpcClient {
  request<M extends ProjectionViewMethod>(method: M, params: ProjectionViewParams<M>, opts: SendOptions = {}): Promise<ProjectionMethods[M]['result']> {
    return this.send((id): FromProjectionView => ({ type: 'request', id, method, params }), opts) as Promise<ProjectionMethods[M]['result']>;
  }

  /** The host asks for a file name and saves; null when the user cancelled the dialog. */
  save(): Promise<{ path: string } | null> {
    return this.send((id): FromProjectionView => ({ type: 'save', id })) as Promise<{ path: string } | null>;
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
