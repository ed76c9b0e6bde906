import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DTYPES, DTYPE_BITS, type DType } from '../../src/shared/dtypes';
import { decodeElements, elementLocation, elementValue } from '../../src/engine/dtype/decode';
import { encodeElement, roundToDType } from '../../src/engine/dtype/encode';
import { UserError } from '../../src/engine/errors';

function same(actual: number, expected: number, what: string): void {
  const show = (x: number) => (Object.is(x, -0) ? '-0' : String(x));
  assert.ok(Object.is(actual, expected), `${what}: got ${show(actual)}, expected ${show(expected)}`);
}

function bytesFor(dtype: DType): Uint8Array {
  return new Uint8Array(Math.max(1, DTYPE_BITS[dtype] / 8));
}

/** Encode then return the raw code (little-endian). */
function code(dtype: DType, v: number): number {
  const b = bytesFor(dtype);
  encodeElement(dtype, v, b, 0);
  return b.reduceRight((acc, byte) => acc * 256 + byte, 0);
}

// [dtype, input, stored value]
const ROUNDING: [DType, number, number][] = [
  // F16: ties to even, overflow to inf at max + half an ulp
  ['F16', 1 + 2 ** -11, 1],
  ['F16', 1 + 3 * 2 ** -11, 1 + 2 ** -9],
  ['F16', 65504, 65504],
  ['F16', 65519.99, 65504],
  ['F16', 65520, Infinity],
  ['F16', -1e6, -Infinity],
  ['F16', 2 ** -25, 0],
  ['F16', -(2 ** -25), -0],
  ['F16', 2 ** -25 * 1.0001, 2 ** -24],
  ['F16', 3 * 2 ** -25, 2 ** -23],
  // BF16
  ['BF16', 1 + 2 ** -8, 1],
  ['BF16', 1 + 3 * 2 ** -8, 1 + 2 ** -6],
  ['BF16', (2 - 2 ** -7) * 2 ** 127 + 2 ** 118, (2 - 2 ** -7) * 2 ** 127],
  ['BF16', (2 - 2 ** -7) * 2 ** 127 + 2 ** 119, Infinity],
  ['BF16', 2 ** -134, 0],
  ['BF16', 2 ** -134 * 1.5, 2 ** -133],
  // F8_E4M3: no inf, saturates
  ['F8_E4M3', 448, 448],
  ['F8_E4M3', 464, 448],
  ['F8_E4M3', 1000, 448],
  ['F8_E4M3', Infinity, 448],
  ['F8_E4M3', -Infinity, -448],
  ['F8_E4M3', 2 ** -10, 0],
  ['F8_E4M3', 1.5 * 2 ** -10, 2 ** -9],
  ['F8_E4M3', -(2 ** -11), -0],
  ['F8_E4M3', 1.0625, 1],
  ['F8_E4M3', 1.1875, 1.25],
  // F8_E5M2: IEEE-like
  ['F8_E5M2', 57344, 57344],
  ['F8_E5M2', 61439, 57344],
  ['F8_E5M2', 61440, Infinity],
  ['F8_E5M2', -1e9, -Infinity],
  ['F8_E5M2', 2 ** -17, 0],
  // FNUZ: no -0, saturate
  ['F8_E4M3FNUZ', -0, 0],
  ['F8_E4M3FNUZ', -1e-9, 0],
  ['F8_E4M3FNUZ', 240, 240],
  ['F8_E4M3FNUZ', 1000, 240],
  ['F8_E4M3FNUZ', -Infinity, -240],
  ['F8_E5M2FNUZ', 1e6, 57344],
  ['F8_E5M2FNUZ', -0, 0],
  ['F8_E5M2FNUZ', 2 ** -18, 0],
  // F8_E8M0: powers of two in [2^-127, 2^127]
  ['F8_E8M0', 1, 1],
  ['F8_E8M0', 1.4, 1],
  ['F8_E8M0', 1.5, 2],
  ['F8_E8M0', 3, 2],
  ['F8_E8M0', 3.01, 4],
  ['F8_E8M0', 0, 2 ** -127],
  ['F8_E8M0', -5, 2 ** -127],
  ['F8_E8M0', 1e39, 2 ** 127],
  ['F8_E8M0', Infinity, 2 ** 127],
  // F6 / F4: saturate
  ['F6_E2M3', 8, 7.5],
  ['F6_E2M3', -100, -7.5],
  ['F6_E2M3', 0.0625, 0],
  ['F6_E2M3', 0.1875, 0.25],
  ['F6_E3M2', 30, 28],
  ['F6_E3M2', 0.03125, 0],
  ['F6_E3M2', Infinity, 28],
  ['F4', 5, 4],
  ['F4', 2.5, 2],
  ['F4', 0.25, 0],
  ['F4', 0.75, 1],
  ['F4', 1.25, 1],
  ['F4', 1.75, 2],
  ['F4', 7, 6],
  ['F4', -100, -6],
  ['F4', -0.1, -0],
  // integers: ties to even, saturate, no -0
  ['I8', 2.5, 2],
  ['I8', 3.5, 4],
  ['I8', -2.5, -2],
  ['I8', -0.4, 0],
  ['I8', 127.5, 127],
  ['I8', -1000, -128],
  ['U8', -3, 0],
  ['U8', 300, 255],
  ['I16', 40000, 32767],
  ['U16', 65535.4, 65535],
  ['I32', Infinity, 2147483647],
  ['U32', -Infinity, 0],
  ['I64', 2 ** 70, 2 ** 63],
  ['U64', 1e30, 2 ** 64],
  ['BOOL', 0, 0],
  ['BOOL', -0, 0],
  ['BOOL', 2, 1],
  ['BOOL', -0.5, 1],
  ['F32', 0.1, Math.fround(0.1)],
  ['F32', 1e39, Infinity],
  ['F64', 0.1, 0.1],
  ['C64', -2, 2],
];

