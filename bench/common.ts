// Helpers shared by bench modules: timing, the numpy side, generated data files.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const BENCH_DIR = process.env.BENCH_DIR ?? import.meta.dirname;
export const DATA_DIR = join(BENCH_DIR, 'data');

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Median milliseconds of `repeats` warm runs (after `warmup` untimed runs). */
export async function timeMs(fn: () => Promise<unknown>, repeats: number, warmup = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** Debian's python3 (with python3-numpy), not whatever python3 is first on PATH; BENCH_PYTHON overrides. */
const PYTHON = process.env.BENCH_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

/** Run bench/numpy_ref.py; it times itself with perf_counter and prints JSON. */
export function numpy(args: string[]): { ms: number; [k: string]: unknown } {
  const out = execFileSync(PYTHON, [join(BENCH_DIR, 'numpy_ref.py'), ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return JSON.parse(out);
}

export function hasNumpy(): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function ensureDataDir(): void {
  mkdirSync(DATA_DIR, { recursive: true });
}

export function fmt(x: number, digits = 2): string {
  return x.toFixed(digits);
}

/** Print rows as an aligned table. */
export function table(rows: string[][]): void {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
}
