// Git review in real repositories made here: "Set Up Git Diff for Models" writes the
// attributes line and the local textconv config that make plain `git diff` run the bundled
// CLI; and a .stpatch made by the engine is a small, readable git diff when one more element
// is edited.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildEngine } from './cli-build';
import { runCliInProcess } from './cli-run';
import { tempFolder, writeModel, type GenTensor } from './patch-helpers';
import { ATTRIBUTES_LINE, hasAttributesLine, plannedSetup, setUpGitDiff, shellQuote, textconvCommand, TEXTCONV_KEY } from '../../src/extension/review/gitSetup';
import { existsAt, repoPath, repoRoot, showText } from '../../src/extension/review/git';

const LIMIT = { timeout: 20_000 };
const root = tempFolder('tensorscope-review-git-');
// Keep the user's and the system's git configuration out of the test.
const GLOBAL = join(root, 'gitconfig');
writeFileSync(GLOBAL, '');
Object.assign(process.env, { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: GLOBAL, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' });

function git(repo: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: repo, encoding: 'utf8' });
}

function newRepo(name: string): string {
  const repo = join(root, name);
  git(root, 'init', '-q', repo);
  return repo;
}

function model(w: Float32Array): GenTensor[] {
  return [
    { name: 'bias', dtype: 'F32', shape: [4], data: new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer) },
    { name: 'weight', dtype: 'F32', shape: [16, 16], data: new Uint8Array(w.buffer.slice(0)) },
  ];
}

/** The -/+ lines of a diff (not the ---/+++ file names). */
function changedLines(diff: string): string[] {
  return diff.split('\n').filter((l) => /^[-+](?![-+]{2} )/.test(l));
}

test('shell quoting survives spaces and quotes', () => {
  assert.equal(shellQuote("/opt/My App/it's/node"), `'/opt/My App/it'\\''s/node'`);
  const out = execFileSync('sh', ['-c', `printf %s ${shellQuote("a b'c\"$HOME")}`], { encoding: 'utf8' });
  assert.equal(out, `a b'c"$HOME`);
  assert.ok(hasAttributesLine('*.bin -diff\n*.safetensors  filter=lfs diff=tensorscope merge=lfs\n'));
  assert.ok(!hasAttributesLine('*.safetensors filter=lfs\n# *.safetensors diff=tensorscope\n'));
});

test('set up: appends the attributes line once, sets the local textconv, and git diff then runs the CLI', LIMIT, async () => {
  const repo = newRepo('setup');
  // An existing .gitattributes without a final newline keeps its lines.
  writeFileSync(join(repo, '.gitattributes'), '*.bin -diff');
  const w = Float32Array.from({ length: 256 }, (_, i) => Math.sin(i));
  writeModel(join(repo, 'm.safetensors'), model(w));
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'model');

  const cli = await buildEngine();
  const command = textconvCommand(process.execPath, cli);
  assert.deepEqual(await plannedSetup(repo), { attributesAdded: true, previousCommand: null });
  const first = await setUpGitDiff(repo, command);
  assert.deepEqual([first.attributesAdded, first.previousCommand], [true, null]);
  assert.equal(readFileSync(join(repo, '.gitattributes'), 'utf8'), `*.bin -diff\n${ATTRIBUTES_LINE}\n`);
  assert.equal(git(repo, 'config', '--local', '--get', TEXTCONV_KEY).trim(), command);
  assert.equal(git(repo, 'check-attr', 'diff', 'm.safetensors').trim(), 'm.safetensors: diff: tensorscope');
  // The global config is untouched: the setting is the repository's own.
  assert.equal(readFileSync(GLOBAL, 'utf8'), '');

  // Again: nothing changes.
  const again = await setUpGitDiff(repo, command);
  assert.deepEqual([again.attributesAdded, again.previousCommand], [false, command]);
  assert.equal(readFileSync(join(repo, '.gitattributes'), 'utf8'), `*.bin -diff\n${ATTRIBUTES_LINE}\n`);

  // Plain git diff now names the changed tensor through the bundled CLI.
  w[17] = 42;
  writeModel(join(repo, 'm.safetensors'), model(w));
  const lines = changedLines(git(repo, 'diff', '--', 'm.safetensors'));
  assert.equal(lines.length, 2, lines.join('\n'));
  assert.match(lines[0], /^-weight F32 \[16, 16\] sha256:[0-9a-f]{16} /);
  assert.match(lines[1], /^\+weight F32 \[16, 16\] sha256:[0-9a-f]{16} .*max=42$/);
});

test('a committed .stpatch and one more edited element: a few-line git diff', LIMIT, async () => {
  const repo = newRepo('patches');
  const base = Float32Array.from({ length: 256 }, (_, i) => i / 4);
  writeModel(join(repo, 'm.safetensors'), model(base));
  const edited = base.slice();
  for (let i = 40; i < 48; i++) edited[i] = -edited[i];
  edited[200] = 7;
  writeModel(join(root, 'v1.safetensors'), model(edited));
  const diff = async (target: string) => {
    const r = await runCliInProcess(['diff', join(repo, 'm.safetensors'), target, '-o', join(repo, 'm.stpatch')]);
    assert.equal(r.code, 0, r.stderr);
  };
  await diff(join(root, 'v1.safetensors'));
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'patch v1');
  const v1 = readFileSync(join(repo, 'm.stpatch'), 'utf8');

  // One more element, next to the first run: the hunk grows by one element.
  edited[48] = -99;
  writeModel(join(root, 'v2.safetensors'), model(edited));
  await diff(join(root, 'v2.safetensors'));
  const lines = changedLines(git(repo, 'diff', '--', 'm.stpatch'));
  // Element 48 starts a row of the 16-byte grid: the result-sha256 and hunk lines change,
  // one row pair is added, and no other line moves.
  assert.deepEqual(lines.map((l) => l.split(' ')[0]), ['-result-sha256', '+result-sha256', '-@@', '+@@', '+-', '++'], lines.join('\n'));
  assert.ok(lines.some((l) => /^\+@@ "weight" elements 40:49 /.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /# -99$/.test(l)), 'the new value is readable in the diff');

  // The helpers the "Compare with HEAD" command uses read the committed version.
  const top = await repoRoot(join(repo));
  assert.equal(top, repo);
  assert.equal(repoPath(repo, join(repo, 'm.stpatch')), 'm.stpatch');
  assert.equal(await existsAt(repo, 'HEAD', 'm.stpatch'), true);
  assert.equal(await existsAt(repo, 'HEAD', 'nope.stpatch'), false);
  assert.equal(await showText(repo, 'HEAD', 'm.stpatch'), v1);
  assert.equal(await repoRoot(root), null);
});
