// Plain `git` for the review commands: the repository around a file, a committed text file,
// whether a path is tracked, local config. The extension host only moves small text here
// (patches, config); committed models go through the engine (gitBlob), which streams them.
// No `vscode` import, so unit tests run it against real repositories.

import { execFile } from 'node:child_process';
import * as path from 'node:path';

/** A failed git command, with git's own first line (e.g. "fatal: path 'x' does not exist in 'HEAD'"). */
export class GitError extends Error {}

/** Most bytes of text one git command may print here (a large patch is still text). */
const MAX_OUTPUT = 1 << 30;

export function git(cwd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, env: env ?? process.env, encoding: 'utf8', maxBuffer: MAX_OUTPUT, windowsHide: true }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return reject(new GitError('git is not installed (not on PATH)'));
      const first = (stderr || err.message).trim().split('\n')[0].replace(/^(fatal|error): /, '');
      reject(new GitError(first || `git ${args[0]} failed`));
    });
  });
}

/** The root of the work tree holding `dir`, or null outside a repository. */
export async function repoRoot(dir: string): Promise<string | null> {
  try {
    return path.resolve((await git(dir, ['rev-parse', '--show-toplevel'])).trim());
  } catch {
    return null;
  }
}

/** `file` relative to the repository root, with forward slashes (git's REV:PATH form). */
export function repoPath(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join('/');
}

/** Whether `rev` holds the file (e.g. it is committed at HEAD). */
export async function existsAt(root: string, rev: string, relPath: string): Promise<boolean> {
  try {
    await git(root, ['cat-file', '-e', `${rev}:${relPath}`]);
    return true;
  } catch {
    return false;
  }
}

/** A committed text file (a .stpatch) as it is at `rev`. */
export function showText(root: string, rev: string, relPath: string): Promise<string> {
  return git(root, ['show', `${rev}:${relPath}`]);
}

/** The short name of a revision for labels ("HEAD (3f2a1bc)"). */
export async function describeRev(root: string, rev: string): Promise<string> {
  try {
    return `${rev} (${(await git(root, ['rev-parse', '--short', rev])).trim()})`;
  } catch {
    return rev;
  }
}
