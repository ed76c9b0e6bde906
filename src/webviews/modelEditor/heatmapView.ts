// The heatmap of a 2-D slice view. The webview only ever holds tiles of at most the plot's
// pixels: an overview tile of the whole view, plus a finer tile of the zoomed viewport drawn
// on top with the overview's colour range (so colours keep their meaning while zooming).
// Hover shows the exact element (exact tiles) or a summary of the cell (coarse tiles),
// fetched on demand; a click selects an element and shows its bytes, where it can be set to
// a new value or new bytes. In "Select" mode a drag selects a rectangle for region edits.

import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import { TILE_NO_VALUE, type TileRange, type DocumentEdit, type EditResult, type ElementInfo, type RegionSummary, type SliceView, type TensorInfo, type Tile, type Viewport } from '../../shared/protocol';
import { debounce, h } from './dom';
import { cleanHex, elementValue } from './editModel';
import { formatInt, formatTick, formatValue, spaceHex } from './format';
import { cellAt, cellEdges, codeToValue, colorbarTicks, divergingScale, sequentialScale, tileToZ, valueToCode, type ColorMode } from './heatmapData';
import { isCancelled, type HostRpc } from './hostRpc';
import { plotly, type PlotDiv } from './plotly';
import { formatTensorRanges, viewCellToTensor, type DimSpec } from './sliceModel';
import { themeColors } from './theme';

// Top margin leaves room for plotly's mode bar above the plot; right margin holds our colour bar.
const MARGIN = { l: 56, r: 76, t: 28, b: 34 };
const MAX_SIDE = 16384; // the engine's limit on tile rows/cols
const NO_VALUE_COLOR = '#8c8c8c';
const HOVER_DEBOUNCE_MS = 50;
const CACHE_LIMIT = 2000;
/** Single-row views (1-D tensors, [1, n] slices): plot height, and the share of the plot area the colour strip keeps under the values' line. */
const PROFILE_PLOT_HEIGHT = 320;
const STRIP_DOMAIN = 0.16;
const PROFILE_GAP = 0.06;

/** What is shown: a tensor, a resolved slice view of it, and the slice as per-dim specs. */
export interface HeatmapSubject {
  tensor: TensorInfo;
  fileName: string;
  view: SliceView;
  specs: DimSpec[];
}

/** What the heatmap tells its panel about: edits, the drag-selected rectangle, the selected element. */
export interface HeatmapHooks {
  onEdit(edit: DocumentEdit): Promise<EditResult>;
  /** A rectangle was drag-selected (view coordinates). */
  onSelectRect(rect: Viewport): void;
  /** An element was selected (clicked), with its exact info. */
  onSelectElement(info: ElementInfo): void;
}

type DragTool = 'zoom' | 'select';

/**
 * What the colours span: the shown view's own min..max, the whole tensor's (colours keep
 * their meaning while moving through slices), or the tensor's 1st..99th percentile (a few
 * outliers no longer wash out the rest; beyond it colours saturate).
 */
export type RangeMode = 'view' | 'tensor' | 'robust';

/** The tensor-wide numbers the range modes need (from its statistics). */
export interface TensorRange {
  min: number;
  max: number;
  p1: number;
  p99: number;
}

type HoverTarget = { key: string; row: number; col: number; exact: true } | { key: string; row: number; col: number; exact: false; cell: Viewport };

export class HeatmapView {
  readonly element: HTMLElement;
  private readonly plotDiv: PlotDiv;
  private readonly hoverBox: HTMLElement;
  private readonly hoverIndex: HTMLElement;
  private readonly hoverValue: HTMLElement;
  private readonly hoverHint: HTMLElement;
  private readonly statusEl: HTMLElement;
  private readonly errorEl: HTMLElement;
  private readonly loading: HTMLElement;
  private readonly selection: HTMLElement;
  private readonly colorbar: HTMLElement;
  private readonly modeButtons: Record<ColorMode, HTMLButtonElement>;
  private readonly rangeButtons: Record<RangeMode, HTMLButtonElement>;
  private rangeMode: RangeMode = 'view';
  /** The tensor-wide range of a tensor, once its statistics are in. */
  private tensorRange: { tensor: string; range: TensorRange } | undefined;
  private readonly toolButtons: Record<DragTool, HTMLButtonElement>;
  /** Zoom | Select; gone when the model cannot be edited (zoom is then the only drag). */
  private readonly toolGroup: HTMLElement;
  private readonly selectBox: HTMLElement;
  /** Single-row views: a vertical line through the hovered column, over the line plot and the strip. */
  private readonly guide: HTMLElement;
  private tool: DragTool = 'zoom';
  /** The rectangle selected for region edits (drawn dashed), in view coordinates. */
  private selectedRect: Viewport | undefined;
  /** A drag-selection in progress: where it started (element, and pixels in the plot area). */
  private dragFrom: { row: number; col: number; x: number; y: number } | undefined;
  private editable = true;
  /** The outcome of the last element edit, shown again when the selection is re-read after it. */
  private elementNote: { at: { row: number; col: number }; text: string; error: boolean } | undefined;

  private subject: HeatmapSubject | undefined;
  private colorMode: ColorMode;
  private base: Tile | undefined;
  private detail: Tile | undefined;
  /** Single-row views: the values as a line over the strip, from tiles with their own min..max range (overview, zoomed). */
  private profile: Tile | undefined;
  private profileDetail: Tile | undefined;
  private plotted = false;
  private selected: { row: number; col: number } | undefined;
  private uirevision = 0;
  private resetPending = false;
  /** Pixel size the current tiles were requested for. */
  private tilePixels = { w: 0, h: 0 };

  private baseAbort: AbortController | undefined;
  private detailAbort: AbortController | undefined;
  private hoverAbort: AbortController | undefined;
  private clickAbort: AbortController | undefined;
  private readonly cache = new Map<string, ElementInfo | RegionSummary>();
  /** The element or cell under the mouse (undefined when outside the plot). */
  private hovered: HoverTarget | undefined;
  /** The last one hovered: its value still goes to the hover line after the mouse left. */
  private lastHovered: HoverTarget | undefined;
  private downAt: { x: number; y: number } | undefined;

  private readonly fetchHover = debounce((t: HoverTarget) => void this.loadHover(t), HOVER_DEBOUNCE_MS);
  private readonly fetchDetail = debounce(() => void this.loadDetail(), 120);
  private readonly onResize = debounce(() => void this.resize(), 150);

