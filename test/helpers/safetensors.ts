// Shared helpers for tests that need safetensors files: fixture paths, raw files built from
// header text (for malformed cases), and temporary folders.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const FIXTURES = resolve(__dirname, '../fixtures');

export function fixture(...parts: string[]): string {
  return join(FIXTURES, ...parts);
}

/**
 * A raw safetensors file: [u64 header length][header][data]. `header` may be any text or
 * bytes (malformed on purpose); `data` is bytes or a byte count (filled with 0..255 repeating);
 * `headerLength` overrides the length field (to lie about it).
 */
export function rawSafetensors(header: string | Uint8Array, data: Uint8Array | number = 0, headerLength?: bigint): Uint8Array {
  const h = typeof header === 'string' ? new TextEncoder().encode(header) : header;
  const d = typeof data === 'number' ? Uint8Array.from({ length: data }, (_, i) => i & 0xff) : data;
  const out = new Uint8Array(8 + h.length + d.length);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(d, 8 + h.length);
  return out;
}

/** Header JSON for simple entries: [name, dtype, shape, begin, end]. */
export function headerJson(entries: [string, string, number[], number, number][], metadata?: Record<string, string>): string {
  const obj: Record<string, unknown> = {};
  if (metadata) obj.__metadata__ = metadata;
  for (const [name, dtype, shape, begin, end] of entries) obj[name] = { dtype, shape, data_offsets: [begin, end] };
  return JSON.stringify(obj);
}

/** A fresh temporary folder; call `cleanup` when done (e.g. in `after`). */
export async function tempDir(prefix = 'tensorscope-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function writeBytes(path: string, bytes: Uint8Array): Promise<string> {
  await writeFile(path, bytes);
  return path;
}

/** A copy of a typed array's bytes (little-endian on the little-endian hosts we run on). */
export function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice();
}
