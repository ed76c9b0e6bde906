// `npm start`: the demo. Installs what is missing (npm dependencies, the code-server
// toolchain), builds, writes demo models into demo/models/, links this working tree into
// code-server as an installed extension and serves VS Code on http://127.0.0.1:PORT
// with the demo folder open. Ctrl-C stops it.
//
// Environment: PORT (default: a free port), HOST (default 127.0.0.1).
// Options: --regenerate (rewrite the demo models), --no-build.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function step(msg) {
  console.log(`[start] ${msg}`);
}

function run(cmd, cmdArgs, env = process.env) {
  const r = spawnSync(cmd, cmdArgs, { cwd: repoRoot, stdio: 'inherit', env });
  if (r.status !== 0) throw new Error(`${cmd} ${cmdArgs.join(' ')} failed (exit ${r.status ?? r.signal})`);
}

async function main() {
  // 1. npm dependencies (a fresh clone has none). onnxruntime-node's install script would
  //    download GPU extras; its CPU binaries ship in the npm package.
  if (!existsSync(join(repoRoot, 'node_modules', '.package-lock.json'))) {
    step('installing npm dependencies (npm ci)');
    run(npm, ['ci', '--no-audit', '--no-fund'], { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' });
  }
  // Imported only now: they live in node_modules or use it.
  const { ensureCodeServer } = await import('./ensure-code-server.mjs');
  const { startCodeServer } = await import('../test/e2e/codeServer.mjs');
  const { linkExtension, writeUserSettings, QUIET_SETTINGS } = await import('../test/e2e/workspace.mjs');

  // 2. code-server on Node 24 (cached in .cache/toolchain after the first run).
  step('checking the code-server toolchain');
  ensureCodeServer();

  // 3. Build the extension, engine and webviews.
  if (!args.includes('--no-build')) {
    step('building');
    run(process.execPath, ['esbuild.config.mjs']);
  }

  // 4. Demo models.
  const demoDir = join(repoRoot, 'demo');
  const modelsDir = join(demoDir, 'models');
  if (args.includes('--regenerate') || !existsSync(join(modelsDir, 'tiny-llama.safetensors'))) {
    step('writing demo models');
    rmSync(modelsDir, { recursive: true, force: true });
    run(process.execPath, ['--import', 'tsx', join('scripts', 'demo-models.ts'), modelsDir]);
  }

  // 5. A fresh VS Code profile with this working tree linked in as the extension.
  const stateDir = join(repoRoot, '.cache', 'demo');
  rmSync(stateDir, { recursive: true, force: true });
  const userDataDir = join(stateDir, 'user-data');
  const extensionsDir = join(stateDir, 'extensions');
  const tmp = join(stateDir, 'tmp');
  mkdirSync(tmp, { recursive: true });
  writeUserSettings(userDataDir, { ...QUIET_SETTINGS, 'workbench.startupEditor': 'none' });
  linkExtension(extensionsDir);

  // 6. Serve.
  const host = process.env.HOST ?? '127.0.0.1';
  const port = process.env.PORT ? Number(process.env.PORT) : undefined;
  step('starting code-server');
  const server = await startCodeServer({
    userDataDir,
    extensionsDir,
    port,
    host,
    env: { TMPDIR: tmp },
  });
  const url = `http://${host}:${server.port}/?folder=${encodeURIComponent(demoDir)}`;
  console.log(`\nTensorscope demo: ${url}\n`);
  console.log('Open a .safetensors file in the Explorer (demo/models/). Ctrl-C stops the server.');

  const stop = () => {
    server.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  server.process.on('exit', (code) => {
    console.log(`code-server exited (${code})`);
    process.exit(code ?? 1);
  });
}

main().catch((err) => {
  console.error(`start: ${err.message}`);
  process.exit(1);
});