  constructor(
    private readonly rpc: HostRpc,
    initialMode: ColorMode,
    private readonly onModeChange: (mode: ColorMode) => void,
    private readonly hooks: HeatmapHooks,
  ) {
    this.colorMode = initialMode;
    this.plotDiv = h('div', { class: 'heatmap-plot', 'data-testid': 'heatmap-plot' }) as PlotDiv;
    this.hoverIndex = h('span', { class: 'hover-index', 'data-testid': 'hover-index' });
    this.hoverValue = h('span', { class: 'hover-value', 'data-testid': 'hover-value' });
    this.hoverBox = h('div', { class: 'hover-box', 'data-testid': 'hover-box', hidden: true });
    this.hoverHint = h('span', { class: 'muted', 'data-testid': 'hover-hint' }, 'Hover for exact values · click to select · drag to zoom, double-click to reset');
    this.statusEl = h('span', { class: 'muted heatmap-status', 'data-testid': 'heatmap-status' });
    this.errorEl = h('div', { class: 'error-line', 'data-testid': 'heatmap-error', hidden: true });
    this.loading = h('vscode-progress-bar', { class: 'heatmap-loading', hidden: true });
    this.selection = h('div', { class: 'selection', 'data-testid': 'selection', hidden: true });
    this.colorbar = h('div', { class: 'colorbar', 'data-testid': 'colorbar', hidden: true });
    const modeButton = (mode: ColorMode, label: string, title: string) => {
      const b = h('button', { class: 'seg', title, 'data-testid': `color-${mode}` }, label);
      b.addEventListener('click', () => this.setColorMode(mode));
      return b;
    };
    this.modeButtons = {
      diverging: modeButton('diverging', 'Diverging', 'Blue-red colour map centred on 0 (range symmetric around 0)'),
      sequential: modeButton('sequential', 'Sequential', 'Viridis colour map over the tile’s min..max'),
    };
    this.updateModeButtons();
    const rangeButton = (mode: RangeMode, label: string, title: string) => {
      const b = h('button', { class: 'seg', title, 'data-testid': `range-${mode}` }, label);
      b.addEventListener('click', () => this.setRangeMode(mode));
      return b;
    };
    this.rangeButtons = {
      view: rangeButton('view', 'View', 'Colours span the min..max of the view shown'),
      tensor: rangeButton('tensor', 'Tensor', 'Colours span the whole tensor’s min..max: the same colour is the same value in every slice'),
      robust: rangeButton('robust', 'p1–p99', 'Colours span the whole tensor’s 1st..99th percentile: outliers saturate instead of washing out the rest'),
    };
    this.updateRangeButtons();
    const toolButton = (tool: DragTool, label: string, title: string) => {
      const b = h('button', { class: 'seg', title, 'data-testid': `tool-${tool}` }, label);
      b.addEventListener('click', () => void this.setTool(tool));
      return b;
    };
    this.toolButtons = {
      zoom: toolButton('zoom', 'Zoom', 'Drag to zoom in (double-click resets)'),
      select: toolButton('select', 'Select', 'Drag to select a rectangle to edit'),
    };
    this.updateToolButtons();
    this.toolGroup = h('span', { class: 'segmented' }, this.toolButtons.zoom, this.toolButtons.select);
    this.selectBox = h('div', { class: 'select-box', hidden: true });
    this.guide = h('div', { class: 'hover-guide', 'data-testid': 'hover-guide', hidden: true });
    this.element = h(
      'section',
      { class: 'heatmap', 'data-testid': 'heatmap' },
      h(
        'div',
        { class: 'heatmap-toolbar' },
        h('span', { class: 'segmented' }, this.modeButtons.diverging, this.modeButtons.sequential),
        h('span', { class: 'segmented', title: 'Colour range' }, this.rangeButtons.view, this.rangeButtons.tensor, this.rangeButtons.robust),
        this.toolGroup,
        this.statusEl,
      ),
      this.errorEl,
      // Above the plot, so what is under the mouse (or was clicked) is read where one looks.
      h('div', { class: 'hover-line', 'data-testid': 'hover-line' }, this.hoverHint, this.hoverIndex, ' ', this.hoverValue),
      this.loading,
      h('div', { class: 'heatmap-area' }, this.plotDiv, this.colorbar, this.guide, this.hoverBox, this.selectBox),
      this.selection,
    );

    this.plotDiv.addEventListener('mousemove', (ev) => this.onMouseMove(ev));
    this.plotDiv.addEventListener('mouseleave', () => this.hideHoverBox());
    this.plotDiv.addEventListener('mousedown', (ev) => {
      this.downAt = { x: ev.clientX, y: ev.clientY };
      if (this.tool === 'select' && ev.button === 0) this.startDrag(ev);
    });
    window.addEventListener('mousemove', (ev) => this.moveDrag(ev));
    window.addEventListener('mouseup', (ev) => this.endDrag(ev));
    this.plotDiv.addEventListener('click', (ev) => this.onClick(ev));
    new ResizeObserver(() => this.onResize()).observe(this.plotDiv);
  }

  /** Show a (new) slice view: reset zoom and hover, fetch the overview tile. */
  show(subject: HeatmapSubject): void {
    this.cancelAll();
    this.subject = subject;
    this.base = undefined;
    this.detail = undefined;
    this.profile = undefined;
    this.profileDetail = undefined;
    this.selected = undefined;
    this.selectedRect = undefined;
    this.hovered = undefined;
    this.lastHovered = undefined;
    this.cache.clear();
    this.selection.hidden = true;
    this.hideHoverBox();
    this.hoverIndex.textContent = '';
    this.hoverValue.textContent = '';
    this.hoverHint.hidden = false;
    this.showError(undefined);
    this.setStale(false);
    this.element.hidden = false;
    // Which tensor clicks and hovers now refer to (before its tiles arrive); tests wait on it.
    this.element.dataset.tensor = subject.tensor.name;
    // One row (1-D tensors, [1, n]): the values as a line over a colour strip; a few rows: a low plot.
    const rows = subject.view.rows;
    this.plotDiv.classList.toggle('profile', hasProfile(subject));
    this.plotDiv.style.height = hasProfile(subject) ? `${PROFILE_PLOT_HEIGHT}px` : rows <= 8 ? `${MARGIN.t + MARGIN.b + Math.max(60, rows * 28)}px` : '';
    void this.start();
  }

