// Foundation bench: header parsing, heatmap tiles and statistics against numpy doing the
// same work on the same files in the same run (ratio = ours / numpy, goal <= 1), and the
// bytes a heatmap view sends per screen pixel (goal <= 2). Warm runs: each time is the median
// of several runs after a warm-up run, numpy's measured inside Python (start-up excluded).

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { encodeMessage } from '../src/shared/binaryCodec';
import type { DType } from '../src/shared/dtypes';
import { openModel } from '../src/engine/safetensors/model';
import { writeSafetensors, type TensorToWrite } from '../src/engine/safetensors/writer';
import { tensorStats } from '../src/engine/compute/stats';
import { computeTile } from '../src/engine/compute/tile';
import { setSimdEnabled } from '../src/engine/compute/wasm/kernels';
import { DATA_DIR, ensureDataDir, fmt, hasNumpy, numpy, table, timeMs } from './common';

const HEADER_FILE = join(DATA_DIR, 'header1000.safetensors');
const TILE_FILE = join(DATA_DIR, 'bf16_32000x512.safetensors');
const STATS_FILE = join(DATA_DIR, 'f32_256mb.safetensors');
const TILE_SHAPE = [32000, 512];
const STATS_SHAPE = [16384, 4096]; // 64 Mi float32 = 256 MiB

/** Deterministic standard normals, cheaply (sum of uniforms from an xorshift generator). */
function fillNormals(out: Float32Array, seed: number): void {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  for (let i = 0; i < out.length; i++) out[i] = (next() + next() + next() + next() - 2) * 1.7320508;
}

async function generate(): Promise<void> {
  ensureDataDir();
  if (!existsSync(HEADER_FILE)) {
    // 1000 tensors named like a transformer's, small data: the header dominates.
    const tensors: TensorToWrite[] = [];
    const dtypes: DType[] = ['BF16', 'F32', 'F16'];
    for (let i = 0; tensors.length < 1000; i++) {
      for (const part of ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj', 'mlp.gate_proj', 'mlp.up_proj', 'mlp.down_proj', 'input_layernorm', 'post_attention_layernorm', 'mlp.norm']) {
        if (tensors.length === 1000) break;
        const dtype = dtypes[tensors.length % 3];
        const shape = [8, 4 + (i % 5)];
        const bytes = shape[0] * shape[1] * (dtype === 'F32' ? 4 : 2);
        tensors.push({ name: `model.layers.${i}.${part}.weight`, dtype, shape, data: new Uint8Array(bytes) });
      }
    }
    await writeSafetensors(HEADER_FILE, tensors, { format: 'pt' });
  }
  if (!existsSync(TILE_FILE)) {
    const f = new Float32Array(TILE_SHAPE[0] * TILE_SHAPE[1]);
    fillNormals(f, 1);
    const bits = new Uint32Array(f.buffer);
    const bf16 = new Uint16Array(f.length);
    for (let i = 0; i < f.length; i++) bf16[i] = bits[i] >>> 16; // truncation is fine for bench data
    await writeSafetensors(TILE_FILE, [{ name: 'embed.weight', dtype: 'BF16', shape: TILE_SHAPE, data: new Uint8Array(bf16.buffer) }]);
  }
  if (!existsSync(STATS_FILE)) {
    const f = new Float32Array(STATS_SHAPE[0] * STATS_SHAPE[1]);
    fillNormals(f, 2);
    for (let i = 0; i < f.length; i += 1_000_003) f[i] = i % 3 === 0 ? NaN : i % 3 === 1 ? Infinity : 0;
    await writeSafetensors(STATS_FILE, [{ name: 'w', dtype: 'F32', shape: STATS_SHAPE, data: new Uint8Array(f.buffer) }]);
  }
}

export default async function foundation(): Promise<void> {
  await generate();
  const withNumpy = hasNumpy();
  if (!withNumpy) console.log('numpy not found (apt-get install -y python3-numpy): printing our times only');
  // "no SIMD": the same code with the WebAssembly kernels off (the plain JavaScript loops).
  const rows: string[][] = [['case', 'ours ms', 'numpy ms', 'ratio', 'no SIMD ms']];
  const row = (name: string, ours: number, theirs: number | null, plain: number | null = null) =>
    rows.push([name, fmt(ours), theirs === null ? '-' : fmt(theirs), theirs === null ? '-' : fmt(ours / theirs), plain === null ? '-' : fmt(plain)]);
  const withoutSimd = async (fn: () => Promise<number>): Promise<number> => {
    setSimdEnabled(false);
    try {
      return await fn();
    } finally {
      setSimdEnabled(true);
    }
  };

  // (1) Open a 1000-tensor header.
  const headerIters = 300;
  const openMs = await timeMs(async () => (await openModel(HEADER_FILE)).close(), headerIters, 20);
  row('open 1000-tensor header', openMs, withNumpy ? numpy(['header', HEADER_FILE, String(headerIters)]).ms : null);

  // (2) Overview tile (<= 1024 x 1024 cells) of a 32000 x 512 BF16 tensor.
  const tileModel = await openModel(TILE_FILE);
  const tt = tileModel.tensor('embed.weight');
  const full = { row0: 0, row1: TILE_SHAPE[0], col0: 0, col1: TILE_SHAPE[1] };
  const overview = () => computeTile(tileModel, tt, { slice: '', viewport: full, maxRows: 1024, maxCols: 1024, range: { kind: 'auto' } });
  const tile = await overview();
  const tileMs = await timeMs(overview, 7);
  const tilePlainMs = await withoutSimd(() => timeMs(overview, 7));
  const tileNumpy = withNumpy ? numpy(['tile', TILE_FILE, String(tt.fileOffset), ...TILE_SHAPE.map(String), '1024', '1024', '7']).ms : null;
  row(`overview tile ${tile.rows}x${tile.cols} of 32000x512 BF16`, tileMs, tileNumpy, tilePlainMs);

  // (3) Full statistics of a 256 MiB F32 tensor.
  const statsModel = await openModel(STATS_FILE);
  const st = statsModel.tensor('w');
  const statsMs = await timeMs(() => tensorStats(statsModel, st), 5);
  const statsPlainMs = await withoutSimd(() => timeMs(() => tensorStats(statsModel, st), 3));
  const numel = STATS_SHAPE[0] * STATS_SHAPE[1];
  row('stats of 256 MiB F32', statsMs, withNumpy ? numpy(['stats', STATS_FILE, String(st.fileOffset), String(numel), '64', '5']).ms : null, statsPlainMs);
  table(rows);

  // (4) Bytes sent per heatmap view of 1200 x 800 pixels (whole tensor in view).
  const pixels = 1200 * 800;
  console.log('\nbytes per pixel of a 1200x800 heatmap view of the 32000x512 tensor (goal <= 2):');
  const bytesRows: string[][] = [['tile', 'cells', 'payload B', 'message B', 'B/pixel']];
  for (const withMinMax of [false, true]) {
    const t = await computeTile(tileModel, tt, { slice: '', viewport: full, maxRows: 800, maxCols: 1200, range: { kind: 'auto' }, withMinMax });
    const payload = t.mean.byteLength + (t.min?.byteLength ?? 0) + (t.max?.byteLength ?? 0);
    const message = encodeMessage({ jsonrpc: '2.0', id: 1, result: t }).byteLength;
    bytesRows.push([withMinMax ? 'mean+min+max' : 'mean', `${t.rows}x${t.cols}`, String(payload), String(message), fmt(message / pixels, 3)]);
  }
  table(bytesRows);
  await Promise.all([tileModel.close(), statsModel.close()]);
}
