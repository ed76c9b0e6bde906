// Git LFS pointers: the small text files git stores (and diffs) in place of LFS-tracked
// content, and the content itself when this clone has fetched it. Spec:
// https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md — a pointer is at most 1024
// bytes, starts with the version line and has `oid sha256:<64 hex>` and `size <bytes>`.
// Fetched objects live at <git common dir>/lfs/objects/<oid[0:2]>/<oid[2:4]>/<oid> (the
// default; a custom lfs.storage is not looked up).

import { execFile } from 'node:child_process';
import { open as openFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';

const LFS_POINTER_PREFIX = 'version https://git-lfs.github.com/spec/v1';
const LFS_POINTER_MAX_BYTES = 1024;

export interface LfsPointer {
  /** e.g. "sha256:4d7a21..." */
  oid: string;
  size: number;
}

/**
 * The pointer in this file, or null when it is not one (also when the file cannot be read:
 * opening it as a model then says why).
 */
export async function readLfsPointer(path: string): Promise<LfsPointer | null> {
  const text = await readStart(path, LFS_POINTER_MAX_BYTES + 1).catch(() => null);
  if (text === null || text.length > LFS_POINTER_MAX_BYTES || !text.startsWith(LFS_POINTER_PREFIX)) return null;
  const oid = /^oid (\S+)$/m.exec(text)?.[1];
  const size = /^size (\d+)$/m.exec(text)?.[1];
  return oid && size ? { oid, size: Number(size) } : null;
}

/**
 * The fetched content of a pointer in the repository around `cwd`, or null when it is not
 * there. Checked by size only: hashing the whole object would read it twice.
 */
export async function localLfsObject(pointer: LfsPointer, cwd = process.cwd()): Promise<string | null> {
  const hex = /^sha256:([0-9a-f]{64})$/.exec(pointer.oid)?.[1];
  if (!hex) return null;
  const gitDir = await gitCommonDir(cwd);
  if (!gitDir) return null;
  const path = join(gitDir, 'lfs', 'objects', hex.slice(0, 2), hex.slice(2, 4), hex);
  const info = await stat(path).catch(() => null);
  return info?.isFile() && info.size === pointer.size ? path : null;
}

function gitCommonDir(cwd: string): Promise<string | null> {
  return new Promise((done) => {
    execFile('git', ['rev-parse', '--git-common-dir'], { cwd, encoding: 'utf8' }, (err, stdout) => {
      done(err ? null : resolve(cwd, stdout.trim()));
    });
  });
}

/** Up to `length` bytes from the start of a file, as latin1 text (one char per byte). */
async function readStart(path: string, length: number): Promise<string> {
  const file = await openFile(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await file.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead).toString('latin1');
  } finally {
    await file.close();
  }
}
