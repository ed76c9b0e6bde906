// SIMD kernels for the hot loops over float32 data (tiles and statistics), in WebAssembly:
// 4 lanes per instruction run 4-6x faster than the same loops in JavaScript, which V8 does
// not vectorise. Each kernel processes a multiple of 4 (decodeBf16: 8) elements; callers do
// the few remaining elements with their JavaScript loops, which are also the fallback when
// WebAssembly SIMD is unavailable (kernels() returns null).
//
// Data lives in the kernels' memory, handed out by WasmHeap. The memory is shared (backed by
// a SharedArrayBuffer): growing it never detaches or moves existing views, so a view taken
// once stays valid, and file reads go straight into it.

import {
  F32X4_EQ, F32X4_MAX, F32X4_MIN, F32X4_NE, F32X4_SUB, F64, F64X2_ADD, F64X2_MUL, F64X2_PROMOTE_LOW_F32X4, F64X2_SPLAT, F64X2_SUB,
  I32, I32X4_ALL_TRUE, I32X4_EXTEND_HIGH_I16X8_U, I32X4_EXTEND_LOW_I16X8_U, I32X4_MIN_S, I32X4_SHL, I32X4_SPLAT, I32X4_SUB,
  I32X4_TRUNC_SAT_F64X2_S_ZERO, I32_ADD, I32_EQZ, I32_SHL, I64X2_EXTEND_HIGH_I32X4_S, I64X2_EXTEND_LOW_I32X4_S, V128,
  V128_AND, V128_BITSELECT, V128_NOT, assemble, forRange, get, i32, i32Load, i32Store, i32x4ExtractLane, ifThen, set, shuffle,
  splat32, v128Load, v128Store, type Code, type Func,
} from './asm';

const ZERO = splat32(0);
const PLUS_INF = splat32(0x7f800000);
const MINUS_INF = splat32(0xff800000);
/** Lanes 2,3 of a f32x4 moved to lanes 0,1 (for promoting the high half to f64x2). */
const HIGH_TO_LOW: Code = shuffle([8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]);
/** Lanes 0,1 of a and lanes 0,1 of b (two trunc_sat_f64x2_zero results joined). */
const JOIN_LOW_HALVES: Code = shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]);

/** local[v] is finite: (x - x) == 0 is all-ones exactly for finite lanes. */
const finiteMask = (v: number): Code => [...get(v), ...get(v), ...F32X4_SUB, ...ZERO, ...F32X4_EQ];
/** local[end] = local[ptr] + local[n] << shift */
const endOf = (end: number, ptr: number, n: number, shift: number): Code => [...get(ptr), ...get(n), ...i32(shift), ...I32_SHL, ...I32_ADD, ...set(end)];
const addTo = (local: number, step: number): Code => [...get(local), ...i32(step), ...I32_ADD, ...set(local)];

/** decodeBf16(src, dst, n): dst f32[n] = bf16 src[n] (bits << 16); n a multiple of 8. */
const decodeBf16: Func = (() => {
  const [src, dst, n, end, v] = [0, 1, 2, 3, 4];
  return {
    name: 'decodeBf16',
    params: [I32, I32, I32],
    locals: [I32, V128],
    body: [
      ...endOf(end, src, n, 1),
      ...forRange(src, end, 16,
        [...get(src), ...v128Load(), ...set(v)],
        [...get(dst), ...get(v), ...I32X4_EXTEND_LOW_I16X8_U, ...i32(16), ...I32X4_SHL, ...v128Store(0)],
        [...get(dst), ...get(v), ...I32X4_EXTEND_HIGH_I16X8_U, ...i32(16), ...I32X4_SHL, ...v128Store(16)],
        addTo(dst, 32)),
    ],
  };
})();

