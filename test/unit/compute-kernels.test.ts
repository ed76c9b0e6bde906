import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernels, setSimdEnabled, type Kernels } from '../../src/engine/compute/wasm/kernels';
import { rng } from './compute-helpers';

const SPECIALS = [NaN, Infinity, -Infinity, 0, -0, 1e-45, -3.4e38, 3.4e38, 1.5, -2.25];

function k(): Kernels {
  const got = kernels();
  assert.ok(got, 'WebAssembly SIMD kernels are available on Node 20');
  return got;
}

/** n float32 values: random normals scaled wildly, with specials sprinkled in. */
function data(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = r() < 0.15 ? SPECIALS[Math.floor(r() * SPECIALS.length)] : (r() - 0.5) * 10 ** Math.floor(r() * 8 - 4);
  return out;
}

function put(kk: Kernels, values: Float32Array): number {
  const ptr = kk.heap.alloc(values.length * 4);
  kk.f32(ptr, values.length).set(values);
  return ptr;
}

test('decodeBf16 shifts every bf16 bit pattern into float32 bits', () => {
  const kk = k();
  const src = kk.heap.alloc(65536 * 2);
  const dst = kk.heap.alloc(65536 * 4);
  const patterns = kk.u8(src, 65536 * 2);
  new Uint16Array(patterns.buffer, patterns.byteOffset, 65536).forEach((_, i, a) => (a[i] = i));
  kk.decodeBf16(src, dst, 65536);
  const bits = new Uint32Array(kk.u8(dst, 65536 * 4).buffer, dst, 65536);
  for (let i = 0; i < 65536; i++) assert.equal(bits[i], (i << 16) >>> 0, `pattern ${i}`);
  kk.heap.release(src, 65536 * 2);
  kk.heap.release(dst, 65536 * 4);
});

test('accumRow adds finite values and counts the others, lane by lane', () => {
  const kk = k();
  for (const n of [0, 4, 8, 60, 1024]) {
    const rows = [data(n, n + 1), data(n, n + 2), data(n, n + 3)];
    const sum = kk.f64(kk.heap.alloc(n * 8 + 8), n).fill(0.25);
    const bad = kk.i32(kk.heap.alloc(n * 4 + 4), n).fill(1);
    for (const row of rows) kk.accumRow(put(kk, row), n, sum.byteOffset, bad.byteOffset);
    for (let j = 0; j < n; j++) {
      let s = 0.25;
      let b = 1;
      for (const row of rows) {
        if (Number.isFinite(row[j])) s += row[j];
        else b++;
      }
      assert.equal(sum[j], s, `sum ${j} of ${n}`);
      assert.equal(bad[j], b, `bad ${j} of ${n}`);
    }
  }
});

test('moments: per-lane min, max, sums and counts', () => {
  const kk = k();
  for (const n of [0, 4, 16, 400, 4096]) {
    const x = data(n, 7 * n + 1);
    kk.moments(put(kk, x), n, kk.outPtr);
    const lanes = kk.f32(kk.outPtr, 8);
    const sums = kk.f64(kk.outPtr + 32, 4);
    const counts = kk.i32(kk.outPtr + 64, 12);
    for (let l = 0; l < 4; l++) {
      const lane = Array.from(x).filter((_, i) => i % 4 === l);
      const finite = lane.filter(Number.isFinite);
      assert.equal(lanes[l], finite.length ? Math.fround(Math.min(...finite)) : Infinity);
      assert.equal(lanes[4 + l], finite.length ? Math.fround(Math.max(...finite)) : -Infinity);
      const exact = finite.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sums[l] - exact) <= 1e-12 * finite.reduce((a, b) => a + Math.abs(b), 0), `sum lane ${l}`);
      assert.deepEqual(
        [counts[l], counts[4 + l], counts[8 + l]],
        [finite.length, lane.filter((v) => v === 0).length, lane.filter(Number.isNaN).length],
        `counts lane ${l} of ${n}`,
      );
    }
  }
});

test('spread: deviations from the mean and histogram bins like the scalar formula', () => {
  const kk = k();
  for (const n of [4, 64, 4000]) {
    const x = data(n, 3 * n);
    const finite = Array.from(x).filter(Number.isFinite);
    const lo = Math.min(...finite);
    const hi = Math.max(...finite);
    const mean = finite.reduce((a, b) => a + b, 0) / finite.length;
    const bins = 37;
    const scale = bins / (hi - lo);
    const counts = kk.i32(kk.heap.alloc((bins + 1) * 4), bins + 1).fill(0);
    kk.spread(put(kk, x), n, mean, lo, scale, bins - 1, counts.byteOffset, kk.outPtr);
    const out = kk.f64(kk.outPtr, 8);
    const want = new Array(bins + 1).fill(0);
    let m2 = 0;
    let dev = 0;
    for (const v of x) {
      if (!Number.isFinite(v)) {
        want[bins]++;
        continue;
      }
      want[Math.min(Math.trunc((v - lo) * scale), bins - 1)]++;
      m2 += (v - mean) ** 2;
      dev += v - mean;
    }
    assert.deepEqual(Array.from(counts), want, `counts of ${n}`);
    const gotM2 = out[0] + out[1] + out[2] + out[3];
    const gotDev = out[4] + out[5] + out[6] + out[7];
    assert.ok(Math.abs(gotM2 - m2) <= 1e-12 * m2, `m2 ${gotM2} vs ${m2}`);
    assert.ok(Math.abs(gotDev - dev) <= 1e-9 * Math.sqrt(m2 * n), `dev ${gotDev} vs ${dev}`);
  }
});

test('heap: blocks are aligned, reused after release, and earlier views survive growth', () => {
  const kk = k();
  const a = kk.heap.alloc(100);
  const view = kk.f64(a, 12).fill(3);
  const b = kk.heap.alloc(64 << 20); // grows the memory
  assert.equal(a % 16, 0);
  assert.equal(b % 16, 0);
  assert.deepEqual(Array.from(view), new Array(12).fill(3));
  kk.f64(b, 4).fill(5);
  kk.heap.release(b, 64 << 20);
  const c = kk.heap.alloc(1 << 20);
  assert.equal(c, b, 'released block is reused');
  kk.heap.release(c, 1 << 20);
  kk.heap.release(a, 100);
  assert.ok(kk.owns(view) && !kk.owns(new Float64Array(4)));
});

test('setSimdEnabled(false) turns the kernels off', () => {
  setSimdEnabled(false);
  try {
    assert.equal(kernels(), null);
  } finally {
    setSimdEnabled(true);
  }
  assert.ok(kernels());
});
