// Review features: the .stpatch patch editor, the semantic diff of two patches and the
// comparison of two models. Engine methods (merged into EngineMethods in ./protocol.ts) and
// the messages between the review webviews and the extension host. Types only.

import type { DType } from './dtypes';
import type { ElementInfo, ModelComparison, SliceView, Tile, TileRange, Viewport, WorkDoneParams } from './protocol';

// ---- patches ----

export interface PatchBaseFile {
  /** Shard name (sharded base) or null (single file). */
  name: string | null;
  size: number;
  headerSha256: string;
}

/** A tensor a patch touches, with counts over its hunks. */
export interface PatchTensorSummary {
  name: string;
  dtype: DType;
  shape: number[];
  fileIndex: number;
  fileOffset: number;
  /** The `# op:` lines (descriptions, never executed). */
  ops: string[];
  hunks: number;
  /** Elements covered by its hunks. */
  elements: number;
  bytes: number;
}

/** A parsed patch held by the engine under `patchId` (until patchClose). */
export interface PatchOverview {
  patchId: string;
  base: PatchBaseFile[];
  /** Sorted by name. */
  tensors: PatchTensorSummary[];
  hunks: number;
  bytes: number;
}

/**
 * Where elements sit in a tensor's 2-D view: rows = the product of the leading dimensions,
 * cols = the last dimension (1-D: one row; scalar: 1 x 1). Half-open ranges; a run of
 * elements spanning several rows covers whole rows.
 */
export interface ElementRegion {
  row0: number;
  row1: number;
  col0: number;
  col1: number;
}

export interface HunkSummary {
  /** Position among the patch's hunks (sorted by tensor, then offset). */
  hunk: number;
  tensor: string;
  /** Flat element range [first, end). */
  elements: [number, number];
  /** N-D index of the first element. */
  index: number[];
  /** Byte offset relative to the tensor, and absolute in the base file. */
  offset: number;
  fileOffset: number;
  bytes: number;
  region: ElementRegion;
}

/** before = the base's bytes, after = the patch's new bytes, delta = after − before. */
export type PatchSide = 'before' | 'after' | 'delta';

/** Exact values of a run of elements (null where no hunk of the patch covers the element). */
export interface PatchValues {
  elements: [number, number];
  before: (string | null)[];
  after: (string | null)[];
  /** The run asked for was longer than the limit: only its start is here. */
  truncated: boolean;
}

export type PatchState = 'clean' | 'applied' | 'conflicts';

export interface PatchConflict {
  /** null for a file-level problem (size, header). */
  tensor: string | null;
  elements?: [number, number];
  /** One line: what was expected and what was found. */
  message: string;
}

export interface PatchCheck {
  basePath: string;
  /** clean: every hunk finds its original bytes; applied: every hunk finds its new bytes. */
  state: PatchState;
  /** The first conflicts (at most 200), and how many there are. */
  conflicts: PatchConflict[];
  conflictCount: number;
}

// ---- semantic diff of two patches (old -> new) ----

export type HunkChange = 'added' | 'removed' | 'changed';

/** Hunks of the old and the new patch whose byte ranges overlap (a cluster), or one alone. */
export interface HunkDiffEntry {
  change: HunkChange;
  tensor: string;
  /** Union of the element ranges of the hunks involved. */
  elements: [number, number];
  region: ElementRegion;
  old: HunkSummary[];
  new: HunkSummary[];
  /** Elements whose patched value differs between old and new (for `changed`; else the hunk's elements). */
  differing: number;
}

export interface TensorDiffEntry {
  name: string;
  dtype: DType;
  shape: number[];
  /** Touched by the old patch only, by the new only, or by both. */
  presence: 'old' | 'new' | 'both';
  /** The first entries (the response is capped), and how many there are. */
  entries: HunkDiffEntry[];
  entryCount: number;
  /** Hunks identical in both. */
  unchanged: number;
}

