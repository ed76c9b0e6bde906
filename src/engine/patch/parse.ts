// Reads .stpatch text (docs/stpatch.md) into a Patch. Every problem is a UserError naming
// the file and line: `model.stpatch:17: expected hex bytes, got "zz"`. Hex rows are parsed
// straight from the bytes (they are most of a large patch); other lines as strings.

import { isDType } from '../../shared/dtypes';
import { UserError } from '../errors';
import {
  compareHunks,
  compareNames,
  numel,
  tensorByteLength,
  unitOf,
  unravelIndex,
  STPATCH_VERSION,
  type BaseFile,
  type Hunk,
  type Patch,
  type PatchTensor,
} from './types';

const NL = 0x0a;
const CR = 0x0d;
const HASH = 0x23;
const SPACE = 0x20;
const TAB = 0x09;
const MINUS = 0x2d;
const PLUS = 0x2b;

/** Nibble value of each byte, or -1. */
const NIBBLE = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) NIBBLE[0x30 + c] = c;
for (let c = 0; c < 6; c++) {
  NIBBLE[0x61 + c] = 10 + c;
  NIBBLE[0x41 + c] = 10 + c;
}

interface OpenHunk {
  tensor: PatchTensor;
  hunk: Hunk;
  line: number;
  /** Bytes filled so far in original / replacement. */
  orig: number;
  repl: number;
}

export function parsePatch(data: Uint8Array | string, fileName: string): Patch {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return new Parser(bytes, fileName).parse();
}

class Parser {
  private lineNo = 0;
  /** Byte position just past the current line. */
  private lineEnd = 0;
  private readonly hunkLines = new Map<Hunk, number>();
  private readonly base: BaseFile[] = [];
  private readonly tensors = new Map<string, PatchTensor>();
  private readonly hunks: Hunk[] = [];
  private open: OpenHunk | null = null;
  /** The tensor whose block we are in (for `base-sha256`, `result-sha256`, `# op:`). */
  private block: { tensor: PatchTensor; base: boolean; result: boolean } | null = null;
  private section: 'version' | 'base' | 'tensors' | 'hunks' | 'end' = 'version';

  constructor(
    private readonly bytes: Buffer,
    private readonly file: string,
  ) {}

  private fail(message: string, line = this.lineNo): never {
    throw new UserError(`${this.file}:${line}: ${message}`);
  }

  parse(): Patch {
    const { bytes } = this;
    let pos = 0;
    while (pos < bytes.length) {
      let end = bytes.indexOf(NL, pos);
      const next = end < 0 ? bytes.length : end + 1;
      if (end < 0) end = bytes.length;
      if (end > pos && bytes[end - 1] === CR) end--;
      this.lineNo++;
      this.lineEnd = next;
      this.line(pos, end);
      pos = next;
    }
    this.lineNo++;
    if (this.section === 'version') this.fail('empty file: expected "stpatch 1"');
    this.closeHunk();
    if (this.section !== 'end') this.fail('unexpected end of patch: missing the "end" line (is the file cut short?)');
    this.closeBlock();
    return this.finish();
  }

