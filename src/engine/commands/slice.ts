// `tensorscope slice FILE TENSOR SLICE [--json]`: the values of a numpy-style slice.
//
// Values are row-major. JSON form: {"shape": [...], "values": [...]} with values flat;
// NaN and infinities are the strings "NaN", "Infinity", "-Infinity"; -0 is written -0.0 so
// its sign survives a JSON parser; BOOL values are true/false; I64/U64 values beyond 2^53
// (where a JSON number would round) are exact decimal strings; C64 values are [re, im] pairs.
import { basename } from 'node:path';
import { DTYPE_BITS, type DType } from '../../shared/dtypes';
import type { TensorInfo } from '../../shared/protocol';
import { parseSlice, sliceValues, type StridedView } from '../compute/slice';
import { elementText } from '../dtype/decode';
import { UserError } from '../errors';
import type { Model } from '../safetensors/model';
import { integerOption, parseCommandArgs } from './args';
import type { Command } from './command';
import { withModel } from './withModel';

const DEFAULT_LIMIT = 10_000_000;
/** Values per stdout write: output is streamed, never one giant string. */
const WRITE_CHUNK = 65536;

export const sliceCommand: Command = {
  name: 'slice',
  usage: 'slice FILE TENSOR SLICE [--json] [--limit N]',
  summary: `values of a numpy-style slice, e.g. "[0, :, 10:20]" (at most --limit values, default ${DEFAULT_LIMIT.toLocaleString('en-US')})`,
  async run(args, io) {
    const { positionals, values: opts } = parseCommandArgs(
      sliceCommand,
      args,
      { json: { type: 'boolean' }, limit: { type: 'string' } },
      ['FILE', 'TENSOR', 'SLICE'],
    );
    const limit = integerOption(sliceCommand, 'limit', opts.limit, 1, 2 ** 31 - 1) ?? DEFAULT_LIMIT;
    const [file, name, sliceText] = positionals;
    const { shape, texts } = await withModel(file, async (model) => {
      const t = model.tensor(name);
      const view = prefixErrors(`${basename(file)}: tensor ${JSON.stringify(t.name)}`, () => parseSlice(sliceText, t.shape));
      const count = view.shape.reduce((a, b) => a * b, 1);
      if (count > limit) {
        throw new UserError(`slice ${view.text} of '${t.name}' has ${count} values, more than --limit ${limit}`);
      }
      return { shape: view.shape, texts: await sliceTexts(model, t, sliceText, view, limit) };
    });
    if (opts.json) writeJson(io.stdout, shape, texts);
    else writeTable(io.stdout, shape, texts);
    return 0;
  },
};

/** Slice errors name only the slice; the CLI's line also names the file and tensor. */
function prefixErrors<T>(prefix: string, work: () => T): T {
  try {
    return work();
  } catch (err) {
    if (err instanceof UserError) throw new UserError(`${prefix}: ${err.message}`);
    throw err;
  }
}

/** Each value of the slice as JSON text, row-major. */
async function sliceTexts(model: Model, t: TensorInfo, slice: string, view: StridedView, limit: number): Promise<string[]> {
  if (t.dtype === 'C64') return exactTexts(model, t, view, complexJson);
  const { values } = await sliceValues(model, t, slice, limit);
  const texts = new Array<string>(values.length);
  if (t.dtype === 'BOOL') {
    for (let i = 0; i < values.length; i++) texts[i] = values[i] !== 0 ? 'true' : 'false';
    return texts;
  }
  const wide = t.dtype === 'I64' || t.dtype === 'U64';
  let inexact: number[] | null = null;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (wide && Math.abs(v) > Number.MAX_SAFE_INTEGER) (inexact ??= []).push(i);
    else texts[i] = numberJson(v);
  }
  if (inexact) {
    // Beyond 2^53 the double is rounded: read those few elements again, exactly.
    const exact = await exactTexts(model, t, view, (dtype, bytes) => JSON.stringify(elementText(dtype, bytes)), inexact);
    inexact.forEach((i, k) => (texts[i] = exact[k]));
  }
  return texts;
}

