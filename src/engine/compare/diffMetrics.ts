// Accumulates the difference metrics of one tensor pair (A = before, B = after) chunk by
// chunk, in float64. The rules, also documented on TensorDiffMetrics in src/shared/protocol.ts:
// - A pair of elements differs when their values differ; NaN equals NaN and -0 equals +0
//   (so bytes may differ while no element does). Integers beyond 2^53 compare as float64.
// - Pairs where both values are finite feed the norms: Δ = b - a, max |Δ|, mean |Δ| (over
//   all finite pairs, equal ones included), ‖Δ‖₂ / ‖A‖₂ and cos(A, B).
// - A differing pair involving NaN or ±Infinity is counted in `nonFinite` and left out of
//   the norms (its Δ has no size).
// - Complex (C64) elements are pairs of components: |Δ| is the modulus of the complex
//   difference and the cosine is Re⟨A, B⟩ / (‖A‖ ‖B‖).

import type { TensorDiffMetrics } from '../../shared/protocol';

export class DiffAccumulator {
  private differing = 0;
  private nonFinite = 0;
  private finitePairs = 0;
  private maxAbs = 0;
  private sumAbs = 0;
  private sumDelta2 = 0;
  private sumA2 = 0;
  private sumB2 = 0;
  private dot = 0;

  /** @param components 1 for real dtypes, 2 for complex (interleaved re, im). */
  constructor(private readonly components: 1 | 2 = 1) {}

  /** Elements [start, start + count) are bytewise identical in A and B: only the norms grow. */
  addEqual(values: Float64Array, start: number, count: number): void {
    const c = this.components;
    const end = (start + count) * c;
    // Four partial sums run in parallel; no finiteness test per element: a NaN or ±Infinity
    // poisons the sum, and then the careful loop below counts element by element.
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    let i = start * c;
    for (; i + 3 < end; i += 4) {
      const v0 = values[i], v1 = values[i + 1], v2 = values[i + 2], v3 = values[i + 3];
      s0 += v0 * v0;
      s1 += v1 * v1;
      s2 += v2 * v2;
      s3 += v3 * v3;
    }
    for (; i < end; i++) s0 += values[i] * values[i];
    let s = s0 + s1 + (s2 + s3);
    let finite = count;
    if (s - s !== 0) [s, finite] = this.finiteSquares(values, start, count);
    this.sumA2 += s;
    this.sumB2 += s;
    this.dot += s;
    this.finitePairs += finite;
  }

  /** Σ|v|² over the elements whose components are all finite, and how many there are. */
  private finiteSquares(values: Float64Array, start: number, count: number): [number, number] {
    const c = this.components;
    let s = 0;
    let finite = 0;
    for (let e = start; e < start + count; e++) {
      let sq = 0;
      let allFinite = true;
      for (let k = 0; k < c; k++) {
        const v = values[e * c + k];
        allFinite &&= v - v === 0;
        sq += v * v;
      }
      if (allFinite) {
        s += sq;
        finite++;
      }
    }
    return [s, finite];
  }

  /** Elements [start, start + count) whose bytes differ somewhere: compare them pair by pair. */
  addPairs(a: Float64Array, b: Float64Array, start: number, count: number): void {
    if (this.components === 2) return this.addComplexPairs(a, b, start, count);
    let differing = 0;
    let nonFinite = 0;
    let finite = 0;
    let maxAbs = this.maxAbs;
    let sumAbs = 0;
    let sumDelta2 = 0;
    let sumA2 = 0;
    let sumB2 = 0;
    let dot = 0;
    for (let i = start; i < start + count; i++) {
      const x = a[i];
      const y = b[i];
      if (x - x === 0 && y - y === 0) {
        finite++;
        sumA2 += x * x;
        sumB2 += y * y;
        dot += x * y;
        const d = y - x;
        if (d !== 0) {
          differing++;
          const ad = d < 0 ? -d : d;
          if (ad > maxAbs) maxAbs = ad;
          sumAbs += ad;
          sumDelta2 += d * d;
        }
      } else if (!sameValue(x, y)) {
        differing++;
        nonFinite++;
      }
    }
    this.differing += differing;
    this.nonFinite += nonFinite;
    this.finitePairs += finite;
    this.maxAbs = maxAbs;
    this.sumAbs += sumAbs;
    this.sumDelta2 += sumDelta2;
    this.sumA2 += sumA2;
    this.sumB2 += sumB2;
    this.dot += dot;
  }

  private addComplexPairs(a: Float64Array, b: Float64Array, start: number, count: number): void {
    for (let e = start; e < start + count; e++) {
      const ar = a[2 * e], ai = a[2 * e + 1];
      const br = b[2 * e], bi = b[2 * e + 1];
      const dr = br - ar, di = bi - ai;
      if (ar - ar === 0 && ai - ai === 0 && br - br === 0 && bi - bi === 0) {
        this.finitePairs++;
        this.sumA2 += ar * ar + ai * ai;
        this.sumB2 += br * br + bi * bi;
        this.dot += ar * br + ai * bi;
        if (dr !== 0 || di !== 0) {
          this.differing++;
          const d2 = dr * dr + di * di;
          const ad = Math.sqrt(d2);
          if (ad > this.maxAbs) this.maxAbs = ad;
          this.sumAbs += ad;
          this.sumDelta2 += d2;
        }
      } else if (!sameValue(ar, br) || !sameValue(ai, bi)) {
        this.differing++;
        this.nonFinite++;
      }
    }
  }

  result(): TensorDiffMetrics {
    const normA = Math.sqrt(this.sumA2);
    const normB = Math.sqrt(this.sumB2);
    const normDelta = Math.sqrt(this.sumDelta2);
    // One square root of the product rounds once (cos of parallel vectors comes out ±1);
    // the product of the norms only when the squares' product overflows.
    const normAB = Math.sqrt(this.sumA2 * this.sumB2);
    const denominator = Number.isFinite(normAB) ? normAB : normA * normB;
    return {
      differing: this.differing,
      nonFinite: this.nonFinite,
      finitePairs: this.finitePairs,
      maxAbs: this.maxAbs,
      meanAbs: this.finitePairs > 0 ? this.sumAbs / this.finitePairs : null,
      relative: normA > 0 ? normDelta / normA : normDelta === 0 ? 0 : null,
      cosine: normA > 0 && normB > 0 ? Math.max(-1, Math.min(1, this.dot / denominator)) : null,
    };
  }
}

/** Value equality where NaN equals NaN (and -0 equals +0). */
function sameValue(x: number, y: number): boolean {
  return x === y || (x !== x && y !== y);
}
