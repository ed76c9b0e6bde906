// The clustering view's webview: the rows of one 2-D tensor projected to 2-D or 3-D (UMAP,
// fitted by the engine with progress and Cancel), coloured by row norm or a column, with the
// hovered row's index and token, the clicked row's values and nearest rows, and, when the
// rows are tokens, a token comparison panel. Talks only to the extension host (rpc.ts).
// When the rows include a model editor's edits and those change, the colours, the selected
// row and the token cosine are fetched again, and a notice offers to refit the projection.

import '../modelEditor/cspShims';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import type { VscodeProgressBar } from '@vscode-elements/elements/dist/vscode-progress-bar/vscode-progress-bar.js';
import type { ProjectionFitResult, ProjectionRowsInfo, ToProjectionView } from '../../shared/projectionProtocol';
import { h } from '../modelEditor/dom';
import { formatInt } from '../modelEditor/format';
import { onThemeChange } from '../modelEditor/theme';
import { Controls } from './controls';
import { RowDetail } from './rowDetail';
import { RowLabels } from './rowLabels';
import { float32s, isCancelled, onHostMessage, postToHost, ProjectionRpc } from './rpc';
import { ScatterPlot, type ScatterColors } from './scatterPlot';
import { TokenPanel } from './tokenPanel';

/** What each engine phase is called on the progress line. */
const PHASES: Record<string, string> = {
  read: 'Reading rows',
  scale: 'Standardising columns',
  pca: 'PCA',
  knn: 'Exact nearest neighbours',
  graph: 'Neighbour graph',
  layout: 'Layout (UMAP epochs)',
};

class ProjectionApp {
  private readonly controls: Controls;
  private readonly scatter: ScatterPlot;
  private readonly detail: RowDetail;
  private readonly tokens: TokenPanel | undefined;
  private readonly progress: VscodeProgressBar;
  private readonly status: HTMLElement;
  /** "The model changed since this fit — Refit", shown while the plot is older than the edits. */
  private readonly staleNote: HTMLElement;
  /** Where the rows come from, in the header. */
  private readonly source: HTMLElement;
  private readonly hover: HTMLElement;
  private labels = new RowLabels();
  private colors: ScatterColors | undefined;
  private fitAbort: AbortController | undefined;
  private colorAbort: AbortController | undefined;
  private fitted: ProjectionFitResult | undefined;
  private selected: number | undefined;
  /** Changes of the model's edits seen so far, and how many the shown plot was fitted after. */
  private changes = 0;
  private fittedChanges = 0;

  constructor(
    root: HTMLElement,
    private readonly rpc: ProjectionRpc,
    private info: ProjectionRowsInfo,
    fileName: string,
  ) {
    this.controls = new Controls(info.rows, info.cols, {
      project: () => void this.fit(),
      cancel: () => this.fitAbort?.abort(),
      save: () => void this.save(),
      colorChanged: () => void this.loadColors(),
    });
    this.scatter = new ScatterPlot(
      (row) => this.showHover(row),
      (row) => void this.select(row),
    );
    this.detail = new RowDetail(rpc, this.labels, (row) => void this.select(row), (row, near) => {
      if (row === this.selected) void this.scatter.setHighlight(row, near);
    }, this.controls.neighborCount);
    if (info.tokens) this.tokens = new TokenPanel(rpc, info.rows, () => this.labels, (row) => void this.select(row));

    this.progress = h('vscode-progress-bar', { class: 'fit-progress', 'data-testid': 'fit-progress', hidden: true }) as VscodeProgressBar;
    this.status = h('div', { class: 'status', 'data-testid': 'fit-status' });
    const refit = h('a', { href: '#', 'data-testid': 'refit', title: 'Fit the projection again with the current values' }, 'Refit');
    refit.addEventListener('click', (ev) => {
      ev.preventDefault();
      void this.fit();
    });
    this.staleNote = h('span', { class: 'stale-note', 'data-testid': 'stale-note', hidden: true }, 'The model changed since this fit — ', refit);
    this.source = h('span', { 'data-testid': 'rows-source' });
    this.hover = h('div', { class: 'hover-line mono', 'data-testid': 'hover-row' }, '\u00a0');
    const tokenNote = info.tokens
      ? `rows are tokens of ${basename(info.tokens.file)} (${info.tokens.model}, ${formatInt(info.tokens.count)})`
      : info.tokenizerNote ?? 'no tokenizer.json next to the model';
    const header = h(
      'header',
      { class: 'view-header' },
      h('h2', { class: 'tensor-name mono', 'data-testid': 'projection-tensor', title: info.tensor }, info.tensor),
      h('span', { class: 'muted' }, `${fileName} · [${formatInt(info.rows)}, ${formatInt(info.cols)}] ${info.dtype} · ${tokenNote}`, this.source),
    );
    this.showSource();
    const side = h('aside', { class: 'side' }, this.detail.element, this.tokens?.element);
    root.replaceChildren(
      h('div', { class: 'layout' }, header, this.controls.element, h('div', { class: 'progress-row' }, this.progress, this.status, this.staleNote), h('main', { class: 'main' }, h('div', { class: 'plot-column' }, this.scatter.element, this.hover), side)),
    );
    document.title = `Projection: ${info.tensor}`;
    onThemeChange(() => {
      void this.scatter.refreshTheme();
      this.detail.refreshTheme();
    });
    void this.start();
  }

