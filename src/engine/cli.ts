// The `tensorscope` command line (dist/cli.js), also the engine's entry point
// (`tensorscope serve`). Dispatches on the first argument to the COMMANDS registry.
// Exit codes: 0 ok, 2 bad input (one line on stderr, nothing on stdout), 1 internal error.

import { COMMANDS } from './commands/index';
import type { CliIO, Command } from './commands/command';
import { UserError } from './errors';
import { ENGINE_VERSION } from './version';

export function usage(commands: Command[] = COMMANDS): string {
  const lines = commands.flatMap((c) => [`  ${c.usage}`, `      ${c.summary}`]);
  return [
    'usage: tensorscope <command> [arguments]',
    '',
    'Look inside .safetensors model weights.',
    '',
    'commands:',
    ...lines,
    '',
    'tensorscope --version prints the version; tensorscope <command> --help a command\'s usage.',
    'Exit status: 0 ok, 2 bad input (one line on stderr), 1 internal error.',
    '',
  ].join('\n');
}

/** Runs one command line; returns the exit code. Never throws. */
export async function main(argv: string[], io: CliIO, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [name, ...args] = argv;
  try {
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      io.stdout(usage());
      return 0;
    }
    if (name === '--version' || name === '-V') {
      io.stdout(`${ENGINE_VERSION}\n`);
      return 0;
    }
    const command = COMMANDS.find((c) => c.name === name);
    if (!command) throw new UserError(`unknown command '${name}'; the commands are ${COMMANDS.map((c) => c.name).join(', ')} (tensorscope --help)`);
    if (args.includes('--help') || args.includes('-h')) {
      io.stdout(`usage: tensorscope ${command.usage}\n\n${command.summary}\n`);
      return 0;
    }
    return await command.run(args, io);
  } catch (err) {
    if (err instanceof UserError) {
      io.stderr(`tensorscope: ${err.message}\n`);
      return 2;
    }
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    io.stderr(`tensorscope: internal error: ${message}\n`);
    if (env.TENSORSCOPE_DEBUG === '1' && err instanceof Error && err.stack) io.stderr(`${err.stack}\n`);
    return 1;
  }
}

function runAsProcess(): void {
  // `tensorscope ... | head` closes stdout early: stop quietly instead of crashing on EPIPE.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    process.stderr.write(`tensorscope: cannot write output: ${err.message}\n`);
    process.exit(1);
  });
  const io: CliIO = {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
  };
  void main(process.argv.slice(2), io).then((code) => {
    // Let pending writes drain instead of process.exit().
    process.exitCode = code;
  });
}

if (require.main === module) runAsProcess();
