// "Set Up Git Diff for Models": makes plain `git diff` (and every git tool) show models as
// text through `tensorscope textconv`, for one repository:
//   .gitattributes         *.safetensors diff=tensorscope     (appended when missing)
//   .git/config (local)    diff.tensorscope.textconv = <node> <dist/cli.js> textconv
// The command runs the CLI bundled with this extension with the extension host's own
// Node (VS Code's Electron runs as Node with ELECTRON_RUN_AS_NODE=1). git runs textconv
// through the shell, so both paths are single-quoted. No `vscode` import: tested in real
// repositories.

import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { writeFileAtomic } from '../../engine/io/atomicWrite';
import { git } from './git';

export const DIFF_DRIVER = 'tensorscope';
export const ATTRIBUTES_LINE = `*.safetensors diff=${DIFF_DRIVER}`;
export const TEXTCONV_KEY = `diff.${DIFF_DRIVER}.textconv`;

/** A word for a POSIX shell: single quotes, with ' written as '\''. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The textconv command line: the extension's Node running the bundled CLI. */
export function textconvCommand(nodePath: string, cliPath: string): string {
  return `ELECTRON_RUN_AS_NODE=1 ${shellQuote(nodePath)} ${shellQuote(cliPath)} textconv`;
}

/** Whether .gitattributes text already routes *.safetensors to the tensorscope driver. */
export function hasAttributesLine(text: string): boolean {
  return text.split(/\r?\n/).some((line) => {
    const [pattern, ...attrs] = line.trim().split(/\s+/);
    return pattern === '*.safetensors' && attrs.includes(`diff=${DIFF_DRIVER}`);
  });
}

export interface GitDiffSetup {
  attributesFile: string;
  /** The line was appended (false: it was there already). */
  attributesAdded: boolean;
  command: string;
  /** The value the config had before (null: unset). */
  previousCommand: string | null;
}

/** What setUpGitDiff would change, without changing it (for the confirmation). */
export async function plannedSetup(root: string): Promise<{ attributesAdded: boolean; previousCommand: string | null }> {
  const text = await fs.readFile(path.join(root, '.gitattributes'), 'utf8').catch(() => '');
  return { attributesAdded: !hasAttributesLine(text), previousCommand: await currentCommand(root) };
}

export async function setUpGitDiff(root: string, command: string): Promise<GitDiffSetup> {
  const attributesFile = path.join(root, '.gitattributes');
  let text = '';
  try {
    text = await fs.readFile(attributesFile, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const attributesAdded = !hasAttributesLine(text);
  if (attributesAdded) {
    const separator = text === '' || text.endsWith('\n') ? '' : '\n';
    await writeFileAtomic(attributesFile, [Buffer.from(`${text}${separator}${ATTRIBUTES_LINE}\n`, 'utf8')]);
  }
  const previousCommand = await currentCommand(root);
  if (previousCommand !== command) await git(root, ['config', '--local', TEXTCONV_KEY, command]);
  return { attributesFile, attributesAdded, command, previousCommand };
}

async function currentCommand(root: string): Promise<string | null> {
  try {
    return (await git(root, ['config', '--local', '--get', TEXTCONV_KEY])).replace(/\n$/, '');
  } catch {
    return null; // exit 1: unset
  }
}
