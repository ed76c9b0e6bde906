// The hex view of a tensor's bytes: rows on the patch format's grid (16 bytes, 12 for F6),
// hex grouped per unit of whole bytes, and each element's value decoded for the dtype (by
// the engine, which knows all 22). Virtualised: only the rows on screen exist, and only
// their bytes are fetched (`bytes` with decode), so a huge tensor scrolls like a small one.
// Double-click a hex group to type new bytes, or a value to type a new value.

import type { DocumentEdit, TensorInfo } from '../../shared/protocol';
import { debounce, h } from './dom';
import { formatInt } from './format';
import { cleanHex, elementAddress, elementAtByte, elementValue, hexRowBytes, offsetHex, scrollTopForRow, unitOf, virtualRows } from './editModel';
import { isCancelled, type HostRpc } from './hostRpc';
import { tensorBytes } from './tensorTree';

const ROW_PX = 20;
/** Rows fetched around the visible ones, so small scrolls need no request. */
const PREFETCH_ROWS = 64;

interface Chunk {
  start: number;
  data: Uint8Array;
  values: string[];
}

export class HexView {
  readonly element: HTMLElement;
  private readonly scroller: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly rowsEl: HTMLElement;
  private readonly status: HTMLElement;
  private readonly errorEl: HTMLElement;
  private readonly gotoInput: HTMLInputElement;
  private tensor: TensorInfo | undefined;
  private size = 0;
  private rowBytes = 16;
  /** Half rows (8 bytes, F6: 6) because a full row did not fit; the width at which that was seen. */
  private narrowAt: number | undefined;
  private chunk: Chunk | undefined;
  private fetchAbort: AbortController | undefined;
  private highlight: { start: number; end: number } | undefined;
  private editable = false;
  private editing = false;
  private readonly renderSoon = debounce(() => this.render(), 16);

