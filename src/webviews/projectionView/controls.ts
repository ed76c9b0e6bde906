// The view's toolbar: projection options (neighbours, metric, PCA components, 2-D/3-D, seed),
// Project / Cancel / Save projection…, and the colouring (row norm or a chosen column).
// Fields are checked here so a bad number is named before anything is sent.

import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import type { VscodeButton } from '@vscode-elements/elements/dist/vscode-button/vscode-button.js';
import type { VscodeSingleSelect } from '@vscode-elements/elements/dist/vscode-single-select/vscode-single-select.js';
import type { VscodeTextfield } from '@vscode-elements/elements/dist/vscode-textfield/vscode-textfield.js';
import { h } from '../modelEditor/dom';
import type { ProjectionFitOptions, RowColoring } from '../../shared/projectionProtocol';

export const DEFAULT_OPTIONS: ProjectionFitOptions = { nNeighbors: 15, metric: 'euclidean', pca: 50, components: 2, seed: 0 };

export interface ControlEvents {
  project(): void;
  cancel(): void;
  save(): void;
  colorChanged(): void;
}

export class Controls {
  readonly element: HTMLElement;
  private readonly neighbors: VscodeTextfield;
  private readonly metric: VscodeSingleSelect;
  private readonly pca: VscodeTextfield;
  private readonly components: VscodeSingleSelect;
  private readonly seed: VscodeTextfield;
  private readonly colorBy: VscodeSingleSelect;
  private readonly column: VscodeTextfield;
  private readonly projectButton: VscodeButton;
  private readonly cancelButton: VscodeButton;
  private readonly saveButton: VscodeButton;

  constructor(
    private readonly rows: number,
    private readonly cols: number,
    events: ControlEvents,
  ) {
    const number = (testid: string, value: number, min: number, max: number, title: string) => {
      const f = h('vscode-textfield', { type: 'number', value: String(value), min: String(min), max: String(max), title, 'data-testid': testid, class: 'number-field' }) as VscodeTextfield;
      f.addEventListener('input', () => (f.invalid = false));
      return f;
    };
    const select = (testid: string, options: [string, string][], title: string) =>
      h('vscode-single-select', { 'data-testid': testid, title }, ...options.map(([value, label], i) => h('vscode-option', { value, selected: i === 0 }, label))) as VscodeSingleSelect;
    const field = (label: string, control: HTMLElement) => h('label', { class: 'field' }, h('span', { class: 'field-label' }, label), control);

    this.neighbors = number('opt-neighbors', DEFAULT_OPTIONS.nNeighbors, 2, Math.min(200, rows), 'Neighbours per point, counting the point itself (UMAP n_neighbors)');
    this.metric = select('opt-metric', [['euclidean', 'euclidean'], ['cosine', 'cosine']], 'Distance of the neighbour search');
    this.pca = number('opt-pca', DEFAULT_OPTIONS.pca, 0, 512, 'PCA components before the neighbour search (0: none)');
    this.components = select('opt-components', [['2', '2-D'], ['3', '3-D']], 'Embedding dimensions');
    this.seed = number('opt-seed', DEFAULT_OPTIONS.seed, 0, 2 ** 32 - 1, 'Random seed: the same seed gives the same layout');
    this.colorBy = select('opt-color', [['norm', 'row norm'], ['column', 'column…']], 'Colour of the points');
    this.column = number('opt-column', 0, 0, cols - 1, `Column (0 to ${cols - 1})`);
    this.column.hidden = true;
    this.colorBy.addEventListener('change', () => {
      this.column.hidden = this.colorBy.value !== 'column';
      events.colorChanged();
    });
    this.column.addEventListener('change', () => events.colorChanged());

    this.projectButton = h('vscode-button', { icon: 'play', 'data-testid': 'project-button', title: 'Fit the projection with these options' }, 'Project') as VscodeButton;
    this.cancelButton = h('vscode-button', { icon: 'debug-stop', secondary: true, disabled: true, 'data-testid': 'cancel-button' }, 'Cancel') as VscodeButton;
    this.saveButton = h('vscode-button', { icon: 'save', secondary: true, disabled: true, 'data-testid': 'save-button', title: 'Write the fitted projection as .safetensors' }, 'Save projection…') as VscodeButton;
    this.projectButton.addEventListener('click', () => events.project());
    this.cancelButton.addEventListener('click', () => events.cancel());
    this.saveButton.addEventListener('click', () => events.save());

    this.element = h(
      'div',
      { class: 'controls', 'data-testid': 'controls' },
      h('div', { class: 'control-group' }, field('neighbours', this.neighbors), field('metric', this.metric), field('PCA', this.pca), field('dims', this.components), field('seed', this.seed), this.projectButton, this.cancelButton),
      h('div', { class: 'control-group' }, field('colour', this.colorBy), this.column, this.saveButton),
    );
  }

  /** The options, or the first bad field's message (that field is marked invalid). */
  options(): ProjectionFitOptions | string {
    const int = (f: VscodeTextfield, name: string, min: number, max: number): number | string => {
      const v = Number(f.value);
      if (f.value.trim() === '' || !Number.isInteger(v) || v < min || v > max) {
        f.invalid = true;
        return `${name} must be a whole number from ${min} to ${max}`;
      }
      return v;
    };
    const nNeighbors = int(this.neighbors, 'neighbours', 2, Math.min(200, this.rows));
    if (typeof nNeighbors === 'string') return nNeighbors;
    const pca = int(this.pca, 'PCA components', 0, 512);
    if (typeof pca === 'string') return pca;
    const seed = int(this.seed, 'seed', 0, 2 ** 32 - 1);
    if (typeof seed === 'string') return seed;
    return { nNeighbors, metric: this.metric.value === 'cosine' ? 'cosine' : 'euclidean', pca, components: this.components.value === '3' ? 3 : 2, seed };
  }

  coloring(): RowColoring | string {
    if (this.colorBy.value !== 'column') return { by: 'norm' };
    const v = Number(this.column.value);
    if (!Number.isInteger(v) || v < 0 || v >= this.cols) {
      this.column.invalid = true;
      return `column must be a whole number from 0 to ${this.cols - 1}`;
    }
    this.column.invalid = false;
    return { by: 'column', column: v };
  }

  /** While fitting: Cancel on, Project and Save off. */
  setRunning(running: boolean, canSave: boolean): void {
    this.projectButton.disabled = running;
    this.cancelButton.disabled = !running;
    this.saveButton.disabled = running || !canSave;
  }

  get neighborCount(): number {
    const v = Number(this.neighbors.value);
    return Number.isInteger(v) && v >= 2 ? v : DEFAULT_OPTIONS.nNeighbors;
  }
}