describe('rounding to each dtype', () => {
  for (const [dtype, input, stored] of ROUNDING) {
    test(`${dtype}: ${input} -> ${Object.is(stored, -0) ? '-0' : stored}`, () => {
      same(roundToDType(dtype, input), stored, 'roundToDType');
      const b = bytesFor(dtype);
      encodeElement(dtype, input, b, 0);
      same(elementValue(dtype, b, 0), stored, 'encode then decode');
    });
  }
});

describe('bit patterns written', () => {
  const cases: [DType, number, number][] = [
    ['BF16', 1.5, 0x3fc0],
    ['BF16', NaN, 0x7fc0],
    ['BF16', -Infinity, 0xff80],
    ['F16', 65504, 0x7bff],
    ['F16', NaN, 0x7e00],
    ['F16', -0, 0x8000],
    ['F8_E4M3', 448, 0x7e],
    ['F8_E4M3', NaN, 0x7f],
    ['F8_E4M3', -0, 0x80],
    ['F8_E5M2', Infinity, 0x7c],
    ['F8_E5M2', NaN, 0x7e],
    ['F8_E4M3FNUZ', NaN, 0x80],
    ['F8_E4M3FNUZ', -0, 0x00],
    ['F8_E5M2FNUZ', NaN, 0x80],
    ['F8_E8M0', NaN, 0xff],
    ['F8_E8M0', 1, 0x7f],
    ['F8_E8M0', 0, 0x00],
    ['I16', -2, 0xfffe],
    ['I64', 2 ** 70, 2 ** 63 - 1], // 0x7fff_ffff_ffff_ffff (as a double here)
    ['U64', -5, 0],
  ];
  for (const [dtype, v, expected] of cases) {
    test(`${dtype} ${v} -> 0x${expected.toString(16)}`, () => assert.equal(code(dtype, v), expected));
  }
  test('I64 / U64 saturate exactly at the top', () => {
    const b = new Uint8Array(8);
    encodeElement('I64', 1e300, b);
    assert.equal(new DataView(b.buffer).getBigInt64(0, true), 2n ** 63n - 1n);
    encodeElement('U64', Infinity, b);
    assert.equal(new DataView(b.buffer).getBigUint64(0, true), 2n ** 64n - 1n);
    encodeElement('I64', -(2 ** 63), b);
    assert.equal(new DataView(b.buffer).getBigInt64(0, true), -(2n ** 63n));
  });
  test('C64 writes the real part, imaginary 0', () => {
    const b = new Uint8Array(8);
    encodeElement('C64', -2.5, b);
    assert.deepEqual([...new Float32Array(b.buffer)], [-2.5, 0]);
  });
});

describe('NaN where the dtype has none', () => {
  for (const dtype of ['F4', 'F6_E2M3', 'F6_E3M2', 'I8', 'U8', 'I32', 'I64', 'U64', 'BOOL'] as DType[]) {
    test(dtype, () => {
      assert.throws(() => roundToDType(dtype, NaN), (e: unknown) => e instanceof UserError && e.message === `${dtype} cannot hold NaN`);
      assert.throws(() => encodeElement(dtype, NaN, new Uint8Array(8), 0), UserError);
    });
  }
});

