// The engine methods of the clustering view (src/shared/projectionProtocol.ts): a 2-D
// tensor's rows opened under a projectionId, with the tokens of a tokenizer.json lying next
// to the model; the projection fitted in a worker (progress by phase, cancellable) and kept
// for saving; and per-row data on demand: a row's values, its exact cosine neighbours, the
// cosine of two rows, colour values, token strings and token search.
// EngineSession (server.ts) serves these next to its own methods.
//
// What the rows are: opened by path, the file as it is on disk. Opened with the modelId of a
// model this engine holds open (a model editor's EditableModel), the file with that model's
// current edits of the tensor laid over it: every request takes the tensor's edits as they
// are then (edits, undo, redo, revert and a loaded patch all show), so row values, colours,
// neighbours, token cosines and a new fit see what the editor shows. The neighbour scan
// keeps the rows it read in memory, so it is replaced when the tensor's edits change.
//
// The fit runs in a worker that reopens the file by path; it is given the tensor's edited
// byte ranges (the overlay's hunks, in the tensor's own dtype) to lay over what it reads.
// That copy is at most the tensor's size in its dtype and usually a few rows, where sending
// the rows decoded as float32 would always be the whole tensor at 4 bytes an element; the
// worker still streams the file in blocks. A fit keeps the edits as they were when it
// started (the host tells the view when the model changes after that).

import { basename, resolve } from 'node:path';
import { ResponseError } from 'vscode-jsonrpc/node';
import { EngineErrorCode } from '../shared/protocol';
import type { ProjectionFitOptions, ProjectionMethods, ProjectionRowsInfo, RowColoring } from '../shared/projectionProtocol';
import { UserError } from './errors';
import type { EditableModel } from './edit/editableModel';
import type { Hunk } from './patch/types';
import { projectRows, saveProjection, tensorSource, type ByteEdit, type Projection, type RowSource } from './projection/index';
import { bucketRow, checkRow, cosine, CosineScanner, finiteRange, l2Norm, readRow, rowColorValues } from './rows/rowData';
import { openModel, type Model } from './safetensors/model';
import { readTokenizerNextTo, vocabularyFitsRows } from './tokenizer/tokenizerJson';
import { searchTokens, tokenIndex, type TokenIndex } from './tokenizer/tokenSearch';

interface Context {
  signal: AbortSignal;
  progress(done: number, total: number, message?: string): void;
}

type ProjectionHandlers = {
  [M in keyof ProjectionMethods]: (params: ProjectionMethods[M]['params'], ctx: Context) => Promise<ProjectionMethods[M]['result']>;
};

/** One opened tensor: where its rows come from, its tokens, and what was computed from them. */
interface Entry {
  info: ProjectionRowsInfo;
  /** The file this entry opened (closed with it); null when the rows are read through an open model (`modelId`). */
  own: Model | null;
  /** The open model whose edits the rows include, by id: it may be closed meanwhile. */
  modelId: string | null;
  /** The rows as of the tensor's edits last seen. */
  rows: Rows;
  /** tokens[i] labels row i (i < tokens.length <= rows); null without a fitting tokenizer.json. */
  tokens: string[] | null;
  tokenIndex?: TokenIndex;
  projection?: Projection;
  /** The edits the last fit read (for the saved file's metadata). */
  fittedEdits?: readonly ByteEdit[];
}

/** The rows with some edits of the tensor laid over the file, and the neighbour search over them. */
interface Rows {
  /** The overlay's hunks these rows were made from ([] for a file). */
  hunks: readonly Hunk[];
  edits: readonly ByteEdit[];
  source: RowSource;
  /** The exact cosine neighbour search (keeps the rows in memory after its first scan when they fit). */
  scanner: CosineScanner;
}

function rowsOf(file: Model, tensor: string, hunks: readonly Hunk[]): Rows {
  const edits = hunks.map((h) => ({ offset: h.offset, bytes: h.replacement }));
  const source = tensorSource(file, tensor, edits);
  return { hunks, edits, source, scanner: new CosineScanner(source) };
}

/** Whether two hunk lists are the same hunks (hunks are never changed in place: same objects, same bytes). */
function sameHunks(a: readonly Hunk[], b: readonly Hunk[]): boolean {
  return a === b || (a.length === b.length && a.every((h, i) => h === b[i]));
}

const MAX_NEIGHBORS = 1000;
const MAX_ROW_POINTS = 16384;
const MAX_SEARCH_RESULTS = 500;

