// Backups of unsaved edits (VS Code's CustomDocumentBackup), so they survive a window
// reload or a crash. One file: a JSON line (the model's files as they were, the patch file
// the document is tied to, the applied edits) followed by the bytes of the starting patch,
// if any. Restoring replays the edits, so the model must be unchanged on disk: its files'
// sizes and modification times are checked first. No `vscode` import (unit-tested).

import { createReadStream, createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { DocumentEdit } from '../shared/protocol';
import type { EditsSnapshot } from './documentEdits';

const FORMAT = 'tensorscope-edits-backup 1';

export interface BackupHeader {
  format: typeof FORMAT;
  model: string;
  files: { path: string; size: number; mtimeMs: number }[];
  /** The .stpatch file the document saves to / was loaded from, if any. */
  patchFile: string | null;
  edits: DocumentEdit[];
  /** Bytes of the starting patch that follow the JSON line (0: none). */
  baselineBytes: number;
}

export async function modelFileStats(files: string[]): Promise<BackupHeader['files']> {
  return Promise.all(
    files.map(async (p) => {
      const s = await fs.stat(p);
      return { path: p, size: s.size, mtimeMs: s.mtimeMs };
    }),
  );
}

/** Writes the backup (temp file + rename, so a reader never sees half of it). */
export async function writeBackup(dest: string, model: string, files: string[], patchFile: string | null, snapshot: EditsSnapshot): Promise<void> {
  const baselineBytes = snapshot.baseline === null ? 0 : (await fs.stat(snapshot.baseline)).size;
  const header: BackupHeader = { format: FORMAT, model, files: await modelFileStats(files), patchFile, edits: snapshot.edits, baselineBytes };
  await fs.mkdir(path.dirname(dest), { recursive: true });
  const temp = `${dest}.tmp-${process.pid}`;
  try {
    await fs.writeFile(temp, JSON.stringify(header) + '\n');
    if (snapshot.baseline !== null) await pipeline(createReadStream(snapshot.baseline), createWriteStream(temp, { flags: 'a' }));
    await fs.rename(temp, dest);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
}

/**
 * Reads a backup; the starting patch is copied out to `copiesDir`. Throws a one-line Error
 * when the backup is unreadable or the model changed since it was written.
 */
export async function readBackup(file: string, copiesDir: string): Promise<{ header: BackupHeader; snapshot: EditsSnapshot }> {
  const handle = await fs.open(file, 'r');
  let headerText = '';
  let headerEnd = -1;
  try {
    const chunk = Buffer.alloc(1 << 16);
    for (let at = 0; headerEnd < 0; ) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, at);
      if (bytesRead === 0) break;
      const nl = chunk.subarray(0, bytesRead).indexOf(0x0a);
      headerText += chunk.toString('utf8', 0, nl < 0 ? bytesRead : nl);
      if (nl >= 0) headerEnd = at + nl + 1;
      at += bytesRead;
    }
  } finally {
    await handle.close();
  }
  let header: BackupHeader;
  try {
    header = JSON.parse(headerText) as BackupHeader;
  } catch {
    throw new Error('the backup of the unsaved edits is unreadable');
  }
  if (headerEnd < 0 || header.format !== FORMAT || !Array.isArray(header.edits) || !Array.isArray(header.files)) {
    throw new Error('the backup of the unsaved edits is unreadable');
  }
  const now = await modelFileStats(header.files.map((f) => f.path)).catch(() => null);
  const same = now !== null && now.every((f, i) => f.size === header.files[i].size && f.mtimeMs === header.files[i].mtimeMs);
  if (!same) throw new Error(`${path.basename(header.model)} changed on disk since the unsaved edits were backed up`);
  let baseline: string | null = null;
  if (header.baselineBytes > 0) {
    await fs.mkdir(copiesDir, { recursive: true });
    baseline = path.join(copiesDir, `backup-${process.pid}-${Date.now()}.stpatch`);
    await pipeline(createReadStream(file, { start: headerEnd }), createWriteStream(baseline));
    if ((await fs.stat(baseline)).size !== header.baselineBytes) {
      await fs.rm(baseline, { force: true });
      throw new Error('the backup of the unsaved edits is cut short');
    }
  }
  return { header, snapshot: { baseline, edits: header.edits } };
}
