// The detail of one hunk (or one cluster of a patch diff): exact values of its first elements
// in a table, and heatmaps of the region it touches (linked zoom), all read from the patch's
// own bytes by the engine.

import type { DType } from '../../shared/dtypes';
import type { ElementRegion, PatchSide, PatchValues } from '../../shared/reviewProtocol';
import { h, replace } from '../review/dom';
import { formatInt } from '../modelEditor/format';
import { isCancelled, type ReviewRpc } from '../review/hostRpc';
import { LinkedHeatmaps } from '../review/linkedHeatmaps';

export type Version = 'old' | 'new' | undefined;

export interface DetailTensor {
  name: string;
  dtype: DType;
  shape: number[];
}

export interface ValueColumn {
  label: string;
  version: Version;
  which: 'before' | 'after';
  /** Where this version has no hunk: the value to show instead (e.g. the base, from the other version). */
  orElse?: { version: Version; which: 'before' | 'after' };
}

export interface MapSpec {
  title: string;
  version: Version;
  /** A patch side, or 'change': the new version's result minus the old's (a diff). */
  which: PatchSide | 'change';
  group: string;
}

export interface DetailSpec {
  tensor: DetailTensor;
  elements: [number, number];
  region: ElementRegion;
  columns: ValueColumn[];
  maps: MapSpec[];
  /** Mark rows whose first two columns differ (a diff's old vs new result). */
  markDifferences?: boolean;
}

const TABLE_ROWS = 64;

export class HunkDetail {
  readonly element: HTMLElement;
  private readonly heatmaps: LinkedHeatmaps;
  private readonly abort = new AbortController();

  constructor(
    private readonly rpc: ReviewRpc,
    private readonly spec: DetailSpec,
  ) {
    const table = h('div', { class: 'hd-values', 'data-testid': 'hunk-values' }, h('span', { class: 'muted' }, 'Reading values…'));
    const { tensor, region } = spec;
    const cols = viewCols(tensor.shape);
    this.heatmaps = new LinkedHeatmaps({
      area: { row0: region.row0, row1: region.row1, col0: region.col0, col1: region.col1 },
      height: 220,
      testId: 'hunk-heatmaps',
      panels: spec.maps.map((m) => ({
        title: m.title,
        group: m.group,
        fetch: (req, signal) => {
          const tile = { tensor: tensor.name, viewport: req.viewport, maxRows: req.maxRows, maxCols: req.maxCols, range: { kind: 'symmetric' as const } };
          return m.which === 'change' ? rpc.request('patchDiffTile', tile, signal) : rpc.request('patchTile', { ...tile, side: m.version, which: m.which }, signal);
        },
      })),
      describe: async (row, col, signal) => {
        const flat = row * cols + col;
        const values = await this.values([flat, flat + 1], signal);
        const cells = spec.columns.map((c) => `${c.label} ${cell(values, c, 0) ?? '—'}`);
        return `${indexText(flat, tensor.shape)}  ${cells.join('  ')}`;
      },
    });
    this.element = h('div', { class: 'hunk-detail', 'data-testid': 'hunk-detail' }, table, this.heatmaps.element);
    void this.fillTable(table);
  }

  /** Call once the element is in the document. */
  start(): void {
    void this.heatmaps.start();
  }

  private async values(elements: [number, number], signal: AbortSignal, limit?: number): Promise<Map<Version, PatchValues>> {
    const versions = [...new Set(this.spec.columns.flatMap((c) => (c.orElse ? [c.version, c.orElse.version] : [c.version])))];
    const answers = await Promise.all(
      versions.map((version) => this.rpc.request<PatchValues>('values', { side: version, tensor: this.spec.tensor.name, elements, limit }, signal)),
    );
    return new Map(versions.map((v, i) => [v, answers[i]]));
  }

  private async fillTable(target: HTMLElement): Promise<void> {
    const { columns, tensor, elements } = this.spec;
    try {
      const values = await this.values(elements, this.abort.signal, TABLE_ROWS);
      const first = [...values.values()][0];
      const [e0, e1] = first.elements;
      const head = h('tr', {}, h('th', {}, 'index'), ...columns.map((c) => h('th', {}, c.label)));
      const rows: HTMLElement[] = [];
      for (let e = e0; e < e1; e++) {
        const cells = columns.map((c) => cell(values, c, e - e0));
        const differs = this.spec.markDifferences && cells[0] !== cells[1];
        rows.push(h('tr', { class: differs ? 'differs' : undefined }, h('td', { class: 'mono muted' }, indexText(e, tensor.shape)), ...cells.map((v) => h('td', { class: 'mono' }, v ?? '—'))));
      }
      const more = elements[1] - e1;
      replace(
        target,
        h('table', { class: 'values-table' }, h('thead', {}, head), h('tbody', {}, ...rows)),
        more > 0 ? h('div', { class: 'muted' }, `… and ${formatInt(more)} more elements (see the heatmaps)`) : null,
      );
    } catch (err) {
      if (!isCancelled(err)) target.replaceChildren(h('div', { class: 'error-line' }, (err as Error).message));
    }
  }

  refreshTheme(): void {
    this.heatmaps.refreshTheme();
  }

  dispose(): void {
    this.abort.abort();
    this.heatmaps.dispose();
  }
}

function cell(values: Map<Version, PatchValues>, c: ValueColumn, i: number): string | null {
  const own = values.get(c.version)?.[c.which][i] ?? null;
  return own ?? (c.orElse ? (values.get(c.orElse.version)?.[c.orElse.which][i] ?? null) : null);
}

function viewCols(shape: readonly number[]): number {
  return shape.length === 0 ? 1 : shape[shape.length - 1];
}

/** N-D index of a flat element: "[2, 5]". */
export function indexText(flat: number, shape: readonly number[]): string {
  const idx = new Array<number>(shape.length);
  let rest = flat;
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = shape[d] === 0 ? 0 : rest % shape[d];
    rest = shape[d] === 0 ? 0 : Math.floor(rest / shape[d]);
  }
  return `[${idx.join(', ')}]`;
}
