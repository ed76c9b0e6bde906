// Side-by-side heatmaps of the same region (A, B and B − A; a patch's before, after and Δ)
// with LINKED zoom: zooming or panning one zooms the others to the same rows and columns,
// then each fetches a finer tile of what is visible. Like the model editor, a plot only
// ever holds tiles of at most its pixels (one byte per cell). Panels of one colour group
// share a symmetric range around 0, so equal colours mean equal values across A and B.
// Colour maps and tile helpers are the model editor's (modelEditor/heatmapData.ts).

import { TILE_NO_VALUE, type Tile, type Viewport } from '../../shared/protocol';
import { debounce, h } from './dom';
import { formatValue } from '../modelEditor/format';
import { cellAt, cellEdges, codeToValue, colorbarTicks, divergingScale } from '../modelEditor/heatmapData';
import { plotly, type PlotDiv } from '../modelEditor/plotly';
import { themeColors } from '../modelEditor/theme';
import { isCancelled } from './hostRpc';

export interface HeatmapPanelSpec {
  title: string;
  /** Panels with the same group share one colour range. */
  group: string;
  fetch(req: { viewport: Viewport; maxRows: number; maxCols: number }, signal: AbortSignal): Promise<Tile>;
}

export interface LinkedHeatmapsOptions {
  /** What is shown at first, in view rows and columns (axes show view indices). */
  area: Viewport;
  panels: HeatmapPanelSpec[];
  /** Plot height in CSS px for views of many rows (few-row views get a strip). */
  height: number;
  /** One line about the element under the mouse (exact values), fetched when the mouse rests. */
  describe?(row: number, col: number, signal: AbortSignal): Promise<string>;
  testId?: string;
}

const MARGIN = { l: 44, r: 10, t: 6, b: 26 };
const NO_VALUE_COLOR = '#8c8c8c';
const MAX_SIDE = 16384;

interface PanelState {
  spec: HeatmapPanelSpec;
  plot: PlotDiv;
  bar: HTMLElement;
  base?: Tile;
  detail?: Tile;
}

export class LinkedHeatmaps {
  readonly element: HTMLElement;
  private readonly panels: PanelState[];
  private readonly hoverLine: HTMLElement;
  private readonly status: HTMLElement;
  private readonly ranges = new Map<string, number>();
  private abort = new AbortController();
  private detailAbort: AbortController | undefined;
  private hoverAbort: AbortController | undefined;
  private syncing = false;
  /** The rows and columns in view (the area until the user zooms). */
  private shown: Viewport;
  private started = false;
  private disposed = false;
  private readonly loadDetail = debounce(() => void this.fetchDetail(), 120);
  private readonly hover = debounce((row: number, col: number) => void this.describe(row, col), 60);

  constructor(private readonly opts: LinkedHeatmapsOptions) {
    this.shown = opts.area;
    const rows = opts.area.row1 - opts.area.row0;
    const height = rows <= 6 ? MARGIN.t + MARGIN.b + Math.max(40, rows * 26) : opts.height;
    this.panels = opts.panels.map((spec) => {
      const plot = h('div', { class: 'lh-plot', 'data-testid': `heatmap-${spec.title}` }) as PlotDiv;
      plot.style.height = `${height}px`;
      return { spec, plot, bar: h('div', { class: 'lh-bar' }) };
    });
    this.hoverLine = h('div', { class: 'lh-hover mono', 'data-testid': 'linked-hover' }, '\u00a0');
    this.status = h('div', { class: 'lh-status muted' });
    this.element = h(
      'div',
      { class: 'linked-heatmaps', 'data-testid': opts.testId ?? 'linked-heatmaps' },
      h('div', { class: 'lh-row' }, ...this.panels.map((p) => h('figure', { class: 'lh-panel' }, h('figcaption', {}, p.spec.title), p.plot, p.bar))),
      this.hoverLine,
      this.status,
    );
  }