  /** Mark what is shown as not matching the slice field (the new slice was rejected). */
  setStale(stale: boolean): void {
    this.element.classList.toggle('stale', stale);
  }

  /** Nothing to show (no tensor, or an invalid slice). */
  clear(): void {
    this.cancelAll();
    this.subject = undefined;
    delete this.element.dataset.tensor;
    this.element.hidden = true;
  }

  /** Re-fetch what is shown (the engine restarted, or the bytes changed), keeping zoom and selection. */
  reload(): void {
    if (!this.subject) return;
    this.cache.clear();
    void this.loadBase(true);
    if (this.selected) this.showSelected(this.subject, this.selected);
    // The hover line keeps showing the last element: read it again too.
    if (this.lastHovered) this.fetchHover(this.lastHovered);
  }

  setEditable(editable: boolean): void {
    this.editable = editable;
    this.toolGroup.hidden = !editable;
    if (!editable && this.tool === 'select') void this.setTool('zoom');
  }

  /** Outline the rectangle region edits apply to (typed ranges), or none. */
  setSelectedRect(rect: Viewport | undefined): void {
    this.selectedRect = rect;
    if (this.plotted && this.base) void this.draw();
  }

  private async setTool(tool: DragTool): Promise<void> {
    this.tool = tool;
    this.updateToolButtons();
    // In select mode our own drag handling draws the rectangle; plotly must not zoom.
    if (this.plotted) await (await plotly()).relayout(this.plotDiv, { dragmode: tool === 'zoom' ? 'zoom' : false });
  }

  private updateToolButtons(): void {
    for (const [tool, b] of Object.entries(this.toolButtons)) b.setAttribute('aria-pressed', String(tool === this.tool));
    this.plotDiv.classList.toggle('selecting', this.tool === 'select');
  }

  // ---- drag-selection of a rectangle ----

  private startDrag(ev: MouseEvent): void {
    const at = this.elementAt(ev);
    if (!at) return;
    const area = this.selectBox.parentElement!.getBoundingClientRect();
    this.dragFrom = { ...at, x: ev.clientX - area.left, y: ev.clientY - area.top };
    ev.preventDefault();
  }

  private moveDrag(ev: MouseEvent): void {
    const from = this.dragFrom;
    if (!from) return;
    const area = this.selectBox.parentElement!.getBoundingClientRect();
    const x = ev.clientX - area.left;
    const y = ev.clientY - area.top;
    const b = this.selectBox;
    b.hidden = false;
    b.style.left = `${Math.min(x, from.x)}px`;
    b.style.top = `${Math.min(y, from.y)}px`;
    b.style.width = `${Math.abs(x - from.x)}px`;
    b.style.height = `${Math.abs(y - from.y)}px`;
  }

  private endDrag(ev: MouseEvent): void {
    const from = this.dragFrom;
    if (!from) return;
    this.dragFrom = undefined;
    this.selectBox.hidden = true;
    const to = this.elementAt(ev, true);
    if (!to || !this.downAt || Math.hypot(ev.clientX - this.downAt.x, ev.clientY - this.downAt.y) <= 4) return; // a click
    const rect = { row0: Math.min(from.row, to.row), row1: Math.max(from.row, to.row) + 1, col0: Math.min(from.col, to.col), col1: Math.max(from.col, to.col) + 1 };
    this.selectedRect = rect;
    void this.draw();
    this.hooks.onSelectRect(rect);
  }

  /** Redraw with the current theme's colours. */
  refreshTheme(): void {
    if (this.plotted) void this.draw();
  }

  setColorMode(mode: ColorMode): void {
    if (mode === this.colorMode) return;
    this.colorMode = mode;
    this.updateModeButtons();
    this.onModeChange(mode);
    if (this.subject) void this.loadBase(true);
  }

  /** The tensor's statistics arrived: a tensor-wide colour range can be used. */
  setTensorRange(tensor: string, range: TensorRange | undefined): void {
    this.tensorRange = range && { tensor, range };
    if (this.subject?.tensor.name !== tensor) return;
    if (this.rangeMode !== 'view') void this.loadBase(true);
    else this.updateStatus();
  }

  private setRangeMode(mode: RangeMode): void {
    if (mode === this.rangeMode) return;
    this.rangeMode = mode;
    this.updateRangeButtons();
    if (this.subject) void this.loadBase(true);
  }

  private updateRangeButtons(): void {
    for (const [mode, b] of Object.entries(this.rangeButtons)) b.setAttribute('aria-pressed', String(mode === this.rangeMode));
  }

  /** The engine's colour range for the overview tile (a tensor-wide mode falls back to the view's until the statistics are in). */
  private tileRange(): TileRange {
    const t = this.tensorRange?.tensor === this.subject?.tensor.name ? this.tensorRange?.range : undefined;
    if (this.rangeMode === 'view' || !t) return this.colorMode === 'diverging' ? { kind: 'symmetric' } : { kind: 'auto' };
    let [lo, hi] = this.rangeMode === 'tensor' ? [t.min, t.max] : [t.p1, t.p99];
    if (this.colorMode === 'diverging') {
      const m = Math.max(Math.abs(lo), Math.abs(hi));
      [lo, hi] = [-m, m];
    }
    return { kind: 'fixed', lo, hi };
  }

  private updateModeButtons(): void {
    for (const [mode, b] of Object.entries(this.modeButtons)) b.setAttribute('aria-pressed', String(mode === this.colorMode));
  }

  private cancelAll(): void {
    for (const a of [this.baseAbort, this.detailAbort, this.hoverAbort, this.clickAbort]) a?.abort();
    this.fetchHover.cancel();
    this.fetchDetail.cancel();
  }

  private async start(): Promise<void> {
    const Plotly = await plotly();
    if (!this.plotted) {
      // An empty plot first: its plot area gives the pixel size to ask tiles for.
      await Plotly.newPlot(this.plotDiv, [], this.layout(), this.config());
      this.plotDiv.on('plotly_relayout', (ev: Record<string, unknown>) => this.onRelayout(ev));
      this.plotted = true;
    } else {
      await Plotly.react(this.plotDiv, [], this.layout(), this.config());
      await Plotly.Plots.resize(this.plotDiv); // the plot's height may have changed with the view
    }
    await this.loadBase(false);
  }