/** accumRow(x, n, sum, bad): for finite x[j] sum[j] += x[j] (f64), else bad[j] += 1 (i32). */
const accumRow: Func = (() => {
  const [x, n, sum, bad, end, v, m, vm] = [0, 1, 2, 3, 4, 5, 6, 7];
  return {
    name: 'accumRow',
    params: [I32, I32, I32, I32],
    locals: [I32, V128, V128, V128],
    body: [
      ...endOf(end, x, n, 2),
      ...forRange(x, end, 16,
        [...get(x), ...v128Load(), ...set(v)],
        [...finiteMask(v), ...set(m)],
        [...get(v), ...get(m), ...V128_AND, ...set(vm)],
        [...get(sum), ...get(sum), ...v128Load(0), ...get(vm), ...F64X2_PROMOTE_LOW_F32X4, ...F64X2_ADD, ...v128Store(0)],
        [...get(sum), ...get(sum), ...v128Load(16), ...get(vm), ...get(vm), ...HIGH_TO_LOW, ...F64X2_PROMOTE_LOW_F32X4, ...F64X2_ADD, ...v128Store(16)],
        [...get(m), ...I32X4_ALL_TRUE, ...I32_EQZ, ...ifThen([...get(bad), ...get(bad), ...v128Load(), ...get(m), ...V128_NOT, ...I32X4_SUB, ...v128Store()])],
        addTo(sum, 32),
        addTo(bad, 16)),
    ],
  };
})();

/**
 * moments(x, n, out): per lane, out = [min f32x4, max f32x4 (finite values; ±inf when none),
 * sum f64x2 (lanes 0,1), sum f64x2 (lanes 2,3), finite i32x4, zeros i32x4, nan i32x4].
 */
const moments: Func = (() => {
  const [x, n, out, end, v, m, vm, vmin, vmax, s0, s1, cf, cz, cn] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
  return {
    name: 'moments',
    params: [I32, I32, I32],
    locals: [I32, V128, V128, V128, V128, V128, V128, V128, V128, V128, V128],
    body: [
      ...endOf(end, x, n, 2),
      ...PLUS_INF, ...set(vmin), ...MINUS_INF, ...set(vmax),
      ...ZERO, ...set(s0), ...ZERO, ...set(s1), ...ZERO, ...set(cf), ...ZERO, ...set(cz), ...ZERO, ...set(cn),
      ...forRange(x, end, 16,
        [...get(x), ...v128Load(), ...set(v)],
        [...finiteMask(v), ...set(m)],
        [...get(vmin), ...get(v), ...PLUS_INF, ...get(m), ...V128_BITSELECT, ...F32X4_MIN, ...set(vmin)],
        [...get(vmax), ...get(v), ...MINUS_INF, ...get(m), ...V128_BITSELECT, ...F32X4_MAX, ...set(vmax)],
        [...get(v), ...get(m), ...V128_AND, ...set(vm)],
        [...get(s0), ...get(vm), ...F64X2_PROMOTE_LOW_F32X4, ...F64X2_ADD, ...set(s0)],
        [...get(s1), ...get(vm), ...get(vm), ...HIGH_TO_LOW, ...F64X2_PROMOTE_LOW_F32X4, ...F64X2_ADD, ...set(s1)],
        [...get(cf), ...get(m), ...I32X4_SUB, ...set(cf)],
        [...get(cz), ...get(v), ...ZERO, ...F32X4_EQ, ...I32X4_SUB, ...set(cz)],
        [...get(cn), ...get(v), ...get(v), ...F32X4_NE, ...I32X4_SUB, ...set(cn)]),
      ...[vmin, vmax, s0, s1, cf, cz, cn].flatMap((local, k) => [...get(out), ...get(local), ...v128Store(16 * k)]),
    ],
  };
})();

/**
 * spread(x, n, mean, lo, scale, last, counts, out): for finite x, d = x - mean:
 * out = [Σd² f64x2 (lanes 0,1), Σd² f64x2 (lanes 2,3), Σd f64x2, Σd f64x2], and
 * counts[min(trunc((x - lo) * scale), last)] += 1 (i32); non-finite x go to counts[last + 1].
 */
