// The engine protocol: every request the extension host (or a test) sends to the engine.
// Transport: JSON-RPC (vscode-jsonrpc) over the engine's stdio, with the binary codec in
// ./binaryCodec.ts, so Uint8Array fields travel as raw bytes, never as JSON number arrays.
// Requests carry ids; cancellation and progress are JSON-RPC's ($/cancelRequest, $/progress).
// No runtime dependencies beyond types.

import type { DType } from './dtypes';
import type { ReviewMethods } from './reviewProtocol';
import type { ProjectionMethods } from './projectionProtocol';

export const PROTOCOL_VERSION = 1;

/** One tensor entry of a (possibly sharded) model. Offsets are plain numbers (exact below 2^53). */
export interface TensorInfo {
  name: string;
  dtype: DType;
  shape: number[];
  /** [begin, end) relative to the start of the shard's data section, as written in the header. */
  dataOffsets: [number, number];
  /** Absolute byte offset of the tensor's first byte in its file (8 + header length + begin). */
  fileOffset: number;
  /** Index into ModelInfo.files of the file holding this tensor. */
  fileIndex: number;
}

export interface ModelInfo {
  /** Absolute path of what was opened (.safetensors or .safetensors.index.json). */
  path: string;
  /** The files holding tensor data (one for a plain model, the shards for an index). */
  files: { path: string; size: number; headerLength: number }[];
  /** `__metadata__` of a single file (of the index's "metadata" for sharded models), or null. */
  metadata: Record<string, string> | null;
  tensors: TensorInfo[];
}

export interface Histogram {
  /** Equal-width bins over [min, max] of finite values. */
  min: number;
  max: number;
  counts: number[];
}

export interface TensorStats {
  numel: number;
  nan: number;
  inf: number;
  zeros: number;
  /** null when no value is finite. Population std over finite values, accumulated in float64. */
  min: number | null;
  max: number | null;
  mean: number | null;
  std: number | null;
  histogram: Histogram;
  /** Approximate quantiles of finite values: [p, value] with p in [0, 1]. */
  quantiles: [number, number][];
}

/** A numpy-like slice string resolved to a 2-D view of the tensor. */
export interface SliceView {
  /** The normalised slice string, e.g. "[0, :, 10:20]". */
  slice: string;
  /** Resulting 2-D shape [rows, cols] (1-D results are [1, n]; scalars [1, 1]). */
  rows: number;
  cols: number;
  /** Which tensor dimension maps to rows / cols (-1 when the view has a singleton axis). */
  rowDim: number;
  colDim: number;
}

/** A viewport in view coordinates: rows [row0, row1), cols [col0, col1). */
export interface Viewport {
  row0: number;
  row1: number;
  col0: number;
  col1: number;
}

/** How tile values are mapped to codes 0..254 (255 marks a cell with no finite value). */
export type TileRange = { kind: 'auto' } | { kind: 'symmetric' } | { kind: 'fixed'; lo: number; hi: number };

export const TILE_NO_VALUE = 255;
export const TILE_LEVELS = 255; // codes 0..254

export interface TileRequest {
  modelId: string;
  tensor: string;
  slice: string;
  viewport: Viewport;
  /** Upper bound on the cells of the tile, normally the pixels it will cover. */
  maxRows: number;
  maxCols: number;
  range: TileRange;
  /** Which per-cell aggregates to return; 'mean' is always present. */
  withMinMax?: boolean;
}

export interface Tile {
  /** The viewport actually covered (clamped to the view). */
  viewport: Viewport;
  rows: number;
  cols: number;
  /** Elements per cell along rows / cols (1 and 1 means exact values). */
  cellRows: number;
  cellCols: number;
  exact: boolean;
  /** Value range that codes 0..254 span linearly: value = lo + code * (hi - lo) / 254. */
  lo: number;
  hi: number;
  /** rows x cols row-major codes of the cell means (TILE_NO_VALUE where no finite value). */
  mean: Uint8Array;
  min?: Uint8Array;
  max?: Uint8Array;
}

/** Exact information about one element (hover, click). */
export interface ElementInfo {
  /** Full N-D index in the tensor. */
  index: number[];
  /** Exact decoded value, formatted without loss ("NaN", "Infinity", "1.5+2j" for C64, "true"). */
  text: string;
  /** Numeric value (NaN / ±Infinity possible; modulus for C64). */
  value: number;
  /** Absolute byte offset in its file; bitOffset is nonzero only for packed sub-byte dtypes. */
  byteOffset: number;
  bitOffset: number;
  /** Raw bytes covering the element, lowercase hex. */
  hex: string;
}

