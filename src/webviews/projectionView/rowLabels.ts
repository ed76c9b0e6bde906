// Row labels: "row 12" and, when the rows are tokens, the token string, decoded once from the
// engine's UTF-8 blob with uint32 end offsets. Tokens are shown quoted, with control
// characters escaped (a newline token must not break a hover label) and angle brackets
// replaced, since plotly reads a few HTML tags in hover text.

import { uint32s } from './rpc';

export class RowLabels {
  private readonly tokens: string[];

  constructor(blob?: { count: number; text: Uint8Array; ends: Uint8Array }) {
    this.tokens = [];
    if (!blob) return;
    const ends = uint32s(blob.ends);
    const decoder = new TextDecoder();
    let start = 0;
    for (let i = 0; i < blob.count; i++) {
      this.tokens.push(decoder.decode(blob.text.subarray(start, ends[i])));
      start = ends[i];
    }
  }

  get hasTokens(): boolean {
    return this.tokens.length > 0;
  }

  token(row: number): string | undefined {
    return this.tokens[row];
  }

  /** `'Ġthe'` (quoted, escaped), or '' when the row has no token. */
  quotedToken(row: number): string {
    const t = this.tokens[row];
    return t === undefined ? '' : quoteToken(t);
  }

  /** "row 12 · 'Ġthe'" */
  label(row: number): string {
    const t = this.quotedToken(row);
    return t ? `row ${row} · ${t}` : `row ${row}`;
  }

  /** One hover text per row, for plotly (`text`); plain row numbers when there are no tokens. */
  hoverTexts(rows: number): string[] {
    const out = new Array<string>(rows);
    for (let i = 0; i < rows; i++) out[i] = this.label(i).replace(/</g, '‹').replace(/>/g, '›');
    return out;
  }
}

export function quoteToken(token: string): string {
  // eslint-disable-next-line no-control-regex
  const escaped = token.replace(/[\u0000-\u001f\u007f]/g, (c) => ({ '\n': '\\n', '\t': '\\t', '\r': '\\r' })[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return `'${escaped}'`;
}
