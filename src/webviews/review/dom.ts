// DOM helpers of the review webviews: the model editor's element builder (modelEditor/dom.ts),
// plus a codicon and replaceChildren with optional children.

export { debounce, h, type Child } from '../modelEditor/dom';
import { h, type Child } from '../modelEditor/dom';

export function icon(name: string): HTMLElement {
  return h('span', { class: `codicon codicon-${name}`, 'aria-hidden': 'true' });
}

/** el.replaceChildren, skipping absent children (null, undefined, false). */
export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren(...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false));
}
