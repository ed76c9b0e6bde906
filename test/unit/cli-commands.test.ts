// The real `tensorscope` CLI (built bundle, child processes) on the reference fixture and
// on generated files: exact JSON shapes and values, bad input, closed stdout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildEngine } from './cli-build';
import { FIXTURES, readHeader, REF_MIXED, runCli, runCliInProcess as cli, safetensorsBytes } from './cli-run';
import { COMMANDS } from '../../src/engine/commands/index';
import { main } from '../../src/engine/cli';

const tmp = mkdtempSync(join(tmpdir(), 'tensorscope-cli-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

function parseOk(r: { code: number | null; stdout: string; stderr: string }): any {
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
  return JSON.parse(r.stdout);
}

test('--help and no arguments list every command', async () => {
  for (const args of [['--help'], []]) {
    const r = await runCli(args);
    assert.equal(r.code, 0);
    for (const c of COMMANDS) assert.ok(r.stdout.includes(`  ${c.usage}\n`), `usage of ${c.name}`);
  }
  for (const name of ['inspect', 'stats', 'slice', 'serve']) assert.ok(COMMANDS.some((c) => c.name === name));
});

test('inspect --json: exactly metadata and tensors {name, dtype, shape, dataOffsets}', async () => {
  const { header, metadata } = readHeader(REF_MIXED);
  const out = parseOk(await runCli(['inspect', REF_MIXED, '--json']));
  assert.deepEqual(Object.keys(out), ['metadata', 'tensors']);
  assert.deepEqual(out.metadata, metadata);
  assert.deepEqual(out.metadata, { format: 'pt', note: 'reference' });
  assert.equal(out.tensors.length, Object.keys(header).length);
  for (const t of out.tensors) {
    assert.deepEqual(Object.keys(t), ['name', 'dtype', 'shape', 'dataOffsets']);
    const h = header[t.name];
    assert.ok(h, t.name);
    assert.deepEqual([t.dtype, t.shape, t.dataOffsets], [h.dtype, h.shape, h.data_offsets]);
  }
});

test('inspect without --json: a table with every tensor and the totals', async () => {
  const r = await cli(['inspect', REF_MIXED]);
  assert.equal(r.code, 0);
  const { header } = readHeader(REF_MIXED);
  for (const [name, h] of Object.entries(header)) {
    const row = r.stdout.split('\n').find((l) => l.startsWith(name + ' '));
    assert.ok(row, name);
    assert.ok(row.includes(` ${h.dtype} `) && row.includes(`[${h.shape.join(', ')}]`), row);
  }
  assert.match(r.stdout, /^16 tensors, 32,148 elements, 79,596 bytes of data/m);
});

test('stats --json matches the reference statistics of every tensor', async () => {
  const reference = JSON.parse(readFileSync(join(FIXTURES, 'ref_mixed.stats.json'), 'utf8'));
  await Promise.all(
    Object.entries<any>(reference).map(async ([name, ref]) => {
      const out = parseOk(await cli(['stats', REF_MIXED, name, '--json']));
      assert.deepEqual(Object.keys(out).slice(0, 9), ['numel', 'nan', 'inf', 'zeros', 'min', 'max', 'mean', 'std', 'histogram'], name);
      for (const k of ['numel', 'nan', 'inf', 'zeros', 'min', 'max']) assert.equal(out[k], ref[k], `${name} ${k}`);
      for (const k of ['mean', 'std']) {
        if (ref[k] === null) assert.equal(out[k], null, `${name} ${k}`);
        else assert.ok(Math.abs(out[k] - ref[k]) <= 1e-12 * Math.max(1, Math.abs(ref[k])), `${name} ${k}: ${out[k]} vs ${ref[k]}`);
      }
      const finite = ref.numel - ref.nan - ref.inf;
      assert.equal(out.histogram.counts.reduce((a: number, b: number) => a + b, 0), finite, `${name} histogram total`);
    }),
  );
});

test('stats --bins sets the histogram size', async () => {
  const out = parseOk(await cli(['stats', REF_MIXED, 'embed.weight', '--json', '--bins', '7']));
  assert.equal(out.histogram.counts.length, 7);
  assert.equal(out.histogram.min, -3.875);
  assert.equal(out.histogram.max, 3.984375);
});

test('slice --json: row-major values of a strided slice, read independently from the file', async () => {
  const { header, dataStart, bytes } = readHeader(REF_MIXED);
  const f64 = header['layers.1.f64']; // [5, 7]
  const at = (r: number, c: number) => bytes.readDoubleLE(dataStart + f64.data_offsets[0] + (r * 7 + c) * 8);
  const out = parseOk(await runCli(['slice', REF_MIXED, 'layers.1.f64', '[1:4, ::-3]', '--json']));
  assert.deepEqual(Object.keys(out), ['shape', 'values']);
  assert.deepEqual(out.shape, [3, 3]);
  const expected: number[] = [];
  for (const r of [1, 2, 3]) for (const c of [6, 3, 0]) expected.push(at(r, c));
  assert.deepEqual(out.values, expected);

  const i32 = header['layers.1.i32']; // [10, 10]
  const col = parseOk(await cli(['slice', REF_MIXED, 'layers.1.i32', '[..., 2]', '--json']));
  assert.deepEqual(col.shape, [10]);
  assert.deepEqual(col.values, Array.from({ length: 10 }, (_, r) => bytes.readInt32LE(dataStart + i32.data_offsets[0] + (r * 10 + 2) * 4)));
});

test('slice --json: NaN and infinities as strings, -0 keeps its sign, BOOL as booleans, scalars', async () => {
  const r = await cli(['slice', REF_MIXED, 'special.values', '[:]', '--json']);
  const out = parseOk(r);
  const { header, dataStart, bytes } = readHeader(REF_MIXED);
  const sv = header['special.values'];
  const raw = Array.from({ length: 8 }, (_, i) => bytes.readFloatLE(dataStart + sv.data_offsets[0] + i * 4));
  const asJson = raw.map((v) => (Number.isNaN(v) ? 'NaN' : v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : v));
  assert.deepEqual(out.values, asJson);
  assert.ok(raw.some((v) => Object.is(v, -0)));
  raw.forEach((v, i) => Object.is(v, -0) && assert.ok(Object.is(out.values[i], -0), 'JSON.parse keeps -0'));

  const mask = header['layers.1.mask'];
  const m = parseOk(await cli(['slice', REF_MIXED, 'layers.1.mask', '[3]', '--json']));
  assert.deepEqual(m.values, Array.from({ length: 16 }, (_, i) => bytes[dataStart + mask.data_offsets[0] + 48 + i] !== 0));

  assert.deepEqual(parseOk(await cli(['slice', REF_MIXED, 'layers.1.scale', '[]', '--json'])), { shape: [], values: [3.5] });
  assert.deepEqual(parseOk(await cli(['slice', REF_MIXED, 'layers.1.empty', '[:, 1:]', '--json'])), { shape: [0, 3], values: [] });
});

test('slice --json: I64/U64 beyond 2^53 as exact strings, C64 as [re, im] pairs', async () => {
  const ints = [0n, -(2n ** 63n), 2n ** 53n + 1n, 9007199254740993n * -1n, 123n];
  const i64 = new BigInt64Array(ints);
  const u64 = new BigUint64Array([2n ** 64n - 1n, 2n ** 53n, 7n]);
  const c64 = new Float32Array([1.5, -2, NaN, Infinity, -0, 0.25]);
  const file = join(tmp, 'wide.safetensors');
  writeFileSync(
    file,
    safetensorsBytes([
      { name: 'i', dtype: 'I64', shape: [5], data: new Uint8Array(i64.buffer) },
      { name: 'u', dtype: 'U64', shape: [3], data: new Uint8Array(u64.buffer) },
      { name: 'c', dtype: 'C64', shape: [3], data: new Uint8Array(c64.buffer) },
    ]),
  );
  const i = parseOk(await cli(['slice', file, 'i', '[:]', '--json']));
  assert.deepEqual(i.values, [0, '-9223372036854775808', '9007199254740993', '-9007199254740993', 123]);
  const u = parseOk(await cli(['slice', file, 'u', '[::-1]', '--json']));
  assert.deepEqual(u.values, [7, '9007199254740992', '18446744073709551615']);
  const c = parseOk(await cli(['slice', file, 'c', '[1:]', '--json']));
  assert.deepEqual(c.values, [['NaN', 'Infinity'], [-0, 0.25]]);
  assert.ok(Object.is(c.values[1][0], -0));
});

test('bad input: exit 2, one line on stderr naming the file or argument, nothing on stdout', async () => {
  const cases: [string[], RegExp][] = [
    [['inspect', join(FIXTURES, 'malformed/bad_json.safetensors')], /bad_json\.safetensors: .*JSON/],
    [['inspect', join(FIXTURES, 'malformed/size_mismatch.safetensors')], /size_mismatch\.safetensors: /],
    [['stats', join(FIXTURES, 'malformed/huge_n.safetensors'), 'x'], /huge_n\.safetensors: /],
    [['inspect', join(tmp, 'missing.safetensors')], /missing\.safetensors: no such file/],
    [['inspect', FIXTURES], /fixtures: is a directory/],
    [['stats', REF_MIXED, 'no.such.tensor'], /ref_mixed\.safetensors: .*"no\.such\.tensor"/],
    [['slice', REF_MIXED, 'layers.1.f64', '[0,,1]'], /ref_mixed\.safetensors: tensor "layers\.1\.f64": bad slice "\[0,,1\]"/],
    [['slice', REF_MIXED, 'layers.1.f64', '[5]'], /ref_mixed\.safetensors: tensor "layers\.1\.f64": index 5 is out of bounds/],
    [['slice', REF_MIXED, 'layers.1.f64', '[:, :]', '--limit', '34'], /has 35 values, more than --limit 34/],
    [['stats', REF_MIXED], /stats: missing TENSOR \(usage: /],
    [['slice'], /slice: missing FILE TENSOR SLICE/],
    [['inspect', REF_MIXED, '--frob'], /inspect: unknown option '--frob'/],
    [['stats', REF_MIXED, 'embed.weight', '--bins', 'many'], /--bins must be an integer/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ];
  await Promise.all(
    cases.map(async ([args, expected], i) => {
      // A few through a real process (exit code, real streams); the rest in-process.
      const r = i % 5 === 0 ? await runCli(args) : await cli(args);
      const what = args.join(' ');
      assert.equal(r.code, 2, what);
      assert.equal(r.stdout, '', what);
      assert.match(r.stderr, /^tensorscope: [^\n]+\n$/, what);
      assert.match(r.stderr, expected, what);
    }),
  );
});

test('a closed stdout (| head) ends the CLI quietly, exit 0, no EPIPE crash', async () => {
  const cli = await buildEngine();
  const child = spawn(process.execPath, [cli, 'slice', REF_MIXED, 'embed.weight', '[:, :]', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout.once('data', () => child.stdout.destroy());
  const code = await new Promise((resolve) => child.on('close', resolve));
  assert.equal(stderr, '');
  assert.equal(code, 0);
});

test('internal errors: exit 1 and one line; the stack only with TENSORSCOPE_DEBUG=1', async () => {
  const out: string[] = [];
  const err: string[] = [];
  const io = { stdout: (s: string) => out.push(s), stderr: (s: string) => err.push(s) };
  const broken = { name: 'broken-test-command', usage: 'broken-test-command', summary: 'throws', run: async () => { throw new TypeError('boom\nsecond line'); } };
  COMMANDS.push(broken);
  try {
    assert.equal(await main(['broken-test-command'], io, {}), 1);
    assert.deepEqual(err, ['tensorscope: internal error: boom\n']);
    assert.deepEqual(out, []);
    err.length = 0;
    assert.equal(await main(['broken-test-command'], io, { TENSORSCOPE_DEBUG: '1' }), 1);
    assert.equal(err[0], 'tensorscope: internal error: boom\n');
    assert.match(err[1], /TypeError: boom[\s\S]*at /);
  } finally {
    COMMANDS.splice(COMMANDS.indexOf(broken), 1);
  }
});
