// `tensorscope serve`: the engine process the extension host starts (JSON-RPC on stdio).
import { runServer } from '../server';
import { parseCommandArgs } from './args';
import type { Command } from './command';

export const serveCommand: Command = {
  name: 'serve',
  usage: 'serve',
  summary: 'run the engine: JSON-RPC on stdin/stdout (started by the VS Code extension)',
  async run(args) {
    parseCommandArgs(serveCommand, args, {}, []);
    // stdout is the wire: anything a library prints goes to the log (stderr) instead.
    console.log = console.info = console.debug = console.warn = console.error;
    process.on('unhandledRejection', (reason) => {
      console.error(`unhandled rejection: ${reason instanceof Error ? reason.stack : String(reason)}`);
    });
    await runServer();
    // stdin closed: the parent is gone. Do not wait for stray timers or handles.
    process.exit(0);
  },
};
