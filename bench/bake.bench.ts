// Baking a patch should cost about what copying the model costs.
// 1. A 100 MB model and a sparse patch (single elements spread over the tensors and one
//    small rectangle): applyPatch (parse + check + fast copy + in-place writes + fsync +
//    rename, in-process as the editor's engine runs it) against `cp` of the same file in
//    the same run, warm page cache. `cp` does not fsync, so `cp` + `sync FILE` is shown too;
//    the CLI (`node dist/cli.js apply`, a fresh process) is timed for reference.
// 2. Recording the editor's "scale a whole 4096 x 4096 BF16 tensor by 2" edit (one 32 MB
//    hunk) and serialising it as .stpatch text; parsing it back.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomFillSync } from 'node:crypto';
import { editRegion, setElement } from '../src/engine/edit/ops';
import { copyFileFast } from '../src/engine/io/fastCopy';
import { applyPatch } from '../src/engine/patch/apply';
import { checkPatch } from '../src/engine/patch/check';
import { readPatchFile, writePatchFile } from '../src/engine/patch/file';
import { PatchOverlay } from '../src/engine/patch/overlay';
import { parsePatch } from '../src/engine/patch/parse';
import { serializePatch } from '../src/engine/patch/serialize';
import { openModel } from '../src/engine/safetensors/model';
import { writeSafetensors, type TensorToWrite } from '../src/engine/safetensors/writer';
import { DATA_DIR, ensureDataDir, fmt, table, timeMs } from './common';

const ROOT = join(DATA_DIR, '..', '..');

export default async function run(): Promise<void> {
  ensureDataDir();
  await bakeVersusCopy();
  await recordScaleEdit();
}

/** BF16 values of a standard normal-ish distribution (sum of uniforms), as bytes. */
function normalBF16(n: number, seed: number): Uint8Array {
  const out = new Uint16Array(n);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  for (let i = 0; i < n; i++) {
    f[0] = next() + next() + next() - 1.5;
    out[i] = u[0] >>> 16;
  }
  return new Uint8Array(out.buffer);
}

async function bakeVersusCopy(): Promise<void> {
  const base = join(DATA_DIR, 'bake-base-100mb.safetensors');
  if (!existsSync(base)) {
    // 25 tensors of 4 MiB; random bytes stand in for weights (the bake never looks at values).
    const tensors: TensorToWrite[] = Array.from({ length: 25 }, (_, i) => {
      const data = new Uint8Array(4 << 20);
      randomFillSync(data);
      return { name: `layers.${String(i).padStart(2, '0')}.weight`, dtype: 'BF16', shape: [1024, 2048], data };
    });
    await writeSafetensors(base, tensors);
  }
  const patchPath = join(DATA_DIR, 'bake-sparse.stpatch');
  const model = await openModel(base);
  const doc = new PatchOverlay(model);
  try {
    let seed = 7;
    const next = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);
    for (let k = 0; k < 1000; k++) {
      const t = model.info.tensors[Math.floor(next() * model.info.tensors.length)];
      await doc.apply(await setElement(doc, { tensor: t.name, slice: '[:, :]', row: Math.floor(next() * 1024), col: Math.floor(next() * 2048) }, { value: 0.125 + next() }));
    }
    await doc.apply(await editRegion(doc, { tensor: 'layers.03.weight', slice: '[:, :]', rect: { row0: 0, row1: 32, col0: 0, col1: 32 } }, { kind: 'scale', factor: 2 }));
    await writePatchFile(patchPath, await doc.toPatch());
  } finally {
    await doc.close();
  }
  const patch = await readPatchFile(patchPath);
  const size = statSync(base).size;

  spawnSync('cat', [base], { stdio: 'ignore' }); // warm page cache
  const outCp = join(DATA_DIR, 'bake-out-cp.safetensors');
  const outBake = join(DATA_DIR, 'bake-out.safetensors');
  const fresh = (p: string) => rmSync(p, { force: true });

  const repeats = 7;
  const cpMs = await timeMs(async () => {
    fresh(outCp);
    spawnSync('cp', [base, outCp]);
  }, repeats);
  const cpSyncMs = await timeMs(async () => {
    fresh(outCp);
    spawnSync('cp', [base, outCp]);
    spawnSync('sync', [outCp]);
  }, repeats);
  const bakeMs = await timeMs(async () => {
    fresh(outBake);
    const p = parsePatch(readFileSync(patchPath), patchPath);
    const r = await applyPatch(base, p, outBake);
    if (!r.written) throw new Error('bake did not apply');
  }, repeats);
  // Where the bake's time goes: the copy, and the check (parse, open, read every hunk).
  const copyMs = await timeMs(async () => {
    fresh(outBake);
    await copyFileFast(base, outBake);
  }, repeats);
  const checkMs = await timeMs(async () => {
    const m = await openModel(base);
    try {
      await checkPatch(m, parsePatch(readFileSync(patchPath), patchPath));
    } finally {
      await m.close();
    }
  }, repeats);
  const cli = join(ROOT, 'dist', 'cli.js');
  const cliMs = existsSync(cli)
    ? await timeMs(async () => {
        fresh(outBake);
        const r = spawnSync(process.execPath, [cli, 'apply', base, patchPath, '-o', outBake]);
        if (r.status !== 0) throw new Error(`cli apply: ${r.stderr}`);
      }, repeats)
    : NaN;
  fresh(outCp);
  fresh(outBake);

  console.log(`bake: ${fmt(size / 2 ** 20, 0)} MiB model, sparse patch of ${patch.hunks.length} hunks in ${patch.tensors.length} tensors (${fmt(statSync(patchPath).size / 1024, 0)} KiB); median of ${repeats}, warm cache`);
  table([
    ['what', 'ms', 'ratio to cp'],
    ['cp BASE OUT', fmt(cpMs, 1), '1.00'],
    ['cp + sync OUT (fsync, like the bake)', fmt(cpSyncMs, 1), fmt(cpSyncMs / cpMs, 2)],
    ['applyPatch (in-process bake)', fmt(bakeMs, 1), fmt(bakeMs / cpMs, 2)],
    ['  of which: copyFileFast (no fsync)', fmt(copyMs, 1), fmt(copyMs / cpMs, 2)],
    ['  of which: parse + open + check hunks', fmt(checkMs, 1), ''],
    ['node dist/cli.js apply', Number.isNaN(cliMs) ? 'n/a (npm run build)' : fmt(cliMs, 1), Number.isNaN(cliMs) ? '' : fmt(cliMs / cpMs, 2)],
  ]);
  console.log(`bake / (cp + fsync) = ${fmt(bakeMs / cpSyncMs, 2)} (goal <= 1.2 against cp)`);
}

