// The tensor tree on the left: <vscode-tree> rows made on demand. A group's children are
// created when it first opens (a placeholder row makes it expandable until then), and long
// child lists come in pages, so a model with 10k+ tensors opens instantly. Filtering rebuilds
// the rows from the precomputed tree (tensorTree.ts) and opens matching groups up to a budget.

import '@vscode-elements/elements/dist/vscode-tree/index.js';
import '@vscode-elements/elements/dist/vscode-tree-item/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import type { VscodeTreeItem } from '@vscode-elements/elements/dist/vscode-tree-item/vscode-tree-item.js';
import type { VscodeTextfield } from '@vscode-elements/elements/dist/vscode-textfield/vscode-textfield.js';
import type { TensorInfo } from '../../shared/protocol';
import { debounce, h } from './dom';
import { formatBytes, formatCount, formatShape } from './format';
import { ancestorsOf, buildTensorTree, filterTree, groupsToOpen, ROOT, type TensorTree } from './tensorTree';

/** Rows created per page of a group's children. */
const PAGE = 300;
/** Rows a filter may open automatically. */
const OPEN_BUDGET = 400;

export class TreeView {
  readonly element: HTMLElement;
  private readonly tree: TensorTree;
  private readonly treeEl: HTMLElement;
  private readonly filterEl: VscodeTextfield;
  private readonly countEl: HTMLElement;
  private readonly noMatch: HTMLElement;
  /** Visible node ids under the current filter (null: no filter). */
  private visible: Set<number> | null = null;
  /** Rows that exist, by node id. */
  private rows = new Map<number, VscodeTreeItem>();
  /** Groups whose children have been created, and how many of them. */
  private shownChildren = new Map<number, number>();
  private selectedRow: VscodeTreeItem | undefined;

  constructor(
    private readonly tensors: readonly TensorInfo[],
    /** Files the model is stored in (shards). */
    private readonly fileCount: number,
    private readonly onSelect: (tensorIndex: number) => void,
    private readonly onFilter: (query: string) => void,
  ) {
    this.tree = buildTensorTree(tensors, { compress: true });
    this.filterEl = h('vscode-textfield', {
      placeholder: 'Filter tensors (substring or glob)',
      'data-testid': 'tree-filter',
      'aria-label': 'Filter tensors',
    }) as VscodeTextfield;
    this.filterEl.append(h('span', { slot: 'content-before', class: 'codicon codicon-filter filter-icon' }));
    this.countEl = h('div', { class: 'tree-count', 'data-testid': 'tree-count' });
    this.noMatch = h('div', { class: 'tree-empty muted', 'data-testid': 'tree-empty', hidden: true });
    this.treeEl = h('vscode-tree', { 'data-testid': 'tensor-tree', 'indent-guides': 'onHover' });
    this.element = h('div', { class: 'tree-pane' }, h('div', { class: 'tree-filter' }, this.filterEl), this.countEl, h('div', { class: 'tree-scroll' }, this.noMatch, this.treeEl));

    const applyFilter = debounce(() => this.setFilter(this.filterEl.value), 120);
    this.filterEl.addEventListener('input', applyFilter);
    this.filterEl.addEventListener('keydown', (ev: KeyboardEvent) => {
      if (ev.key === 'Escape' && this.filterEl.value) {
        this.filterEl.value = '';
        applyFilter.cancel();
        this.setFilter('');
      } else if (ev.key === 'ArrowDown') {
        // Into the tree, as in VS Code's filter boxes.
        (this.treeEl.querySelector('vscode-tree-item') as HTMLElement | null)?.focus();
        ev.preventDefault();
      }
    });
    this.treeEl.addEventListener('vsc-tree-select', (ev: Event) => this.onTreeSelect(ev as CustomEvent));
    // Groups create their children when they first open (click, arrow key, or code).
    new MutationObserver((records) => {
      for (const r of records) {
        const item = r.target as VscodeTreeItem;
        if (item.open) this.materialize(Number(item.dataset.node));
      }
    }).observe(this.treeEl, { subtree: true, attributes: true, attributeFilter: ['open'] });

    this.render();
  }

  /** Set the filter text (also from restored state) and rebuild the rows. */
  setFilter(query: string): void {
    if (this.filterEl.value !== query) this.filterEl.value = query;
    const result = filterTree(this.tree, query);
    this.visible = result?.visible ?? null;
    this.render();
    const total = this.tree.nodes[ROOT];
    this.countEl.textContent = result
      ? `${result.matches} of ${total.tensorCount} tensors match`
      : `${total.tensorCount} tensors · ${formatCount(total.params)} params · ${formatBytes(total.bytes)}${this.fileCount > 1 ? ` · ${this.fileCount} files` : ''}`;
    this.countEl.title = this.countEl.textContent;
    this.noMatch.hidden = !result || result.matches > 0;
    this.noMatch.textContent = `No tensor name matches “${query}”. Esc clears the filter.`;
    this.onFilter(query);
  }

  get filter(): string {
    return this.filterEl.value;
  }

