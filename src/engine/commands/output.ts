// Checks of a command's output path (-o) made before any work, so a long projection does not
// fail only when it is done: its folder must exist and be writable, no folder may be in the
// way (unless the output is a folder: a sharded apply), and it must not be one of the
// command's input files, which the atomic rename would replace.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UserError } from '../errors';
import { asWriteError } from '../io/atomicWrite';
import type { Model } from '../safetensors/model';

export async function checkOutput(command: string, out: string, inputs: readonly string[], options: { folderOk?: boolean } = {}): Promise<void> {
  const folder = dirname(resolve(out));
  const folderStat = await stat(folder).catch((err: unknown) => {
    throw asWriteError(out, err);
  });
  if (!folderStat.isDirectory()) throw asWriteError(out, errno('ENOTDIR'));
  await access(folder, constants.W_OK).catch((err: unknown) => {
    throw asWriteError(out, err);
  });
  const target = await fileId(out);
  if (!target) return; // a new file cannot be an input
  if (target.folder && !options.folderOk) throw asWriteError(out, errno('EISDIR'));
  for (const input of inputs) {
    const id = await fileId(input);
    // Same device and inode: the same file, also through a link or another spelling of the path.
    if (id && id.dev === target.dev && id.ino === target.ino) {
      const which = input === out ? 'an input' : `the input ${input}`;
      throw new UserError(`${command}: -o ${out} is ${which}; writing it would replace the input`);
    }
  }
}

/** The files an open model reads: what was opened (a shard index) and its data files. */
export function modelFiles(model: Pick<Model, 'info'>): string[] {
  return [model.info.path, ...model.info.files.map((f) => f.path)];
}

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(code), { code });
}

async function fileId(path: string): Promise<{ dev: bigint; ino: bigint; folder: boolean } | undefined> {
  try {
    const s = await stat(path, { bigint: true });
    return { dev: s.dev, ino: s.ino, folder: s.isDirectory() };
  } catch {
    return undefined; // missing or unreadable: reading it reports that
  }
}
