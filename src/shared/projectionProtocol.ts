// The clustering view ("Project Rows"): engine methods (merged into EngineMethods in
// ./protocol.ts) and the messages between the projection webview and the extension host.
// Types only. Per-point data (coordinates, colours, neighbour indices, token strings) is
// always binary: Uint8Array over little-endian Float32 / Int32 / Uint32 arrays.

import type { DType } from './dtypes';
import type { WorkDoneParams } from './protocol';

/** What projectionOpen found: a 2-D tensor's rows, and the tokens when a tokenizer.json fits them. */
export interface ProjectionRowsInfo {
  projectionId: string;
  /** The model as opened (a .safetensors or a .safetensors.index.json). */
  path: string;
  tensor: string;
  dtype: DType;
  rows: number;
  cols: number;
  /** Row i is token i (for i < count) when a tokenizer.json lies next to the model and its vocabulary fits the rows. */
  tokens: { count: number; model: string; file: string } | null;
  /** Why there are no tokens although a tokenizer.json is there (one line), e.g. a size mismatch. */
  tokenizerNote?: string;
  /**
   * The rows are read through the unsaved edits of the model open in a model editor
   * (projectionOpen's modelId), as they are at each request; false: the file on disk.
   */
  withEdits: boolean;
}

/** The options the view offers (the engine's ProjectionOptions, subset). */
export interface ProjectionFitOptions {
  nNeighbors: number;
  metric: 'euclidean' | 'cosine';
  /** PCA components before the neighbour search (0: none). */
  pca: number;
  components: 2 | 3;
  seed: number;
}

export interface ProjectionFitResult {
  rows: number;
  components: number;
  /** rows x components float32, row-major. */
  embedding: Uint8Array;
  /** Seconds per phase, and the ONNX Runtime provider used by the neighbour search. */
  seconds: Record<string, number>;
  provider: string;
}

/** How points are coloured: the L2 norm of each row, or the value of one column. */
export type RowColoring = { by: 'norm' } | { by: 'column'; column: number };

export interface RowColors {
  /** One float32 per row. */
  values: Uint8Array;
  /** Over the finite values (null when none is finite). */
  min: number | null;
  max: number | null;
  /** For the colour bar, e.g. "‖row‖₂" or "column 12". */
  label: string;
}

/** One row's values, at most `maxPoints` buckets: lo/hi are each bucket's min and max (equal when bucket is 1). */
export interface RowValues {
  row: number;
  cols: number;
  /** Columns per bucket. */
  bucket: number;
  /** float32 per bucket. */
  lo: Uint8Array;
  hi: Uint8Array;
  /** L2 norm of the whole row (float64). */
  norm: number;
}

export interface RowNeighbors {
  row: number;
  /** k int32 row indices, nearest first (the row itself left out). */
  indices: Uint8Array;
  /** k float32 cosine distances (1 - cosine similarity). */
  distances: Uint8Array;
}

export interface TokenMatch {
  id: number;
  token: string;
}

export interface ProjectionMethods {
  /**
   * Open a 2-D tensor of a model for projecting; looks for tokenizer.json next to the model.
   * With `modelId` (a model opened by `open`, e.g. a model editor's) the rows include its
   * current edits, and `path` is that model's; without, they are the file at `path` as on disk.
   */
  projectionOpen: { params: { path: string; tensor: string; modelId?: string }; result: ProjectionRowsInfo };
  projectionClose: { params: { projectionId: string }; result: null };
  /** Fit (standardise -> PCA -> exact kNN -> UMAP) in a worker; progress message = phase (scale, pca, knn, graph, layout). */
  projectionFit: { params: { projectionId: string; options: ProjectionFitOptions } & WorkDoneParams; result: ProjectionFitResult };
  /** Write the last fitted projection as .safetensors (atomic). */
  projectionSave: { params: { projectionId: string; path: string }; result: { path: string } };
  /** A row's values, downsampled to `maxPoints` buckets (min and max per bucket). */
  projectionRow: { params: { projectionId: string; row: number; maxPoints: number }; result: RowValues };
  /** The k nearest rows of a row by cosine, exact, over the rows' own values. */
  projectionNeighbors: { params: { projectionId: string; row: number; k: number }; result: RowNeighbors };
  /** Cosine similarity of two rows (null when either is all zeros). */
  projectionCosine: { params: { projectionId: string; a: number; b: number }; result: { cosine: number | null } };
  /** One colour value per row. */
  projectionColors: { params: { projectionId: string; coloring: RowColoring } & WorkDoneParams; result: RowColors };
  /** The token strings of rows [0, count): UTF-8 text and uint32 end offsets (binary, for hover labels). */
  projectionTokens: { params: { projectionId: string }; result: { count: number; text: Uint8Array; ends: Uint8Array } };
  /** Tokens matching `query`: exact first, then prefix, then substring (word markers Ġ ▁ ## ignored); ids < rows only. */
  projectionTokenSearch: { params: { projectionId: string; query: string; limit: number }; result: { total: number; matches: TokenMatch[] } };
}

// ---- the projection webview <-> extension host ----

/** Engine methods the projection webview may call; `projectionId` is filled in by the host. */
export const PROJECTION_VIEW_METHODS = [
  'projectionFit',
  'projectionRow',
  'projectionNeighbors',
  'projectionCosine',
  'projectionColors',
  'projectionTokens',
  'projectionTokenSearch',
] as const satisfies readonly (keyof ProjectionMethods)[];
export type ProjectionViewMethod = (typeof PROJECTION_VIEW_METHODS)[number];

export function isProjectionViewMethod(m: unknown): m is ProjectionViewMethod {
  return (PROJECTION_VIEW_METHODS as readonly unknown[]).includes(m);
}
export type ProjectionViewParams<M extends ProjectionViewMethod> = Omit<ProjectionMethods[M]['params'], 'projectionId' | 'workDoneToken'>;

export type ToProjectionView =
  /**
   * The tensor's rows are open in the engine. Again (the fit there is gone): `restarted`
   * after an engine restart, or `note` says why (e.g. the model editor was closed).
   */
  | { type: 'init'; info: ProjectionRowsInfo; fileName: string; restarted?: boolean; note?: string }
  /** The edits of the model editor the rows are read through changed (edit, undo, redo, revert, patch loaded). */
  | { type: 'modelChanged' }
  /** The tensor could not be opened (one line). */
  | { type: 'loadError'; message: string }
  | { type: 'response'; id: number; result?: unknown; error?: string }
  /** Progress of a request; `message` is the phase of a fit. */
  | { type: 'progress'; id: number; done: number; total: number; message?: string };

export type FromProjectionView =
  | { type: 'ready' }
  | { type: 'request'; id: number; method: ProjectionViewMethod; params: unknown }
  | { type: 'cancel'; id: number }
  /** Ask the host for a file name and save the fitted projection; answered by a response ({ path } or null when the user cancelled). */
  | { type: 'save'; id: number }
  | { type: 'error'; message: string };
