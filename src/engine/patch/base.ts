// Identifying a patch's base by content: each file's size and the SHA-256 of its header
// bytes, and the SHA-256 of the tensors a patch touches (streamed in chunks, never the whole
// model).

import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import type { TensorInfo } from '../../shared/protocol';
import { UserError } from '../errors';
import type { Model } from '../safetensors/model';
import { overlayHunks } from './hunks';
import { unitOf, type BaseFile, type Hunk, type TensorRef } from './types';

/** Streaming chunk size: big enough for throughput, small enough to stay out of the way. */
export const CHUNK_BYTES = 8 << 20;

/** Tensor bytes by positional reads: a Model, or a Model seen through an overlay of edits. */
export type ByteSource = Pick<Model, 'info' | 'tensor' | 'read' | 'readInto'>;

export async function readBaseFiles(model: Pick<Model, 'info'>): Promise<BaseFile[]> {
  const { files, path } = model.info;
  const sharded = files.length > 1 || path !== files[0]?.path;
  const indexDir = nodePath.dirname(path);
  return Promise.all(
    files.map(async (f) => ({
      name: sharded ? nodePath.relative(indexDir, f.path).split(nodePath.sep).join('/') : null,
      size: f.size,
      headerSha256: await headerSha256(f.path, f.headerLength),
    })),
  );
}

/** SHA-256 of a safetensors file's first 8 + N bytes. */
export async function headerSha256(path: string, headerLength: number): Promise<string> {
  const bytes = new Uint8Array(8 + headerLength);
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(path, 'r');
    let done = 0;
    while (done < bytes.length) {
      const { bytesRead } = await handle.read(bytes, done, bytes.length - done, done);
      if (bytesRead === 0) throw new UserError(`${nodePath.basename(path)}: file ended inside its header (changed while open?)`);
      done += bytesRead;
    }
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${nodePath.basename(path)}: cannot read: ${(e as Error).message}`);
  } finally {
    await handle?.close();
  }
  return createHash('sha256').update(bytes).digest('hex');
}

export function tensorRef(t: TensorInfo): TensorRef {
  return { name: t.name, dtype: t.dtype, shape: [...t.shape], fileIndex: t.fileIndex, fileOffset: t.fileOffset };
}

export function tensorBytes(t: TensorInfo): number {
  return t.dataOffsets[1] - t.dataOffsets[0];
}

/** Chunk boundaries over a tensor's bytes, on whole units. */
export function chunkSize(t: Pick<TensorInfo, 'dtype'>): number {
  const u = unitOf(t.dtype).bytes;
  return CHUNK_BYTES - (CHUNK_BYTES % u);
}

/**
 * SHA-256 of a tensor's bytes as read from `source`, with the `replacement` bytes of
 * `hunks` (sorted, this tensor's) laid over them when given.
 */
export async function hashTensor(source: ByteSource, t: TensorInfo, hunks?: readonly Hunk[]): Promise<string> {
  const hash = createHash('sha256');
  const size = tensorBytes(t);
  const step = chunkSize(t);
  const buf = new Uint8Array(Math.min(step, size));
  for (let at = 0; at < size; at += step) {
    const n = await source.readInto(t, at, buf);
    const chunk = buf.subarray(0, n);
    if (hunks && hunks.length) overlayHunks(hunks, at, chunk);
    hash.update(chunk);
  }
  return hash.digest('hex');
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
