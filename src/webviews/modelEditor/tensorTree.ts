// The tensor tree's data: tensors grouped by dotted name prefix, with per-group totals, built
// once per model; filtering only computes which nodes stay visible. Pure (no DOM), so it is
// unit-tested and stays fast for models with tens of thousands of tensors.

import { DTYPE_BITS } from '../../shared/dtypes';
import type { TensorInfo } from '../../shared/protocol';

export interface TreeNode {
  id: number;
  /** Shown label: one name segment, or several joined by "." where single-child chains were merged. */
  label: string;
  /** Full dotted prefix of a group, or the full tensor name. */
  path: string;
  parent: number;
  children: number[];
  /** Index into the model's tensors for a leaf; -1 for a group. */
  tensor: number;
  tensorCount: number;
  params: number;
  bytes: number;
}

export interface TensorTree {
  /** nodes[0] is the (invisible) root. */
  nodes: TreeNode[];
  /** Tensor name -> leaf node id. */
  leafByName: Map<string, number>;
}

export const ROOT = 0;

/** Group tensors by their dotted names. Children are in natural order (layers.2 before layers.10). */
export function buildTensorTree(tensors: readonly TensorInfo[], opts: { compress?: boolean } = {}): TensorTree {
  const nodes: TreeNode[] = [newNode(0, '', '', -1, -1)];
  // Group children per node by segment; groups and leaves are kept apart because a name can be
  // both a tensor ("a.b") and a prefix of others ("a.b.c").
  const groupChild: Map<string, number>[] = [new Map()];
  const leafByName = new Map<string, number>();

  tensors.forEach((t, index) => {
    const segments = t.name.split('.');
    let at = ROOT;
    for (let i = 0; i < segments.length - 1; i++) {
      let child = groupChild[at].get(segments[i]);
      if (child === undefined) {
        child = nodes.length;
        const path = nodes[at].path === '' && at === ROOT ? segments[i] : `${nodes[at].path}.${segments[i]}`;
        nodes.push(newNode(child, segments[i], path, at, -1));
        groupChild.push(new Map());
        groupChild[at].set(segments[i], child);
        nodes[at].children.push(child);
      }
      at = child;
    }
    const leaf = nodes.length;
    const node = newNode(leaf, segments[segments.length - 1], t.name, at, index);
    node.tensorCount = 1;
    node.params = elementCount(t.shape);
    node.bytes = tensorBytes(t);
    nodes.push(node);
    groupChild.push(new Map());
    nodes[at].children.push(leaf);
    leafByName.set(t.name, leaf);
  });

  // Totals bottom-up: children always have larger ids than their parent.
  for (let id = nodes.length - 1; id > 0; id--) {
    const n = nodes[id];
    const p = nodes[n.parent];
    p.tensorCount += n.tensorCount;
    p.params += n.params;
    p.bytes += n.bytes;
  }
  for (const n of nodes) n.children.sort((a, b) => naturalCompare(nodes[a].label, nodes[b].label) || nodes[a].tensor - nodes[b].tensor);

  const tree = { nodes, leafByName };
  if (opts.compress) compressChains(tree);
  return tree;
}

function newNode(id: number, label: string, path: string, parent: number, tensor: number): TreeNode {
  return { id, label, path, parent, children: [], tensor, tensorCount: 0, params: 0, bytes: 0 };
}

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Bytes the tensor occupies: from its data offsets (exact even for packed dtypes). */
export function tensorBytes(t: TensorInfo): number {
  const fromOffsets = t.dataOffsets[1] - t.dataOffsets[0];
  return fromOffsets >= 0 ? fromOffsets : Math.ceil((elementCount(t.shape) * DTYPE_BITS[t.dtype]) / 8);
}

/**
 * Merge single-child chains: a group whose only child is a group becomes one node labelled
 * "a.b", and a group holding just one tensor is replaced by that tensor labelled
 * "q_proj.weight". The deeper node survives (keeping its id and full path).
 */
function compressChains(tree: TensorTree): void {
  const { nodes } = tree;
  const visit = (id: number): void => {
    const n = nodes[id];
    for (let i = 0; i < n.children.length; i++) {
      let child = nodes[n.children[i]];
      while (child.tensor < 0 && child.children.length === 1) {
        const only = nodes[child.children[0]];
        only.label = `${child.label}.${only.label}`;
        only.parent = id;
        child.children = [];
        child = only;
      }
      n.children[i] = child.id;
      if (child.tensor < 0) visit(child.id);
    }
  };
  visit(ROOT);
}

/** Compare strings so that digit runs compare as numbers: "layers.2" < "layers.10". */
export function naturalCompare(a: string, b: string): number {
  const re = /(\d+)|(\D+)/g;
  const pa = a.match(re) ?? [];
  const pb = b.match(re) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === y) continue;
    const xd = /^\d/.test(x);
    const yd = /^\d/.test(y);
    if (xd && yd) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d;
      return x.length - y.length; // "01" after "1"
    }
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

/**
 * A name matcher for the filter box: a glob when the query has * or ? (anchored to the whole
 * name, * matches any run of characters including dots), else a substring; both ignore case.
 * Returns null for an empty query (everything matches).
 */
export function nameMatcher(query: string): ((name: string) => boolean) | null {
  const q = query.trim();
  if (q === '') return null;
  if (/[*?]/.test(q)) {
    const source = q
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.+()[\]{}|/]/g, '\\$&')))
      .join('');
    const re = new RegExp(`^${source}$`, 'i');
    return (name) => re.test(name);
  }
  const lower = q.toLowerCase();
  return (name) => name.toLowerCase().includes(lower);
}

export interface FilterResult {
  /** Node ids to show (matching leaves and all their ancestors, root included). */
  visible: Set<number>;
  /** Matching tensors. */
  matches: number;
}

/** Which nodes stay visible for a query: matching tensors and every ancestor of one. */
export function filterTree(tree: TensorTree, query: string): FilterResult | null {
  const match = nameMatcher(query);
  if (!match) return null;
  const visible = new Set<number>();
  let matches = 0;
  for (const n of tree.nodes) {
    if (n.tensor < 0 || !match(n.path)) continue;
    matches++;
    for (let id = n.id; id >= 0 && !visible.has(id); id = tree.nodes[id].parent) visible.add(id);
  }
  return { visible, matches };
}

/** Ancestors of a node from the top level down (root excluded), e.g. to expand before revealing. */
export function ancestorsOf(tree: TensorTree, id: number): number[] {
  const out: number[] = [];
  for (let p = tree.nodes[id].parent; p > ROOT; p = tree.nodes[p].parent) out.push(p);
  return out.reverse();
}

/**
 * Which visible groups to open while filtering: breadth-first, as long as the rows shown stay
 * within `budget`, so a filter matching thousands of tensors does not create thousands of rows.
 */
export function groupsToOpen(tree: TensorTree, visible: Set<number> | null, budget: number): Set<number> {
  const open = new Set<number>();
  const kids = (id: number) => tree.nodes[id].children.filter((c) => !visible || visible.has(c));
  let shown = kids(ROOT).length;
  let frontier = kids(ROOT).filter((c) => tree.nodes[c].tensor < 0);
  while (frontier.length > 0) {
    const next: number[] = [];
    for (const g of frontier) {
      const c = kids(g);
      if (shown + c.length > budget) return open;
      shown += c.length;
      open.add(g);
      for (const x of c) if (tree.nodes[x].tensor < 0) next.push(x);
    }
    frontier = next;
  }
  return open;
}