  /** Call once the element is in the document (plots need their size). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const Plotly = await plotly();
    for (const p of this.panels) {
      await Plotly.newPlot(p.plot, [], this.layout(), this.config());
      if (this.disposed) return;
      p.plot.on('plotly_relayout', (ev: Record<string, unknown>) => this.onRelayout(p, ev));
      p.plot.addEventListener('mousemove', (ev) => this.onMouseMove(p, ev));
      p.plot.addEventListener('mouseleave', () => this.hover.cancel());
    }
    await this.loadBase();
  }

  private pixels(p: PanelState): { w: number; h: number } {
    const size = p.plot._fullLayout?._size;
    const dpr = window.devicePixelRatio || 1;
    const clamp = (v: number) => Math.max(1, Math.min(MAX_SIDE, Math.floor(v * dpr)));
    return { w: clamp(size ? size.w : p.plot.clientWidth - MARGIN.l - MARGIN.r), h: clamp(size ? size.h : p.plot.clientHeight - MARGIN.t - MARGIN.b) };
  }

  private async loadBase(): Promise<void> {
    const signal = this.abort.signal;
    this.status.textContent = 'Loading…';
    try {
      const tiles = await Promise.all(
        this.panels.map((p) => {
          const px = this.pixels(p);
          return p.spec.fetch({ viewport: this.opts.area, maxRows: px.h, maxCols: px.w }, signal);
        }),
      );
      if (signal.aborted) return;
      this.panels.forEach((p, i) => (p.base = tiles[i]));
      // One symmetric range per group: the largest |value| of its panels' overview tiles.
      for (const p of this.panels) {
        const t = p.base!;
        const m = Math.max(Math.abs(t.lo), Math.abs(t.hi));
        this.ranges.set(p.spec.group, Math.max(this.ranges.get(p.spec.group) ?? 0, Number.isFinite(m) ? m : 0));
      }
      await Promise.all(this.panels.map((p) => this.draw(p)));
      this.updateStatus();
    } catch (err) {
      if (!isCancelled(err) && !signal.aborted) this.status.textContent = (err as Error).message;
    }
  }

  private range(p: PanelState): number {
    return this.ranges.get(p.spec.group) || 1;
  }

  private async draw(p: PanelState): Promise<void> {
    const Plotly = await plotly();
    const traces = [p.base, p.detail].filter((t): t is Tile => t !== undefined).map((t) => this.trace(p, t));
    await Plotly.react(p.plot, traces, this.layout(), this.config());
    this.drawBar(p);
  }

  private trace(p: PanelState, tile: Tile): object {
    const v = tile.viewport;
    const z: (number | null)[][] = [];
    for (let r = 0; r < tile.rows; r++) {
      const row: (number | null)[] = new Array(tile.cols);
      for (let c = 0; c < tile.cols; c++) {
        const code = tile.mean[r * tile.cols + c];
        row[c] = code === TILE_NO_VALUE ? null : codeToValue(code, tile.lo, tile.hi);
      }
      z.push(row);
    }
    const m = this.range(p);
    return {
      type: 'heatmap',
      z,
      x: cellEdges(v.col0, v.col1, tile.cellCols, tile.cols),
      y: cellEdges(v.row0, v.row1, tile.cellRows, tile.rows),
      zmin: -m,
      zmax: m,
      zauto: false,
      zsmooth: false,
      colorscale: divergingScale(themeColors().dark),
      showscale: false,
      hoverinfo: 'none',
    };
  }

  /** A horizontal colour bar under the plot: the scale as a CSS gradient, round ticks of [-m, m]. */
  private drawBar(p: PanelState): void {
    const m = this.range(p);
    const ramp = h('div', { class: 'lh-ramp' });
    ramp.style.background = `linear-gradient(to right, ${divergingScale(themeColors().dark).map(([s, c]) => `${c} ${(s * 100).toFixed(1)}%`).join(', ')})`;
    const { tickvals, ticktext } = colorbarTicks(-m, m, 4);
    const ticks = tickvals.map((code, i) => {
      const tick = h('span', { class: 'lh-tick' }, ticktext[i]);
      tick.style.left = `${(code / 254) * 100}%`;
      return tick;
    });
    p.bar.replaceChildren(ramp, h('div', { class: 'lh-ticks' }, ...ticks));
    p.bar.dataset.range = String(m);
  }