const spread: Func = (() => {
  const [x, n, mean, lo, scale, last, counts, out] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [end, v, m, plo, phi, dlo, dhi, q0, q1, d0, d1, meanv, lov, scalev, lastv, trashv, idx] = [8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24];
  const bin = (p: number): Code => [...get(p), ...get(lov), ...F64X2_SUB, ...get(scalev), ...F64X2_MUL, ...I32X4_TRUNC_SAT_F64X2_S_ZERO];
  const ptr = 25; // i32 local: address of one counter
  const bump = (lane: number): Code => [
    ...get(counts), ...get(idx), ...i32x4ExtractLane(lane), ...i32(2), ...I32_SHL, ...I32_ADD, ...set(ptr),
    ...get(ptr), ...get(ptr), ...i32Load(), ...i32(1), ...I32_ADD, ...i32Store(),
  ];
  return {
    name: 'spread',
    params: [I32, I32, F64, F64, F64, I32, I32, I32],
    locals: [I32, V128, V128, V128, V128, V128, V128, V128, V128, V128, V128, V128, V128, V128, V128, V128, V128, I32],
    body: [
      ...endOf(end, x, n, 2),
      ...get(mean), ...F64X2_SPLAT, ...set(meanv),
      ...get(lo), ...F64X2_SPLAT, ...set(lov),
      ...get(scale), ...F64X2_SPLAT, ...set(scalev),
      ...get(last), ...I32X4_SPLAT, ...set(lastv),
      ...get(last), ...i32(1), ...I32_ADD, ...I32X4_SPLAT, ...set(trashv),
      ...ZERO, ...set(q0), ...ZERO, ...set(q1), ...ZERO, ...set(d0), ...ZERO, ...set(d1),
      ...forRange(x, end, 16,
        [...get(x), ...v128Load(), ...set(v)],
        [...finiteMask(v), ...set(m)],
        [...get(v), ...F64X2_PROMOTE_LOW_F32X4, ...set(plo)],
        [...get(v), ...get(v), ...HIGH_TO_LOW, ...F64X2_PROMOTE_LOW_F32X4, ...set(phi)],
        // Deviations, zeroed in non-finite lanes by the mask widened to 64 bits.
        [...get(plo), ...get(meanv), ...F64X2_SUB, ...get(m), ...I64X2_EXTEND_LOW_I32X4_S, ...V128_AND, ...set(dlo)],
        [...get(phi), ...get(meanv), ...F64X2_SUB, ...get(m), ...I64X2_EXTEND_HIGH_I32X4_S, ...V128_AND, ...set(dhi)],
        [...get(q0), ...get(dlo), ...get(dlo), ...F64X2_MUL, ...F64X2_ADD, ...set(q0)],
        [...get(q1), ...get(dhi), ...get(dhi), ...F64X2_MUL, ...F64X2_ADD, ...set(q1)],
        [...get(d0), ...get(dlo), ...F64X2_ADD, ...set(d0)],
        [...get(d1), ...get(dhi), ...F64X2_ADD, ...set(d1)],
        // Bin indices of the four lanes, clamped to last; non-finite lanes to the trash counter.
        [...bin(plo), ...bin(phi), ...JOIN_LOW_HALVES, ...get(lastv), ...I32X4_MIN_S, ...get(trashv), ...get(m), ...V128_BITSELECT, ...set(idx)],
        bump(0), bump(1), bump(2), bump(3)),
      ...[q0, q1, d0, d1].flatMap((local, k) => [...get(out), ...get(local), ...v128Store(16 * k)]),
    ],
  };
})();

/** Hands out 16-byte aligned blocks of the kernels' memory, growing it when needed. */
export class WasmHeap {
  private free: { ptr: number; size: number }[] = [];
  private top = 16; // keep address 0 unused

