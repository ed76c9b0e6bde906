// Hex and decoded-value text of a hunk's rows. Serialising a whole-tensor edit formats tens of
// millions of elements, so the 8- and 16-bit dtypes (and packed F4) use per-bit-pattern
// string tables built on first use; wider dtypes format through a DataView.

import { DTYPE_BITS, type DType } from '../../shared/dtypes';
import { elementText, formatDouble } from '../dtype/decode';
import { unitOf } from './types';

const HEX2: string[] = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** Formats one unit (group of whole bytes) of a dtype: its hex and its decoded values. */
interface UnitFormatter {
  bytes: number;
  hex(bytes: Uint8Array, at: number): string;
  text(bytes: Uint8Array, at: number, view: DataView): string;
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

function makeFormatter(dtype: DType): UnitFormatter {
  const unit = unitOf(dtype);
  const bits = DTYPE_BITS[dtype];
  if (bits === 16) {
    const hex: string[] = new Array(65536);
    const text: string[] = new Array(65536);
    const pair = new Uint8Array(2);
    for (let code = 0; code < 65536; code++) {
      pair[0] = code & 0xff;
      pair[1] = code >>> 8;
      hex[code] = HEX2[pair[0]] + HEX2[pair[1]];
      text[code] = elementText(dtype, pair, 0);
    }
    return {
      bytes: 2,
      hex: (b, at) => hex[b[at] | (b[at + 1] << 8)],
      text: (b, at) => text[b[at] | (b[at + 1] << 8)],
    };
  }
  if (unit.bytes === 1) {
    // 8-bit dtypes, and F4 whose byte holds two elements (element 2k in the low nibble).
    const text: string[] = new Array(256);
    const one = new Uint8Array(1);
    for (let code = 0; code < 256; code++) {
      one[0] = code;
      text[code] = unit.elements === 2 ? `${elementText(dtype, one, 0)} ${elementText(dtype, one, 4)}` : elementText(dtype, one, 0);
    }
    return { bytes: 1, hex: (b, at) => HEX2[b[at]], text: (b, at) => text[b[at]] };
  }
  const hex = (b: Uint8Array, at: number) => {
    let s = '';
    for (let i = 0; i < unit.bytes; i++) s += HEX2[b[at + i]];
    return s;
  };
  switch (dtype) {
    case 'F32':
      return { bytes: 4, hex, text: (_b, at, v) => formatDouble(v.getFloat32(at, true)) };
    case 'F64':
      return { bytes: 8, hex, text: (_b, at, v) => formatDouble(v.getFloat64(at, true)) };
    case 'I32':
      return { bytes: 4, hex, text: (_b, at, v) => String(v.getInt32(at, true)) };
    case 'U32':
      return { bytes: 4, hex, text: (_b, at, v) => String(v.getUint32(at, true)) };
    default:
      // I64, U64, C64 (one element per unit) and F6 (4 elements per 3 bytes).
      return {
        bytes: unit.bytes,
        hex,
        text: (b, at) => {
          const sub = b.subarray(at, at + unit.bytes);
          if (unit.elements === 1) return elementText(dtype, sub, 0);
          const values: string[] = [];
          for (let e = 0; e < unit.elements; e++) {
            const bit = e * bits;
            values.push(elementText(dtype, sub.subarray(bit >> 3), bit & 7));
          }
          return values.join(' ');
        },
      };
  }
}

/** One row line: `<sign> <hex groups>  # <values>` for bytes[start, end) (whole units). */
export function rowLine(sign: '-' | '+', f: UnitFormatter, bytes: Uint8Array, view: DataView, start: number, end: number): string {
  let hex = '';
  let text = '';
  for (let at = start; at < end; at += f.bytes) {
    if (at > start) {
      hex += ' ';
      text += ' ';
    }
    hex += f.hex(bytes, at);
    text += f.text(bytes, at, view);
  }
  return `${sign} ${hex}  # ${text}`;
}

export function dataViewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
