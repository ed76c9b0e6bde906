// Atomic writes and fast copies on the real file system: the target is old or complete, a
// failed write leaves no temp file, stale temps of dead writers are cleaned (and only those).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../src/engine/errors';
import { atomicReplace, cleanStaleTemps, tempPathFor, writeFileAtomic } from '../../src/engine/io/atomicWrite';
import { copyByStreaming, copyFileFast } from '../../src/engine/io/fastCopy';
import { randomBytes, rng, tempFolder } from './patch-helpers';

const dir = tempFolder('tensorscope-io-');

test('writeFileAtomic writes the whole content and leaves no temp file', async () => {
  const target = join(dir, 'a.bin');
  const chunks = [randomBytes(1000, rng(1)), randomBytes(3000, rng(2))];
  await writeFileAtomic(target, chunks);
  assert.deepEqual(readFileSync(target), Buffer.concat(chunks));
  await writeFileAtomic(target, [Buffer.from('second')]);
  assert.equal(readFileSync(target, 'utf8'), 'second');
  assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.')), []);
});

test('a failing write keeps the old target and removes its temp file', async () => {
  const target = join(dir, 'b.bin');
  writeFileSync(target, 'old');
  let temp = '';
  await assert.rejects(
    atomicReplace(target, async (t) => {
      temp = t;
      writeFileSync(t, 'half of the new cont');
      throw new Error('disk on fire');
    }),
    /disk on fire/,
  );
  assert.equal(readFileSync(target, 'utf8'), 'old');
  assert.equal(existsSync(temp), false);
  assert.match(temp, /[/\\]\.b\.bin\.tmp-\d+-[0-9a-f]{12}$/);
  // File system errors become one-line UserErrors naming the target.
  await assert.rejects(writeFileAtomic(join(dir, 'missing', 'c.bin'), [Buffer.from('x')]), (e) => e instanceof UserError && /no such folder/.test(e.message));
});

test('stale temps of dead writers are removed; live, recent and unrelated files are kept', async () => {
  const target = join(dir, 'model.safetensors');
  // A pid that is certainly dead: a child that has exited.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout.trim();
  const old = new Date(Date.now() - 3600_000);
  const files = {
    staleDead: `.model.safetensors.tmp-${dead}-abcdef012345`,
    recentDead: `.model.safetensors.tmp-${dead}-0123456789ab`,
    oldLive: `.model.safetensors.tmp-${process.ppid}-aaaaaaaaaaaa`,
    otherTarget: `.other.safetensors.tmp-${dead}-bbbbbbbbbbbb`,
    notATemp: `.model.safetensors.tmp-notapid`,
  };
  for (const name of Object.values(files)) writeFileSync(join(dir, name), 'x');
  for (const key of ['staleDead', 'oldLive', 'otherTarget', 'notATemp'] as const) utimesSync(join(dir, files[key]), old, old);
  const removed = await cleanStaleTemps(target);
  assert.deepEqual(removed, [join(dir, files.staleDead)]);
  for (const key of ['recentDead', 'oldLive', 'otherTarget', 'notATemp'] as const) assert.ok(existsSync(join(dir, files[key])), key);
  assert.match(tempPathFor(target), new RegExp(`\\.model\\.safetensors\\.tmp-${process.pid}-[0-9a-f]{12}$`));
});

test('copyFileFast and the streaming fallback copy bytes exactly and refuse to overwrite', async () => {
  const src = join(dir, 'src.bin');
  const data = randomBytes((9 << 20) + 123, rng(3)); // more than one streaming chunk
  writeFileSync(src, data);
  await copyFileFast(src, join(dir, 'fast.bin'));
  await copyByStreaming(src, join(dir, 'slow.bin'));
  assert.equal(Buffer.compare(readFileSync(join(dir, 'fast.bin')), data), 0);
  assert.equal(Buffer.compare(readFileSync(join(dir, 'slow.bin')), data), 0);
  await assert.rejects(copyFileFast(src, join(dir, 'fast.bin')), /EEXIST/);
});
