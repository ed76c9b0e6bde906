// `tensorscope verify BASE PATCH`: exit 0 when the patch applies cleanly; 1 when it is already
// applied (prints "already applied") or conflicts (lists them); 2 bad input.
import { verifyPatch } from '../patch/check';
import { readPatchFile } from '../patch/file';
import { conflictLines, patchSummary } from '../patch/summary';
import { parseCommandArgs } from './args';
import type { Command } from './command';
import { withModel } from './withModel';

export const verifyCommand: Command = {
  name: 'verify',
  usage: 'verify BASE PATCH',
  summary: 'check that a .stpatch applies cleanly to BASE (exit 0), is already applied or conflicts (exit 1)',
  async run(args, io) {
    const { positionals } = parseCommandArgs(verifyCommand, args, {}, ['BASE', 'PATCH']);
    const [basePath, patchPath] = positionals;
    const patch = await readPatchFile(patchPath);
    const result = await withModel(basePath, (model) => verifyPatch(model, patch));
    if (result.status === 'clean') {
      io.stdout(`clean: ${patchSummary(patch)} apply to ${basePath}\n`);
      return 0;
    }
    if (result.status === 'already-applied') {
      io.stdout(`already applied: ${basePath} already has the patch's new bytes\n`);
      return 1;
    }
    io.stdout(conflictLines(result.conflicts));
    io.stdout(`conflicts: ${result.conflicts.length}; ${patchPath} does not apply to ${basePath}\n`);
    return 1;
  },
};
