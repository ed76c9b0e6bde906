// Types shared by the projection modules.

/** A dense row-major float32 matrix held in memory. */
export interface Matrix {
  data: Float32Array;
  rows: number;
  cols: number;
}

export type Metric = 'euclidean' | 'cosine';
export const METRICS: readonly Metric[] = ['euclidean', 'cosine'];

/** Progress of one phase of a long operation. */
export interface ProjectionProgress {
  /** 'read' | 'scale' | 'pca' | 'knn' | 'graph' | 'layout' | 'transform' | 'note' */
  phase: string;
  done: number;
  total: number;
  message?: string;
}

/** Cancellation and progress for long operations. */
export interface RunControl {
  signal?: AbortSignal;
  onProgress?: (p: ProjectionProgress) => void;
}
