// `tensorscope apply BASE PATCH -o OUT [--only GLOB]`: bake a patched copy of BASE.
// Exit 0 written; 1 the patch does not fit (conflicts listed, nothing written); 2 bad input.
import { applyPatch } from '../patch/apply';
import { readPatchFile } from '../patch/file';
import { conflictLines, patchSummary } from '../patch/summary';
import { parseCommandArgs } from './args';
import type { Command } from './command';
import { requireOutput } from './diff';
import { checkOutput } from './output';

export const applyCommand: Command = {
  name: 'apply',
  usage: 'apply BASE PATCH -o OUT [--only GLOB]',
  summary: 'check a .stpatch against BASE and write the patched model to OUT (nothing is written on conflicts)',
  async run(args, io) {
    const { positionals, values } = parseCommandArgs(applyCommand, args, { output: { type: 'string', short: 'o' }, only: { type: 'string' } }, ['BASE', 'PATCH']);
    const out = requireOutput(applyCommand.name, values.output);
    const [basePath, patchPath] = positionals;
    const patch = await readPatchFile(patchPath);
    // OUT may be BASE: the patched model replaces it atomically, and only when the patch fits.
    // A sharded BASE gives a folder: atomicWrite says whether one in the way may be replaced.
    await checkOutput(applyCommand.name, out, [patchPath], { folderOk: true });
    const only = typeof values.only === 'string' ? values.only : undefined;
    const result = await applyPatch(basePath, patch, out, { only });
    if (!result.written) {
      io.stderr(conflictLines(result.conflicts));
      io.stderr(result.alreadyApplied ? `tensorscope: ${patchPath} is already applied to ${basePath}; nothing written\n` : `tensorscope: ${patchPath} does not apply to ${basePath} (${result.conflicts.length} conflicts); nothing written\n`);
      return 1;
    }
    io.stdout(`applied ${patchSummary({ ...patch, tensors: result.tensors, hunks: result.hunks })} -> ${out}\n`);
    return 0;
  },
};
