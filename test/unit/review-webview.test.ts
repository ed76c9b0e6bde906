// Pure parts of the review webviews: the compare table's sort order and the HTML shell's
// strict Content Security Policy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sortComparisons } from '../../src/webviews/compareView/compareTable';
import { reviewHtml } from '../../src/extension/review/reviewHtml';
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

test('review shell: nonce-only scripts, no eval or inline styles, its own bundle and the strict plotly bundle', () => {
  const html = reviewHtml('compareView', { cspSource: 'vscode-webview://x', asset: (...s) => `https://assets/${s.join('/')}`, nonce: 'N0NCE', title: 'a <b> & "c"' });
  const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? '';
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'nonce-N0NCE'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-eval|unsafe-inline/);
  const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1]);
  assert.equal(scripts.length, 2);
  for (const s of scripts) assert.match(s, /nonce="N0NCE"/);
  assert.ok(html.includes('https://assets/dist/webviews/compareView.js'));
  assert.ok(html.includes('https://assets/dist/webviews/plotly.min.js'));
  assert.ok(html.includes('<title>a &lt;b&gt; &amp; &quot;c&quot;</title>'));
  assert.doesNotMatch(html, /style="/);
});
