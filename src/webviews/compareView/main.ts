// Compare view webview entry: two models A (before) and B (after). While the engine streams
// them: progress and Cancel. Then the table of changed / added / removed tensors; a tensor
// opens A, B and B − A heatmaps side by side with linked zoom; "Export as .stpatch".

import '../modelEditor/cspShims';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import type { ModelComparison, TensorComparison, Tile } from '../../shared/protocol';
import type { CompareSide, CompareSubject, CompareView, ReviewToWebview } from '../../shared/reviewProtocol';
import { h, icon, replace } from '../review/dom';
import { formatBytes, formatInt, formatShape } from '../modelEditor/format';
import { onThemeChange } from '../modelEditor/theme';
import { action, isCancelled, onHostMessage, postToHost, ReviewRpc } from '../review/hostRpc';
import { LinkedHeatmaps } from '../review/linkedHeatmaps';
import { CompareTable, describeChange } from './compareTable';

const rpc = new ReviewRpc();
const root = document.getElementById('app')!;

const title = h('div', { class: 'cv-title' });
const exportButton = h('vscode-button', { 'data-testid': 'export-patch', secondary: true, disabled: true }, 'Export as .stpatch…');
exportButton.addEventListener('click', () => action('exportPatch'));
const againButton = h('vscode-button', { secondary: true, 'data-testid': 'compare-again' }, 'Compare Again');
againButton.addEventListener('click', () => action('compareAgain'));
const cancelButton = h('vscode-button', { secondary: true, 'data-testid': 'cancel-compare' }, 'Cancel');
cancelButton.addEventListener('click', () => action('cancelCompare'));
const progressBar = h('vscode-progress-bar', {});
const progressText = h('span', { class: 'muted', 'data-testid': 'compare-progress' });
const progress = h('div', { class: 'cv-progress', hidden: true }, progressBar, h('div', { class: 'cv-progress-line' }, progressText, cancelButton));
const summary = h('div', { class: 'cv-summary', 'data-testid': 'compare-summary' });
const errorBox = h('div', { class: 'error-line', 'data-testid': 'compare-error', hidden: true });
const unchangedToggle = h('label', { class: 'cv-toggle' }, h('input', { type: 'checkbox', 'data-testid': 'show-unchanged' }), ' show unchanged');
const table = new CompareTable((t) => void showTensor(t));
const tableBox = h('div', { class: 'cv-table', hidden: true }, table.element);
const detail = h('section', { class: 'cv-detail', 'data-testid': 'compare-detail' });

(unchangedToggle.querySelector('input') as HTMLInputElement).addEventListener('change', (ev) => table.setShowUnchanged((ev.target as HTMLInputElement).checked));

root.replaceChildren(
  h('div', { class: 'compare-view' }, h('header', { class: 'pv-header' }, title, h('div', { class: 'pv-actions' }, exportButton, againButton)), progress, errorBox, summary, tableBox, detail),
);

let comparison: ModelComparison | undefined;
let heatmaps: LinkedHeatmaps | undefined;
let detailAbort: AbortController | undefined;

function setSubject(s: CompareSubject): void {
  title.replaceChildren(
    h('span', { class: 'muted' }, 'A '),
    h('span', { class: 'mono', 'data-testid': 'label-a' }, s.labelA),
    h('span', { class: 'muted' }, '  →  B '),
    h('span', { class: 'mono', 'data-testid': 'label-b' }, s.labelB),
  );
  exportButton.toggleAttribute('disabled', !s.exportable);
  exportButton.title = s.exportable ? 'Write B’s differences from A as a .stpatch (against A)' : (s.exportReason ?? '');
}

function showResult(c: ModelComparison): void {
  comparison = c;
  progress.hidden = true;
  errorBox.hidden = true;
  tableBox.hidden = false;
  const n = c.counts;
  const parts = [
    `${formatInt(n.changed)} changed`,
    `${formatInt(n.added)} added`,
    `${formatInt(n.removed)} removed`,
    n.dtype ? `${formatInt(n.dtype)} dtype changed` : '',
    n.shape ? `${formatInt(n.shape)} shape changed` : '',
    `${formatInt(n.unchanged)} unchanged`,
  ].filter(Boolean);
  replace(
    summary,
    h('span', {}, parts.join(' · ')),
    h('span', { class: 'muted' }, ` · ${formatBytes(c.bytesRead)} read`),
    c.metadataChanged.length ? h('div', { class: 'muted' }, `__metadata__ keys changed: ${c.metadataChanged.join(', ')}`) : null,
    unchangedToggle,
  );
  table.setTensors(c.tensors);
  const first = [...c.tensors].filter((t) => t.change === 'changed').sort((a, b) => (b.metrics?.maxAbs ?? 0) - (a.metrics?.maxAbs ?? 0))[0];
  if (first && !heatmaps) {
    table.select(first.name);
    void showTensor(first);
  }
}