export class ProjectionSession {
  private readonly entries = new Map<string, Entry>();
  private nextId = 1;

  /** `openModel(modelId)`: a model the engine holds open (undefined when there is none of that id). */
  constructor(private readonly openModel: (modelId: string) => EditableModel | undefined) {}

  readonly handlers: ProjectionHandlers = {
    projectionOpen: async ({ path, tensor, modelId }) => {
      requireString(tensor, 'tensor');
      let own: Model | null = null;
      let file: Model;
      let hunks: readonly Hunk[] = [];
      if (modelId !== undefined && modelId !== null) {
        requireString(modelId, 'modelId');
        const model = this.model(modelId);
        file = model.file;
        hunks = model.tensorEdits(tensor);
      } else {
        requireString(path, 'path');
        file = own = await openModel(resolve(path));
      }
      try {
        const rows = rowsOf(file, tensor, hunks);
        const { source } = rows;
        const t = file.tensor(tensor);
        const projectionId = `v${this.nextId++}`;
        const info: ProjectionRowsInfo = { projectionId, path: file.info.path, tensor, dtype: t.dtype, rows: source.rows, cols: source.cols, tokens: null, withEdits: !own };
        let tokens: string[] | null = null;
        try {
          const found = await readTokenizerNextTo(file.info.path);
          if (found) {
            const count = found.vocabulary.tokens.length;
            if (vocabularyFitsRows(count, source.rows)) {
              tokens = found.vocabulary.tokens.slice(0, source.rows);
              info.tokens = { count: tokens.length, model: found.vocabulary.model, file: found.path };
            } else {
              info.tokenizerNote = `${basename(found.path)} has ${count} tokens and ${tensor} ${source.rows} rows: rows are not labelled with tokens`;
            }
          }
        } catch (err) {
          // A broken tokenizer.json only costs the token labels; the projection still works.
          if (!(err instanceof UserError)) throw err;
          info.tokenizerNote = err.message;
        }
        this.entries.set(projectionId, { info, own, modelId: own ? null : (modelId as string), rows, tokens });
        return info;
      } catch (err) {
        await own?.close();
        throw err;
      }
    },

    projectionClose: async ({ projectionId }) => {
      const entry = this.entries.get(projectionId);
      this.entries.delete(projectionId);
      await entry?.own?.close();
      return null;
    },

    projectionFit: async ({ projectionId, options }, ctx) => {
      const entry = this.entry(projectionId);
      const { edits } = this.rows(entry);
      const projection = await projectRows(this.file(entry), entry.info.tensor, fitOptions(options), {
        signal: ctx.signal,
        onProgress: (p) => ctx.progress(p.done, p.total, p.phase),
      }, edits);
      entry.projection = projection;
      entry.fittedEdits = edits;
      return {
        rows: projection.rows,
        components: projection.options.components,
        embedding: bytesOf(projection.embedding),
        seconds: projection.stats.seconds,
        provider: projection.stats.provider,
      };
    },

    projectionSave: async ({ projectionId, path }) => {
      const entry = this.entry(projectionId);
      requireString(path, 'path');
      if (!entry.projection) throw new UserError(`no projection of ${entry.info.tensor} has been fitted yet`);
      const target = resolve(path);
      const metadata: Record<string, string> = { source_model: basename(entry.info.path), source_tensor: entry.info.tensor };
      const edits = entry.fittedEdits ?? [];
      if (edits.length) metadata.source_edits = `fitted with the model editor's edits: ${edits.length} byte ranges, ${edits.reduce((n, e) => n + e.bytes.length, 0)} bytes`;
      await saveProjection(target, entry.projection, metadata);
      return { path: target };
    },

    projectionRow: async ({ projectionId, row, maxPoints }) => {
      const { source } = this.rows(this.entry(projectionId));
      const r = checkRow(source, row);
      const points = Number.isInteger(maxPoints) ? Math.min(Math.max(maxPoints, 1), MAX_ROW_POINTS) : 1024;
      const values = await readRow(source, r);
      const { bucket, lo, hi } = bucketRow(values, points);
      return { row: r, cols: values.length, bucket, lo: bytesOf(lo), hi: bytesOf(hi), norm: l2Norm(values) };
    },

    projectionNeighbors: async ({ projectionId, row, k }, ctx) => {
      const { source, scanner } = this.rows(this.entry(projectionId));
      const r = checkRow(source, row);
      if (!Number.isInteger(k) || k < 1 || k > MAX_NEIGHBORS) throw new UserError(`k must be an integer from 1 to ${MAX_NEIGHBORS}, not ${JSON.stringify(k)}`);
      const { indices, distances } = await scanner.nearest(r, k, ctx.signal);
      return { row: r, indices: bytesOf(indices), distances: bytesOf(distances) };
    },

    projectionCosine: async ({ projectionId, a, b }) => {
      const { source } = this.rows(this.entry(projectionId));
      const [ra, rb] = [checkRow(source, a), checkRow(source, b)];
      return { cosine: cosine(await readRow(source, ra), await readRow(source, rb)) };
    },

    projectionColors: async ({ projectionId, coloring }, ctx) => {
      const { source } = this.rows(this.entry(projectionId));
      if (typeof coloring !== 'object' || coloring === null) throw new UserError('coloring must be { by: "norm" } or { by: "column", column }');
      const values = await rowColorValues(source, coloring, { signal: ctx.signal, onProgress: (p) => ctx.progress(p.done, p.total) });
      return { values: bytesOf(values), ...finiteRange(values), label: coloringLabel(coloring) };
    },

    projectionTokens: async ({ projectionId }) => {
      const entry = this.entry(projectionId);
      const tokens = entry.tokens ?? [];
      const encoder = new TextEncoder();
      const parts = tokens.map((t) => encoder.encode(t));
      const ends = new Uint32Array(parts.length);
      let total = 0;
      parts.forEach((p, i) => (ends[i] = total += p.length));
      const text = new Uint8Array(total);
      parts.forEach((p, i) => text.set(p, ends[i] - p.length));
      return { count: tokens.length, text, ends: bytesOf(ends) };
    },

    projectionTokenSearch: async ({ projectionId, query, limit }) => {
      const entry = this.entry(projectionId);
      requireString(query, 'query');
      if (!entry.tokens) throw new UserError(`${entry.info.tensor} has no tokens (no tokenizer.json that fits its rows next to the model)`);
      entry.tokenIndex ??= tokenIndex(entry.tokens);
      const n = Number.isInteger(limit) ? Math.min(Math.max(limit, 1), MAX_SEARCH_RESULTS) : 50;
      return searchTokens(entry.tokenIndex, query, n);
    },
  };

