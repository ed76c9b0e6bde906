// Backups of unsaved edits: one file with the edit list and the starting patch's bytes; a
// changed model or a cut-short backup is refused with one line, never replayed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readBackup, writeBackup } from '../../src/extension/editBackup';
import type { DocumentEdit } from '../../src/shared/protocol';
import { tempFolder } from './patch-helpers';

const dir = tempFolder('tensorscope-backup-');
const model = join(dir, 'm.safetensors');
writeFileSync(model, Buffer.alloc(64, 1));
const edits: DocumentEdit[] = [
  { type: 'region', tensor: 'a "quoted" name', slice: '[0, :, :]', rect: { row0: 1, row1: 3, col0: 0, col1: 4 }, op: { kind: 'noise', std: 0.5, seed: 12 } },
  { type: 'element', tensor: 'b', slice: '[:]', row: 0, col: 7, value: -0.25 },
  { type: 'bytes', tensor: 'c', offset: 3, hex: 'ff00' },
];

test('round trip: edits, patch file and the starting patch bytes (newlines and all)', async () => {
  const start = join(dir, 'start.stpatch');
  const patchBytes = Buffer.from('stpatch 1\n# any bytes \u00e9\n\nend\n');
  writeFileSync(start, patchBytes);
  const backup = join(dir, 'b1', 'backup');
  await writeBackup(backup, model, [model], join(dir, 'm.stpatch'), { baseline: start, edits });
  const { header, snapshot } = await readBackup(backup, join(dir, 'copies'));
  assert.deepEqual(snapshot.edits, edits);
  assert.equal(header.patchFile, join(dir, 'm.stpatch'));
  assert.ok(snapshot.baseline);
  assert.ok(readFileSync(snapshot.baseline).equals(patchBytes));

  // No starting patch.
  await writeBackup(backup, model, [model], null, { baseline: null, edits: edits.slice(1) });
  const again = await readBackup(backup, join(dir, 'copies'));
  assert.deepEqual(again.snapshot, { baseline: null, edits: edits.slice(1) });
  assert.equal(again.header.patchFile, null);
});

test('a model changed on disk, a cut-short or foreign backup: one-line refusals', async () => {
  const start = join(dir, 'start2.stpatch');
  writeFileSync(start, 'stpatch 1\nend\n'.repeat(100));
  const backup = join(dir, 'b2', 'backup');
  await writeBackup(backup, model, [model], null, { baseline: start, edits });
  const full = readFileSync(backup);
  truncateSync(backup, full.length - 10);
  await assert.rejects(readBackup(backup, join(dir, 'copies')), /^Error: the backup of the unsaved edits is cut short$/);
  writeFileSync(backup, full);
  const later = new Date(Date.now() + 5000);
  utimesSync(model, later, later);
  await assert.rejects(readBackup(backup, join(dir, 'copies')), /^Error: m\.safetensors changed on disk since the unsaved edits were backed up$/);
  writeFileSync(backup, '{"format":"something else"}\n');
  await assert.rejects(readBackup(backup, join(dir, 'copies')), /unreadable/);
  writeFileSync(backup, 'not json');
  await assert.rejects(readBackup(backup, join(dir, 'copies')), /unreadable/);
});
