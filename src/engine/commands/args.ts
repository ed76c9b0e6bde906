// Argument parsing shared by the CLI subcommands: node:util parseArgs plus a check of the
// positional arguments, with one-line UserErrors (exit 2) that show the command's usage.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from '../errors';
import type { Command } from './command';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface ParsedArgs {
  positionals: string[];
  values: Record<string, string | boolean | undefined>;
}

/**
 * Parses `args` for `command`: `positionals` names the required positional arguments in
 * order (e.g. ['FILE', 'TENSOR']); missing or extra ones are a UserError.
 */
export function parseCommandArgs(command: Pick<Command, 'name' | 'usage'>, args: string[], options: Options, positionals: string[]): ParsedArgs {
  const usage = `usage: tensorscope ${command.usage}`;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UserError(`${command.name}: ${describeParseError(err)} (${usage})`);
  }
  if (parsed.positionals.length < positionals.length) {
    const missing = positionals.slice(parsed.positionals.length).join(' ');
    throw new UserError(`${command.name}: missing ${missing} (${usage})`);
  }
  if (parsed.positionals.length > positionals.length) {
    throw new UserError(`${command.name}: unexpected argument '${parsed.positionals[positionals.length]}' (${usage})`);
  }
  return { positionals: parsed.positionals, values: parsed.values as ParsedArgs['values'] };
}

/** parseArgs' own messages are long and suggest '--' tricks; say what is wrong in a few words. */
function describeParseError(err: unknown): string {
  const code = (err as { code?: string }).code;
  const message = err instanceof Error ? err.message : String(err);
  const option = /'(-[^' ]*)/.exec(message)?.[1];
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option '${option ?? message}'`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return option ? `option '${option}' ${/requires|argument missing/i.test(message) ? 'needs a value' : 'takes no value'}` : message.split('\n')[0];
    default:
      return message.split('\n')[0];
  }
}

/** A non-negative integer option value, or a UserError naming the option. */
export function integerOption(command: Pick<Command, 'name'>, name: string, value: string | boolean | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UserError(`${command.name}: --${name} must be an integer from ${min} to ${max}, not '${value}'`);
  }
  return n;
}
