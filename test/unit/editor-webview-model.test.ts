// The edit controls' pure logic: typed numbers, ops, row/column ranges, region edits, element
// addresses (checked against the engine's slice resolution), and the hex view's layout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { TensorInfo } from '../../src/shared/protocol';
import { resolveSlice } from '../../src/engine/compute/slice';
import {
  buildOp,
  byteOfElement,
  cleanHex,
  elementAddress,
  elementAtByte,
  elementValue,
  hexRowBytes,
  parseNumber,
  parseRange,
  rectFromText,
  regionEdit,
  scrollTopForRow,
  unitOf,
  virtualRows,
} from '../../src/webviews/modelEditor/editModel';

test('numbers as typed', () => {
  assert.equal(parseNumber(' 2.5 '), 2.5);
  assert.equal(parseNumber('-1e-3'), -0.001);
  assert.equal(parseNumber('.5'), 0.5);
  assert.ok(Number.isNaN(parseNumber('NaN')!));
  assert.equal(parseNumber('-inf'), -Infinity);
  assert.equal(parseNumber('Infinity'), Infinity);
  for (const bad of ['', 'abc', '1,5', '2x', '--1', 'e5']) assert.equal(parseNumber(bad), null, bad);
});

test('element values: numbers for the dtype; I64 / U64 integers a double cannot hold are refused', () => {
  assert.equal(elementValue(' 3.14159 ', 'F16'), 3.14159);
  assert.equal(elementValue('true', 'BOOL'), 1);
  assert.equal(elementValue('False', 'BOOL'), 0);
  assert.equal(elementValue('true', 'F32'), '"true" is not a number');
  assert.equal(elementValue('1.5+2j', 'C64'), '"1.5+2j" is not a number');
  // Exact doubles pass: 2^53 - 1, 2^60, -2^63, hex, and any integer for a dtype other than I64 / U64.
  assert.equal(elementValue('9007199254740991', 'I64'), 2 ** 53 - 1);
  assert.equal(elementValue('1152921504606846976', 'U64'), 2 ** 60);
  assert.equal(elementValue('-9223372036854775808', 'I64'), -(2 ** 63));
  assert.equal(elementValue('0x20000000000000', 'I64'), 2 ** 53);
  assert.equal(elementValue('9007199254740993', 'F64'), 2 ** 53);
  // 2^53 + 1 would be written as 2^53, 2^63 - 2 as 2^63 - 1 (clamped).
  for (const [text, dtype] of [['9007199254740993', 'I64'], ['-9007199254740993', 'I64'], ['9223372036854775806', 'I64'], ['18446744073709551615', 'U64'], ['0x20000000000001', 'U64']] as const) {
    assert.match(elementValue(text, dtype) as string, /^\S+ is not exact as a double \(beyond 2\^53\): set the element's bytes instead$/, text);
  }
  fc.assert(
    fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (b) => {
      const v = elementValue(String(b), 'I64');
      // Either the exact value or a refusal, never a neighbouring integer.
      return typeof v === 'string' ? BigInt(Number(b)) !== b : BigInt(v) === b;
    }),
  );
});

test('ops from typed parameters, with one-line messages for bad ones', () => {
  assert.deepEqual(buildOp('scale', { factor: '2' }), { kind: 'scale', factor: 2 });
  assert.deepEqual(buildOp('clamp', { lo: '-1', hi: '1' }), { kind: 'clamp', lo: -1, hi: 1 });
  assert.deepEqual(buildOp('zero', {}), { kind: 'zero' });
  assert.deepEqual(buildOp('noise', { std: '0.1', seed: '7' }), { kind: 'noise', std: 0.1, seed: 7 });
  assert.equal(buildOp('clamp', { lo: '2', hi: '1' }), 'clamp needs min <= max');
  assert.match(buildOp('noise', { std: '0.1', seed: '1.5' }) as string, /whole number/);
  assert.match(buildOp('noise', { std: '-1', seed: '1' }) as string, /std/);
  assert.match(buildOp('add', { amount: 'x' }) as string, /"x" is not a number/);
});

