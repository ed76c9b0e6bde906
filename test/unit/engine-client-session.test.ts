// EngineClient under plain node against the real engine process: typed requests, progress,
// binary results, one-line errors, cancellation, and surviving the engine's death.
import { test, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildEngine } from './cli-build';
import { FIXTURES, readHeader, REF_MIXED, sparseModel } from './cli-run';
import { EngineClient, EngineError, ENGINE_STOPPED, type CancellationTokenLike } from '../../src/extension/engineClient';
import { EngineErrorCode, type EngineProgress } from '../../src/shared/protocol';

/** Tests fail, not hang, when the engine misbehaves. */
const LIMIT = { timeout: 20_000 };

const tmp = mkdtempSync(join(tmpdir(), 'tensorscope-client-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A cancellation token like vscode's, driven by the test. */
function cancellation(): { token: CancellationTokenLike; cancel(): void } {
  const listeners = new Set<() => void>();
  let cancelled = false;
  return {
    token: {
      get isCancellationRequested() {
        return cancelled;
      },
      onCancellationRequested(listener) {
        listeners.add(listener);
        return { dispose: () => listeners.delete(listener) };
      },
    },
    cancel() {
      cancelled = true;
      for (const l of [...listeners]) l();
    },
  };
}

async function newClient(t: TestContext, extra: { onRestart?: (reason: string) => void } = {}) {
  const log: string[] = [];
  const client = new EngineClient({ enginePath: await buildEngine(), log: (l) => log.push(l), ...extra });
  t.after(() => client.dispose());
  return { client, log };
}

async function rejectsWith(p: Promise<unknown>, code: number, message?: RegExp): Promise<EngineError> {
  const err = await p.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof EngineError, `EngineError, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  assert.ok(!err.message.includes('\n'), 'one line');
  if (message) assert.match(err.message, message);
  return err;
}

test('open, stats with progress, tile, element, bytes', LIMIT, async (t) => {
  const { client, log } = await newClient(t);
  const { handle, info } = await client.openModel(REF_MIXED);
  assert.equal(info.tensors.length, 16);
  assert.deepEqual(info.metadata, { format: 'pt', note: 'reference' });

  const progress: EngineProgress[] = [];
  const stats = await client.request('stats', { modelId: handle, tensor: 'embed.weight' }, undefined, (p) => progress.push(p));
  const ref = JSON.parse(readFileSync(join(FIXTURES, 'ref_mixed.stats.json'), 'utf8'))['embed.weight'];
  assert.deepEqual([stats.numel, stats.min, stats.max], [ref.numel, ref.min, ref.max]);
  assert.ok(progress.length >= 1, 'progress reported');
  const last = progress[progress.length - 1];
  assert.equal(last.done, last.total);
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i].done >= progress[i - 1].done);

  const tile = await client.request('tile', {
    modelId: handle,
    tensor: 'layers.1.f64',
    slice: '[:, :]',
    viewport: { row0: 0, row1: 5, col0: 0, col1: 7 },
    maxRows: 64,
    maxCols: 64,
    range: { kind: 'fixed', lo: -4, hi: 4 },
  });
  assert.ok(tile.mean instanceof Uint8Array);
  assert.equal(Object.getPrototypeOf(tile.mean), Uint8Array.prototype);
  assert.deepEqual([tile.rows, tile.cols, tile.mean.length, tile.exact], [5, 7, 35, true]);
  const { header, dataStart, bytes } = readHeader(REF_MIXED);
  const f64 = header['layers.1.f64'];
  for (let i = 0; i < 35; i++) {
    const v = bytes.readDoubleLE(dataStart + f64.data_offsets[0] + i * 8);
    assert.ok(Math.abs(tile.lo + (tile.mean[i] * (tile.hi - tile.lo)) / 254 - v) <= (tile.hi - tile.lo) / 254 / 2 + 1e-12, `cell ${i}`);
  }

  const element = await client.request('element', { modelId: handle, tensor: 'layers.1.f64', slice: '[:, :]', row: 2, col: 3 });
  assert.equal(Number(element.text), bytes.readDoubleLE(dataStart + f64.data_offsets[0] + (2 * 7 + 3) * 8));

  const q = header['layers.0.attn.q.weight'];
  const raw = await client.request('bytes', { modelId: handle, tensor: 'layers.0.attn.q.weight', start: 10, end: 300 });
  assert.ok(raw.data instanceof Uint8Array);
  assert.ok(Buffer.from(raw.data).equals(bytes.subarray(dataStart + q.data_offsets[0] + 10, dataStart + q.data_offsets[0] + 300)));

  assert.ok(log.some((l) => /serving on stdio/.test(l)), 'engine stderr reaches the log');
});

test('bad input comes back as a one-line BadInput or NotFound error', LIMIT, async (t) => {
  const { client } = await newClient(t);
  const { handle } = await client.openModel(REF_MIXED);
  await rejectsWith(client.request('stats', { modelId: handle, tensor: 'no.such' }), EngineErrorCode.BadInput, /ref_mixed\.safetensors: .*"no\.such"/);
  await rejectsWith(client.request('slice', { modelId: handle, tensor: 'layers.1.f64', slice: '[0,,]' }), EngineErrorCode.BadInput, /bad slice/);
  await rejectsWith(client.request('bytes', { modelId: handle, tensor: 'layers.1.f64', start: 0, end: 281 }), EngineErrorCode.BadInput, /outside tensor/);
  await rejectsWith(client.openModel(join(FIXTURES, 'malformed/overlap.safetensors')), EngineErrorCode.BadInput, /overlap\.safetensors: /);
  await rejectsWith(client.openModel(join(tmp, 'missing.safetensors')), EngineErrorCode.BadInput, /no such file/);
  await rejectsWith(client.request('stats', { modelId: 'model-999', tensor: 'x' }), EngineErrorCode.NotFound, /unknown model handle/);
  await client.closeModel(handle);
  await rejectsWith(client.request('stats', { modelId: handle, tensor: 'embed.weight' }), EngineErrorCode.NotFound);
  // The engine is still there and serving.
  assert.equal((await client.request('hello', {})).protocol, 1);
});

test('cancelling a slow stats request rejects it and stops the work in the engine', LIMIT, async (t) => {
  const { client } = await newClient(t);
  const { handle } = await client.openModel(sparseModel(tmp));
  const { token, cancel } = cancellation();
  let progressCount = 0;
  const started = Date.now();
  const pending = client.request('stats', { modelId: handle, tensor: 'big' }, token, () => {
    if (++progressCount === 1) cancel();
  });
  await rejectsWith(pending, EngineErrorCode.Cancelled, /cancelled/);
  // The engine must be free again promptly (it stopped scanning, not just stopped reporting).
  const t0 = Date.now();
  assert.equal((await client.request('hello', {})).protocol, 1);
  assert.ok(Date.now() - t0 < 1000, `engine answered ${Date.now() - t0} ms after cancel`);
  assert.ok(Date.now() - started < 5000);
  // Already-cancelled tokens fail at once.
  await rejectsWith(client.request('stats', { modelId: handle, tensor: 'big' }, token), EngineErrorCode.Cancelled);
});

test('when the engine dies, pending requests fail, onRestart is called, and handles keep working', LIMIT, async (t) => {
  const restarts: string[] = [];
  const { client } = await newClient(t, { onRestart: (r) => restarts.push(r) });
  const { handle } = await client.openModel(REF_MIXED);
  const big = await client.openModel(sparseModel(tmp));
  const firstPid = client.pid;
  assert.ok(firstPid);

  let killed = false;
  const pending = client.request('stats', { modelId: big.handle, tensor: 'big' }, undefined, () => {
    if (!killed) process.kill(firstPid, 'SIGKILL');
    killed = true;
  });
  await rejectsWith(pending, ENGINE_STOPPED, /engine stopped \(killed by SIGKILL\)/);
  assert.deepEqual(restarts, ['killed by SIGKILL']);

  // The same handles work in a new engine: the models are opened again transparently.
  const [stats, slice] = await Promise.all([
    client.request('stats', { modelId: handle, tensor: 'layers.1.scale' }),
    client.request('slice', { modelId: handle, tensor: 'layers.0.conv.weight', slice: '[1, 2]' }),
  ]);
  assert.equal(stats.mean, 3.5);
  assert.deepEqual([slice.rows, slice.cols], [3, 3]);
  assert.notEqual(client.pid, firstPid);
  assert.equal((await client.request('stats', { modelId: big.handle, tensor: 'layers.1.scale' }).catch((e) => e)).code, EngineErrorCode.BadInput);
});

test('dispose stops the engine process and fails pending requests', LIMIT, async (t) => {
  const { client } = await newClient(t);
  const { handle } = await client.openModel(sparseModel(tmp));
  const pid = client.pid!;
  const pending = client.request('stats', { modelId: handle, tensor: 'big' });
  client.dispose();
  await rejectsWith(pending, ENGINE_STOPPED, /engine stopped \(stopped by Tensorscope\)/);
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(alive(), false);
  await rejectsWith(client.request('hello', {}), ENGINE_STOPPED, /disposed/);
});

test('an engine that cannot start fails requests with its reason, and is not respawned in a loop', LIMIT, async (t) => {
  const broken = join(tmp, 'broken-engine.js');
  writeFileSync(broken, 'process.stderr.write("engine: cannot load\\n"); process.exit(3);\n');
  const restarts: string[] = [];
  const log: string[] = [];
  const client = new EngineClient({ enginePath: broken, onRestart: (r) => restarts.push(r), log: (l) => log.push(l) });
  t.after(() => client.dispose());
  for (let i = 0; i < 3; i++) await rejectsWith(client.request('hello', {}), ENGINE_STOPPED, /engine stopped \(exit code 3\)/);
  assert.deepEqual(restarts, ['exit code 3', 'exit code 3', 'exit code 3']);
  await rejectsWith(client.request('hello', {}), ENGINE_STOPPED, /fails to start \(exit code 3\)/);
  assert.equal(restarts.length, 3, 'no fourth start');
  assert.ok(log.includes('engine: cannot load'));

  const noNode = new EngineClient({ enginePath: broken, nodePath: join(tmp, 'no-such-node') });
  t.after(() => noNode.dispose());
  await rejectsWith(noNode.request('hello', {}), ENGINE_STOPPED, /could not run .*no-such-node/);
});