/** Median wall and CPU (user + system) milliseconds: on a busy machine the CPU time shows the work itself. */
async function timeBoth(fn: () => Promise<unknown>, repeats: number): Promise<{ wall: number; cpu: number }> {
  await fn();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  return { wall: median(wall), cpu: median(cpu) };
}

async function recordScaleEdit(): Promise<void> {
  const path = join(DATA_DIR, 'bake-bf16-4096.safetensors');
  if (!existsSync(path)) await writeSafetensors(path, [{ name: 'w', dtype: 'BF16', shape: [4096, 4096], data: normalBF16(4096 * 4096, 1) }]);
  const model = await openModel(path);
  try {
    const f = await editRegion(model, { tensor: 'w', slice: '[:, :]' }, { kind: 'scale', factor: 2 });
    const doc = new PatchOverlay(model);
    await doc.apply(f);
    const patch = await doc.toPatch();
    const text = serializePatch(patch);
    writeFileSync(join(DATA_DIR, 'bake-bf16-4096.stpatch'), text);
    const steps: [string, () => Promise<unknown>][] = [
      ['editRegion (read, scale, round, hunks)', () => editRegion(model, { tensor: 'w', slice: '[:, :]' }, { kind: 'scale', factor: 2 })],
      ['overlay.apply (check current bytes, compose)', () => new PatchOverlay(model).apply(f)],
      ['overlay.toPatch (hash base and result)', () => doc.toPatch()],
      ['serializePatch', async () => serializePatch(patch)],
      ['parsePatch', async () => parsePatch(text, 'w.stpatch')],
    ];
    const rows: string[][] = [['step', 'wall ms', 'cpu ms']];
    const times: Record<string, { wall: number; cpu: number }> = {};
    for (const [name, fn] of steps) {
      times[name] = await timeBoth(fn, 3);
      rows.push([name, fmt(times[name].wall, 0), fmt(times[name].cpu, 0)]);
    }
    const rec = times[steps[0][0]];
    const ser = times['serializePatch'];
    rows.push(['record + serialise (editRegion + serializePatch)', fmt(rec.wall + ser.wall, 0), fmt(rec.cpu + ser.cpu, 0)]);
    console.log(`\nscale a 4096 x 4096 BF16 tensor by 2: ${f.hunks.length} hunk(s), .stpatch ${fmt(text.length / 2 ** 20, 0)} MiB; median of 3`);
    table(rows);
  } finally {
    await model.close();
  }
}
