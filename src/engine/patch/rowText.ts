// Hex and decoded-value text of a hunk's rows, written straight into a byte buffer: a whole-
// tensor edit has tens of millions of elements, so hex digits are produced byte by byte and
// values of the 4-, 6-, 8- and 16-bit dtypes come from per-bit-pattern string tables.
//
// Values are written as the shortest decimal that reads back as the same value in the
// tensor's dtype (BF16 0.0002593994140625 is written 0.00026): exact in that it names
// one value, and readable. NaN, Infinity, -Infinity, -0; true/false; C64 as 1.5+2j.

import { DTYPE_BITS, type DType } from '../../shared/dtypes';
import { elementText, smallFloatTable } from '../dtype/decode';
import { FLOAT_FORMATS, isSmallFloat, roundToFormat } from '../dtype/formats';
import { unitOf } from './types';

const HEX_DIGITS = new Uint8Array(Buffer.from('0123456789abcdef', 'latin1'));

function asPlain(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

/** Shortest decimal text of a double that `round` maps back to `value` exactly. */
function shortestText(value: number, round: (x: number) => number, maxDigits: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (Object.is(value, -0)) return '-0';
  if (!Number.isFinite(value) || Number.isInteger(value) && Math.abs(value) < 1e15) return String(value);
  // If p digits read back, so do p + 1 (the nearer decimal): binary search on p.
  let lo = 1;
  let hi = maxDigits;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (round(Number(value.toPrecision(mid))) === value) hi = mid;
    else lo = mid + 1;
  }
  return String(Number(value.toPrecision(lo)));
}

/** Value text of every bit pattern of a small float. */
function smallFloatTexts(dtype: DType): string[] {
  if (!isSmallFloat(dtype)) throw new Error(`not a small float: ${dtype}`);
  const values = smallFloatTable(dtype);
  const format = FLOAT_FORMATS[dtype];
  return Array.from(values, (v) => shortestText(v, (x) => roundToFormat(format, x), 17));
}

/** Formats one unit (group of whole bytes) of a dtype. */
export interface UnitFormatter {
  /** Bytes per unit (also per hex group). */
  bytes: number;
  /** The unit's values, space-separated. `view` is a DataView of `bytes`. */
  text(bytes: Uint8Array, at: number, view: DataView): string;
  hex(bytes: Uint8Array, at: number): string;
}

const formatters = new Map<DType, UnitFormatter>();

export function unitFormatter(dtype: DType): UnitFormatter {
  let f = formatters.get(dtype);
  if (!f) {
    f = makeFormatter(dtype);
    formatters.set(dtype, f);
  }
  return f;
}

function hexOf(bytes: Uint8Array, at: number, n: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + at, n).toString('hex');
}

