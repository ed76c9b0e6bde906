// The projection as a plotly scatter: WebGL traces, so 100k points stay responsive
// (scattergl in 2-D, scatter3d in 3-D; both are in plotly's CSP-safe strict bundle). Trace 0
// holds every row, coloured by one value per row; trace 1 the selected row's neighbours and
// trace 2 the selected row, drawn over it. Hover and click report a row index.

import { plotly, type PlotDiv } from '../modelEditor/plotly';
import { themeColors } from '../modelEditor/theme';

interface PlotlyExtra {
  restyle(div: HTMLElement, update: object, traces?: number[]): Promise<unknown>;
}

export interface ScatterData {
  rows: number;
  components: 2 | 3;
  /** rows x components, row-major. */
  embedding: Float32Array;
  /** Hover text per row. */
  labels: string[];
}

export interface ScatterColors {
  values: Float32Array;
  min: number | null;
  max: number | null;
  label: string;
}

interface PlotEvent {
  points?: { curveNumber: number; pointNumber: number; customdata?: number }[];
}

export class ScatterPlot {
  readonly element: HTMLDivElement;
  private data: ScatterData | undefined;
  private coords: Float32Array[] = [];
  private colors: ScatterColors | undefined;
  private highlight: { row: number; neighbors: number[] } | undefined;
  private drawn = false;
  private revision = 0;

  constructor(
    private readonly onHover: (row: number | undefined) => void,
    private readonly onClick: (row: number) => void,
  ) {
    this.element = document.createElement('div');
    this.element.className = 'scatter-plot';
    this.element.dataset.testid = 'scatter-plot';
    new ResizeObserver(() => {
      if (this.drawn) void plotly().then((P) => P.Plots.resize(this.element));
    }).observe(this.element);
  }

  get hasData(): boolean {
    return this.data !== undefined;
  }

  async show(data: ScatterData, colors: ScatterColors | undefined): Promise<void> {
    this.data = data;
    this.colors = colors;
    this.highlight = undefined;
    const { rows, components, embedding } = data;
    // De-interleaved typed arrays: plotly takes them as they are.
    this.coords = Array.from({ length: components }, (_, c) => {
      const out = new Float32Array(rows);
      for (let i = 0; i < rows; i++) out[i] = embedding[i * components + c];
      return out;
    });
    await this.draw(true);
  }

  async setColors(colors: ScatterColors | undefined): Promise<void> {
    this.colors = colors;
    if (this.data) await this.draw(false);
  }

  async setHighlight(row: number | undefined, neighbors: number[] = []): Promise<void> {
    this.highlight = row === undefined ? undefined : { row, neighbors };
    if (!this.data) return;
    const Plotly = (await plotly()) as unknown as PlotlyExtra;
    const rowsOf = (list: number[]) => this.coords.map((axis) => list.map((i) => axis[i]));
    const selected = this.highlight ? [this.highlight.row] : [];
    const near = this.highlight?.neighbors ?? [];
    const [nx, ny, nz] = rowsOf(near);
    const [sx, sy, sz] = rowsOf(selected);
    const update: Record<string, unknown[]> = {
      x: [nx, sx],
      y: [ny, sy],
      customdata: [near, selected],
      text: [near.map((i) => this.data!.labels[i]), selected.map((i) => this.data!.labels[i])],
    };
    if (this.data.components === 3) update.z = [nz, sz];
    await Plotly.restyle(this.element, update, [1, 2]);
  }

  /** Theme changed: colours of axes, text and markers follow. */
  async refreshTheme(): Promise<void> {
    if (this.data) await this.draw(false);
  }

  clear(): void {
    this.data = undefined;
    this.coords = [];
    if (this.drawn) void plotly().then((P) => P.purge(this.element));
    this.drawn = false;
  }

