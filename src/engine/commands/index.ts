// The registry of CLI subcommands; cli.ts dispatches on the first argument.
import type { Command } from './command';

export const COMMANDS: Command[] = [
  // each module in this folder adds its command here
];
