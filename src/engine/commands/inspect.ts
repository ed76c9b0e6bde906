// `tensorscope inspect FILE [--json]`: the tensors of a model, from its header only.
import { basename } from 'node:path';
import { DTYPE_BITS } from '../../shared/dtypes';
import type { ModelInfo } from '../../shared/protocol';
import { parseCommandArgs } from './args';
import type { Command } from './command';
import { withModel } from './withModel';

export const inspectCommand: Command = {
  name: 'inspect',
  usage: 'inspect FILE [--json]',
  summary: 'list the tensors of a .safetensors file or *.safetensors.index.json (header only)',
  async run(args, io) {
    const { positionals, values } = parseCommandArgs(inspectCommand, args, { json: { type: 'boolean' } }, ['FILE']);
    const info = await withModel(positionals[0], async (model) => model.info);
    io.stdout(values.json ? formatInspectJson(inspectJson(info)) : inspectTable(info));
    return 0;
  },
};

/** The --json form: exactly these keys, tensors in the model's order. */
export function inspectJson(info: ModelInfo) {
  return {
    metadata: info.metadata,
    tensors: info.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, dataOffsets: t.dataOffsets })),
  };
}

/** Pretty but compact: one line per tensor, so large models stay readable and greppable. */
function formatInspectJson(j: ReturnType<typeof inspectJson>): string {
  const tensors = j.tensors.map((t) => `    ${JSON.stringify(t)}`).join(',\n');
  return `{\n  "metadata": ${JSON.stringify(j.metadata)},\n  "tensors": [${tensors ? `\n${tensors}\n  ` : ''}]\n}\n`;
}

function numel(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

const group = (n: number) => n.toLocaleString('en-US');

export function inspectTable(info: ModelInfo): string {
  const sharded = info.files.length > 1;
  const header = ['NAME', 'DTYPE', 'SHAPE', 'ELEMENTS', 'BYTES', 'DATA OFFSETS', ...(sharded ? ['FILE'] : [])];
  const rows = info.tensors.map((t) => [
    t.name,
    t.dtype,
    `[${t.shape.join(', ')}]`,
    group(numel(t.shape)),
    group(t.dataOffsets[1] - t.dataOffsets[0]),
    `${t.dataOffsets[0]}..${t.dataOffsets[1]}`,
    ...(sharded ? [basename(info.files[t.fileIndex].path)] : []),
  ]);
  const numeric = new Set([3, 4]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (numeric.has(c) ? cell.padStart(widths[c]) : c === cells.length - 1 ? cell : cell.padEnd(widths[c])))
      .join('  ')
      .trimEnd();

  const out: string[] = [];
  const fileBytes = info.files.reduce((a, f) => a + f.size, 0);
  out.push(`${info.path} (${group(fileBytes)} bytes${sharded ? ` in ${info.files.length} files` : ''})`);
  if (info.metadata) {
    for (const [k, v] of Object.entries(info.metadata)) out.push(`  ${k}: ${oneLine(v)}`);
  }
  out.push('', line(header), ...rows.map(line), '');

  const byDtype = new Map<string, number>();
  let elements = 0;
  let bytes = 0;
  for (const t of info.tensors) {
    byDtype.set(t.dtype, (byDtype.get(t.dtype) ?? 0) + 1);
    elements += numel(t.shape);
    bytes += t.dataOffsets[1] - t.dataOffsets[0];
  }
  const dtypes = [...byDtype].sort((a, b) => DTYPE_BITS[b[0] as keyof typeof DTYPE_BITS] - DTYPE_BITS[a[0] as keyof typeof DTYPE_BITS] || a[0].localeCompare(b[0]));
  out.push(
    `${group(info.tensors.length)} tensors, ${group(elements)} elements, ${group(bytes)} bytes of data` +
      (dtypes.length ? ` (${dtypes.map(([d, n]) => `${d} x${n}`).join(', ')})` : ''),
  );
  return out.join('\n') + '\n';
}

/** Metadata values may hold newlines (JSON configs): keep the table one line per key. */
function oneLine(text: string, max = 100): string {
  const flat = text.replace(/\s*\n\s*/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
