// `npm run test:e2e`: the extension in a real VS Code (code-server + headless Chromium).
//  1. extension-host integration tests (mocha inside VS Code, via @vscode/test-electron's
//     runTests and our code-server launcher);
//  2. UI and packaging tests (test/e2e/*.test.mjs, node's test runner, Playwright).
// Last line: "e2e: N passed, N failed" (scripts/test-all.mjs reads it).
//
// Options: --no-build (dist/ is fresh already), --only=integration|ui
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { runTests } from '@vscode/test-electron';
import { ensureChromium, ensureCodeServer } from '../../scripts/ensure-code-server.mjs';
import { freshDir, makeWorkspace, repoRoot, writeUserSettings } from './workspace.mjs';

const argv = process.argv.slice(2);
const only = argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const counts = { passed: 0, failed: 0 };

function section(title) {
  console.log(`\n=== ${title} ===`);
}

function seconds(t0) {
  return `${((Date.now() - t0) / 1000).toFixed(1)} s`;
}

async function buildIntegrationTests() {
  const suiteDir = join(repoRoot, 'test', 'integration', 'suite');
  const entryPoints = readdirSync(suiteDir)
    .filter((f) => f === 'index.ts' || f.endsWith('.test.ts'))
    .map((f) => join(suiteDir, f));
  const outdir = join(repoRoot, 'test', 'integration', 'dist');
  rmSync(outdir, { recursive: true, force: true }); // no stale bundles of deleted tests
  await esbuild.build({
    entryPoints,
    outdir,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: 'inline',
    external: ['vscode', 'mocha'],
    // Keep `import('mocha')` a real dynamic import: mocha 12 is ESM-only.
    supported: { 'dynamic-import': true },
    logLevel: 'warning',
  });
  return join(outdir, 'index.js');
}

async function runIntegration() {
  section('extension-host integration tests (code-server)');
  const t0 = Date.now();
  const testsEntry = await buildIntegrationTests();
  const dir = freshDir('integration');
  const workspace = makeWorkspace(join(dir, 'workspace'));
  const userDataDir = join(dir, 'user-data');
  writeUserSettings(userDataDir);
  const resultsFile = join(dir, 'results.json');
  let exitCode;
  try {
    exitCode = await runTests({
      vscodeExecutablePath: join(repoRoot, 'test', 'e2e', 'code-server-launcher.mjs'),
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath: testsEntry,
      launchArgs: [workspace, `--user-data-dir=${userDataDir}`, `--extensions-dir=${join(dir, 'extensions')}`],
      extensionTestsEnv: { TENSORSCOPE_INTEGRATION_RESULTS: resultsFile },
    });
  } catch (err) {
    exitCode = err.code ?? 1;
  }
  if (existsSync(resultsFile)) {
    const r = JSON.parse(readFileSync(resultsFile, 'utf8'));
    counts.passed += r.passed;
    counts.failed += r.failed;
    if (r.failed === 0 && exitCode !== 0) counts.failed += 1; // the host failed after the tests
  } else {
    console.log('integration tests did not report results (see the output above)');
    counts.failed += 1;
  }
  console.log(`integration tests finished in ${seconds(t0)} (exit ${exitCode})`);
}

/**
 * Starts node's test runner on the UI/packaging tests; its output is held back until
 * `print()` so it does not interleave with the integration tests running meanwhile.
 * Counts its "ℹ pass/fail N" lines.
 */
function startNodeTests(files) {
  const t0 = Date.now();
  let out = '';
  // Two files at a time: packaging is CPU-bound while a UI test mostly waits, but each UI
  // test runs its own code-server and Chromium, and CI has 2 cores (E2E_CONCURRENCY overrides).
  const concurrency = Math.min(files.length, Number(process.env.E2E_CONCURRENCY) || 2);
  const child = spawn(process.execPath, ['--test', '--test-reporter=spec', `--test-concurrency=${concurrency}`, ...files], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const done = new Promise((resolve) => child.on('close', (code) => resolve({ code, elapsed: seconds(t0) })));
  return {
    async print() {
      section('UI and packaging tests (Playwright, vsce)');
      const { code, elapsed } = await done;
      process.stdout.write(out);
      const pass = /^ℹ pass (\d+)/m.exec(out);
      const fail = /^ℹ fail (\d+)/m.exec(out);
      if (pass && fail) {
        counts.passed += Number(pass[1]);
        counts.failed += Number(fail[1]);
        if (Number(fail[1]) === 0 && code !== 0) counts.failed += 1;
      } else {
        counts.failed += 1; // the runner itself failed
      }
      console.log(`UI and packaging tests finished in ${elapsed} (exit ${code})`);
    },
  };
}

async function main() {
  const t0 = Date.now();
  section('toolchain');
  ensureCodeServer();
  ensureChromium();
  if (!argv.includes('--no-build')) {
    const r = spawnSync(process.execPath, ['esbuild.config.mjs'], { cwd: repoRoot, stdio: 'inherit' });
    if (r.status !== 0) {
      console.log('build failed');
      counts.failed += 1;
      return;
    }
  }
  // Both kinds run at once (each is mostly waiting on its own VS Code); the UI tests'
  // output is printed after the integration tests'.
  let nodeTests;
  if (!only || only === 'ui') {
    const dir = join(repoRoot, 'test', 'e2e');
    const files = readdirSync(dir).filter((f) => f.endsWith('.test.mjs')).map((f) => join('test', 'e2e', f));
    nodeTests = startNodeTests(files);
  }
  if (!only || only === 'integration') await runIntegration();
  await nodeTests?.print();
  console.log(`\ne2e took ${seconds(t0)}`);
}

main()
  .catch((err) => {
    console.log(`e2e: ${err.stack ?? err.message}`);
    counts.failed += 1;
  })
  .finally(() => {
    console.log(`e2e: ${counts.passed} passed, ${counts.failed} failed`);
    process.exitCode = counts.failed > 0 ? 1 : 0;
  });
