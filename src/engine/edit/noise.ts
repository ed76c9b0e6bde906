// Seeded Gaussian noise that depends only on (seed, element index): a counter-based generator
// (murmur3's 32-bit finaliser over the seed and the index) feeding Box-Muller. The noise an
// element gets does not depend on which rectangle or slice selected it, or on the order in
// which elements are visited, so the same seed always gives the same edit.

function fmix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** 32 random bits for (seed, index, stream). seed: any safe integer; index < 2^53. */
export function hashBits(seed: number, index: number, stream: number): number {
  const seedLo = seed >>> 0;
  const seedHi = Math.floor(seed / 4294967296) >>> 0;
  const lo = index >>> 0;
  const hi = Math.floor(index / 4294967296) >>> 0;
  let h = fmix32(seedLo ^ Math.imul(stream + 1, 0x9e3779b9));
  h = fmix32(h ^ seedHi);
  h = fmix32(h ^ lo);
  return fmix32(h ^ Math.imul(hi + 0x632be5ab, 0x85ebca6b));
}

/** A standard normal sample for element `index` (stream selects independent samples, e.g. real/imaginary). */
export function gaussian(seed: number, index: number, stream = 0): number {
  const u1 = (hashBits(seed, index, 2 * stream) + 0.5) / 4294967296; // (0, 1): log is finite
  const u2 = hashBits(seed, index, 2 * stream + 1) / 4294967296;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}
