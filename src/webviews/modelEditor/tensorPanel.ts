// The right-hand panel for the selected tensor: what and where it is (dtype, shape, bytes in
// which file), its statistics, the slice picker, the region edit controls, the heatmap of
// the chosen slice and the hex view of its bytes. Edits go to the host; when the model's
// bytes change (here, in another editor, by undo or redo) everything shown is fetched again.

import type { DocumentEdit, EditResult, ModelInfo, TensorInfo, TensorStats } from '../../shared/protocol';
import { h } from './dom';
import { EditBar } from './editBar';
import { byteOfElement, unitOf } from './editModel';
import { HexView } from './hexView';
import { formatBytes, formatCount, formatInt, formatShape } from './format';
import { HeatmapView, type TensorRange } from './heatmapView';
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
  private readonly noValues: HTMLElement;
  private readonly body: HTMLElement;
  private readonly stats: StatsView;
  private readonly slicer: SlicePicker;
  private readonly heatmap: HeatmapView;
  private readonly editBar: EditBar;
  private readonly hex: HexView;
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
    this.stats = new StatsView(rpc, (tensor, stats) => this.heatmap.setTensorRange(tensor, tensorRange(stats)));
    this.slicer = new SlicePicker((slice) => void this.applySlice(slice));
    const edit = (e: DocumentEdit): Promise<EditResult> => this.rpc.edit(e);
    this.editBar = new EditBar(edit, (rect) => this.heatmap.setSelectedRect(rect));
    this.heatmap = new HeatmapView(rpc, colorMode, (mode) => saveViewState({ colorMode: mode }), {
      onEdit: edit,
      onSelectRect: (rect) => this.editBar.setRect(rect),
      onSelectElement: (e) => {
        const t = this.tensor;
        if (!t) return;
        // The hex view shows the unit of whole bytes holding the element.
        const start = byteOfElement(t.dtype, this.flatIndex(t, e.index));
        this.hex.reveal(start, start + unitOf(t.dtype).bytes);
      },
    });
    this.hex = new HexView(rpc, edit);
    this.empty = modelOverview(info);
    this.noValues = h('div', { class: 'muted', 'data-testid': 'no-values', hidden: true });
    // Values first: the heatmap is what one opens a tensor for; the statistics summarise it;
    // the raw bytes, the deepest level, come last.
    this.body = h(
      'div',
      { class: 'panel-body', hidden: true },
      this.header,
      h('section', { class: 'view' }, h('h3', {}, 'Values'), this.noValues, this.slicer.element, this.editBar.element, this.heatmap.element),
      this.stats.element,
      this.hex.element,
    );
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
    this.hex.show(tensor);
    const n = elementCount(tensor.shape);
    this.editBar.clearSubject(n > 0);
    this.noValues.hidden = n > 0;
    this.noValues.textContent = `No values: shape ${formatShape(tensor.shape)} has no elements.`;
    if (n === 0) {
      this.sliceAbort?.abort();
      this.slicer.setTensor([]);
      this.heatmap.clear();
      return;
    }
    const start = this.slicer.setTensor(tensor.shape, slice ?? this.slices.get(tensor.name));
    void this.applySlice(start);
  }

  /** The engine restarted or the bytes changed: fetch again what is shown. */
  reload(): void {
    if (this.tensor) this.stats.load(this.tensor);
    this.heatmap.reload();
    this.hex.reload();
  }

  /** Editing allowed (trusted workspace) or not. */
  setEditable(editable: boolean): void {
    this.editBar.setEditable(editable);
    this.heatmap.setEditable(editable);
    this.hex.setEditable(editable);
  }

  private flatIndex(t: TensorInfo, index: readonly number[]): number {
    let flat = 0;
    for (let d = 0; d < t.shape.length; d++) flat = flat * t.shape[d] + (index[d] ?? 0);
    return flat;
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
      // The button beside the name, so what follows does not move between 2-D and other tensors.
      h('div', { class: 'tensor-title' }, h('h2', { class: 'tensor-name', 'data-testid': 'tensor-name', title: t.name }, t.name), projectRowsButton(t)),
      h(
        'div',
        { class: 'info-grid' },
        row('dtype', t.dtype, 'tensor-dtype'),
        row('shape', formatShape(t.shape), 'tensor-shape'),
        row('elements', formatInt(elementCount(t.shape)), 'tensor-numel'),
        row('size', formatBytes(bytes), 'tensor-bytes'),
        row('file', fileName, 'tensor-file'),
        row('byte range', `${formatInt(t.fileOffset)} – ${formatInt(t.fileOffset + bytes)}`, 'tensor-range'),
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
      this.editBar.setSubject(tensor.name, view);
      this.heatmap.show({ tensor, fileName, view, specs });
    } catch (err) {
      if (isCancelled(err) || abort.signal.aborted) return;
      // Keep the last valid heatmap: the error explains why the new slice was not applied.
      this.slicer.showError((err as Error).message);
      this.heatmap.setStale(true);
    }
  }
}

/** Before a tensor is selected: what the model holds (by dtype, per file, its metadata) and what to do next. */
function modelOverview(info: ModelInfo): HTMLElement {
  const byDtype = new Map<string, { tensors: number; elements: number; bytes: number }>();
  for (const t of info.tensors) {
    const d = byDtype.get(t.dtype) ?? { tensors: 0, elements: 0, bytes: 0 };
    d.tensors++;
    d.elements += elementCount(t.shape);
    d.bytes += tensorBytes(t);
    byDtype.set(t.dtype, d);
  }
  const table = (head: string[], rows: string[][], testid: string, numeric = true) =>
    h('table', { class: numeric ? 'overview-table numeric' : 'overview-table', 'data-testid': testid }, h('tr', {}, ...head.map((c) => h('th', {}, c))), ...rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c)))));
  const dtypes = [...byDtype].sort((a, b) => b[1].bytes - a[1].bytes);
  const parts: HTMLElement[] = [
    h('p', { class: 'overview-hint' }, 'Select a tensor in the tree to see its values, statistics and bytes.'),
    h('h3', {}, 'Data types'),
    table(['dtype', 'tensors', 'parameters', 'size'], dtypes.map(([dtype, d]) => [dtype, formatInt(d.tensors), formatCount(d.elements), formatBytes(d.bytes)]), 'overview-dtypes'),
  ];
  if (info.files.length > 1) {
    const perFile = info.files.map(() => 0);
    for (const t of info.tensors) perFile[t.fileIndex]++;
    parts.push(h('h3', {}, 'Files'), table(['file', 'tensors', 'size'], info.files.map((f, i) => [baseName(f.path), formatInt(perFile[i]), formatBytes(f.size)]), 'overview-files'));
  }
  const metadata = Object.entries(info.metadata ?? {});
  if (metadata.length) parts.push(h('h3', {}, 'Metadata'), table(['key', 'value'], metadata.map(([k, v]) => [k, String(v)]), 'overview-metadata', false));
  return h('div', { class: 'panel-empty', 'data-testid': 'panel-empty' }, ...parts);
}

/** min, max and the 1st/99th percentiles of a tensor's finite values (undefined when it has none). */
function tensorRange(s: TensorStats): TensorRange | undefined {
  const q = (p: number) => s.quantiles.find(([at]) => Math.abs(at - p) < 1e-9)?.[1];
  if (s.min === null || s.max === null) return undefined;
  return { min: s.min, max: s.max, p1: q(0.01) ?? s.min, p99: q(0.99) ?? s.max };
}

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}
