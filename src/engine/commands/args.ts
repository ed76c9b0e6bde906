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
    parsed = parseArgs({ args: joinNegativeValues(args, options), options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UserError(`${command.name}: ${describeParseError(err, args)} (${usage})`);
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

/**
 * `--seed -1`: parseArgs refuses a value that starts with '-' as ambiguous. A negative number
 * after an option that takes a value is meant as its value, so it is passed as `--seed=-1`
 * and the option's own check says what is wrong with it.
 */
function joinNegativeValues(args: string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') return [...out, ...args.slice(i)];
    const name = arg.startsWith('--') ? arg.slice(2) : Object.keys(options).find((k) => options[k].short !== undefined && arg === `-${options[k].short}`);
    const next = args[i + 1];
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && /^-\.?\d/.test(next)) {
      out.push(`--${name}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** parseArgs' own messages are long and suggest '--' tricks; say what is wrong in a few words. */
function describeParseError(err: unknown, args: string[]): string {
  const code = (err as { code?: string }).code;
  const message = err instanceof Error ? err.message : String(err);
  // The option as parseArgs names it: '--bogus', '-o, --output <value>', '--json'.
  const spec = /'(-[^']*)'/.exec(message)?.[1];
  const option = spec?.replace(/ <value>$/, '');
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option '${option ?? message.split('\n')[0]}'`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      if (!option) return message.split('\n')[0];
      if (/does not take an argument/.test(message)) return `option '${option}' takes no value`;
      // A missing value is at the end of the line: name the option as it was typed.
      const typed = /argument missing/.test(message) && args.at(-1)?.startsWith('-') ? args.at(-1) : option;
      // parseArgs' hint names the long form: "use '--output=-XYZ' or '-o-XYZ'".
      const long = /'(--[\w-]+)=/.exec(message)?.[1] ?? option;
      return /ambiguous/.test(message)
        ? `option '${option}' needs a value (write ${long}=VALUE for one that starts with '-')`
        : `option '${typed}' needs a value`;
    }
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

/** A decimal number option value (no hex, no blanks) from min to max, or a UserError naming the option. */
export function numberOption(command: Pick<Command, 'name'>, name: string, value: string | boolean | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'string' && /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) throw new UserError(`${command.name}: --${name} must be a number from ${min} to ${max}, not '${value}'`);
  return n;
}
