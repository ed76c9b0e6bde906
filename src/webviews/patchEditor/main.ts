// Patch editor webview entry: a .stpatch as hunks by tensor (PatchView), or the semantic diff
// of two versions (DiffView). A malformed patch shows its one-line error; its text stays
// editable in the text editor ("Show Text").

import '../modelEditor/cspShims';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { PatchViewState, ReviewToWebview } from '../../shared/reviewProtocol';
import { h, icon } from '../review/dom';
import { onThemeChange } from '../modelEditor/theme';
import { action, onHostMessage, postToHost, ReviewRpc } from '../review/hostRpc';
import { DiffView } from './diffView';
import { PatchView } from './patchView';

const root = document.getElementById('app')!;
const rpc = new ReviewRpc();
let patchView: PatchView | undefined;
let diffView: DiffView | undefined;
let last: PatchViewState | undefined;

function show(state: PatchViewState): void {
  last = state;
  if (state.kind === 'patch') {
    diffView?.dispose();
    diffView = undefined;
    patchView ??= new PatchView(rpc);
    patchView.update(state);
    if (root.firstChild !== patchView.element) root.replaceChildren(patchView.element);
    document.title = state.fileName;
    return;
  }
  patchView?.dispose();
  patchView = undefined;
  if (state.kind === 'diff') {
    diffView ??= new DiffView(rpc);
    diffView.update(state);
    if (root.firstChild !== diffView.element) root.replaceChildren(diffView.element);
    return;
  }
  diffView?.dispose();
  diffView = undefined;
  const showText = h('vscode-button', { secondary: true, 'data-testid': 'action-showText' }, 'Show Text');
  showText.addEventListener('click', () => action('showText'));
  root.replaceChildren(
    h(
      'div',
      { class: 'load-error', 'data-testid': state.kind === 'malformed' ? 'malformed' : 'load-error' },
      h('div', { class: 'error-message' }, icon('error'), ' ', h('span', { 'data-testid': 'error-text' }, state.message)),
      state.kind === 'malformed' ? h('p', { class: 'muted' }, 'The patch does not parse. It is still a text file: fix it in the text editor.') : null,
      state.kind === 'malformed' ? showText : null,
    ),
  );
}

onHostMessage((msg: ReviewToWebview) => {
  if (rpc.handle(msg)) return;
  switch (msg.type) {
    case 'patchState':
      show(msg.state);
      break;
    case 'busy':
      patchView?.setBusy(msg.action);
      break;
    case 'engineRestarted':
      // Open details re-fetch what they show when re-rendered.
      if (last) {
        patchView?.dispose();
        patchView = undefined;
        diffView?.dispose();
        diffView = undefined;
        show(last);
      }
      break;
  }
});

onThemeChange(() => {
  patchView?.refreshTheme();
  diffView?.refreshTheme();
});

postToHost({ type: 'ready' });
