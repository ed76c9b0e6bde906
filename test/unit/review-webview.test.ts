// Pure parts of the review webviews: the compare table's sort order (their HTML shell is
// checked with the other pages' in webview-html.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sortComparisons } from '../../src/webviews/compareView/compareTable';
import type { TensorComparison } from '../../src/shared/protocol';

function changed(name: string, maxAbs: number, cosine: number | null): TensorComparison {
  const side = { dtype: 'F32' as const, shape: [2] };
  return { name, change: 'changed', a: side, b: side, metrics: { differing: 1, nonFinite: 0, finitePairs: 2, maxAbs, meanAbs: maxAbs / 2, relative: 0.1, cosine } };
}

test('compare table: numeric columns sort with missing metrics last, ties by name', () => {
  const rows: TensorComparison[] = [
    changed('b', 2, 0.9),
    { name: 'added', change: 'added', a: null, b: { dtype: 'F32', shape: [1] } },
    changed('a', 2, null),
    changed('c', 5, 0.5),
    { name: 'same', change: 'unchanged', a: { dtype: 'F32', shape: [1] }, b: { dtype: 'F32', shape: [1] } },
  ];
  assert.deepEqual(sortComparisons(rows, 'maxAbs', true).map((t) => t.name), ['c', 'a', 'b', 'added', 'same']);
  assert.deepEqual(sortComparisons(rows, 'maxAbs', false).map((t) => t.name), ['a', 'b', 'c', 'added', 'same']);
  assert.deepEqual(sortComparisons(rows, 'cosine', false).map((t) => t.name), ['c', 'b', 'a', 'added', 'same']);
  assert.deepEqual(sortComparisons(rows, 'name', false).map((t) => t.name), ['a', 'added', 'b', 'c', 'same']);
  assert.deepEqual(sortComparisons(rows, 'change', false).map((t) => t.name), ['a', 'b', 'c', 'added', 'same']);
  assert.deepEqual(rows.map((t) => t.name), ['b', 'added', 'a', 'c', 'same'], 'the input is not reordered');
});
