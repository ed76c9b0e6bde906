// Writing safetensors files with the reference writer's layout (huggingface/safetensors,
// tensor.rs `prepare`):
// - tensors sorted by dtype, descending in the reference's Dtype enum order (U64, I64, F64,
//   C64, F32, U32, I32, BF16, F16, U16, I16, F8_E5M2FNUZ, F8_E4M3FNUZ, F8_E8M0, F8_E4M3,
//   F8_E5M2, I8, U8, F6_E3M2, F6_E2M3, F4, BOOL), then by name (byte order of the UTF-8);
// - compact JSON, "__metadata__" first when given, then the tensors in data order;
// - the header padded with spaces to a multiple of 8 bytes.
// So wide dtypes come first and their data stays aligned to their size.

import { DTYPE_BITS, isDType, type DType } from '../../shared/dtypes';
import { UserError } from '../errors';
import { writeFileAtomic } from '../io/atomicWrite';

export interface TensorToWrite {
  name: string;
  dtype: DType;
  shape: number[];
  data: Uint8Array;
}

/** The reference's Dtype enum, in declaration (ascending) order. */
const REFERENCE_DTYPE_ORDER: DType[] = [
  'BOOL', 'F4', 'F6_E2M3', 'F6_E3M2', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F8_E4M3FNUZ',
  'F8_E5M2FNUZ', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'C64', 'F64', 'I64', 'U64',
];
const DTYPE_RANK = new Map(REFERENCE_DTYPE_ORDER.map((d, i) => [d, i]));

const encoder = new TextEncoder();

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

interface Layout {
  header: Uint8Array; // the 8-byte length followed by the padded JSON
  ordered: TensorToWrite[];
  dataLength: number;
}

function layout(tensors: TensorToWrite[], metadata?: Record<string, string>): Layout {
  const names = new Set<string>();
  for (const t of tensors) {
    if (!isDType(t.dtype)) throw new UserError(`tensor ${JSON.stringify(t.name)}: unknown dtype ${JSON.stringify(t.dtype)}`);
    if (t.name === '__metadata__') throw new UserError('"__metadata__" cannot be a tensor name');
    if (names.has(t.name)) throw new UserError(`tensor ${JSON.stringify(t.name)} given twice`);
    names.add(t.name);
    let count = 1n;
    for (const d of t.shape) {
      if (!Number.isSafeInteger(d) || d < 0) throw new UserError(`tensor ${JSON.stringify(t.name)}: bad shape [${t.shape.join(', ')}]`);
      count *= BigInt(d);
    }
    const bits = count * BigInt(DTYPE_BITS[t.dtype]);
    if (bits % 8n !== 0n) {
      throw new UserError(`tensor ${JSON.stringify(t.name)}: ${count} ${t.dtype} elements are not a whole number of bytes`);
    }
    if (BigInt(t.data.length) !== bits / 8n) {
      throw new UserError(
        `tensor ${JSON.stringify(t.name)}: ${t.dtype} [${t.shape.join(', ')}] needs ${bits / 8n} bytes, got ${t.data.length}`,
      );
    }
  }
  if (metadata) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new UserError(`metadata ${JSON.stringify(k)}: value is not a string`);
    }
  }

  const ordered = [...tensors].sort(
    (a, b) => DTYPE_RANK.get(b.dtype)! - DTYPE_RANK.get(a.dtype)! || compareUtf8(a.name, b.name),
  );
  const parts: string[] = [];
  if (metadata) parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  let offset = 0;
  for (const t of ordered) {
    const end = offset + t.data.length;
    parts.push(`${JSON.stringify(t.name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const json = encoder.encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.length / 8) * 8;
  const header = new Uint8Array(8 + padded).fill(0x20, 8 + json.length);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(json, 8);
  return { header, ordered, dataLength: offset };
}

/** The whole file in memory (for small files: tests, fixtures). */
export function serializeSafetensors(tensors: TensorToWrite[], metadata?: Record<string, string>): Uint8Array {
  const { header, ordered, dataLength } = layout(tensors, metadata);
  const out = new Uint8Array(header.length + dataLength);
  out.set(header);
  let at = header.length;
  for (const t of ordered) {
    out.set(t.data, at);
    at += t.data.length;
  }
  return out;
}

/**
 * Write a safetensors file atomically (io/atomicWrite: a temporary file in the same folder,
 * fsync, rename over `path`). On any failure the temporary file is removed and `path` is untouched.
 */
export async function writeSafetensors(path: string, tensors: TensorToWrite[], metadata?: Record<string, string>): Promise<void> {
  const { header, ordered } = layout(tensors, metadata);
  await writeFileAtomic(path, [header, ...ordered.map((t) => t.data)]);
}
