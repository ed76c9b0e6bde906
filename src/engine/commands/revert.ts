// `tensorscope revert PATCH -o INVERSE`: the patch that undoes PATCH (its base is PATCH's result).
import { revertPatch } from '../patch/compose';
import { readPatchFile, writePatchFile } from '../patch/file';
import { patchSummary } from '../patch/summary';
import { parseCommandArgs } from './args';
import type { Command } from './command';
import { requireOutput } from './diff';
import { checkOutput } from './output';

export const revertCommand: Command = {
  name: 'revert',
  usage: 'revert PATCH -o INVERSE',
  summary: 'write the inverse of a .stpatch (applied to the patched model, it restores the base)',
  async run(args, io) {
    const { positionals, values } = parseCommandArgs(revertCommand, args, { output: { type: 'string', short: 'o' } }, ['PATCH']);
    const out = requireOutput(revertCommand.name, values.output);
    const inverse = revertPatch(await readPatchFile(positionals[0]));
    await checkOutput(revertCommand.name, out, positionals);
    await writePatchFile(out, inverse);
    io.stdout(`${patchSummary(inverse)} -> ${out}\n`);
    return 0;
  },
};
