// Statistics of the selected tensor: streamed by the engine with progress, cancelled when
// another tensor is selected. Numbers, quantiles and a histogram (plotly bar chart).

import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import type { VscodeProgressBar } from '@vscode-elements/elements/dist/vscode-progress-bar/vscode-progress-bar.js';
import type { DType } from '../../shared/dtypes';
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
  private dtype: DType | undefined;
  /** Counts on a log axis: a few outliers' bins stay visible beside the bulk. */
  private logCounts = false;
  private readonly logButton: HTMLButtonElement;

  constructor(
    private readonly rpc: HostRpc,
    /** A tensor's statistics are in (the heatmap's tensor-wide colour ranges use them). */
    private readonly onStats: (tensor: string, stats: TensorStats) => void = () => {},
  ) {
    this.progress = h('vscode-progress-bar', { class: 'stats-progress', 'data-testid': 'stats-progress' }) as VscodeProgressBar;
    this.body = h('div', { class: 'stats-body' });
    this.histogram = h('div', { class: 'histogram', 'data-testid': 'histogram' }) as HTMLDivElement;
    this.logButton = h('button', { class: 'seg', 'aria-pressed': 'false', 'data-testid': 'histogram-log', title: 'Histogram counts on a logarithmic axis (shows rare values beside the bulk)' }, 'Log counts');
    this.logButton.addEventListener('click', () => {
      this.logCounts = !this.logCounts;
      this.logButton.setAttribute('aria-pressed', String(this.logCounts));
      this.refresh();
    });
    this.element = h(
      'section',
      { class: 'stats', 'data-testid': 'stats' },
      h('div', { class: 'stats-header' }, h('h3', {}, 'Statistics'), h('span', { class: 'segmented' }, this.logButton)),
      this.progress,
      this.body,
      this.histogram,
    );
  }

  /** Start computing statistics for a tensor, cancelling the previous run. */
  load(tensor: TensorInfo): void {
    this.cancel();
    const abort = new AbortController();
    this.abort = abort;
    this.stats = undefined;
    this.dtype = tensor.dtype;
    this.body.replaceChildren(h('div', { class: 'muted' }, 'Computing…'));
    this.histogram.hidden = true;
    this.logButton.hidden = true;
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
        this.onStats(tensor.name, stats);
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
    if (this.dtype === 'BOOL') {
      // Counts say it all: min/max/quantiles of 0s and 1s would not.
      const trues = s.numel - s.zeros;
      const share = s.numel ? ` (${Number(((100 * trues) / s.numel).toFixed(2))}%)` : '';
      this.body.replaceChildren(h('div', { class: 'stat-grid' }, cell('true', `${formatInt(trues)}${share}`, 'stat-true'), cell('false', formatInt(s.zeros), 'stat-false'), cell('elements', formatInt(s.numel), 'stat-numel')));
      void this.drawHistogram(s);
      return;
    }
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
    const bool = this.dtype === 'BOOL';
    const empty = bool ? s.numel === 0 : counts.length === 0 || !counts.some((c) => c > 0);
    this.histogram.hidden = empty;
    this.logButton.hidden = empty;
    if (empty) return;
    const Plotly = await plotly();
    const t = themeColors();
    const width = (max - min) / counts.length;
    const bars = bool
      ? // Two bars, false and true, however the engine binned the 0s and 1s.
        { type: 'bar', x: ['false', 'true'], y: [s.zeros, s.numel - s.zeros], hovertemplate: '%{x}: %{y}<extra></extra>', marker: { color: t.accent } }
      : {
          type: 'bar',
          x: counts.map((_, i) => min + (i + 0.5) * width),
          y: counts,
          width: counts.map(() => width || 1),
          customdata: counts.map((_, i) => [formatValue(min + i * width), formatValue(min + (i + 1) * width)]),
          hovertemplate: '[%{customdata[0]}, %{customdata[1]}): %{y}<extra></extra>',
          marker: { color: t.accent },
        };
    const title = (text: string) => ({ text, font: { size: 11, color: t.muted }, standoff: 2 });
    await Plotly.react(
      this.histogram,
      [bars],
      {
        height: 160,
        margin: { l: 56, r: 12, t: 6, b: 40 },
        paper_bgcolor: 'rgba(0,0,0,0)',
        plot_bgcolor: 'rgba(0,0,0,0)',
        font: { color: t.foreground, family: t.fontFamily, size: 11 },
        xaxis: { gridcolor: t.border, zeroline: false, exponentformat: 'e', title: title(bool ? '' : 'value'), fixedrange: bool },
        // Zero counts have no place on a log axis: their bars are simply absent there.
        yaxis: {
          gridcolor: t.border,
          zeroline: false,
          fixedrange: true,
          title: title('elements'),
          // Whole counts: decades on a log axis, no 0.5 ticks when a few elements per bin.
          ...(this.logCounts ? { type: 'log', dtick: 1 } : { type: 'linear', rangemode: 'tozero', ...(Math.max(...(bars.y as number[])) < 5 ? { dtick: 1 } : {}) }),
        },
        bargap: bool ? 0.4 : 0,
        hoverlabel: { font: { family: t.fontFamily } },
      },
      { displayModeBar: false, responsive: true },
    );
  }
}

function trimPercent(p: number): string {
  return String(Number(p.toFixed(3)));
}
