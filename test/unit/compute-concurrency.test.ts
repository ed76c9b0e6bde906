// Concurrent requests on one model (the engine serves requests concurrently: two tiles, a tile
// and stats, a slice...) share the line reader's pool of read buffers. Every result computed
// while many others run at once, with reads finishing in random order, must equal the result
// computed alone; so must the results next to requests that are cancelled or whose reads fail.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { DType } from '../../src/shared/dtypes';
import type { TensorInfo } from '../../src/shared/protocol';
import type { Model } from '../../src/engine/safetensors/model';
import { computeTile } from '../../src/engine/compute/tile';
import { tensorStats } from '../../src/engine/compute/stats';
import { sliceValues } from '../../src/engine/compute/slice';
import { normals, rng, tempModel, withAndWithoutSimd, type TestTensor } from './compute-helpers';

const SPECS: [string, DType, number[]][] = [
  ['f32', 'F32', [120, 200]],
  ['bf16', 'BF16', [150, 180]],
  ['f16', 'F16', [90, 160]],
  ['f64', 'F64', [80, 150]],
  ['i64', 'I64', [60, 70]],
  ['u8', 'U8', [100, 130]],
  ['f8', 'F8_E4M3', [110, 90]],
];

const tensors: TestTensor[] = SPECS.map(([name, dtype, shape], i) => {
  const n = shape[0] * shape[1];
  const values = dtype === 'I64' || dtype === 'U8' ? normals(n, 100 + i).map((v) => Math.abs(Math.round(v * 40))) : normals(n, 100 + i, 1 + i, i);
  return { name, dtype, shape, values };
});

let fixture: Awaited<ReturnType<typeof tempModel>>;
before(async () => {
  fixture = await tempModel(tensors);
});
after(async () => {
  await fixture?.cleanup();
});

/** Most reads in flight at once through a jittered model (the line reader keeps up to 4 per request). */
let mostInFlight = 0;

/** The model, with each read held back a random 0-2 ms so that reads of different requests finish interleaved. */
function jittered(model: Model, seed: number): Model {
  const r = rng(seed);
  let inFlight = 0;
  return {
    info: model.info,
    tensor: (name) => model.tensor(name),
    read: (t, start, end) => model.read(t, start, end),
    readInto: async (t, start, dest) => {
      mostInFlight = Math.max(mostInFlight, ++inFlight);
      try {
        await new Promise((resolve) => setTimeout(resolve, Math.floor(r() * 3)));
        return await model.readInto(t, start, dest);
      } finally {
        inFlight--;
      }
    },
    close: () => model.close(),
  };
}

/**
 * A model whose reads fail: the failure is reported before the read has stopped writing, as
 * a source that reads a range in parts at once (and rejects as soon as one part fails) does.
 * The failed reads keep writing garbage into the buffers they were given until `stop()`.
 */
function failingLate(model: Model): { model: Model; stop: () => void } {
  const timers: NodeJS.Timeout[] = [];
  let stopped = false;
  const failing: Model = {
    info: model.info,
    tensor: (name) => model.tensor(name),
    read: (t, start, end) => model.read(t, start, end),
    close: () => model.close(),
    readInto: (_t, _start, dest) => {
      if (!stopped) timers.push(setInterval(() => dest.fill(0xff), 0));
      return Promise.reject(new Error('disk went away'));
    },
  };
  return {
    model: failing,
    stop: () => {
      stopped = true;
      timers.forEach(clearInterval);
    },
  };
}

type Job = { label: string; run: (m: Model) => Promise<unknown> };

