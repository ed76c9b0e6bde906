// Runs a projection fit in a worker thread (worker.ts), with progress and cancellation:
// aborting the signal terminates the worker at once, whatever it is doing.
import { existsSync } from 'node:fs';
import * as nodePath from 'node:path';
import { Worker } from 'node:worker_threads';
import { CancelledError, UserError } from '../errors';
import type { LayoutShared } from './layout';
import type { Projection, ProjectionOptions } from './projection';
import type { ProjectionProgress, RunControl } from './types';

export type WorkerJob =
  | { kind: 'tensor'; path: string; tensor: string; options: ProjectionOptions }
  | { kind: 'matrix'; data: Float32Array; rows: number; cols: number; label: string; options: ProjectionOptions }
  | { kind: 'layout'; shared: LayoutShared };

export type WorkerMessage =
  | { type: 'progress'; progress: ProjectionProgress }
  | { type: 'done'; projection: Projection }
  | { type: 'error'; user: boolean; message: string; stack?: string };

/**
 * The worker: the bundled script next to the engine bundle, else (tests, running from
 * source) a bootstrap that registers tsx and loads worker.ts.
 */
export function createWorker(job: WorkerJob): Worker {
  const bundled = nodePath.join(__dirname, 'projectionWorker.js');
  if (existsSync(bundled)) return new Worker(bundled, { workerData: job });
  const source = nodePath.join(__dirname, 'worker.ts');
  const tsx = require.resolve('tsx/cjs/api');
  const bootstrap = `require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(source)});`;
  return new Worker(bootstrap, { eval: true, workerData: job });
}

export function fitInWorker(job: WorkerJob, ctl: RunControl = {}): Promise<Projection> {
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
