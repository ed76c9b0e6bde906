// The model editor's side of the host relay: the shared webview RPC client (requests by id,
// progress, cancellation) typed with the model editor's messages, model edits, and the
// persisted view state.

import type { DocumentEdit, EditResult, ResultOf } from '../../shared/protocol';
import type { FromWebview, ToWebview, WebviewEngineMethod, WebviewParams } from '../../shared/webviewProtocol';
import { loadState, onMessage, postMessage, RpcClient, saveState, type SendOptions } from '../shared/hostRpc';

export { CancelledError, isCancelled, RequestError } from '../shared/hostRpc';

export function postToHost(msg: FromWebview): void {
  postMessage(msg);
}

export function onHostMessage(handler: (msg: ToWebview) => void): void {
  onMessage(handler);
}

/** What the editor restores when VS Code re-creates the webview (tab hidden and shown again). */
export interface ViewState {
  tensor?: string;
  slice?: string;
  colorMode?: 'diverging' | 'sequential';
  filter?: string;
}

export function loadViewState(): ViewState {
  return loadState<ViewState>();
}

export function saveViewState(patch: ViewState): void {
  saveState<ViewState>(patch);
}

export class HostRpc extends RpcClient {
  request<M extends WebviewEngineMethod>(method: M, params: WebviewParams<M>, opts: SendOptions = {}): Promise<ResultOf<M>> {
    return this.send((id): FromWebview => ({ type: 'request', id, method, params }), opts) as Promise<ResultOf<M>>;
  }

  /** An edit of the model: the host applies it through the document (undo stack, dirty mark). */
  edit(edit: DocumentEdit): Promise<EditResult> {
    return this.send((id): FromWebview => ({ type: 'edit', id, edit })) as Promise<EditResult>;
  }
}
