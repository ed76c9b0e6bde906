// Atomic output: everything is written to a hidden temporary file (or folder) next to the
// target, `.<name>.tmp-<pid>-<random>`, fsynced, then renamed over the target. On any error
// the temporary is removed, so the target is either the old one or the complete new one.
// A process killed part-way cannot clean up: it leaves the hidden temporary behind, never a
// partial target. Such leftovers are removed by the next write to the same target once
// their process is gone and they have not been touched for STALE_AFTER_MS.

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { UserError } from '../errors';

export const STALE_AFTER_MS = 10 * 60 * 1000;

export function tempPathFor(target: string): string {
  const dir = nodePath.dirname(target);
  return nodePath.join(dir, `.${nodePath.basename(target)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
}

const TEMP_NAME = /^\.(.*)\.tmp-(\d+)-[0-9a-f]+$/;

/** Removes leftovers of killed writers of `target` (best effort; never throws). */
export async function cleanStaleTemps(target: string, now = Date.now()): Promise<string[]> {
  const dir = nodePath.dirname(target);
  const name = nodePath.basename(target);
  const removed: string[] = [];
  let entries: string[];
  try {
    entries = await fs.readdir(dir);
  } catch {
    return removed;
  }
  for (const entry of entries) {
    const m = TEMP_NAME.exec(entry);
    if (!m || m[1] !== name) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || processAlive(pid)) continue;
    const path = nodePath.join(dir, entry);
    try {
      // Another machine may share this folder (NFS): only take files nobody wrote lately.
      const stat = await fs.lstat(path);
      if (now - stat.mtimeMs < STALE_AFTER_MS) continue;
      await fs.rm(path, { recursive: true, force: true });
      removed.push(path);
    } catch {
      // gone already, or not ours to remove
    }
  }
  return removed;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/**
 * Creates `target` atomically: `fill(temp)` creates the temporary file or folder `temp` and
 * writes it completely; then it is fsynced and renamed over `target`.
 */
export async function atomicReplace(target: string, fill: (temp: string) => Promise<void>): Promise<void> {
  await cleanStaleTemps(target);
  const temp = tempPathFor(target);
  try {
    await fill(temp);
    await syncPath(temp);
    await fs.rename(temp, target);
  } catch (e) {
    await fs.rm(temp, { recursive: true, force: true }).catch(() => {});
    throw asWriteError(target, e);
  }
  await syncPath(nodePath.dirname(target)).catch(() => {}); // make the rename durable (best effort)
}

/** Writes `chunks` to `target` atomically. */
export async function writeFileAtomic(target: string, chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<void> {
  await atomicReplace(target, async (temp) => {
    const handle = await fs.open(temp, 'wx');
    try {
      for await (const chunk of chunks) await writeAll(handle, chunk, null);
    } finally {
      await handle.close();
    }
  });
}

/** Writes all of `bytes` at `position` (null: the current position). */
export async function writeAll(handle: fs.FileHandle, bytes: Uint8Array, position: number | null): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const length = Math.min(bytes.length - done, 1 << 30);
    const { bytesWritten } = await handle.write(bytes, done, length, position === null ? null : position + done);
    done += bytesWritten;
  }
}

/** fsync a file, or a folder and the files directly in it. */
async function syncPath(path: string): Promise<void> {
  const stat = await fs.stat(path);
  if (stat.isDirectory()) {
    for (const entry of await fs.readdir(path)) {
      const child = nodePath.join(path, entry);
      if ((await fs.stat(child)).isFile()) await syncPath(child);
    }
  }
  const handle = await fs.open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** File system errors become one-line UserErrors naming the target. */
export function asWriteError(target: string, e: unknown): unknown {
  if (e instanceof UserError) return e;
  const err = e as NodeJS.ErrnoException;
  if (!err || typeof err.code !== 'string') return e;
  const name = nodePath.basename(target);
  switch (err.code) {
    case 'ENOENT':
      return new UserError(`${target}: cannot write: no such folder ${nodePath.dirname(target)}`);
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new UserError(`${target}: cannot write: permission denied`);
    case 'ENOSPC':
    case 'EDQUOT':
      return new UserError(`${name}: cannot write: no space left on the device`);
    case 'EISDIR':
    case 'ENOTEMPTY':
    case 'EEXIST':
      return new UserError(`${target}: cannot write: a folder is in the way`);
    case 'ENOTDIR':
      return new UserError(`${target}: cannot write: ${nodePath.dirname(target)} is not a folder`);
    default:
      // Node's message names the temporary file ("ENAMETOOLONG: name too long, open '.x.tmp-…'"): keep the reason only.
      return new UserError(`${target}: cannot write: ${err.message.split('\n')[0].replace(/^[A-Z]+: /, '').replace(/, \w+ '.*$/, '')}`);
  }
}

/**
 * Test hook: with TENSORSCOPE_TEST_PAUSE_AFTER_BYTES=N in the environment, a writer that has
 * written at least N bytes into its temporary file stops there (announcing it on stderr)
 * until it is killed, so tests can kill it part-way and check that nothing is left behind.
 */
export async function pauseForTests(bytesWritten: number, temp: string): Promise<void> {
  const limit = process.env.TENSORSCOPE_TEST_PAUSE_AFTER_BYTES;
  if (limit === undefined || bytesWritten < Number(limit)) return;
  process.stderr.write(`tensorscope-test: paused after ${bytesWritten} bytes in ${temp}\n`);
  await new Promise<never>(() => {
    setInterval(() => {}, 1 << 30);
  });
}