  /** Tokens for the labels, the default colouring, then the first fit with the default options. */
  private async start(): Promise<void> {
    if (this.info.tokens) {
      try {
        this.labels = new RowLabels(await this.rpc.request('projectionTokens', {}));
        this.detail.setLabels(this.labels);
      } catch (err) {
        this.setStatus(`Token labels unavailable: ${(err as Error).message}`, true);
      }
    }
    await Promise.all([this.loadColors(), this.fit()]);
  }

  private async fit(): Promise<void> {
    const options = this.controls.options();
    if (typeof options === 'string') return this.setStatus(options, true);
    this.fitAbort?.abort();
    const abort = new AbortController();
    this.fitAbort = abort;
    this.controls.setRunning(true, false);
    this.detail.setK(this.controls.neighborCount);
    this.progress.hidden = false;
    this.progress.value = undefined;
    this.setStatus(`Fitting ${formatInt(this.info.rows)} rows…`, false, 'running');
    this.staleNote.hidden = true;
    const changesAtStart = this.changes;
    const t0 = performance.now();
    try {
      const result = await this.rpc.request('projectionFit', { options }, {
        signal: abort.signal,
        onProgress: (done, total, phase) => {
          this.progress.max = Math.max(1, total);
          this.progress.value = done;
          const name = phase ? PHASES[phase] ?? phase : 'Fitting';
          this.setStatus(total > 1 ? `${name}: ${formatInt(done)} / ${formatInt(total)}` : `${name}…`, false, 'running');
          this.status.dataset.phase = phase ?? '';
        },
      });
      if (abort.signal.aborted) return;
      this.fitted = result;
      this.fittedChanges = changesAtStart;
      const labels = this.labels.hoverTexts(result.rows);
      await this.scatter.show({ rows: result.rows, components: result.components === 3 ? 3 : 2, embedding: float32s(result.embedding), labels }, this.colors);
      const seconds = ((performance.now() - t0) / 1000).toFixed(1);
      this.setStatus(`${formatInt(result.rows)} rows in ${result.components}-D · fitted in ${seconds} s (neighbour search on ${result.provider})`, false, 'done');
      if (this.selected !== undefined) void this.select(this.selected);
    } catch (err) {
      if (isCancelled(err) || abort.signal.aborted) {
        if (this.fitAbort === abort) this.setStatus(this.fitted ? 'Cancelled; showing the previous projection.' : 'Cancelled.', false, 'cancelled');
        return;
      }
      this.setStatus((err as Error).message, true);
    } finally {
      if (this.fitAbort === abort) {
        this.fitAbort = undefined;
        this.progress.hidden = true;
        this.controls.setRunning(false, this.fitted !== undefined);
        this.showStale();
      }
    }
  }

