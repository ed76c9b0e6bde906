import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, formatCount, formatInt, formatShape, formatTick, formatValue, spaceHex } from '../../src/webviews/modelEditor/format';

test('sizes and counts in human units', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1536), '1.50 KB');
  assert.equal(formatBytes(13.5 * 1024 ** 3), '13.5 GB');
  assert.equal(formatBytes(500 * 1024 ** 2), '500 MB');
  assert.equal(formatCount(999), '999');
  assert.equal(formatCount(7_241_732_096), '7.24B');
  assert.equal(formatCount(131_072), '131K');
  assert.equal(formatInt(1234567), '1,234,567');
  assert.equal(formatInt(-1000), '-1,000');
  assert.equal(formatShape([4096, 11008]), '[4096, 11008]');
  assert.equal(formatShape([]), '[]');
});

test('values keep 6 significant digits and name special values', () => {
  assert.equal(formatValue(0.1234567), '0.123457');
  assert.equal(formatValue(-3), '-3');
  assert.equal(formatValue(1.5e-7), '1.5000e-7');
  assert.equal(formatValue(NaN), 'NaN');
  assert.equal(formatValue(-Infinity), '-Inf');
  assert.equal(formatValue(-0), '-0');
  assert.equal(formatValue(null), '—');
  assert.equal(formatTick(0.6000000000000001, 0.2), '0.6');
  assert.equal(formatTick(200, 100), '200');
  assert.equal(spaceHex('3f800000'), '3f 80 00 00');
});
