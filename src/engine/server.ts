// The engine process: JSON-RPC over stdin/stdout (started as `tensorscope serve` by the
// extension host). Messages use the binary codec, so Uint8Array results travel raw.
// stdout is the wire: nothing else may write there. Diagnostics go to stderr, which the
// extension host shows in its log. The process ends when stdin closes (the parent died).

import { resolve } from 'node:path';
import {
  CancellationToken,
  createMessageConnection,
  type MessageConnection,
  ProgressType,
  ResponseError,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-jsonrpc/node';
import type { DType } from '../shared/dtypes';
import { binaryContentTypeDecoder, binaryContentTypeEncoder } from '../shared/binaryCodec';
import {
  EngineErrorCode,
  type EngineMethod,
  type EngineMethods,
  type EngineProgress,
  type ParamsOf,
  PROTOCOL_VERSION,
  type ResultOf,
  type SliceView,
} from '../shared/protocol';
import { CancelledError, UserError } from './errors';
import { openModel, type Model } from './safetensors/model';
import { EditableModel } from './edit/editableModel';
import { unitFormatter, dataViewOf } from './patch/rowText';
import { unitOf } from './patch/types';
import { tensorStats } from './compute/stats';
import { resolveSlice } from './compute/slice';
import { computeTile, elementAt, regionSummary } from './compute/tile';
import { compareModels } from './compare/compareModels';
import { ENGINE_VERSION } from './version';
import { ReviewSession } from './reviewHandlers';
import { ProjectionSession } from './projectionHandlers';

/** What a request handler gets besides its params. */
interface RequestContext {
  signal: AbortSignal;
  /** Reports progress when the caller asked for it (a no-op otherwise); throttled, except when `message` (a phase) changes. */
  progress(done: number, total: number, message?: string): void;
}

type Handlers = { [M in EngineMethod]: (params: ParamsOf<M>, ctx: RequestContext) => Promise<ResultOf<M>> };

/** Largest byte range one `bytes` request may return (the hex view asks for screenfuls). */
const MAX_BYTES_PER_REQUEST = 16 << 20;
/** Minimum interval between two progress notifications of one request. */
const PROGRESS_INTERVAL_MS = 50;

const progressType = new ProgressType<EngineProgress>();

/** The open models of one engine process and the method implementations over them. */
export class EngineSession {
  /** Each open model is its base seen through the editor's overlay of edits. */
  private readonly models = new Map<string, EditableModel>();
  private nextModelId = 1;
  private readonly review = new ReviewSession();
  /** Projections may read an open model's rows through its edits (projectionOpen's modelId). */
  private readonly projections = new ProjectionSession((modelId) => this.models.get(modelId));

  readonly handlers: Handlers = {
    ...this.review.handlers,
    ...this.projections.handlers,
    hello: async () => ({ protocol: PROTOCOL_VERSION, version: ENGINE_VERSION, pid: process.pid }),

    open: async ({ path }) => {
      requireString(path, 'path');
      const model = await openModel(resolve(path));
      const modelId = `m${this.nextModelId++}`;
      this.models.set(modelId, new EditableModel(model));
      return { modelId, info: model.info };
    },

    close: async ({ modelId }) => {
      const model = this.editable(modelId);
      this.models.delete(modelId);
      await model.close();
      return null;
    },

    stats: async ({ modelId, tensor, bins }, ctx) => {
      const model = this.model(modelId);
      return tensorStats(model, model.tensor(tensor), { bins, signal: ctx.signal, onProgress: ctx.progress });
    },

    slice: async ({ modelId, tensor, slice }) => {
      const model = this.model(modelId);
      const t = model.tensor(tensor);
      requireString(slice, 'slice');
      const v = resolveSlice(t, slice);
      const view: SliceView = { slice: v.slice, rows: v.rows, cols: v.cols, rowDim: v.rowDim, colDim: v.colDim };
      return view;
    },

    tile: async (req, ctx) => {
      const model = this.model(req.modelId);
      return computeTile(model, model.tensor(req.tensor), req, ctx.signal);
    },

    element: async ({ modelId, tensor, slice, row, col }) => {
      const model = this.model(modelId);
      return elementAt(model, model.tensor(tensor), slice, row, col);
    },

    region: async ({ modelId, tensor, slice, viewport }, ctx) => {
      const model = this.model(modelId);
      return regionSummary(model, model.tensor(tensor), slice, viewport, ctx.signal);
    },

    compare: async ({ pathA, pathB }, ctx) => {
      requireString(pathA, 'pathA');
      requireString(pathB, 'pathB');
      const a = await openModel(resolve(pathA));
      try {
        const b = await openModel(resolve(pathB));
        try {
          return await compareModels(a, b, { signal: ctx.signal, onProgress: ctx.progress });
        } finally {
          await b.close();
        }
      } finally {
        await a.close();
      }
    },

    bytes: async ({ modelId, tensor, start, end, decode }) => {
      const model = this.model(modelId);
      const t = model.tensor(tensor);
      const size = t.dataOffsets[1] - t.dataOffsets[0];
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end > size) {
        throw new UserError(`byte range ${start}..${end} is outside tensor '${t.name}' (${size} bytes)`);
      }
      if (end - start > MAX_BYTES_PER_REQUEST) {
        throw new UserError(`byte range ${start}..${end} is too large (at most ${MAX_BYTES_PER_REQUEST} bytes per request)`);
      }
      const data = await model.read(t, start, end);
      return decode ? { start, data, values: decodeUnits(t.dtype, start, data) } : { start, data };
    },

    edit: async ({ modelId, edit }, ctx) => this.editable(modelId).edit(edit, ctx.signal),
    undoEdit: async ({ modelId, editId }) => this.editable(modelId).undo(editId),
    redoEdit: async ({ modelId, editId }) => this.editable(modelId).redo(editId),
    discardEdits: async ({ modelId }) => this.editable(modelId).discard(),

    savePatch: async ({ modelId, path }) => {
      requireString(path, 'path');
      return this.editable(modelId).save(path);
    },

    loadPatch: async ({ modelId, path }) => {
      requireString(path, 'path');
      return this.editable(modelId).load(resolve(path));
    },

    bake: async ({ modelId, path }, ctx) => {
      requireString(path, 'path');
      return this.editable(modelId).bake(path, ctx.progress);
    },
  };

  private editable(modelId: unknown): EditableModel {
    const model = typeof modelId === 'string' ? this.models.get(modelId) : undefined;
    if (!model) throw new ResponseError(EngineErrorCode.NotFound, `unknown model id ${JSON.stringify(modelId)} (closed, or opened by an earlier engine)`);
    return model;
  }

  /** The model as edited (reads see the overlay). */
  private model(modelId: unknown): Model {
    return this.editable(modelId).view;
  }

  async closeAll(): Promise<void> {
    const models = [...this.models.values()];
    this.models.clear();
    await Promise.allSettled([...models.map((m) => m.close()), this.review.closeAll(), this.projections.closeAll()]);
  }
}

