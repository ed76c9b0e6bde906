// Baking: writes a patched copy of a base model. Every hunk is checked against the base
// first; on any conflict nothing is written. The output is a fast copy of the base (reflink
// or in-kernel copy) with the hunks' new bytes written in place, then fsync and rename.

import * as fsSync from 'node:fs';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { UserError } from '../errors';
import { atomicReplace, pauseForTests } from '../io/atomicWrite';
import { copyFileFast } from '../io/fastCopy';
import { openModel, type Model } from '../safetensors/model';
import { checkPatch, type CheckResult } from './check';
import { globMatcher } from './glob';
import type { Hunk, Patch, PatchTensor } from './types';

const TEST_PAUSE = process.env.TENSORSCOPE_TEST_PAUSE_AFTER_BYTES !== undefined;

export interface ApplyOptions {
  /** Apply only the hunks of tensors whose names match this glob. */
  only?: string;
}

export interface ApplyResult extends CheckResult {
  /** Whether OUT was written (false when the patch does not fit). */
  written: boolean;
}

export async function applyPatch(basePath: string, patch: Patch, outPath: string, options: ApplyOptions = {}): Promise<ApplyResult> {
  const only = options.only === undefined ? undefined : globMatcher(options.only);
  if (only && !patch.tensors.some((t) => only(t.name))) {
    throw new UserError(`--only ${JSON.stringify(options.only)} matches none of the patch's ${patch.tensors.length} tensors`);
  }
  const model = await openModel(basePath);
  try {
    const check = await checkPatch(model, patch, { only });
    if (!check.clean) return { ...check, written: false };
    const out = nodePath.resolve(outPath);
    if (model.info.files.length === 1 && model.info.path === model.info.files[0].path) {
      await atomicReplace(out, (temp) => writePatchedFile(model.info.files[0].path, temp, check.hunks, check.tensors));
    } else {
      await writeShardedOutput(model, out, check);
    }
    return { ...check, written: true };
  } finally {
    await model.close();
  }
}

/** Copies `src` to `temp` and writes the hunks' new bytes in place (synchronous pwrites: see checkPatch). */
async function writePatchedFile(src: string, temp: string, hunks: Hunk[], tensors: PatchTensor[]): Promise<void> {
  await copyFileFast(src, temp);
  const at = new Map(tensors.map((t) => [t.name, t.fileOffset]));
  const fd = fsSync.openSync(temp, 'r+');
  try {
    let written = 0;
    for (const h of hunks) {
      const position = at.get(h.tensor)! + h.offset;
      for (let done = 0; done < h.replacement.length; ) {
        done += fsSync.writeSync(fd, h.replacement, done, Math.min(h.replacement.length - done, 1 << 30), position + done);
      }
      written += h.replacement.length;
      if (TEST_PAUSE) await pauseForTests(written, temp);
    }
  } finally {
    fsSync.closeSync(fd);
  }
}

/** A sharded base: OUT is a new folder with the index and every shard. */
async function writeShardedOutput(model: Model, out: string, check: CheckResult): Promise<void> {
  const existing = await fs.readdir(out).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? null : e.code === 'ENOTDIR' ? ['x'] : Promise.reject(e)));
  if (existing && existing.length > 0) throw new UserError(`${out}: the output of a sharded model is a folder, and ${nodePath.basename(out)} exists and is not an empty folder`);
  const indexDir = nodePath.dirname(model.info.path);
  await atomicReplace(out, async (temp) => {
    await fs.mkdir(temp);
    await fs.copyFile(model.info.path, nodePath.join(temp, nodePath.basename(model.info.path)));
    for (let i = 0; i < model.info.files.length; i++) {
      const src = model.info.files[i].path;
      const rel = nodePath.relative(indexDir, src);
      if (rel.startsWith('..') || nodePath.isAbsolute(rel)) throw new UserError(`${src}: a shard outside the index's folder cannot be baked into a new folder`);
      const dest = nodePath.join(temp, rel);
      await fs.mkdir(nodePath.dirname(dest), { recursive: true });
      const tensors = check.tensors.filter((t) => t.fileIndex === i);
      const names = new Set(tensors.map((t) => t.name));
      await writePatchedFile(src, dest, check.hunks.filter((h) => names.has(h.tensor)), tensors);
    }
  });
}