function makeFormatter(dtype: DType): UnitFormatter {
  const unit = unitOf(dtype);
  const bits = DTYPE_BITS[dtype];
  const hex = (b: Uint8Array, at: number) => hexOf(b, at, unit.bytes);
  const table = (texts: string[], codeOf: (b: Uint8Array, at: number) => number): UnitFormatter => ({ bytes: unit.bytes, hex, text: (b, at) => texts[codeOf(b, at)] });
  const byte = (b: Uint8Array, at: number) => b[at];
  const u16 = (b: Uint8Array, at: number) => b[at] | (b[at + 1] << 8);
  const f32 = (x: number) => Math.fround(x);
  if (isSmallFloat(dtype)) {
    const texts = smallFloatTexts(dtype);
    if (bits === 16) return table(texts, u16);
    if (bits === 8) return table(texts, byte);
    if (bits === 4) return table(Array.from({ length: 256 }, (_, c) => `${texts[c & 15]} ${texts[c >> 4]}`), byte);
    // F6: 4 elements in a little-endian 24-bit word, element 0 in the low bits.
    return {
      bytes: 3,
      hex,
      text: (b, at) => {
        const w = b[at] | (b[at + 1] << 8) | (b[at + 2] << 16);
        return `${texts[w & 63]} ${texts[(w >> 6) & 63]} ${texts[(w >> 12) & 63]} ${texts[(w >> 18) & 63]}`;
      },
    };
  }
  switch (dtype) {
    case 'BOOL':
      return table(Array.from({ length: 256 }, (_, c) => (c ? 'true' : 'false')), byte);
    case 'U8':
      return table(Array.from({ length: 256 }, (_, c) => String(c)), byte);
    case 'I8':
      return table(Array.from({ length: 256 }, (_, c) => String(c < 128 ? c : c - 256)), byte);
    case 'U16':
      return table(Array.from({ length: 65536 }, (_, c) => String(c)), u16);
    case 'I16':
      return table(Array.from({ length: 65536 }, (_, c) => String(c < 32768 ? c : c - 65536)), u16);
    case 'I32':
      return { bytes: 4, hex, text: (_b, at, v) => String(v.getInt32(at, true)) };
    case 'U32':
      return { bytes: 4, hex, text: (_b, at, v) => String(v.getUint32(at, true)) };
    case 'F32':
      return { bytes: 4, hex, text: (_b, at, v) => shortestText(v.getFloat32(at, true), f32, 9) };
    case 'F64':
      return { bytes: 8, hex, text: (_b, at, v) => shortestText(v.getFloat64(at, true), (x) => x, 17) };
    case 'C64':
      return {
        bytes: 8,
        hex,
        text: (_b, at, v) => {
          const re = shortestText(v.getFloat32(at, true), f32, 9);
          const im = shortestText(v.getFloat32(at + 4, true), f32, 9);
          return `${re}${im.startsWith('-') ? '' : '+'}${im}j`;
        },
      };
    default:
      // I64, U64: exact integers.
      return { bytes: unit.bytes, hex, text: (b, at) => elementText(dtype, b.subarray(at, at + unit.bytes), 0) };
  }
}

/** Growing output of .stpatch text, as bytes. */
export class ByteSink {
  private buf = Buffer.allocUnsafe(1 << 20);
  /** The same memory as a plain Uint8Array: V8 indexes these faster than Buffers. */
  private bytes = asPlain(this.buf);
  private pos = 0;
  private readonly chunks: Buffer[] = [];

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) {
      this.buf = Buffer.allocUnsafe(n);
      this.bytes = asPlain(this.buf);
    }
  }

  private flush(): void {
    if (this.pos === 0) return;
    this.chunks.push(this.buf.subarray(0, this.pos));
    this.buf = Buffer.allocUnsafe(Math.max(this.buf.length, 4 << 20));
    this.bytes = asPlain(this.buf);
    this.pos = 0;
  }

  /** A whole line (UTF-8), newline added. */
  line(text: string): void {
    const n = Buffer.byteLength(text, 'utf8');
    this.ensure(n + 1);
    this.pos += this.buf.write(text, this.pos, 'utf8');
    this.buf[this.pos++] = 0x0a;
  }

  /**
   * One row: `<sign> <hex groups>` and, with `comment`, `  # <values>`, for bytes[a, b)
   * (whole units of `f`).
   */
  row(sign: 0x2d | 0x2b, f: UnitFormatter, bytes: Uint8Array, view: DataView, a: number, b: number, comment: boolean): void {
    const n = b - a;
    this.ensure(4 + 3 * n);
    const out = this.bytes;
    let p = this.pos;
    out[p++] = sign;
    const g = f.bytes;
    for (let at = a; at < b; at += g) {
      out[p++] = 0x20;
      for (let k = at; k < at + g; k++) {
        const x = bytes[k];
        out[p++] = HEX_DIGITS[x >> 4];
        out[p++] = HEX_DIGITS[x & 15];
      }
    }
    this.pos = p;
    if (comment) {
      let text = '  #';
      for (let at = a; at < b; at += g) text += ` ${f.text(bytes, at, view)}`;
      this.ensure(text.length + 1);
      this.pos += this.buf.write(text, this.pos, 'latin1');
    }
    this.buf[this.pos++] = 0x0a;
  }

  finish(): Buffer {
    this.flush();
    return this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
  }
}

export function dataViewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