test('row/column ranges: a:b, a, a:, :b, negatives, and errors', () => {
  assert.deepEqual(parseRange('2:5', 10, 'rows'), [2, 5]);
  assert.deepEqual(parseRange('3', 10, 'rows'), [3, 4]);
  assert.deepEqual(parseRange('', 10, 'rows'), [0, 10]);
  assert.deepEqual(parseRange(':', 10, 'rows'), [0, 10]);
  assert.deepEqual(parseRange('7:', 10, 'rows'), [7, 10]);
  assert.deepEqual(parseRange(':-2', 10, 'rows'), [0, 8]);
  assert.deepEqual(parseRange('-1', 10, 'rows'), [9, 10]);
  for (const bad of ['5:2', '0:11', 'a:b', '1:2:3', '10']) assert.equal(typeof parseRange(bad, 10, 'rows'), 'string', bad);
  const view = { rows: 4, cols: 6 };
  assert.deepEqual(rectFromText('1:3', '', view), { row0: 1, row1: 3, col0: 0, col1: 6 });
  assert.match(rectFromText('1:3', '9', view) as string, /^cols 9/);
  // The whole view leaves out the rectangle.
  const op = { kind: 'zero' } as const;
  assert.deepEqual(regionEdit('t', '[:, :]', { row0: 0, row1: 4, col0: 0, col1: 6 }, view, op), { type: 'region', tensor: 't', slice: '[:, :]', op });
  assert.deepEqual(regionEdit('t', '[:, :]', { row0: 1, row1: 4, col0: 0, col1: 6 }, view, op), { type: 'region', tensor: 't', slice: '[:, :]', rect: { row0: 1, row1: 4, col0: 0, col1: 6 }, op });
});

test('element addresses name the same element in the engine', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 0, maxLength: 4 }), fc.nat(), (shape, k) => {
      const numel = shape.reduce((a, b) => a * b, 1);
      const index = k % numel;
      const t: TensorInfo = { name: 't', dtype: 'F32', shape, dataOffsets: [0, numel * 4], fileOffset: 8, fileIndex: 0 };
      const at = elementAddress(index, shape);
      const v = resolveSlice(t, at.slice);
      assert.equal(v.offset + at.row * v.rowStride + at.col * v.colStride, index);
    }),
  );
});

test('hex layout: rows on the patch grid, whole units, element <-> byte', () => {
  assert.equal(hexRowBytes('F32'), 16);
  assert.equal(hexRowBytes('F6_E2M3'), 12);
  assert.deepEqual(unitOf('F4'), { bytes: 1, elements: 2 });
  assert.deepEqual(unitOf('F6_E3M2'), { bytes: 3, elements: 4 });
  assert.deepEqual(unitOf('C64'), { bytes: 8, elements: 1 });
  assert.equal(elementAtByte('F4', 5), 10);
  assert.equal(byteOfElement('F4', 11), 5);
  assert.equal(elementAtByte('F6_E2M3', 6), 8);
  assert.equal(byteOfElement('F6_E2M3', 9), 6);
  assert.equal(byteOfElement('BF16', 9), 18);
  assert.equal(cleanHex('3F 80', 2), '3f80');
  assert.equal(cleanHex('0x3f80', 2), '3f80');
  assert.equal(cleanHex('3f8', 2), null);
  assert.equal(cleanHex('zz', 1), null);
});

test('virtual rows: natural scrolling when small, proportional when huge, ends reachable', () => {
  const small = virtualRows(100, 20, 200, 390);
  assert.deepEqual(small, { spacerPx: 2000, firstRow: 19, topPx: 380, visible: 11 });
  const rows = 2 ** 28; // a 4 GiB tensor in 16-byte rows
  const top = virtualRows(rows, 20, 400, 0, 1_000_000);
  assert.deepEqual([top.spacerPx, top.firstRow, top.topPx], [1_000_000, 0, 0]);
  const end = virtualRows(rows, 20, 400, 1_000_000 - 400, 1_000_000);
  assert.equal(end.firstRow + end.visible - 1, rows, 'the last row is on screen at the end');
  // Scrolling to a row puts it at the top.
  for (const row of [0, 12345, rows / 2, rows - 21]) {
    const st = scrollTopForRow(row, rows, 20, 400, 1_000_000);
    const at = virtualRows(rows, 20, 400, st, 1_000_000);
    assert.ok(Math.abs(at.firstRow - row) <= rows / 1_000_000 + 1, `row ${row} -> ${at.firstRow}`);
  }
  assert.equal(scrollTopForRow(50, 100, 20, 200), 1000);
});
