// One CLI subcommand. Commands parse their own arguments (node:util parseArgs) and write
// results to io.stdout; a UserError thrown from run() becomes one stderr line and exit 2.

export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
}

export interface Command {
  name: string;
  /** e.g. "inspect FILE [--json]" */
  usage: string;
  summary: string;
  run(args: string[], io: CliIO): Promise<number>;
}
