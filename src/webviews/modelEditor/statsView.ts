// Statistics of the selected tensor: streamed by the engine with progress, cancelled when
// another tensor is selected. Numbers, quantiles and a histogram (plotly bar chart).

import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import type { VscodeProgressBar } from '@vscode-elements/elements/dist/vscode-progress-bar/vscode-progress-bar.js';
import type { TensorInfo, TensorStats } from '../../shared/protocol';
import { h } from './dom';
import { formatInt, formatValue } from './format';
import type { HostRpc } from './hostRpc';
import { isCancelled } from './hostRpc';
import { plotly } from './plotly';
import { themeColors } from './theme';

const BINS = 64;

export class StatsView {
  readonly element: HTMLElement;
  private readonly progress: VscodeProgressBar;
  private readonly body: HTMLElement;
  private readonly histogram: HTMLDivElement;
  private abort: AbortController | undefined;
  private stats: TensorStats | undefined;

  constructor(private readonly rpc: HostRpc) {
    this.progress = h('vscode-progress-bar', { class: 'stats-progress', 'data-testid': 'stats-progress' }) as VscodeProgressBar;
    this.body = h('div', { class: 'stats-body' });
    this.histogram = h('div', { class: 'histogram', 'data-testid': 'histogram' }) as HTMLDivElement;
    this.element = h('section', { class: 'stats', 'data-testid': 'stats' }, h('h3', {}, 'Statistics'), this.progress, this.body, this.histogram);
  }

  /** Start computing statistics for a tensor, cancelling the previous run. */
  load(tensor: TensorInfo): void {
    this.cancel();
    const abort = new AbortController();
    this.abort = abort;
    this.stats = undefined;
    this.body.replaceChildren(h('div', { class: 'muted' }, 'Computing…'));
    this.histogram.hidden = true;
    this.progress.hidden = false;
    this.progress.value = undefined;
    this.progress.max = 1;
    this.element.dataset.state = 'running';
    this.rpc
      .request('stats', { tensor: tensor.name, bins: BINS }, {
        signal: abort.signal,
        onProgress: (done, total) => {
          this.progress.max = Math.max(1, total);
          this.progress.value = done;
        },
      })
      .then((stats) => {
        if (abort.signal.aborted) return;
        this.stats = stats;
        this.element.dataset.state = 'done';
        this.render(stats);
      })
      .catch((err: unknown) => {
        if (isCancelled(err) || abort.signal.aborted) return;
        this.element.dataset.state = 'error';
        this.body.replaceChildren(h('div', { class: 'error-line', 'data-testid': 'stats-error' }, (err as Error).message));
      })
      .finally(() => {
        if (this.abort === abort) this.progress.hidden = true;
      });
  }

  cancel(): void {
    this.abort?.abort();
    this.abort = undefined;
    this.progress.hidden = true;
  }

  /** Redraw (theme change). */
  refresh(): void {
    if (this.stats) void this.drawHistogram(this.stats);
  }

  private render(s: TensorStats): void {
    const cell = (label: string, value: string, testid: string) =>
      h('div', { class: 'stat' }, h('span', { class: 'stat-label' }, label), h('span', { class: 'stat-value', 'data-testid': testid }, value));
    const grid = h(
      'div',
      { class: 'stat-grid' },
      cell('min', formatValue(s.min), 'stat-min'),
      cell('max', formatValue(s.max), 'stat-max'),
      cell('mean', formatValue(s.mean), 'stat-mean'),
      cell('std', formatValue(s.std), 'stat-std'),
      cell('elements', formatInt(s.numel), 'stat-numel'),
      cell('zeros', formatInt(s.zeros), 'stat-zeros'),
      cell('NaN', formatInt(s.nan), 'stat-nan'),
      cell('±Inf', formatInt(s.inf), 'stat-inf'),
    );
    const quantiles = h(
      'div',
      { class: 'quantiles', 'data-testid': 'stat-quantiles' },
      ...s.quantiles.map(([p, v]) => h('div', { class: 'stat' }, h('span', { class: 'stat-label' }, `p${trimPercent(p * 100)}`), h('span', { class: 'stat-value' }, formatValue(v)))),
    );
    this.body.replaceChildren(grid);
    if (s.quantiles.length) this.body.append(quantiles);
    void this.drawHistogram(s);
  }

  private async drawHistogram(s: TensorStats): Promise<void> {
    const { counts, min, max } = s.histogram;
    if (counts.length === 0 || !counts.some((c) => c > 0)) {
      this.histogram.hidden = true;
      return;
    }
    this.histogram.hidden = false;
    const Plotly = await plotly();
    const width = (max - min) / counts.length;
    const centres = counts.map((_, i) => min + (i + 0.5) * width);
    const lefts = counts.map((_, i) => formatValue(min + i * width));
    const rights = counts.map((_, i) => formatValue(min + (i + 1) * width));
    const t = themeColors();
    await Plotly.react(
      this.histogram,
      [
        {
          type: 'bar',
          x: centres,
          y: counts,
          width: counts.map(() => width || 1),
          customdata: counts.map((_, i) => [lefts[i], rights[i]]),
          hovertemplate: '[%{customdata[0]}, %{customdata[1]}): %{y}<extra></extra>',
          marker: { color: t.accent },
        },
      ],
      {
        height: 140,
        margin: { l: 48, r: 12, t: 6, b: 28 },
        paper_bgcolor: 'rgba(0,0,0,0)',
        plot_bgcolor: 'rgba(0,0,0,0)',
        font: { color: t.foreground, family: t.fontFamily, size: 11 },
        xaxis: { gridcolor: t.border, zeroline: false, exponentformat: 'e' },
        yaxis: { gridcolor: t.border, zeroline: false, rangemode: 'tozero', fixedrange: true },
        bargap: 0,
        hoverlabel: { font: { family: t.fontFamily } },
      },
      { displayModeBar: false, responsive: true },
    );
  }
}

function trimPercent(p: number): string {
  return String(Number(p.toFixed(3)));
}
