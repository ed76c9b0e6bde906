// The real CLI's umap, pca and knn commands (built bundle in a child process, and main() in
// this process): outputs read back independently, bad input exits 2 with one stderr line
// and writes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readHeader, runCli, runCliInProcess as cli, safetensorsBytes } from './cli-run';
import { Random } from '../../src/engine/projection/random';

const tmp = mkdtempSync(join(tmpdir(), 'tensorscope-projection-cli-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

const N = 300;
const D = 16;
const input = join(tmp, 'acts.safetensors');
const data = new Float32Array(N * D);
{
  const rng = new Random(1);
  const x = data;
  for (let i = 0; i < N; i++) for (let c = 0; c < D; c++) x[i * D + c] = rng.normal() + (i % 3) * 5 * (c % 2);
  writeFileSync(
    input,
    safetensorsBytes([
      { name: 'acts', dtype: 'F32', shape: [N, D], data: new Uint8Array(x.buffer) },
      { name: 'flat', dtype: 'F32', shape: [N * D], data: new Uint8Array(x.buffer) },
    ]),
  );
}

function tensor(file: string, name: string): { dtype: string; shape: number[]; bytes: Buffer } {
  const { header, dataStart, bytes } = readHeader(file);
  const h = header[name];
  assert.ok(h, `tensor ${name} in ${file}`);
  return { dtype: h.dtype, shape: h.shape, bytes: bytes.subarray(dataStart + h.data_offsets[0], dataStart + h.data_offsets[1]) };
}

test('umap (child process): exit 0, embedding [N, 2] F32 and the projection tensors, a one-line summary', async () => {
  const out = join(tmp, 'umap.safetensors');
  const r = await runCli(['umap', input, 'acts', '-o', out, '--pca', '8', '--epochs', '50', '--seed', '3']);
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
  assert.equal(r.stdout.trim().split('\n').length, 1);
  const { header, metadata } = readHeader(out);
  assert.deepEqual(Object.keys(header).sort(), ['embedding', 'pca.components', 'pca.coords', 'pca.explained_variance', 'scaler.mean', 'scaler.std']);
  const e = tensor(out, 'embedding');
  assert.deepEqual([e.dtype, e.shape], ['F32', [N, 2]]);
  const values = new Float32Array(e.bytes.buffer.slice(e.bytes.byteOffset, e.bytes.byteOffset + e.bytes.length));
  assert.ok(values.every(Number.isFinite));
  assert.equal((metadata as Record<string, string>).seed, '3');
  assert.equal((metadata as Record<string, string>).pca_components, '8');
});

test('pca and knn write what they say; knn indices equal a brute-force search', async () => {
  const pcaOut = join(tmp, 'pca.safetensors');
  let r = await cli(['pca', input, 'acts', '-o', pcaOut, '--components', '4']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(tensor(pcaOut, 'pca.coords').shape, [N, 4]);
  assert.deepEqual(tensor(pcaOut, 'pca.components').shape, [4, D]);

  const knnOut = join(tmp, 'knn.safetensors');
  r = await cli(['knn', input, 'acts', '-o', knnOut, '--neighbors', '5']);
  assert.equal(r.code, 0, r.stderr);
  const idx = tensor(knnOut, 'indices');
  const dist = tensor(knnOut, 'distances');
  assert.deepEqual([idx.dtype, idx.shape, dist.dtype, dist.shape], ['I64', [N, 5], 'F32', [N, 5]]);
  const indices = new BigInt64Array(idx.bytes.buffer.slice(idx.bytes.byteOffset, idx.bytes.byteOffset + idx.bytes.length));
  for (const i of [0, 1, 150, N - 1]) {
    const order = Array.from({ length: N }, (_, j) => j)
      .filter((j) => j !== i)
      .map((j) => [data.subarray(i * D, i * D + D).reduce((s, v, c) => s + (v - data[j * D + c]) ** 2, 0), j])
      .sort((a, b) => a[0] - b[0] || a[1] - b[1])
      .slice(0, 5)
      .map((p) => p[1]);
    assert.deepEqual(Array.from(indices.subarray(i * 5, i * 5 + 5), Number), order, `row ${i}`);
  }
});

test('bad input: exit 2, one stderr line naming the problem, no output file', async () => {
  const out = join(tmp, 'never.safetensors');
  const cases: [string[], RegExp][] = [
    [['umap', input, 'flat', '-o', out], /shape \[4800\].*2-D/],
    [['knn', input, 'acts', '-o', out, '--neighbors', String(N)], /less than the number of rows/],
    [['umap', input, 'acts', '-o', out, '--metric', 'manhattan'], /unknown metric 'manhattan'/],
    [['knn', input, 'acts', '-o', out, '--metric', 'hamming'], /unknown metric 'hamming'/],
    [['umap', input, 'acts'], /missing -o OUT/],
    [['umap', input, 'nope', '-o', out], /no tensor named "nope"/],
    [['umap', join(tmp, 'missing.safetensors'), 'acts', '-o', out], /missing\.safetensors/],
    [['umap', input, 'acts', '-o', out, '--components', '4'], /--components/],
    [['umap', input, 'acts', '-o', out, '--neighbors', String(N + 1)], /neighbors/],
    [['pca', input, 'acts', '-o', out, '--components', String(D + 1)], /components/],
  ];
  for (const [args, message] of cases) {
    const r = await cli(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  const r = await runCli(['umap', input, 'flat', '-o', out]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.equal(existsSync(out), false);
});