  /** Plot-area size in device pixels, capped at the engine's tile limit. */
  private pixels(): { w: number; h: number } {
    const size = this.plotDiv._fullLayout?._size;
    const dpr = window.devicePixelRatio || 1;
    const w = size ? size.w : this.plotDiv.clientWidth - MARGIN.l - MARGIN.r - 80;
    const hgt = size ? size.h : this.plotDiv.clientHeight - MARGIN.t - MARGIN.b;
    return { w: clampSide(w * dpr), h: clampSide(hgt * dpr) };
  }

  private async loadBase(keepZoom: boolean): Promise<void> {
    const subject = this.subject;
    if (!subject) return;
    this.baseAbort?.abort();
    const abort = new AbortController();
    this.baseAbort = abort;
    const px = this.pixels();
    this.setLoading(true);
    try {
      const whole = { row0: 0, row1: subject.view.rows, col0: 0, col1: subject.view.cols };
      const [tile, profile] = await Promise.all([
        this.rpc.request(
          'tile',
          {
            tensor: subject.tensor.name,
            slice: subject.view.slice,
            viewport: whole,
            maxRows: px.h,
            maxCols: px.w,
            range: this.tileRange(),
          },
          { signal: abort.signal },
        ),
        this.loadProfile(subject, whole, px.w, abort.signal),
      ]);
      if (abort.signal.aborted || this.subject !== subject) return;
      this.base = tile;
      this.detail = undefined;
      this.profile = profile;
      this.profileDetail = undefined;
      this.tilePixels = px;
      this.showError(undefined);
      await this.draw(!keepZoom);
      if (keepZoom) this.fetchDetail();
    } catch (err) {
      if (!isCancelled(err) && !abort.signal.aborted) this.showError((err as Error).message);
    } finally {
      if (this.baseAbort === abort) this.setLoading(false);
    }
  }

  /** A single-row view's line: cell means over their own min..max (the finest codes), with min and max for a band where cells hold several elements. */
  private async loadProfile(subject: HeatmapSubject, viewport: Viewport, maxCols: number, signal: AbortSignal): Promise<Tile | undefined> {
    if (!hasProfile(subject)) return undefined;
    return this.rpc.request('tile', { tensor: subject.tensor.name, slice: subject.view.slice, viewport, maxRows: 1, maxCols, range: { kind: 'auto' }, withMinMax: true }, { signal });
  }

  /** The view rows/cols visible in the plot now (clamped to the view). */
  private visibleViewport(): Viewport | undefined {
    const fl = this.plotDiv._fullLayout;
    const s = this.subject;
    if (!fl || !s) return undefined;
    const [x0, x1] = minMax(fl.xaxis.range);
    const [y0, y1] = minMax(fl.yaxis.range);
    const clamp = (v: number, n: number) => Math.min(Math.max(v, 0), n);
    return {
      row0: clamp(Math.floor(y0 + 0.5), s.view.rows),
      row1: clamp(Math.floor(y1 + 0.5) + 1, s.view.rows),
      col0: clamp(Math.floor(x0 + 0.5), s.view.cols),
      col1: clamp(Math.floor(x1 + 0.5) + 1, s.view.cols),
    };
  }

  private onRelayout(ev: Record<string, unknown>): void {
    // Zoom, pan and reset change ranges; our own tick updates below do not.
    if (!Object.keys(ev).some((k) => /^[xy]axis\.(range|autorange)/.test(k))) return;
    this.fetchDetail();
    void this.updateTicks();
  }

  /** Whole-element ticks when few elements are visible (plotly would put ticks at 0.5). */
  private ticks(axis: 'x' | 'y'): { tickmode: string; tick0?: number; dtick?: number } {
    const s = this.subject;
    const range = this.plotDiv._fullLayout?.[axis === 'x' ? 'xaxis' : 'yaxis'].range;
    const span = range && !this.resetPending ? Math.abs(range[1] - range[0]) : s ? (axis === 'x' ? s.view.cols : s.view.rows) : 100;
    return span <= 16 ? { tickmode: 'linear', tick0: 0, dtick: 1 } : { tickmode: 'auto' };
  }

  private async updateTicks(): Promise<void> {
    const fl = this.plotDiv._fullLayout as unknown as Record<string, { tickmode?: string }> | undefined;
    if (!fl) return;
    const update: Record<string, unknown> = {};
    for (const axis of ['x', 'y'] as const) {
      const want = this.ticks(axis);
      if (fl[`${axis}axis`]?.tickmode === want.tickmode) continue;
      update[`${axis}axis.tickmode`] = want.tickmode;
      update[`${axis}axis.tick0`] = want.tick0;
      update[`${axis}axis.dtick`] = want.dtick;
    }
    if (Object.keys(update).length) await (await plotly()).relayout(this.plotDiv, update);
  }

  /** After zoom or pan: a finer tile for the visible viewport, unless the overview already is exact there. */
  private async loadDetail(): Promise<void> {
    const { subject, base } = this;
    const vp = this.visibleViewport();
    if (!subject || !base || !vp) return;
    this.detailAbort?.abort();
    const full = vp.row0 === 0 && vp.col0 === 0 && vp.row1 === subject.view.rows && vp.col1 === subject.view.cols;
    if (base.exact || full || vp.row1 <= vp.row0 || vp.col1 <= vp.col0) {
      if (this.detail || this.profileDetail) {
        this.detail = undefined;
        this.profileDetail = undefined;
        await this.draw();
      }
      return;
    }
    const abort = new AbortController();
    this.detailAbort = abort;
    const px = this.pixels();
    this.setLoading(true);
    try {
      const [tile, profile] = await Promise.all([
        this.rpc.request(
          'tile',
          { tensor: subject.tensor.name, slice: subject.view.slice, viewport: vp, maxRows: px.h, maxCols: px.w, range: { kind: 'fixed', lo: base.lo, hi: base.hi } },
          { signal: abort.signal },
        ),
        this.loadProfile(subject, vp, px.w, abort.signal),
      ]);
      if (abort.signal.aborted || this.subject !== subject || this.base !== base) return;
      this.detail = tile;
      this.profileDetail = profile;
      await this.draw();
    } catch (err) {
      if (!isCancelled(err) && !abort.signal.aborted) this.showError((err as Error).message);
    } finally {
      if (this.detailAbort === abort) this.setLoading(false);
    }
  }

