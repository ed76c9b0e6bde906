// The webviews' shared RPC client (src/webviews/shared/hostRpc.ts): replies matched by id,
// progress routed to its request, an abort posts `cancel` and rejects at once, a late reply
// to a cancelled request is swallowed, host errors reject with their one-line message.
// The page's VS Code API is the one thing supplied here: a recorder of posted messages.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SendOptions } from '../../src/webviews/shared/hostRpc';

const posted: unknown[] = [];
let state: unknown;
Object.assign(globalThis, {
  acquireVsCodeApi: () => ({ postMessage: (m: unknown) => posted.push(m), getState: () => state, setState: (s: unknown) => (state = s) }),
  window: new EventTarget(),
});
type Rpc = typeof import('../../src/webviews/shared/hostRpc');
let rpc: Rpc;
let Client: ReturnType<typeof clientClass>;
// Imported after the globals above exist: the module acquires the API when it loads.
before(async () => {
  rpc = await import('../../src/webviews/shared/hostRpc');
  Client = clientClass(rpc);
});

function clientClass(m: Rpc) {
  return class extends m.RpcClient {
    ask(method: string, opts?: SendOptions) {
      return this.send((id) => ({ type: 'request', id, method }), opts);
    }
  };
}

test('replies resolve or reject the request with the same id, in any order; progress reaches its request', async () => {
  posted.length = 0;
  const c = new Client();
  const progress: unknown[] = [];
  const a = c.ask('a', { onProgress: (...p) => progress.push(p) });
  const b = c.ask('b');
  const [pa, pb] = posted as { id: number; method: string }[];
  assert.deepEqual([pa.method, pb.method], ['a', 'b']);
  assert.notEqual(pa.id, pb.id);
  assert.equal(c.handle({ type: 'progress', id: pa.id, done: 1, total: 4, message: 'fit' } as never), true);
  assert.equal(c.handle({ type: 'response', id: pb.id, error: 'b.safetensors: no tensor "x"' } as never), true);
  assert.equal(c.handle({ type: 'response', id: pa.id, result: 42 } as never), true);
  assert.equal(await a, 42);
  await assert.rejects(b, (e: Error) => e instanceof rpc.RequestError && e.message === 'b.safetensors: no tensor "x"');
  assert.deepEqual(progress, [[1, 4, 'fit']]);
  assert.equal(c.handle({ type: 'model', id: pa.id } as never), false, 'other messages are left to the view');
});

test('an abort posts cancel and rejects at once; the late reply is ignored; an aborted signal sends nothing', async () => {
  posted.length = 0;
  const c = new Client();
  const abort = new AbortController();
  const p = c.ask('slow', { signal: abort.signal });
  const { id } = posted[0] as { id: number };
  abort.abort();
  await assert.rejects(p, (e) => rpc.isCancelled(e));
  assert.deepEqual(posted[1], { type: 'cancel', id });
  assert.equal(c.handle({ type: 'response', id, result: 1 } as never), true);
  await assert.rejects(c.ask('never', { signal: abort.signal }), (e) => rpc.isCancelled(e));
  assert.equal(posted.length, 2);
});

test('view state patches merge into what VS Code keeps', () => {
  state = undefined;
  assert.deepEqual(rpc.loadState(), {});
  rpc.saveState<{ a: number; b: string }>({ a: 1 });
  rpc.saveState<{ a: number; b: string }>({ b: 'x' });
  assert.deepEqual(rpc.loadState(), { a: 1, b: 'x' });
});
