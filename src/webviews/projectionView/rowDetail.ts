// The selected row: its label and norm, its values as a small line plot (fetched as float32
// bytes, reduced by the engine to one min/max pair per pixel for wide rows) and its k nearest
// rows by cosine (exact, from the engine) with their distances, each clickable.

import { h } from '../modelEditor/dom';
import { formatValue } from '../modelEditor/format';
import { plotly } from '../modelEditor/plotly';
import { themeColors } from '../modelEditor/theme';
import type { RowValues } from '../../shared/projectionProtocol';
import { float32s, int32s, isCancelled, type ProjectionRpc } from './rpc';
import type { RowLabels } from './rowLabels';

export class RowDetail {
  readonly element: HTMLElement;
  private readonly title: HTMLElement;
  private readonly summary: HTMLElement;
  private readonly plot: HTMLDivElement;
  private readonly neighbors: HTMLElement;
  private abort: AbortController | undefined;
  private values: RowValues | undefined;
  private plotted = false;

  constructor(
    private readonly rpc: ProjectionRpc,
    private labels: RowLabels,
    private readonly onSelect: (row: number) => void,
    /** The neighbours found for the row, for highlighting them in the scatter. */
    private readonly onNeighbors: (row: number, neighbors: number[]) => void,
    private k: number,
  ) {
    this.title = h('h3', { class: 'row-title', 'data-testid': 'row-title' }, 'Click a point');
    this.summary = h('div', { class: 'muted row-summary', 'data-testid': 'row-summary' }, 'Its values and nearest rows by cosine appear here.');
    this.plot = h('div', { class: 'row-plot', 'data-testid': 'row-plot', hidden: true }) as HTMLDivElement;
    this.neighbors = h('ol', { class: 'neighbor-list', 'data-testid': 'neighbor-list' });
    this.element = h('section', { class: 'row-detail', 'data-testid': 'row-detail' }, this.title, this.summary, this.plot, this.neighbors);
  }

  setLabels(labels: RowLabels): void {
    this.labels = labels;
  }

  setK(k: number): void {
    this.k = k;
  }

  clear(): void {
    this.abort?.abort();
    this.values = undefined;
    this.element.dataset.row = '';
    this.title.textContent = 'Click a point';
    this.summary.textContent = 'Its values and nearest rows by cosine appear here.';
    this.plot.hidden = true;
    this.neighbors.replaceChildren();
  }

  async show(row: number): Promise<void> {
    this.abort?.abort();
    const abort = new AbortController();
    this.abort = abort;
    const { signal } = abort;
    this.element.dataset.row = String(row);
    this.element.dataset.state = 'loading';
    this.title.textContent = this.labels.label(row);
    this.summary.textContent = 'Loading…';
    this.neighbors.replaceChildren(h('li', { class: 'muted' }, 'Finding the nearest rows…'));
    try {
      const maxPoints = Math.max(64, Math.floor(this.plot.clientWidth || this.element.clientWidth || 300));
      const [values, near] = await Promise.all([
        this.rpc.request('projectionRow', { row, maxPoints }, { signal }),
        this.rpc.request('projectionNeighbors', { row, k: this.k }, { signal }),
      ]);
      if (signal.aborted) return;
      this.values = values;
      const bucketNote = values.bucket > 1 ? ` · min/max of ${values.bucket} columns per point` : '';
      this.summary.textContent = `${values.cols} values · ‖row‖₂ = ${formatValue(values.norm)}${bucketNote}`;
      void this.drawValues(values);
      const indices = [...int32s(near.indices)];
      const distances = float32s(near.distances);
      this.neighbors.replaceChildren(
        h('li', { class: 'neighbor-head muted' }, `${indices.length} nearest by cosine distance (1 − cos)`),
        ...indices.map((i, j) => {
          const item = h(
            'li',
            { class: 'neighbor', 'data-testid': 'neighbor', 'data-row': String(i), tabindex: '0', role: 'button', title: `Show row ${i}` },
            h('span', { class: 'neighbor-label' }, this.labels.label(i)),
            h('span', { class: 'neighbor-distance mono' }, distances[j].toFixed(4)),
          );
          item.addEventListener('click', () => this.onSelect(i));
          item.addEventListener('keydown', (ev) => {
            if (ev.key === 'Enter' || ev.key === ' ') this.onSelect(i);
          });
          return item;
        }),
      );
      this.element.dataset.state = 'done';
      this.onNeighbors(row, indices);
    } catch (err) {
      if (isCancelled(err) || signal.aborted) return;
      this.element.dataset.state = 'error';
      this.summary.textContent = '';
      this.neighbors.replaceChildren(h('li', { class: 'error-line', 'data-testid': 'row-error' }, (err as Error).message));
    }
  }

  refreshTheme(): void {
    if (this.values) void this.drawValues(this.values);
  }

  private async drawValues(v: RowValues): Promise<void> {
    this.plot.hidden = false;
    const Plotly = await plotly();
    const t = themeColors();
    const lo = float32s(v.lo);
    const hi = float32s(v.hi);
    const x = Array.from({ length: lo.length }, (_, b) => b * v.bucket);
    const line = { color: t.accent, width: 1 };
    const traces =
      v.bucket === 1
        ? [{ type: 'scatter', mode: lo.length <= 64 ? 'lines+markers' : 'lines', x, y: lo, line, marker: { size: 3, color: t.accent }, hovertemplate: 'column %{x}: %{y}<extra></extra>' }]
        : [
            { type: 'scatter', mode: 'lines', x, y: lo, line, hovertemplate: `columns %{x}+${v.bucket}: min %{y}<extra></extra>` },
            { type: 'scatter', mode: 'lines', x, y: hi, line, fill: 'tonexty', fillcolor: translucent(t.accent), hovertemplate: `columns %{x}+${v.bucket}: max %{y}<extra></extra>` },
          ];
    const layout = {
      height: 150,
      margin: { l: 44, r: 8, t: 6, b: 24 },
      paper_bgcolor: 'rgba(0,0,0,0)',
      plot_bgcolor: 'rgba(0,0,0,0)',
      font: { color: t.foreground, family: t.fontFamily, size: 10 },
      showlegend: false,
      xaxis: { gridcolor: t.border, zeroline: false, range: [0, v.cols - 1] },
      yaxis: { gridcolor: t.border, zerolinecolor: t.muted, exponentformat: 'e' },
      hoverlabel: { font: { family: t.fontFamily } },
    };
    await (this.plotted ? Plotly.react : Plotly.newPlot)(this.plot, traces, layout, { displayModeBar: false, responsive: true });
    this.plotted = true;
  }
}

/** A colour at a third of its opacity, for the band between min and max. */
function translucent(color: string): string {
  return /^#[0-9a-f]{6}$/i.test(color) ? `${color}55` : 'rgba(128, 128, 128, 0.33)';
}
