// The layout's gradient coefficients as functions of the squared distance d2, tabulated once
// per run: the inner loop of the layout then costs a table lookup instead of a power
// (Math.pow dominated it). Grid: 64 points per octave of d2 over [2^-40, 2^40], indexed by
// the double's exponent and top mantissa bits, linear interpolation in d2 between them
// (relative error ~1e-5, far below the noise of stochastic gradient descent). Outside the
// grid a lookup gives the value at its nearest end: layouts never spread points 2^20 apart,
// and below 2^-20 apart the gradient (coefficient times difference) vanishes either way. No
// exact fallback in the inner loop: a value that may come from a call or be NaN is kept
// boxed by V8, which then allocated a heap number per negative sample (17% of the layout).
//   attract(d2) = -2ab d2^(b-1) / (1 + a d2^b)             (umap-learn's positive sample)
//   repel(d2)   = 2 gamma b / ((0.001 + d2)(1 + a d2^b))    (its negative sample)

const PER_OCTAVE_BITS = 6;
const PER_OCTAVE = 1 << PER_OCTAVE_BITS;
const MIN_EXP = -40;
const MAX_EXP = 40;
const SIZE = (MAX_EXP - MIN_EXP) * PER_OCTAVE + 1;
const FRAC_BITS = 20 - PER_OCTAVE_BITS;
const FRAC_SCALE = 1 / (1 << FRAC_BITS);

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer); // u32[1]: high word on little-endian hosts

export interface CurveTables {
  attract: Float64Array;
  repel: Float64Array;
  a: number;
  b: number;
  gamma: number;
}

export function curveTables(a: number, b: number, gamma: number): CurveTables {
  const attract = new Float64Array(SIZE);
  const repel = new Float64Array(SIZE);
  for (let i = 0; i < SIZE; i++) {
    const d2 = Math.pow(2, MIN_EXP + Math.floor(i / PER_OCTAVE)) * (1 + (i % PER_OCTAVE) / PER_OCTAVE);
    attract[i] = attractExact(d2, a, b);
    repel[i] = repelExact(d2, a, b, gamma);
  }
  return { attract, repel, a, b, gamma };
}

export function attractExact(d2: number, a: number, b: number): number {
  const pb = Math.pow(d2, b);
  return (-2 * a * b * pb) / d2 / (a * pb + 1);
}

export function repelExact(d2: number, a: number, b: number, gamma: number): number {
  return (2 * gamma * b) / ((0.001 + d2) * (a * Math.pow(d2, b) + 1));
}

/** table(d2) for d2 > 0 by interpolation; the end values outside the grid. */
export function lookup(table: Float64Array, d2: number): number {
  f64[0] = d2;
  const hi = u32[1];
  const i = ((hi >>> 20) - 1023 - MIN_EXP) * PER_OCTAVE + ((hi >>> FRAC_BITS) & (PER_OCTAVE - 1));
  if (i < 0) return table[0];
  if (i >= SIZE - 1) return table[SIZE - 1];
  const t = (hi & ((1 << FRAC_BITS) - 1)) * FRAC_SCALE;
  return table[i] + (table[i + 1] - table[i]) * t;
}
