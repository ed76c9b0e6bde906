import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { defaultSlice, parseSlice, sliceValues, toView2D, type StridedView } from '../../src/engine/compute/slice';
import { UserError } from '../../src/engine/errors';
import { tempModel } from './compute-helpers';

// ---- An independent, naive reference: per dimension, the list of selected indices found by
// filtering 0..n-1 (not by arithmetic on start/length), then the cartesian product. ----

type RefItem = number | '...' | { start?: number; stop?: number; step?: number };

function selectedIndices(item: Exclude<RefItem, '...'>, n: number): number[] | number {
  if (typeof item === 'number') return item < 0 ? item + n : item;
  const step = item.step ?? 1;
  const all = Array.from({ length: n }, (_, i) => i);
  const norm = (v: number | undefined) => (v === undefined ? undefined : v < 0 ? v + n : v);
  let start = norm(item.start);
  let stop = norm(item.stop);
  if (step > 0) {
    const s = Math.min(Math.max(start ?? 0, 0), n);
    const e = stop ?? n;
    return all.filter((i) => i >= s && i < e && (i - s) % step === 0);
  }
  const s = Math.min(Math.max(start ?? n - 1, -1), n - 1);
  const e = stop ?? -1;
  return all.filter((i) => i <= s && i > e && (s - i) % -step === 0).reverse();
}

/** Linear element indices of the selection in row-major order of the result, and its shape. */
function naiveSelect(shape: number[], items: RefItem[]): { shape: number[]; elements: number[] } {
  const e = items.indexOf('...');
  const named = items.filter((i) => i !== '...') as Exclude<RefItem, '...'>[];
  const fill = Array.from({ length: shape.length - named.length }, () => ({}) as RefItem);
  const full = (e < 0 ? [...items, ...fill] : [...items.slice(0, e), ...fill, ...items.slice(e + 1)]) as Exclude<RefItem, '...'>[];
  const perDim = full.map((it, d) => selectedIndices(it, shape[d]));
  const outShape = perDim.filter((p): p is number[] => Array.isArray(p)).map((p) => p.length);
  let combos: number[][] = [[]];
  for (const p of perDim) {
    const choices = Array.isArray(p) ? p : [p];
    combos = combos.flatMap((c) => choices.map((i) => [...c, i]));
  }
  const linear = (idx: number[]) => idx.reduce((acc, i, d) => acc * shape[d] + i, 0);
  return { shape: outShape, elements: outShape.includes(0) ? [] : combos.map(linear) };
}

function viewElements(v: StridedView): number[] {
  if (v.shape.includes(0)) return [];
  let out = [v.offset];
  v.shape.forEach((n, a) => {
    out = out.flatMap((base) => Array.from({ length: n }, (_, i) => base + i * v.strides[a]));
  });
  return out;
}

function itemText(it: RefItem): string {
  if (typeof it === 'number' || it === '...') return String(it);
  const s = `${it.start ?? ''}:${it.stop ?? ''}`;
  return it.step === undefined ? s : `${s}:${it.step}`;
}

const sliceItem = (n: number) =>
  fc.oneof(
    fc.record(
      { start: fc.integer({ min: -n - 3, max: n + 3 }), stop: fc.integer({ min: -n - 3, max: n + 3 }), step: fc.integer({ min: -4, max: 4 }).filter((s) => s !== 0) },
      { requiredKeys: [] },
    ),
    ...(n > 0 ? [fc.integer({ min: -n, max: n - 1 })] : []),
  );

