import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DTYPES, DTYPE_BITS, type DType } from '../../src/shared/dtypes';
import { decodeElements, elementLocation, elementText, elementValue } from '../../src/engine/dtype/decode';
import { bytesOf } from '../helpers/safetensors';

/** Decode one element given as its raw little-endian code. */
function value(dtype: DType, code: number | bigint): number {
  return elementValue(dtype, codeBytes(dtype, code), 0);
}

function codeBytes(dtype: DType, code: number | bigint): Uint8Array {
  const n = Math.max(1, Math.ceil(DTYPE_BITS[dtype] / 8));
  const out = new Uint8Array(n);
  let c = BigInt(code);
  for (let i = 0; i < n; i++, c >>= 8n) out[i] = Number(c & 0xffn);
  return out;
}

function same(actual: number, expected: number, what: string): void {
  assert.ok(Object.is(actual, expected), `${what}: got ${Object.is(actual, -0) ? '-0' : actual}, expected ${Object.is(expected, -0) ? '-0' : expected}`);
}

// Hand-computed: [dtype, code, value]
const KNOWN: [DType, number, number][] = [
  // BF16: 1 sign, 8 exponent (bias 127), 7 mantissa
  ['BF16', 0x3fc0, 1.5],
  ['BF16', 0x3f80, 1],
  ['BF16', 0xc000, -2],
  ['BF16', 0x8000, -0],
  ['BF16', 0x0001, 2 ** -133],
  ['BF16', 0x0080, 2 ** -126],
  ['BF16', 0x7f7f, (2 - 2 ** -7) * 2 ** 127],
  ['BF16', 0x7f80, Infinity],
  ['BF16', 0xff80, -Infinity],
  ['BF16', 0x7fc0, NaN],
  // F16: 1, 5 (bias 15), 10
  ['F16', 0x3c00, 1],
  ['F16', 0x3555, 0.333251953125],
  ['F16', 0xc000, -2],
  ['F16', 0x0001, 2 ** -24],
  ['F16', 0x03ff, 1023 * 2 ** -24],
  ['F16', 0x0400, 2 ** -14],
  ['F16', 0x7bff, 65504],
  ['F16', 0x7c00, Infinity],
  ['F16', 0xfc00, -Infinity],
  ['F16', 0x7e00, NaN],
  ['F16', 0x8000, -0],
  // F8_E4M3 (float8_e4m3fn): bias 7, no inf, NaN = S.1111.111
  ['F8_E4M3', 0x38, 1],
  ['F8_E4M3', 0x7e, 448],
  ['F8_E4M3', 0xfe, -448],
  ['F8_E4M3', 0x78, 256],
  ['F8_E4M3', 0x7f, NaN],
  ['F8_E4M3', 0xff, NaN],
  ['F8_E4M3', 0x01, 2 ** -9],
  ['F8_E4M3', 0x07, 7 * 2 ** -9],
  ['F8_E4M3', 0x08, 2 ** -6],
  ['F8_E4M3', 0x80, -0],
  ['F8_E4M3', 0x00, 0],
  // F8_E5M2: bias 15, IEEE-like
  ['F8_E5M2', 0x3c, 1],
  ['F8_E5M2', 0x7b, 57344],
  ['F8_E5M2', 0x7c, Infinity],
  ['F8_E5M2', 0xfc, -Infinity],
  ['F8_E5M2', 0x7d, NaN],
  ['F8_E5M2', 0x7e, NaN],
  ['F8_E5M2', 0xff, NaN],
  ['F8_E5M2', 0x01, 2 ** -16],
  ['F8_E5M2', 0x04, 2 ** -14],
  ['F8_E5M2', 0x80, -0],
  // F8_E8M0 (float8_e8m0fnu): 2^(e-127), 0xFF = NaN, no sign, no zero
  ['F8_E8M0', 0x7f, 1],
  ['F8_E8M0', 0x80, 2],
  ['F8_E8M0', 0x7e, 0.5],
  ['F8_E8M0', 0x00, 2 ** -127],
  ['F8_E8M0', 0xfe, 2 ** 127],
  ['F8_E8M0', 0xff, NaN],
  // F8_E4M3FNUZ: bias 8, NaN = 0x80 only, no -0, no inf
  ['F8_E4M3FNUZ', 0x40, 1],
  ['F8_E4M3FNUZ', 0x7f, 240],
  ['F8_E4M3FNUZ', 0xff, -240],
  ['F8_E4M3FNUZ', 0x80, NaN],
  ['F8_E4M3FNUZ', 0x00, 0],
  ['F8_E4M3FNUZ', 0x01, 2 ** -10],
  ['F8_E4M3FNUZ', 0x08, 2 ** -7],
  ['F8_E4M3FNUZ', 0x78, 128],
  // F8_E5M2FNUZ: bias 16
  ['F8_E5M2FNUZ', 0x40, 1],
  ['F8_E5M2FNUZ', 0x7f, 57344],
  ['F8_E5M2FNUZ', 0x7c, 32768],
  ['F8_E5M2FNUZ', 0x80, NaN],
  ['F8_E5M2FNUZ', 0x01, 2 ** -17],
  ['F8_E5M2FNUZ', 0xc0, -1],
  // F6_E2M3: S EE MMM, bias 1, no inf/NaN
  ['F6_E2M3', 0b001000, 1],
  ['F6_E2M3', 0b001100, 1.5],
  ['F6_E2M3', 0b011111, 7.5],
  ['F6_E2M3', 0b111111, -7.5],
  ['F6_E2M3', 0b000001, 0.125],
  ['F6_E2M3', 0b000111, 0.875],
  ['F6_E2M3', 0b100000, -0],
  // F6_E3M2: S EEE MM, bias 3
  ['F6_E3M2', 0b001100, 1],
  ['F6_E3M2', 0b011111, 28],
  ['F6_E3M2', 0b000001, 0.0625],
  ['F6_E3M2', 0b000100, 0.25],
  ['F6_E3M2', 0b110000, -2],
  ['F6_E3M2', 0b110100, -4],
  ['F6_E3M2', 0b100000, -0],
  // F4 (e2m1): ±{0, 0.5, 1, 1.5, 2, 3, 4, 6}
  ...[0, 0.5, 1, 1.5, 2, 3, 4, 6].map((v, i): [DType, number, number] => ['F4', i, v]),
  ...[-0, -0.5, -1, -1.5, -2, -3, -4, -6].map((v, i): [DType, number, number] => ['F4', 8 + i, v]),
  // integers and others
  ['BOOL', 0, 0],
  ['BOOL', 1, 1],
  ['BOOL', 2, 1],
  ['U8', 0xff, 255],
  ['I8', 0x80, -128],
  ['I8', 0x7f, 127],
  ['I16', 0x8000, -32768],
  ['U16', 0xffff, 65535],
  ['I32', 0x80000000, -2147483648],
  ['U32', 0xffffffff, 4294967295],
  ['F32', 0x3dcccccd, Math.fround(0.1)],
  ['F32', 0x00000001, 2 ** -149],
  ['F32', 0xff800000, -Infinity],
  ['F32', 0x80000000, -0],
];

