// The patch editor's view of one .stpatch: what it touches (hunks grouped by tensor), whether
// it fits its base model (clean / already applied / conflicts, with each conflict's expected
// vs found bytes), and Apply / Bake / Revert (none of them when read-only: a banner says why).
// Hunks open into their values and heatmaps.

import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { BaseState, HunkSummary, PatchConflict, PatchOverview, PatchTensorSummary, PatchViewState } from '../../shared/reviewProtocol';
import { h, icon, replace } from '../review/dom';
import { formatBytes, formatInt, formatShape } from '../modelEditor/format';
import { action, isCancelled, postToHost, type ReviewRpc } from '../review/hostRpc';
import { HunkDetail } from './hunkDetail';

const PAGE = 100;
/** Tensors opened at first (a patch may touch hundreds). */
const OPEN_AT_START = 3;

type PatchState = Extract<PatchViewState, { kind: 'patch' }>;

export class PatchView {
  readonly element = h('div', { class: 'patch-view', 'data-testid': 'patch-view' });
  private state: PatchState | undefined;
  private readonly openTensors = new Set<string>();
  private readonly openHunks = new Map<string, HunkDetail>();
  private busy: string | null = null;
  private firstRender = true;

  constructor(private readonly rpc: ReviewRpc) {}

  update(state: PatchState): void {
    const samePatch = this.state?.overview.patchId === state.overview.patchId;
    this.state = state;
    if (samePatch) {
      this.renderHeader();
      this.renderBase();
      this.markConflicts();
      return;
    }
    this.render();
  }

  setBusy(action: string | null): void {
    this.busy = action;
    this.renderHeader();
  }

  private banner = h('div', { class: 'read-only-banner', 'data-testid': 'read-only-banner', hidden: true });
  private header = h('header', { class: 'pv-header' });
  private baseBox = h('section', { class: 'pv-base', 'data-testid': 'base-state' });
  private conflictBox = h('section', { class: 'pv-conflicts', 'data-testid': 'conflicts', hidden: true });
  private tensorList = h('section', { class: 'pv-tensors', 'data-testid': 'patch-tensors' });

  private render(): void {
    const s = this.state!;
    for (const d of this.openHunks.values()) d.dispose();
    this.openHunks.clear();
    if (this.firstRender) {
      for (const t of s.overview.tensors.slice(0, OPEN_AT_START)) this.openTensors.add(t.name);
      this.firstRender = false;
    }
    this.element.replaceChildren(this.banner, this.header, this.baseBox, this.conflictBox, this.tensorList);
    this.renderHeader();
    this.renderBase();
    this.tensorList.replaceChildren(...s.overview.tensors.map((t) => this.tensorSection(t)));
    if (s.overview.tensors.length === 0) this.tensorList.append(h('p', { class: 'muted' }, 'The patch is empty: it changes nothing.'));
    this.markConflicts();
  }

  private renderHeader(): void {
    const s = this.state;
    if (!s) return;
    const o = s.overview;
    const button = (label: string, a: 'apply' | 'bake' | 'revert' | 'showText', title: string, secondary = true) => {
      const b = h('vscode-button', { title, 'data-testid': `action-${a}`, secondary, disabled: this.busy !== null && a !== 'showText' }, label);
      b.addEventListener('click', () => action(a));
      return b;
    };
    const canWrite = s.readOnly === undefined;
    this.banner.hidden = canWrite;
    this.banner.textContent = s.readOnly ?? '';
    this.header.replaceChildren(
      h('div', { class: 'pv-title' }, h('h2', { 'data-testid': 'patch-file' }, s.fileName), h('span', { class: 'muted', 'data-testid': 'patch-summary' }, summaryText(o))),
      h(
        'div',
        { class: 'pv-actions' },
        canWrite ? button('Apply…', 'apply', 'Write base + patch to a file you choose (the base itself applies in place)', false) : null,
        canWrite ? button('Bake', 'bake', 'Write base + patch as a new .safetensors beside the base') : null,
        canWrite ? button('Revert…', 'revert', 'Write the inverse patch (undoes this one)') : null,
        button('Show Text', 'showText', 'Open the patch as text'),
        this.busy ? h('span', { class: 'muted' }, `${this.busy}…`) : null,
      ),
    );
  }