  private line(start: number, end: number): void {
    const first = start < end ? this.bytes[start] : -1;
    if (this.section === 'version') return this.versionLine(start, end);
    if (first === MINUS || first === PLUS) return this.rowLine(first, start, end);
    if (first === -1) return; // blank
    const text = this.bytes.toString('utf8', start, end);
    if (first === HASH) {
      if (this.block && /^# ?op:/.test(text)) this.block.tensor.ops.push(text.replace(/^# ?op: ?/, ''));
      return;
    }
    if (text.trim() === '') return;
    if (this.section === 'end') this.fail(`unexpected text after the "end" line: ${quote(text)}`);
    const word = /^\S*/.exec(text)![0];
    switch (word) {
      case 'base':
        return this.baseLine(text);
      case 'tensor':
        return this.tensorLine(text);
      case 'base-sha256':
      case 'result-sha256':
        return this.hashLine(word, text);
      case '@@':
        return this.hunkLine(text);
      case 'end':
        if (text !== 'end') this.fail(`unexpected text on the "end" line: ${quote(text)}`);
        this.closeHunk();
        this.closeBlock();
        if (this.base.length === 0) this.fail('missing "base" line');
        this.section = 'end';
        return;
      default:
        this.fail(`expected a "base", "tensor", "@@" or "end" line, got ${quote(text)}`);
    }
  }

  private versionLine(start: number, end: number): void {
    const text = this.bytes.toString('utf8', start, end);
    const m = /^stpatch (\S+)$/.exec(text);
    if (!m) this.fail(`not a .stpatch file: expected "stpatch ${STPATCH_VERSION}", got ${quote(text)}`);
    if (m[1] !== String(STPATCH_VERSION)) this.fail(`unsupported .stpatch version ${quote(m[1])} (this tool reads version ${STPATCH_VERSION})`);
    this.section = 'base';
  }

  private baseLine(text: string): void {
    if (this.section !== 'base') this.fail('"base" lines must come before tensors and hunks');
    const t = new Tokens(text, (m) => this.fail(m));
    t.keyword('base');
    const name = t.peekString() ? t.jsonString('file name') : null;
    t.keyword('size');
    const size = t.integer('file size');
    t.keyword('header-sha256');
    const headerSha256 = t.sha256();
    t.end();
    if (this.base.length > 0 && (name === null || this.base[0].name === null)) {
      this.fail('a patch of a sharded model names every "base" file; a single-file patch has one unnamed "base" line');
    }
    if (name !== null && this.base.some((b) => b.name === name)) this.fail(`duplicate base file ${JSON.stringify(name)}`);
    this.base.push({ name, size, headerSha256 });
  }

  private tensorLine(text: string): void {
    if (this.section === 'base') {
      if (this.base.length === 0) this.fail('missing "base" line before the first tensor');
      this.section = 'tensors';
    }
    if (this.section !== 'tensors') this.fail('"tensor" lines must come before the hunks');
    this.closeBlock();
    const t = new Tokens(text, (m) => this.fail(m));
    t.keyword('tensor');
    const name = t.jsonString('tensor name');
    const dtype = t.word('dtype');
    if (!isDType(dtype)) this.fail(`unknown dtype ${quote(dtype)}`);
    const shape = t.intList('shape');
    let fileIndex = 0;
    const namesFile = t.peekWord() === 'file';
    if (namesFile) {
      t.keyword('file');
      fileIndex = t.integer('file index');
    }
    t.keyword('at');
    const fileOffset = t.integer('file offset');
    t.end();
    if (this.tensors.has(name)) this.fail(`duplicate tensor ${JSON.stringify(name)}`);
    if (fileIndex >= this.base.length) this.fail(`tensor ${JSON.stringify(name)} names file ${fileIndex}, but there are ${this.base.length} "base" lines`);
    if (this.base.length > 1 && !namesFile) this.fail(`tensor ${JSON.stringify(name)}: a sharded patch names the file ("file <k>")`);
    const n = numel(shape);
    if (!Number.isSafeInteger(n)) this.fail(`tensor ${JSON.stringify(name)}: shape ${shapeText(shape)} is too large`);
    const byteLength = tensorByteLength({ dtype, shape });
    if (!Number.isInteger(byteLength)) this.fail(`tensor ${JSON.stringify(name)}: ${n} ${dtype} elements are not a whole number of bytes`);
    if (fileOffset + byteLength > this.base[fileIndex].size) {
      this.fail(`tensor ${JSON.stringify(name)} (${byteLength} bytes at ${fileOffset}) runs past the end of its ${this.base[fileIndex].size}-byte file`);
    }
    const tensor: PatchTensor = { name, dtype, shape, fileIndex, fileOffset, baseSha256: '', resultSha256: '', ops: [] };
    this.tensors.set(name, tensor);
    this.block = { tensor, base: false, result: false };
  }

  private hashLine(word: 'base-sha256' | 'result-sha256', text: string): void {
    if (!this.block) this.fail(`"${word}" must follow a "tensor" line`);
    const t = new Tokens(text, (m) => this.fail(m));
    t.keyword(word);
    const hash = t.sha256();
    t.end();
    const which = word === 'base-sha256' ? 'base' : 'result';
    if (this.block[which]) this.fail(`second "${word}" line for tensor ${JSON.stringify(this.block.tensor.name)}`);
    this.block[which] = true;
    if (which === 'base') this.block.tensor.baseSha256 = hash;
    else this.block.tensor.resultSha256 = hash;
  }

  private closeBlock(): void {
    const b = this.block;
    if (!b) return;
    this.block = null;
    if (!b.base || !b.result) {
      this.fail(`tensor ${JSON.stringify(b.tensor.name)} needs "base-sha256" and "result-sha256" lines`);
    }
  }

  private hunkLine(text: string): void {
    if (this.section === 'base') this.fail('a hunk needs "base" and "tensor" lines before it');
    this.closeHunk();
    this.closeBlock();
    this.section = 'hunks';
    const t = new Tokens(text, (m) => this.fail(m));
    t.keyword('@@');
    const name = t.jsonString('tensor name');
    const tensor = this.tensors.get(name);
    if (!tensor) this.fail(`hunk for tensor ${JSON.stringify(name)}, which no "tensor" line declares`);
    t.keyword('elements');
    const range = t.word('element range');
    const m = /^(\d+):(\d+)$/.exec(range);
    if (!m) this.fail(`expected an element range "first:end", got ${quote(range)}`);
    const first = checkedInt(m[1], (msg) => this.fail(msg));
    const last = checkedInt(m[2], (msg) => this.fail(msg));
    t.keyword('index');
    const index = t.intList('index');
    t.keyword('offset');
    const offset = t.integer('offset');
    t.keyword('file-offset');
    const fileOffset = t.integer('file offset');
    t.end();

    const n = numel(tensor.shape);
    const unit = unitOf(tensor.dtype);
    if (first >= last) this.fail(`empty element range ${range}`);
    if (last > n) this.fail(`element range ${range} is past the end of tensor ${JSON.stringify(name)} (${n} elements)`);
    if (first % unit.elements !== 0 || last % unit.elements !== 0) {
      this.fail(`element range ${range} of ${tensor.dtype} must start and end on a ${unit.elements}-element (${unit.bytes}-byte) boundary`);
    }
    const expectIndex = unravelIndex(first, tensor.shape);
    if (shapeText(index) !== shapeText(expectIndex)) this.fail(`index ${shapeText(index)} does not match element ${first} (expected ${shapeText(expectIndex)})`);
    const expectOffset = (first / unit.elements) * unit.bytes;
    if (offset !== expectOffset) this.fail(`offset ${offset} does not match element ${first} (expected ${expectOffset})`);
    if (fileOffset !== tensor.fileOffset + offset) this.fail(`file-offset ${fileOffset} does not match the tensor's "at ${tensor.fileOffset}" + offset ${offset}`);
    const length = ((last - first) / unit.elements) * unit.bytes;
    // Each byte needs at least 4 hex digits (original and new): refuse to allocate for a claim
    // the rest of the text cannot hold.
    if (length * 4 > this.bytes.length - this.lineEnd) this.fail(`hunk covers ${length} bytes, more than the rest of the patch holds (is the file cut short?)`);
    const hunk: Hunk = { tensor: name, offset, original: new Uint8Array(length), replacement: new Uint8Array(length) };
    this.open = { tensor, hunk, line: this.lineNo, orig: 0, repl: 0 };
  }

  private rowLine(sign: number, start: number, end: number): void {
    const h = this.open;
    const what = sign === MINUS ? 'original' : 'new';
    if (!h) this.fail(`a "${String.fromCharCode(sign)}" row outside a hunk`);
    const target = sign === MINUS ? h.hunk.original : h.hunk.replacement;
    let filled = sign === MINUS ? h.orig : h.repl;
    const { bytes } = this;
    let pos = start + 1;
    if (pos < end && bytes[pos] !== SPACE) this.fail(`expected a space after "${String.fromCharCode(sign)}"`);
    let digits = 0; // hex digits in the current group
    let groupStart = pos;
    let hi = 0;
    for (; pos < end; pos++) {
      const c = bytes[pos];
      if (c === SPACE || c === TAB) {
        if (digits % 2 === 1) this.fail(`expected hex bytes, got ${quote(bytes.toString('utf8', groupStart, pos))} (odd number of digits)`);
        digits = 0;
        groupStart = pos + 1;
        continue;
      }
      if (c === HASH) break;
      const v = NIBBLE[c];
      if (v < 0) {
        let stop = pos;
        while (stop < end && bytes[stop] !== SPACE && bytes[stop] !== TAB && bytes[stop] !== HASH) stop++;
        this.fail(`expected hex bytes, got ${quote(bytes.toString('utf8', groupStart, stop))}`);
      }
      if (digits % 2 === 0) hi = v;
      else {
        if (filled >= target.length) this.fail(`hunk at line ${h.line} has more ${what} bytes than its ${target.length}`);
        target[filled++] = (hi << 4) | v;
      }
      digits++;
    }
    if (digits % 2 === 1) this.fail(`expected hex bytes, got ${quote(bytes.toString('utf8', groupStart, pos))} (odd number of digits)`);
    if (sign === MINUS) h.orig = filled;
    else h.repl = filled;
  }

  private closeHunk(): void {
    const h = this.open;
    if (!h) return;
    this.open = null;
    const need = h.hunk.original.length;
    if (h.orig !== need || h.repl !== need) {
      this.fail(`hunk at line ${h.line} is cut short: it covers ${need} bytes but has ${h.orig} original and ${h.repl} new bytes`);
    }
    this.hunks.push(h.hunk);
    this.hunkLines.set(h.hunk, h.line);
  }

  private finish(): Patch {
    const hunks = this.hunks.sort(compareHunks);
    for (let i = 1; i < hunks.length; i++) {
      const a = hunks[i - 1];
      const b = hunks[i];
      if (a.tensor === b.tensor && b.offset < a.offset + a.original.length) {
        this.fail(`hunk overlaps the hunk at line ${this.hunkLines.get(a)} (tensor ${JSON.stringify(b.tensor)}, byte offset ${b.offset})`, this.hunkLines.get(b));
      }
    }
    const tensors = [...this.tensors.values()].sort((a, b) => compareNames(a.name, b.name));
    return { base: this.base, tensors, hunks };
  }
}

/** Space-separated tokens of one header line, with errors that say what was expected. */
class Tokens {
  private pos = 0;
  constructor(
    private readonly text: string,
    private readonly fail: (message: string) => never,
  ) {}

