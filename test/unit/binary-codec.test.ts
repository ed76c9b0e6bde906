import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeMessage, encodeMessage } from '../../src/shared/binaryCodec';

// JSON-representable values with Uint8Arrays anywhere in the tree.
const finite = fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => (Object.is(x, -0) ? 0 : x));
const { value: message } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    finite,
    fc.string(),
    fc.uint8Array({ maxLength: 64 }),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.string(), tie('value'), { maxKeys: 5, noNullPrototype: true }),
  ),
}));

test('round-trips nested values with Uint8Arrays', () => {
  fc.assert(
    fc.property(message, (m) => {
      assert.deepStrictEqual(decodeMessage(encodeMessage(m)), m);
    }),
    { numRuns: 300 },
  );
});

test('decodes from a view with a nonzero byteOffset (a chunk of a larger buffer)', () => {
  fc.assert(
    fc.property(message, fc.uint8Array({ maxLength: 16 }), fc.uint8Array({ maxLength: 16 }), (m, before, after) => {
      const enc = encodeMessage(m);
      const big = new Uint8Array(before.length + enc.length + after.length);
      big.set(before, 0);
      big.set(enc, before.length);
      big.set(after, before.length + enc.length);
      assert.deepStrictEqual(decodeMessage(big.subarray(before.length, before.length + enc.length)), m);
    }),
    { numRuns: 100 },
  );
});

test('blob bytes travel raw after the JSON, not as a number array', () => {
  const data = new Uint8Array(1000).map((_, i) => (i * 7) & 255);
  const enc = encodeMessage({ id: 1, result: { start: 0, data } });
  const jsonLength = new DataView(enc.buffer).getUint32(0, true);
  const json = new TextDecoder().decode(enc.subarray(4, 4 + jsonLength));
  assert.equal(json, '{"id":1,"result":{"start":0,"data":{"$bin":0,"n":1000}}}');
  assert.deepStrictEqual(enc.subarray(4 + jsonLength), data);
});

test('a Node Buffer is sent raw too (its toJSON would make a number array)', () => {
  const buf = Buffer.from([1, 2, 3, 250]);
  const enc = encodeMessage({ data: buf });
  assert.equal(enc.byteLength, 4 + '{"data":{"$bin":0,"n":4}}'.length + 4);
  const out = decodeMessage(enc) as { data: Uint8Array };
  assert.deepStrictEqual([...out.data], [1, 2, 3, 250]);
});

test('decoded blobs are plain Uint8Arrays that own their bytes', () => {
  const chunk = Buffer.concat([Buffer.from('xx'), Buffer.from(encodeMessage({ a: new Uint8Array([9, 8, 7]) }))]);
  const out = decodeMessage(chunk.subarray(2)) as { a: Uint8Array };
  assert.equal(Object.getPrototypeOf(out.a), Uint8Array.prototype);
  assert.equal(out.a.byteOffset, 0);
  assert.equal(out.a.buffer.byteLength, 3);
  chunk.fill(0);
  assert.deepStrictEqual([...out.a], [9, 8, 7]);
});

test('truncated messages are rejected', () => {
  const enc = encodeMessage({ a: new Uint8Array(10) });
  assert.throws(() => decodeMessage(enc.subarray(0, enc.length - 1)), /truncated/);
  assert.throws(() => decodeMessage(enc.subarray(0, 3)), /too short/);
  assert.throws(() => decodeMessage(enc.subarray(0, 10)), /truncated/);
});
