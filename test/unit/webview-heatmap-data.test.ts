import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { cellAt, cellEdges, codeToValue, colorbarTicks, divergingScale, niceStep, sequentialScale, tileToZ, valueToCode } from '../../src/webviews/modelEditor/heatmapData';

test('codes map linearly onto [lo, hi]; 255 becomes null', () => {
  assert.equal(codeToValue(0, -2, 2), -2);
  assert.equal(codeToValue(254, -2, 2), 2);
  assert.equal(codeToValue(127, -2, 2), 0, 'symmetric range: the middle code is exactly 0');
  assert.equal(valueToCode(1, -2, 2), 190.5);
  const z = tileToZ({ rows: 2, cols: 3, mean: new Uint8Array([0, 1, 255, 254, 255, 7]) });
  assert.deepEqual(z, [[0, 1, null], [254, null, 7]]);
});

test('cell edges put element centres on integers and clip the last cell', () => {
  assert.deepEqual(cellEdges(0, 4, 1, 4), [-0.5, 0.5, 1.5, 2.5, 3.5]);
  assert.deepEqual(cellEdges(10, 20, 4, 3), [9.5, 13.5, 17.5, 19.5]);
});

test('cellAt finds the cell and its element span', () => {
  const tile = { viewport: { row0: 10, row1: 20, col0: 0, col1: 7 }, rows: 3, cols: 4, cellRows: 4, cellCols: 2 };
  assert.deepEqual(cellAt(tile, 10, 0), { i: 0, j: 0, viewport: { row0: 10, row1: 14, col0: 0, col1: 2 } });
  assert.deepEqual(cellAt(tile, 19, 6), { i: 2, j: 3, viewport: { row0: 18, row1: 20, col0: 6, col1: 7 } });
  assert.equal(cellAt(tile, 9, 0), null);
  assert.equal(cellAt(tile, 10, 7), null);
  fc.assert(fc.property(fc.integer({ min: 10, max: 19 }), fc.integer({ min: 0, max: 6 }), (r, c) => {
    const hit = cellAt(tile, r, c)!;
    assert.ok(r >= hit.viewport.row0 && r < hit.viewport.row1 && c >= hit.viewport.col0 && c < hit.viewport.col1);
  }));
});

test('colour-bar ticks are round values inside the range, at their codes', () => {
  const t = colorbarTicks(-0.8, 0.8);
  assert.deepEqual(t.ticktext, ['-0.8', '-0.6', '-0.4', '-0.2', '0', '0.2', '0.4', '0.6', '0.8']);
  for (let i = 0; i < t.tickvals.length; i++) {
    assert.ok(t.tickvals[i] >= -1e-9 && t.tickvals[i] <= 254 + 1e-9);
    assert.ok(Math.abs(codeToValue(t.tickvals[i], -0.8, 0.8) - Number(t.ticktext[i])) < 1e-12);
  }
  assert.deepEqual(colorbarTicks(0, 1000).ticktext, ['0', '200', '400', '600', '800', '1000']);
  assert.deepEqual(colorbarTicks(3, 3).tickvals, [0], 'a constant tile still gets one tick');
  const small = colorbarTicks(-3e-5, 3e-5);
  assert.ok(small.ticktext.every((s) => s === '0' || /e-5$/.test(s)), small.ticktext.join());
  assert.equal(niceStep(10, 5), 2);
  assert.equal(niceStep(0.7, 7), 0.1);
});

test('colour scales are monotone in position and end at 0 and 1', () => {
  for (const scale of [divergingScale(true), divergingScale(false), sequentialScale()]) {
    assert.equal(scale[0][0], 0);
    assert.equal(scale[scale.length - 1][0], 1);
    for (let i = 1; i < scale.length; i++) assert.ok(scale[i][0] > scale[i - 1][0]);
  }
  assert.equal(divergingScale(false)[4][0], 0.5);
});
