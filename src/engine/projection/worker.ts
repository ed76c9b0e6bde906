// Worker-thread entry: fits a projection off the engine's main thread, so the engine keeps
// answering requests (progress goes back as messages, cancellation is worker.terminate()),
// or runs the second part of a parallel layout (layout.ts).
// Bundled as dist/projectionWorker.js; run from source (tests) through tsx.
import { parentPort, workerData } from 'node:worker_threads';
import { UserError } from '../errors';
import { openModel } from '../safetensors/model';
import { runLayoutWorker } from './layout';
import { fitProjection, type Projection } from './projection';
import { matrixSource, tensorSource } from './rowSource';
import type { WorkerJob, WorkerMessage } from './inWorker';
import type { ProjectionProgress } from './types';

async function main(job: Exclude<WorkerJob, { kind: 'layout' }>): Promise<Projection> {
  const ctl = {
    onProgress: (progress: ProjectionProgress) => {
      const message: WorkerMessage = { type: 'progress', progress };
      parentPort!.postMessage(message);
    },
  };
  if (job.kind === 'matrix') {
    return fitProjection(matrixSource({ data: job.data, rows: job.rows, cols: job.cols }, job.label), job.options, ctl);
  }
  const model = await openModel(job.path);
  try {
    return await fitProjection(tensorSource(model, job.tensor, job.edits), job.options, ctl);
  } finally {
    await model.close();
  }
}

const job = workerData as WorkerJob;
if (job.kind === 'layout') {
  runLayoutWorker(job.shared, () => parentPort!.postMessage('ready'));
} else {
  runFit(job);
}

function runFit(job: Exclude<WorkerJob, { kind: 'layout' }>): void {
main(job).then(
  (projection) => {
    const buffers: ArrayBufferView[] = [projection.embedding, projection.space.data, projection.scaler.mean, projection.scaler.scale];
    if (projection.pca) buffers.push(projection.pca.components, projection.pca.explainedVariance);
    if (projection.knn) buffers.push(projection.knn.indices, projection.knn.distances);
    const message: WorkerMessage = { type: 'done', projection };
    parentPort!.postMessage(message, [...new Set(buffers.map((b) => b.buffer as ArrayBuffer))]);
  },
  (err: unknown) => {
    const message: WorkerMessage = {
      type: 'error',
      user: err instanceof UserError,
      message: err instanceof Error ? err.message : String(err),
      stack: err instanceof Error ? err.stack : undefined,
    };
    parentPort!.postMessage(message);
  },
);
}
