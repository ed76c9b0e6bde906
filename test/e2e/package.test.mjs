// The VSIX users install: packaged for this platform, it holds the bundles and only this
// platform's onnxruntime binaries; code-server installs it, and the installed copy runs
// (CLI on a real model, onnxruntime's native binding loads).
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { checkEntries, currentTarget, packageVsix } from '../../scripts/package.mjs';
import { ensureCodeServer } from '../../scripts/ensure-code-server.mjs';
import { freshDir, repoRoot, writeModels } from './workspace.mjs';

const target = currentTarget();
const dir = freshDir('package');

describe(`VSIX for ${target}`, { timeout: 180_000 }, () => {
  let vsix;
  let names;
  let installed;

  before(() => {
    ({ vsix, entries: names } = packageVsix({ target, build: false, outDir: dir, quiet: true }));
    names = names.map((e) => e.name);
  });

  it('holds the bundles and this platform’s onnxruntime binaries, nothing else from node_modules', () => {
    assert.deepEqual(checkEntries(names, target), []);
    const binaries = names.filter((n) => n.includes('/onnxruntime-node/bin/'));
    assert.ok(binaries.length > 0);
    assert.ok(binaries.every((n) => n.includes(`/${target.replace('-', '/')}/`)), binaries.join('\n'));
    assert.ok(!names.some((n) => n.endsWith('.map')), 'no source maps');
  });

  it('installs into code-server', () => {
    const { node, codeServer, env } = ensureCodeServer();
    const extensionsDir = join(dir, 'extensions');
    const r = spawnSync(
      node,
      [codeServer, '--extensions-dir', extensionsDir, '--user-data-dir', join(dir, 'user-data'), '--install-extension', vsix],
      { env: { ...env, HOME: join(dir, 'home'), TMPDIR: dir }, encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
    const folder = readdirSync(extensionsDir).find((f) => f.startsWith(`${pkg.publisher}.${pkg.name}-${pkg.version}`));
    assert.ok(folder, `installed folder in ${readdirSync(extensionsDir).join(', ')}`);
    installed = join(extensionsDir, folder);
    assert.ok(existsSync(join(installed, 'dist', 'extension.js')));
  });

  it('runs from the installed copy: the CLI reads a model, onnxruntime loads', () => {
    assert.ok(installed, 'installed by the previous test');
    const models = join(dir, 'models');
    writeModels(models);
    const r = spawnSync(process.execPath, [join(installed, 'dist', 'cli.js'), 'inspect', join(models, 'conv-net.safetensors'), '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout);
    assert.ok(info.tensors.some((t) => t.name === 'features.0.conv.weight' && t.shape.join() === '16,3,3,3'));
    // onnxruntime-node resolves from the extension's own node_modules and loads its binary.
    const ort = spawnSync(process.execPath, ['-e', 'const o = require("onnxruntime-node"); console.log(typeof o.InferenceSession.create)'], {
      cwd: installed,
      encoding: 'utf8',
    });
    assert.equal(ort.status, 0, ort.stderr);
    assert.equal(ort.stdout.trim(), 'function');
  });
});
