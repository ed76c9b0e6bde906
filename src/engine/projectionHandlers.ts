// The engine methods of the clustering view (src/shared/projectionProtocol.ts): a 2-D
// tensor's rows opened by path under a projectionId, with the tokens of a tokenizer.json
// lying next to the model; the projection fitted in a worker (progress by phase,
// cancellable) and kept for saving; and per-row data on demand: a row's values, its exact
// cosine neighbours, the cosine of two rows, colour values, token strings and token search.
// EngineSession (server.ts) serves these next to its own methods.
//
// The rows are read from the file as it is on disk (the projection worker reopens it by
// path), not through an editor's unsaved edits.

import { basename, resolve } from 'node:path';
import { ResponseError } from 'vscode-jsonrpc/node';
import { EngineErrorCode } from '../shared/protocol';
import type { ProjectionFitOptions, ProjectionMethods, ProjectionRowsInfo, RowColoring } from '../shared/projectionProtocol';
import { UserError } from './errors';
import { projectRows, saveProjection, tensorSource, type Projection, type RowSource } from './projection/index';
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

/** One opened tensor: its rows, its tokens, and what was computed from them. */
interface Entry {
  model: Model;
  source: RowSource;
  info: ProjectionRowsInfo;
  /** tokens[i] labels row i (i < tokens.length <= rows); null without a fitting tokenizer.json. */
  tokens: string[] | null;
  tokenIndex?: TokenIndex;
  projection?: Projection;
  /** The exact cosine neighbour search (keeps the rows in memory after its first scan when they fit). */
  scanner: CosineScanner;
}

const MAX_NEIGHBORS = 1000;
const MAX_ROW_POINTS = 16384;
const MAX_SEARCH_RESULTS = 500;

export class ProjectionSession {
  private readonly entries = new Map<string, Entry>();
  private nextId = 1;

  readonly handlers: ProjectionHandlers = {
    projectionOpen: async ({ path, tensor }) => {
      requireString(path, 'path');
      requireString(tensor, 'tensor');
      const model = await openModel(resolve(path));
      try {
        const source = tensorSource(model, tensor);
        const t = model.tensor(tensor);
        const projectionId = `v${this.nextId++}`;
        const info: ProjectionRowsInfo = { projectionId, path: model.info.path, tensor, dtype: t.dtype, rows: source.rows, cols: source.cols, tokens: null };
        let tokens: string[] | null = null;
        try {
          const found = await readTokenizerNextTo(model.info.path);
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
        this.entries.set(projectionId, { model, source, info, tokens, scanner: new CosineScanner(source) });
        return info;
      } catch (err) {
        await model.close();
        throw err;
      }
    },

    projectionClose: async ({ projectionId }) => {
      const entry = this.entries.get(projectionId);
      this.entries.delete(projectionId);
      await entry?.model.close();
      return null;
    },

    projectionFit: async ({ projectionId, options }, ctx) => {
      const entry = this.entry(projectionId);
      const projection = await projectRows(entry.model, entry.info.tensor, fitOptions(options), {
        signal: ctx.signal,
        onProgress: (p) => ctx.progress(p.done, p.total, p.phase),
      });
      entry.projection = projection;
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
      await saveProjection(target, entry.projection, { source_model: basename(entry.info.path), source_tensor: entry.info.tensor });
      return { path: target };
    },

    projectionRow: async ({ projectionId, row, maxPoints }) => {
      const entry = this.entry(projectionId);
      const r = checkRow(entry.source, row);
      const points = Number.isInteger(maxPoints) ? Math.min(Math.max(maxPoints, 1), MAX_ROW_POINTS) : 1024;
      const values = await readRow(entry.source, r);
      const { bucket, lo, hi } = bucketRow(values, points);
      return { row: r, cols: values.length, bucket, lo: bytesOf(lo), hi: bytesOf(hi), norm: l2Norm(values) };
    },

    projectionNeighbors: async ({ projectionId, row, k }, ctx) => {
      const entry = this.entry(projectionId);
      const r = checkRow(entry.source, row);
      if (!Number.isInteger(k) || k < 1 || k > MAX_NEIGHBORS) throw new UserError(`k must be an integer from 1 to ${MAX_NEIGHBORS}, not ${JSON.stringify(k)}`);
      const { indices, distances } = await entry.scanner.nearest(r, k, ctx.signal);
      return { row: r, indices: bytesOf(indices), distances: bytesOf(distances) };
    },

    projectionCosine: async ({ projectionId, a, b }) => {
      const entry = this.entry(projectionId);
      const [ra, rb] = [checkRow(entry.source, a), checkRow(entry.source, b)];
      return { cosine: cosine(await readRow(entry.source, ra), await readRow(entry.source, rb)) };
    },

    projectionColors: async ({ projectionId, coloring }, ctx) => {
      const entry = this.entry(projectionId);
      if (typeof coloring !== 'object' || coloring === null) throw new UserError('coloring must be { by: "norm" } or { by: "column", column }');
      const values = await rowColorValues(entry.source, coloring, { signal: ctx.signal, onProgress: (p) => ctx.progress(p.done, p.total) });
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

  async closeAll(): Promise<void> {
    const entries = [...this.entries.values()];
    this.entries.clear();
    await Promise.allSettled(entries.map((e) => e.model.close()));
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