  private renderBase(): void {
    const s = this.state!;
    const b: BaseState = s.base;
    const choose = h('a', { href: '#', 'data-testid': 'choose-base' }, 'Choose base model…');
    choose.addEventListener('click', (ev) => {
      ev.preventDefault();
      action('chooseBase');
    });
    const recheck = h('a', { href: '#', title: 'Look for the base again and check the patch against it' }, 'Check again');
    recheck.addEventListener('click', (ev) => {
      ev.preventDefault();
      action('recheck');
    });
    let line: (Node | string | null)[];
    this.baseBox.dataset.state = b.kind === 'checked' ? b.check.state : b.kind;
    switch (b.kind) {
      case 'none':
        line = [icon('circle-slash'), ' No base model: ', b.reason, '. ', b.choose ? choose : null];
        break;
      case 'checking':
        line = [icon('loading'), ` Checking against ${b.label}…`];
        break;
      case 'error':
        line = [icon('error'), ` ${b.label}: ${b.message} `, choose];
        break;
      case 'checked': {
        const c = b.check;
        const verdict =
          c.state === 'clean'
            ? [icon('pass'), ' fits: every hunk finds its original bytes (clean)']
            : c.state === 'applied'
              ? [icon('check-all'), ' already applied: every hunk finds its new bytes']
              : [icon('warning'), ` does not fit: ${formatInt(c.conflictCount)} conflict${c.conflictCount === 1 ? '' : 's'}`];
        line = ['Base ', h('span', { class: 'mono' }, b.label), ' — ', ...verdict, ' · ', recheck, ' · ', choose];
        break;
      }
    }
    this.baseBox.replaceChildren(...line.filter((x): x is Node | string => x !== null));
    this.renderConflicts(b.kind === 'checked' && b.check.state === 'conflicts' ? b.check.conflicts : [], b.kind === 'checked' ? b.check.conflictCount : 0, b.kind === 'checked' ? b.label : '');
  }

  /** The conflict view: which tensors and hunks, expected vs found. */
  private renderConflicts(conflicts: PatchConflict[], count: number, label: string): void {
    this.conflictBox.hidden = conflicts.length === 0;
    if (conflicts.length === 0) return this.conflictBox.replaceChildren();
    const rows = conflicts.map((c) => {
      const where = c.tensor === null ? 'file' : `${c.tensor}${c.elements ? ` elements ${c.elements[0]}:${c.elements[1]}` : ''}`;
      const row = h('li', { class: 'conflict', 'data-testid': 'conflict' }, h('span', { class: 'mono conflict-where' }, where), h('span', { class: 'conflict-message' }, c.message));
      if (c.tensor !== null) {
        row.classList.add('clickable');
        row.addEventListener('click', () => void this.reveal(c.tensor!, c.elements));
      }
      return row;
    });
    replace(
      this.conflictBox,
      h('h3', {}, `The base does not match the patch (${label})`),
      h('ul', {}, ...rows),
      count > conflicts.length ? h('div', { class: 'muted' }, `… and ${formatInt(count - conflicts.length)} more`) : null,
    );
  }

  private tensorSection(t: PatchTensorSummary): HTMLElement {
    const list = h('div', { class: 'pv-hunks' });
    const details = h(
      'details',
      { class: 'pv-tensor', 'data-tensor': t.name, open: this.openTensors.has(t.name) },
      h(
        'summary',
        {},
        h('span', { class: 'mono tensor-name' }, t.name),
        ' ',
        h('span', { class: 'muted' }, `${t.dtype} ${formatShape(t.shape)} · ${formatInt(t.hunks)} hunk${t.hunks === 1 ? '' : 's'} · ${formatInt(t.elements)} element${t.elements === 1 ? '' : 's'}`),
        h('span', { class: 'conflict-badge', hidden: true }, icon('warning'), ' conflicts'),
      ),
      ...t.ops.map((op) => h('div', { class: 'op muted mono' }, `op: ${op}`)),
      list,
    );
    let loaded = false;
    const load = () => {
      if (loaded) return;
      loaded = true;
      void this.loadHunks(t, list, 0);
    };
    details.addEventListener('toggle', () => {
      if (details.open) {
        this.openTensors.add(t.name);
        load();
      } else this.openTensors.delete(t.name);
    });
    if (details.open) load();
    return details;
  }

  private async loadHunks(t: PatchTensorSummary, list: HTMLElement, start: number): Promise<void> {
    const s = this.state!;
    try {
      const page = await this.rpc.request<{ total: number; hunks: HunkSummary[] }>('hunks', { tensor: t.name, start, limit: PAGE });
      if (this.state?.overview.patchId !== s.overview.patchId) return;
      list.querySelector('.more')?.remove();
      for (const hunk of page.hunks) list.append(this.hunkRow(t, hunk));
      const shown = start + page.hunks.length;
      if (shown < page.total) {
        const more = h('a', { href: '#', class: 'more' }, `Show ${Math.min(PAGE, page.total - shown)} more of ${formatInt(page.total - shown)} hunks`);
        more.addEventListener('click', (ev) => {
          ev.preventDefault();
          void this.loadHunks(t, list, shown);
        });
        list.append(more);
      }
      this.markConflicts();
    } catch (err) {
      if (!isCancelled(err)) list.append(h('div', { class: 'error-line' }, (err as Error).message));
    }
  }

