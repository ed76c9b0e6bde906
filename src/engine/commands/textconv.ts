// `tensorscope textconv FILE`: a model as stable text for `git diff` (see compare/textconv.ts).
// Setup, in a repository:
//   echo '*.safetensors diff=tensorscope' >> .gitattributes
//   git config diff.tensorscope.textconv 'tensorscope textconv'
//   git config diff.tensorscope.cachetextconv true   # optional: cache per blob
// A file that cannot be read prints `# tensorscope: FILE: <error>` and still exits 0, so
// `git diff` keeps working; only a usage error (no FILE) exits 2.

import { basename, resolve } from 'node:path';
import { textconv, textconvErrorLine } from '../compare/textconv';
import { UserError } from '../errors';
import { parseCommandArgs } from './args';
import type { Command } from './command';

export const textconvCommand: Command = {
  name: 'textconv',
  usage: 'textconv FILE',
  summary: "one stable line per tensor (name, dtype, shape, content hash, mean/std/min/max) for git's diff textconv",
  async run(args, io) {
    const { positionals } = parseCommandArgs(textconvCommand, args, {}, ['FILE']);
    const [file] = positionals;
    try {
      io.stdout(await textconv(resolve(file)));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      io.stdout(textconvErrorLine(file, withoutPathPrefix(message, file)));
      if (!(err instanceof UserError) && !isFileSystemError(err)) io.stderr(`tensorscope: textconv: internal error: ${message.split('\n')[0]}\n`);
    }
    return 0;
  },
};

/** Error messages usually start with the file they concern; the line names it once. */
function withoutPathPrefix(message: string, file: string): string {
  for (const p of [resolve(file), file, basename(file)]) {
    if (message.startsWith(`${p}: `)) return message.slice(p.length + 2);
  }
  return message;
}

function isFileSystemError(err: unknown): boolean {
  return typeof (err as NodeJS.ErrnoException)?.code === 'string' && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}
