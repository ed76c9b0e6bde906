// An open model: one .safetensors file, or the shards named by a *.safetensors.index.json,
// seen as one set of tensors. Opening reads the first 8 bytes and the header of each file,
// never the data; tensor bytes are read on demand with positional reads.

import * as fsSync from 'node:fs';
import * as fs from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import * as nodePath from 'node:path';
import type { ModelInfo, TensorInfo } from '../../shared/protocol';
import { UserError } from '../errors';
import { parseHeader, readHeaderLength, type ParsedHeader } from './header';
import { readShardIndex } from './shardIndex';

export interface Model {
  readonly info: ModelInfo;
  /** The tensor called `name`; throws UserError when there is none. */
  tensor(name: string): TensorInfo;
  /** Bytes [start, end) relative to the tensor's first byte; positional read, never the whole file. */
  read(t: TensorInfo, start: number, end: number): Promise<Uint8Array>;
  /** Fill dest with bytes starting at `start` (relative to the tensor); returns the bytes read (less at the tensor's end). */
  readInto(t: TensorInfo, start: number, dest: Uint8Array): Promise<number>;
  close(): Promise<void>;
}

/** Bytes of a tensor's data. */
export function tensorByteLength(t: TensorInfo): number {
  return t.dataOffsets[1] - t.dataOffsets[0];
}

/** Open a .safetensors file or a *.safetensors.index.json (sharded model). */
export async function openModel(path: string): Promise<Model> {
  const absolute = nodePath.resolve(path);
  const name = nodePath.basename(absolute);
  checkIsFile(absolute, name);
  return absolute.endsWith('.json') ? openSharded(absolute, name) : openSingle(absolute);
}

async function openSingle(path: string): Promise<Model> {
  const file = await openSafetensorsFile(path);
  const info: ModelInfo = {
    path,
    files: [{ path, size: file.size, headerLength: file.header.headerLength }],
    metadata: file.header.metadata,
    tensors: tensorInfos(file, 0),
  };
  return new OpenModel(nodePath.basename(path), info, [file.handle]);
}

async function openSharded(indexPath: string, indexName: string): Promise<Model> {
  const index = await readShardIndex(indexPath);
  const files: OpenFile[] = [];
  try {
    for (const shardPath of index.shards) {
      checkIsFile(shardPath, nodePath.basename(shardPath), indexName);
      files.push(await openSafetensorsFile(shardPath));
    }
    const tensors: TensorInfo[] = [];
    const owner = new Map<string, number>();
    files.forEach((file, fileIndex) => {
      for (const t of tensorInfos(file, fileIndex)) {
        const other = owner.get(t.name);
        if (other !== undefined) {
          throw new UserError(
            `${indexName}: tensor ${JSON.stringify(t.name)} is in both ${shardName(files[other])} and ${shardName(file)}`,
          );
        }
        owner.set(t.name, fileIndex);
        tensors.push(t);
      }
    });
    for (const [tensorName, shardPath] of index.weightMap) {
      const fileIndex = owner.get(tensorName);
      if (fileIndex === undefined || files[fileIndex].path !== shardPath) {
        throw new UserError(
          `${indexName}: weight_map puts tensor ${JSON.stringify(tensorName)} in ${nodePath.basename(shardPath)}, but that shard has no such tensor`,
        );
      }
    }
    const info: ModelInfo = {
      path: indexPath,
      files: files.map((f) => ({ path: f.path, size: f.size, headerLength: f.header.headerLength })),
      metadata: index.metadata,
      tensors,
    };
    return new OpenModel(indexName, info, files.map((f) => f.handle));
  } catch (e) {
    await Promise.all(files.map((f) => f.handle.close().catch(() => {})));
    throw e;
  }
}

interface OpenFile {
  path: string;
  size: number;
  handle: FileHandle;
  header: ParsedHeader;
}

function shardName(f: OpenFile): string {
  return nodePath.basename(f.path);
}

function tensorInfos(file: OpenFile, fileIndex: number): TensorInfo[] {
  const dataStart = 8 + file.header.headerLength;
  return file.header.entries.map((e) => ({
    name: e.name,
    dtype: e.dtype,
    shape: e.shape,
    dataOffsets: e.dataOffsets,
    fileOffset: dataStart + e.dataOffsets[0],
    fileIndex,
  }));
}

