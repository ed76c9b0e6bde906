// Quality measures for the projection bench.

/**
 * Trustworthiness as scikit-learn defines it (sklearn.manifold.trustworthiness):
 *   T(k) = 1 - 2 / (n k (2n - 3k - 1)) * sum_i sum_{j in U_k(i)} (r(i, j) - k)
 * where U_k(i) are the k nearest neighbours of i in the embedding that are not among its k
 * nearest in the input, and r(i, j) is the rank of j among i's input-space neighbours.
 * Summed exactly over `sample` points (all when sample >= n) and scaled to n, so it is an
 * unbiased estimate of T; the same sample is used for every method.
 */
export function trustworthiness(x: Float32Array, d: number, embedding: Float32Array, dim: number, k: number, sample: number[]): number {
  const n = x.length / d;
  const inputDist = new Float64Array(n);
  const embedDist = new Float64Array(n);
  let penalty = 0;
  for (const i of sample) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let c = 0; c < d; c++) {
        const t = x[i * d + c] - x[j * d + c];
        s += t * t;
      }
      inputDist[j] = s;
      let e = 0;
      for (let c = 0; c < dim; c++) {
        const t = embedding[i * dim + c] - embedding[j * dim + c];
        e += t * t;
      }
      embedDist[j] = e;
    }
    inputDist[i] = -1; // the point itself ranks 0 and is excluded from both neighbour lists
    embedDist[i] = -1;
    const embedNearest = smallest(embedDist, k + 1).slice(1);
    const inputNearest = new Set(smallest(inputDist, k + 1).slice(1));
    for (const j of embedNearest) {
      if (inputNearest.has(j)) continue;
      // rank = 1 + number of other points strictly nearer to i in the input (ties: lower index first)
      let rank = 0;
      const dj = inputDist[j];
      for (let t = 0; t < n; t++) if (t !== i && (inputDist[t] < dj || (inputDist[t] === dj && t < j))) rank++;
      penalty += rank + 1 - k;
    }
  }
  const scaled = (penalty * n) / sample.length;
  return 1 - (2 / (n * k * (2 * n - 3 * k - 1))) * scaled;
}

/** Indices of the `count` smallest values (ties: lower index first), in order. */
function smallest(values: Float64Array, count: number): number[] {
  const best: number[] = [];
  for (let j = 0; j < values.length; j++) {
    if (best.length === count && !(values[j] < values[best[count - 1]])) continue;
    let p = best.length < count ? best.length : count - 1;
    best[p] = j;
    while (p > 0 && values[best[p - 1]] > values[j]) {
      best[p] = best[p - 1];
      best[p - 1] = j;
      p--;
    }
  }
  return best;
}

/**
 * Fraction of the exact k nearest neighbours of each sampled row (brute force here, float64,
 * Euclidean, ties by lower index) that `indices` (n x k, self excluded) holds.
 */
export function knnRecall(x: Float32Array, d: number, indices: Int32Array, k: number, sample: number[]): number {
  const n = x.length / d;
  const dist = new Float64Array(n);
  let found = 0;
  for (const i of sample) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let c = 0; c < d; c++) {
        const t = x[i * d + c] - x[j * d + c];
        s += t * t;
      }
      dist[j] = s;
    }
    dist[i] = -1;
    const truth = new Set(smallest(dist, k + 1).slice(1));
    for (let c = 0; c < k; c++) if (truth.has(indices[i * k + c])) found++;
  }
  return found / (sample.length * k);
}

/** Fraction of each point's 10 nearest embedded neighbours that share its label, over `sample`. */
export function labelPurity(embedding: Float32Array, dim: number, labels: Int32Array, sample: number[]): number {
  const n = labels.length;
  const dist = new Float64Array(n);
  let same = 0;
  for (const i of sample) {
    for (let j = 0; j < n; j++) {
      let e = 0;
      for (let c = 0; c < dim; c++) e += (embedding[i * dim + c] - embedding[j * dim + c]) ** 2;
      dist[j] = e;
    }
    dist[i] = -1;
    for (const j of smallest(dist, 11).slice(1)) if (labels[j] === labels[i]) same++;
  }
  return same / (sample.length * 10);
}