  private entry(projectionId: unknown): Entry {
    const entry = typeof projectionId === 'string' ? this.entries.get(projectionId) : undefined;
    if (!entry) throw new ResponseError(EngineErrorCode.NotFound, `unknown projection id ${JSON.stringify(projectionId)} (closed, or opened by an earlier engine)`);
    return entry;
  }

  private model(modelId: string): EditableModel {
    const model = this.openModel(modelId);
    if (!model) throw new ResponseError(EngineErrorCode.NotFound, `unknown model id ${JSON.stringify(modelId)} (closed, or opened by an earlier engine)`);
    return model;
  }

  /** The entry's file, without edits. */
  private file(entry: Entry): Model {
    return entry.own ?? this.model(entry.modelId!).file;
  }

  /** The entry's rows with the tensor's edits as they are now (new rows, and a new neighbour scan, when they changed). */
  private rows(entry: Entry): Rows {
    if (entry.modelId === null) return entry.rows;
    const model = this.openModel(entry.modelId);
    if (!model) throw new UserError(`${basename(entry.info.path)} is no longer open in a model editor: open the projection of ${entry.info.tensor} again`);
    const hunks = model.tensorEdits(entry.info.tensor);
    if (!sameHunks(hunks, entry.rows.hunks)) entry.rows = rowsOf(model.file, entry.info.tensor, hunks);
    return entry.rows;
  }

  async closeAll(): Promise<void> {
    const entries = [...this.entries.values()];
    this.entries.clear();
    await Promise.allSettled(entries.map((e) => e.own?.close()));
  }
}

/** The view's options, checked here (the projection checks ranges). */
function fitOptions(o: ProjectionFitOptions): ProjectionFitOptions {
  if (typeof o !== 'object' || o === null) throw new UserError('options must be an object');
  const { nNeighbors, metric, pca, components, seed } = o;
  return { nNeighbors, metric, pca, components, seed };
}

function coloringLabel(c: RowColoring): string {
  return c.by === 'norm' ? '‖row‖₂' : `column ${c.column}`;
}

function bytesOf(a: Float32Array | Int32Array | Uint32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function requireString(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string') throw new UserError(`${what} must be a string`);
}
