// The semantic diff of two versions of a patch: by tensor, the hunks added, removed and
// changed (with how many elements' patched values differ). An entry opens into its values
// (old vs new) and heatmaps of both versions' results with linked zoom.

import type { HunkDiffEntry, PatchViewState, TensorDiffEntry } from '../../shared/reviewProtocol';
import { h, icon, replace } from '../review/dom';
import { formatInt, formatShape } from '../modelEditor/format';
import { HunkDetail, indexText, type DetailSpec } from './hunkDetail';
import type { ReviewRpc } from '../review/hostRpc';

type DiffState = Extract<PatchViewState, { kind: 'diff' }>;

const BADGE: Record<HunkDiffEntry['change'], { text: string; icon: string }> = {
  added: { text: 'added', icon: 'diff-added' },
  removed: { text: 'removed', icon: 'diff-removed' },
  changed: { text: 'changed', icon: 'diff-modified' },
};

export class DiffView {
  readonly element = h('div', { class: 'diff-view', 'data-testid': 'patch-diff' });
  private readonly open = new Map<string, HunkDetail>();
  private readonly openTensors = new Set<string>();
  private first = true;

  constructor(private readonly rpc: ReviewRpc) {}

  update(s: DiffState): void {
    for (const d of this.open.values()) d.dispose();
    this.open.clear();
    if (this.first) {
      for (const t of s.diff.tensors.slice(0, 5)) this.openTensors.add(t.name);
      this.first = false;
    }
    const c = s.diff.counts;
    const count = (n: number, label: string, cls: string) => h('span', { class: `count ${cls}`, 'data-testid': `count-${cls}` }, `${formatInt(n)} ${label}`);
    replace(
      this.element,
      h(
        'header',
        { class: 'pv-header' },
        h('div', { class: 'pv-title' }, h('h2', { 'data-testid': 'diff-title' }, s.title)),
        h('div', { class: 'muted' }, h('span', { class: 'mono' }, s.oldLabel), ` (${hunks(s.oldOverview.hunks)}) → `, h('span', { class: 'mono' }, s.newLabel), ` (${hunks(s.newOverview.hunks)})`),
        h('div', { class: 'counts' }, count(c.added, 'added', 'added'), count(c.removed, 'removed', 'removed'), count(c.changed, 'changed', 'changed'), count(c.unchanged, 'unchanged', 'unchanged')),
      ),
      s.diff.sameBase ? null : h('div', { class: 'note' }, icon('warning'), ' The two versions are for different base models (their "base" lines differ).'),
      s.diff.tensors.length === 0 ? h('p', { class: 'muted', 'data-testid': 'no-changes' }, 'No hunk changed: both versions make the same edits.') : null,
      ...s.diff.tensors.map((t) => this.tensorSection(t)),
    );
  }

  private tensorSection(t: TensorDiffEntry): HTMLElement {
    const presence = t.presence === 'new' ? ' · newly patched tensor' : t.presence === 'old' ? ' · no longer patched' : '';
    const details = h(
      'details',
      { class: 'pv-tensor', 'data-tensor': t.name, open: this.openTensors.has(t.name) },
      h(
        'summary',
        {},
        h('span', { class: 'mono tensor-name' }, t.name),
        ' ',
        h('span', { class: 'muted' }, `${t.dtype} ${formatShape(t.shape)} · ${formatInt(t.entryCount)} change${t.entryCount === 1 ? '' : 's'}${t.unchanged ? ` · ${formatInt(t.unchanged)} unchanged` : ''}${presence}`),
      ),
      ...t.entries.map((e) => this.entryRow(t, e)),
      t.entryCount > t.entries.length ? h('div', { class: 'muted' }, `… and ${formatInt(t.entryCount - t.entries.length)} more changes`) : null,
    );
    details.addEventListener('toggle', () => (details.open ? this.openTensors.add(t.name) : this.openTensors.delete(t.name)));
    return details;
  }

  private entryRow(t: TensorDiffEntry, e: HunkDiffEntry): HTMLElement {
    const key = `${t.name}\u0000${e.elements[0]}`;
    const n = e.elements[1] - e.elements[0];
    const what =
      e.change === 'changed'
        ? `${formatInt(e.differing)} of ${formatInt(n)} element${n === 1 ? '' : 's'} differ`
        : `${formatInt(n)} element${n === 1 ? '' : 's'}`;
    const head = h(
      'div',
      { class: 'hunk-head clickable' },
      icon('chevron-right'),
      h('span', { class: `badge ${e.change}` }, icon(BADGE[e.change].icon), ` ${BADGE[e.change].text}`),
      h('span', { class: 'mono' }, ` elements ${e.elements[0]}:${e.elements[1]}`),
      h('span', { class: 'muted mono' }, ` index ${indexText(e.elements[0], t.shape)}`),
      h('span', { class: 'muted' }, ` · ${what}`),
      e.old.length + e.new.length > 2 ? h('span', { class: 'muted' }, ` · ${e.old.length} old / ${e.new.length} new hunks`) : null,
    );
    const row = h('div', { class: `hunk diff-entry ${e.change}`, 'data-testid': 'diff-entry', 'data-change': e.change, 'data-tensor': t.name, 'data-first': String(e.elements[0]) }, head);
    head.addEventListener('click', () => {
      const open = this.open.get(key);
      if (open) {
        open.dispose();
        open.element.remove();
        this.open.delete(key);
        row.classList.remove('open');
        return;
      }
      const detail = new HunkDetail(this.rpc, detailSpec(t, e));
      row.append(detail.element);
      row.classList.add('open');
      this.open.set(key, detail);
      detail.start();
    });
    return row;
  }

  refreshTheme(): void {
    for (const d of this.open.values()) d.refreshTheme();
  }

  dispose(): void {
    for (const d of this.open.values()) d.dispose();
    this.open.clear();
  }
}

function hunks(n: number): string {
  return `${formatInt(n)} hunk${n === 1 ? '' : 's'}`;
}

/** Added: the new hunk's before/after; removed: the old one's; changed: both results side by side. */
function detailSpec(t: TensorDiffEntry, e: HunkDiffEntry): DetailSpec {
  const base = { tensor: t, elements: e.elements, region: e.region };
  if (e.change === 'added' || e.change === 'removed') {
    const version = e.change === 'added' ? 'new' : 'old';
    return {
      ...base,
      columns: [
        { label: 'before', version, which: 'before' },
        { label: 'after', version, which: 'after' },
      ],
      maps: [
        { title: 'before', version, which: 'before', group: 'values' },
        { title: 'after', version, which: 'after', group: 'values' },
      ],
    };
  }
  return {
    ...base,
    markDifferences: true,
    columns: [
      // Where one version has no hunk, its result is the base (the other version's original bytes).
      { label: 'old result', version: 'old', which: 'after', orElse: { version: 'new', which: 'before' } },
      { label: 'new result', version: 'new', which: 'after', orElse: { version: 'old', which: 'before' } },
      { label: 'base', version: 'new', which: 'before', orElse: { version: 'old', which: 'before' } },
    ],
    maps: [
      { title: 'old result', version: 'old', which: 'after', group: 'values' },
      { title: 'new result', version: 'new', which: 'after', group: 'values' },
      { title: 'new − old', version: undefined, which: 'change', group: 'delta' },
    ],
  };
}