export interface PatchDiff {
  /** Both patches name the same base (same base lines). */
  sameBase: boolean;
  /** Tensors with at least one added, removed or changed hunk, sorted by name. */
  tensors: TensorDiffEntry[];
  counts: Record<HunkChange | 'unchanged', number>;
}

// ---- comparing two models ----

/** Which tensor a compare tile shows: A's, B's, or B − A. */
export type CompareSide = 'a' | 'b' | 'delta';

export interface CompareTileRequest {
  pathA: string;
  pathB: string;
  tensor: string;
  side: CompareSide;
  slice: string;
  viewport: Viewport;
  maxRows: number;
  maxCols: number;
  range: TileRange;
}

export interface CompareView extends SliceView {
  sides: CompareSide[];
}

export interface ExportPatchResult {
  tensors: number;
  hunks: number;
  bytes: number;
  /** The headers differ beyond the layout (e.g. __metadata__): the patch carries tensor bytes only. */
  headersDiffer: boolean;
}

// ---- engine methods ----

export interface ReviewMethods {
  /** Parses .stpatch text (one-line error with its line number when malformed) and keeps it. */
  patchOpen: { params: { text: string; name: string }; result: PatchOverview };
  patchClose: { params: { patchId: string }; result: null };
  /** A page of one tensor's hunks. */
  patchHunks: { params: { patchId: string; tensor: string; start: number; limit: number }; result: { total: number; hunks: HunkSummary[] } };
  /** Exact values of elements [first, end) of a tensor, before and after (at most `limit`, default 256). */
  patchValues: { params: { patchId: string; tensor: string; elements: [number, number]; limit?: number }; result: PatchValues };
  /** A heatmap tile of the patch's values in the tensor's 2-D view; elements no hunk covers have no value. */
  patchTile: {
    params: { patchId: string; tensor: string; side: PatchSide; viewport: Viewport; maxRows: number; maxCols: number; range: TileRange };
    result: Tile;
  };
  /** Does the patch fit this base? Reads only the bytes its hunks touch. */
  patchCheck: { params: { patchId: string; basePath: string }; result: PatchCheck };
  /** Writes base + patch to outPath atomically (outPath may be the base itself); nothing on conflicts. */
  patchApply: { params: { patchId: string; basePath: string; outPath: string }; result: { written: boolean; check: PatchCheck } };
  /** Writes the inverse patch to outPath atomically. */
  patchRevert: { params: { patchId: string; outPath: string }; result: { hunks: number } };
  /** new result − old result of a tensor in its 2-D view (no value where neither version has a hunk). */
  patchDiffTile: {
    params: { oldPatchId: string; newPatchId: string; tensor: string; viewport: Viewport; maxRows: number; maxCols: number; range: TileRange };
    result: Tile;
  };
  /** Hunks added, removed and changed from the old patch to the new, by tensor. */
  patchDiff: { params: { oldPatchId: string; newPatchId: string; limit?: number }; result: PatchDiff };
  /**
   * Resolves a slice (the default slice when omitted) of a tensor of A or B, and says which
   * sides can be shown: 'delta' only when both have it with the same dtype and shape.
   */
  compareView: { params: { pathA: string; pathB: string; tensor: string; slice?: string }; result: CompareView };
  compareTile: { params: CompareTileRequest; result: Tile };
  /** The element at (row, col) of the view in A and in B, and B − A. */
  compareElement: {
    params: { pathA: string; pathB: string; tensor: string; slice: string; row: number; col: number };
    result: { a: ElementInfo; b: ElementInfo; delta: number };
  };
  /** B's differences from A as a .stpatch (same layout required), written atomically. */
  exportPatch: { params: { pathA: string; pathB: string; outPath: string } & WorkDoneParams; result: ExportPatchResult };
  /**
   * The file `path` (relative to the repository root) as committed at `rev` (empty: the index),
   * in a temp file until releaseBlob. A Git LFS pointer resolves to the local LFS object, or
   * fails with a one-line message when the content is not here. A shard index (`*.json`)
   * comes with its shards as committed at `rev`: `path` is then a copy of the index naming them.
   */
  gitBlob: { params: { cwd: string; rev: string; path: string }; result: { path: string } };
  releaseBlob: { params: { path: string }; result: null };
}

