// Runs a projection fit in a worker thread (worker.ts), with progress and cancellation:
// aborting the signal terminates the worker at once, whatever it is doing.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as nodePath from 'node:path';
import { Worker } from 'node:worker_threads';
import { CancelledError, UserError } from '../errors';
import type { LayoutShared } from './layout';
import type { Projection, ProjectionOptions } from './projection';
import type { ByteEdit } from './rowSource';
import type { ProjectionProgress, RunControl } from './types';

export type WorkerJob =
  /** `edits`: the tensor's edited byte ranges, laid over what the worker reads from the file. */
  | { kind: 'tensor'; path: string; tensor: string; edits: readonly ByteEdit[]; options: ProjectionOptions }
  | { kind: 'matrix'; data: Float32Array; rows: number; cols: number; label: string; options: ProjectionOptions }
  | { kind: 'layout'; shared: LayoutShared };

export type WorkerMessage =
  | { type: 'progress'; progress: ProjectionProgress }
  | { type: 'done'; projection: Projection }
  | { type: 'error'; user: boolean; message: string; stack?: string };

/** Where the worker script is: bundled next to the engine bundle, or the source (tests, via tsx). */
function workerScript(): { bundled: string } | { source: string } | null {
  const bundled = nodePath.join(__dirname, 'projectionWorker.js');
  if (existsSync(bundled)) return { bundled };
  const source = nodePath.join(__dirname, 'worker.ts');
  return existsSync(source) ? { source } : null;
}

/** Whether worker threads can run here (a bundle built without the worker entry cannot). */
export function workerAvailable(): boolean {
  return workerScript() !== null;
}

export function createWorker(job: WorkerJob): Worker {
  const script = workerScript();
  if (!script) throw new Error('projection worker script not found');
  if ('bundled' in script) return new Worker(script.bundled, { workerData: job });
  // From source: a bootstrap registers tsx, then loads worker.ts.
  const tsx = createRequire(__filename).resolve('tsx/cjs/api'); // (createRequire: not for the bundler to follow)
  const bootstrap = `require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(script.source)});`;
  return new Worker(bootstrap, { eval: true, workerData: job });
}

export function fitInWorker(job: Exclude<WorkerJob, { kind: 'layout' }>, ctl: RunControl = {}): Promise<Projection> {
  const { signal, onProgress } = ctl;
  if (signal?.aborted) return Promise.reject(new CancelledError());
  return new Promise<Projection>((resolve, reject) => {
    const worker = createWorker(job);
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      fn();
      void worker.terminate();
    };
    const onAbort = () => finish(() => reject(new CancelledError()));
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'progress') onProgress?.(m.progress);
      else if (m.type === 'done') finish(() => resolve(m.projection));
      else finish(() => reject(m.user ? new UserError(m.message) : Object.assign(new Error(m.message), { stack: m.stack })));
    });
    worker.on('error', (e) => finish(() => reject(e)));
    worker.on('exit', (code) => finish(() => reject(new Error(`projection worker exited with code ${code}`))));
  });
}
