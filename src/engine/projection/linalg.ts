// Small dense float64 linear algebra for the projection: orthonormal columns and the
// eigen-decomposition of a small symmetric matrix. The big products go to ONNX Runtime;
// these run on matrices of a few dozen columns.
import type { Random } from './random';

/**
 * Orthonormalises the columns of `a` (rows x cols, row-major) in place by modified
 * Gram-Schmidt, done twice ("twice is enough") for stability. A column that vanishes (the
 * matrix has lower rank) is replaced by a random direction orthogonal to the others, so the
 * result always has orthonormal columns.
 */
export function orthonormalizeColumns(a: Float64Array, rows: number, cols: number, rng: Random): void {
  for (let j = 0; j < cols; j++) {
    for (let attempt = 0; ; attempt++) {
      const before = columnNorm(a, rows, cols, j);
      for (let pass = 0; pass < 2; pass++) {
        for (let p = 0; p < j; p++) {
          let dot = 0;
          for (let i = 0; i < rows; i++) dot += a[i * cols + p] * a[i * cols + j];
          for (let i = 0; i < rows; i++) a[i * cols + j] -= dot * a[i * cols + p];
        }
      }
      const norm = columnNorm(a, rows, cols, j);
      if (norm > 1e-10 * Math.max(before, 1e-300) && norm > 1e-300) {
        for (let i = 0; i < rows; i++) a[i * cols + j] /= norm;
        break;
      }
      if (attempt > 8) throw new Error(`cannot complete an orthonormal basis (${rows} x ${cols})`);
      for (let i = 0; i < rows; i++) a[i * cols + j] = rng.normal();
    }
  }
}

function columnNorm(a: Float64Array, rows: number, cols: number, j: number): number {
  let s = 0;
  for (let i = 0; i < rows; i++) s += a[i * cols + j] * a[i * cols + j];
  return Math.sqrt(s);
}

/**
 * Eigen-decomposition of a symmetric n x n matrix (row-major, not modified) by cyclic Jacobi
 * rotations. Returns eigenvalues in descending order and the matching unit eigenvectors as
 * the columns of `vectors` (n x n, row-major).
 */
export function symmetricEigen(m: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(m);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let total = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const x = a[i * n + j] * a[i * n + j];
        total += x;
        if (i !== j) off += x;
      }
    }
    if (off <= 1e-30 * total || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const app = a[p * n + p];
        const aqq = a[q * n + q];
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => a[y * n + y] - a[x * n + x] || x - y);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = a[src * n + src];
    for (let k = 0; k < n; k++) vectors[k * n + dst] = v[k * n + src];
  });
  return { values, vectors };
}