/** Summary of the cells of a region of a view (the hovered cell of a coarse tile). */
export interface RegionSummary {
  viewport: Viewport;
  count: number;
  nan: number;
  min: number | null;
  max: number | null;
  mean: number | null;
}

/** How one tensor differs between model A (before) and model B (after). */
export type TensorChange = 'unchanged' | 'changed' | 'added' | 'removed' | 'dtype' | 'shape';

/**
 * Differences of a tensor whose dtype and shape are the same in A and B but whose bytes
 * differ. Values are compared as float64 (complex C64 elements as pairs of components):
 * - `differing`: element pairs whose values differ. NaN equals NaN and -0 equals +0, so a
 *   tensor can change bytes with `differing` 0; I64/U64 beyond 2^53 compare as float64.
 * - `nonFinite`: the differing pairs where either side is NaN or ±Infinity. They have no
 *   size and are left out of every number below.
 * - `finitePairs`: pairs where both values are finite; the numbers below are over these,
 *   with Δ = B - A.
 * - `maxAbs`: max |Δ| (0 when no finite pair differs); `meanAbs`: Σ|Δ| / finitePairs
 *   (equal pairs count as 0), null when there is no finite pair.
 * - `relative`: ‖Δ‖₂ / ‖A‖₂; 0 when both are 0, null when ‖A‖₂ is 0 but ‖Δ‖₂ is not.
 * - `cosine`: cos(A, B) = A·B / (‖A‖₂ ‖B‖₂) (Re⟨A, B⟩ for complex), null when a norm is 0.
 */
export interface TensorDiffMetrics {
  differing: number;
  nonFinite: number;
  finitePairs: number;
  maxAbs: number;
  meanAbs: number | null;
  relative: number | null;
  cosine: number | null;
}

export interface TensorComparison {
  name: string;
  change: TensorChange;
  /** dtype and shape in A (null when added) and in B (null when removed). */
  a: { dtype: DType; shape: number[] } | null;
  b: { dtype: DType; shape: number[] } | null;
  /** Only for change 'changed'. */
  metrics?: TensorDiffMetrics;
}

/** Result of comparing two models tensor by tensor (matched by name). */
export interface ModelComparison {
  pathA: string;
  pathB: string;
  /** Every tensor of either model, sorted by name (code-point order). */
  tensors: TensorComparison[];
  counts: Record<TensorChange, number>;
  /** `__metadata__` keys added, removed or changed, sorted. */
  metadataChanged: string[];
  /** Tensor bytes read from both files together. */
  bytesRead: number;
}

/** A value operation on a region of a tensor's 2-D view (the editor's region edits). */
export type EditOp =
  | { kind: 'set'; value: number }
  | { kind: 'scale'; factor: number }
  | { kind: 'add'; amount: number }
  | { kind: 'clamp'; lo: number; hi: number }
  | { kind: 'zero' }
  /** Gaussian noise that depends only on (seed, element index): replaying it gives the same bytes. */
  | { kind: 'noise'; std: number; seed: number };

/**
 * One edit of an open model, as the editor records it: small, deterministic JSON (the same
 * edit of the same bytes gives the same result), so the host can keep a list of them and
 * replay it after an engine restart or from a backup. Values are rounded to the dtype.
 */
export type DocumentEdit =
  /** `op` on a rectangle of the view `slice` (the whole view when `rect` is absent). */
  | { type: 'region'; tensor: string; slice: string; rect?: Viewport; op: EditOp }
  /** Set the element at (row, col) of the view `slice` to `value`. */
  | { type: 'element'; tensor: string; slice: string; row: number; col: number; value: number }
  /** Replace raw bytes at `offset` (relative to the tensor's first byte) with `hex` (the hex view). */
  | { type: 'bytes'; tensor: string; offset: number; hex: string };

export interface EditResult {
  /** Names this edit in undoEdit / redoEdit (per open model, per engine process). */
  editId: number;
  /** One line for people, e.g. `scale [:, :] by 2` (the patch's `# op:` text). */
  summary: string;
  /** Elements whose bytes changed (0: the edit changed nothing and was not recorded). */
  changedElements: number;
  changedBytes: number;
}

/** What an open model's overlay holds now. */
export interface EditState {
  tensors: number;
  hunks: number;
  changedBytes: number;
}

