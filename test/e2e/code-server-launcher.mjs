#!/usr/bin/env node
// Stand-in for the VS Code executable that @vscode/test-electron's runTests() starts.
// Desktop VS Code cannot be had offline, so this maps its desktop-style flags onto
// code-server + headless Chromium: the test paths travel in the workbench URL's payload,
// the test host's console arrives through window.codeAutomationLog and the result through
// window.codeAutomationExit (code-server started with enable-smoke-test-driver).
// Exits with the tests' exit code.
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { format } from 'node:util';
import { launchChromium, startCodeServer, workbenchUrl } from './codeServer.mjs';

const TIMEOUT_MS = Number(process.env.TENSORSCOPE_E2E_TIMEOUT_MS ?? 180_000);
const VERBOSE = Boolean(process.env.TENSORSCOPE_E2E_VERBOSE);
const TEST_LOG_MARKER = '[tensorscope-test] '; // same as test/integration/suite/index.ts

function parseArgs(argv) {
  const out = { extensionDevelopmentPath: [], folders: [] };
  for (const arg of argv) {
    const m = /^--([^=]+)=(.*)$/.exec(arg);
    if (m) {
      const [, key, value] = m;
      if (key === 'extensionDevelopmentPath') out.extensionDevelopmentPath.push(resolve(value));
      else if (key === 'extensionTestsPath') out.extensionTestsPath = resolve(value);
      else if (key === 'user-data-dir') out.userDataDir = resolve(value);
      else if (key === 'extensions-dir') out.extensionsDir = resolve(value);
      // other desktop flags (--no-sandbox, --disable-updates, ...) mean nothing here
    } else if (!arg.startsWith('--')) {
      out.folders.push(resolve(arg));
    }
  }
  return out;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!opts.extensionTestsPath) throw new Error('missing --extensionTestsPath');
  if (!opts.userDataDir) throw new Error('missing --user-data-dir');
  const folder = opts.folders[0] ?? process.cwd();
  // Scratch folders beside the user data: VS Code leaves sockets in TMPDIR and Chromium
  // writes under HOME; neither may touch the real ones.
  const base = dirname(opts.userDataDir);
  const tmp = join(base, 'tmp');
  const home = join(base, 'home');
  mkdirSync(tmp, { recursive: true });
  mkdirSync(home, { recursive: true });
  const scratchEnv = { TMPDIR: tmp, HOME: home, XDG_CONFIG_HOME: join(home, '.config') };

  const serverLog = [];
  const server = await startCodeServer({
    userDataDir: opts.userDataDir,
    extensionsDir: opts.extensionsDir ?? join(base, 'extensions'),
    smokeTestDriver: true,
    env: scratchEnv,
    log: (text) => serverLog.push(text),
  });
  let browser;
  const cleanup = async () => {
    await browser?.close().catch(() => {});
    server.stop();
  };
  process.on('SIGINT', () => cleanup().then(() => process.exit(130)));
  process.on('SIGTERM', () => cleanup().then(() => process.exit(143)));

  try {
    browser = await launchChromium(join(base, 'chromium-profile'), scratchEnv);
    const page = browser.pages()[0] ?? (await browser.newPage());
    let resolveExit;
    const exitCode = new Promise((r) => (resolveExit = r));
    await page.exposeFunction('codeAutomationExit', (code) => resolveExit(Number(code)));
    // The workbench forwards its own console too; only the test runner's lines (marked by
    // test/integration/suite/index.ts) go to stdout, the rest to a log file.
    const consoleLog = createWriteStream(join(base, 'workbench-console.log'));
    await page.exposeFunction('codeAutomationLog', (type, args) => {
      const text = format(...(Array.isArray(args) ? args : [args]));
      consoleLog.write(`[${type}] ${text}\n`);
      if (text.startsWith(TEST_LOG_MARKER)) process.stdout.write(text.slice(TEST_LOG_MARKER.length) + '\n');
      else if (VERBOSE) process.stdout.write(`[workbench ${type}] ${text}\n`);
    });
    await page.goto(
      workbenchUrl(server, folder, {
        extensionDevelopmentPath: opts.extensionDevelopmentPath,
        extensionTestsPath: opts.extensionTestsPath,
      }),
    );
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`tests did not finish within ${TIMEOUT_MS / 1000} s`)), TIMEOUT_MS);
    });
    try {
      return await Promise.race([exitCode, timeout]);
    } catch (err) {
      await page.screenshot({ path: join(base, 'launcher-timeout.png') }).catch(() => {});
      process.stderr.write(`${err.message}\n--- code-server output ---\n${serverLog.join('')}\n`);
      process.stderr.write(`workbench console: ${join(base, 'workbench-console.log')}\n`);
      return 1;
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`code-server-launcher: ${err.message}\n`);
    process.exit(1);
  },
);
