// `tensorscope compare A B [--json] [--sort KEY] [--all] [-o PATCH]`: which tensors changed
// between two models (A before, B after), with how much. A or B may be `git:REV:PATH`
// (the file as committed at REV, see compare/gitBlob.ts). -o writes the differences as a
// .stpatch against A when both have the same layout.

import { basename, resolve } from 'node:path';
import type { ModelComparison, TensorComparison, TensorDiffMetrics } from '../../shared/protocol';
import { TENSOR_CHANGES, byCodePoint, compareModels } from '../compare/compareModels';
import { resolveModelPath, type ResolvedPath } from '../compare/gitBlob';
import { layoutsMatch } from '../compare/layout';
import { UserError } from '../errors';
import { diffModels } from '../patch/diff';
import { writePatchFile } from '../patch/file';
import { patchSummary } from '../patch/summary';
import { openModel, type Model } from '../safetensors/model';
import { parseCommandArgs } from './args';
import { checkOutput, modelFiles } from './output';
import type { Command } from './command';

const SORT_KEYS = ['name', 'maxAbs', 'meanAbs', 'rel', 'cos'] as const;
type SortKey = (typeof SORT_KEYS)[number];

export const compareCommand: Command = {
  name: 'compare',
  usage: 'compare A B [--json] [--sort name|maxAbs|meanAbs|rel|cos] [--all] [-o PATCH]',
  summary: 'tensors changed, added or removed between two models (A or B may be git:REV:PATH), with max/mean |Δ|, ‖Δ‖/‖A‖ and cosine',
  async run(args, io) {
    const { positionals, values } = parseCommandArgs(
      compareCommand,
      args,
      { json: { type: 'boolean' }, sort: { type: 'string' }, all: { type: 'boolean' }, output: { type: 'string', short: 'o' } },
      ['A', 'B'],
    );
    const sort = (values.sort ?? 'name') as SortKey;
    if (!SORT_KEYS.includes(sort)) throw new UserError(`compare: --sort must be one of ${SORT_KEYS.join(', ')}, not '${sort}'`);
    const [argA, argB] = positionals;

    const resolved: ResolvedPath[] = [];
    const models: Model[] = [];
    try {
      for (const arg of [argA, argB]) resolved.push(await resolveModelPath(arg));
      for (const [i, r] of resolved.entries()) models.push(await openResolved(r, positionals[i]));
      const [a, b] = models;
      const out = values.output;
      if (out !== undefined) {
        // Checked first: a layout mismatch is bad input, and nothing is compared or written.
        if (typeof out !== 'string' || out === '') throw new UserError('compare: -o needs a PATCH file name');
        await checkOutput(compareCommand.name, out, [...models.flatMap(modelFiles), argA, argB]);
        const mismatch = layoutsMatch(a.info, b.info);
        if (mismatch) throw new UserError(`compare: cannot write ${out}: ${mismatch} (a .stpatch needs the same tensors at the same offsets)`);
      }
      const comparison = await compareModels(a, b);
      // Report the arguments as given, not temp files of git blobs.
      comparison.pathA = argA;
      comparison.pathB = argB;
      comparison.tensors = sortTensors(comparison.tensors, sort);
      let patchLine = '';
      if (typeof out === 'string') {
        const { patch, headersDiffer } = await diffModels(a, b);
        await writePatchFile(out, patch);
        patchLine = `patch: ${patchSummary(patch)} -> ${out}${headersDiffer ? ' (tensor bytes only: the headers differ too)' : ''}\n`;
      }
      io.stdout(values.json ? comparisonJson(comparison) : comparisonText(comparison, { all: values.all === true }) + patchLine);
    } finally {
      for (const m of models) await m.close();
      for (const r of resolved) await r.dispose();
    }
    return 0;
  },
};

/** Opens a model argument; errors about a git blob's temp file name the argument (`git:REV:PATH: ...`). */
async function openResolved(r: ResolvedPath, arg: string): Promise<Model> {
  try {
    return await openModel(resolve(r.path));
  } catch (err) {
    if (!(err instanceof UserError) || r.path === arg) throw err;
    for (const shown of [resolve(r.path), basename(r.path)]) {
      if (err.message.startsWith(`${shown}: `)) throw new UserError(`${arg}: ${err.message.slice(shown.length + 2)}`);
    }
    throw err;
  }
}