test('parseSlice matches a naive index enumerator on random shapes and slices', () => {
  const arb = fc
    .array(fc.integer({ min: 0, max: 6 }), { minLength: 0, maxLength: 4 })
    .chain((shape) =>
      fc.tuple(
        fc.constant(shape),
        fc.tuple(...shape.map((n) => sliceItem(n))).chain((items) =>
          fc.tuple(fc.constant(items as RefItem[]), fc.integer({ min: 0, max: items.length }), fc.integer({ min: -1, max: items.length })),
        ),
      ),
    );
  fc.assert(
    fc.property(arb, ([shape, [items, a, b]]) => {
      // Either a prefix of the items (the rest are implicit) or an ellipsis standing for items[a..b).
      const used: RefItem[] = b < 0 ? items.slice(0, a) : [...items.slice(0, Math.min(a, b)), '...', ...items.slice(Math.max(a, b))];
      const text = `[${used.map(itemText).join(', ')}]`;
      const want = naiveSelect(shape, used);
      const got = parseSlice(text, shape);
      assert.deepEqual(got.shape, want.shape, text);
      assert.deepEqual(viewElements(got), want.elements, `${text} of ${JSON.stringify(shape)}`);
      // The normalised text selects the same elements.
      assert.deepEqual(viewElements(parseSlice(got.text, shape)), want.elements);
    }),
    { numRuns: 400 },
  );
});

test('parseSlice: cases checked with numpy', () => {
  // np.arange(60).reshape(3,4,5)[...] flattened -> expected element lists (from numpy 1.24).
  const shape = [3, 4, 5];
  const cases: [string, number[], number[]][] = [
    ['[1, :, 2]', [4], [22, 27, 32, 37]],
    ['[-1, ::-2, 4]', [2], [59, 49]],
    ['[..., 0]', [3, 4], [0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55]],
    ['[0, 1:100, -2:]', [3, 2], [8, 9, 13, 14, 18, 19]],
    ['[2, 3, -7:3:2]', [2], [55, 57]],
    ['[1, ..., 1:4:2]', [4, 2], [21, 23, 26, 28, 31, 33, 36, 38]],
    ['[:, 5:]', [3, 0, 5], []],
    ['[0, 0, 4:0:-1]', [4], [4, 3, 2, 1]],
  ];
  for (const [text, wantShape, wantElems] of cases) {
    const v = parseSlice(text, shape);
    assert.deepEqual(v.shape, wantShape, text);
    assert.deepEqual(viewElements(v), wantElems, text);
  }
});

test('parseSlice: whole tensor forms and normalised text', () => {
  for (const t of ['', '[]', '...', '[...]', '  [ : , : ]  ', '[:,]']) {
    const v = parseSlice(t, [2, 3]);
    assert.deepEqual(v.shape, [2, 3], t);
    assert.deepEqual(v.strides, [3, 1]);
    assert.equal(v.text, '[:, :]');
  }
  assert.equal(parseSlice('[-1, 1:5:1, ::-1]', [4, 6, 2]).text, '[3, 1:5, ::-1]');
  assert.equal(parseSlice('', []).text, '[]');
});

test('parseSlice: errors are one-line UserErrors', () => {
  const bad: [string, number[], RegExp][] = [
    ['[0,,]', [4, 4], /^bad slice "\[0,,\]": item 2 is empty$/],
    ['[7]', [4], /^index 7 is out of bounds for dimension 0 of size 4$/],
    ['[0, -6]', [4, 5], /^index -6 is out of bounds for dimension 1 of size 5$/],
    ['[0, 0, 0]', [4, 4], /too many indices for a 2-dimensional tensor \(3 given\)/],
    ['[..., ...]', [4], /single ellipsis/],
    ['[::0]', [4], /slice step cannot be zero/],
    ['[a]', [4], /index "a" is not an integer/],
    ['[1:2:3:4]', [4], /more than two colons/],
    ['[0', [4], /unbalanced brackets/],
    ['[1.5]', [4], /not an integer/],
    ['[99999999999999999999]', [4], /too large/],
  ];
  for (const [text, shape, re] of bad) {
    assert.throws(() => parseSlice(text, shape), (e: unknown) => e instanceof UserError && re.test(e.message) && !e.message.includes('\n'), text);
  }
});