describe('known bit patterns', () => {
  for (const [dtype, code, expected] of KNOWN) {
    test(`${dtype} 0x${code.toString(16)} = ${Object.is(expected, -0) ? '-0' : expected}`, () => {
      same(value(dtype, code), expected, 'elementValue');
      // the bulk path too, into both output types
      const out64 = new Float64Array(1);
      decodeElements(dtype, codeBytes(dtype, code), 0, 1, out64);
      same(out64[0], expected, 'decodeElements f64');
      const out32 = new Float32Array(1);
      decodeElements(dtype, codeBytes(dtype, code), 0, 1, out32);
      same(out32[0], Math.fround(expected), 'decodeElements f32');
    });
  }
  test('64-bit integers and doubles', () => {
    same(value('I64', 0x8000000000000000n), -(2 ** 63), 'I64 min');
    same(value('I64', 0xffffffffffffffffn), -1, 'I64 -1');
    same(value('U64', 0xffffffffffffffffn), 2 ** 64, 'U64 max (nearest double)');
    same(value('I64', 2n ** 53n + 1n), 2 ** 53, 'I64 2^53+1 rounds to even');
    same(value('I64', 2n ** 53n + 3n), 2 ** 53 + 4, 'I64 2^53+3 rounds to even');
    same(value('F64', 0x3fb999999999999an), 0.1, 'F64 0.1');
    same(value('F64', 0x8000000000000000n), -0, 'F64 -0');
  });
  test('C64 decodes to the modulus', () => {
    const c = (re: number, im: number) => bytesOf(new Float32Array([re, im]));
    same(elementValue('C64', c(3, 4)), 5, '|3+4j|');
    same(elementValue('C64', c(Infinity, NaN)), Infinity, '|inf+nanj|');
    const out = new Float64Array(3);
    decodeElements('C64', new Uint8Array([...c(3, -4), ...c(0, -2), ...c(-Infinity, NaN)]), 0, 3, out);
    assert.deepEqual([...out], [5, 2, Infinity]);
  });
});