  private async resize(): Promise<void> {
    if (!this.plotted || this.element.hidden) return;
    const Plotly = await plotly();
    await Plotly.Plots.resize(this.plotDiv);
    const px = this.pixels();
    // A much larger plot deserves finer tiles; a smaller one can keep its.
    if (this.base && (px.w > this.tilePixels.w * 1.25 || px.h > this.tilePixels.h * 1.25)) void this.loadBase(true);
  }

  /** Plot the tiles; `resetAxes` (a new view) drops the user's zoom, otherwise plotly keeps it (same uirevision). */
  private async draw(resetAxes = false): Promise<void> {
    const Plotly = await plotly();
    if (resetAxes) this.uirevision++;
    const traces: object[] = [];
    if (this.base) traces.push(this.trace(this.base));
    if (this.detail) traces.push(this.trace(this.detail));
    const profile = this.profileDetail ?? this.profile;
    if (profile) traces.push(...this.profileTraces(profile));
    // On a reset the old axis ranges must not decide the new view's ticks.
    this.resetPending = resetAxes;
    const layout = this.layout();
    this.resetPending = false;
    await Plotly.react(this.plotDiv, traces, layout, this.config());
    if (resetAxes) this.rememberHomeView();
    this.drawColorbar();
    this.updateStatus();
  }

  /**
   * What double-click and the mode bar's home button return to: the whole view. Plotly
   * records it once, when the plot is made (empty, before any tile), and only for axes not
   * autoranged plainly, so the reversed row axis went back to [-1, 4] instead of the view.
   */
  private rememberHomeView(): void {
    const fl = this.plotDiv._fullLayout as unknown as Record<string, HomeAxis | undefined> | undefined;
    for (const name of ['xaxis', 'yaxis', 'yaxis2']) {
      const ax = fl?.[name];
      if (!ax?.range) continue;
      ax._rangeInitial0 = ax.range[0];
      ax._rangeInitial1 = ax.range[1];
      ax._autorangeInitial = ax.autorange;
    }
  }

  /** A single-row view's values as a line (markers when few), with a min..max band where a cell holds several elements. */
  private profileTraces(tile: Tile): object[] {
    const t = themeColors();
    const v = tile.viewport;
    const xs: number[] = [];
    const value = (codes: Uint8Array | undefined) => {
      if (!codes) return undefined;
      const out: (number | null)[] = [];
      for (let j = 0; j < tile.cols; j++) out.push(codes[j] === TILE_NO_VALUE ? null : codeToValue(codes[j], tile.lo, tile.hi));
      return out;
    };
    for (let j = 0; j < tile.cols; j++) {
      const c0 = v.col0 + j * tile.cellCols;
      const c1 = Math.min(c0 + tile.cellCols, v.col1);
      xs.push((c0 + c1 - 1) / 2);
    }
    const common = { type: 'scatter', x: xs, xaxis: 'x', yaxis: 'y2', hoverinfo: 'none', showlegend: false, connectgaps: false };
    const traces: object[] = [];
    const lo = value(tile.min);
    const hi = value(tile.max);
    if (!tile.exact && lo && hi) {
      traces.push({ ...common, y: hi, mode: 'lines', line: { width: 0, color: t.accent } });
      traces.push({ ...common, y: lo, mode: 'lines', line: { width: 0, color: t.accent }, fill: 'tonexty', opacity: 0.3 });
    }
    traces.push({ ...common, y: value(tile.mean), mode: tile.cols <= 128 ? 'lines+markers' : 'lines', line: { width: 1.5, color: t.accent }, marker: { size: 4, color: t.accent } });
    return traces;
  }

  private colorscale(): [number, string][] {
    return this.colorMode === 'diverging' ? divergingScale(themeColors().dark) : sequentialScale();
  }

  private trace(tile: Tile): object {
    const v = tile.viewport;
    return {
      type: 'heatmap',
      z: tileToZ(tile),
      x: cellEdges(v.col0, v.col1, tile.cellCols, tile.cols),
      y: cellEdges(v.row0, v.row1, tile.cellRows, tile.rows),
      zmin: 0,
      zmax: 254,
      zauto: false,
      zsmooth: false,
      colorscale: this.colorscale(),
      // Our own colour bar (drawColorbar): labels in real values, and no inline style
      // attributes, which plotly's colour bar sets and the CSP blocks.
      showscale: false,
      hoverinfo: 'none',
    };
  }

  /** The colour bar: the scale as a CSS gradient, ticks at round real values of [lo, hi]. */
  private drawColorbar(): void {
    const tile = this.base;
    this.colorbar.hidden = !tile;
    if (!tile) return;
    // Beside the colour cells: the whole plot area's height, or a single-row view's strip.
    const y = this.plotDiv._fullLayout?.yaxis;
    this.colorbar.style.top = `${y ? y._offset : MARGIN.t}px`;
    this.colorbar.style.height = y ? `${y._length}px` : '';
    this.colorbar.style.bottom = y ? 'auto' : `${MARGIN.b}px`;
    const ramp = h('div', { class: 'colorbar-ramp' });
    ramp.style.background = `linear-gradient(to top, ${this.colorscale().map(([p, c]) => `${c} ${(p * 100).toFixed(1)}%`).join(', ')})`;
    // About one label per 45 px of bar.
    const barHeight = this.colorbar.clientHeight || 300;
    let { tickvals, ticktext } =
      this.subject?.tensor.dtype === 'BOOL' ? boolTicks(tile.lo, tile.hi) : colorbarTicks(tile.lo, tile.hi, Math.max(2, Math.min(8, Math.floor(barHeight / 45))));
    if (tickvals.length < 2 && tile.hi > tile.lo) {
      // A short bar (a single-row view's strip) whose round ticks missed: label its ends.
      tickvals = [0, 254];
      ticktext = [formatTick(tile.lo, tile.hi - tile.lo), formatTick(tile.hi, tile.hi - tile.lo)];
    }
    const ticks = tickvals.map((code, i) => {
      const tick = h('div', { class: 'colorbar-tick' }, ticktext[i]);
      tick.style.bottom = `${(code / 254) * 100}%`;
      return tick;
    });
    this.colorbar.replaceChildren(ramp, h('div', { class: 'colorbar-ticks' }, ...ticks));
    this.colorbar.dataset.lo = String(tile.lo);
    this.colorbar.dataset.hi = String(tile.hi);
  }