test('toView2D: 2-D, 1-D, 0-D, transposed dims and too many dimensions', () => {
  const two = toView2D('w', parseSlice('[1, :, ::2]', [2, 3, 4]), '[1, :, ::2]');
  assert.deepEqual(
    { rows: two.rows, cols: two.cols, rowDim: two.rowDim, colDim: two.colDim, offset: two.offset, rowStride: two.rowStride, colStride: two.colStride, slice: two.slice },
    { rows: 3, cols: 2, rowDim: 1, colDim: 2, offset: 12, rowStride: 4, colStride: 2, slice: '[1, :, ::2]' },
  );
  const one = toView2D('b', parseSlice('[2:5]', [10]), '[2:5]');
  assert.deepEqual([one.rows, one.cols, one.rowDim, one.colDim, one.offset, one.rowStride, one.colStride], [1, 3, -1, 0, 2, 0, 1]);
  const zero = toView2D('s', parseSlice('', []), '');
  assert.deepEqual([zero.rows, zero.cols, zero.offset], [1, 1, 0]);
  const empty = toView2D('e', parseSlice('', [0, 3, 4]), '');
  assert.deepEqual([empty.rows, empty.cols], [0, 0]);
  assert.throws(
    () => toView2D('x', parseSlice('[...]', [2, 3, 4]), '[...]'),
    (e: unknown) => e instanceof UserError && e.message === 'slice "[...]" of "x" leaves 3 dimensions; a heatmap needs at most 2',
  );
});

test('defaultSlice: leading dims at 0, last two whole', () => {
  assert.equal(defaultSlice([2, 3, 4, 5]), '[0, 0, :, :]');
  assert.equal(defaultSlice([4, 5]), '[:, :]');
  assert.equal(defaultSlice([5]), '[:]');
  assert.equal(defaultSlice([]), '[]');
  assert.equal(defaultSlice([0, 3, 4]), '[:, :, :]');
  for (const shape of [[2, 3, 4, 5], [4, 5], [5], [], [0, 3, 4], [3, 0, 2]]) {
    const v = toView2D('t', parseSlice(defaultSlice(shape), shape), defaultSlice(shape));
    assert.ok(v.rows >= 0 && v.cols >= 0);
  }
});

test('sliceValues reads what the naive enumerator selects (F64, I16, packed F4)', async () => {
  const shape = [3, 4, 5, 6];
  const n = 360;
  const f4 = [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6];
  const { model, stored, cleanup } = await tempModel([
    { name: 'f64', dtype: 'F64', shape, values: Array.from({ length: n }, (_, i) => i + 0.25) },
    { name: 'i16', dtype: 'I16', shape, values: Array.from({ length: n }, (_, i) => i - 100) },
    { name: 'f4', dtype: 'F4', shape, values: Array.from({ length: n }, (_, i) => f4[(i * 5) % 16]) },
  ]);
  try {
    const arb = fc.tuple(...shape.map((d) => sliceItem(d))).chain((items) =>
      fc.tuple(fc.constant(items as RefItem[]), fc.integer({ min: 0, max: 4 }), fc.constantFrom('f64', 'i16', 'f4')),
    );
    await fc.assert(
      fc.asyncProperty(arb, async ([items, keep, name]) => {
        const used = items.slice(0, keep);
        const text = `[${used.map(itemText).join(', ')}]`;
        const want = naiveSelect(shape, used);
        const got = await sliceValues(model, model.tensor(name), text);
        assert.deepEqual(got.shape, want.shape, text);
        const values = stored.get(name)!;
        assert.deepEqual(Array.from(got.values), want.elements.map((e) => values[e]), `${name}${text}`);
      }),
      { numRuns: 150 },
    );
    const scalar = await sliceValues(model, model.tensor('f64'), '[2, 3, 4, 5]');
    assert.deepEqual([scalar.shape, Array.from(scalar.values)], [[], [359.25]]);
    await assert.rejects(sliceValues(model, model.tensor('f64'), '[0]', 100), (e: unknown) => e instanceof UserError && /has 120 elements, more than the limit of 100/.test(e.message));
  } finally {
    await cleanup();
  }
});
