// Model editor webview entry: the tensor tree on the left, the tensor panel on the right.
// Talks only to the extension host (hostRpc), which relays engine requests.

import './cspShims';
import '@vscode-elements/elements/dist/vscode-split-layout/index.js';
import type { ModelInfo, TensorInfo } from '../../shared/protocol';
import type { ToWebview } from '../../shared/webviewProtocol';
import { h } from './dom';
import { HostRpc, loadViewState, onHostMessage, postToHost, saveViewState } from './hostRpc';
import { TensorPanel } from './tensorPanel';
import { onThemeChange } from './theme';
import { TreeView } from './treeView';

class ModelEditorApp {
  private readonly tree: TreeView;
  private readonly panel: TensorPanel;
  private readonly byName: Map<string, TensorInfo>;
  private readonly banner: HTMLElement;

  constructor(root: HTMLElement, rpc: HostRpc, info: ModelInfo, fileName: string, selectTensor: string | undefined, readOnly: string | undefined) {
    const state = loadViewState();
    this.byName = new Map(info.tensors.map((t) => [t.name, t]));
    this.panel = new TensorPanel(rpc, info, state.colorMode ?? 'diverging');
    this.tree = new TreeView(
      info.tensors,
      info.files.length,
      (index) => this.open(info.tensors[index].name),
      (filter) => saveViewState({ filter }),
    );
    // The tree takes about a third of a narrow editor, at most 320 px of a wide one.
    const treeWidth = Math.round(Math.max(180, Math.min(320, window.innerWidth * 0.3)));
    const split = h('vscode-split-layout', { class: 'split', 'initial-handle-position': `${treeWidth}px`, 'fixed-pane': 'start', 'min-start': '160px', 'min-end': '320px' });
    this.tree.element.slot = 'start';
    this.panel.element.slot = 'end';
    split.append(this.tree.element, this.panel.element);
    this.banner = h('div', { class: 'read-only-banner', 'data-testid': 'read-only-banner', hidden: true });
    root.replaceChildren(this.banner, split);
    this.setReadOnly(readOnly);
    root.dataset.file = fileName;
    document.title = fileName;

    this.tree.setFilter(state.filter ?? '');
    // A reveal from the host wins over the tensor shown before the webview was re-created.
    const first = selectTensor ?? state.tensor;
    if (first && this.tree.reveal(first)) this.open(first, selectTensor ? undefined : state.slice);
    onThemeChange(() => this.panel.refreshTheme());
  }

  open(name: string, slice?: string): void {
    if (this.panel.current?.name === name && slice === undefined) return;
    const tensor = this.byName.get(name);
    if (tensor) this.panel.show(tensor, slice);
  }

  reveal(name: string): void {
    if (this.tree.reveal(name)) this.open(name);
  }

  reload(): void {
    this.panel.reload();
  }

  /** Untrusted workspace: a banner says why, and the edit controls are gone. */
  setReadOnly(reason: string | undefined): void {
    this.banner.hidden = reason === undefined;
    this.banner.replaceChildren(h('span', { class: 'codicon codicon-lock' }), ' ', reason ?? '');
    document.body.classList.toggle('read-only', reason !== undefined);
    this.panel.setEditable(reason === undefined);
  }
}

const root = document.getElementById('app')!;
const rpc = new HostRpc();
let app: ModelEditorApp | undefined;

onHostMessage((msg: ToWebview) => {
  if (rpc.handle(msg)) return;
  switch (msg.type) {
    case 'init':
      app = new ModelEditorApp(root, rpc, msg.info, msg.fileName, msg.selectTensor, msg.readOnly);
      break;
    case 'loadError':
      root.replaceChildren(h('div', { class: 'load-error', 'data-testid': 'load-error' }, h('span', { class: 'codicon codicon-error' }), ' ', msg.message));
      break;
    case 'reveal':
      app?.reveal(msg.tensor);
      break;
    case 'engineRestarted':
    case 'changed':
      app?.reload();
      break;
    case 'readOnly':
      app?.setReadOnly(msg.reason);
      break;
  }
});

postToHost({ type: 'ready' });
