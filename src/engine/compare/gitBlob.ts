// `git:REV:PATH` model arguments: the file as committed at REV, streamed out of git with
// `git cat-file blob` into a private temp file (models are large: never through memory).
// REV:PATH is git's own syntax, so PATH is relative to the repository root unless it
// starts with ./ or ../ (relative to the current directory), and an empty REV (`git::PATH`)
// means the index, as in `git show :PATH`.
// A sharded model's index (`*.json`) comes with its shards as committed at the same REV:
// each shard its own temp file (or local LFS object), and a copy of the index whose
// weight_map names those files by absolute path, so the model opens as usual.

import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, posix } from 'node:path';
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

/** Larger "indexes" are left to openModel, which refuses them (see shardIndex.ts). */
const MAX_INDEX_BYTES = 100_000_000;

/** A plain path as is, or a `git:REV:PATH` blob written to a temp file (a shard index with its shards). */
export async function resolveModelPath(arg: string, cwd = process.cwd()): Promise<ResolvedPath> {
  if (!isGitSpec(arg)) return { path: arg, dispose: async () => {} };
  const object = arg.slice(PREFIX.length); // REV:PATH as git reads it
  const rev = object.slice(0, object.indexOf(':'));
  const path = object.slice(rev.length + 1);
  const blob = await resolveBlob(arg, cwd);
  // As openModel: a .json model is a shard index.
  return path.toLowerCase().endsWith('.json') ? withShards(blob, arg, rev, path, cwd) : blob;
}

/** One committed file (`git:REV:PATH`) in a temp file, or the local content of its LFS pointer. */
async function resolveBlob(arg: string, cwd: string): Promise<ResolvedPath> {
  const object = arg.slice(PREFIX.length);
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

/**
 * The shards of a committed index, each as committed at `rev`, and a copy of the index that
 * names them by absolute path. An index that is not JSON with a weight_map object is passed
 * on as it is: opening it says what is wrong.
 */
async function withShards(index: ResolvedPath, arg: string, rev: string, indexPath: string, cwd: string): Promise<ResolvedPath> {
  const parts: ResolvedPath[] = [index];
  const dispose = async () => {
    await Promise.all(parts.map((p) => p.dispose()));
  };
  try {
    if ((await stat(index.path)).size > MAX_INDEX_BYTES) return index;
    let json: unknown;
    try {
      json = JSON.parse(await readFile(index.path, 'utf8'));
    } catch {
      return index;
    }
    if (!isObject(json) || !isObject(json.weight_map)) return index;
    const weightMap = json.weight_map;
    const shards = new Map<string, string>();
    for (const shard of new Set(Object.values(weightMap))) {
      if (typeof shard !== 'string' || shard === '') continue; // openModel names the bad entry
      const shardPath = shardRepoPath(arg, indexPath, shard);
      const blob = await resolveBlob(`${PREFIX}${rev}:${shardPath}`, cwd);
      parts.push(blob);
      shards.set(shard, blob.path);
    }
    const dir = await mkdtemp(join(tmpdir(), 'tensorscope-git-'));
    parts.push({ path: dir, dispose: () => rm(dir, { recursive: true, force: true }) });
    const file = join(dir, posix.basename(indexPath) || 'model.safetensors.index.json');
    const named = Object.fromEntries(Object.entries(weightMap).map(([tensor, shard]) => [tensor, (typeof shard === 'string' && shards.get(shard)) || shard]));
    await writeFile(file, JSON.stringify({ ...json, weight_map: named }));
    return { path: file, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}

/** Where git finds a shard: beside the index, in git's REV:PATH form (./ kept: relative to the current directory). */
function shardRepoPath(arg: string, indexPath: string, shard: string): string {
  const fromCwd = /^\.\.?\//.test(indexPath);
  const joined = posix.normalize(posix.join(posix.dirname(indexPath), shard));
  if (posix.isAbsolute(shard) || (!fromCwd && (joined === '..' || joined.startsWith('../')))) {
    throw new UserError(`${arg}: weight_map names ${JSON.stringify(shard)}, outside the repository`);
  }
  return fromCwd && !joined.startsWith('../') ? `./${joined}` : joined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
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
