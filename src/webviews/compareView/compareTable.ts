// The table of a model comparison: changed, added and removed tensors (unchanged on request)
// with max |Δ|, mean |Δ|, ‖Δ‖/‖A‖ and cosine similarity, sortable by any column. Pure DOM;
// sorting is a pure function (tested).

import type { TensorComparison } from '../../shared/protocol';
import { h } from '../modelEditor/dom';
import { formatShape, formatValue } from '../modelEditor/format';

export type SortKey = 'name' | 'change' | 'maxAbs' | 'meanAbs' | 'relative' | 'cosine';

const COLUMNS: { key: SortKey; label: string; title: string; numeric: boolean }[] = [
  { key: 'name', label: 'Tensor', title: 'Tensor name', numeric: false },
  { key: 'change', label: 'Change', title: 'changed, added, removed, dtype or shape', numeric: false },
  { key: 'maxAbs', label: 'max |Δ|', title: 'Largest absolute difference B − A', numeric: true },
  { key: 'meanAbs', label: 'mean |Δ|', title: 'Mean absolute difference over all finite pairs', numeric: true },
  { key: 'relative', label: '‖Δ‖/‖A‖', title: 'Relative change: L2 norm of B − A over the L2 norm of A', numeric: true },
  { key: 'cosine', label: 'cosine', title: 'Cosine similarity of A and B (1 = same direction)', numeric: true },
];

const CHANGE_ORDER = ['changed', 'dtype', 'shape', 'added', 'removed', 'unchanged'];

function metric(t: TensorComparison, key: SortKey): number | null {
  const m = t.metrics;
  if (!m) return null;
  if (key === 'maxAbs') return m.maxAbs;
  if (key === 'meanAbs') return m.meanAbs;
  if (key === 'relative') return m.relative;
  if (key === 'cosine') return m.cosine;
  return null;
}

/** Sorted copy; tensors without the metric go last in either direction, ties by name. */
export function sortComparisons(tensors: readonly TensorComparison[], key: SortKey, descending: boolean): TensorComparison[] {
  const byName = (a: TensorComparison, b: TensorComparison) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const dir = descending ? -1 : 1;
  return [...tensors].sort((a, b) => {
    if (key === 'name') return dir * byName(a, b);
    if (key === 'change') return dir * (CHANGE_ORDER.indexOf(a.change) - CHANGE_ORDER.indexOf(b.change)) || byName(a, b);
    const x = metric(a, key);
    const y = metric(b, key);
    if (x === null || y === null) return x === y ? byName(a, b) : x === null ? 1 : -1;
    return dir * (x - y) || byName(a, b);
  });
}

export class CompareTable {
  readonly element: HTMLElement;
  private readonly body = h('tbody');
  private readonly headRow = h('tr');
  private tensors: TensorComparison[] = [];
  private key: SortKey = 'maxAbs';
  private descending = true;
  private showUnchanged = false;
  private selected: string | undefined;

  constructor(private readonly onSelect: (t: TensorComparison) => void) {
    this.element = h('table', { class: 'compare-table', 'data-testid': 'compare-table' }, h('thead', {}, this.headRow), this.body);
  }

  setTensors(tensors: TensorComparison[]): void {
    this.tensors = tensors;
    this.render();
  }

  setShowUnchanged(on: boolean): void {
    this.showUnchanged = on;
    this.render();
  }

  select(name: string): void {
    this.selected = name;
    for (const row of this.body.querySelectorAll<HTMLElement>('tr')) row.classList.toggle('selected', row.dataset.tensor === name);
  }

  private render(): void {
    this.headRow.replaceChildren(
      ...COLUMNS.map((c) => {
        const arrow = c.key === this.key ? (this.descending ? ' ▼' : ' ▲') : '';
        const th = h('th', { title: `${c.title} (click to sort)`, class: c.numeric ? 'num clickable' : 'clickable', 'data-sort': c.key }, c.label + arrow);
        th.addEventListener('click', () => {
          // Numbers start with the largest; names and kinds A to Z. Cosine: the least similar first.
          if (this.key === c.key) this.descending = !this.descending;
          else {
            this.key = c.key;
            this.descending = c.numeric && c.key !== 'cosine';
          }
          this.render();
        });
        return th;
      }),
    );
    const shown = sortComparisons(
      this.tensors.filter((t) => this.showUnchanged || t.change !== 'unchanged'),
      this.key,
      this.descending,
    );
    this.body.replaceChildren(
      ...shown.map((t) => {
        const m = t.metrics;
        const num = (v: number | null | undefined) => h('td', { class: 'num mono' }, m ? formatValue(v ?? null) : '');
        const what = t.change === 'changed' || t.change === 'unchanged' ? formatShape(t.a!.shape) : describeChange(t);
        const row = h(
          'tr',
          { class: `clickable change-${t.change}`, 'data-tensor': t.name, 'data-testid': 'compare-row' },
          h('td', { class: 'mono', title: what }, t.name),
          h('td', {}, h('span', { class: `badge ${t.change}` }, t.change)),
          num(m?.maxAbs),
          num(m?.meanAbs),
          num(m?.relative),
          num(m?.cosine),
        );
        row.addEventListener('click', () => {
          this.select(t.name);
          this.onSelect(t);
        });
        return row;
      }),
    );
    if (shown.length === 0) this.body.append(h('tr', {}, h('td', { colspan: '6', class: 'muted' }, 'No tensor changed.')));
    if (this.selected) this.select(this.selected);
  }
}

export function describeChange(t: TensorComparison): string {
  const side = (s: TensorComparison['a']) => (s ? `${s.dtype} ${formatShape(s.shape)}` : '—');
  if (t.change === 'added') return `only in B: ${side(t.b)}`;
  if (t.change === 'removed') return `only in A: ${side(t.a)}`;
  return `A ${side(t.a)}, B ${side(t.b)}`;
}
