// `npm run package [-- --target linux-x64] [-- --no-build]`: a platform-specific VSIX.
// Everything but onnxruntime-node is bundled by esbuild; onnxruntime-node stays a runtime
// dependency because it loads a native binary, so the VSIX carries that package with only
// the target platform's binaries (the committed .vscodeignore plus one "!" line for them).
// Prints the VSIX path and its contents summary; exits non-zero if a required file is missing.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listZip } from './zip-list.mjs';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const TARGETS = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64', 'win32-x64', 'win32-arm64'];

export function currentTarget() {
  return `${process.platform}-${process.arch}`;
}

/** Files every VSIX must hold (paths inside the zip, under extension/). */
export function requiredEntries(target) {
  const [os, arch] = target.split('-');
  return [
    'extension/package.json',
    'extension/dist/extension.js',
    'extension/dist/cli.js',
    'extension/node_modules/onnxruntime-node/package.json',
    'extension/node_modules/onnxruntime-node/dist/index.js',
    `extension/node_modules/onnxruntime-node/bin/napi-v6/${os}/${arch}/onnxruntime_binding.node`,
    'extension/node_modules/onnxruntime-common/package.json',
    'extension/node_modules/onnxruntime-common/dist/cjs/index.js',
  ];
}

/** Problems with a VSIX's file list for `target`: missing files, other platforms, stray packages. */
export function checkEntries(names, target) {
  const problems = [];
  for (const need of requiredEntries(target)) if (!names.includes(need)) problems.push(`missing ${need}`);
  const [os, arch] = target.split('-');
  for (const n of names) {
    const bin = /^extension\/node_modules\/onnxruntime-node\/bin\/napi-v\d+\/([^/]+)\/([^/]+)\//.exec(n);
    if (bin && (bin[1] !== os || bin[2] !== arch)) problems.push(`other platform's binary ${n}`);
    const pkg = /^extension\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(n);
    if (pkg && pkg[1] !== 'onnxruntime-node' && pkg[1] !== 'onnxruntime-common') problems.push(`unbundled package ${n}`);
    if (/^extension\/(src|test|scripts|bench|\.cache|demo)\//.test(n)) problems.push(`development file ${n}`);
  }
  return problems;
}

/** Builds (unless build=false) and packages; returns { vsix, entries }. quiet: vsce's output only on failure. */
export function packageVsix({ target = currentTarget(), build = true, outDir = repoRoot, quiet = false } = {}) {
  if (!TARGETS.includes(target)) throw new Error(`unknown target ${target} (one of ${TARGETS.join(', ')})`);
  const [os, arch] = target.split('-');
  if (build) {
    const r = spawnSync(process.execPath, ['esbuild.config.mjs'], { cwd: repoRoot, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('build failed');
  }
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  const ignoreDir = join(repoRoot, '.cache', 'package');
  mkdirSync(ignoreDir, { recursive: true });
  const ignoreFile = join(ignoreDir, `vscodeignore-${target}`);
  const base = readFileSync(join(repoRoot, '.vscodeignore'), 'utf8');
  writeFileSync(ignoreFile, `${base}\n# added by scripts/package.mjs for ${target}\n!node_modules/onnxruntime-node/bin/napi-v*/${os}/${arch}/**\n`);
  const vsix = join(outDir, `${pkg.name}-${target}-${pkg.version}.vsix`);
  const vsce = join(repoRoot, 'node_modules', '@vscode', 'vsce', 'vsce');
  const r = spawnSync(
    process.execPath,
    [vsce, 'package', '--target', target, '--ignoreFile', ignoreFile, '--out', vsix, '--skip-license', '--allow-missing-repository', '--no-rewrite-relative-links'],
    // vsce asks `npm list --production` for the dependency folders (works offline).
    { cwd: repoRoot, stdio: ['ignore', quiet ? 'pipe' : 'inherit', quiet ? 'pipe' : 'inherit'], encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`vsce package failed (exit ${r.status})${quiet ? `\n${r.stdout}${r.stderr}` : ''}`);
  const entries = listZip(vsix);
  return { vsix, entries };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const ti = args.indexOf('--target');
  const target = ti >= 0 ? args[ti + 1] : args.find((a) => a.startsWith('--target='))?.slice(9) ?? currentTarget();
  try {
    const t0 = Date.now();
    const { vsix, entries } = packageVsix({ target, build: !args.includes('--no-build') });
    const names = entries.map((e) => e.name);
    const byTop = new Map();
    for (const e of entries) {
      const top = e.name.split('/').slice(0, e.name.startsWith('extension/node_modules/') ? 3 : 2).join('/');
      byTop.set(top, (byTop.get(top) ?? 0) + e.size);
    }
    console.log(`\n${vsix} (${(statSync(vsix).size / 1e6).toFixed(1)} MB, ${entries.length} files, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    for (const [top, size] of [...byTop].sort()) console.log(`  ${top.padEnd(50)} ${(size / 1e6).toFixed(2)} MB unpacked`);
    const problems = checkEntries(names, target);
    if (problems.length) {
      console.error(`\nthe VSIX is not right:\n  ${problems.join('\n  ')}`);
      process.exit(1);
    }
    console.log(`\ninstall: code --install-extension ${vsix}`);
  } catch (err) {
    console.error(`package: ${err.message}`);
    process.exit(1);
  }
}
