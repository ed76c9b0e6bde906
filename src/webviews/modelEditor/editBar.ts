// The region edit controls above the heatmap: which rectangle (typed row/column ranges,
// filled in by a drag-selection on the heatmap, or the whole view), which operation (set,
// scale, add, clamp, zero, seeded noise) with its parameters, and Apply. The edit goes to
// the host, which puts it on VS Code's undo stack; the result line says what changed.

import type { DocumentEdit, EditResult, SliceView, Viewport } from '../../shared/protocol';
import { h } from './dom';
import { buildOp, elementCountOf, formatRange, OPS, rectFromText, regionEdit, type OpKind } from './editModel';
import { formatInt } from './format';

export class EditBar {
  readonly element: HTMLElement;
  private readonly rows: HTMLInputElement;
  private readonly cols: HTMLInputElement;
  private readonly op: HTMLSelectElement;
  private readonly params: HTMLElement;
  private readonly apply: HTMLButtonElement;
  private readonly result: HTMLElement;
  private paramInputs: Record<string, HTMLInputElement> = {};
  /** The op whose parameters are shown. */
  private paramOp: OpKind = 'scale';
  /** Typed parameter values per op, kept while switching ops. */
  private readonly typed = new Map<string, string>();
  private subject: { tensor: string; view: SliceView } | undefined;
  private editable = true;
  /** False for a tensor without elements: nothing to edit, no controls. */
  private available = true;
  private busy = false;

  constructor(
    private readonly onApply: (edit: DocumentEdit) => Promise<EditResult>,
    /** The typed rectangle changed (the heatmap outlines it). */
    private readonly onRect: (rect: Viewport | undefined) => void,
  ) {
    this.rows = h('input', { class: 'text-input range-input', 'data-testid': 'edit-rows', 'aria-label': 'Rows', placeholder: 'all' });
    this.cols = h('input', { class: 'text-input range-input', 'data-testid': 'edit-cols', 'aria-label': 'Columns', placeholder: 'all' });
    const whole = h('button', { class: 'seg', 'data-testid': 'edit-whole', title: 'Select the whole view' }, 'Whole view');
    whole.addEventListener('click', () => this.setRect(undefined));
    this.op = h('select', { class: 'select-input', 'data-testid': 'edit-op', 'aria-label': 'Operation' }, ...OPS.map((o) => h('option', { value: o.kind }, o.label)));
    this.op.addEventListener('change', () => this.renderParams());
    this.params = h('span', { class: 'edit-params' });
    this.apply = h('button', { class: 'button', 'data-testid': 'edit-apply', title: 'Apply the operation to these rows and columns of the view shown (Undo takes it back)' }, 'Apply');
    this.apply.addEventListener('click', () => void this.run());
    this.result = h('div', { class: 'edit-result muted', 'data-testid': 'edit-result' });
    for (const input of [this.rows, this.cols]) {
      input.addEventListener('change', () => this.onRect(this.typedRect()));
      input.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter') this.onRect(this.typedRect());
      });
    }
    this.element = h(
      'div',
      { class: 'edit-bar', 'data-testid': 'edit-bar' },
      h(
        'div',
        { class: 'edit-row' },
        h('span', { class: 'field-label' }, 'Edit rows'),
        this.rows,
        h('span', { class: 'field-label' }, 'cols'),
        this.cols,
        whole,
        this.op,
        this.params,
        this.apply,
      ),
      this.result,
    );
    this.renderParams();
  }

  setSubject(tensor: string, view: SliceView): void {
    const same = this.subject?.tensor === tensor && this.subject.view.slice === view.slice;
    this.subject = { tensor, view };
    this.apply.disabled = this.busy;
    if (!same) {
      this.setRect(undefined);
      this.showResult('', false);
    }
  }

  /** Another tensor is being shown: until its view arrives, Apply must not edit the previous one. */
  clearSubject(available: boolean): void {
    this.subject = undefined;
    this.apply.disabled = true;
    this.available = available;
    this.element.hidden = !this.editable || !available;
  }

  /** A drag-selection on the heatmap (undefined: the whole view). */
  setRect(rect: Viewport | undefined): void {
    this.rows.value = rect ? formatRange([rect.row0, rect.row1]) : '';
    this.cols.value = rect ? formatRange([rect.col0, rect.col1]) : '';
    this.onRect(rect);
  }

  setEditable(editable: boolean): void {
    this.editable = editable;
    this.element.hidden = !editable || !this.available;
  }

  private typedRect(): Viewport | undefined {
    const s = this.subject;
    if (!s) return undefined;
    const r = rectFromText(this.rows.value, this.cols.value, s.view);
    return typeof r === 'string' ? undefined : r;
  }

  private renderParams(): void {
    for (const [name, input] of Object.entries(this.paramInputs)) this.typed.set(`${this.paramOp}:${name}`, input.value);
    const kind = this.op.value as OpKind;
    this.paramOp = kind;
    const spec = OPS.find((o) => o.kind === kind)!;
    this.paramInputs = {};
    const parts: HTMLElement[] = [];
    for (const p of spec.params) {
      const input = h('input', { class: 'text-input param-input', 'data-testid': `edit-param-${p.name}`, 'aria-label': p.label });
      input.value = this.typed.get(`${kind}:${p.name}`) ?? p.initial;
      input.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter') void this.run();
      });
      this.paramInputs[p.name] = input;
      parts.push(h('span', { class: 'field-label' }, p.label), input);
    }
    this.params.replaceChildren(...parts);
  }

  private async run(): Promise<void> {
    const s = this.subject;
    if (!s || this.busy || !this.editable) return;
    const rect = rectFromText(this.rows.value, this.cols.value, s.view);
    if (typeof rect === 'string') return this.showResult(rect, true);
    const values = Object.fromEntries(Object.entries(this.paramInputs).map(([k, v]) => [k, v.value]));
    const op = buildOp(this.op.value as OpKind, values);
    if (typeof op === 'string') return this.showResult(op, true);
    this.busy = true;
    this.apply.disabled = true;
    this.showResult(`Applying to ${formatInt(elementCountOf(rect))} elements…`, false);
    try {
      const r = await this.onApply(regionEdit(s.tensor, s.view.slice, rect, s.view, op));
      this.showResult(r.changedElements === 0 ? `${r.summary}: nothing changed` : `${r.summary}: ${formatInt(r.changedElements)} element${r.changedElements === 1 ? '' : 's'} changed`, false);
    } catch (err) {
      this.showResult((err as Error).message, true);
    } finally {
      this.busy = false;
      this.apply.disabled = this.subject === undefined;
    }
  }

  private showResult(text: string, error: boolean): void {
    this.result.textContent = text;
    this.result.classList.toggle('error-line', error);
    this.result.classList.toggle('muted', !error);
  }
}