/**
 * The review features' methods (patch editor, patch diff, model compare) are typed in
 * ./reviewProtocol, the clustering view's in ./projectionProtocol.
 */
export interface EngineMethods extends ReviewMethods, ProjectionMethods {
  /** Engine identity; also a liveness check. */
  hello: { params: Record<string, never>; result: { protocol: number; version: string; pid: number } };
  /** Open a .safetensors file or a *.safetensors.index.json; header-only. */
  open: { params: { path: string }; result: { modelId: string; info: ModelInfo } };
  close: { params: { modelId: string }; result: null };
  /** Streamed statistics; reports progress as { done, total } bytes when given a workDoneToken. */
  stats: { params: { modelId: string; tensor: string; bins?: number } & WorkDoneParams; result: TensorStats };
  /** Resolve and validate a slice string for a tensor. */
  slice: { params: { modelId: string; tensor: string; slice: string }; result: SliceView };
  tile: { params: TileRequest; result: Tile };
  /** Exact element at (row, col) of a slice view. */
  element: { params: { modelId: string; tensor: string; slice: string; row: number; col: number }; result: ElementInfo };
  /** Aggregates over a region of a view (for hover over a coarse cell). */
  region: { params: { modelId: string; tensor: string; slice: string; viewport: Viewport }; result: RegionSummary };
  /** Raw bytes of a tensor, byte range relative to the tensor's first byte (hex view). */
  bytes: {
    /** `decode`: also return the decoded values of the whole elements in the range (shortest text that reads back in the dtype). */
    params: { modelId: string; tensor: string; start: number; end: number; decode?: boolean };
    result: { start: number; data: Uint8Array; values?: string[] };
  };
  /** Compare two models by path (A before, B after); progress { done, total } in bytes read. */
  compare: { params: { pathA: string; pathB: string } & WorkDoneParams; result: ModelComparison };

  // ---- Editing. An opened model is its base file seen through an overlay of edits: every
  // read above (stats, tile, element, bytes...) sees the edits. ----
  /** Apply an edit to the overlay; it is kept (by editId) for undo and redo. */
  edit: { params: { modelId: string; edit: DocumentEdit }; result: EditResult };
  /** Take back an applied edit (its bytes must still be what it wrote: undo in reverse order). */
  undoEdit: { params: { modelId: string; editId: number }; result: EditState };
  /** Apply an undone edit again. */
  redoEdit: { params: { modelId: string; editId: number }; result: EditState };
  /** Drop every edit (and every kept editId): the overlay shows the base again. */
  discardEdits: { params: { modelId: string }; result: EditState };
  /** Write the overlay as a .stpatch of the base (atomic); an empty overlay gives an empty patch. */
  savePatch: { params: { modelId: string; path: string }; result: EditState & { path: string; summary: string } };
  /** Replace the overlay with a saved patch after checking that it fits the base (forgets kept edits). */
  loadPatch: { params: { modelId: string; path: string }; result: EditState & { summary: string } };
  /** Write base + overlay as a new model at `path` (atomic; never the base itself); progress in bytes of the base. */
  bake: { params: { modelId: string; path: string } & WorkDoneParams; result: EditState & { path: string; summary: string } };
}

export type EngineMethod = keyof EngineMethods;
export type ParamsOf<M extends EngineMethod> = EngineMethods[M]['params'];
export type ResultOf<M extends EngineMethod> = EngineMethods[M]['result'];

/** Progress payload of long requests (the `value` of a $/progress notification). */
export interface EngineProgress {
  done: number;
  total: number;
  message?: string;
}

/**
 * Progress follows JSON-RPC's work-done convention (as in LSP): a request that reports
 * progress takes an optional `workDoneToken` chosen by the caller (unique among its pending
 * requests); the engine then sends `$/progress` notifications { token, value } with that
 * token while the request runs (throttled; the last one has done === total). Without a
 * token no progress is sent.
 */
export interface WorkDoneParams {
  workDoneToken?: string | number;
}

export const PROGRESS_NOTIFICATION = '$/progress';

export interface ProgressNotificationParams {
  token: string | number;
  value: EngineProgress;
}

/** Error codes in JSON-RPC error responses. `message` is always one line, fit for the user. */
export const EngineErrorCode = {
  BadInput: 2, // malformed file, unknown tensor, bad slice, ...
  NotFound: 3, // unknown model id
  Cancelled: -32800, // JSON-RPC RequestCancelled
  Internal: -32603,
} as const;