  private hunkRow(t: PatchTensorSummary, hunk: HunkSummary): HTMLElement {
    const key = `${hunk.tensor}\u0000${hunk.elements[0]}`;
    const n = hunk.elements[1] - hunk.elements[0];
    const toText = h('a', { href: '#', class: 'to-text', title: 'Show these lines in the text' }, icon('go-to-file'));
    toText.addEventListener('click', (ev) => {
      ev.preventDefault();
      ev.stopPropagation();
      postToHost({ type: 'openHunkText', hunk });
    });
    const head = h(
      'div',
      { class: 'hunk-head clickable' },
      icon('chevron-right'),
      h('span', { class: 'mono' }, `@@ elements ${hunk.elements[0]}:${hunk.elements[1]}`),
      h('span', { class: 'muted mono' }, ` index [${hunk.index.join(', ')}]`),
      h('span', { class: 'muted' }, ` · ${formatInt(n)} element${n === 1 ? '' : 's'} · ${formatBytes(hunk.bytes)}`),
      h('span', { class: 'hunk-conflict', hidden: true }, ' ', icon('warning'), ' conflict'),
      toText,
    );
    const row = h('div', { class: 'hunk', 'data-testid': 'hunk', 'data-tensor': hunk.tensor, 'data-first': String(hunk.elements[0]), 'data-end': String(hunk.elements[1]) }, head);
    head.addEventListener('click', () => this.toggleHunk(row, key, t, hunk));
    return row;
  }

  private toggleHunk(row: HTMLElement, key: string, t: PatchTensorSummary, hunk: HunkSummary): void {
    const open = this.openHunks.get(key);
    if (open) {
      open.dispose();
      open.element.remove();
      this.openHunks.delete(key);
      row.classList.remove('open');
      return;
    }
    const detail = new HunkDetail(this.rpc, {
      tensor: t,
      elements: hunk.elements,
      region: hunk.region,
      columns: [
        { label: 'before', version: undefined, which: 'before' },
        { label: 'after', version: undefined, which: 'after' },
      ],
      maps: [
        { title: 'before', version: undefined, which: 'before', group: 'values' },
        { title: 'after', version: undefined, which: 'after', group: 'values' },
        { title: 'Δ', version: undefined, which: 'delta', group: 'delta' },
      ],
    });
    row.append(detail.element);
    row.classList.add('open');
    this.openHunks.set(key, detail);
    detail.start();
  }

  /** Marks hunks and tensors that conflict with the base. */
  private markConflicts(): void {
    const b = this.state?.base;
    const conflicts = b?.kind === 'checked' ? b.check.conflicts : [];
    const tensors = new Set(conflicts.map((c) => c.tensor));
    for (const el of this.tensorList.querySelectorAll<HTMLElement>('.pv-tensor')) {
      const badge = el.querySelector<HTMLElement>('.conflict-badge');
      if (badge) badge.hidden = !tensors.has(el.dataset.tensor ?? '');
    }
    for (const row of this.tensorList.querySelectorAll<HTMLElement>('.hunk')) {
      const first = Number(row.dataset.first);
      const hit = conflicts.some((c) => c.tensor === row.dataset.tensor && c.elements && c.elements[0] === first);
      row.classList.toggle('conflicting', hit);
      const mark = row.querySelector<HTMLElement>('.hunk-conflict');
      if (mark) mark.hidden = !hit;
    }
  }

  /** Opens a tensor and scrolls to the hunk starting at `elements[0]`. */
  private async reveal(tensor: string, elements?: [number, number]): Promise<void> {
    const details = [...this.tensorList.querySelectorAll<HTMLDetailsElement>('.pv-tensor')].find((d) => d.dataset.tensor === tensor);
    if (!details) return;
    details.open = true;
    for (let i = 0; i < 50; i++) {
      const row = [...details.querySelectorAll<HTMLElement>('.hunk')].find((r) => !elements || Number(r.dataset.first) === elements[0]);
      if (row) {
        row.scrollIntoView({ block: 'center' });
        row.classList.add('flash');
        setTimeout(() => row.classList.remove('flash'), 1200);
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    details.scrollIntoView();
  }

  refreshTheme(): void {
    for (const d of this.openHunks.values()) d.refreshTheme();
  }

  dispose(): void {
    for (const d of this.openHunks.values()) d.dispose();
    this.openHunks.clear();
  }
}

function summaryText(o: PatchOverview): string {
  const hunks = `${formatInt(o.hunks)} hunk${o.hunks === 1 ? '' : 's'}`;
  const tensors = `${formatInt(o.tensors.length)} tensor${o.tensors.length === 1 ? '' : 's'}`;
  return `${hunks} in ${tensors} · ${formatBytes(o.bytes)} changed`;
}
