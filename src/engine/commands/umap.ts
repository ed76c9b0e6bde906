// `tensorscope umap INPUT TENSOR -o OUT [...]`: standardise -> PCA -> exact kNN -> UMAP of a
// 2-D tensor's rows; OUT holds `embedding` [N, components] F32 and the projection model
// (see projection/store.ts), so new rows can be placed in it later.
import { resolve } from 'node:path';
import { UserError, withErrorPrefix } from '../errors';
import { integerOption, numberOption, parseCommandArgs } from './args';
import type { Command } from './command';
import { checkOutput, modelFiles } from './output';
import { withModel } from './withModel';

export const umapCommand: Command = {
  name: 'umap',
  usage:
    'umap INPUT TENSOR -o OUT [--neighbors 15] [--components 2] [--pca 50] [--metric euclidean|cosine] [--seed 0] [--min-dist 0.1] [--epochs N] [--no-scale]',
  summary: 'UMAP embedding of the rows of a 2-D tensor (standardise, PCA, exact kNN), saved with its projection model',
  async run(args, io) {
    const { positionals, values } = parseCommandArgs(
      umapCommand,
      args,
      {
        output: { type: 'string', short: 'o' },
        neighbors: { type: 'string' },
        components: { type: 'string' },
        pca: { type: 'string' },
        metric: { type: 'string' },
        seed: { type: 'string' },
        'min-dist': { type: 'string' },
        epochs: { type: 'string' },
        'no-scale': { type: 'boolean' },
      },
      ['INPUT', 'TENSOR'],
    );
    const out = requireOutput(umapCommand.name, values.output);
    const minDist = numberOption(umapCommand, 'min-dist', values['min-dist'], 0, 1);
    const options = {
      nNeighbors: integerOption(umapCommand, 'neighbors', values.neighbors, 2, 1000),
      components: integerOption(umapCommand, 'components', values.components, 2, 3),
      pca: integerOption(umapCommand, 'pca', values.pca, 0, 256),
      metric: metricOption(umapCommand.name, values.metric),
      seed: integerOption(umapCommand, 'seed', values.seed, 0, 2 ** 32 - 1),
      epochs: integerOption(umapCommand, 'epochs', values.epochs, 1, 100_000),
      minDist,
      standardize: values['no-scale'] ? false : undefined,
    };
    const [input, tensor] = positionals;
    const { fitProjection, saveProjection, tensorSource } = await import('../projection/index');
    const { terminalProgress } = await import('../projection/cliProgress');
    const progress = terminalProgress('umap');
    const started = performance.now();
    try {
      const projection = await withModel(input, async (model) => {
        await checkOutput(umapCommand.name, out, modelFiles(model));
        const source = tensorSource(model, tensor);
        return withErrorPrefix(`umap: ${source.label}`, () => fitProjection(source, options, progress));
      });
      await saveProjection(resolve(out), projection, { source_tensor: tensor });
      progress.done();
      const o = projection.options;
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      io.stdout(
        `${out}: embedding [${projection.rows}, ${o.components}] F32 (pca ${projection.pca?.nComponents ?? 0}, ` +
          `${o.nNeighbors} neighbours, ${o.metric}, ${o.epochs} epochs, seed ${o.seed}) in ${seconds} s on ${projection.stats.provider}\n`,
      );
      // Why ONNX Runtime runs on this provider (e.g. no CUDA libraries), for a person watching.
      if (process.stderr.isTTY && projection.stats.providerNote) io.stderr(`onnxruntime: ${projection.stats.providerNote}\n`);
    } finally {
      progress.done();
    }
    return 0;
  },
};

export function requireOutput(command: string, value: string | boolean | undefined): string {
  if (typeof value !== 'string' || value === '') throw new UserError(`${command}: missing -o OUT (the .safetensors file to write)`);
  return value;
}

export function metricOption(command: string, value: string | boolean | undefined): 'euclidean' | 'cosine' | undefined {
  if (value === undefined) return undefined;
  if (value !== 'euclidean' && value !== 'cosine') throw new UserError(`${command}: unknown metric '${value}' (use euclidean or cosine)`);
  return value;
}
