// Writes a Patch as .stpatch text (docs/stpatch.md). Deterministic: the bytes depend only on
// the patch's content. Returns bytes, not a string: a whole-tensor edit of a large tensor
// produces more text than a JavaScript string can hold.

import { ByteSink, dataViewOf, unitFormatter } from './rowText';
import { compareHunks, compareNames, hunkElements, rowBytes, unravelIndex, STPATCH_VERSION, type BaseFile, type Hunk, type Patch, type PatchTensor } from './types';

export const PATCH_COMMENT = '# Tensorscope patch: exact byte edits of safetensors tensors. Bytes are authoritative; see docs/stpatch.md.';

/**
 * Rows starting this far into a hunk carry no value comment: a hunk that large is read by
 * tools, not people, and formatting millions of values would dominate the time.
 */
export const COMMENTED_BYTES = 256 << 10;

export function serializePatch(patch: Patch): Buffer {
  const sink = new ByteSink();
  sink.line(`stpatch ${STPATCH_VERSION}`);
  sink.line(PATCH_COMMENT);
  for (const b of patch.base) sink.line(baseLine(b));

  const tensors = [...patch.tensors].sort((a, b) => compareNames(a.name, b.name));
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const sharded = patch.base.length > 1;
  for (const t of tensors) {
    sink.line('');
    sink.line(tensorLine(t, sharded));
    sink.line(`base-sha256 ${t.baseSha256}`);
    sink.line(`result-sha256 ${t.resultSha256}`);
    for (const op of t.ops) sink.line(`# op: ${oneLine(op)}`);
  }

  const hunks = [...patch.hunks].sort(compareHunks);
  for (const h of hunks) {
    const t = byName.get(h.tensor);
    if (!t) throw new Error(`serializePatch: hunk names undeclared tensor ${JSON.stringify(h.tensor)}`);
    sink.line('');
    writeHunk(sink, t, h);
  }
  sink.line('');
  sink.line('end');
  return sink.finish();
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

function writeHunk(sink: ByteSink, t: PatchTensor, h: Hunk): void {
  sink.line(hunkHeader(t, h));
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
    const comment = a < COMMENTED_BYTES;
    sink.row(0x2d, f, h.original, origView, a, b, comment);
    sink.row(0x2b, f, h.replacement, newView, a, b, comment);
    rowStart = rowEnd;
  }
}

/** Op lines are free text on one line. */
export function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}