  /** Show and select a tensor's row (opening its groups, clearing a filter that hides it). */
  reveal(name: string): boolean {
    const leaf = this.tree.leafByName.get(name);
    if (leaf === undefined) return false;
    if (this.visible && !this.visible.has(leaf)) this.setFilter('');
    for (const g of ancestorsOf(this.tree, leaf)) {
      this.materialize(g);
      const row = this.rows.get(g);
      if (row) row.open = true;
    }
    this.ensureRow(leaf);
    const row = this.rows.get(leaf);
    if (!row) return false;
    this.markSelected(row);
    row.active = true;
    row.scrollIntoView({ block: 'nearest' });
    return true;
  }

  private render(): void {
    this.treeEl.replaceChildren();
    this.rows.clear();
    this.shownChildren.clear();
    this.selectedRow = undefined;
    const open = this.visible ? groupsToOpen(this.tree, this.visible, OPEN_BUDGET) : new Set<number>();
    this.appendChildren(ROOT, this.treeEl);
    // Breadth-first, parents before children, so each group's row exists when opened.
    for (const g of open) {
      this.materialize(g);
      const row = this.rows.get(g);
      if (row) row.open = true;
    }
  }

  private childrenOf(id: number): number[] {
    const kids = this.tree.nodes[id].children;
    return this.visible ? kids.filter((c) => this.visible!.has(c)) : kids;
  }

  /** Create the rows of a group's children (first page), replacing its placeholder. */
  private materialize(id: number): void {
    if (id === ROOT || this.shownChildren.has(id)) return;
    const row = this.rows.get(id);
    if (!row) return;
    row.replaceChildren(...[...row.childNodes].filter((n) => !(n instanceof HTMLElement && n.tagName === 'VSCODE-TREE-ITEM')));
    this.appendChildren(id, row);
  }

  /** Append the next page of `id`'s children to `parent` (the tree itself for the root). */
  private appendChildren(id: number, parent: HTMLElement): void {
    const kids = this.childrenOf(id);
    const from = this.shownChildren.get(id) ?? 0;
    const to = Math.min(kids.length, from + PAGE);
    parent.querySelector(':scope > vscode-tree-item.more')?.remove();
    const fragment = document.createDocumentFragment();
    for (let i = from; i < to; i++) fragment.append(this.makeRow(kids[i]));
    if (to < kids.length) {
      const more = h('vscode-tree-item', { class: 'more', 'data-more': String(id) }, `${kids.length - to} more…`) as VscodeTreeItem;
      fragment.append(more);
    }
    parent.append(fragment);
    this.shownChildren.set(id, to);
  }

  /** Make sure a node's row exists: its parent is materialized and enough pages are shown. */
  private ensureRow(id: number): void {
    if (this.rows.has(id)) return;
    const parentId = this.tree.nodes[id].parent;
    const index = this.childrenOf(parentId).indexOf(id);
    const parent = parentId === ROOT ? this.treeEl : this.rows.get(parentId);
    if (index < 0 || !parent) return;
    while ((this.shownChildren.get(parentId) ?? 0) <= index) this.appendChildren(parentId, parent);
  }

  private makeRow(id: number): VscodeTreeItem {
    const n = this.tree.nodes[id];
    const row = h('vscode-tree-item', { 'data-node': String(id) }) as VscodeTreeItem;
    if (n.tensor >= 0) {
      const t = this.tensors[n.tensor];
      row.dataset.tensor = t.name;
      row.title = `${t.name}\n${t.dtype} ${formatShape(t.shape)} · ${formatBytes(n.bytes)}`;
      row.append(
        h('span', { slot: 'icon-leaf', class: 'codicon codicon-symbol-array' }),
        h('span', { class: 'row-label' }, n.label),
        h('span', { slot: 'description' }, `${t.dtype} ${formatShape(t.shape)}`),
      );
    } else {
      row.title = `${n.path}\n${n.tensorCount} tensors · ${formatCount(n.params)} parameters · ${formatBytes(n.bytes)}`;
      row.append(
        h('span', { slot: 'icon-branch', class: 'codicon codicon-folder' }),
        h('span', { slot: 'icon-branch-opened', class: 'codicon codicon-folder-opened' }),
        h('span', { class: 'row-label' }, n.label),
        h('span', { slot: 'description' }, `${n.tensorCount} tensors · ${formatCount(n.params)} · ${formatBytes(n.bytes)}`),
        // Placeholder child: makes the row expandable; replaced when it first opens.
        h('vscode-tree-item', { class: 'placeholder' }, '…'),
      );
    }
    this.rows.set(id, row);
    return row;
  }

  private onTreeSelect(ev: CustomEvent): void {
    const d = ev.detail as VscodeTreeItem[] | { selectedItems: VscodeTreeItem[] };
    const items = Array.isArray(d) ? d : d.selectedItems;
    const row = items[0];
    if (!row) return;
    if (row.dataset.more !== undefined) {
      const id = Number(row.dataset.more);
      this.appendChildren(id, id === ROOT ? this.treeEl : this.rows.get(id)!);
      return;
    }
    this.selectedRow = row;
    const name = row.dataset.tensor;
    if (name === undefined) return;
    const leaf = this.tree.leafByName.get(name);
    if (leaf !== undefined) this.onSelect(this.tree.nodes[leaf].tensor);
  }

  private markSelected(row: VscodeTreeItem): void {
    if (this.selectedRow && this.selectedRow !== row) this.selectedRow.selected = false;
    row.selected = true;
    this.selectedRow = row;
  }
}
