// The engine protocol: every request the extension host (or a test) sends to the engine.
// Transport: JSON-RPC (vscode-jsonrpc) over the engine's stdio, with the binary codec in
// ./binaryCodec.ts, so Uint8Array fields travel as raw bytes, never as JSON number arrays.
// Requests carry ids; cancellation and progress are JSON-RPC's ($/cancelRequest, $/progress).
// No runtime dependencies beyond types.

import type { DType } from './dtypes';

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

export interface EngineMethods {
  /** Engine identity; also a liveness check. */
  hello: { params: Record<string, never>; result: { protocol: number; version: string; pid: number } };
  /** Open a .safetensors file or a *.safetensors.index.json; header-only. */
  open: { params: { path: string }; result: { modelId: string; info: ModelInfo } };
  close: { params: { modelId: string }; result: null };
  /** Streamed statistics; reports progress as { done, total } bytes. */
  stats: { params: { modelId: string; tensor: string; bins?: number }; result: TensorStats };
  /** Resolve and validate a slice string for a tensor. */
  slice: { params: { modelId: string; tensor: string; slice: string }; result: SliceView };
  tile: { params: TileRequest; result: Tile };
  /** Exact element at (row, col) of a slice view. */
  element: { params: { modelId: string; tensor: string; slice: string; row: number; col: number }; result: ElementInfo };
  /** Aggregates over a region of a view (for hover over a coarse cell). */
  region: { params: { modelId: string; tensor: string; slice: string; viewport: Viewport }; result: RegionSummary };
  /** Raw bytes of a tensor, byte range relative to the tensor's first byte (hex view). */
  bytes: { params: { modelId: string; tensor: string; start: number; end: number }; result: { start: number; data: Uint8Array } };
}

export type EngineMethod = keyof EngineMethods;
export type ParamsOf<M extends EngineMethod> = EngineMethods[M]['params'];
export type ResultOf<M extends EngineMethod> = EngineMethods[M]['result'];

/** Progress notification payload sent with $/progress for long requests. */
export interface EngineProgress {
  done: number;
  total: number;
  message?: string;
}

/** Error codes in JSON-RPC error responses. `message` is always one line, fit for the user. */
export const EngineErrorCode = {
  BadInput: 2, // malformed file, unknown tensor, bad slice, ...
  NotFound: 3, // unknown model id
  Cancelled: -32800, // JSON-RPC RequestCancelled
  Internal: -32603,
} as const;