/** Refuses folders, FIFOs and the like before opening (opening a FIFO would wait for a writer). */
function checkIsFile(path: string, name: string, listedIn?: string): void {
  const where = listedIn ? ` (listed in ${listedIn})` : '';
  let stat;
  try {
    stat = fsSync.statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new UserError(`${path}: no such file${where}`);
    if (code === 'EACCES' || code === 'EPERM') throw new UserError(`${path}: permission denied${where}`);
    throw new UserError(`${name}: cannot open: ${(e as Error).message}${where}`);
  }
  if (stat.isDirectory()) throw new UserError(`${path}: is a directory, not a .safetensors file${where}`);
  if (!stat.isFile()) throw new UserError(`${path}: not a regular file${where}`);
}

async function openSafetensorsFile(path: string): Promise<OpenFile> {
  const name = nodePath.basename(path);
  let handle: FileHandle;
  try {
    handle = await fs.open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') throw new UserError(`${path}: permission denied`);
    throw new UserError(`${name}: cannot open: ${(e as Error).message}`);
  }
  try {
    // The size and the header are read with synchronous calls: each takes microseconds, while
    // an asynchronous call is a thread-pool round trip that costs more than parsing a
    // 1000-tensor header (parsing blocks for longer than reading anyway).
    const size = fsSync.fstatSync(handle.fd).size;
    // 9 bytes: the length and the header's first character (an error can then tell a file
    // that is not safetensors at all).
    const first = new Uint8Array(Math.min(9, size));
    readFullySync(handle.fd, name, first, 0);
    const headerLength = readHeaderLength(name, first, size);
    const prefix = new Uint8Array(8 + headerLength);
    prefix.set(first.subarray(0, Math.min(first.length, prefix.length)));
    if (prefix.length > first.length) readFullySync(handle.fd, name, prefix.subarray(first.length), first.length);
    return { path, size, handle, header: parseHeader(name, prefix, size) };
  } catch (e) {
    await handle.close().catch(() => {});
    throw e;
  }
}

const MAX_READ = 1 << 30; // one read() call moves at most 2^31 - 1 bytes

/** Read until `dest` is full or the file ends; returns the bytes read. */
async function readUpTo(handle: FileHandle, dest: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < dest.length) {
    const length = Math.min(dest.length - done, MAX_READ);
    const { bytesRead } = await handle.read(dest, done, length, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

async function readFully(handle: FileHandle, name: string, dest: Uint8Array, position: number): Promise<void> {
  const n = await readUpTo(handle, dest, position);
  if (n < dest.length) throw new UserError(`${name}: file ended early at byte ${position + n} (changed while open?)`);
}

/** readFully for the header: synchronous. */
function readFullySync(fd: number, name: string, dest: Uint8Array, position: number): void {
  let done = 0;
  while (done < dest.length) {
    const n = fsSync.readSync(fd, dest, done, Math.min(dest.length - done, MAX_READ), position + done);
    if (n === 0) throw new UserError(`${name}: file ended early at byte ${position + done} (changed while open?)`);
    done += n;
  }
}

class OpenModel implements Model {
  private readonly byName = new Map<string, TensorInfo>();
  private closed = false;

  constructor(
    private readonly displayName: string,
    readonly info: ModelInfo,
    private readonly handles: FileHandle[],
  ) {
    for (const t of info.tensors) this.byName.set(t.name, t);
  }

  tensor(name: string): TensorInfo {
    const t = this.byName.get(name);
    if (!t) throw new UserError(`${this.displayName}: no tensor named ${JSON.stringify(name)}`);
    return t;
  }

  private checkRange(t: TensorInfo, start: number, end: number): void {
    if (this.closed) throw new UserError(`${this.displayName}: model is closed`);
    const size = tensorByteLength(t);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end > size) {
      throw new UserError(
        `${this.displayName}: byte range [${start}, ${end}) is outside tensor ${JSON.stringify(t.name)} (${size} bytes)`,
      );
    }
  }

  async read(t: TensorInfo, start: number, end: number): Promise<Uint8Array> {
    this.checkRange(t, start, end);
    const out = new Uint8Array(end - start);
    await readFully(this.handles[t.fileIndex], this.fileName(t), out, t.fileOffset + start);
    return out;
  }

  async readInto(t: TensorInfo, start: number, dest: Uint8Array): Promise<number> {
    const size = tensorByteLength(t);
    const end = Math.min(size, start + dest.length);
    this.checkRange(t, start, Math.max(start, end));
    const target = dest.subarray(0, end - start);
    await readFully(this.handles[t.fileIndex], this.fileName(t), target, t.fileOffset + start);
    return target.length;
  }

  private fileName(t: TensorInfo): string {
    return nodePath.basename(this.info.files[t.fileIndex].path);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.handles.map((h) => h.close()));
  }
}
