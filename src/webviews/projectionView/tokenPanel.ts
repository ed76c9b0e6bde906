// Token embedding comparison (rows that are tokens): two token pickers, A and B, searching the
// vocabulary in the engine (exact, prefix, then substring; "#123" picks id 123), and the
// cosine of A and B. Picking A selects its row, so the row panel shows its nearest tokens.

import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import type { VscodeTextfield } from '@vscode-elements/elements/dist/vscode-textfield/vscode-textfield.js';
import { debounce, h } from '../modelEditor/dom';
import type { TokenMatch } from '../../shared/projectionProtocol';
import { isCancelled, type ProjectionRpc } from './rpc';
import { quoteToken, type RowLabels } from './rowLabels';

const SUGGESTIONS = 12;

class TokenPicker {
  readonly element: HTMLElement;
  private readonly input: VscodeTextfield;
  private readonly list: HTMLElement;
  private abort: AbortController | undefined;
  private first: TokenMatch | undefined;
  picked: TokenMatch | undefined;

  constructor(
    slot: 'a' | 'b',
    private readonly rpc: ProjectionRpc,
    private readonly rows: number,
    private readonly labels: () => RowLabels,
    private readonly onPick: (m: TokenMatch) => void,
  ) {
    this.input = h('vscode-textfield', { placeholder: slot === 'a' ? 'Token A: search…' : 'Token B: search…', 'data-testid': `token-search-${slot}` }) as VscodeTextfield;
    this.list = h('ul', { class: 'token-suggestions', 'data-testid': `token-suggestions-${slot}`, hidden: true });
    this.element = h('div', { class: 'token-picker' }, h('span', { class: 'token-slot' }, slot.toUpperCase()), h('div', { class: 'token-input' }, this.input, this.list));
    const search = debounce(() => void this.search(), 120);
    this.input.addEventListener('input', search);
    this.input.addEventListener('keydown', (ev: KeyboardEvent) => {
      if (ev.key === 'Enter') {
        search.cancel();
        void this.search().then(() => this.first && this.pick(this.first));
      } else if (ev.key === 'Escape') {
        this.list.hidden = true;
      }
    });
  }

  /** Show a row as picked (e.g. the point clicked in the scatter). */
  set(row: number): void {
    const token = this.labels().token(row);
    if (token === undefined) return;
    this.picked = { id: row, token };
    this.input.value = token;
    this.list.hidden = true;
  }

  private pick(m: TokenMatch): void {
    this.picked = m;
    this.input.value = m.token;
    this.list.hidden = true;
    this.onPick(m);
  }

  private async search(): Promise<void> {
    this.abort?.abort();
    const abort = new AbortController();
    this.abort = abort;
    const query = this.input.value;
    this.first = undefined;
    const id = /^#(\d+)$/.exec(query.trim());
    if (id) {
      const row = Number(id[1]);
      const token = this.labels().token(row);
      this.render(row < this.rows && token !== undefined ? [{ id: row, token }] : [], row < this.rows ? 1 : 0);
      return;
    }
    if (query.trim() === '') {
      this.list.hidden = true;
      return;
    }
    try {
      const r = await this.rpc.request('projectionTokenSearch', { query, limit: SUGGESTIONS }, { signal: abort.signal });
      if (!abort.signal.aborted) this.render(r.matches, r.total);
    } catch (err) {
      if (isCancelled(err) || abort.signal.aborted) return;
      this.list.replaceChildren(h('li', { class: 'error-line' }, (err as Error).message));
      this.list.hidden = false;
    }
  }

  private render(matches: TokenMatch[], total: number): void {
    this.first = matches[0];
    const items = matches.map((m) => {
      const li = h('li', { class: 'token-suggestion', 'data-testid': 'token-suggestion', 'data-id': String(m.id), role: 'button', tabindex: '0' }, h('span', { class: 'mono' }, quoteToken(m.token)), h('span', { class: 'muted' }, ` #${m.id}`));
      li.addEventListener('mousedown', (ev) => ev.preventDefault()); // keep focus in the input
      li.addEventListener('click', () => this.pick(m));
      return li;
    });
    if (total > matches.length) items.push(h('li', { class: 'muted' }, `… ${total - matches.length} more`));
    if (items.length === 0) items.push(h('li', { class: 'muted' }, 'No token matches'));
    this.list.replaceChildren(...items);
    this.list.hidden = false;
  }
}

export class TokenPanel {
  readonly element: HTMLElement;
  private readonly a: TokenPicker;
  private readonly b: TokenPicker;
  private readonly result: HTMLElement;
  private abort: AbortController | undefined;

  constructor(
    private readonly rpc: ProjectionRpc,
    rows: number,
    labels: () => RowLabels,
    private readonly onSelect: (row: number) => void,
  ) {
    this.a = new TokenPicker('a', rpc, rows, labels, (m) => {
      this.onSelect(m.id);
      void this.compare();
    });
    this.b = new TokenPicker('b', rpc, rows, labels, () => void this.compare());
    this.result = h('div', { class: 'token-cosine', 'data-testid': 'token-cosine' }, h('span', { class: 'muted' }, 'Pick two tokens to compare them.'));
    this.element = h(
      'section',
      { class: 'token-panel', 'data-testid': 'token-panel' },
      h('h3', {}, 'Compare tokens'),
      this.a.element,
      this.b.element,
      this.result,
      h('div', { class: 'muted hint' }, 'Token A’s nearest tokens are listed above (the selected row).'),
    );
  }

  /** The selected row becomes token A. */
  setA(row: number): void {
    this.a.set(row);
    void this.compare();
  }

  /** The rows' values changed: the cosine again. */
  refresh(): void {
    void this.compare();
  }

  private async compare(): Promise<void> {
    const a = this.a.picked;
    const b = this.b.picked;
    if (!a || !b) return;
    this.abort?.abort();
    const abort = new AbortController();
    this.abort = abort;
    try {
      const { cosine } = await this.rpc.request('projectionCosine', { a: a.id, b: b.id }, { signal: abort.signal });
      if (abort.signal.aborted) return;
      this.result.replaceChildren(
        h('span', {}, `cos(${quoteToken(a.token)}, ${quoteToken(b.token)}) = `),
        h('span', { class: 'mono', 'data-testid': 'token-cosine-value' }, cosine === null ? 'undefined (a zero row)' : cosine.toFixed(4)),
      );
    } catch (err) {
      if (isCancelled(err) || abort.signal.aborted) return;
      this.result.replaceChildren(h('span', { class: 'error-line' }, (err as Error).message));
    }
  }
}
