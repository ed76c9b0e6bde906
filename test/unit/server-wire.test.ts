// The engine process at the byte level: what `tensorscope serve` writes on stdout is only
// Content-Length framed binary-codec messages, Uint8Array results travel as raw bytes, bad
// frames do not kill it, and it exits when stdin closes.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { buildEngine } from './cli-build';
import { readHeader, REF_MIXED, sparseModel } from './cli-run';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeMessage, encodeMessage } from '../../src/shared/binaryCodec';

/** Tests fail, not hang, when the engine misbehaves. */
const LIMIT = { timeout: 20_000 };

async function startEngine(t: TestContext): Promise<ChildProcessWithoutNullStreams & { frames: AsyncGenerator<Buffer> }> {
  const cli = await buildEngine();
  const child = spawn(process.execPath, [cli, 'serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
  t.after(() => void child.kill());
  // Split stdout into frames exactly as sent, asserting that nothing else is there.
  async function* frames(): AsyncGenerator<Buffer> {
    let buf = Buffer.alloc(0);
    for await (const chunk of child.stdout) {
      buf = Buffer.concat([buf, chunk as Buffer]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) break;
        const head = buf.subarray(0, end).toString('ascii');
        const m = /^Content-Length: (\d+)$/.exec(head);
        assert.ok(m, `stdout holds only framed messages, got ${JSON.stringify(head.slice(0, 80))}`);
        const length = Number(m[1]);
        if (buf.length < end + 4 + length) break;
        yield buf.subarray(end + 4, end + 4 + length);
        buf = buf.subarray(end + 4 + length);
      }
    }
    assert.equal(buf.length, 0, 'no trailing bytes on stdout');
  }
  return Object.assign(child, { frames: frames() });
}

function send(child: ChildProcessWithoutNullStreams, message: unknown): void {
  const body = encodeMessage(message);
  child.stdin.write(`Content-Length: ${body.byteLength}\r\n\r\n`);
  child.stdin.write(body);
}

async function next(frames: AsyncGenerator<Buffer>): Promise<{ raw: Buffer; message: any }> {
  const { value, done } = await frames.next();
  assert.ok(!done, 'engine closed stdout early');
  return { raw: value, message: decodeMessage(value) };
}

test('tensor bytes cross the wire raw (binary codec), not as JSON numbers', LIMIT, async (t) => {
  const engine = await startEngine(t);
  send(engine, { jsonrpc: '2.0', id: 1, method: 'open', params: { path: REF_MIXED } });
  const opened = await next(engine.frames);
  const modelId = opened.message.result.modelId;
  assert.equal(typeof modelId, 'string');

  send(engine, { jsonrpc: '2.0', id: 2, method: 'bytes', params: { modelId, tensor: 'layers.0.mlp.up.weight', start: 100, end: 4196 } });
  const { raw, message } = await next(engine.frames);
  const { header, dataStart, bytes } = readHeader(REF_MIXED);
  const expected = bytes.subarray(dataStart + header['layers.0.mlp.up.weight'].data_offsets[0] + 100).subarray(0, 4096);

  const jsonLength = raw.readUInt32LE(0);
  const json = raw.subarray(4, 4 + jsonLength).toString('utf8');
  assert.match(json, /"data":\{"\$bin":0,"n":4096\}/);
  assert.equal(raw.length, 4 + jsonLength + 4096, 'the body is the JSON plus the raw bytes, nothing more');
  assert.ok(raw.subarray(4 + jsonLength).equals(expected), 'raw tensor bytes follow the JSON');
  assert.equal(message.id, 2);
  assert.ok(message.result.data instanceof Uint8Array);
  assert.ok(Buffer.from(message.result.data).equals(expected));

  engine.stdin.end();
  const code = await new Promise((resolve) => engine.on('exit', resolve));
  assert.equal(code, 0, 'exits when stdin closes');
});

test('a bad frame or unknown method does not stop the engine', LIMIT, async (t) => {
  const engine = await startEngine(t);
  let stderr = '';
  engine.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  // A frame whose body is not a binary-codec message.
  engine.stdin.write('Content-Length: 3\r\n\r\nxyz');
  send(engine, { jsonrpc: '2.0', id: 7, method: 'frobnicate', params: {} });
  const unknown = await next(engine.frames);
  assert.equal(unknown.message.id, 7);
  assert.equal(unknown.message.error.code, -32601);
  send(engine, { jsonrpc: '2.0', id: 8, method: 'open', params: { path: 42 } });
  const bad = await next(engine.frames);
  assert.deepEqual(bad.message.error, { code: 2, message: 'path must be a string' });
  send(engine, { jsonrpc: '2.0', id: 9, method: 'hello', params: {} });
  const hello = await next(engine.frames);
  assert.equal(hello.message.result.protocol, 1);
  assert.equal(hello.message.result.pid, engine.pid);
  engine.stdin.end();
  assert.equal(await new Promise((resolve) => engine.on('exit', resolve)), 0);
  assert.match(stderr, /serving on stdio/);
});

test('stats sends $/progress for its workDoneToken and stops at $/cancelRequest', LIMIT, async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'tensorscope-wire-'));
  const engine = await startEngine(t);
  try {
    send(engine, { jsonrpc: '2.0', id: 1, method: 'open', params: { path: sparseModel(tmp) } });
    const { modelId } = (await next(engine.frames)).message.result;
    send(engine, { jsonrpc: '2.0', id: 2, method: 'stats', params: { modelId, tensor: 'big', workDoneToken: 'tok-1' } });
    const first = (await next(engine.frames)).message;
    assert.equal(first.method, '$/progress');
    assert.equal(first.params.token, 'tok-1');
    assert.ok(first.params.value.total >= 4 * (128 << 20), 'total counts the tensor bytes');
    assert.ok(first.params.value.done < first.params.value.total);
    const cancelledAt = Date.now();
    send(engine, { jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 2 } });
    let response;
    do response = (await next(engine.frames)).message;
    while (response.method === '$/progress');
    assert.deepEqual(response, { jsonrpc: '2.0', id: 2, error: { code: -32800, message: 'cancelled' } });
    assert.ok(Date.now() - cancelledAt < 1000, `answered ${Date.now() - cancelledAt} ms after the cancel`);
    engine.stdin.end();
    for await (const frame of engine.frames) assert.fail(`nothing after the cancel, got ${JSON.stringify(decodeMessage(frame))}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
