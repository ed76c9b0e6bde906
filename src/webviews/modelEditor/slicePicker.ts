// The slice picker: a slice text field and one control row per tensor dimension (an index
// slider + number, or "axis" for the two dims the heatmap shows), kept in sync both ways.
// The engine validates: the editor sends each new slice to `slice` and calls `setResolved`
// with the normalised text, or `showError` with the engine's one-line message.

import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import type { VscodeTextfield } from '@vscode-elements/elements/dist/vscode-textfield/vscode-textfield.js';
import { debounce, h } from './dom';
import { defaultSpecs, formatSlice, parseSlice, setDimIndex, setDimKind, viewAxes, type DimSpec } from './sliceModel';

export class SlicePicker {
  readonly element: HTMLElement;
  private readonly text: VscodeTextfield;
  private readonly error: HTMLElement;
  private readonly dims: HTMLElement;
  private shape: number[] = [];
  private specs: DimSpec[] = [];
  /** Per dim: index inputs, when the dim is an index. */
  private controls: { range?: HTMLInputElement; number?: HTMLInputElement }[] = [];
  private readonly emitSoon = debounce(() => this.emit(), 90);

  constructor(private readonly onChange: (slice: string) => void) {
    this.text = h('vscode-textfield', { class: 'slice-text', 'data-testid': 'slice-input', 'aria-label': 'Slice', placeholder: '[0, :, :]' }) as VscodeTextfield;
    this.error = h('div', { class: 'error-line', 'data-testid': 'slice-error', hidden: true });
    this.dims = h('div', { class: 'slice-dims', 'data-testid': 'slice-dims' });
    this.element = h('div', { class: 'slice-picker' }, h('div', { class: 'slice-row' }, h('label', { class: 'field-label' }, 'Slice'), this.text), this.error, this.dims);

    const fromText = () => {
      const value = this.text.value.trim();
      const parsed = parseSlice(value, this.shape.length);
      if (parsed) {
        this.specs = parsed;
        this.renderDims();
      }
      this.onChange(value);
    };
    this.text.addEventListener('change', fromText);
    this.text.addEventListener('keydown', (ev: KeyboardEvent) => {
      if (ev.key === 'Enter') fromText();
    });
  }

  /** A new tensor: its dims and the slice to start with (restored state or the default view). */
  setTensor(shape: readonly number[], slice?: string): string {
    this.shape = shape.slice();
    this.specs = (slice !== undefined && parseSlice(slice, shape.length)) || defaultSpecs(shape);
    this.showError(undefined);
    const text = slice ?? formatSlice(this.specs);
    this.text.value = text;
    this.renderDims();
    this.element.hidden = shape.length === 0;
    return text;
  }

  /** The engine accepted the slice; show its normalised form. */
  setResolved(normalised: string): void {
    this.showError(undefined);
    const parsed = parseSlice(normalised, this.shape.length);
    if (parsed) {
      const structure = (s: DimSpec[]) => s.map((d) => d.kind).join();
      const rebuild = structure(parsed) !== structure(this.specs);
      this.specs = parsed;
      if (rebuild) this.renderDims();
      else this.syncDims();
    }
    if (!this.text.focused) this.text.value = normalised;
  }

  showError(message: string | undefined): void {
    this.error.hidden = message === undefined;
    this.error.textContent = message ?? '';
    this.text.invalid = message !== undefined;
  }

  private emit(): void {
    const text = formatSlice(this.specs);
    this.text.value = text;
    this.onChange(text);
  }

  private renderDims(): void {
    const { rowDim, colDim } = viewAxes(this.specs);
    this.controls = [];
    const rows = this.shape.map((size, d) => {
      const spec = this.specs[d];
      const role = d === rowDim ? 'rows' : d === colDim ? 'cols' : '';
      const label = h('span', { class: 'dim-label' }, `dim ${d}`, h('span', { class: 'muted' }, ` · ${size}`));
      const kindButton = (kind: 'index' | 'range', text: string, title: string) => {
        const b = h('button', { class: 'seg', 'aria-pressed': String(spec.kind === kind), title, 'data-testid': `dim-${d}-${kind}` }, text);
        b.addEventListener('click', () => {
          if (spec.kind === kind) return;
          this.specs = setDimKind(this.specs, d, kind);
          this.renderDims();
          this.emit();
        });
        return b;
      };
      const seg = h('span', { class: 'segmented' }, kindButton('index', 'index', 'Fix this dimension at one index'), kindButton('range', 'axis', 'Show this dimension as a heatmap axis'));
      let control: HTMLElement;
      if (spec.kind === 'index') {
        const max = String(Math.max(0, size - 1));
        const range = h('input', { type: 'range', min: '0', max, step: '1', 'aria-label': `dim ${d} index`, 'data-testid': `dim-${d}-slider` });
        const number = h('input', { type: 'number', min: String(-size), max, step: '1', class: 'dim-number', 'aria-label': `dim ${d} index`, 'data-testid': `dim-${d}-number` });
        range.value = number.value = String(spec.index);
        range.addEventListener('input', () => {
          number.value = range.value;
          this.specs = setDimIndex(this.specs, d, Number(range.value));
          this.emitSoon();
        });
        number.addEventListener('change', () => {
          const v = Math.trunc(Number(number.value));
          if (!Number.isFinite(v)) return;
          range.value = String(v < 0 ? v + size : v);
          this.specs = setDimIndex(this.specs, d, v);
          this.emit();
        });
        this.controls[d] = { range, number };
        control = h('span', { class: 'dim-control' }, range, number);
      } else {
        this.controls[d] = {};
        const span = formatSlice([spec]).slice(1, -1);
        control = h('span', { class: 'dim-control dim-axis' }, h('span', { class: 'axis-role' }, role || 'axis'), h('span', { class: 'muted' }, span === ':' ? `all ${size}` : span));
      }
      return h('div', { class: 'dim-row', 'data-dim': String(d) }, label, seg, control);
    });
    this.dims.replaceChildren(...rows);
    this.dims.hidden = this.shape.length < 2;
  }

  /** Update index values in place (keeps a slider being dragged alive). */
  private syncDims(): void {
    this.specs.forEach((spec, d) => {
      const c = this.controls[d];
      if (spec.kind !== 'index' || !c?.range || !c.number) return;
      const size = this.shape[d];
      if (document.activeElement !== c.number) c.number.value = String(spec.index);
      if (document.activeElement !== c.range) c.range.value = String(spec.index < 0 ? spec.index + size : spec.index);
    });
  }
}