/** The --json form: the ModelComparison, one line per tensor (readable, and greppable). */
export function comparisonJson(c: ModelComparison): string {
  const { tensors, ...summary } = c;
  const fields = Object.entries(summary).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  const rows = tensors.map((t) => `    ${JSON.stringify(t)}`).join(',\n');
  fields.push(`  "tensors": [${rows ? `\n${rows}\n  ` : ''}]`);
  return `{\n${fields.join(',\n')}\n}\n`;
}

/** Changed tensors by the metric (largest change first; cosine smallest first), then the rest by name. */
export function sortTensors(tensors: TensorComparison[], key: SortKey): TensorComparison[] {
  const byName = (x: TensorComparison, y: TensorComparison) => byCodePoint(x.name, y.name);
  if (key === 'name') return [...tensors].sort(byName);
  const metric = (t: TensorComparison): number | null => {
    const m = t.metrics;
    if (!m) return null;
    return key === 'maxAbs' ? m.maxAbs : key === 'meanAbs' ? m.meanAbs : key === 'rel' ? m.relative : m.cosine === null ? null : -m.cosine;
  };
  return [...tensors].sort((x, y) => {
    const mx = metric(x);
    const my = metric(y);
    if (x.metrics && !y.metrics) return -1;
    if (!x.metrics && y.metrics) return 1;
    if (mx !== my) {
      if (mx === null) return 1; // no value (e.g. only NaN changes): after those with one
      if (my === null) return -1;
      return my - mx;
    }
    return byName(x, y);
  });
}

/** The human form: a summary line, then one row per tensor that is not unchanged. */
export function comparisonText(c: ModelComparison, options: { all?: boolean } = {}): string {
  const counts = TENSOR_CHANGES.filter((k) => k !== 'unchanged' && c.counts[k] > 0).map((k) => `${c.counts[k]} ${CHANGE_WORDS[k]}`);
  const lines = [
    `A: ${c.pathA}`,
    `B: ${c.pathB}`,
    `${counts.length ? counts.join(', ') : 'no tensor changed'}; ${c.counts.unchanged} unchanged` +
      (c.metadataChanged.length ? `; __metadata__ keys changed: ${c.metadataChanged.map((k) => JSON.stringify(k)).join(', ')}` : ''),
  ];
  const shown = c.tensors.filter((t) => options.all || t.change !== 'unchanged');
  if (shown.length === 0) return `${lines.join('\n')}\n`;
  const header = ['tensor', 'change', 'dtype', 'shape', 'differing', 'max|Δ|', 'mean|Δ|', '‖Δ‖/‖A‖', 'cos'];
  const rows = shown.map((t) => [t.name, t.change, dtypeText(t), shapeText(t), ...metricCells(t)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const format = (r: string[]) => r.map((cell, i) => (i < 4 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ').trimEnd();
  return `${[...lines, '', format(header), ...rows.map(format)].join('\n')}\n`;
}

const CHANGE_WORDS = { changed: 'changed', dtype: 'dtype changed', shape: 'shape changed', added: 'added', removed: 'removed', unchanged: 'unchanged' };

function dtypeText(t: TensorComparison): string {
  if (t.a && t.b && t.a.dtype !== t.b.dtype) return `${t.a.dtype}->${t.b.dtype}`;
  return (t.a ?? t.b)!.dtype;
}

function shapeText(t: TensorComparison): string {
  const s = (shape: number[]) => `[${shape.join(', ')}]`;
  if (t.a && t.b && s(t.a.shape) !== s(t.b.shape)) return `${s(t.a.shape)}->${s(t.b.shape)}`;
  return s((t.a ?? t.b)!.shape);
}

function metricCells(t: TensorComparison): string[] {
  const m: TensorDiffMetrics | undefined = t.metrics;
  if (!m) return ['', '', '', '', ''];
  const numel = t.a!.shape.reduce((n, d) => n * d, 1);
  const percent = numel > 0 ? ` (${short((100 * m.differing) / numel)}%)` : '';
  const nonFinite = m.nonFinite > 0 ? `, ${m.nonFinite} nan/inf` : '';
  return [`${m.differing}${percent}${nonFinite}`, short(m.maxAbs), short(m.meanAbs), short(m.relative), short(m.cosine, 6)];
}

function short(x: number | null, digits = 4): string {
  return x === null ? '-' : String(Number(x.toPrecision(digits)));
}
