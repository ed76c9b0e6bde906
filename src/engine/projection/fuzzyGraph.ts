// UMAP's fuzzy simplicial set from an exact kNN graph, in typed arrays (CSR), following
// umap-learn's smooth_knn_dist / compute_membership_strengths / fuzzy union:
// - per point, rho = distance to the nearest neighbour (local connectivity 1) and sigma found
//   by bisection so that sum_j exp(-(d_j - rho) / sigma) = log2(n_neighbors);
// - membership w_ij = exp(-(d_ij - rho_i) / sigma_i) (1 within rho);
// - symmetrised by the fuzzy union W + W^T - W o W^T.
// n_neighbors counts the point itself, as in umap-learn: the kNN holds n_neighbors - 1 others.
import type { Neighbors } from './knn';

/** A symmetric sparse matrix: row i's entries are cols[rowStart[i] .. rowStart[i + 1]), sorted. */
export interface FuzzyGraph {
  n: number;
  rowStart: Int32Array;
  cols: Int32Array;
  weights: Float32Array;
}

const SMOOTH_K_TOLERANCE = 1e-5;
const MIN_K_DIST_SCALE = 1e-3;

/** sigma and rho of every point (umap-learn's smooth_knn_dist with local_connectivity = 1). */
export function smoothKnnDistances(knn: Neighbors, nNeighbors: number): { sigmas: Float64Array; rhos: Float64Array } {
  const { rows: n, k, distances } = knn;
  const target = Math.log2(nNeighbors);
  const sigmas = new Float64Array(n);
  const rhos = new Float64Array(n);
  // Means include the point's own zero distance, as umap-learn's kNN rows do.
  let total = 0;
  for (let x = 0; x < distances.length; x++) total += distances[x];
  const meanDistance = total / (n * (k + 1));
  for (let i = 0; i < n; i++) {
    const row = i * k;
    let rho = 0;
    for (let j = 0; j < k; j++) {
      if (distances[row + j] > 0) {
        rho = distances[row + j];
        break;
      }
    }
    let lo = 0;
    let hi = Infinity;
    let mid = 1;
    for (let iter = 0; iter < 64; iter++) {
      let psum = 0;
      for (let j = 0; j < k; j++) {
        const dd = distances[row + j] - rho;
        psum += dd > 0 ? Math.exp(-dd / mid) : 1;
      }
      if (Math.abs(psum - target) < SMOOTH_K_TOLERANCE) break;
      if (psum > target) {
        hi = mid;
        mid = (lo + hi) / 2;
      } else {
        lo = mid;
        mid = hi === Infinity ? mid * 2 : (lo + hi) / 2;
      }
    }
    let rowMean = 0;
    for (let j = 0; j < k; j++) rowMean += distances[row + j];
    rowMean /= k + 1;
    const floor = MIN_K_DIST_SCALE * (rho > 0 ? rowMean : meanDistance);
    sigmas[i] = Math.max(mid, floor);
    rhos[i] = rho;
  }
  return { sigmas, rhos };
}

export function fuzzySimplicialSet(knn: Neighbors, nNeighbors: number): FuzzyGraph {
  const { rows: n, k, indices, distances } = knn;
  const { sigmas, rhos } = smoothKnnDistances(knn, nNeighbors);

  // W in CSR, each row sorted by column.
  const rowStart = new Int32Array(n + 1);
  for (let i = 0; i <= n; i++) rowStart[i] = i * k;
  const cols = new Int32Array(n * k);
  const vals = new Float64Array(n * k);
  const order = new Int32Array(k);
  for (let i = 0; i < n; i++) {
    const row = i * k;
    for (let j = 0; j < k; j++) order[j] = j;
    order.sort((x, y) => indices[row + x] - indices[row + y]);
    for (let j = 0; j < k; j++) {
      const src = row + order[j];
      const dd = distances[src] - rhos[i];
      cols[row + j] = indices[src];
      vals[row + j] = dd <= 0 || sigmas[i] === 0 ? 1 : Math.exp(-dd / sigmas[i]);
    }
  }

  // W^T by counting sort: visiting rows in order leaves each transposed row sorted.
  const tStart = new Int32Array(n + 1);
  for (let x = 0; x < cols.length; x++) tStart[cols[x] + 1]++;
  for (let i = 0; i < n; i++) tStart[i + 1] += tStart[i];
  const tCols = new Int32Array(cols.length);
  const tVals = new Float64Array(cols.length);
  const fill = tStart.slice(0, n);
  for (let i = 0; i < n; i++) {
    for (let x = rowStart[i]; x < rowStart[i + 1]; x++) {
      const at = fill[cols[x]]++;
      tCols[at] = i;
      tVals[at] = vals[x];
    }
  }

  // Fuzzy union, row by row: merge the sorted rows of W and W^T.
  const outStart = new Int32Array(n + 1);
  const outCols = new Int32Array(2 * cols.length);
  const outWeights = new Float32Array(2 * cols.length);
  let m = 0;
  for (let i = 0; i < n; i++) {
    let a = rowStart[i];
    let b = tStart[i];
    const aEnd = rowStart[i + 1];
    const bEnd = tStart[i + 1];
    while (a < aEnd || b < bEnd) {
      let col: number;
      let w: number;
      if (b >= bEnd || (a < aEnd && cols[a] < tCols[b])) {
        col = cols[a];
        w = vals[a++];
      } else if (a >= aEnd || tCols[b] < cols[a]) {
        col = tCols[b];
        w = tVals[b++];
      } else {
        col = cols[a];
        w = vals[a] + tVals[b] - vals[a] * tVals[b];
        a++;
        b++;
      }
      if (w > 0) {
        outCols[m] = col;
        outWeights[m++] = w;
      }
    }
    outStart[i + 1] = m;
  }
  return { n, rowStart: outStart, cols: outCols.slice(0, m), weights: outWeights.slice(0, m) };
}
