// Shared by the compute-*.test.ts files: real safetensors files written to a temp dir with
// the project's writer, and naive reference computations (plain loops over plain arrays,
// nothing shared with the code under test).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DTYPE_BITS, type DType } from '../../src/shared/dtypes';
import { elementLocation } from '../../src/engine/dtype/decode';
import { encodeElement, roundToDType } from '../../src/engine/dtype/encode';
import { openModel, type Model } from '../../src/engine/safetensors/model';
import { writeSafetensors } from '../../src/engine/safetensors/writer';
import { setSimdEnabled } from '../../src/engine/compute/wasm/kernels';

export interface TestTensor {
  name: string;
  dtype: DType;
  shape: number[];
  values: ArrayLike<number>;
}

export function encodeValues(dtype: DType, values: ArrayLike<number>): Uint8Array {
  const bytes = new Uint8Array(Math.ceil((values.length * DTYPE_BITS[dtype]) / 8));
  for (let i = 0; i < values.length; i++) {
    const loc = elementLocation(dtype, i);
    encodeElement(dtype, values[i], bytes.subarray(loc.byteStart), loc.bitOffset);
  }
  return bytes;
}

/** Write the tensors to a temp .safetensors, open it; `stored` holds the values as the file holds them. */
export async function tempModel(tensors: TestTensor[]): Promise<{ model: Model; stored: Map<string, number[]>; path: string; cleanup: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'tensorscope-compute-'));
  const path = join(dir, 'm.safetensors');
  await writeSafetensors(
    path,
    tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: encodeValues(t.dtype, t.values) })),
  );
  const stored = new Map(tensors.map((t) => [t.name, Array.from(t.values, (v) => roundToDType(t.dtype, v))]));
  const model = await openModel(path);
  return {
    model,
    stored,
    path,
    cleanup: async () => {
      await model.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Deterministic pseudo-random numbers (mulberry32) so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function normals(n: number, seed: number, scale = 1, shift = 0): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => shift + scale * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()));
}

/** Row-major strides of a shape, in elements. */
export function rowMajorStrides(shape: number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

/** Run `fn` with the SIMD kernels and again with the plain JavaScript loops. */
export async function withAndWithoutSimd(fn: (label: string) => Promise<void>): Promise<void> {
  for (const simd of [true, false]) {
    setSimdEnabled(simd);
    try {
      await fn(simd ? 'simd' : 'js');
    } finally {
      setSimdEnabled(true);
    }
  }
}