  private skipSpace(): void {
    while (this.text[this.pos] === ' ') this.pos++;
  }

  peekWord(): string {
    this.skipSpace();
    return /^\S*/.exec(this.text.slice(this.pos))![0];
  }

  peekString(): boolean {
    this.skipSpace();
    return this.text[this.pos] === '"';
  }

  word(what: string): string {
    const w = this.peekWord();
    if (w === '') this.fail(`expected ${what} at the end of the line`);
    this.pos += w.length;
    return w;
  }

  keyword(k: string): void {
    const w = this.peekWord();
    if (w !== k) this.fail(`expected "${k}", got ${w === '' ? 'the end of the line' : quote(w)}`);
    this.pos += w.length;
  }

  integer(what: string): number {
    const w = this.word(what);
    return checkedInt(w, this.fail, what);
  }

  sha256(): string {
    const w = this.word('a SHA-256 hash');
    if (!/^[0-9a-f]{64}$/.test(w)) this.fail(`expected a SHA-256 hash (64 lowercase hex digits), got ${quote(w)}`);
    return w;
  }

  /** A JSON string token: "..." with JSON escapes. */
  jsonString(what: string): string {
    this.skipSpace();
    const start = this.pos;
    if (this.text[start] !== '"') this.fail(`expected a quoted ${what}, got ${quote(this.peekWord())}`);
    let i = start + 1;
    for (; i < this.text.length; i++) {
      const c = this.text[i];
      if (c === '\\') i++;
      else if (c === '"') break;
    }
    if (i >= this.text.length) this.fail(`unterminated ${what} ${quote(this.text.slice(start))}`);
    this.pos = i + 1;
    try {
      return JSON.parse(this.text.slice(start, i + 1)) as string;
    } catch {
      this.fail(`bad ${what} ${quote(this.text.slice(start, i + 1))} (not a JSON string)`);
    }
  }

  /** `[a, b, c]` of non-negative integers. */
  intList(what: string): number[] {
    this.skipSpace();
    const close = this.text.indexOf(']', this.pos);
    if (this.text[this.pos] !== '[' || close < 0) this.fail(`expected the ${what} as "[d0, d1, ...]", got ${quote(this.peekWord())}`);
    const inner = this.text.slice(this.pos + 1, close).trim();
    this.pos = close + 1;
    if (inner === '') return [];
    return inner.split(',').map((s) => checkedInt(s.trim(), this.fail, what));
  }

  end(): void {
    this.skipSpace();
    if (this.pos < this.text.length) this.fail(`unexpected ${quote(this.text.slice(this.pos))} at the end of the line`);
  }
}

function checkedInt(text: string, fail: (m: string) => never, what = 'number'): number {
  if (!/^(0|[1-9]\d*)$/.test(text)) fail(`expected a non-negative integer ${what}, got ${quote(text)}`);
  const n = Number(text);
  if (!Number.isSafeInteger(n)) fail(`${what} ${text} is too large`);
  return n;
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Quote a fragment of input for an error message, kept short and on one line. */
function quote(text: string, max = 60): string {
  const t = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(t);
}