describe('every code of every small float survives encode(decode(code))', () => {
  for (const dtype of ['F16', 'BF16', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F8_E4M3FNUZ', 'F8_E5M2FNUZ', 'F6_E2M3', 'F6_E3M2', 'F4'] as DType[]) {
    test(dtype, () => {
      const bits = DTYPE_BITS[dtype];
      const nBytes = Math.max(1, bits / 8);
      for (let c = 0; c < 2 ** bits; c++) {
        const b = new Uint8Array(nBytes);
        b[0] = c & 0xff;
        if (nBytes > 1) b[1] = c >> 8;
        const v = elementValue(dtype, b, 0);
        if (Number.isNaN(v)) continue; // several NaN codes, one written
        same(roundToDType(dtype, v), v, `${dtype} code ${c}: representable values are fixed points`);
        const out = new Uint8Array(nBytes);
        encodeElement(dtype, v, out, 0);
        assert.equal(out[0] | (nBytes > 1 ? out[1] << 8 : 0), c, `${dtype} code ${c}`);
      }
    });
  }
});

describe('rounding is to the nearest representable value, ties to the even code', () => {
  // Brute-force oracle over every finite value of the format.
  function finiteValues(dtype: DType): { value: number; code: number }[] {
    const bits = DTYPE_BITS[dtype];
    const list: { value: number; code: number }[] = [];
    for (let c = 0; c < 2 ** bits; c++) {
      const b = new Uint8Array([c & 0xff, c >> 8]);
      const v = elementValue(dtype, b, 0);
      if (Number.isFinite(v)) list.push({ value: v, code: c });
    }
    return list;
  }
  function oracle(values: { value: number; code: number }[], x: number): number {
    let best = values[0];
    for (const c of values) {
      const d = Math.abs(c.value - x);
      const bd = Math.abs(best.value - x);
      if (d < bd || (d === bd && c.value !== best.value && (c.code & 1) === 0 && (best.code & 1) === 1)) best = c;
    }
    return best.value;
  }
  for (const dtype of ['F8_E5M2', 'F8_E4M3', 'F8_E4M3FNUZ', 'F8_E5M2FNUZ', 'F6_E2M3', 'F6_E3M2', 'F4', 'F16'] as DType[]) {
    test(dtype, () => {
      const values = finiteValues(dtype);
      const max = Math.max(...values.map((v) => v.value));
      const near = fc.constantFrom(...values.map((v) => v.value));
      const x = fc.oneof(
        fc.double({ min: -max, max, noNaN: true }),
        // midpoints and near-midpoints between neighbours: where ties and off-by-one live
        fc.tuple(near, near, fc.constantFrom(0.5, 0.4999999, 0.5000001)).map(([a, b, t]) => a + (b - a) * t).filter((v) => Math.abs(v) <= max),
      );
      fc.assert(
        fc.property(x, (v) => {
          const r = roundToDType(dtype, v);
          assert.equal(Math.abs(r), Math.abs(oracle(values, v)), `${dtype} round(${v})`);
        }),
        { numRuns: dtype === 'F16' ? 60 : 400 },
      );
    });
  }
});

describe('packed writes touch only their own bits', () => {
  for (const dtype of ['F4', 'F6_E2M3', 'F6_E3M2'] as DType[]) {
    test(dtype, () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), fc.nat(), fc.double({ min: -10, max: 10, noNaN: true }), (raw, seed, v) => {
          const count = Math.floor((raw.length * 8) / DTYPE_BITS[dtype]);
          const index = seed % count;
          const before = new Float64Array(count);
          decodeElements(dtype, raw, 0, count, before);
          const loc = elementLocation(dtype, index);
          const edited = raw.slice();
          encodeElement(dtype, v, edited.subarray(loc.byteStart), loc.bitOffset);
          const after = new Float64Array(count);
          decodeElements(dtype, edited, 0, count, after);
          for (let i = 0; i < count; i++) {
            same(after[i], i === index ? roundToDType(dtype, v) : before[i], `${dtype} element ${i} after writing element ${index}`);
          }
        }),
        { numRuns: 200 },
      );
    });
  }
});

test('encode then decode equals roundToDType for every dtype', () => {
  const special = fc.constantFrom(0, -0, Infinity, -Infinity, NaN, 1e-40, -1e-40, 1e300, 2 ** 63, 2 ** 64, -(2 ** 63));
  fc.assert(
    fc.property(fc.constantFrom(...DTYPES), fc.oneof(fc.double(), special), (dtype, v) => {
      let stored: number;
      try {
        stored = roundToDType(dtype, v);
      } catch (e) {
        assert.ok(e instanceof UserError && Number.isNaN(v));
        return;
      }
      const b = new Uint8Array(8);
      encodeElement(dtype, v, b, 0);
      const back = elementValue(dtype, b, 0);
      if (Number.isNaN(stored)) assert.ok(Number.isNaN(back));
      else same(back, stored, `${dtype} ${v}`);
    }),
    { numRuns: 1000 },
  );
});
