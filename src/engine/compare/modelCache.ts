// Models opened by path for the compare view, which asks for many tiles of the same two
// files. Each request checks the file's size, mtime and inode: a file rewritten since it was
// opened is opened again (its header may have changed), never read through a stale header.

import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { openModel, type Model } from '../safetensors/model';

interface Entry {
  model: Promise<Model>;
  stamp: string;
  lastUsed: number;
}

/** A replaced model is closed a little later: requests already running may still read it. */
const CLOSE_DELAY_MS = 10_000;

export class ModelCache {
  private readonly entries = new Map<string, Entry>();
  private useCounter = 0;

  constructor(private readonly max = 6) {}

  async get(path: string): Promise<Model> {
    const absolute = resolve(path);
    const stamp = await fileStamp(absolute);
    let entry = this.entries.get(absolute);
    if (entry && entry.stamp !== stamp) {
      this.entries.delete(absolute);
      closeLater(entry.model);
      entry = undefined;
    }
    if (!entry) {
      entry = { model: openModel(absolute), stamp, lastUsed: 0 };
      this.entries.set(absolute, entry);
      // A failed open is not kept: the next request tries again (the file may be fixed).
      entry.model.catch(() => {
        if (this.entries.get(absolute) === entry) this.entries.delete(absolute);
      });
      this.evict();
    }
    entry.lastUsed = ++this.useCounter;
    return entry.model;
  }

  /** Closes a model opened from `path`, if any (its file is going away). */
  forget(path: string): void {
    const absolute = resolve(path);
    const entry = this.entries.get(absolute);
    if (!entry) return;
    this.entries.delete(absolute);
    closeLater(entry.model);
  }

  private evict(): void {
    while (this.entries.size > this.max) {
      let oldest: string | undefined;
      let at = Infinity;
      for (const [key, e] of this.entries) {
        if (e.lastUsed < at) {
          at = e.lastUsed;
          oldest = key;
        }
      }
      if (oldest === undefined) return;
      closeLater(this.entries.get(oldest)!.model);
      this.entries.delete(oldest);
    }
  }

  async closeAll(): Promise<void> {
    const models = [...this.entries.values()].map((e) => e.model);
    this.entries.clear();
    await Promise.allSettled(models.map(async (m) => (await m).close()));
  }
}

async function fileStamp(path: string): Promise<string> {
  // A missing file is left to openModel, which says so in one line.
  const s = await stat(path).catch(() => null);
  return s ? `${s.size}:${s.mtimeMs}:${s.ino}` : 'missing';
}

function closeLater(model: Promise<Model>): void {
  setTimeout(() => void model.then((m) => m.close()).catch(() => {}), CLOSE_DELAY_MS).unref();
}