describe('an independent formula agrees on every code of every small float', () => {
  // Written differently from src/engine/dtype/formats.ts on purpose: Math.pow and explicit
  // per-format special cases.
  const spec: Record<string, { e: number; m: number; bias: number; special: (s: number, e: number, m: number) => number | undefined }> = {
    F16: { e: 5, m: 10, bias: 15, special: (s, e, m) => (e === 31 ? (m ? NaN : s ? -Infinity : Infinity) : undefined) },
    BF16: { e: 8, m: 7, bias: 127, special: (s, e, m) => (e === 255 ? (m ? NaN : s ? -Infinity : Infinity) : undefined) },
    F8_E5M2: { e: 5, m: 2, bias: 15, special: (s, e, m) => (e === 31 ? (m ? NaN : s ? -Infinity : Infinity) : undefined) },
    F8_E4M3: { e: 4, m: 3, bias: 7, special: (_s, e, m) => (e === 15 && m === 7 ? NaN : undefined) },
    F8_E4M3FNUZ: { e: 4, m: 3, bias: 8, special: (s, e, m) => (s && !e && !m ? NaN : undefined) },
    F8_E5M2FNUZ: { e: 5, m: 2, bias: 16, special: (s, e, m) => (s && !e && !m ? NaN : undefined) },
    F6_E2M3: { e: 2, m: 3, bias: 1, special: () => undefined },
    F6_E3M2: { e: 3, m: 2, bias: 3, special: () => undefined },
    F4: { e: 2, m: 1, bias: 1, special: () => undefined },
  };
  for (const [dtype, f] of Object.entries(spec) as [DType, (typeof spec)[string]][]) {
    test(dtype, () => {
      const total = 1 + f.e + f.m;
      for (let code = 0; code < 2 ** total; code++) {
        const s = code >> (f.e + f.m);
        const e = (code >> f.m) & (2 ** f.e - 1);
        const m = code & (2 ** f.m - 1);
        let expected = f.special(s, e, m);
        if (expected === undefined) {
          const magnitude = e === 0 ? (m / 2 ** f.m) * Math.pow(2, 1 - f.bias) : (1 + m / 2 ** f.m) * Math.pow(2, e - f.bias);
          expected = s ? -magnitude : magnitude;
        }
        same(value(dtype, code), expected, `${dtype} code ${code}`);
      }
    });
  }
  test('F8_E8M0', () => {
    for (let code = 0; code < 256; code++) same(value('F8_E8M0', code), code === 255 ? NaN : Math.pow(2, code - 127), `code ${code}`);
  });
});

