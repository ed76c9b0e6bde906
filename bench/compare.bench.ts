// Comparing two checkpoints should cost about the time it takes to read both files.
// Two generated models (1 GiB each; 256 MiB with --quick or BENCH_QUICK=1) that differ in
// a few tensors: `compareModels` against `cmp -l` of the same files (which reads both to the
// end), both on a warm page cache, in the same run; and A against itself (every tensor
// takes the byte-compare fast path). textconv (SHA-256 + summary numbers of
// every tensor) of one file is timed too.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { compareModels } from '../src/engine/compare/compareModels';
import { textconv } from '../src/engine/compare/textconv';
import { openModel } from '../src/engine/safetensors/model';
import { writeSafetensors, type TensorToWrite } from '../src/engine/safetensors/writer';
import { DATA_DIR, ensureDataDir, fmt, table, timeMs } from './common';

const TENSORS = 16;

export default async function run(): Promise<void> {
  const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
  const totalMiB = quick ? 256 : 1024;
  const { pathA, pathB } = await generate(totalMiB);
  const bytes = 2 * totalMiB * 2 ** 20;

  // Warm the page cache for both, so both tools read from memory.
  execFileSync('cat', [pathA, pathB], { stdio: ['ignore', 'ignore', 'inherit'], maxBuffer: 0 });

  // cmp -l lists every differing byte, so it reads both files to the end. Its output must
  // go to a pipe: GNU cmp stops at the first difference when stdout is /dev/null.
  const cmpMs = await timeMs(async () => {
    const r = spawnSync('cmp', ['-l', pathA, pathB], { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 });
    if (r.status !== 1) throw new Error(`cmp exited with ${r.status}`);
  }, 3);
  let changed = '';
  const compareMs = await timeMs(async () => {
    const [a, b] = [await openModel(pathA), await openModel(pathB)];
    try {
      const result = await compareModels(a, b);
      changed = result.tensors.filter((t) => t.change === 'changed').map((t) => t.name).join(', ');
    } finally {
      await a.close();
      await b.close();
    }
  }, 3);
  const identicalMs = await timeMs(async () => {
    const [a, b] = [await openModel(pathA), await openModel(pathA)];
    try {
      await compareModels(a, b);
    } finally {
      await a.close();
      await b.close();
    }
  }, 3);
  const textconvMs = await timeMs(() => textconv(pathA), 3);

  const gbps = (ms: number, n: number) => fmt(n / 1e9 / (ms / 1000), 2);
  console.log(`two models of ${totalMiB} MiB (${TENSORS} tensors each), warm page cache; changed: ${changed}`);
  table([
    ['what', 'ms', 'GB/s', 'ratio to cmp'],
    ['cmp -l A B', fmt(cmpMs, 0), gbps(cmpMs, bytes), '1.00'],
    ['compareModels(A, B)', fmt(compareMs, 0), gbps(compareMs, bytes), fmt(compareMs / cmpMs)],
    ['compareModels(A, A): identical bytes', fmt(identicalMs, 0), gbps(identicalMs, bytes), fmt(identicalMs / cmpMs)],
    ['textconv(A)', fmt(textconvMs, 0), gbps(textconvMs, bytes / 2), fmt(textconvMs / cmpMs)],
  ]);
}

/** Writes bench/data/compare-{a,b}-<MiB>.safetensors once; B differs from A in 4 tensors. */
async function generate(totalMiB: number): Promise<{ pathA: string; pathB: string }> {
  ensureDataDir();
  const pathA = join(DATA_DIR, `compare-a-${totalMiB}.safetensors`);
  const pathB = join(DATA_DIR, `compare-b-${totalMiB}.safetensors`);
  if (existsSync(pathA) && existsSync(pathB)) return { pathA, pathB };
  const tensorBytes = (totalMiB * 2 ** 20) / TENSORS;
  const tensors: TensorToWrite[] = [];
  let seed = 12345;
  for (let i = 0; i < TENSORS; i++) {
    // Half F32, half BF16, filled with small pseudo-random floats (xorshift, no NaNs).
    const dtype = i % 2 === 0 ? 'F32' : 'BF16';
    const data = new Uint8Array(tensorBytes);
    const words = new Uint32Array(data.buffer);
    for (let k = 0; k < words.length; k++) {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      // Exponent bits 0x3c..0x3f: magnitudes around 1e-2..1 for F32 and for each BF16 half.
      words[k] = (seed & 0x80ff80ff) | 0x3c003c00 | ((seed >>> 8) & 0x00030003) << 8;
    }
    const numel = tensorBytes / (dtype === 'F32' ? 4 : 2);
    tensors.push({ name: `layers.${String(i).padStart(2, '0')}.weight`, dtype, shape: [numel / 1024, 1024], data });
  }
  await writeSafetensors(pathA, tensors, { format: 'pt' });
  // B: a few scattered elements in three tensors, and the first 4 KiB of another rewritten
  // (few differing bytes in all, so `cmp -l` spends its time reading, not printing).
  for (const i of [3, 8, 13]) {
    const data = tensors[i].data;
    for (let k = 0; k < 100; k++) data[(k * 7919 * 64 + 1) % data.length] ^= 0x10;
  }
  tensors[6].data.subarray(0, 4096).reverse();
  await writeSafetensors(pathB, tensors, { format: 'pt' });
  return { pathA, pathB };
}
