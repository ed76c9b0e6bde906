// Runs the real `tensorscope` CLI: the freshly built bundle in a child process, or its
// main() in this process (helpers for cli-*.test.ts).
import { spawn } from 'node:child_process';
import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { buildEngine, PROJECT_ROOT } from './cli-build';
import { main } from '../../src/engine/cli';

export const FIXTURES = join(PROJECT_ROOT, 'test/fixtures');
export const REF_MIXED = join(FIXTURES, 'ref_mixed.safetensors');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The CLI in this process: the same dispatcher and commands, no process start (fast). */
export async function runCliInProcess(args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) }, {});
  return { code, stdout, stderr };
}

/** The built bundle in a child process: exit codes, real stdout/stderr. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}, options: { cwd?: string; uid?: number; gid?: number } = {}): Promise<CliResult> {
  const cli = await buildEngine();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { ...options, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The header of a .safetensors file, parsed here independently of the engine's reader. */
export function readHeader(path: string): { header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>; metadata: unknown; dataStart: number; bytes: Buffer } {
  const bytes = readFileSync(path);
  const n = Number(bytes.readBigUInt64LE(0));
  const parsed = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
  const { __metadata__: metadata = null, ...header } = parsed;
  return { header, metadata, dataStart: 8 + n, bytes };
}

/** A minimal safetensors writer for generated test data (independent of the engine's writer). */
export function safetensorsBytes(tensors: { name: string; dtype: string; shape: number[]; data: Uint8Array }[]): Buffer {
  const header: Record<string, unknown> = {};
  let at = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.data.length] };
    at += t.data.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([prefix, Buffer.from(json), ...tensors.map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))]);
}

/** A model with one large F32 tensor "big" of zeros: a sparse file, instant to create, slow to scan. */
export function sparseModel(dir: string, elements = 128 << 20): string {
  const path = join(dir, `big-${elements}.safetensors`);
  let json = JSON.stringify({ big: { dtype: 'F32', shape: [elements / 1024, 1024], data_offsets: [0, elements * 4] } });
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  const fd = openSync(path, 'w');
  writeSync(fd, Buffer.concat([prefix, Buffer.from(json)]));
  ftruncateSync(fd, 8 + json.length + elements * 4);
  closeSync(fd);
  return path;
}
