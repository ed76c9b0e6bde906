// DOM helpers of the review webviews: the model editor's element builder (modelEditor/dom.ts),
// plus a codicon and a filter for optional children.

export { debounce, h, type Child } from '../modelEditor/dom';
import { h, type Child } from '../modelEditor/dom';

export function icon(name: string): HTMLElement {
  return h('span', { class: `codicon codicon-${name}`, 'aria-hidden': 'true' });
}

/** The children that are there (for replaceChildren, which takes no null). */
export function present(...children: Child[]): (Node | string)[] {
  return children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false);
}