describe('packed F4 / F6 layout', () => {
  test('F4: element 0 is the low nibble (the f4_ok fixture bytes "ab")', () => {
    const out = new Float64Array(4);
    decodeElements('F4', new Uint8Array([0x61, 0x62]), 0, 4, out);
    assert.deepEqual([...out], [0.5, 4, 1, 4]);
    const tail = new Float64Array(3);
    decodeElements('F4', new Uint8Array([0x61, 0x62]), 4, 3, tail);
    assert.deepEqual([...tail], [4, 1, 4]);
  });
  test('F6: 4 elements per 3 bytes as one little-endian 24-bit word, element 0 in bits 0..5', () => {
    // E2M3 codes 1, 7.5, 0.125, -7.5 = 0x08, 0x1f, 0x01, 0x3f -> word 0xfc17c8
    const bytes = new Uint8Array([0xc8, 0x17, 0xfc]);
    const out = new Float64Array(4);
    decodeElements('F6_E2M3', bytes, 0, 4, out);
    assert.deepEqual([...out], [1, 7.5, 0.125, -7.5]);
    for (let i = 0; i < 4; i++) {
      const loc = elementLocation('F6_E2M3', i);
      same(elementValue('F6_E2M3', bytes.subarray(loc.byteStart), loc.bitOffset), out[i], `element ${i}`);
    }
  });
  test('elementLocation', () => {
    assert.deepEqual(elementLocation('F6_E3M2', 1), { byteStart: 0, byteEnd: 2, bitOffset: 6 });
    assert.deepEqual(elementLocation('F6_E3M2', 2), { byteStart: 1, byteEnd: 3, bitOffset: 4 });
    assert.deepEqual(elementLocation('F6_E3M2', 3), { byteStart: 2, byteEnd: 3, bitOffset: 2 });
    assert.deepEqual(elementLocation('F6_E3M2', 4), { byteStart: 3, byteEnd: 4, bitOffset: 0 });
    assert.deepEqual(elementLocation('F4', 5), { byteStart: 2, byteEnd: 3, bitOffset: 4 });
    assert.deepEqual(elementLocation('F32', 3), { byteStart: 12, byteEnd: 16, bitOffset: 0 });
    assert.deepEqual(elementLocation('C64', 2), { byteStart: 16, byteEnd: 24, bitOffset: 0 });
    // beyond 4 GB of elements
    assert.deepEqual(elementLocation('BF16', 3_000_000_000), { byteStart: 6_000_000_000, byteEnd: 6_000_000_002, bitOffset: 0 });
  });
});

