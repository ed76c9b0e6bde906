// One timed projection in its own process, so peak RSS (process.resourceUsage().maxRSS) is
// that method's alone: `node runOne.js ours|umap-js FILE ROWS COLS OUT.f32 [SEED]
// [OPTIONS_JSON]` (bundled by projection.bench.ts; also runs with --import tsx). Prints one
// JSON line (wall and CPU seconds, peak RSS, phases); writes the embedding (float32 rows) to OUT.
import { writeFileSync } from 'node:fs';
import { fitProjection, tensorSource } from '../../src/engine/projection/index';
import { openModel } from '../../src/engine/safetensors/model';
import { readMatrix } from './data';

async function main(): Promise<void> {
  const [method, file, rowsArg, colsArg, out, seedArg, optionsArg] = process.argv.slice(2);
  const rows = Number(rowsArg);
  const cols = Number(colsArg);
  const seed = Number(seedArg ?? 0);
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  let embedding: Float32Array;
  const extra: Record<string, unknown> = {};
  if (method === 'ours') {
    const model = await openModel(file);
    try {
      const p = await fitProjection(tensorSource(model, 'x'), { seed, ...JSON.parse(optionsArg ?? '{}') });
      embedding = p.embedding;
      writeFileSync(`${out}.knn`, new Uint8Array(p.knn!.indices.buffer));
      writeFileSync(`${out}.space`, new Uint8Array(p.space.data.buffer, p.space.data.byteOffset, p.space.data.byteLength));
      extra.spaceCols = p.space.cols;
      extra.phases = p.stats.seconds;
      extra.exhaustiveRows = p.stats.exhaustiveRows;
      extra.provider = p.stats.provider;
      extra.pca = p.pca?.nComponents ?? 0;
    } finally {
      await model.close();
    }
  } else {
    const { UMAP } = await import('umap-js');
    const flat = readMatrix({ name: '', file, tensor: 'x', rows, cols, labels: new Int32Array(0) });
    const data: number[][] = [];
    for (let i = 0; i < rows; i++) data.push(Array.from(flat.subarray(i * cols, (i + 1) * cols)));
    let s = seed + 1;
    const random = () => {
      // mulberry32: umap-js takes any () => [0, 1) function
      s = (s + 0x6d2b79f5) | 0;
      let t = Math.imul(s ^ (s >>> 15), 1 | s);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const umap = new UMAP({ nComponents: 2, nNeighbors: 15, minDist: 0.1, random });
    const result = umap.fit(data);
    embedding = new Float32Array(rows * 2);
    result.forEach((r, i) => embedding.set(r, i * 2));
    const knn = (umap as unknown as { knnIndices?: number[][] }).knnIndices;
    if (knn) {
      const indices = new Int32Array(rows * 14);
      // umap-js's kNN rows start with the point itself; keep the 14 others
      knn.forEach((row, i) => indices.set(row.filter((j) => j !== i).slice(0, 14), i * 14));
      writeFileSync(`${out}.knn`, new Uint8Array(indices.buffer));
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6; // all threads of the process
  writeFileSync(out, new Uint8Array(embedding.buffer, embedding.byteOffset, embedding.byteLength));
  const maxRssMB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify({ method, seconds, cpuSeconds, maxRssMB, ...extra })}\n`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
