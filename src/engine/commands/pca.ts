// `tensorscope pca INPUT TENSOR -o OUT [--components 50] [--no-scale] [--seed 0]`: principal
// components of a 2-D tensor's rows (standardised unless --no-scale), streamed from the file.
// OUT: pca.coords [N, C] F32, pca.components [C, D] F32, pca.explained_variance [C] F64,
// scaler.mean / scaler.std [D] F64.
import { resolve } from 'node:path';
import { UserError } from '../errors';
import { integerOption, parseCommandArgs } from './args';
import type { Command } from './command';
import { requireOutput } from './umap';
import { checkOutput, modelFiles } from './output';
import { withModel } from './withModel';

export const pcaCommand: Command = {
  name: 'pca',
  usage: 'pca INPUT TENSOR -o OUT [--components 50] [--no-scale] [--seed 0]',
  summary: 'principal components of the rows of a 2-D tensor (standardised unless --no-scale)',
  async run(args, io) {
    const { positionals, values } = parseCommandArgs(
      pcaCommand,
      args,
      { output: { type: 'string', short: 'o' }, components: { type: 'string' }, seed: { type: 'string' }, 'no-scale': { type: 'boolean' } },
      ['INPUT', 'TENSOR'],
    );
    const out = requireOutput(pcaCommand.name, values.output);
    const components = integerOption(pcaCommand, 'components', values.components, 1, 256) ?? 50;
    const seed = integerOption(pcaCommand, 'seed', values.seed, 0, 2 ** 32 - 1) ?? 0;
    const standardize = !values['no-scale'];
    const [input, tensor] = positionals;
    const { fitPca, tensorSource } = await import('../projection/index');
    const { writeSafetensors } = await import('../safetensors/writer');
    const { terminalProgress } = await import('../projection/cliProgress');
    const progress = terminalProgress('pca');
    try {
      const { model, coords } = await withModel(input, async (m) => {
        await checkOutput(pcaCommand.name, out, modelFiles(m));
        const source = tensorSource(m, tensor);
        if (components > Math.min(source.rows, source.cols)) {
          throw new UserError(`pca: --components ${components} exceeds min(rows, columns) = ${Math.min(source.rows, source.cols)} of ${source.label}`);
        }
        return fitPca(source, { components, standardize, seed, ...progress });
      });
      const bytes = (a: Float32Array | Float64Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      await writeSafetensors(
        resolve(out),
        [
          { name: 'pca.coords', dtype: 'F32', shape: [coords.rows, coords.cols], data: bytes(coords.data) },
          { name: 'pca.components', dtype: 'F32', shape: [model.nComponents, model.cols], data: bytes(model.components) },
          { name: 'pca.explained_variance', dtype: 'F64', shape: [model.nComponents], data: bytes(model.explainedVariance) },
          { name: 'scaler.mean', dtype: 'F64', shape: [model.cols], data: bytes(model.scaler.mean) },
          { name: 'scaler.std', dtype: 'F64', shape: [model.cols], data: bytes(model.scaler.scale) },
        ],
        {
          format: 'tensorscope.pca',
          version: '1',
          source_tensor: tensor,
          components: String(model.nComponents),
          standardize: String(standardize),
          seed: String(seed),
          total_variance: String(model.totalVariance),
        },
      );
      progress.done();
      const explained = model.explainedVariance.reduce((s, v) => s + v, 0) / (model.totalVariance || 1);
      io.stdout(`${out}: pca.coords [${coords.rows}, ${coords.cols}] F32, ${(100 * explained).toFixed(1)}% of the variance\n`);
    } finally {
      progress.done();
    }
    return 0;
  },
};