  private layout(): object {
    const t = themeColors();
    const axis = { showgrid: false, zeroline: false, ticks: 'outside', color: t.muted, tickfont: { color: t.foreground, size: 10 }, linecolor: t.border, showline: true, mirror: true };
    return {
      autosize: true,
      margin: MARGIN,
      paper_bgcolor: 'rgba(0,0,0,0)',
      plot_bgcolor: NO_VALUE_COLOR,
      font: { color: t.foreground, family: t.fontFamily, size: 10 },
      xaxis: { ...axis, ...this.ticks('x'), autorange: true },
      yaxis: { ...axis, ...this.ticks('y'), autorange: 'reversed' },
      dragmode: 'zoom',
      hovermode: false,
      uirevision: 1,
    };
  }

  /** Whole-element ticks when few elements are visible (plotly would put ticks at 0.5). */
  private ticks(axis: 'x' | 'y'): { tickmode: string; tick0?: number; dtick?: number } {
    const a = this.shown;
    const span = axis === 'x' ? a.col1 - a.col0 : a.row1 - a.row0;
    return span <= 16 ? { tickmode: 'linear', tick0: 0, dtick: 1 } : { tickmode: 'auto' };
  }

  private async updateTicks(): Promise<void> {
    const Plotly = await plotly();
    const update: Record<string, unknown> = {};
    for (const axis of ['x', 'y'] as const) {
      const t = this.ticks(axis);
      update[`${axis}axis.tickmode`] = t.tickmode;
      update[`${axis}axis.tick0`] = t.tick0;
      update[`${axis}axis.dtick`] = t.dtick;
    }
    this.syncing = true;
    try {
      for (const p of this.panels) await Plotly.relayout(p.plot, update);
    } finally {
      this.syncing = false;
    }
  }

  private config(): object {
    return { displaylogo: false, displayModeBar: false, showTips: false, scrollZoom: true, doubleClick: 'reset', responsive: true };
  }

