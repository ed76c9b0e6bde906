// UMAP's low-dimensional similarity curve 1 / (1 + a d^(2b)), fitted like umap-learn's
// find_ab_params: least squares against 1 for d < min_dist and exp(-(d - min_dist) / spread)
// beyond, on 300 points of [0, 3 spread]. Levenberg-Marquardt on the two parameters.

export function findAbParams(spread: number, minDist: number): { a: number; b: number } {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < 300; i++) {
    const x = (i * spread * 3) / 299;
    xs.push(x);
    ys.push(x < minDist ? 1 : Math.exp(-(x - minDist) / spread));
  }
  const cost = (a: number, b: number) => {
    let s = 0;
    for (let i = 0; i < xs.length; i++) {
      const r = 1 / (1 + a * Math.pow(xs[i], 2 * b)) - ys[i];
      s += r * r;
    }
    return s;
  };
  // scipy's curve_fit starts from (1, 1).
  let a = 1;
  let b = 1;
  let lambda = 1e-3;
  let current = cost(a, b);
  for (let iter = 0; iter < 500; iter++) {
    // Normal equations J^T J dp = -J^T r for p = (a, b).
    let jaa = 0;
    let jab = 0;
    let jbb = 0;
    let ga = 0;
    let gb = 0;
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i];
      const p = x > 0 ? Math.pow(x, 2 * b) : 0;
      const f = 1 / (1 + a * p);
      const r = f - ys[i];
      const da = -p * f * f;
      const db = x > 0 ? -a * p * 2 * Math.log(x) * f * f : 0;
      jaa += da * da;
      jab += da * db;
      jbb += db * db;
      ga += da * r;
      gb += db * r;
    }
    let improved = false;
    for (let tries = 0; tries < 30 && !improved; tries++) {
      const m11 = jaa * (1 + lambda);
      const m22 = jbb * (1 + lambda);
      const det = m11 * m22 - jab * jab;
      const stepA = (-ga * m22 + gb * jab) / det;
      const stepB = (-gb * m11 + ga * jab) / det;
      const na = a + stepA;
      const nb = b + stepB;
      const next = na > 0 && nb > 0 ? cost(na, nb) : Infinity;
      if (next < current) {
        const done = Math.abs(current - next) <= 1e-15 * Math.max(1, current);
        a = na;
        b = nb;
        current = next;
        lambda = Math.max(lambda / 10, 1e-12);
        improved = true;
        if (done) return { a, b };
      } else {
        lambda *= 10;
      }
    }
    if (!improved) break;
  }
  return { a, b };
}