describe('exact text', () => {
  const f32 = (...v: number[]) => bytesOf(new Float32Array(v));
  const cases: [DType, Uint8Array, string][] = [
    ['F32', f32(0.1), '0.10000000149011612'],
    ['F32', f32(-0), '-0'],
    ['F32', f32(NaN), 'NaN'],
    ['F32', f32(-Infinity), '-Infinity'],
    ['F32', f32(2 ** -149), '1.401298464324817e-45'],
    ['F32', f32(3.5), '3.5'],
    ['F64', bytesOf(new Float64Array([0.1])), '0.1'],
    ['BF16', codeBytes('BF16', 0x3fc0), '1.5'],
    ['BF16', codeBytes('BF16', 0x0001), '9.183549615799121e-41'],
    ['F16', codeBytes('F16', 0x3555), '0.333251953125'],
    ['F16', codeBytes('F16', 0x8000), '-0'],
    ['F8_E4M3', codeBytes('F8_E4M3', 0x7e), '448'],
    ['F8_E8M0', codeBytes('F8_E8M0', 0x00), '5.877471754111438e-39'],
    ['F4', new Uint8Array([0x61]), '0.5'],
    ['I64', codeBytes('I64', 0x8000000000000000n), '-9223372036854775808'],
    ['I64', codeBytes('I64', 2n ** 53n + 1n), '9007199254740993'],
    ['U64', codeBytes('U64', 0xffffffffffffffffn), '18446744073709551615'],
    ['I8', codeBytes('I8', 0xff), '-1'],
    ['U32', codeBytes('U32', 0xffffffff), '4294967295'],
    ['C64', f32(1.5, 2), '1.5+2j'],
    ['C64', f32(1.5, -2), '1.5-2j'],
    ['C64', f32(-0, -0), '-0-0j'],
    ['C64', f32(0, NaN), '0+NaNj'],
    ['C64', f32(0.1, -Infinity), '0.10000000149011612-Infinityj'],
    ['BOOL', new Uint8Array([0]), 'false'],
    ['BOOL', new Uint8Array([1]), 'true'],
  ];
  for (const [dtype, bytes, text] of cases) {
    test(`${dtype} ${text}`, () => assert.equal(elementText(dtype, bytes, 0), text));
  }
  test('F4 at bit offset 4', () => assert.equal(elementText('F4', new Uint8Array([0x61]), 4), '4'));
  test('text reads back as the same double for every F16 code', () => {
    for (let code = 0; code < 65536; code++) {
      const b = codeBytes('F16', code);
      const v = elementValue('F16', b);
      if (!Number.isNaN(v)) same(Number(elementText('F16', b)), v, `code ${code}`);
    }
  });
});

describe('bulk decoding agrees with element-by-element decoding', () => {
  test('every dtype, random bytes, unaligned starts, bit offsets, both output types', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...DTYPES),
        fc.uint8Array({ minLength: 0, maxLength: 200 }),
        fc.nat(7),
        fc.nat(7),
        (dtype, raw, shift, bitOffsetSeed) => {
          const bits = DTYPE_BITS[dtype];
          const packed = bits < 8;
          const bitOffset = packed ? (bitOffsetSeed * bits) % 8 : 0; // a position an element can start at
          const buffer = new Uint8Array(raw.length + 8);
          buffer.set(raw, shift);
          const bytes = buffer.subarray(shift, shift + raw.length); // deliberately unaligned
          const count = Math.max(0, Math.floor((raw.length * 8 - bitOffset) / bits));
          const out64 = new Float64Array(count + 2).fill(7);
          const out32 = new Float32Array(count + 2).fill(7);
          decodeElements(dtype, bytes, bitOffset, count, out64, 1);
          decodeElements(dtype, bytes, bitOffset, count, out32, 1);
          assert.equal(out64[0], 7);
          assert.equal(out64[count + 1], 7);
          for (let i = 0; i < count; i++) {
            const first = bitOffset + i * bits;
            const v = elementValue(dtype, bytes.subarray(Math.floor(first / 8)), first % 8);
            same(out64[1 + i], v, `${dtype} element ${i} (f64)`);
            same(out32[1 + i], Math.fround(v), `${dtype} element ${i} (f32)`);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
  test('64-bit integers: bulk path rounds like BigInt -> Number', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (n) => {
        const bytes = bytesOf(new BigInt64Array([n]));
        const out = new Float64Array(2);
        decodeElements('I64', bytes, 0, 1, out);
        decodeElements('U64', bytes, 0, 1, out, 1);
        same(out[0], Number(n), 'I64');
        same(out[1], Number(BigInt.asUintN(64, n)), 'U64');
      }),
      { numRuns: 300 },
    );
  });
  test('too few bytes is a programming error, not a silent garbage read', () => {
    assert.throws(() => decodeElements('F32', new Uint8Array(7), 0, 2, new Float64Array(2)), RangeError);
    assert.throws(() => decodeElements('F4', new Uint8Array(1), 4, 2, new Float64Array(2)), RangeError);
  });
});