async function showTensor(t: TensorComparison, slice?: string): Promise<void> {
  detailAbort?.abort();
  heatmaps?.dispose();
  heatmaps = undefined;
  const abort = new AbortController();
  detailAbort = abort;
  const heading = h('h3', { 'data-testid': 'detail-tensor' }, t.name);
  if (t.change === 'dtype' || t.change === 'shape') {
    detail.replaceChildren(heading, h('p', { class: 'muted' }, `${describeChange(t)}: no element-wise comparison.`));
    return;
  }
  detail.replaceChildren(heading, h('div', { class: 'muted' }, 'Loading…'));
  try {
    const view = await rpc.request<CompareView>('compareView', { tensor: t.name, slice }, abort.signal);
    if (abort.signal.aborted) return;
    const sides: { side: CompareSide; title: string; group: string }[] = [
      { side: 'a', title: 'A', group: 'values' },
      { side: 'b', title: 'B', group: 'values' },
      { side: 'delta', title: 'B − A', group: 'delta' },
    ];
    const shown = sides.filter((s) => view.sides.includes(s.side));
    heatmaps = new LinkedHeatmaps({
      area: { row0: 0, row1: view.rows, col0: 0, col1: view.cols },
      height: 340,
      testId: 'compare-heatmaps',
      panels: shown.map((s) => ({
        title: s.title,
        group: s.group,
        fetch: (req, signal) => rpc.request<Tile>('compareTile', { tensor: t.name, side: s.side, slice: view.slice, viewport: req.viewport, maxRows: req.maxRows, maxCols: req.maxCols, range: { kind: 'symmetric' } }, signal),
      })),
      describe: view.sides.includes('delta')
        ? async (row, col, signal) => {
            const e = await rpc.request<{ a: { index: number[]; text: string }; b: { text: string }; delta: number }>('compareElement', { tensor: t.name, slice: view.slice, row, col }, signal);
            return `[${e.a.index.join(', ')}]  A ${e.a.text}  B ${e.b.text}  B − A ${e.delta}`;
          }
        : undefined,
    });
    const sliceField = h('input', { class: 'slice-input mono', value: view.slice, title: 'numpy-style slice giving a 2-D view, e.g. [0, :, :]', 'data-testid': 'slice-input' }) as HTMLInputElement;
    sliceField.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') void showTensor(t, sliceField.value);
    });
    const shape = t.a ?? t.b!;
    detail.replaceChildren(
      h('div', { class: 'cv-detail-head' }, heading, h('span', { class: 'muted' }, `${shape.dtype} ${formatShape(shape.shape)}`), h('label', { class: 'muted' }, ' slice ', sliceField), h('span', { class: 'muted' }, ' · drag to zoom (all three follow), double-click to reset')),
      heatmaps.element,
    );
    await heatmaps.start();
  } catch (err) {
    if (!isCancelled(err) && !abort.signal.aborted) detail.replaceChildren(heading, h('div', { class: 'error-line' }, (err as Error).message));
  }
}

onHostMessage((msg: ReviewToWebview) => {
  if (rpc.handle(msg)) return;
  switch (msg.type) {
    case 'compareStart':
      setSubject(msg.subject);
      comparison = undefined;
      progress.hidden = false;
      progressBar.removeAttribute('value');
      progressText.textContent = 'Comparing…';
      errorBox.hidden = true;
      break;
    case 'compareProgress': {
      progress.hidden = false;
      const pct = msg.total > 0 ? (100 * msg.done) / msg.total : 0;
      progressBar.setAttribute('value', String(pct));
      progressText.textContent = `Comparing… ${Math.floor(pct)}% (${formatBytes(msg.done)} of ${formatBytes(msg.total)})`;
      break;
    }
    case 'compareResult':
      setSubject(msg.subject);
      showResult(msg.comparison);
      break;
    case 'compareSubject':
      setSubject(msg.subject);
      break;
    case 'compareError':
      progress.hidden = true;
      errorBox.hidden = false;
      errorBox.replaceChildren(icon('error'), ' ', msg.message);
      break;
    case 'engineRestarted': {
      const selected = comparison?.tensors.find((t) => t.name === detail.querySelector('[data-testid="detail-tensor"]')?.textContent);
      if (selected) void showTensor(selected);
      break;
    }
  }
});

onThemeChange(() => heatmaps?.refreshTheme());
postToHost({ type: 'ready' });
