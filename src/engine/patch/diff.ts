// The patch that turns one model into another of the same layout: both are streamed tensor
// by tensor in chunks (never whole files), compared with memcmp, and changed units become
// canonical hunks. Tensor hashes are computed only for tensors that changed.

import { createHash, type Hash } from 'node:crypto';
import * as nodePath from 'node:path';
import type { TensorInfo } from '../../shared/protocol';
import { throwIfAborted, UserError } from '../errors';
import { layoutsMatch } from '../compare/layout';
import type { Model } from '../safetensors/model';
import { chunkSize, readBaseFiles, tensorBytes, tensorRef } from './base';
import { HunkBuilder } from './hunks';
import { compareNames, type Hunk, type Patch, type PatchTensor } from './types';

export interface DiffResult {
  patch: Patch;
  /** The header bytes differ (e.g. __metadata__) though the layout is the same. */
  headersDiffer: boolean;
}

export interface DiffOptions {
  signal?: AbortSignal;
  /** Called after each chunk with bytes compared so far and the total. */
  progress?: (done: number, total: number) => void;
}

export async function diffModels(base: Model, target: Model, options: DiffOptions = {}): Promise<DiffResult> {
  checkSameLayout(base, target);
  const baseFiles = await readBaseFiles(base);
  const targetFiles = await readBaseFiles(target);
  const headersDiffer = baseFiles.some((f, i) => f.headerSha256 !== targetFiles[i].headerSha256);

  const total = base.info.tensors.reduce((n, t) => n + tensorBytes(t), 0);
  let done = 0;
  const tensors: PatchTensor[] = [];
  const hunks: Hunk[] = [];
  for (const t of base.info.tensors) {
    const other = target.tensor(t.name);
    const d = await diffTensor(base, target, t, other, options.signal, (n) => {
      done += n;
      options.progress?.(done, total);
    });
    if (d) {
      tensors.push({ ...tensorRef(t), baseSha256: d.baseSha256, resultSha256: d.resultSha256, ops: [] });
      hunks.push(...d.hunks);
    }
  }
  tensors.sort((a, b) => compareNames(a.name, b.name));
  hunks.sort((a, b) => compareNames(a.tensor, b.tensor) || a.offset - b.offset);
  return { patch: { base: baseFiles, tensors, hunks }, headersDiffer };
}

async function diffTensor(
  base: Model,
  target: Model,
  t: TensorInfo,
  u: TensorInfo,
  signal: AbortSignal | undefined,
  progress: (n: number) => void,
): Promise<{ hunks: Hunk[]; baseSha256: string; resultSha256: string } | null> {
  const size = tensorBytes(t);
  const step = chunkSize(t);
  const a = new Uint8Array(Math.min(step, size));
  const b = new Uint8Array(Math.min(step, size));
  const builder = new HunkBuilder(t.name, t.dtype);
  // Hashes start at the first difference (most tensors of a sparse diff never need one).
  let hashes: [Hash, Hash] | null = null;
  for (let at = 0; at < size; at += step) {
    throwIfAborted(signal);
    const [n] = await Promise.all([base.readInto(t, at, a), target.readInto(u, at, b)]);
    const x = a.subarray(0, n);
    const y = b.subarray(0, n);
    const same = Buffer.compare(x, y) === 0;
    if (!same && !hashes) {
      hashes = [createHash('sha256'), createHash('sha256')];
      await hashPrefix(base, t, at, hashes[0]);
      await hashPrefix(target, u, at, hashes[1]);
    }
    if (hashes) {
      hashes[0].update(x);
      hashes[1].update(y);
    }
    if (!same) builder.add(at, x, y);
    progress(n);
  }
  if (!hashes) return null;
  return { hunks: builder.finish(), baseSha256: hashes[0].digest('hex'), resultSha256: hashes[1].digest('hex') };
}

/** Feeds bytes [0, end) of a tensor to `hash`. */
async function hashPrefix(model: Model, t: TensorInfo, end: number, hash: Hash): Promise<void> {
  if (end === 0) return;
  const step = chunkSize(t);
  const buf = new Uint8Array(Math.min(step, end));
  for (let at = 0; at < end; at += step) {
    const n = await model.readInto(t, at, buf.subarray(0, Math.min(step, end - at)));
    hash.update(buf.subarray(0, n));
  }
}

/** Same tensor names, dtypes, shapes, files and data offsets; else a UserError naming the first difference. */
export function checkSameLayout(base: Model, target: Model): void {
  const difference = layoutsMatch(base.info, target.info);
  if (difference) {
    const a = nodePath.basename(base.info.path);
    const b = nodePath.basename(target.info.path);
    throw new UserError(`${a} (A) and ${b} (B) have different layouts, and a patch carries tensor bytes only: ${difference}`);
  }
}
