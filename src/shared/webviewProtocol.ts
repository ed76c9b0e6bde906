// Messages between a webview and the extension host. The webview never talks to the engine
// directly: it asks the host, which adds the model id and forwards to the engine. Binary
// fields (Uint8Array) cross postMessage as bytes.

import type { DocumentEdit, EngineMethod, EngineMethods, ModelInfo } from './protocol';

/** Engine methods a model-editor webview may call; `modelId` is filled in by the host. */
export const WEBVIEW_ENGINE_METHODS = ['stats', 'slice', 'tile', 'element', 'region', 'bytes'] as const satisfies readonly EngineMethod[];
export type WebviewEngineMethod = (typeof WEBVIEW_ENGINE_METHODS)[number];

export function isWebviewEngineMethod(m: unknown): m is WebviewEngineMethod {
  return (WEBVIEW_ENGINE_METHODS as readonly unknown[]).includes(m);
}
export type WebviewParams<M extends WebviewEngineMethod> = Omit<EngineMethods[M]['params'], 'modelId'>;

export type ToWebview =
  /** `readOnly`: why the model cannot be edited (untrusted workspace); absent when it can. */
  | { type: 'init'; info: ModelInfo; fileName: string; selectTensor?: string; readOnly?: string }
  /** The model could not be opened (one line naming the file and the problem). */
  | { type: 'loadError'; fileName: string; message: string }
  | { type: 'response'; id: number; result?: unknown; error?: string }
  | { type: 'progress'; id: number; done: number; total: number }
  /** The engine restarted; the webview should re-request what it shows. */
  | { type: 'engineRestarted' }
  /** The host asks the webview to reveal a tensor (from a command or the tree). */
  | { type: 'reveal'; tensor: string }
  /** The model's bytes changed (an edit here or in another editor, undo, redo, revert, a loaded patch): re-request what is shown. */
  | { type: 'changed' }
  /** Editing became allowed (trust granted) or not. */
  | { type: 'readOnly'; reason?: string };

export type FromWebview =
  | { type: 'ready' }
  | { type: 'request'; id: number; method: WebviewEngineMethod; params: unknown }
  | { type: 'cancel'; id: number }
  /** An edit of the model; answered by a `response` with an EditResult (or a one-line error). */
  | { type: 'edit'; id: number; edit: DocumentEdit }
  /** Open the clustering view of a 2-D tensor of this model ("Project Rows"). */
  | { type: 'projectRows'; tensor: string }
  /** Something the user should see as a VS Code notification (one line). */
  | { type: 'error'; message: string };