  /** Zoom or pan in one plot: the same axis change in the others, then finer tiles. */
  private onRelayout(source: PanelState, ev: Record<string, unknown>): void {
    if (this.syncing) return;
    const update: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(ev)) if (/^[xy]axis\.(range|autorange)/.test(k)) update[k] = v;
    if (Object.keys(update).length === 0) return;
    this.syncing = true;
    void (async () => {
      try {
        const Plotly = await plotly();
        for (const p of this.panels) if (p !== source) await Plotly.relayout(p.plot, update);
      } finally {
        this.syncing = false;
      }
      this.shown = this.visible() ?? this.opts.area;
      await this.updateTicks();
      this.loadDetail();
    })();
  }

  /** The view rows/cols visible now (all plots show the same). */
  private visible(): Viewport | undefined {
    const fl = this.panels[0]?.plot._fullLayout;
    if (!fl) return undefined;
    const a = this.opts.area;
    const [x0, x1] = sorted(fl.xaxis.range);
    const [y0, y1] = sorted(fl.yaxis.range);
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    return {
      row0: clamp(Math.floor(y0 + 0.5), a.row0, a.row1),
      row1: clamp(Math.floor(y1 + 0.5) + 1, a.row0, a.row1),
      col0: clamp(Math.floor(x0 + 0.5), a.col0, a.col1),
      col1: clamp(Math.floor(x1 + 0.5) + 1, a.col0, a.col1),
    };
  }

  private async fetchDetail(): Promise<void> {
    const vp = this.visible();
    if (!vp) return;
    this.detailAbort?.abort();
    const a = this.opts.area;
    const whole = vp.row0 === a.row0 && vp.row1 === a.row1 && vp.col0 === a.col0 && vp.col1 === a.col1;
    if (whole || vp.row1 <= vp.row0 || vp.col1 <= vp.col0 || this.panels.every((p) => p.base?.exact)) {
      if (this.panels.some((p) => p.detail)) {
        for (const p of this.panels) p.detail = undefined;
        await Promise.all(this.panels.map((p) => this.draw(p)));
      }
      this.updateStatus();
      return;
    }
    const abort = new AbortController();
    this.detailAbort = abort;
    try {
      const tiles = await Promise.all(
        this.panels.map((p) => {
          const px = this.pixels(p);
          return p.spec.fetch({ viewport: vp, maxRows: px.h, maxCols: px.w }, abort.signal);
        }),
      );
      if (abort.signal.aborted) return;
      this.panels.forEach((p, i) => (p.detail = tiles[i]));
      await Promise.all(this.panels.map((p) => this.draw(p)));
      this.updateStatus();
    } catch (err) {
      if (!isCancelled(err) && !abort.signal.aborted) this.status.textContent = (err as Error).message;
    }
  }

  private updateStatus(): void {
    const t = this.panels[0]?.detail ?? this.panels[0]?.base;
    if (!t) return;
    const a = this.shown;
    const span = (what: string, lo: number, hi: number) => (hi - lo === 1 ? `${what} ${lo}` : `${what}s ${lo}–${hi - 1}`);
    const parts = [`${span('row', a.row0, a.row1)}, ${span('col', a.col0, a.col1)}`, t.exact ? 'exact values' : `each cell = mean of ${t.cellRows} × ${t.cellCols}`];
    if (this.panels.some((p) => p.base?.mean.includes(TILE_NO_VALUE))) parts.push('grey = no value');
    this.status.textContent = parts.join(' · ');
  }

  private onMouseMove(p: PanelState, ev: MouseEvent): void {
    const fl = p.plot._fullLayout;
    if (!fl) return;
    const rect = p.plot.getBoundingClientRect();
    const px = ev.clientX - rect.left - fl.xaxis._offset;
    const py = ev.clientY - rect.top - fl.yaxis._offset;
    if (px < 0 || py < 0 || px > fl.xaxis._length || py > fl.yaxis._length) return;
    const col = Math.round(fl.xaxis.p2d(px));
    const row = Math.round(fl.yaxis.p2d(py));
    const a = this.opts.area;
    if (row < a.row0 || row >= a.row1 || col < a.col0 || col >= a.col1) return;
    // Right away: the cell values the tiles hold; then the exact values.
    const approx = this.panels.map((q) => {
      const tile = q.detail && cellAt(q.detail, row, col) ? q.detail : q.base;
      const cell = tile && cellAt(tile, row, col);
      const code = cell ? tile.mean[cell.i * tile.cols + cell.j] : TILE_NO_VALUE;
      return `${q.spec.title} ${code === TILE_NO_VALUE ? '—' : `≈${formatValue(codeToValue(code, tile!.lo, tile!.hi))}`}`;
    });
    this.hoverLine.textContent = `[${row}, ${col}]  ${approx.join('  ')}`;
    this.hoverLine.dataset.pending = 'true';
    if (this.opts.describe) this.hover(row, col);
  }

  private async describe(row: number, col: number): Promise<void> {
    this.hoverAbort?.abort();
    const abort = new AbortController();
    this.hoverAbort = abort;
    try {
      const text = await this.opts.describe!(row, col, abort.signal);
      if (abort.signal.aborted) return;
      this.hoverLine.textContent = text;
      this.hoverLine.dataset.pending = 'false';
    } catch (err) {
      if (!isCancelled(err) && !abort.signal.aborted) this.hoverLine.textContent = (err as Error).message;
    }
  }

  /** Redraw with the current theme. */
  refreshTheme(): void {
    for (const p of this.panels) if (p.base) void this.draw(p);
  }

  dispose(): void {
    this.disposed = true;
    this.abort.abort();
    this.detailAbort?.abort();
    this.hoverAbort?.abort();
    this.loadDetail.cancel();
    this.hover.cancel();
    void plotly().then((Plotly) => {
      for (const p of this.panels) Plotly.purge(p.plot);
    });
  }
}

function sorted([a, b]: [number, number]): [number, number] {
  return a <= b ? [a, b] : [b, a];
}
