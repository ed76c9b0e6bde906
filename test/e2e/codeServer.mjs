// Running real VS Code offline: code-server (VS Code as a server, on Node 24) plus Debian
// Chromium driven by playwright-core. Used by the integration-test launcher, the UI test
// and `npm start`. Facts behind the flags: shared note "vscode-e2e-offline".
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ensureCodeServer, ensureChromium } from '../../scripts/ensure-code-server.mjs';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts code-server in its own process group.
 * opts: userDataDir, extensionsDir, port?, host? (default 127.0.0.1), smokeTestDriver? (accept the test payload in the URL),
 * workspaceTrust? (keep VS Code's Workspace Trust on; default off: --disable-workspace-trust),
 * env? (extra environment, e.g. TMPDIR/HOME), log? (function receiving output text).
 * Returns { port, url, process, stop() }.
 */
export async function startCodeServer(opts) {
  const { codeServer, node, env: node24Env } = ensureCodeServer();
  const port = opts.port ?? (await freePort());
  const host = opts.host ?? '127.0.0.1';
  mkdirSync(opts.userDataDir, { recursive: true });
  mkdirSync(opts.extensionsDir, { recursive: true });
  // An empty config file keeps code-server from writing ~/.config/code-server/config.yaml.
  const configFile = join(opts.userDataDir, 'code-server.yaml');
  writeFileSync(configFile, '');
  const args = [
    codeServer,
    '--config', configFile,
    '--auth', 'none',
    '--bind-addr', `${host}:${port}`,
    '--user-data-dir', opts.userDataDir,
    '--extensions-dir', opts.extensionsDir,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-getting-started-override',
  ];
  if (!opts.workspaceTrust) args.push('--disable-workspace-trust');
  if (opts.smokeTestDriver) args.push('--vscode-option', 'enable-smoke-test-driver');
  const child = spawn(node, args, {
    env: { ...node24Env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // own process group: it has file-watcher and extension-host children
  });
  const captured = [];
  const onData = (chunk) => {
    const text = chunk.toString();
    captured.push(text);
    if (captured.length > 500) captured.shift(); // keep the tail only (the demo runs for hours)
    if (opts.log) opts.log(text);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);

  const stop = () => killGroup(child);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHealth(url, child, 30_000);
  } catch (err) {
    stop();
    throw new Error(`${err.message}\n--- code-server output ---\n${captured.join('')}`);
  }
  return { port, url, process: child, stop, output: () => captured.join('') };
}

/** Kills a detached child's whole process group (SIGTERM, then SIGKILL if still alive). */
export function killGroup(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }, 3000);
  timer.unref();
}

async function waitForHealth(url, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`code-server exited early (code ${child.exitCode})`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`code-server did not answer ${url}/healthz within ${timeoutMs / 1000} s`);
}

/** Launches Debian Chromium headless with a fresh profile folder; env: e.g. HOME/TMPDIR. */
export async function launchChromium(profileDir, env = {}) {
  const { chromium } = await import('playwright-core');
  mkdirSync(profileDir, { recursive: true });
  const executablePath = ensureChromium();
  // A persistent context with our own folder: Chromium must not touch ~/.config/chromium.
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1400, height: 900 },
    env: { ...process.env, ...env },
  });
  return context;
}

/**
 * The workbench URL opening `folder`; with `payload` (extension development and tests
 * paths) it starts an extension development host (needs smokeTestDriver on the server).
 */
export function workbenchUrl(server, folder, payload) {
  let url = `${server.url}/?folder=${encodeURIComponent(folder)}`;
  if (payload) {
    const remote = (p) => `vscode-remote://127.0.0.1:${server.port}${p}`;
    const entries = [];
    for (const dev of payload.extensionDevelopmentPath ?? []) entries.push(['extensionDevelopmentPath', remote(dev)]);
    if (payload.extensionTestsPath) entries.push(['extensionTestsPath', remote(payload.extensionTestsPath)]);
    url += `&payload=${encodeURIComponent(JSON.stringify(entries))}`;
  }
  return url;
}
