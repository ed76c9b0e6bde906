// Writes a Patch as .stpatch text (docs/stpatch.md). Deterministic: the bytes depend only on
// the patch's content. Returns bytes, not a string: a whole-tensor edit of a large tensor
// produces more text than a JavaScript string can hold.

import { dataViewOf, rowLine, unitFormatter } from './rowText';
import { compareHunks, compareNames, hunkElements, rowBytes, unravelIndex, STPATCH_VERSION, type BaseFile, type Hunk, type Patch, type PatchTensor } from './types';

export const PATCH_COMMENT = '# Tensorscope patch: exact byte edits of safetensors tensors. Bytes are authoritative; see docs/stpatch.md.';

/** Collects lines and turns them into Buffers every ~1 MB of text. */
class LineSink {
  private lines: string[] = [];
  private size = 0;
  readonly chunks: Buffer[] = [];

  push(line: string): void {
    this.lines.push(line);
    this.size += line.length + 1;
    if (this.size > 1 << 20) this.flush();
  }

  flush(): void {
    if (this.lines.length === 0) return;
    this.lines.push('');
    this.chunks.push(Buffer.from(this.lines.join('\n'), 'utf8'));
    this.lines = [];
    this.size = 0;
  }
}

export function serializePatch(patch: Patch): Buffer {
  const sink = new LineSink();
  sink.push(`stpatch ${STPATCH_VERSION}`);
  sink.push(PATCH_COMMENT);
  for (const b of patch.base) sink.push(baseLine(b));

  const tensors = [...patch.tensors].sort((a, b) => compareNames(a.name, b.name));
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const sharded = patch.base.length > 1;
  for (const t of tensors) {
    sink.push('');
    sink.push(tensorLine(t, sharded));
    sink.push(`base-sha256 ${t.baseSha256}`);
    sink.push(`result-sha256 ${t.resultSha256}`);
    for (const op of t.ops) sink.push(`# op: ${oneLine(op)}`);
  }

  const hunks = [...patch.hunks].sort(compareHunks);
  for (const h of hunks) {
    const t = byName.get(h.tensor);
    if (!t) throw new Error(`serializePatch: hunk names undeclared tensor ${JSON.stringify(h.tensor)}`);
    sink.push('');
    writeHunk(sink, t, h);
  }
  sink.push('');
  sink.push('end');
  sink.flush();
  return Buffer.concat(sink.chunks);
}

function baseLine(b: BaseFile): string {
  const name = b.name === null ? '' : ` ${JSON.stringify(b.name)}`;
  return `base${name} size ${b.size} header-sha256 ${b.headerSha256}`;
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function tensorLine(t: PatchTensor, sharded: boolean): string {
  const file = sharded ? ` file ${t.fileIndex}` : '';
  return `tensor ${JSON.stringify(t.name)} ${t.dtype} ${shapeText(t.shape)}${file} at ${t.fileOffset}`;
}

export function hunkHeader(t: PatchTensor, h: Hunk): string {
  const [first, end] = hunkElements(t.dtype, h);
  return `@@ ${JSON.stringify(t.name)} elements ${first}:${end} index ${shapeText(unravelIndex(first, t.shape))} offset ${h.offset} file-offset ${t.fileOffset + h.offset}`;
}

function writeHunk(sink: LineSink, t: PatchTensor, h: Hunk): void {
  sink.push(hunkHeader(t, h));
  const f = unitFormatter(t.dtype);
  const grid = rowBytes(t.dtype);
  const origView = dataViewOf(h.original);
  const newView = dataViewOf(h.replacement);
  const end = h.offset + h.original.length;
  // Rows break at tensor-relative multiples of `grid`, so they do not move when the hunk grows.
  for (let rowStart = h.offset; rowStart < end; ) {
    const rowEnd = Math.min(end, (Math.floor(rowStart / grid) + 1) * grid);
    const a = rowStart - h.offset;
    const b = rowEnd - h.offset;
    sink.push(rowLine('-', f, h.original, origView, a, b));
    sink.push(rowLine('+', f, h.replacement, newView, a, b));
    rowStart = rowEnd;
  }
}

/** Op lines are free text on one line. */
export function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}
