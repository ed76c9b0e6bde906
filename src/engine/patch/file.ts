// Reading and writing .stpatch files: one-line UserErrors for unreadable files, atomic writes.

import * as fs from 'node:fs/promises';
import { UserError } from '../errors';
import { writeFileAtomic } from '../io/atomicWrite';
import { parsePatch } from './parse';
import { serializePatch } from './serialize';
import type { Patch } from './types';

/** Reads and parses a patch; errors name the path as given, e.g. `model.stpatch:17: ...`. */
export async function readPatchFile(path: string): Promise<Patch> {
  let bytes: Buffer;
  try {
    const stat = await fs.stat(path);
    if (stat.isDirectory()) throw new UserError(`${path}: is a folder, not a .stpatch file`);
    bytes = await fs.readFile(path);
  } catch (e) {
    if (e instanceof UserError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new UserError(`${path}: no such file`);
    if (code === 'EACCES' || code === 'EPERM') throw new UserError(`${path}: permission denied`);
    throw new UserError(`${path}: cannot read: ${(e as Error).message.split('\n')[0]}`);
  }
  return parsePatch(bytes, path);
}

export async function writePatchFile(path: string, patch: Patch): Promise<void> {
  await writeFileAtomic(path, [serializePatch(patch)]);
}
