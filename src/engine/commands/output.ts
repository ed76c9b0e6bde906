// Checks of a command's output path (-o) made before any work: its folder must exist (a long
// projection should not fail only when it is done), and it must not be one of the command's
// input files, which the atomic rename would replace.
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UserError } from '../errors';
import { asWriteError } from '../io/atomicWrite';
import type { Model } from '../safetensors/model';

export async function checkOutput(command: string, out: string, inputs: readonly string[]): Promise<void> {
  const folder = dirname(resolve(out));
  const folderStat = await stat(folder).catch((err: unknown) => {
    throw asWriteError(out, err);
  });
  if (!folderStat.isDirectory()) throw asWriteError(out, Object.assign(new Error('not a directory'), { code: 'ENOTDIR' }));
  const target = await fileId(out);
  if (!target) return; // a new file cannot be an input
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

async function fileId(path: string): Promise<{ dev: bigint; ino: bigint } | undefined> {
  try {
    const s = await stat(path, { bigint: true });
    return { dev: s.dev, ino: s.ino };
  } catch {
    return undefined; // missing or unreadable: reading it reports that
  }
}