  private layout(): object {
    const t = themeColors();
    const s = this.subject;
    const axis = { showgrid: false, zeroline: false, ticks: 'outside', color: t.muted, tickfont: { color: t.foreground, size: 11 }, linecolor: t.border, showline: true, mirror: true };
    // Cells without a value (NaN, or all-NaN blocks) are gaps: this colour shows through,
    // distinct from every colour of both scales. A shape, not plot_bgcolor, which would also
    // fill a single-row view's line plot.
    // Only under a tile: an empty plot (the next view loading) is not a field of NaN.
    const shapes: object[] = this.base ? [{ type: 'rect', xref: 'x domain', yref: 'y domain', x0: 0, x1: 1, y0: 0, y1: 1, fillcolor: NO_VALUE_COLOR, line: { width: 0 }, layer: 'below' }] : [];
    // Outlines in the foreground colour over a wider one in the background colour: visible on every cell colour.
    const outline = (x0: number, x1: number, y0: number, y1: number, width: number, dash?: string) =>
      shapes.push({ type: 'rect', x0, x1, y0, y1, line: { color: t.background, width: width + 2 } }, { type: 'rect', x0, x1, y0, y1, line: { color: t.foreground, width, dash } });
    const r = this.selectedRect;
    if (r) outline(r.col0 - 0.5, r.col1 - 0.5, r.row0 - 0.5, r.row1 - 0.5, 1.5, 'dash');
    const sel = this.selected;
    if (sel) outline(sel.col - 0.5, sel.col + 0.5, sel.row - 0.5, sel.row + 0.5, 2);
    const profile = s && hasProfile(s);
    if (profile && sel) shapes.push({ type: 'line', xref: 'x', yref: 'y2 domain', x0: sel.col, x1: sel.col, y0: 0, y1: 1, line: { color: t.foreground, width: 1, dash: 'dot' } });
    const rowAxis = profile
      ? // The strip under the line: one row, nothing to label or zoom vertically.
        { ...axis, domain: [0, STRIP_DOMAIN], showticklabels: false, ticks: '', fixedrange: true, autorange: 'reversed' }
      : { ...axis, ...this.ticks('y'), title: { text: s && s.view.rowDim >= 0 ? `dim ${s.view.rowDim}` : '', font: { size: 11, color: t.muted }, standoff: 4 }, autorange: 'reversed' };
    const bool = s?.tensor.dtype === 'BOOL';
    const valueAxis = profile
      ? {
          yaxis2: {
            ...axis,
            domain: [STRIP_DOMAIN + PROFILE_GAP, 1],
            anchor: 'x',
            // Room for long value labels and the title beside them; compact exponents.
            automargin: true,
            exponentformat: 'e',
            showgrid: true,
            gridcolor: t.border,
            autorange: true,
            ...(bool ? { tickmode: 'array', tickvals: [0, 1], ticktext: ['false', 'true'] } : {}),
            title: { text: 'value', font: { size: 11, color: t.muted }, standoff: 4 },
          },
        }
      : {};
    return {
      autosize: true,
      margin: MARGIN,
      paper_bgcolor: 'rgba(0,0,0,0)',
      plot_bgcolor: 'rgba(0,0,0,0)',
      font: { color: t.foreground, family: t.fontFamily, size: 11 },
      // Element indices: x = column, y = row growing downwards like a matrix.
      xaxis: { ...axis, ...this.ticks('x'), title: { text: s && s.view.colDim >= 0 ? `dim ${s.view.colDim}` : '', font: { size: 11, color: t.muted }, standoff: 4 },
        // The line's markers would pad an autorange beyond the strip's cells.
        ...(profile ? { autorange: false, range: [-0.5, s.view.cols - 0.5] } : { autorange: true }) },
      yaxis: rowAxis,
      ...valueAxis,
      dragmode: this.tool === 'zoom' ? 'zoom' : false,
      hovermode: false,
      // Plotly's default mode bar is a grey box, dark on dark and faint on light themes.
      modebar: { bgcolor: 'rgba(0,0,0,0)', color: t.muted, activecolor: t.foreground },
      shapes,
      uirevision: this.uirevision,
    };
  }

  private config(): object {
    return {
      displaylogo: false,
      showTips: false,
      scrollZoom: true,
      doubleClick: 'reset',
      // Nothing leaves this machine: no "Share chart..." upload button (plotly shows one by default).
      showSendToCloud: false,
      // Hover is ours (hovermode off): plotly's hover and spike-line toggles would do nothing.
      modeBarButtonsToRemove: ['toImage', 'sendChartToCloud', 'select2d', 'lasso2d', 'autoScale2d', 'toggleSpikelines', 'hoverClosestCartesian', 'hoverCompareCartesian'],
    };
  }

  private updateStatus(): void {
    const parts: string[] = [];
    const tile = this.detail ?? this.base;
    if (this.subject) parts.push(`${formatInt(this.subject.view.rows)} × ${formatInt(this.subject.view.cols)}`);
    if (tile) parts.push(tile.exact ? 'exact values' : `each cell = mean of ${tile.cellRows} × ${tile.cellCols}`);
    this.statusEl.textContent = parts.join(' · ');
    const gaps = [this.base, this.detail].some((t) => t?.mean.includes(TILE_NO_VALUE));
    if (gaps) {
      const swatch = h('span', { class: 'swatch' });
      swatch.style.background = NO_VALUE_COLOR;
      this.statusEl.append(' · ', swatch, ' not finite (NaN, ±Inf)');
    }
    // A few outliers stretch the colours so the bulk looks flat: say so, and offer the fix.
    const t = this.tensorRange?.tensor === this.subject?.tensor.name ? this.tensorRange?.range : undefined;
    if (this.rangeMode === 'view' && t && t.max > t.min && t.p99 - t.p1 < 0.1 * (t.max - t.min)) {
      const fix = h('button', { class: 'link-button', 'data-testid': 'outlier-hint', title: 'Colour by the tensor’s 1st..99th percentile' }, 'outliers stretch the colours: use p1–p99');
      fix.addEventListener('click', () => this.setRangeMode('robust'));
      this.statusEl.append(' · ', fix);
    }
    this.statusEl.title = this.statusEl.textContent ?? '';
  }

  private setLoading(on: boolean): void {
    this.loading.hidden = !on;
    this.element.dataset.loading = String(on);
  }

