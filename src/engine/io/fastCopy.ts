// Copying a (large) file as fast as the file system allows: a reflink (copy-on-write clone,
// btrfs/XFS/APFS: no data moves) when possible, else libuv's in-kernel copy
// (copy_file_range / sendfile on Linux: no data through user space), else a plain
// chunked read/write as the last resort.

import { constants } from 'node:fs';
import * as fs from 'node:fs/promises';
import { writeAll } from './atomicWrite';

const FALLBACK_CODES = new Set(['ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'ENOSYS', 'EINVAL']);

/** Copies `src` to `dest`, which must not exist yet. */
export async function copyFileFast(src: string, dest: string): Promise<void> {
  try {
    await fs.copyFile(src, dest, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
    return;
  } catch (e) {
    if (!FALLBACK_CODES.has((e as NodeJS.ErrnoException).code ?? '')) throw e;
    await fs.rm(dest, { force: true });
  }
  await copyByStreaming(src, dest);
}

const STREAM_CHUNK = 8 << 20;

export async function copyByStreaming(src: string, dest: string): Promise<void> {
  const input = await fs.open(src, 'r');
  try {
    const output = await fs.open(dest, 'wx', (await input.stat()).mode & 0o777);
    try {
      const buf = new Uint8Array(STREAM_CHUNK);
      for (let position = 0; ; ) {
        const { bytesRead } = await input.read(buf, 0, buf.length, position);
        if (bytesRead === 0) break;
        await writeAll(output, buf.subarray(0, bytesRead), position);
        position += bytesRead;
      }
    } finally {
      await output.close();
    }
  } finally {
    await input.close();
  }
}
