import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  defaultSpecs, formatSlice, formatTensorRanges, parseSlice, resolveRange, setDimIndex, setDimKind, viewAxes, viewCellToTensor, type DimSpec,
} from '../../src/webviews/modelEditor/sliceModel';

test('parse and format numpy-like slices', () => {
  assert.deepEqual(parseSlice('[0, :, 10:20]', 3), [
    { kind: 'index', index: 0 },
    { kind: 'range', start: null, stop: null, step: null },
    { kind: 'range', start: 10, stop: 20, step: null },
  ]);
  assert.equal(formatSlice(parseSlice('[0, :, 10:20]', 3)!), '[0, :, 10:20]');
  assert.equal(formatSlice(parseSlice('1', 3)!), '[1, :, :]', 'missing trailing dims are full ranges');
  assert.equal(formatSlice(parseSlice('[..., -1]', 3)!), '[:, :, -1]');
  assert.equal(formatSlice(parseSlice('[::-2, 3]', 2)!), '[::-2, 3]');
  assert.equal(formatSlice(parseSlice('[]', 0)!), '[]');
  assert.equal(parseSlice('[0, 0, 0, 0]', 3), null, 'too many dims');
  assert.equal(parseSlice('[a]', 1), null);
  assert.equal(parseSlice('[1:2:3:4]', 1), null);
  assert.equal(parseSlice('[..., ...]', 2), null);
});

test('default view and axis roles', () => {
  assert.equal(formatSlice(defaultSpecs([2, 3, 4, 5])), '[0, 0, :, :]');
  assert.equal(formatSlice(defaultSpecs([7])), '[:]');
  assert.equal(formatSlice(defaultSpecs([])), '[]');
  assert.deepEqual(viewAxes(parseSlice('[0, :, :]', 3)!), { rowDim: 1, colDim: 2 });
  assert.deepEqual(viewAxes(parseSlice('[:, 0, 1]', 3)!), { rowDim: -1, colDim: 0 });
  assert.deepEqual(viewAxes(parseSlice('[1, 0]', 2)!), { rowDim: -1, colDim: -1 });
});

test('control edits keep at most two axes', () => {
  let s: DimSpec[] = defaultSpecs([2, 3, 4, 5]); // [0, 0, :, :]
  s = setDimKind(s, 0, 'range');
  assert.equal(formatSlice(s), '[:, 0, :, 0]', 'the axis farthest from the new one becomes an index');
  s = setDimIndex(s, 1, 2);
  assert.equal(formatSlice(s), '[:, 2, :, 0]');
  s = setDimKind(s, 2, 'index');
  assert.equal(formatSlice(s), '[:, 2, 0, 0]');
  assert.deepEqual(viewAxes(s), { rowDim: -1, colDim: 0 });
  assert.equal(formatSlice(setDimKind(s, 0, 'range')), '[:, 2, 0, 0]', 'already an axis: unchanged');
});

test('resolveRange follows Python slice semantics (property)', () => {
  const opt = fc.option(fc.integer({ min: -12, max: 12 }), { nil: null });
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 10 }), opt, opt, fc.option(fc.integer({ min: -4, max: 4 }).filter((x) => x !== 0), { nil: null }), (size, start, stop, step) => {
      const r = resolveRange({ kind: 'range', start, stop, step }, size);
      const got = Array.from({ length: r.count }, (_, i) => r.start + r.step * i);
      assert.deepEqual(got, pySlice(size, start, stop, step));
    }),
  );
});

// Reference: Python's slice.indices + range, written out directly.
function pySlice(size: number, start: number | null, stop: number | null, step: number | null): number[] {
  const st = step ?? 1;
  const out: number[] = [];
  const adj = (v: number, lo: number, hi: number) => { if (v < 0) v += size; return Math.min(Math.max(v, lo), hi); };
  if (st > 0) {
    const a = start === null ? 0 : adj(start, 0, size);
    const b = stop === null ? size : adj(stop, 0, size);
    for (let i = a; i < b; i += st) out.push(i);
  } else {
    const a = start === null ? size - 1 : adj(start, -1, size - 1);
    const b = stop === null ? -1 : adj(stop, -1, size - 1);
    for (let i = a; i > b; i += st) out.push(i);
  }
  return out;
}

test('view cells map back to tensor index ranges', () => {
  const specs = parseSlice('[3, 10:30:2, :]', 3)!;
  const shape = [4, 64, 32];
  assert.deepEqual(viewCellToTensor(specs, shape, [0, 1], [5, 6]), [
    { begin: 3, end: 4, step: 1 }, { begin: 10, end: 11, step: 2 }, { begin: 5, end: 6, step: 1 },
  ]);
  const cell = viewCellToTensor(specs, shape, [2, 5], [0, 8]);
  assert.equal(formatTensorRanges(cell), '[3, 14..18 step 2, 0..7]');
  const rev = viewCellToTensor(parseSlice('[::-1]', 1)!, [10], [0, 1], [0, 3]);
  assert.deepEqual(rev, [{ begin: 7, end: 10, step: 1 }]);
  assert.equal(formatTensorRanges(viewCellToTensor(parseSlice('[-1, :]', 2)!, [5, 6], [0, 1], [2, 3])), '[4, 2]');
});
