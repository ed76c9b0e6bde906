// `tensorscope stats FILE TENSOR [--json] [--bins N]`: streamed statistics of one tensor.
import type { TensorStats } from '../../shared/protocol';
import { tensorStats } from '../compute/stats';
import { integerOption, parseCommandArgs } from './args';
import { prettyJson } from './prettyJson';
import type { Command } from './command';
import { withModel } from './withModel';

export const statsCommand: Command = {
  name: 'stats',
  usage: 'stats FILE TENSOR [--json] [--bins N]',
  summary: 'count, NaN/inf/zeros, min/max/mean/std (float64, finite values), histogram and quantiles of a tensor',
  async run(args, io) {
    const { positionals, values } = parseCommandArgs(
      statsCommand,
      args,
      { json: { type: 'boolean' }, bins: { type: 'string' } },
      ['FILE', 'TENSOR'],
    );
    const bins = integerOption(statsCommand, 'bins', values.bins, 1, 100_000);
    const [file, name] = positionals;
    const { tensor, stats } = await withModel(file, async (model) => {
      const t = model.tensor(name);
      return { tensor: t, stats: await tensorStats(model, t, { bins }) };
    });
    if (values.json) {
      io.stdout(`${prettyJson(statsJson(stats))}\n`);
    } else {
      io.stdout(`${tensor.name}  ${tensor.dtype} [${tensor.shape.join(', ')}]\n${statsText(stats)}`);
    }
    return 0;
  },
};

/** The --json form, keys in a fixed order; min/max/mean/std are null when nothing is finite. */
export function statsJson(s: TensorStats) {
  return {
    numel: s.numel,
    nan: s.nan,
    inf: s.inf,
    zeros: s.zeros,
    min: s.min,
    max: s.max,
    mean: s.mean,
    std: s.std,
    histogram: s.histogram,
    quantiles: s.quantiles,
  };
}

const SPARK = ' ▁▂▃▄▅▆▇█';

export function statsText(s: TensorStats): string {
  const num = (v: number | null) => (v === null ? '-' : String(v));
  const rows: [string, string][] = [
    ['numel', String(s.numel)],
    ['nan', String(s.nan)],
    ['inf', String(s.inf)],
    ['zeros', String(s.zeros)],
    ['min', num(s.min)],
    ['max', num(s.max)],
    ['mean', num(s.mean)],
    ['std', num(s.std)],
  ];
  if (s.quantiles.length) rows.push(['quantiles', s.quantiles.map(([p, v]) => `p${+(p * 100).toFixed(2)}=${v}`).join('  ')]);
  const counts = regroup(s.histogram.counts, 64);
  if (counts.length && s.min !== null) {
    const top = Math.max(...counts);
    const bars = counts.map((c) => SPARK[c === 0 ? 0 : Math.max(1, Math.round((c / top) * (SPARK.length - 1)))]).join('');
    rows.push(['histogram', `${s.histogram.min} |${bars}| ${s.histogram.max}  (${s.histogram.counts.length} bins)`]);
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n') + '\n';
}

/** Sums adjacent bins so a long histogram fits one line of at most `max` bars. */
function regroup(counts: number[], max: number): number[] {
  if (counts.length <= max) return counts;
  const per = Math.ceil(counts.length / max);
  const out: number[] = [];
  for (let i = 0; i < counts.length; i += per) out.push(counts.slice(i, i + per).reduce((a, b) => a + b, 0));
  return out;
}