  private showError(message: string | undefined): void {
    this.errorEl.hidden = message === undefined;
    this.errorEl.textContent = message ?? '';
  }

  // ---- hover and click ----

  /** The view element under the mouse, or undefined outside the data (`clamp`: the nearest one). */
  private elementAt(ev: MouseEvent, clamp = false): { row: number; col: number } | undefined {
    const fl = this.plotDiv._fullLayout;
    const s = this.subject;
    if (!fl || !s || !this.base) return undefined;
    const rect = this.plotDiv.getBoundingClientRect();
    // A single-row view: anywhere over the line or the strip is that column's element.
    const profile = hasProfile(s);
    const top = profile ? fl._size.t : fl.yaxis._offset;
    const height = profile ? fl._size.h : fl.yaxis._length;
    let px = ev.clientX - rect.left - fl.xaxis._offset;
    let py = ev.clientY - rect.top - top;
    if (clamp) {
      px = Math.min(Math.max(px, 0), fl.xaxis._length);
      py = Math.min(Math.max(py, 0), height);
    }
    if (px < 0 || py < 0 || px > fl.xaxis._length || py > height) return undefined;
    let col = Math.round(fl.xaxis.p2d(px));
    let row = profile ? 0 : Math.round(fl.yaxis.p2d(py));
    if (clamp) {
      col = Math.min(Math.max(col, 0), s.view.cols - 1);
      row = Math.min(Math.max(row, 0), s.view.rows - 1);
    }
    if (row < 0 || col < 0 || row >= s.view.rows || col >= s.view.cols) return undefined;
    return { row, col };
  }

  /** The tile drawn at a view element: the zoomed detail where it covers, else the overview. */
  private tileAt(row: number, col: number): Tile | undefined {
    if (this.detail && cellAt(this.detail, row, col)) return this.detail;
    return this.base;
  }

  private onMouseMove(ev: MouseEvent): void {
    const at = this.elementAt(ev);
    const s = this.subject;
    const tile = at && this.tileAt(at.row, at.col);
    const cell = at && tile && cellAt(tile, at.row, at.col);
    if (!at || !s || !tile || !cell) return this.hideHoverBox();
    const target: HoverTarget = tile.exact
      ? { key: `e:${at.row}:${at.col}`, row: at.row, col: at.col, exact: true }
      : { key: `r:${cell.viewport.row0}:${cell.viewport.row1}:${cell.viewport.col0}:${cell.viewport.col1}`, row: at.row, col: at.col, exact: false, cell: cell.viewport };
    this.placeHoverBox(ev);
    this.placeGuide(at.col);
    if (this.hovered?.key === target.key) return;
    this.hovered = target;
    this.lastHovered = target;
    const code = tile.mean[cell.i * tile.cols + cell.j];
    const approx = code === 255 ? 'no value' : `≈ ${formatValue(codeToValue(code, tile.lo, tile.hi))}`;
    const cached = this.cache.get(target.key);
    if (cached) this.showHover(target, cached);
    else {
      this.showHoverText(this.indexText(target), approx, true);
      this.fetchHover(target);
    }
  }

  private indexText(t: HoverTarget): string {
    const s = this.subject!;
    const span = t.exact ? { rows: [t.row, t.row + 1], cols: [t.col, t.col + 1] } : { rows: [t.cell.row0, t.cell.row1], cols: [t.cell.col0, t.cell.col1] };
    return formatTensorRanges(viewCellToTensor(s.specs, s.tensor.shape, span.rows as [number, number], span.cols as [number, number]));
  }

  private async loadHover(target: HoverTarget): Promise<void> {
    const s = this.subject;
    if (!s || this.lastHovered?.key !== target.key) return;
    this.hoverAbort?.abort();
    const abort = new AbortController();
    this.hoverAbort = abort;
    try {
      const result = target.exact
        ? await this.rpc.request('element', { tensor: s.tensor.name, slice: s.view.slice, row: target.row, col: target.col }, { signal: abort.signal })
        : await this.rpc.request('region', { tensor: s.tensor.name, slice: s.view.slice, viewport: target.cell }, { signal: abort.signal });
      if (this.subject !== s) return;
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(target.key, result);
      if (this.lastHovered?.key === target.key) this.showHover(target, result);
    } catch (err) {
      if (!isCancelled(err) && this.lastHovered?.key === target.key) this.showHoverText(this.indexText(target), (err as Error).message, false);
    }
  }

  private showHover(target: HoverTarget, info: ElementInfo | RegionSummary): void {
    if ('text' in info) {
      this.showHoverText(`[${info.index.join(', ')}]`, info.text, false);
    } else {
      const nan = info.nan ? ` · ${formatInt(info.nan)} NaN` : '';
      this.showHoverText(
        this.indexText(target),
        `mean ${formatValue(info.mean)} · min ${formatValue(info.min)} · max ${formatValue(info.max)} · ${formatInt(info.count)} values${nan}`,
        false,
      );
    }
  }

  private showHoverText(index: string, value: string, pending: boolean): void {
    this.hoverHint.hidden = true;
    this.hoverIndex.textContent = index;
    this.hoverValue.textContent = value;
    this.hoverValue.dataset.pending = String(pending);
    this.hoverBox.replaceChildren(h('div', { class: 'hover-box-index' }, index), h('div', { class: pending ? 'hover-box-value muted' : 'hover-box-value' }, value));
    this.hoverBox.hidden = this.hovered === undefined;
  }

  private placeHoverBox(ev: MouseEvent): void {
    const area = this.hoverBox.parentElement!.getBoundingClientRect();
    const x = ev.clientX - area.left;
    const y = ev.clientY - area.top;
    const w = this.hoverBox.offsetWidth || 200;
    const hgt = this.hoverBox.offsetHeight || 40;
    this.hoverBox.style.left = `${x + 16 + w > area.width ? Math.max(0, x - 16 - w) : x + 16}px`;
    this.hoverBox.style.top = `${y + 16 + hgt > area.height ? Math.max(0, y - 16 - hgt) : y + 16}px`;
  }

  private placeGuide(col: number): void {
    const fl = this.plotDiv._fullLayout;
    const s = this.subject;
    this.guide.hidden = !fl || !s || !hasProfile(s);
    if (this.guide.hidden || !fl) return;
    const [x0, x1] = fl.xaxis.range;
    this.guide.style.left = `${fl.xaxis._offset + ((col - x0) / (x1 - x0)) * fl.xaxis._length}px`;
    this.guide.style.top = `${fl._size.t}px`;
    this.guide.style.height = `${fl._size.h}px`;
  }