/** Small reads (a few KiB), so each request makes many reads and the pool's buffers change hands often. */
function jobs(): Job[] {
  const out: Job[] = [];
  for (const [name, , shape] of SPECS) {
    const full = { row0: 0, row1: shape[0], col0: 0, col1: shape[1] };
    const tensor = (m: Model): TensorInfo => m.tensor(name);
    out.push(
      {
        label: `${name} overview tile`,
        run: (m) => computeTile(m, tensor(m), { slice: '', viewport: full, maxRows: 16, maxCols: 24, range: { kind: 'auto' }, withMinMax: true }, undefined, { chunkBytes: 2048 }),
      },
      {
        label: `${name} exact tile of a corner`,
        run: (m) => computeTile(m, tensor(m), { slice: '', viewport: { row0: 3, row1: 40, col0: 5, col1: 61 }, maxRows: 64, maxCols: 64, range: { kind: 'auto' } }, undefined, { chunkBytes: 1024 }),
      },
      { label: `${name} stats`, run: (m) => tensorStats(m, tensor(m), { chunkBytes: 4096 }) },
      { label: `${name} strided slice`, run: (m) => sliceValues(m, tensor(m), '1::3, ::-2') },
      { label: `${name} transposed slice`, run: (m) => sliceValues(m, tensor(m), ':, 7') },
    );
  }
  return out;
}

/** Results as plain data (typed arrays compared by content). */
function plain(x: unknown): unknown {
  return JSON.parse(JSON.stringify(x, (_k, v: unknown) => (ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number>) : v)));
}

async function sequential(model: Model, list: Job[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const j of list) out.push(plain(await j.run(model)));
  return out;
}

test('many concurrent tiles, stats and slices on one model equal the same requests run one at a time', async () => {
  await withAndWithoutSimd(async (mode) => {
    const list = jobs();
    const expected = await sequential(fixture.model, list);
    for (let round = 0; round < 2; round++) {
      const model = jittered(fixture.model, round);
      // Every job three times, in a shuffled order, all at once.
      const r = rng(round + 1);
      const order = [...list.keys(), ...list.keys(), ...list.keys()].sort(() => r() - 0.5);
      mostInFlight = 0;
      const results = await Promise.all(order.map((i) => list[i].run(model).then(plain)));
      assert.ok(mostInFlight > 4 * 10, `reads of many requests overlapped (at most ${mostInFlight} at once)`);
      order.forEach((i, k) => assert.deepEqual(results[k], expected[i], `${mode} round ${round}: ${list[i].label}`));
    }
  });
});

test('requests next to cancelled requests and failing reads are unaffected', async () => {
  await withAndWithoutSimd(async (mode) => {
    const list = jobs();
    const expected = await sequential(fixture.model, list);
    const model = jittered(fixture.model, 42);
    const broken = failingLate(fixture.model);
    const disturbances: Promise<unknown>[] = [];
    const disturb = (name: string, shape: number[]) => {
      const full = { row0: 0, row1: shape[0], col0: 0, col1: shape[1] };
      const tile = (m: Model, signal?: AbortSignal, onBytes?: () => void) =>
        computeTile(m, m.tensor(name), { slice: '', viewport: full, maxRows: 8, maxCols: 8, range: { kind: 'auto' } }, signal, { chunkBytes: 1024, onBytes });
      // Cancelled after a few reads.
      const controller = new AbortController();
      let reads = 0;
      const cancelled = tile(model, controller.signal, () => {
        if (++reads === 3) controller.abort();
      });
      disturbances.push(cancelled.then(() => assert.fail('not cancelled'), (e: Error) => assert.equal(e.name, 'CancelledError', e.message)));
      // Reads that fail (and keep writing into their buffers afterwards).
      for (const failed of [tensorStats(broken.model, broken.model.tensor(name), { chunkBytes: 2048 }), tile(broken.model)]) {
        disturbances.push(failed.then(() => assert.fail('no error'), (e: Error) => assert.match(e.message, /disk went away/)));
      }
    };
    let results: unknown[];
    try {
      // A disturbance next to every request, and more while the first results come in.
      results = await Promise.all(
        list.map((j, i) => {
          const [name, , shape] = SPECS[i % SPECS.length];
          disturb(name, shape);
          return j.run(model).then((r) => {
            disturb(name, shape);
            return plain(r);
          });
        }),
      );
    } finally {
      broken.stop();
    }
    await Promise.all(disturbances);
    list.forEach((j, i) => assert.deepEqual(results[i], expected[i], `${mode}: ${j.label}`));
  });
});
