// `git:REV:PATH` model arguments: the file as committed at REV, streamed out of git with
// `git cat-file blob` into a private temp file (models are large: never through memory).
// REV:PATH is git's own syntax, so PATH is relative to the repository root unless it
// starts with ./ or ../ (relative to the current directory), and an empty REV (`git::PATH`)
// means the index, as in `git show :PATH`.

import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../errors';
import { localLfsObject, readLfsPointer } from './gitLfs';

const PREFIX = 'git:';

/** A model argument resolved to a file on disk; dispose() removes what was made for it. */
export interface ResolvedPath {
  path: string;
  dispose(): Promise<void>;
}

/** True for `git:REV:PATH` arguments (an existing file of that name wins). */
export function isGitSpec(arg: string): boolean {
  return arg.startsWith(PREFIX) && arg.indexOf(':', PREFIX.length) >= 0 && !existsSync(arg);
}

/** A plain path as is, or a `git:REV:PATH` blob written to a temp file. */
export async function resolveModelPath(arg: string, cwd = process.cwd()): Promise<ResolvedPath> {
  if (!isGitSpec(arg)) return { path: arg, dispose: async () => {} };
  const object = arg.slice(PREFIX.length); // REV:PATH as git reads it
  const path = object.slice(object.indexOf(':') + 1);
  const dir = await mkdtemp(join(tmpdir(), 'tensorscope-git-'));
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    const file = join(dir, basename(path) || 'blob');
    await catBlob(object, file, cwd, arg);
    const pointer = await readLfsPointer(file);
    if (pointer) {
      const local = await localLfsObject(pointer, cwd);
      if (!local) throw new UserError(`${arg}: is a Git LFS pointer whose content is not here (oid ${pointer.oid}); run 'git lfs fetch'`);
      await dispose();
      return { path: local, dispose: async () => {} };
    }
    return { path: file, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}

async function catBlob(object: string, file: string, cwd: string, arg: string): Promise<void> {
  const git = spawn('git', ['cat-file', 'blob', object], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  git.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<number>((resolve, reject) => {
    git.on('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'ENOENT' ? new UserError(`${arg}: git is not installed (not on PATH)`) : err),
    );
    git.on('close', (code) => resolve(code ?? 1));
  });
  const written = pipeline(git.stdout, createWriteStream(file));
  const [code] = await Promise.all([exited, written]);
  if (code !== 0) {
    const reason = stderr.trim().split('\n')[0].replace(/^fatal:\s*/, '') || `git cat-file exited with ${code}`;
    throw new UserError(`${arg}: ${reason}`);
  }
}
