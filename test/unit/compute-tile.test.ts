import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, readSync, closeSync } from 'node:fs';
import { TILE_NO_VALUE, type Tile, type TileRange, type Viewport } from '../../src/shared/protocol';
import type { Model } from '../../src/engine/safetensors/model';
import { UserError } from '../../src/engine/errors';
import { computeTile, elementAt, regionSummary } from '../../src/engine/compute/tile';
import { normals, tempModel, withAndWithoutSimd } from './compute-helpers';

// A [4, 30, 50] tensor; views are written out by hand as element-index formulas, so the
// reference does not go through the slice parser.
const SHAPE = [4, 30, 50];
type Matrix = { rows: number; cols: number; at: (r: number, c: number) => number };

function matrix(values: number[], rows: number, cols: number, index: (r: number, c: number) => number): Matrix {
  return { rows, cols, at: (r, c) => values[index(r, c)] };
}

/** Brute-force block aggregates of the clamped viewport, the way the protocol defines a tile. */
function referenceTile(m: Matrix, vp: Viewport, maxRows: number, maxCols: number) {
  const row0 = Math.max(0, Math.min(vp.row0, m.rows));
  const row1 = Math.max(row0, Math.min(vp.row1, m.rows));
  const col0 = Math.max(0, Math.min(vp.col0, m.cols));
  const col1 = Math.max(col0, Math.min(vp.col1, m.cols));
  const cr = Math.max(1, Math.ceil((row1 - row0) / maxRows));
  const cc = Math.max(1, Math.ceil((col1 - col0) / maxCols));
  const rows = Math.ceil((row1 - row0) / cr);
  const cols = Math.ceil((col1 - col0) / cc);
  const mean: number[] = [];
  const min: number[] = [];
  const max: number[] = [];
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const vals: number[] = [];
      for (let r = row0 + i * cr; r < Math.min(row0 + (i + 1) * cr, row1); r++) {
        for (let c = col0 + j * cc; c < Math.min(col0 + (j + 1) * cc, col1); c++) vals.push(m.at(r, c));
      }
      const finite = vals.filter(Number.isFinite);
      mean.push(finite.length ? finite.reduce((a, b) => a + b, 0) / finite.length : NaN);
      min.push(finite.length ? Math.min(...finite) : NaN);
      max.push(finite.length ? Math.max(...finite) : NaN);
    }
  }
  return { viewport: { row0, row1, col0, col1 }, rows, cols, cellRows: cr, cellCols: cc, mean, min, max };
}

function referenceRange(range: TileRange, means: number[]): [number, number] {
  if (range.kind === 'fixed') return [range.lo, range.hi];
  const finite = means.filter(Number.isFinite);
  if (finite.length === 0) return [0, 0];
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  if (range.kind === 'symmetric') {
    const a = Math.max(-lo, hi);
    return [-a, a];
  }
  return [lo, hi];
}

/** Codes must match; a reference value sitting on a rounding boundary may go either way. */
function assertCodes(got: Uint8Array, want: number[], lo: number, hi: number, what: string): void {
  assert.equal(got.length, want.length, what);
  want.forEach((v, i) => {
    if (Number.isNaN(v)) return assert.equal(got[i], TILE_NO_VALUE, `${what} cell ${i}`);
    const exact = hi > lo ? ((v - lo) / (hi - lo)) * 254 : v < lo ? 0 : v > hi ? 254 : 127;
    const code = Math.min(254, Math.max(0, Math.round(exact)));
    const ambiguous = Math.abs((exact % 1) - 0.5) < 1e-6;
    assert.ok(got[i] === code || (ambiguous && Math.abs(got[i] - code) === 1), `${what} cell ${i}: got ${got[i]}, want ${code} (${v})`);
  });
}

function checkTile(tile: Tile, m: Matrix, vp: Viewport, maxRows: number, maxCols: number, range: TileRange, what: string): void {
  const ref = referenceTile(m, vp, maxRows, maxCols);
  assert.deepEqual(tile.viewport, ref.viewport, `${what} viewport`);
  assert.deepEqual([tile.rows, tile.cols, tile.cellRows, tile.cellCols], [ref.rows, ref.cols, ref.cellRows, ref.cellCols], `${what} shape`);
  assert.equal(tile.exact, ref.cellRows === 1 && ref.cellCols === 1);
  const [lo, hi] = referenceRange(range, ref.mean);
  assert.ok(Math.abs(tile.lo - lo) <= 1e-12 * Math.abs(lo) && Math.abs(tile.hi - hi) <= 1e-12 * Math.abs(hi), `${what} range ${tile.lo},${tile.hi} vs ${lo},${hi}`);
  assertCodes(tile.mean, ref.mean, lo, hi, `${what} mean`);
  if (tile.min && tile.max) {
    assertCodes(tile.min, ref.min, lo, hi, `${what} min`);
    assertCodes(tile.max, ref.max, lo, hi, `${what} max`);
  }
}