// ---- webview <-> host messages of the review views ----

/** Requests a review webview may make; the host forwards them to the engine, adding ids and paths. */
export type ReviewRequest =
  | { method: 'hunks'; params: { side?: 'old' | 'new'; tensor: string; start: number; limit: number } }
  | { method: 'values'; params: { side?: 'old' | 'new'; tensor: string; elements: [number, number]; limit?: number } }
  | { method: 'patchTile'; params: { side?: 'old' | 'new'; tensor: string; which: PatchSide; viewport: Viewport; maxRows: number; maxCols: number; range: TileRange } }
  | { method: 'patchDiffTile'; params: { tensor: string; viewport: Viewport; maxRows: number; maxCols: number; range: TileRange } }
  | { method: 'compareView'; params: { tensor: string; slice?: string } }
  | { method: 'compareTile'; params: Omit<CompareTileRequest, 'pathA' | 'pathB'> }
  | { method: 'compareElement'; params: { tensor: string; slice: string; row: number; col: number } };

export type ReviewRequestMethod = ReviewRequest['method'];

/** What the patch editor shows; sent whenever the text or the base changes. */
export type PatchViewState =
  | {
      kind: 'patch';
      fileName: string;
      overview: PatchOverview;
      base: BaseState;
      /** Why nothing can be written from here (Restricted Mode, a version from git), one line; absent when Apply / Bake / Revert are offered. */
      readOnly?: string;
      note?: string;
    }
  /** The text does not parse: the one-line error (`name.stpatch:17: ...`). */
  | { kind: 'malformed'; fileName: string; message: string }
  | { kind: 'diff'; title: string; oldLabel: string; newLabel: string; oldOverview: PatchOverview; newOverview: PatchOverview; diff: PatchDiff; note?: string }
  | { kind: 'error'; fileName: string; message: string };

export type BaseState =
  /** `choose`: whether "Choose base model…" is offered (not for a version from git). */
  | { kind: 'none'; reason: string; choose: boolean }
  | { kind: 'checking'; path: string; label: string }
  | { kind: 'checked'; path: string; label: string; check: PatchCheck }
  | { kind: 'error'; path: string; label: string; message: string };

/** The comparison the compare view shows (streamed: `progress` first, then `result`). */
export interface CompareSubject {
  labelA: string;
  labelB: string;
  /** The layouts match, so the difference can be exported as a .stpatch (else why not). */
  exportable: boolean;
  exportReason?: string;
}

export type ReviewToWebview =
  | { type: 'patchState'; state: PatchViewState }
  | { type: 'compareStart'; subject: CompareSubject }
  | { type: 'compareProgress'; done: number; total: number }
  | { type: 'compareResult'; subject: CompareSubject; comparison: ModelComparison }
  /** The subject changed alone (e.g. Export became possible when the workspace was trusted). */
  | { type: 'compareSubject'; subject: CompareSubject }
  | { type: 'compareError'; message: string }
  | { type: 'busy'; action: string | null }
  | { type: 'response'; id: number; result?: unknown; error?: string }
  | { type: 'engineRestarted' };

export type ReviewAction = 'apply' | 'bake' | 'revert' | 'chooseBase' | 'recheck' | 'showText' | 'cancelCompare' | 'exportPatch' | 'compareAgain';

export type ReviewFromWebview =
  | { type: 'ready' }
  | ({ type: 'request'; id: number } & ReviewRequest)
  | { type: 'cancel'; id: number }
  | { type: 'action'; action: ReviewAction }
  | { type: 'openHunkText'; hunk: HunkSummary; side?: 'old' | 'new' };
