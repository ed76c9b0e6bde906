// `tensorscope knn INPUT TENSOR -o OUT [--neighbors 15] [--metric euclidean|cosine]`: the exact
// k nearest other rows of every row of a 2-D tensor. OUT: indices [N, k] I64 (nearest first,
// ties by lower index) and distances [N, k] F32 (Euclidean, or 1 - cosine similarity).
import { resolve } from 'node:path';
import { withErrorPrefix } from '../errors';
import { integerOption, parseCommandArgs } from './args';
import type { Command } from './command';
import { metricOption, requireOutput } from './umap';
import { checkOutput, modelFiles } from './output';
import { withModel } from './withModel';

export const knnCommand: Command = {
  name: 'knn',
  usage: 'knn INPUT TENSOR -o OUT [--neighbors 15] [--metric euclidean|cosine]',
  summary: 'exact k nearest neighbours of every row of a 2-D tensor (itself excluded)',
  async run(args, io) {
    const { positionals, values } = parseCommandArgs(
      knnCommand,
      args,
      { output: { type: 'string', short: 'o' }, neighbors: { type: 'string' }, metric: { type: 'string' } },
      ['INPUT', 'TENSOR'],
    );
    const out = requireOutput(knnCommand.name, values.output);
    const k = integerOption(knnCommand, 'neighbors', values.neighbors, 1, 10_000) ?? 15;
    const metric = metricOption(knnCommand.name, values.metric) ?? 'euclidean';
    const [input, tensor] = positionals;
    const { nearestNeighbors, providerInfo, readAllRows, tensorSource } = await import('../projection/index');
    const { writeSafetensors } = await import('../safetensors/writer');
    const { terminalProgress } = await import('../projection/cliProgress');
    const progress = terminalProgress('knn');
    try {
      let label = '';
      const rows = await withModel(input, async (m) => {
        await checkOutput(knnCommand.name, out, modelFiles(m));
        const source = tensorSource(m, tensor);
        label = source.label;
        return readAllRows(source);
      });
      const knn = await withErrorPrefix(`knn: ${label}`, () => nearestNeighbors(rows, k, metric, progress));
      const indices = BigInt64Array.from(knn.indices, (v) => BigInt(v));
      await writeSafetensors(
        resolve(out),
        [
          { name: 'indices', dtype: 'I64', shape: [knn.rows, k], data: new Uint8Array(indices.buffer) },
          { name: 'distances', dtype: 'F32', shape: [knn.rows, k], data: new Uint8Array(knn.distances.buffer) },
        ],
        { format: 'tensorscope.knn', version: '1', source_tensor: tensor, metric, k: String(k), exclude_self: 'true' },
      );
      progress.done();
      const provider = providerInfo();
      io.stdout(`${out}: indices [${knn.rows}, ${k}] I64, distances [${knn.rows}, ${k}] F32 (${metric}, exact) on ${provider?.provider ?? 'cpu'}\n`);
      if (process.stderr.isTTY && provider?.note) io.stderr(`onnxruntime: ${provider.note}\n`);
    } finally {
      progress.done();
    }
    return 0;
  },
};