/** The same model, counting the bytes it reads. */
function counting(model: Model): { model: Model; bytes: () => number } {
  let bytes = 0;
  const wrapped: Model = {
    info: model.info,
    tensor: (name) => model.tensor(name),
    read: (t, s, e) => ((bytes += e - s), model.read(t, s, e)),
    readInto: (t, s, d) => ((bytes += d.length), model.readInto(t, s, d)),
    close: () => model.close(),
  };
  return { model: wrapped, bytes: () => bytes };
}

test('tiles: block means, min/max, ranges and clamping match a brute-force reference', async () => {
  const values = normals(6000, 5, 2, 0.5);
  for (const i of [3000, 3001, 3050, 3051, 4712]) values[i] = NaN; // a whole 2x2 block of x[2] is NaN
  values[3100] = Infinity;
  const { model, stored, cleanup } = await tempModel([
    { name: 'x', dtype: 'F32', shape: SHAPE, values },
    { name: 'h', dtype: 'BF16', shape: SHAPE, values },
  ]);
  try {
    await withAndWithoutSimd(async (path) => {
      for (const name of ['x', 'h']) {
        const v = stored.get(name)!;
        const views: [string, Matrix][] = [
          ['[2, :, :]', matrix(v, 30, 50, (r, c) => 3000 + r * 50 + c)],
          ['[1, ::-2, 3:40:3]', matrix(v, 15, 13, (r, c) => 1500 + (29 - 2 * r) * 50 + 3 + 3 * c)],
          ['[-1, 4, ::-1]', matrix(v, 1, 50, (_r, c) => 4500 + 200 + 49 - c)],
          ['[0, :, 7:8]', matrix(v, 30, 1, (r) => r * 50 + 7)],
          ['[:, 3, :]', matrix(v, 4, 50, (r, c) => r * 1500 + 150 + c)],
          ['[3, 5, 6]', matrix(v, 1, 1, () => 4500 + 250 + 6)],
        ];
        const requests: [Viewport, number, number, TileRange, boolean][] = [
          [{ row0: 0, row1: 1e9, col0: 0, col1: 1e9 }, 1024, 1024, { kind: 'auto' }, false],
          [{ row0: 0, row1: 30, col0: 0, col1: 50 }, 7, 9, { kind: 'auto' }, true],
          [{ row0: 0, row1: 30, col0: 0, col1: 50 }, 4, 1, { kind: 'symmetric' }, false],
          [{ row0: 2, row1: 30, col0: 1, col1: 50 }, 5, 7, { kind: 'auto' }, false],
          [{ row0: 3, row1: 17, col0: 5, col1: 44 }, 3, 5, { kind: 'fixed', lo: -1, hi: 2 }, true],
          [{ row0: -5, row1: 12, col0: 40, col1: 400 }, 100, 3, { kind: 'symmetric' }, true],
          [{ row0: 1, row1: 29, col0: 1, col1: 49 }, 1, 1, { kind: 'auto' }, true],
          [{ row0: 5, row1: 5, col0: 0, col1: 10 }, 10, 10, { kind: 'auto' }, false],
        ];
        for (const [slice, m] of views) {
          for (const [vp, mr, mc, range, withMinMax] of requests) {
            const tile = await computeTile(model, model.tensor(name), { slice, viewport: vp, maxRows: mr, maxCols: mc, range, withMinMax }, undefined, { chunkBytes: 256 });
            const what = `${name}${slice} ${JSON.stringify(vp)} ${mr}x${mc} ${range.kind} (${path})`;
            checkTile(tile, m, vp, mr, mc, range, what);
            assert.equal(tile.min === undefined, !withMinMax);
            if (range.kind === 'symmetric') assert.ok(tile.lo + tile.hi === 0 && tile.lo <= 0, what);
          }
        }
      }
    });
  } finally {
    await cleanup();
  }
});

