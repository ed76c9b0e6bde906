// The right-hand panel for the selected tensor: what and where it is (dtype, shape, bytes in
// which file), its statistics, the slice picker and the heatmap of the chosen slice.

import type { ModelInfo, TensorInfo } from '../../shared/protocol';
import { h } from './dom';
import { formatBytes, formatInt, formatShape } from './format';
import { HeatmapView } from './heatmapView';
import type { ColorMode } from './heatmapData';
import { isCancelled, saveViewState, type HostRpc } from './hostRpc';
import { SlicePicker } from './slicePicker';
import { defaultSpecs, parseSlice } from './sliceModel';
import { StatsView } from './statsView';
import { elementCount, tensorBytes } from './tensorTree';
import { projectRowsButton } from '../projectionView/projectRowsButton';

export class TensorPanel {
  readonly element: HTMLElement;
  private readonly header: HTMLElement;
  private readonly empty: HTMLElement;
  private readonly body: HTMLElement;
  private readonly stats: StatsView;
  private readonly slicer: SlicePicker;
  private readonly heatmap: HeatmapView;
  private tensor: TensorInfo | undefined;
  private sliceAbort: AbortController | undefined;
  /** The last valid slice per tensor, so returning to a tensor shows the same view. */
  private readonly slices = new Map<string, string>();

  constructor(
    private readonly rpc: HostRpc,
    private readonly info: ModelInfo,
    colorMode: ColorMode,
  ) {
    this.header = h('header', { class: 'tensor-header' });
    this.stats = new StatsView(rpc);
    this.slicer = new SlicePicker((slice) => void this.applySlice(slice));
    this.heatmap = new HeatmapView(rpc, colorMode, (mode) => saveViewState({ colorMode: mode }));
    this.empty = h('div', { class: 'panel-empty muted', 'data-testid': 'panel-empty' }, 'Select a tensor in the tree to see its values.');
    // Values first: the heatmap is what one opens a tensor for; statistics follow.
    this.body = h('div', { class: 'panel-body', hidden: true }, this.header, h('section', { class: 'view' }, h('h3', {}, 'Values'), this.slicer.element, this.heatmap.element), this.stats.element);
    this.element = h('div', { class: 'tensor-panel', 'data-testid': 'tensor-panel' }, this.empty, this.body);
  }

  get current(): TensorInfo | undefined {
    return this.tensor;
  }

  show(tensor: TensorInfo, slice?: string): void {
    this.tensor = tensor;
    this.empty.hidden = true;
    this.body.hidden = false;
    this.element.dataset.tensor = tensor.name;
    this.renderHeader(tensor);
    this.stats.load(tensor);
    const n = elementCount(tensor.shape);
    if (n === 0) {
      this.sliceAbort?.abort();
      this.slicer.setTensor([]);
      this.heatmap.clear();
      return;
    }
    const start = this.slicer.setTensor(tensor.shape, slice ?? this.slices.get(tensor.name));
    void this.applySlice(start);
  }

  /** The engine restarted: fetch again what is shown. */
  reload(): void {
    if (this.tensor) this.stats.load(this.tensor);
    this.heatmap.reload();
  }

  refreshTheme(): void {
    this.stats.refresh();
    this.heatmap.refreshTheme();
  }

  private renderHeader(t: TensorInfo): void {
    const file = this.info.files[t.fileIndex];
    const fileName = file ? baseName(file.path) : '?';
    const bytes = tensorBytes(t);
    const row = (label: string, value: string, testid: string) => h('div', { class: 'stat' }, h('span', { class: 'stat-label' }, label), h('span', { class: 'stat-value', 'data-testid': testid }, value));
    this.header.replaceChildren(
      h('h2', { class: 'tensor-name', 'data-testid': 'tensor-name', title: t.name }, t.name),
      projectRowsButton(t),
      h(
        'div',
        { class: 'info-grid' },
        row('dtype', t.dtype, 'tensor-dtype'),
        row('shape', formatShape(t.shape), 'tensor-shape'),
        row('elements', formatInt(elementCount(t.shape)), 'tensor-numel'),
        row('size', formatBytes(bytes), 'tensor-bytes'),
        row('file', fileName, 'tensor-file'),
        row('bytes', `${formatInt(t.fileOffset)} – ${formatInt(t.fileOffset + bytes)} (${formatInt(bytes)} B)`, 'tensor-range'),
      ),
    );
  }

  /** Validate a slice with the engine, then show it (or the engine's one-line error). */
  private async applySlice(slice: string): Promise<void> {
    const tensor = this.tensor;
    if (!tensor) return;
    this.sliceAbort?.abort();
    const abort = new AbortController();
    this.sliceAbort = abort;
    try {
      const view = await this.rpc.request('slice', { tensor: tensor.name, slice }, { signal: abort.signal });
      if (abort.signal.aborted || this.tensor !== tensor) return;
      this.slicer.setResolved(view.slice);
      this.slices.set(tensor.name, view.slice);
      saveViewState({ tensor: tensor.name, slice: view.slice });
      const specs = parseSlice(view.slice, tensor.shape.length) ?? defaultSpecs(tensor.shape);
      const fileName = baseName(this.info.files[tensor.fileIndex]?.path ?? '');
      this.heatmap.show({ tensor, fileName, view, specs });
    } catch (err) {
      if (isCancelled(err) || abort.signal.aborted) return;
      // Keep the last valid heatmap: the error explains why the new slice was not applied.
      this.slicer.showError((err as Error).message);
      this.heatmap.setStale(true);
    }
  }
}

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}
