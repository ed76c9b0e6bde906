// Builds the engine bundle (what dist/cli.js is) for tests that spawn the real engine.
// Each test process builds its own copy (esbuild takes ~0.1 s) so parallel test files
// never race on dist/, and a test never runs a stale bundle. The copy lives under
// node_modules/.cache so the bundle resolves its external packages like dist/cli.js does.
import * as esbuild from 'esbuild';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export const PROJECT_ROOT = resolve(__dirname, '../..');

let built: Promise<string> | undefined;

/** Path of a freshly built engine/CLI bundle (same options as esbuild.config.mjs). */
export function buildEngine(): Promise<string> {
  built ??= (async () => {
    const cache = join(PROJECT_ROOT, 'node_modules', '.cache');
    mkdirSync(cache, { recursive: true });
    const dir = mkdtempSync(join(cache, 'tensorscope-engine-'));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    const outfile = join(dir, 'cli.js');
    await esbuild.build({
      entryPoints: [join(PROJECT_ROOT, 'src/engine/cli.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      external: ['onnxruntime-node'],
      banner: { js: '#!/usr/bin/env node' },
      logLevel: 'silent',
    });
    return outfile;
  })();
  return built;
}

let builtWithWorker: Promise<string> | undefined;

/** The engine bundle with the projection worker beside it, as dist/projectionWorker.js is. */
export function buildEngineWithWorker(): Promise<string> {
  builtWithWorker ??= (async () => {
    const cli = await buildEngine();
    await esbuild.build({
      entryPoints: [join(PROJECT_ROOT, 'src/engine/projection/worker.ts')],
      outfile: join(dirname(cli), 'projectionWorker.js'),
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      external: ['onnxruntime-node'],
      logLevel: 'silent',
    });
    return cli;
  })();
  return builtWithWorker;
}