test('tiles: exact mode gives the element values; a zoomed viewport reads only its rows', async () => {
  const values = Array.from({ length: 200 * 255 }, (_, i) => (i * 7) % 255);
  const { model: m0, cleanup } = await tempModel([{ name: 'u', dtype: 'U8', shape: [200, 255], values }]);
  try {
    const { model, bytes } = counting(m0);
    const t = model.tensor('u');
    const vp = { row0: 100, row1: 110, col0: 20, col1: 60 };
    const tile = await computeTile(model, t, { slice: '', viewport: vp, maxRows: 800, maxCols: 1200, range: { kind: 'fixed', lo: 0, hi: 254 } });
    assert.equal(tile.exact, true);
    assert.deepEqual([tile.rows, tile.cols], [10, 40]);
    for (let r = 0; r < 10; r++) {
      for (let c = 0; c < 40; c++) assert.equal(tile.mean[r * 40 + c], values[(100 + r) * 255 + 20 + c]);
    }
    assert.ok(bytes() <= 10 * 255, `read ${bytes()} bytes for a 10-row viewport`);
    await assert.rejects(computeTile(model, t, { slice: '[0, 0, 0]', viewport: vp, maxRows: 8, maxCols: 8, range: { kind: 'auto' } }), UserError);
    await assert.rejects(computeTile(model, t, { slice: '', viewport: vp, maxRows: 0, maxCols: 8, range: { kind: 'auto' } }), UserError);
    await assert.rejects(computeTile(model, t, { slice: '', viewport: vp, maxRows: 16384, maxCols: 16384, range: { kind: 'auto' } }), /too large/);
    await assert.rejects(computeTile(model, t, { slice: '', viewport: vp, maxRows: 8, maxCols: 8, range: { kind: 'fixed', lo: 2, hi: 1 } }), UserError);
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(computeTile(model, t, { slice: '', viewport: vp, maxRows: 8, maxCols: 8, range: { kind: 'auto' } }, ac.signal), /cancelled/);
  } finally {
    await cleanup();
  }
});

test('tiles: symmetric range centres zero; empty cells and constant tiles', async () => {
  const { model, cleanup } = await tempModel([
    { name: 'z', dtype: 'F16', shape: [2, 3], values: [-2, 0, 1, NaN, NaN, 0.5] },
    { name: 'c', dtype: 'F32', shape: [2, 2], values: [3, 3, 3, 3] },
    { name: 'e', dtype: 'F32', shape: [0, 5], values: [] },
  ]);
  try {
    const z = await computeTile(model, model.tensor('z'), { slice: '', viewport: { row0: 0, row1: 2, col0: 0, col1: 3 }, maxRows: 2, maxCols: 3, range: { kind: 'symmetric' } });
    assert.deepEqual([z.lo, z.hi], [-2, 2]);
    assert.deepEqual(Array.from(z.mean), [0, 127, 191, 255, 255, 159]);
    const c = await computeTile(model, model.tensor('c'), { slice: '', viewport: { row0: 0, row1: 2, col0: 0, col1: 2 }, maxRows: 1, maxCols: 1, range: { kind: 'auto' } });
    assert.deepEqual([c.rows, c.cols, c.cellRows, c.cellCols, c.lo, c.hi, ...c.mean], [1, 1, 2, 2, 3, 3, 127]);
    const e = await computeTile(model, model.tensor('e'), { slice: '', viewport: { row0: 0, row1: 9, col0: 0, col1: 9 }, maxRows: 4, maxCols: 4, range: { kind: 'auto' } });
    assert.deepEqual([e.rows, e.cols, e.mean.length, e.viewport.row1, e.viewport.col1], [0, 3, 0, 0, 5]);
  } finally {
    await cleanup();
  }
});