  private hideHoverBox(): void {
    this.hoverBox.hidden = true;
    this.guide.hidden = true;
    this.hovered = undefined;
  }

  private onClick(ev: MouseEvent): void {
    // A drag (zoom box, pan, selection) also ends in a click; only a still click selects.
    if (this.downAt && Math.hypot(ev.clientX - this.downAt.x, ev.clientY - this.downAt.y) > 4) return;
    const at = this.elementAt(ev);
    const s = this.subject;
    if (!at || !s) return;
    this.selected = at;
    void this.draw();
    this.selection.hidden = false;
    this.selection.replaceChildren(h('div', { class: 'muted' }, 'Reading element…'));
    this.showSelected(s, at);
  }

  /** Reads the selected element and shows it, with inputs to set it when the model is editable. */
  private showSelected(s: HeatmapSubject, at: { row: number; col: number }): void {
    this.clickAbort?.abort();
    const abort = new AbortController();
    this.clickAbort = abort;
    this.rpc
      .request('element', { tensor: s.tensor.name, slice: s.view.slice, row: at.row, col: at.col }, { signal: abort.signal })
      .then((e) => {
        if (this.subject !== s || this.selected !== at) return;
        const field = (label: string, value: string, testid: string) => h('div', { class: 'stat' }, h('span', { class: 'stat-label' }, label), h('span', { class: 'stat-value mono', 'data-testid': testid }, value));
        const bit = e.bitOffset ? ` + ${e.bitOffset} bits` : '';
        const parts: HTMLElement[] = [
          h('h3', {}, 'Selected element'),
          h(
            'div',
            { class: 'selection-grid' },
            field('index', `[${e.index.join(', ')}]`, 'selected-index'),
            field('value', e.text, 'selected-value'),
            field('file offset', `${s.fileName} @ ${formatInt(e.byteOffset)}${bit}`, 'selected-offset'),
            field('bytes', spaceHex(e.hex), 'selected-hex'),
          ),
        ];
        if (this.editable) parts.push(this.elementEditor(s, at, e));
        this.selection.replaceChildren(...parts);
        this.hooks.onSelectElement(e);
      })
      .catch((err: unknown) => {
        if (!isCancelled(err)) this.selection.replaceChildren(h('div', { class: 'error-line' }, (err as Error).message));
      });
  }

  /** Set the selected element to a typed value (rounded to the dtype) or to typed bytes. */
  private elementEditor(s: HeatmapSubject, at: { row: number; col: number }, e: ElementInfo): HTMLElement {
    const note = this.elementNote?.at === at ? this.elementNote : undefined;
    const message = h('span', { class: note?.error ? 'error-line' : 'muted', 'data-testid': 'element-edit-result' }, note?.text ?? '');
    const show = (text: string, error: boolean) => {
      this.elementNote = { at, text, error };
      message.className = error ? 'error-line' : 'muted';
      message.textContent = text;
    };
    const valueInput = h('input', { class: 'text-input', 'data-testid': 'element-value-input', 'aria-label': 'New value', value: e.text });
    const hexInput = h('input', { class: 'text-input', 'data-testid': 'element-hex-input', 'aria-label': 'New bytes (hex)', value: spaceHex(e.hex) });
    const bytes = e.hex.length / 2;
    const tensorStart = e.byteOffset - s.tensor.fileOffset;
    const submit = async (edit: DocumentEdit | string) => {
      if (typeof edit === 'string') return show(edit, true);
      try {
        const r = await this.hooks.onEdit(edit);
        show(r.changedElements ? r.summary : 'unchanged', false);
      } catch (err) {
        show((err as Error).message, true);
      }
    };
    const setValue = () => {
      const v = elementValue(valueInput.value, s.tensor.dtype);
      void submit(typeof v === 'string' ? v : { type: 'element', tensor: s.tensor.name, slice: s.view.slice, row: at.row, col: at.col, value: v });
    };
    const setHex = () => {
      const hex = cleanHex(hexInput.value, bytes);
      void submit(hex === null ? `"${hexInput.value}" is not ${bytes} byte${bytes > 1 ? 's' : ''} of hex` : { type: 'bytes', tensor: s.tensor.name, offset: tensorStart, hex });
    };
    const button = (label: string, testid: string, run: () => void) => {
      const b = h('button', { class: 'button secondary', 'data-testid': testid }, label);
      b.addEventListener('click', run);
      return b;
    };
    valueInput.addEventListener('keydown', (ev) => ev.key === 'Enter' && setValue());
    hexInput.addEventListener('keydown', (ev) => ev.key === 'Enter' && setHex());
    return h(
      'div',
      { class: 'element-edit' },
      h('span', { class: 'field-label' }, 'Set value'),
      valueInput,
      button('Set', 'element-set-value', setValue),
      h('span', { class: 'field-label' }, 'bytes'),
      hexInput,
      button('Set', 'element-set-hex', setHex),
      message,
    );
  }
}

/** Axis fields plotly keeps for its reset (double-click, home button); see rememberHomeView. */
interface HomeAxis {
  range?: [number, number];
  autorange?: unknown;
  _rangeInitial0?: number;
  _rangeInitial1?: number;
  _autorangeInitial?: unknown;
}

/** One row of several columns: drawn as a line over a colour strip. */
function hasProfile(s: HeatmapSubject): boolean {
  return s.view.rows === 1 && s.view.cols > 1;
}

/** A BOOL view's colour bar: false and true where they are on the bar (one label when all equal). */
function boolTicks(lo: number, hi: number): { tickvals: number[]; ticktext: string[] } {
  if (!(hi > lo)) return { tickvals: [0], ticktext: [lo === 0 ? 'false' : 'true'] };
  const ticks = ([[0, 'false'], [1, 'true']] as const).map(([v, text]) => ({ code: valueToCode(v, lo, hi), text })).filter((t) => t.code >= -0.5 && t.code <= 254.5);
  return { tickvals: ticks.map((t) => t.code), ticktext: ticks.map((t) => t.text) };
}

function clampSide(px: number): number {
  return Math.max(1, Math.min(MAX_SIDE, Math.floor(px)));
}

function minMax([a, b]: [number, number]): [number, number] {
  return a <= b ? [a, b] : [b, a];
}

