// `npm test`: build, unit tests, then the end-to-end tests in a real VS Code.
// Output passes through; the last line counts every test: "N passed, N failed".
// Exits non-zero if anything failed (a failed step counts as one failure).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Runs a command, echoing its output; resolves to { code, output }. */
function run(cmd, args) {
  return new Promise((resolveRun) => {
    console.log(`\n> ${cmd} ${args.join(' ')}`);
    const child = spawn(cmd, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const pass = (stream) => (chunk) => {
      output += chunk;
      stream.write(chunk);
    };
    child.stdout.on('data', pass(process.stdout));
    child.stderr.on('data', pass(process.stderr));
    child.on('error', (err) => {
      output += `\n${err.message}`;
    });
    child.on('close', (code, signal) => resolveRun({ code: code ?? (signal ? 1 : 0), output }));
  });
}

function lastMatch(re, text) {
  let m;
  let last;
  const g = new RegExp(re.source, 'gm');
  while ((m = g.exec(text))) last = m;
  return last;
}

async function main() {
  const t0 = Date.now();
  let passed = 0;
  let failed = 0;
  const steps = [];

  // A fresh clone has no node_modules. onnxruntime-node's install script would download
  // GPU extras; its CPU binaries ship in the npm package.
  if (!existsSync(join(repoRoot, 'node_modules', '.package-lock.json'))) {
    console.log('\n> npm ci');
    const ci = spawnSync(npm, ['ci', '--no-audit', '--no-fund'], { cwd: repoRoot, stdio: 'inherit', env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' } });
    if (ci.status !== 0) {
      console.log('npm ci failed');
      console.log('0 passed, 1 failed');
      process.exit(1);
    }
  }

  const build = await run(npm, ['run', 'build']);
  steps.push(['build', build.code]);
  if (build.code !== 0) failed += 1;

  // node's test runner ends with "ℹ pass N" and "ℹ fail N".
  const unit = await run(npm, ['run', 'test:unit']);
  const up = lastMatch(/^ℹ pass (\d+)/, unit.output);
  const uf = lastMatch(/^ℹ fail (\d+)/, unit.output);
  if (up && uf) {
    passed += Number(up[1]);
    failed += Number(uf[1]);
    if (Number(uf[1]) === 0 && unit.code !== 0) failed += 1;
  } else {
    failed += 1;
  }
  steps.push(['unit', unit.code]);

  // The e2e runner ends with "e2e: N passed, N failed". It needs the build.
  if (build.code === 0) {
    const e2e = await run(process.execPath, ['test/e2e/run.mjs', '--no-build']);
    const m = lastMatch(/^e2e: (\d+) passed, (\d+) failed$/, e2e.output);
    if (m) {
      passed += Number(m[1]);
      failed += Number(m[2]);
      if (Number(m[2]) === 0 && e2e.code !== 0) failed += 1;
    } else {
      failed += 1;
    }
    steps.push(['e2e', e2e.code]);
  } else {
    steps.push(['e2e', 'skipped (build failed)']);
  }

  console.log(`\n${steps.map(([s, c]) => `${s}: ${c === 0 ? 'ok' : typeof c === 'string' ? c : `exit ${c}`}`).join(', ')} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed > 0 ? 1 : 0;
}

main().catch((err) => {
  console.log(`test-all: ${err.message}`);
  console.log('0 passed, 1 failed');
  process.exitCode = 1;
});