  constructor(private readonly memory: WebAssembly.Memory) {}

  alloc(bytes: number): number {
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    const i = this.free.findIndex((b) => b.size >= size);
    if (i >= 0) {
      const b = this.free[i];
      if (b.size === size) this.free.splice(i, 1);
      else this.free[i] = { ptr: b.ptr + size, size: b.size - size };
      return b.ptr;
    }
    const ptr = this.top;
    const needed = ptr + size - this.memory.buffer.byteLength;
    if (needed > 0) this.memory.grow(Math.ceil(needed / 65536)); // throws RangeError past MAX_PAGES
    this.top += size;
    return ptr;
  }

  release(ptr: number, bytes: number): void {
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    this.free.push({ ptr, size });
    this.free.sort((a, b) => a.ptr - b.ptr);
    const merged: { ptr: number; size: number }[] = [];
    for (const b of this.free) {
      const prev = merged[merged.length - 1];
      if (prev && prev.ptr + prev.size === b.ptr) prev.size += b.size;
      else merged.push({ ...b });
    }
    const lastBlock = merged[merged.length - 1];
    if (lastBlock && lastBlock.ptr + lastBlock.size === this.top) {
      this.top = lastBlock.ptr;
      merged.pop();
    }
    this.free = merged;
  }
}

export interface Kernels {
  heap: WasmHeap;
  /** 128 bytes for kernel results (moments, spread); read them right after the call. */
  outPtr: number;
  u8(ptr: number, n: number): Uint8Array;
  f32(ptr: number, n: number): Float32Array;
  f64(ptr: number, n: number): Float64Array;
  i32(ptr: number, n: number): Int32Array;
  /** Is this view in the kernels' memory (so its byteOffset is a pointer)? Check the element type too. */
  owns(view: ArrayBufferView): boolean;
  decodeBf16(src: number, dst: number, n: number): void;
  accumRow(x: number, n: number, sum: number, bad: number): void;
  moments(x: number, n: number, out: number): void;
  spread(x: number, n: number, mean: number, lo: number, scale: number, last: number, counts: number, out: number): void;
}

/** 4 GiB: the most a 32-bit memory can address; only the used part is ever committed. */
const MAX_PAGES = 65536;
let instance: Kernels | null | undefined;
let enabled = true;

/** Use the plain JavaScript loops instead (tests compare both paths; benches measure both). */
export function setSimdEnabled(on: boolean): void {
  enabled = on;
}

/** The kernels, compiled on first use; null where WebAssembly SIMD is not available or disabled. */
export function kernels(): Kernels | null {
  if (!enabled) return null;
  if (instance !== undefined) return instance;
  try {
    const memory = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES, shared: true });
    const module = new WebAssembly.Module(assemble([decodeBf16, accumRow, moments, spread], MAX_PAGES));
    const exports = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Pick<Kernels, 'decodeBf16' | 'accumRow' | 'moments' | 'spread'>;
    // Growing gives memory.buffer a new SharedArrayBuffer object over the same memory: remember them all.
    const buffers = new WeakSet<ArrayBufferLike>();
    const current = (): ArrayBufferLike => {
      const b = memory.buffer;
      buffers.add(b);
      return b;
    };
    const heap = new WasmHeap(memory);
    instance = {
      heap,
      outPtr: heap.alloc(128),
      u8: (ptr, n) => new Uint8Array(current(), ptr, n),
      f32: (ptr, n) => new Float32Array(current(), ptr, n),
      f64: (ptr, n) => new Float64Array(current(), ptr, n),
      i32: (ptr, n) => new Int32Array(current(), ptr, n),
      owns: (view) => buffers.has(view.buffer),
      decodeBf16: exports.decodeBf16,
      accumRow: exports.accumRow,
      moments: exports.moments,
      spread: exports.spread,
    };
  } catch {
    instance = null;
  }
  return instance;
}
