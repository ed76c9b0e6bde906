// Helpers for the patch-*.test.ts files: generated models in a temp folder (written by a
// small independent writer), byte mutations, and a file hash.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DTYPE_BITS, type DType } from '../../src/shared/dtypes';

/** A temp folder removed at exit; `memory` puts it on /dev/shm (tmpfs) when there is one. */
export function tempFolder(prefix: string, memory = false): string {
  const parent = memory && existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const dir = mkdtempSync(join(parent, prefix));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface GenTensor {
  name: string;
  dtype: DType;
  shape: number[];
  data: Uint8Array;
}

/** [u64 N][JSON header, padded with spaces][data], tensors in the given order. */
export function safetensorsFile(tensors: GenTensor[], metadata?: Record<string, string>): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let at = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.data.length] };
    at += t.data.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([prefix, Buffer.from(json), ...tensors.map((t) => Buffer.from(t.data))]);
}

export function writeModel(path: string, tensors: GenTensor[], metadata?: Record<string, string>): string {
  writeFileSync(path, safetensorsFile(tensors, metadata));
  return path;
}

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
export function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytes(n: number, r: () => number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(r() * 256);
  return out;
}

export function byteLength(dtype: DType, shape: number[]): number {
  return (shape.reduce((a, b) => a * b, 1) * DTYPE_BITS[dtype]) / 8;
}

/** A small model with one tensor of each unit size: BF16, F32, U8, F4, F6, C64, F64. */
export function mixedTensors(r: () => number): GenTensor[] {
  const specs: [string, DType, number[]][] = [
    ['a.bf16', 'BF16', [6, 10]],
    ['b.f32', 'F32', [7, 5]],
    ['c.u8', 'U8', [40]],
    ['d.f4', 'F4', [4, 8]],
    ['e.f6', 'F6_E2M3', [3, 8]],
    ['f.c64', 'C64', [5]],
    ['g.f64', 'F64', [2, 3]],
    ['h.scalar', 'F32', []],
  ];
  return specs.map(([name, dtype, shape]) => ({ name, dtype, shape, data: randomBytes(byteLength(dtype, shape), r) }));
}

/** Copy of `file` with `count` random byte runs (in tensor data only) overwritten at random. */
export function mutateData(file: Buffer, count: number, r: () => number, maxRun = 6): Buffer {
  const out = Buffer.from(file);
  const n = Number(out.readBigUInt64LE(0));
  const start = 8 + n;
  const span = out.length - start;
  if (span <= 0) return out;
  for (let k = 0; k < count; k++) {
    const at = start + Math.floor(r() * span);
    const len = 1 + Math.floor(r() * maxRun);
    for (let i = at; i < Math.min(out.length, at + len); i++) out[i] = Math.floor(r() * 256);
  }
  return out;
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}