test('elementAt: exact text, value, N-D index, byte offset and hex for several dtypes', async () => {
  const { model, path, cleanup } = await tempModel([
    { name: 'f32', dtype: 'F32', shape: [2, 3, 4], values: Array.from({ length: 24 }, (_, i) => (i === 18 ? -0 : i / 10)) },
    { name: 'bf16', dtype: 'BF16', shape: [5], values: [1, -2.5, NaN, -Infinity, 3.140625] },
    { name: 'i64', dtype: 'I64', shape: [2], values: [-5, 2 ** 53] },
    { name: 'f4', dtype: 'F4', shape: [2, 4], values: [0.5, 1, 1.5, 2, 3, 4, 6, -6] },
    { name: 'flag', dtype: 'BOOL', shape: [3], values: [1, 0, 1] },
    { name: 'z', dtype: 'C64', shape: [2], values: [1.5, -2] },
  ]);
  const fd = openSync(path, 'r');
  const fileHex = (offset: number, n: number) => {
    const b = Buffer.alloc(n);
    readSync(fd, b, 0, n, offset);
    return b.toString('hex');
  };
  try {
    const cases: [string, string, number, number, { index: number[]; text: string; value: number; element: number; bytes: number; bitOffset: number }][] = [
      ['f32', '[1, :, :]', 1, 2, { index: [1, 1, 2], text: '-0', value: -0, element: 18, bytes: 4, bitOffset: 0 }],
      ['f32', '[1, ::-1, 3]', 0, 0, { index: [1, 2, 3], text: String(Math.fround(2.3)), value: Math.fround(2.3), element: 23, bytes: 4, bitOffset: 0 }],
      ['bf16', '', 0, 1, { index: [1], text: '-2.5', value: -2.5, element: 1, bytes: 2, bitOffset: 0 }],
      ['bf16', '[2:]', 0, 0, { index: [2], text: 'NaN', value: NaN, element: 2, bytes: 2, bitOffset: 0 }],
      ['bf16', '[::-1]', 0, 1, { index: [3], text: '-Infinity', value: -Infinity, element: 3, bytes: 2, bitOffset: 0 }],
      ['i64', '', 0, 1, { index: [1], text: '9007199254740992', value: 2 ** 53, element: 1, bytes: 8, bitOffset: 0 }],
      ['f4', '', 1, 3, { index: [1, 3], text: '-6', value: -6, element: 7, bytes: 0.5, bitOffset: 4 }],
      ['f4', '[1]', 0, 2, { index: [1, 2], text: '6', value: 6, element: 6, bytes: 0.5, bitOffset: 0 }],
      ['flag', '[1]', 0, 0, { index: [1], text: 'false', value: 0, element: 1, bytes: 1, bitOffset: 0 }],
      ['z', '[0]', 0, 0, { index: [0], text: '1.5+0j', value: 1.5, element: 0, bytes: 8, bitOffset: 0 }],
    ];
    for (const [name, slice, row, col, want] of cases) {
      const t = model.tensor(name);
      const e = await elementAt(model, t, slice, row, col);
      const byteOffset = t.fileOffset + Math.floor(want.element * want.bytes);
      assert.deepEqual(e.index, want.index, `${name}${slice}`);
      assert.equal(e.text, want.text, `${name}${slice}`);
      assert.ok(Object.is(e.value, want.value), `${name}${slice} value ${e.value}`);
      assert.equal(e.byteOffset, byteOffset, `${name}${slice} offset`);
      assert.equal(e.bitOffset, want.bitOffset);
      assert.equal(e.hex, fileHex(byteOffset, Math.max(1, want.bytes)), `${name}${slice} hex`);
    }
    await assert.rejects(elementAt(model, model.tensor('f32'), '[0]', 3, 0), (e: unknown) => e instanceof UserError && /element \(3, 0\) is outside the 3 x 4 view \[0, :, :\] of "f32"/.test(e.message));
    await assert.rejects(elementAt(model, model.tensor('f32'), '[0]', 0, 1.5), UserError);
  } finally {
    closeSync(fd);
    await cleanup();
  }
});

test('regionSummary: counts, NaNs and finite min/max/mean of a clamped region', async () => {
  const values = normals(600, 9);
  values[35] = NaN;
  values[36] = Infinity;
  values[77] = NaN;
  const { model, stored, cleanup } = await tempModel([{ name: 'w', dtype: 'F32', shape: [20, 30], values }]);
  try {
    const v = stored.get('w')!;
    for (const vp of [{ row0: 1, row1: 3, col0: 2, col1: 20 }, { row0: -4, row1: 99, col0: 0, col1: 99 }, { row0: 7, row1: 7, col0: 0, col1: 5 }]) {
      const s = await regionSummary(model, model.tensor('w'), '[:, :]', vp, undefined, { chunkBytes: 64 });
      const r0 = Math.max(0, vp.row0), r1 = Math.min(20, vp.row1), c0 = vp.col0, c1 = Math.min(30, vp.col1);
      const vals: number[] = [];
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) vals.push(v[r * 30 + c]);
      const finite = vals.filter(Number.isFinite);
      assert.deepEqual(s.viewport, { row0: r0, row1: Math.max(r0, r1), col0: c0, col1: c1 });
      assert.equal(s.count, vals.length);
      assert.equal(s.nan, vals.filter(Number.isNaN).length);
      assert.equal(s.min, finite.length ? Math.min(...finite) : null);
      assert.equal(s.max, finite.length ? Math.max(...finite) : null);
      if (finite.length) assert.ok(Math.abs(s.mean! - finite.reduce((a, b) => a + b, 0) / finite.length) < 1e-12);
      else assert.equal(s.mean, null);
    }
  } finally {
    await cleanup();
  }
});