/** Decoded values of the whole units inside [start, start + data.length) (the hex view's value column). */
function decodeUnits(dtype: DType, start: number, data: Uint8Array): string[] {
  const u = unitOf(dtype).bytes;
  const first = Math.ceil(start / u) * u - start;
  const f = unitFormatter(dtype);
  const view = dataViewOf(data);
  const values: string[] = [];
  for (let at = first; at + u <= data.length; at += u) values.push(...f.text(data, at, view).split(' '));
  return values;
}

function requireString(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string') throw new UserError(`${what} must be a string`);
}

/**
 * Maps anything a handler throws to the one-line JSON-RPC error the user may see.
 * Unexpected errors are bugs: their stack goes to stderr (the engine log), never to the user.
 */
export function toResponseError(err: unknown, method: string, signal: AbortSignal, log: (line: string) => void): ResponseError {
  if (err instanceof ResponseError) return err;
  if (err instanceof UserError) return new ResponseError(EngineErrorCode.BadInput, err.message);
  if (err instanceof CancelledError || (signal.aborted && err instanceof Error && err.name === 'AbortError')) {
    return new ResponseError(EngineErrorCode.Cancelled, 'cancelled');
  }
  const message = err instanceof Error ? err.message : String(err);
  log(`internal error in '${method}': ${err instanceof Error && err.stack ? err.stack : message}`);
  return new ResponseError(EngineErrorCode.Internal, `internal error in '${method}': ${message.split('\n')[0]}`);
}

export interface ServerOptions {
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  log?: (line: string) => void;
}

/** Creates a JSON-RPC connection that speaks the binary codec (same on both ends). */
function createBinaryConnection(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): MessageConnection {
  return createMessageConnection(
    new StreamMessageReader(input, { contentTypeDecoder: binaryContentTypeDecoder }),
    new StreamMessageWriter(output, { contentTypeEncoder: binaryContentTypeEncoder }),
  );
}

/** Serves requests until the input closes; resolves then. */
export function runServer(opts: ServerOptions = {}): Promise<void> {
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stdout;
  const log = opts.log ?? ((line: string) => process.stderr.write(line.endsWith('\n') ? line : line + '\n'));
  const session = new EngineSession();
  const connection = createBinaryConnection(input, output);

  for (const method of Object.keys(session.handlers) as EngineMethod[]) {
    connection.onRequest(method, (params: unknown, token: CancellationToken): Promise<unknown> =>
      handle(connection, session, method, (params ?? {}) as ParamsOf<typeof method>, token, log),
    );
  }
  connection.onError(([error]) => log(`connection error: ${error.message}`));

  return new Promise((resolveDone) => {
    connection.onClose(() => {
      void session.closeAll().finally(() => resolveDone());
    });
    connection.listen();
    log(`tensorscope engine ${ENGINE_VERSION} serving on stdio (pid ${process.pid}, node ${process.version})`);
  });
}

async function handle<M extends EngineMethod>(
  connection: MessageConnection,
  session: EngineSession,
  method: M,
  params: EngineMethods[M]['params'],
  token: CancellationToken,
  log: (line: string) => void,
): Promise<ResultOf<M> | ResponseError> {
  const abort = new AbortController();
  const cancelListener = token.onCancellationRequested(() => abort.abort());
  if (token.isCancellationRequested) abort.abort();
  const workDoneToken = (params as { workDoneToken?: unknown }).workDoneToken;
  let lastProgress = 0;
  let lastMessage: string | undefined;
  const ctx: RequestContext = {
    signal: abort.signal,
    progress: (done, total, message) => {
      if (typeof workDoneToken !== 'string' && typeof workDoneToken !== 'number') return;
      const now = Date.now();
      if (done < total && message === lastMessage && now - lastProgress < PROGRESS_INTERVAL_MS) return;
      lastProgress = now;
      lastMessage = message;
      void connection.sendProgress(progressType, workDoneToken, message === undefined ? { done, total } : { done, total, message });
    },
  };
  try {
    const handler = session.handlers[method] as (p: ParamsOf<M>, c: RequestContext) => Promise<ResultOf<M>>;
    return await handler(params, ctx);
  } catch (err) {
    // Returned, not thrown: vscode-jsonrpc would otherwise prefix the message.
    return toResponseError(err, method, abort.signal, log);
  } finally {
    cancelListener.dispose();
  }
}
