// The model editor's "Project Rows" button (in its tensor header, for 2-D tensors): asks the
// host to open the clustering view of the tensor. Part of the model editor's bundle, so it
// posts through the model editor's host relay.

import { h } from '../modelEditor/dom';
import { postToHost } from '../modelEditor/hostRpc';
import type { TensorInfo } from '../../shared/protocol';

/** The button; hidden when the tensor has no rows to project (not 2-D, complex, a single row). */
export function projectRowsButton(t: TensorInfo): HTMLElement {
  const projectable = t.shape.length === 2 && t.shape[0] >= 2 && t.shape[1] >= 1 && t.dtype !== 'C64';
  const button = h(
    'button',
    { class: 'button secondary project-rows', 'data-testid': 'project-rows', hidden: !projectable, title: `Project the ${t.shape[0]} rows of this tensor to 2-D or 3-D (UMAP) and explore their clusters` },
    h('span', { class: 'codicon codicon-graph-scatter' }),
    ' Project Rows',
  );
  button.addEventListener('click', () => postToHost({ type: 'projectRows', tensor: t.name }));
  return button;
}
