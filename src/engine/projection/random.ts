// A small seeded PRNG (xoshiro128**), so that a projection is the same for the same seed on
// every machine and in every process; Math.random cannot be seeded. The state lives in an
// Int32Array: 32-bit values in object fields would be boxed as heap numbers on every step.

export class Random {
  private readonly s = new Int32Array(4);

  constructor(seed: number) {
    // splitmix32 spreads any integer seed over the 128-bit state (never all zero).
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.s[i] = z ^ (z >>> 16);
    }
    this.s[3] |= 1;
  }

  /** A uniform 32-bit integer, as a signed int32 (fast path; use uint32() for [0, 2^32)). */
  int32(): number {
    const s = this.s;
    const s1 = s[1];
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
    const t = s1 << 9;
    s[2] ^= s[0];
    s[3] ^= s1;
    s[1] = s1 ^ s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return r;
  }

  uint32(): number {
    return this.int32() >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return (this.int32() >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n) for n <= 2^32. */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Standard normal (Box-Muller; the second value is dropped for simplicity). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.float());
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
