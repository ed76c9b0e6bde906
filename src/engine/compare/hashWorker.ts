// SHA-256 on a worker thread, so that hashing a tensor runs beside the summary numbers
// computed on the main thread instead of after them (node's hash.update is synchronous).
// Chunks travel in SharedArrayBuffers, never copied; `update` resolves when the worker is
// done with the buffer, so the caller knows when it may refill it. The worker's source is
// inline (node:crypto only), so it works the same from the bundle and from the sources.

import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
let hash = createHash('sha256');
parentPort.on('message', (m) => {
  if (m.type === 'update') {
    hash.update(new Uint8Array(m.buffer, 0, m.length));
    parentPort.postMessage({ type: 'updated', id: m.id });
  } else if (m.type === 'digest') {
    parentPort.postMessage({ type: 'digest', id: m.id, hex: hash.digest('hex') });
    hash = createHash('sha256');
  }
});
`;

type Reply = { type: 'updated'; id: number } | { type: 'digest'; id: number; hex: string };

export class HashWorker {
  // No inherited execArgv: the source is plain JS and needs no loaders (e.g. tsx in tests).
  private readonly worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
  private readonly waiting = new Map<number, { resolve: (hex: string) => void; reject: (err: Error) => void }>();
  private nextId = 0;
  private failure: Error | null = null;

  constructor() {
    this.worker.on('message', (reply: Reply) => {
      const w = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      w?.resolve(reply.type === 'digest' ? reply.hex : '');
    });
    const fail = (err: Error) => {
      this.failure = err;
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', () => fail(new Error('hash worker stopped')));
  }

  /** Adds bytes [0, length) of `buffer` to the current hash; resolves when the buffer is free again. */
  async update(buffer: SharedArrayBuffer, length: number): Promise<void> {
    await this.request({ type: 'update', buffer, length });
  }

  /** The hex digest of everything added since the last digest; starts a new hash. */
  digest(): Promise<string> {
    return this.request({ type: 'digest' });
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }

  private request(message: object): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id });
    });
  }
}
