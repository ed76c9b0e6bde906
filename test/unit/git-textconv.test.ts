// A real git repository: textconv configured as documented makes `git diff` name exactly
// the changed tensor; LFS pointers diff as one line; `compare git:REV:PATH` reads committed
// versions. Runs the freshly built CLI bundle through git, as a user's git would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildEngine } from './cli-build';
import { safetensorsBytes } from './cli-run';

const root = mkdtempSync(join(tmpdir(), 'tensorscope-git-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

// Keep the user's and the system's git configuration out of the test.
const env = { ...process.env, HOME: root, XDG_CONFIG_HOME: root, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: join(root, 'gitconfig') };
writeFileSync(env.GIT_CONFIG_GLOBAL, '');

function git(repo: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repo, env, encoding: 'utf8' });
}

async function newRepo(name: string): Promise<string> {
  const repo = join(root, name);
  git(root, 'init', '-q', repo);
  writeFileSync(join(repo, '.gitattributes'), '*.safetensors diff=tensorscope\n');
  const cli = await buildEngine();
  git(repo, 'config', 'diff.tensorscope.textconv', `'${process.execPath}' '${cli}' textconv`);
  return repo;
}

function model(changeBias = false): Buffer {
  const weight = new Float32Array(64 * 32).map((_, i) => Math.cos(i));
  const bias = new Float32Array(32).map((_, i) => i / 10);
  if (changeBias) bias[5] = 42;
  return safetensorsBytes([
    { name: 'layer.weight', dtype: 'F32', shape: [64, 32], data: new Uint8Array(weight.buffer) },
    { name: 'layer.bias', dtype: 'F32', shape: [32], data: new Uint8Array(bias.buffer) },
    { name: 'head.weight', dtype: 'F32', shape: [4, 4], data: new Uint8Array(64).fill(0x3f) },
  ]);
}

/** The -/+ lines of a diff (not the ---/+++ file names). */
function changedLines(diff: string): string[] {
  return diff.split('\n').filter((l) => /^[-+](?![-+]{2} )/.test(l));
}

test('git diff with the textconv driver names exactly the changed tensor', async () => {
  const repo = await newRepo('model');
  writeFileSync(join(repo, 'model.safetensors'), model());
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'model');
  writeFileSync(join(repo, 'model.safetensors'), model(true));

  // Working tree against HEAD, then the committed change.
  const worktree = changedLines(git(repo, 'diff'));
  git(repo, 'commit', '-q', '-am', 'change bias');
  const committed = changedLines(git(repo, 'diff', 'HEAD~1', 'HEAD'));
  for (const lines of [worktree, committed]) {
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(lines[0], /^-layer\.bias F32 \[32\] sha256:[0-9a-f]{16} /);
    assert.match(lines[1], /^\+layer\.bias F32 \[32\] sha256:[0-9a-f]{16} /);
  }
  assert.deepEqual(committed, worktree);
  // Without textconv git only says the binary file differs: the driver is what names the tensor.
  assert.match(git(repo, 'diff', '--no-textconv', 'HEAD~1', 'HEAD'), /Binary files .* differ/);
});

test('LFS pointers diff as one line each; a malformed model does not break git diff', async () => {
  const repo = await newRepo('lfs');
  const pointer = (oid: string, size: number) => `version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\nsize ${size}\n`;
  writeFileSync(join(repo, 'big.safetensors'), pointer('1'.repeat(64), 1000));
  writeFileSync(join(repo, 'bad.safetensors'), model().subarray(0, 100));
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'pointer');
  writeFileSync(join(repo, 'big.safetensors'), pointer('2'.repeat(64), 2000));
  writeFileSync(join(repo, 'bad.safetensors'), model());
  const diff = git(repo, 'diff');
  assert.deepEqual(changedLines(diff).filter((l) => l.includes('Git LFS')), [
    `-# tensorscope: Git LFS pointer (content not fetched): oid sha256:${'1'.repeat(64)} size 1000`,
    `+# tensorscope: Git LFS pointer (content not fetched): oid sha256:${'2'.repeat(64)} size 2000`,
  ]);
  const bad = changedLines(diff).filter((l) => !l.includes('Git LFS'));
  assert.match(bad[0], /^-# tensorscope: .*bad\.safetensors: /);
  assert.equal(bad.length, 1 + 3); // the error line, then the three tensors of the good file
});

test('LFS pointers whose content this clone has diff as tensors, in git diff and compare git:REV:PATH', async () => {
  const repo = await newRepo('lfs-local');
  /** Stores content as git-lfs would and returns its pointer text. */
  const store = (content: Buffer): string => {
    const oid = createHash('sha256').update(content).digest('hex');
    const dirPath = join(repo, '.git', 'lfs', 'objects', oid.slice(0, 2), oid.slice(2, 4));
    mkdirSync(dirPath, { recursive: true });
    writeFileSync(join(dirPath, oid), content);
    return `version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\nsize ${content.length}\n`;
  };
  writeFileSync(join(repo, 'model.safetensors'), store(model()));
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'one');
  writeFileSync(join(repo, 'model.safetensors'), store(model(true)));
  git(repo, 'commit', '-q', '-am', 'two');

  const lines = changedLines(git(repo, 'diff', 'HEAD~1', 'HEAD'));
  assert.equal(lines.length, 2, lines.join('\n'));
  assert.match(lines[0], /^-layer\.bias F32 \[32\] sha256:/);
  assert.match(lines[1], /^\+layer\.bias F32 \[32\] sha256:/);

  const cli = await buildEngine();
  const r = spawnSync(process.execPath, [cli, 'compare', 'git:HEAD~1:model.safetensors', 'git:HEAD:model.safetensors', '--json'], { cwd: repo, env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).counts, { changed: 1, dtype: 0, shape: 0, added: 0, removed: 0, unchanged: 2 });
});

test('compare git:REV:PATH reads committed versions; bad revisions are one-line errors', async () => {
  const repo = await newRepo('compare');
  writeFileSync(join(repo, 'model.safetensors'), model());
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'one');
  writeFileSync(join(repo, 'model.safetensors'), model(true));
  git(repo, 'commit', '-q', '-am', 'two');
  const cli = await buildEngine();
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { cwd: repo, env, encoding: 'utf8' });

  const r = run('compare', 'git:HEAD~1:model.safetensors', 'git:HEAD:model.safetensors', '--json');
  assert.equal(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.equal(result.pathA, 'git:HEAD~1:model.safetensors');
  assert.deepEqual(
    result.tensors.filter((t: { change: string }) => t.change !== 'unchanged').map((t: { name: string }) => t.name),
    ['layer.bias'],
  );
  assert.equal(result.tensors.find((t: { name: string }) => t.name === 'layer.bias').metrics.maxAbs, 42 - 0.5);
  // The working tree file against the index (empty REV), and the file as is.
  const worktree = run('compare', 'git:HEAD~1:model.safetensors', 'model.safetensors', '--json');
  assert.equal(JSON.parse(worktree.stdout).counts.changed, 1);
  assert.equal(JSON.parse(run('compare', 'git::model.safetensors', 'model.safetensors', '--json').stdout).counts.changed, 0);

  const bad = run('compare', 'git:nope:model.safetensors', 'model.safetensors');
  assert.equal(bad.status, 2);
  assert.equal(bad.stdout, '');
  assert.equal(bad.stderr.trimEnd().split('\n').length, 1, bad.stderr);
  assert.match(bad.stderr, /^tensorscope: git:nope:model\.safetensors: /);
});