  constructor(
    private readonly rpc: HostRpc,
    private readonly onEdit: (edit: DocumentEdit) => Promise<unknown>,
  ) {
    this.spacer = h('div', { class: 'hex-spacer' });
    this.rowsEl = h('div', { class: 'hex-rows', 'data-testid': 'hex-rows' });
    this.scroller = h('div', { class: 'hex-scroll', 'data-testid': 'hex-scroll', tabindex: '0' }, this.spacer, this.rowsEl);
    this.status = h('span', { class: 'muted', 'data-testid': 'hex-status' });
    this.errorEl = h('div', { class: 'error-line', 'data-testid': 'hex-error', hidden: true });
    this.gotoInput = h('input', { class: 'text-input hex-goto', 'data-testid': 'hex-goto', placeholder: 'byte offset or [index]', 'aria-label': 'Go to byte offset or element index' });
    this.gotoInput.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') this.goTo(this.gotoInput.value);
    });
    this.element = h(
      'section',
      { class: 'hex-view', 'data-testid': 'hex-view' },
      h('div', { class: 'hex-toolbar' }, h('h3', {}, 'Bytes'), this.status, h('span', { class: 'spacer' }), h('label', { class: 'field-label' }, 'Go to'), this.gotoInput),
      this.errorEl,
      this.scroller,
    );
    this.scroller.addEventListener('scroll', () => this.renderSoon());
    this.rowsEl.addEventListener('dblclick', (ev) => this.startEdit(ev));
    new ResizeObserver(() => {
      // Wider than when rows were halved: try full rows again (fitRows halves them again if need be).
      if (this.narrowAt !== undefined && this.scroller.clientWidth > this.narrowAt) this.setRowBytes(false);
      this.renderSoon();
    }).observe(this.scroller);
  }

  show(tensor: TensorInfo): void {
    this.tensor = tensor;
    this.size = tensorBytes(tensor);
    this.narrowAt = undefined;
    this.rowBytes = hexRowBytes(tensor.dtype);
    this.chunk = undefined;
    this.highlight = undefined;
    this.element.hidden = this.size === 0;
    this.scroller.scrollTop = 0;
    this.showError(undefined);
    this.showStatus();
    this.render();
  }

  /** Size, dtype and packing; how to edit only where editing is possible. */
  private showStatus(): void {
    if (!this.tensor) return;
    const { dtype } = this.tensor;
    const unit = unitOf(dtype);
    const packing = unit.elements > 1 ? ` (${unit.elements} elements per ${unit.bytes} byte${unit.bytes > 1 ? 's' : ''})` : '';
    this.status.textContent = `${formatInt(this.size)} bytes · ${dtype}${packing} · ${this.editable ? 'double-click to edit' : 'read-only'}`;
  }

  setEditable(editable: boolean): void {
    this.editable = editable;
    this.showStatus();
    this.element.classList.toggle('read-only', !editable);
  }

  /** The bytes changed: fetch what is shown again. */
  reload(): void {
    this.chunk = undefined;
    if (!this.editing) this.render();
  }

  /** Scroll to a tensor-relative byte range and mark it (an element selected in the heatmap). */
  reveal(start: number, end: number): void {
    if (!this.tensor) return;
    this.highlight = { start, end };
    const totalRows = Math.ceil(this.size / this.rowBytes);
    const row = Math.floor(start / this.rowBytes);
    const view = this.scroller.clientHeight || 300;
    this.scroller.scrollTop = scrollTopForRow(Math.max(0, row - 2), totalRows, ROW_PX, view);
    this.render();
  }

  private goTo(text: string): void {
    const t = this.tensor;
    if (!t) return;
    const m = /^\s*\[\s*(\d+)\s*\]\s*$/.exec(text);
    const n = m ? Number(m[1]) : Number(text.trim());
    if (!Number.isSafeInteger(n) || n < 0) return this.showError(`"${text}" is not a byte offset or [element index]`);
    const start = m ? Math.floor(n / unitOf(t.dtype).elements) * unitOf(t.dtype).bytes : n;
    if (start >= this.size) return this.showError(`${text} is past the end of the tensor (${formatInt(this.size)} bytes)`);
    this.showError(undefined);
    const u = unitOf(t.dtype).bytes;
    const unitStart = Math.floor(start / u) * u;
    this.reveal(unitStart, unitStart + u);
  }

  private showError(message: string | undefined): void {
    this.errorEl.hidden = message === undefined;
    this.errorEl.textContent = message ?? '';
  }

  private layout(): ReturnType<typeof virtualRows> & { totalRows: number } {
    const totalRows = Math.ceil(this.size / this.rowBytes);
    return { ...virtualRows(totalRows, ROW_PX, this.scroller.clientHeight || 300, this.scroller.scrollTop), totalRows };
  }

  private render(): void {
    const t = this.tensor;
    if (!t || this.size === 0 || this.editing) return;
    const L = this.layout();
    this.spacer.style.height = `${L.spacerPx}px`;
    this.rowsEl.style.top = `${L.topPx}px`;
    const first = L.firstRow * this.rowBytes;
    const end = Math.min(this.size, (L.firstRow + L.visible) * this.rowBytes);
    const c = this.chunk;
    if (c && c.start <= first && c.start + c.data.length >= end) {
      this.drawRows(L.firstRow, L.visible, c);
    } else {
      this.drawRows(L.firstRow, L.visible, undefined);
      void this.fetch(Math.max(0, L.firstRow - PREFETCH_ROWS), L.firstRow + L.visible + PREFETCH_ROWS);
    }
  }

  private async fetch(row0: number, row1: number): Promise<void> {
    const t = this.tensor!;
    this.fetchAbort?.abort();
    const abort = new AbortController();
    this.fetchAbort = abort;
    const start = row0 * this.rowBytes;
    const end = Math.min(this.size, row1 * this.rowBytes);
    try {
      const r = await this.rpc.request('bytes', { tensor: t.name, start, end, decode: true }, { signal: abort.signal });
      if (abort.signal.aborted || this.tensor !== t) return;
      this.chunk = { start: r.start, data: r.data, values: r.values ?? [] };
      this.showError(undefined);
      this.render();
    } catch (err) {
      if (!isCancelled(err) && !abort.signal.aborted) this.showError((err as Error).message);
    }
  }

  private drawRows(firstRow: number, count: number, chunk: Chunk | undefined): void {
    const t = this.tensor!;
    const u = unitOf(t.dtype);
    const rows: HTMLElement[] = [];
    for (let r = firstRow; r < firstRow + count; r++) {
      const rowStart = r * this.rowBytes;
      if (rowStart >= this.size) break;
      const rowEnd = Math.min(this.size, rowStart + this.rowBytes);
      const groups: HTMLElement[] = [];
      const values: HTMLElement[] = [];
      for (let at = rowStart; at < rowEnd; at += u.bytes) {
        const marked = this.highlight && at < this.highlight.end && at + u.bytes > this.highlight.start;
        const attrs = { 'data-offset': String(at), class: marked ? 'hex-group marked' : 'hex-group' };
        if (!chunk) {
          groups.push(h('span', attrs, '··'.repeat(u.bytes)));
          continue;
        }
        const rel = at - chunk.start;
        let hex = '';
        for (let k = 0; k < u.bytes; k++) hex += chunk.data[rel + k].toString(16).padStart(2, '0');
        groups.push(h('span', { ...attrs, title: `byte ${formatInt(at)} (file offset ${formatInt(t.fileOffset + at)})` }, hex));
        const firstEl = elementAtByte(t.dtype, at);
        const firstValue = (rel / u.bytes) * u.elements;
        for (let k = 0; k < u.elements; k++) {
          const e = firstEl + k;
          values.push(h('span', { class: marked ? 'hex-value marked' : 'hex-value', 'data-element': String(e), title: `element [${e}]` }, chunk.values[firstValue + k] ?? '?'));
        }
      }
      rows.push(
        h(
          'div',
          { class: 'hex-row', 'data-row': String(r) },
          h('span', { class: 'hex-offset', title: `file offset ${formatInt(t.fileOffset + rowStart)}` }, offsetHex(rowStart)),
          h('span', { class: 'hex-bytes' }, ...groups),
          h('span', { class: 'hex-values' }, ...values),
        ),
      );
    }
    this.rowsEl.replaceChildren(...rows);
    if (chunk) this.fitRows();
  }

  /** Full rows whose values do not fit beside the bytes become half rows, so no value hides off the right edge. */
  private fitRows(): void {
    const row = this.rowsEl.firstElementChild;
    if (this.narrowAt !== undefined || !row || row.scrollWidth <= row.clientWidth) return;
    this.setRowBytes(true);
    this.render();
  }

  /** Switches between full and half rows, keeping the first visible byte at the top. */
  private setRowBytes(narrow: boolean): void {
    if (!this.tensor || narrow === (this.narrowAt !== undefined)) return;
    const firstByte = this.layout().firstRow * this.rowBytes;
    const full = hexRowBytes(this.tensor.dtype);
    this.rowBytes = narrow ? full / 2 : full;
    this.narrowAt = narrow ? this.scroller.clientWidth : undefined;
    const L = this.layout();
    this.spacer.style.height = `${L.spacerPx}px`; // before scrollTop, which the old height would clamp
    this.scroller.scrollTop = scrollTopForRow(Math.floor(firstByte / this.rowBytes), L.totalRows, ROW_PX, this.scroller.clientHeight || 300);
  }

  /** Double-click on a hex group (bytes) or a value (one element): an input in its place. */
  private startEdit(ev: MouseEvent): void {
    const t = this.tensor;
    const target = (ev.target as HTMLElement).closest<HTMLElement>('.hex-group, .hex-value');
    if (!t || !target || !this.chunk) return;
    if (!this.editable) return this.showError('This model is read-only here (untrusted workspace).');
    const isBytes = target.classList.contains('hex-group');
    const u = unitOf(t.dtype);
    const shown = target.textContent ?? '';
    const input = h('input', { class: 'hex-input', 'data-testid': isBytes ? 'hex-byte-input' : 'hex-value-input', value: shown, spellcheck: 'false' });
    input.style.width = `${Math.max(4, shown.length + 2)}ch`;
    this.editing = true;
    target.replaceWith(input);
    input.focus();
    input.select();
    const finish = (commit: boolean) => {
      if (!this.editing) return;
      this.editing = false;
      // Enter on the text as shown changes nothing (the shown value may not even be typeable: C64, I64 beyond 2^53).
      if (!commit || input.value.trim() === shown) return this.render();
      let edit: DocumentEdit | string;
      if (isBytes) {
        const offset = Number(target.dataset.offset);
        const hex = cleanHex(input.value, u.bytes);
        edit = hex === null ? `"${input.value}" is not ${u.bytes} byte${u.bytes > 1 ? 's' : ''} of hex` : { type: 'bytes', tensor: t.name, offset, hex };
      } else {
        const value = elementValue(input.value, t.dtype);
        const at = elementAddress(Number(target.dataset.element), t.shape);
        edit = typeof value === 'string' ? value : { type: 'element', tensor: t.name, ...at, value };
      }
      if (typeof edit === 'string') {
        this.showError(edit);
        return this.render();
      }
      this.showError(undefined);
      this.onEdit(edit).catch((err: unknown) => this.showError((err as Error).message));
      this.render();
    };
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') finish(true);
      else if (e.key === 'Escape') finish(false);
      e.stopPropagation();
    });
    input.addEventListener('blur', () => finish(false));
  }
}
