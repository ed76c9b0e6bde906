// `tensorscope diff BASE TARGET -o PATCH`: the .stpatch that turns BASE into TARGET (same layout).
import { UserError } from '../errors';
import { diffModels } from '../patch/diff';
import { writePatchFile } from '../patch/file';
import { patchSummary } from '../patch/summary';
import { parseCommandArgs } from './args';
import type { Command } from './command';
import { checkOutput, modelFiles } from './output';
import { withModel } from './withModel';

export const diffCommand: Command = {
  name: 'diff',
  usage: 'diff BASE TARGET -o PATCH',
  summary: 'write the .stpatch of the tensor bytes that differ between two models of the same layout',
  async run(args, io) {
    const { positionals, values } = parseCommandArgs(diffCommand, args, { output: { type: 'string', short: 'o' } }, ['BASE', 'TARGET']);
    const out = requireOutput(diffCommand.name, values.output);
    const [basePath, targetPath] = positionals;
    const { patch, headersDiffer } = await withModel(basePath, (base) =>
      withModel(targetPath, async (target) => {
        await checkOutput(diffCommand.name, out, [...modelFiles(base), ...modelFiles(target)]);
        return diffModels(base, target);
      }),
    );
    await writePatchFile(out, patch);
    if (headersDiffer) io.stderr(`tensorscope: note: the headers differ (e.g. __metadata__); the patch carries tensor bytes only\n`);
    io.stdout(`${patchSummary(patch)} -> ${out}\n`);
    return 0;
  },
};

/** The -o/--output value, required. */
export function requireOutput(command: string, value: string | boolean | undefined): string {
  if (typeof value !== 'string' || value === '') throw new UserError(`${command}: missing -o OUTPUT`);
  return value;
}
