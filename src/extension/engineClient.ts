// The extension host's side of the engine: starts `node dist/cli.js serve` on first use,
// speaks typed JSON-RPC (binary codec) to it, and survives its death. Model handles given
// out by openModel stay valid across engine restarts: after a restart each model is opened
// again, lazily, the first time a request names it, so open editors keep working.
//
// No runtime import of 'vscode': unit tests run this under plain node. Cancellation takes
// anything shaped like vscode.CancellationToken.

import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import {
  CancellationTokenSource,
  createMessageConnection,
  type MessageConnection,
  ProgressType,
  ResponseError,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-jsonrpc/node';
import { binaryContentTypeDecoder, binaryContentTypeEncoder } from '../shared/binaryCodec';
import {
  EngineErrorCode,
  type EngineMethod,
  type EngineProgress,
  type ModelInfo,
  type ParamsOf,
  PROTOCOL_VERSION,
  type ResultOf,
} from '../shared/protocol';

export interface CancellationTokenLike {
  readonly isCancellationRequested: boolean;
  onCancellationRequested(listener: () => void): { dispose(): void };
}

export interface EngineClientOptions {
  /** The engine bundle, dist/cli.js. */
  enginePath: string;
  /** Node binary; default process.execPath, run with ELECTRON_RUN_AS_NODE=1 (VS Code's Electron or code-server's node). */
  nodePath?: string;
  /** Called when the engine process stops unexpectedly; the next request starts a new one. */
  onRestart?: (reason: string) => void;
  /** Receives the engine's stderr, line by line, and the client's own notes. */
  log?: (line: string) => void;
}

/** A failed engine request; `message` is one line, fit for the user. */
export class EngineError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

/**
 * Client-side error code: the engine process stopped while the request was pending (the
 * value of vscode-jsonrpc's PendingResponseRejected, which means the same).
 */
export const ENGINE_STOPPED = -32097;

const progressType = new ProgressType<EngineProgress>();

/** One engine process and what it knows. */
interface Engine {
  child: ChildProcess;
  connection: MessageConnection;
  /** Resolves after the hello handshake. */
  ready: Promise<void>;
  /** Rejects (never resolves) when the process stops: raced against every request. */
  stopped: Promise<never>;
  /** handle -> this engine's modelId (opened lazily after a restart). */
  modelIds: Map<string, Promise<string>>;
  /** Set when we stop it ourselves (dispose), so its exit is not a crash. */
  stopping: boolean;
  /** Set once the process is gone: what `stopped` rejected with. */
  stopError?: EngineError;
  /** Marks the engine gone: fails its pending requests with `reason`. */
  gone(reason: string): void;
  /** Set when the hello handshake succeeded. */
  started: boolean;
}

/** Engines that die before their handshake this many times in a row are not started again for a while. */
const MAX_FAILED_STARTS = 3;
const FAILED_START_PAUSE_MS = 10_000;

export class EngineClient {
  private engine: Engine | undefined;
  private readonly models = new Map<string, { path: string; info: ModelInfo }>();
  private nextHandle = 1;
  private nextProgressToken = 1;
  private disposed = false;
  /** Consecutive engines that died before the handshake, and when the last one did. */
  private failedStarts = 0;
  private lastFailedStart = 0;
  private lastFailure = '';

  constructor(private readonly opts: EngineClientOptions) {}

  /** Opens (or re-opens after a restart) a model; the handle stays valid across engine restarts. */
  async openModel(path: string): Promise<{ handle: string; info: ModelInfo }> {
    const engine = await this.live();
    const { modelId, info } = await this.call(engine, 'open', { path });
    const handle = `model-${this.nextHandle++}`;
    this.models.set(handle, { path: info.path, info });
    if (this.engine === engine) engine.modelIds.set(handle, Promise.resolve(modelId));
    return { handle, info };
  }

  async closeModel(handle: string): Promise<void> {
    this.models.delete(handle);
    const engine = this.engine;
    const id = engine?.modelIds.get(handle);
    if (!engine || !id) return;
    engine.modelIds.delete(handle);
    try {
      await this.call(engine, 'close', { modelId: await id });
    } catch {
      // The model is gone either way (engine stopped, or it was never opened there).
    }
  }

  /** Typed request; params.modelId is a handle from openModel and is translated to the live engine's id. */
  async request<M extends EngineMethod>(
    method: M,
    params: ParamsOf<M>,
    token?: CancellationTokenLike,
    onProgress?: (p: EngineProgress) => void,
  ): Promise<ResultOf<M>> {
    if (token?.isCancellationRequested) throw cancelled();
    const engine = await this.live();
    let sent = params;
    if (typeof (params as { modelId?: unknown }).modelId === 'string') {
      const modelId = await this.engineModelId(engine, (params as { modelId: string }).modelId);
      sent = { ...params, modelId };
    }
    return this.call(engine, method, sent, token, onProgress);
  }

  /** Stops the engine; later requests fail. */
  dispose(): void {
    this.disposed = true;
    this.models.clear();
    this.stop();
  }

  /** Stops the current engine process (if any); the next request starts a new one. For tests and "restart engine". */
  stop(): void {
    const engine = this.engine;
    this.engine = undefined;
    if (!engine) return;
    engine.stopping = true;
    engine.gone('stopped by Tensorscope');
    engine.child.kill();
  }

  /** The pid of the running engine, if one is running. */
  get pid(): number | undefined {
    return this.engine?.child.pid;
  }

  private async live(): Promise<Engine> {
    if (this.disposed) throw new EngineError(ENGINE_STOPPED, 'the Tensorscope engine client was disposed');
    if (!this.engine && this.failedStarts >= MAX_FAILED_STARTS && Date.now() - this.lastFailedStart < FAILED_START_PAUSE_MS) {
      // Do not respawn a broken engine on every request (each would also call onRestart).
      throw new EngineError(ENGINE_STOPPED, `the Tensorscope engine fails to start (${this.lastFailure}); see the Tensorscope log`);
    }
    this.engine ??= this.start();
    const engine = this.engine;
    await Promise.race([engine.ready, engine.stopped]);
    return engine;
  }

  private engineModelId(engine: Engine, handle: string): Promise<string> {
    let id = engine.modelIds.get(handle);
    if (!id) {
      const model = this.models.get(handle);
      if (!model) throw new EngineError(EngineErrorCode.NotFound, `unknown model handle '${handle}' (closed?)`);
      // Opened by an earlier engine: open it again in this one (once, however many requests wait).
      id = this.call(engine, 'open', { path: model.path }).then((r) => r.modelId);
      engine.modelIds.set(handle, id);
      id.catch(() => {
        if (engine.modelIds.get(handle) === id) engine.modelIds.delete(handle);
      });
    }
    return id;
  }

  private async call<M extends EngineMethod>(
    engine: Engine,
    method: M,
    params: ParamsOf<M>,
    token?: CancellationTokenLike,
    onProgress?: (p: EngineProgress) => void,
  ): Promise<ResultOf<M>> {
    if (engine.stopError) throw engine.stopError;
    const disposables: { dispose(): void }[] = [];
    let sent: ParamsOf<M> = params;
    if (onProgress) {
      const workDoneToken = `progress-${this.nextProgressToken++}`;
      disposables.push(engine.connection.onProgress(progressType, workDoneToken, onProgress));
      sent = { ...params, workDoneToken };
    }
    // Cancelling tells the engine ($/cancelRequest) and settles our promise right away.
    const source = new CancellationTokenSource();
    disposables.push(source);
    let onCancel: Promise<never> | undefined;
    if (token) {
      onCancel = new Promise<never>((_, reject) => {
        disposables.push(
          token.onCancellationRequested(() => {
            source.cancel();
            reject(cancelled());
          }),
        );
      });
      onCancel.catch(() => {});
    }
    try {
      const response = engine.connection.sendRequest(method, sent, source.token) as Promise<ResultOf<M>>;
      const racers: Promise<ResultOf<M>>[] = [response, engine.stopped];
      if (onCancel) racers.push(onCancel);
      return await Promise.race(racers);
    } catch (err) {
      throw toEngineError(err);
    } finally {
      for (const d of disposables) d.dispose();
    }
  }

  private start(): Engine {
    const log = this.opts.log ?? (() => {});
    const child = spawn(this.opts.nodePath ?? process.execPath, [this.opts.enginePath, 'serve'], {
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });
    // Writes to a dead engine fail with EPIPE; the exit handler below reports the death.
    child.stdin!.on('error', (err) => log(`engine stdin: ${err.message}`));
    createInterface({ input: child.stderr! }).on('line', (line) => log(line));

    const connection = createMessageConnection(
      new StreamMessageReader(child.stdout!, { contentTypeDecoder: binaryContentTypeDecoder }),
      new StreamMessageWriter(child.stdin!, { contentTypeEncoder: binaryContentTypeEncoder }),
    );
    connection.onError(([err]) => log(`engine connection: ${err.message}`));

    let reportStop!: (err: EngineError) => void;
    const stopped = new Promise<never>((_, reject) => (reportStop = reject));
    stopped.catch(() => {});

    const engine: Engine = { child, connection, ready: Promise.resolve(), stopped, modelIds: new Map(), stopping: false, started: false, gone: () => {} };
    engine.gone = (reason: string) => {
      if (engine.stopError) return;
      engine.stopError = new EngineError(ENGINE_STOPPED, `the Tensorscope engine stopped (${reason}); it restarts on the next request`);
      reportStop(engine.stopError);
      connection.dispose();
      if (!engine.started && !engine.stopping) {
        this.failedStarts++;
        this.lastFailedStart = Date.now();
        this.lastFailure = reason;
      }
      if (this.engine === engine) this.engine = undefined;
      if (!engine.stopping && !this.disposed) {
        log(`engine stopped: ${reason}`);
        this.opts.onRestart?.(reason);
      }
    };
    child.on('error', (err) => engine.gone(`could not run ${this.opts.nodePath ?? process.execPath}: ${err.message}`));
    child.on('exit', (code, signal) => engine.gone(signal ? `killed by ${signal}` : `exit code ${code}`));

    connection.listen();
    engine.ready = this.call(engine, 'hello', {}).then((hello) => {
      if (hello.protocol !== PROTOCOL_VERSION) {
        throw new EngineError(EngineErrorCode.Internal, `engine protocol ${hello.protocol} does not match the extension's ${PROTOCOL_VERSION}; reinstall Tensorscope`);
      }
      engine.started = true;
      this.failedStarts = 0;
    });
    engine.ready.catch(() => {});
    return engine;
  }
}

function cancelled(): EngineError {
  return new EngineError(EngineErrorCode.Cancelled, 'cancelled');
}

function toEngineError(err: unknown): EngineError {
  if (err instanceof EngineError) return err;
  if (err instanceof ResponseError) return new EngineError(err.code, err.message.split('\n')[0]);
  const message = err instanceof Error ? err.message : String(err);
  return new EngineError(EngineErrorCode.Internal, `engine request failed: ${message.split('\n')[0]}`);
}