function numberJson(v: number): string {
  if (Number.isNaN(v)) return '"NaN"';
  if (v === Infinity) return '"Infinity"';
  if (v === -Infinity) return '"-Infinity"';
  if (Object.is(v, -0)) return '-0.0';
  return String(v);
}

function complexJson(_dtype: DType, bytes: Uint8Array): string {
  const v = new DataView(bytes.buffer, bytes.byteOffset, 8);
  return `[${numberJson(v.getFloat32(0, true))}, ${numberJson(v.getFloat32(4, true))}]`;
}

/**
 * Reads elements of the view one by one (positions: indices into the view's row-major order,
 * default all) and formats their raw bytes. Only for dtypes whose values a double cannot hold.
 */
async function exactTexts(
  model: Model,
  t: TensorInfo,
  view: StridedView,
  format: (dtype: DType, bytes: Uint8Array) => string,
  positions?: number[],
): Promise<string[]> {
  const count = positions ? positions.length : view.shape.reduce((a, b) => a * b, 1);
  const size = DTYPE_BITS[t.dtype] / 8;
  const out = new Array<string>(count);
  const BATCH = 256;
  for (let k0 = 0; k0 < count; k0 += BATCH) {
    const batch: Promise<void>[] = [];
    for (let k = k0; k < Math.min(count, k0 + BATCH); k++) {
      const element = tensorIndex(view, positions ? positions[k] : k);
      batch.push(model.read(t, element * size, (element + 1) * size).then((bytes) => void (out[k] = format(t.dtype, bytes))));
    }
    await Promise.all(batch);
  }
  return out;
}

/** Row-major element index in the tensor of position `p` of the view's row-major order. */
function tensorIndex(view: StridedView, p: number): number {
  let index = view.offset;
  for (let d = view.shape.length - 1; d >= 0; d--) {
    const n = view.shape[d];
    index += (p % n) * view.strides[d];
    p = Math.floor(p / n);
  }
  return index;
}

function writeJson(write: (text: string) => void, shape: number[], texts: string[]): void {
  write(`{"shape": ${JSON.stringify(shape)}, "values": [`);
  for (let i = 0; i < texts.length; i += WRITE_CHUNK) {
    write((i > 0 ? ', ' : '') + texts.slice(i, i + WRITE_CHUNK).join(', '));
  }
  write(']}\n');
}

/** Human form: the last axis as a row, one block per index of the leading axes. */
function writeTable(write: (text: string) => void, shape: number[], texts: string[]): void {
  const plain = texts.map((s) => (s.startsWith('"') ? JSON.parse(s) : s.replace(/^-0\.0$/, '-0')));
  write(`shape [${shape.join(', ')}]\n`);
  if (plain.length === 0) return;
  let width = 0;
  for (const s of plain) width = Math.max(width, s.length);
  const cols = shape.length === 0 ? 1 : shape[shape.length - 1];
  const rows = shape.length >= 2 ? shape[shape.length - 2] : 1;
  const lead = shape.slice(0, -2);
  const perBlock = rows * cols;
  for (let b = 0; b * perBlock < plain.length; b++) {
    if (lead.length) {
      const idx: number[] = [];
      let r = b;
      for (let d = lead.length - 1; d >= 0; d--) {
        idx.unshift(r % lead[d]);
        r = Math.floor(r / lead[d]);
      }
      write(`${b > 0 ? '\n' : ''}[${[...idx, ':', ':'].join(', ')}]\n`);
    }
    const lines: string[] = [];
    for (let r = 0; r < rows; r++) {
      const start = b * perBlock + r * cols;
      lines.push(plain.slice(start, start + cols).map((s) => s.padStart(width)).join(' '));
    }
    write(lines.join('\n') + '\n');
  }
}