  private async loadColors(): Promise<void> {
    const coloring = this.controls.coloring();
    if (typeof coloring === 'string') return this.setStatus(coloring, true);
    this.colorAbort?.abort();
    const abort = new AbortController();
    this.colorAbort = abort;
    try {
      const r = await this.rpc.request('projectionColors', { coloring }, { signal: abort.signal });
      if (abort.signal.aborted) return;
      this.colors = { values: float32s(r.values), min: r.min, max: r.max, label: r.label };
      await this.scatter.setColors(this.colors);
    } catch (err) {
      if (!isCancelled(err) && !abort.signal.aborted) this.setStatus(`Colours: ${(err as Error).message}`, true);
    }
  }

  private async select(row: number): Promise<void> {
    this.selected = row;
    this.tokens?.setA(row);
    await this.scatter.setHighlight(row, []);
    await this.detail.show(row);
  }

  private async save(): Promise<void> {
    try {
      const saved = await this.rpc.save();
      if (saved) this.setStatus(`Saved ${saved.path}`, false);
    } catch (err) {
      this.setStatus(`Save failed: ${(err as Error).message}`, true);
    }
  }

  private showHover(row: number | undefined): void {
    this.hover.textContent = row === undefined ? '\u00a0' : this.labels.label(row);
    this.hover.dataset.row = row === undefined ? '' : String(row);
  }

  private setStatus(text: string, error: boolean, state?: string): void {
    this.status.textContent = text;
    this.status.classList.toggle('error-line', error);
    if (state) this.status.dataset.state = state;
    else if (error) this.status.dataset.state = 'error';
  }

  /** The engine restarted and the rows were opened again: the fitted projection is gone there. */
  restarted(): void {
    this.fitAbort?.abort();
    this.fitted = undefined;
    this.controls.setRunning(false, false);
    this.setStatus('The Tensorscope engine restarted; press Project to fit again (the plot shows the last projection).', false, 'restarted');
  }

  /** The rows were opened again from another source (`note` says which): what is shown is fetched again; the fit is gone. */
  reopened(info: ProjectionRowsInfo, note: string): void {
    this.fitAbort?.abort();
    this.info = info;
    this.fitted = undefined;
    this.controls.setRunning(false, false);
    this.showSource();
    this.staleNote.hidden = true;
    this.setStatus(note, false, 'reopened');
    this.refreshRows();
  }

  /** The model editor's edits changed: colours, the selected row and the token cosine are fetched again; the fit is older now. */
  modelChanged(): void {
    this.changes++;
    this.refreshRows();
    this.showStale();
  }

  private refreshRows(): void {
    void this.loadColors();
    if (this.selected !== undefined) void this.select(this.selected);
    this.tokens?.refresh();
  }

  /** The notice, when the plot shown was fitted before the latest change (not while a fit runs). */
  private showStale(): void {
    this.staleNote.hidden = !this.fitted || this.fitAbort !== undefined || this.fittedChanges === this.changes;
  }

  private showSource(): void {
    this.source.textContent = this.info.withEdits ? ' · with the model editor’s edits' : '';
    this.source.title = this.info.withEdits ? 'The rows are read through the edits of the model open in the editor, saved or not' : '';
  }

  dispose(): void {
    this.fitAbort?.abort();
    this.colorAbort?.abort();
  }
}

function basename(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

const root = document.getElementById('app')!;
const rpc = new ProjectionRpc();
let app: ProjectionApp | undefined;

onHostMessage((msg: ToProjectionView) => {
  if (rpc.handle(msg)) return;
  switch (msg.type) {
    case 'init':
      if (msg.note && app) app.reopened(msg.info, msg.note);
      else if (msg.restarted && app) app.restarted();
      else {
        app?.dispose();
        app = new ProjectionApp(root, rpc, msg.info, msg.fileName);
      }
      break;
    case 'modelChanged':
      app?.modelChanged();
      break;
    case 'loadError':
      root.replaceChildren(h('div', { class: 'load-error', 'data-testid': 'load-error' }, h('span', { class: 'codicon codicon-error' }), ' ', msg.message));
      break;
  }
});

postToHost({ type: 'ready' });
