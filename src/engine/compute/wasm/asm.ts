// A very small WebAssembly assembler: enough to write the SIMD kernels in ./kernels.ts as
// readable instruction lists in TypeScript, with no toolchain and no binary blob in the repo.
// Encoding: WebAssembly core spec 2.0 (binary format) and the fixed-width SIMD proposal's
// binary encoding (0xFD prefix + LEB128 opcode).

export type Code = number[];

export const I32 = 0x7f;
export const F64 = 0x7c;
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof F64 | typeof V128;

function uleb(n: number): Code {
  const out: Code = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): Code {
  const out: Code = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
}

const vec = (items: Code[]): Code => [...uleb(items.length), ...items.flat()];
const name = (s: string): Code => vec([...new TextEncoder().encode(s)].map((b) => [b]));
const section = (id: number, body: Code): Code => [id, ...uleb(body.length), ...body];

// ---- core instructions ----

export const block = (...body: Code[]): Code => [0x02, 0x40, ...body.flat(), 0x0b];
export const loop = (...body: Code[]): Code => [0x03, 0x40, ...body.flat(), 0x0b];
export const ifThen = (...body: Code[]): Code => [0x04, 0x40, ...body.flat(), 0x0b];
export const br = (depth: number): Code => [0x0c, ...uleb(depth)];
export const brIf = (depth: number): Code => [0x0d, ...uleb(depth)];
export const get = (local: number): Code => [0x20, ...uleb(local)];
export const set = (local: number): Code => [0x21, ...uleb(local)];
export const i32 = (n: number): Code => [0x41, ...sleb(n)];
export const i32Load = (offset = 0): Code => [0x28, 2, ...uleb(offset)];
export const i32Store = (offset = 0): Code => [0x36, 2, ...uleb(offset)];
export const I32_EQZ = [0x45];
export const I32_GE_U = [0x4f];
export const I32_ADD = [0x6a];
export const I32_SHL = [0x74];

// ---- SIMD instructions ----

const simd = (opcode: number, ...immediates: number[]): Code => [0xfd, ...uleb(opcode), ...immediates];
/** Loads and stores of 16 bytes; alignment hint 2^4, byte offset from the address operand. */
export const v128Load = (offset = 0): Code => simd(0x00, 4, ...uleb(offset));
export const v128Store = (offset = 0): Code => simd(0x0b, 4, ...uleb(offset));
export const v128Const = (bytes: number[]): Code => simd(0x0c, ...bytes);
export const shuffle = (lanes: number[]): Code => simd(0x0d, ...lanes);
export const i32x4ExtractLane = (lane: number): Code => simd(0x1b, lane);
export const F32X4_SPLAT = simd(0x13);
export const F64X2_SPLAT = simd(0x14);
export const I32X4_SPLAT = simd(0x11);
export const F32X4_EQ = simd(0x41);
export const F32X4_NE = simd(0x42);
export const V128_NOT = simd(0x4d);
export const V128_AND = simd(0x4e);
export const V128_BITSELECT = simd(0x52);
export const F32X4_DEMOTE_F64X2_ZERO = simd(0x5e);
export const F64X2_PROMOTE_LOW_F32X4 = simd(0x5f);
export const I32X4_ALL_TRUE = simd(0xa3);
export const I32X4_EXTEND_LOW_I16X8_U = simd(0xa9);
export const I32X4_EXTEND_HIGH_I16X8_U = simd(0xaa);
export const I32X4_SHL = simd(0xab);
export const I32X4_SUB = simd(0xb1);
export const I32X4_MIN_S = simd(0xb6);
export const I64X2_EXTEND_LOW_I32X4_S = simd(0xc7);
export const I64X2_EXTEND_HIGH_I32X4_S = simd(0xc8);
export const F32X4_SUB = simd(0xe5);
export const F32X4_MIN = simd(0xe8);
export const F32X4_MAX = simd(0xe9);
export const F64X2_ADD = simd(0xf0);
export const F64X2_SUB = simd(0xf1);
export const F64X2_MUL = simd(0xf2);
export const I32X4_TRUNC_SAT_F64X2_S_ZERO = simd(0xfc);

/** The same 32-bit pattern in all four lanes, as a v128.const. */
export function splat32(bits: number): Code {
  const lane = [bits & 0xff, (bits >>> 8) & 0xff, (bits >>> 16) & 0xff, (bits >>> 24) & 0xff];
  return v128Const([...lane, ...lane, ...lane, ...lane]);
}

/** for (; local[ptr] < local[end]; local[ptr] += step) body */
export function forRange(ptr: number, end: number, step: number, ...body: Code[]): Code {
  return block(loop(get(ptr), get(end), I32_GE_U, brIf(1), ...body, get(ptr), i32(step), I32_ADD, set(ptr), br(0)));
}

export interface Func {
  name: string;
  params: ValType[];
  locals: ValType[];
  body: Code;
}

/**
 * A module of functions (no results) over one imported shared memory, env.memory, declared
 * with `maxPages` pages at most. A shared memory never detaches its buffer when it grows, so
 * views of it stay valid and file reads can target it directly.
 */
export function assemble(funcs: Func[], maxPages: number): Uint8Array<ArrayBuffer> {
  const types = funcs.map((f) => [0x60, ...vec(f.params.map((p) => [p])), ...vec([])]);
  const bodies = funcs.map((f) => {
    const locals = vec(f.locals.map((t) => [1, t]));
    const body = [...locals, ...f.body, 0x0b];
    return [...uleb(body.length), ...body];
  });
  const sharedMemory = [0x02, 0x03, ...uleb(0), ...uleb(maxPages)]; // import kind memory, limits: shared, min, max
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...section(2, vec([[...name('env'), ...name('memory'), ...sharedMemory]])),
    ...section(3, vec(funcs.map((_, i) => uleb(i)))),
    ...section(7, vec(funcs.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(bodies)),
  ]);
}