  private async draw(fresh: boolean): Promise<void> {
    const data = this.data!;
    const Plotly = await plotly();
    const t = themeColors();
    const three = data.components === 3;
    const type = three ? 'scatter3d' : 'scattergl';
    const size = data.rows > 20000 ? 2 : data.rows > 2000 ? 3 : 5;
    const c = this.colors;
    const marker = c
      ? {
          size,
          color: c.values,
          cmin: c.min ?? 0,
          cmax: c.max ?? 1,
          colorscale: 'Viridis',
          showscale: true,
          colorbar: { title: { text: c.label, side: 'right' }, thickness: 12, outlinewidth: 0, tickfont: { color: t.foreground } },
        }
      : { size, color: t.accent };
    const xyz = (arrays: ArrayLike<number>[]) => (three ? { x: arrays[0], y: arrays[1], z: arrays[2] } : { x: arrays[0], y: arrays[1] });
    const near = this.highlight?.neighbors ?? [];
    const selected = this.highlight ? [this.highlight.row] : [];
    const pick = (list: number[]) => this.coords.map((a) => list.map((i) => a[i]));
    const ring = t.dark ? '#ffffff' : '#000000';
    const traces = [
      { type, mode: 'markers', ...xyz(this.coords), text: data.labels, hovertemplate: '%{text}<extra></extra>', marker, name: 'rows' },
      {
        type,
        mode: 'markers',
        ...xyz(pick(near)),
        customdata: near,
        text: near.map((i) => data.labels[i]),
        hovertemplate: '%{text} (neighbour)<extra></extra>',
        marker: { size: size + 5, color: 'rgba(0,0,0,0)', line: { color: t.accent, width: 2 } },
        name: 'neighbours',
      },
      {
        type,
        mode: 'markers',
        ...xyz(pick(selected)),
        customdata: selected,
        text: selected.map((i) => data.labels[i]),
        hovertemplate: '%{text} (selected)<extra></extra>',
        marker: { size: size + 9, color: 'rgba(0,0,0,0)', line: { color: ring, width: 2.5 } },
        name: 'selected',
      },
    ];
    const axisStyle = { gridcolor: t.border, zerolinecolor: t.border, showticklabels: false, title: { text: '' }, color: t.muted };
    const layout = {
      // Same uirevision: zoom, pan and camera survive a new colouring or theme; a new fit resets them.
      uirevision: fresh ? ++this.revision : this.revision,
      margin: { l: 8, r: 8, t: 8, b: 8 },
      paper_bgcolor: 'rgba(0,0,0,0)',
      plot_bgcolor: 'rgba(0,0,0,0)',
      font: { color: t.foreground, family: t.fontFamily, size: 11 },
      showlegend: false,
      hovermode: 'closest',
      dragmode: three ? 'orbit' : 'pan',
      hoverlabel: { font: { family: t.fontFamily } },
      ...(three
        ? { scene: { xaxis: { ...axisStyle, showbackground: false }, yaxis: { ...axisStyle, showbackground: false }, zaxis: { ...axisStyle, showbackground: false }, bgcolor: 'rgba(0,0,0,0)' } }
        : { xaxis: { ...axisStyle, scaleanchor: 'y' }, yaxis: axisStyle }),
    };
    const config = { displayModeBar: true, displaylogo: false, showSendToCloud: false, showEditInChartStudio: false, scrollZoom: true, responsive: true, modeBarButtonsToRemove: ['toImage', 'select2d', 'lasso2d'] };
    const div = (await (fresh ? Plotly.newPlot : Plotly.react)(this.element, traces, layout, config)) as PlotDiv;
    if (!this.drawn || fresh) this.listen(div);
    this.drawn = true;
    this.element.dataset.points = String(data.rows);
    this.element.dataset.components = String(data.components);
  }

  private listen(div: PlotDiv): void {
    div.removeAllListeners?.('plotly_hover');
    div.removeAllListeners?.('plotly_unhover');
    div.removeAllListeners?.('plotly_click');
    div.on('plotly_hover', (ev: PlotEvent) => this.onHover(this.rowOf(ev)));
    div.on('plotly_unhover', () => this.onHover(undefined));
    div.on('plotly_click', (ev: PlotEvent) => {
      const row = this.rowOf(ev);
      if (row !== undefined) this.onClick(row);
    });
  }

  /** The row under the pointer: trace 0's point number, or the highlight traces' customdata. */
  private rowOf(ev: PlotEvent): number | undefined {
    const p = ev.points?.[0];
    if (!p) return undefined;
    if (p.curveNumber === 0) return p.pointNumber;
    return typeof p.customdata === 'number' ? p.customdata : undefined;
  }
}
