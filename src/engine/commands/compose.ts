// `tensorscope compose P1 P2 -o P`: one patch doing P1 then P2 (P2 made on P1's result).
// Exit 1 with the conflicts listed when P2 does not start from P1's result; nothing written.
import { composePatches } from '../patch/compose';
import { readPatchFile, writePatchFile } from '../patch/file';
import { conflictLines, patchSummary } from '../patch/summary';
import { parseCommandArgs } from './args';
import type { Command } from './command';
import { requireOutput } from './diff';
import { checkOutput } from './output';

export const composeCommand: Command = {
  name: 'compose',
  usage: 'compose P1 P2 -o P',
  summary: 'combine two .stpatch files made in sequence (P2 on the result of P1) into one',
  async run(args, io) {
    const { positionals, values } = parseCommandArgs(composeCommand, args, { output: { type: 'string', short: 'o' } }, ['P1', 'P2']);
    const out = requireOutput(composeCommand.name, values.output);
    const [p1, p2] = positionals;
    const { patch, conflicts } = composePatches(await readPatchFile(p1), await readPatchFile(p2));
    await checkOutput(composeCommand.name, out, positionals);
    if (conflicts.length > 0) {
      io.stderr(conflictLines(conflicts));
      io.stderr(`tensorscope: ${p2} was not made on the result of ${p1} (${conflicts.length} conflicts); nothing written\n`);
      return 1;
    }
    await writePatchFile(out, patch);
    io.stdout(`${patchSummary(patch)} -> ${out}\n`);
    return 0;
  },
};
