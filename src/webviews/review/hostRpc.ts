// The review webviews' side of the host relay: the shared webview RPC client typed with the
// review messages, button actions, and the persisted view state.

import type { ReviewAction, ReviewFromWebview, ReviewRequest, ReviewToWebview } from '../../shared/reviewProtocol';
import { onMessage, postMessage, RpcClient } from '../shared/hostRpc';

export { CancelledError, isCancelled, loadState, saveState } from '../shared/hostRpc';

export function postToHost(msg: ReviewFromWebview): void {
  postMessage(msg);
}

export function action(a: ReviewAction): void {
  postToHost({ type: 'action', action: a });
}

export function onHostMessage(handler: (msg: ReviewToWebview) => void): void {
  onMessage(handler);
}

type Params<M extends ReviewRequest['method']> = Extract<ReviewRequest, { method: M }>['params'];

export class ReviewRpc extends RpcClient {
  request<T, M extends ReviewRequest['method'] = ReviewRequest['method']>(method: M, params: Params<M>, signal?: AbortSignal): Promise<T> {
    return this.send((id) => ({ type: 'request', id, method, params }) as ReviewFromWebview, { signal }) as Promise<T>;
  }
}
