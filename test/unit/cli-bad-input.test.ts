// Every `tensorscope` command with bad input of every kind, table-driven: missing and extra
// arguments, unknown flags, flags without values, bad numbers, unreadable, empty, truncated
// and foreign files, malformed patches, bad outputs (missing folder, an input, a read-only
// folder), unknown and 1-D tensors, slices out of range, git:REV:PATH outside a repository.
// Each must exit 2 with exactly one short line on stderr and nothing on stdout, and leave no
// file behind (every file under the test folder is compared before and after, hidden
// temporaries included). Cases run through main() in this process (the same dispatcher and
// commands) and a share of them, every kind included, through the built CLI in child processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { buildEngine } from './cli-build';
import { runCli, runCliInProcess, type CliResult } from './cli-run';
import { COMMANDS } from '../../src/engine/commands/index';
import { serializeSafetensors, writeSafetensors } from '../../src/engine/safetensors/writer';

const tmp = realpathSync(mkdtempSync(join(tmpdir(), 'tensorscope-bad-input-')));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
chmodSync(tmp, 0o755); // the read-only case may run as another user
const IN = join(tmp, 'in');
const CASES = join(tmp, 'cases'); // one empty folder per case for its outputs
const OK = join(tmp, 'ok'); // outputs of the valid runs (not under the before/after comparison)
const HOME = join(tmp, 'home');
const GIT_TMP = join(tmp, 'git-tmp'); // TMPDIR of git:REV:PATH runs: their temp files must not stay
for (const d of [IN, CASES, OK, HOME, GIT_TMP]) mkdirSync(d, { mode: 0o755 });
chmodSync(HOME, 0o777);
const at = (name: string) => join(IN, name);

const A = at('a.safetensors');
const B = at('b.safetensors');
const C = at('c.safetensors');
const P = at('p.stpatch'); // a -> b
const Q = at('q.stpatch'); // b -> c, so `compose P Q` fits

const f32 = (values: number[]) => new Uint8Array(Float32Array.from(values).buffer);
const matrix = Array.from({ length: 32 }, (_, i) => Math.sin(i + 1));
const model = (m: number[]) => [
  { name: 'm', dtype: 'F32' as const, shape: [8, 4], data: f32(m) },
  { name: 'v', dtype: 'F32' as const, shape: [6], data: f32([1, 2, 3, 4, 5, 6]) },
];

let caseCount = 0;
/** A fresh empty folder for one case's output; it must still be empty afterwards. */
function caseDir(): string {
  const dir = join(CASES, String(caseCount++));
  mkdirSync(dir);
  return dir;
}

interface Case {
  args: string[];
  expect: RegExp;
  /** Spawn the built CLI (else main() in this process). */
  spawn?: boolean;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  asNobody?: boolean;
  dir?: string;
}

const ROOT = process.getuid?.() === 0;
const NOBODY = 65534;

/** The built CLI in a child process; as root, `asNobody` runs it as user nobody (permissions apply). */
async function spawnCli(args: string[], c: Pick<Case, 'cwd' | 'env' | 'asNobody'> = {}): Promise<CliResult> {
  // HOME: where onnxruntime keeps its telemetry id (nobody cannot write root's).
  return runCli(args, { HOME, ...c.env }, { cwd: c.cwd ?? tmp, ...(c.asNobody && ROOT ? { uid: NOBODY, gid: NOBODY } : {}) });
}

/** Runs `work` on every item, at most `limit` at a time (the machine may have two cores). */
async function eachLimited<T, R>(items: T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Every file and folder under `root`: relative path -> size and content hash (folders: 'dir'). */
function snapshot(root: string, skip: string[]): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (skip.includes(path)) continue;
      const s = statSync(path, { throwIfNoEntry: false });
      if (!s) {
        out.set(relative(root, path), 'dangling link');
      } else if (s.isDirectory()) {
        out.set(relative(root, path), 'dir');
        if (s.mode & 0o400) walk(path);
      } else {
        out.set(relative(root, path), `${s.size} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`);
      }
    }
  };
  walk(root);
  return out;
}

/** Exit 2, exactly one short line on stderr in the project's style, nothing on stdout. */
function assertBadInput(r: CliResult, expect: RegExp, what: string): void {
  const shown = `${what}\n  -> exit ${r.code}, stderr ${JSON.stringify(r.stderr)}, stdout ${JSON.stringify(r.stdout.slice(0, 200))}`;
  assert.equal(r.code, 2, shown);
  assert.equal(r.stdout, '', shown);
  assert.match(r.stderr, /^tensorscope: [^\n]+\n$/, shown);
  assert.ok(r.stderr.length < 400, shown);
  assert.doesNotMatch(r.stderr, /\n\s+at |\b\w*Error: |\bE[A-Z]{3,}: |\.tmp-\d+-|undefined|\[object /, shown);
  assert.match(r.stderr, expect, shown);
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** What a valid command line looks like, for each command (the sweep derives its argument errors from it). */
interface Template {
  positionals: string[];
  options?: string[];
  /** The -o output's extension, for commands that write one. */
  output?: string;
}
const TEMPLATES: Record<string, Template> = {
  inspect: { positionals: [A] },
  stats: { positionals: [A, 'm'] },
  slice: { positionals: [A, 'm', '[0]'] },
  serve: { positionals: [] },
  compare: { positionals: [A, B] },
  textconv: { positionals: [A] },
  diff: { positionals: [A, B], output: '.stpatch' },
  apply: { positionals: [A, P], output: '.safetensors' },
  verify: { positionals: [A, P] },
  revert: { positionals: [P], output: '.stpatch' },
  compose: { positionals: [P, Q], output: '.stpatch' },
  umap: { positionals: [A, 'm'], options: ['--neighbors', '3', '--epochs', '20'], output: '.safetensors' },
  pca: { positionals: [A, 'm'], options: ['--components', '2'], output: '.safetensors' },
  knn: { positionals: [A, 'm'], options: ['--neighbors', '2'], output: '.safetensors' },
};
const WRITERS = Object.keys(TEMPLATES).filter((name) => TEMPLATES[name].output);

function commandLine(name: string, out?: string): string[] {
  const t = TEMPLATES[name];
  return [name, ...t.positionals, ...(t.options ?? []), ...(t.output && out ? ['-o', out] : [])];
}

test('setup: tiny models and patches; every command has a valid template that works', async () => {
  await writeSafetensors(A, model(matrix));
  await writeSafetensors(B, model(matrix.map((x, i) => (i === 3 ? x + 1 : x))));
  await writeSafetensors(C, model(matrix.map((x, i) => (i === 3 ? x + 1 : i === 9 ? x - 2 : x))));
  for (const [args, path] of [[['diff', A, B, '-o', P], P], [['diff', B, C, '-o', Q], Q]] as const) {
    const r = await runCliInProcess([...args]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(statSync(path).size > 0);
  }
  // Bad model files.
  const good = readFileSync(A);
  mkdirSync(at('folder.safetensors'));
  writeFileSync(at('empty.safetensors'), '');
  writeFileSync(at('truncated.safetensors'), good.subarray(0, good.length - 5));
  writeFileSync(at('truncated-header.safetensors'), good.subarray(0, 20));
  writeFileSync(at('image.png'), Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex'));
  writeFileSync(at('notes.txt'), 'some notes\nnot a model\n');
  // Bad patches.
  const patchText = readFileSync(P, 'utf8');
  const lines = patchText.split('\n');
  const row = lines.findIndex((l) => l.startsWith('- '));
  lines[row] = lines[row].replace(/^- \S+/, '- zz');
  writeFileSync(at('malformed.stpatch'), lines.join('\n'));
  writeFileSync(at('truncated.stpatch'), patchText.slice(0, 300));
  writeFileSync(at('empty.stpatch'), '');
  mkdirSync(at('folder.stpatch'));
  // Outputs that cannot be written.
  mkdirSync(at('readonly'), { mode: 0o555 });
  chmodSync(at('readonly'), 0o555);
  symlinkSync(A, at('link-to-a.safetensors'));

  assert.deepEqual(Object.keys(TEMPLATES).sort(), COMMANDS.map((c) => c.name).sort(), 'a template for every command');
  // The templates are valid: the bad cases below differ from them in one thing only.
  await eachLimited(
    Object.keys(TEMPLATES).filter((name) => name !== 'serve'),
    4,
    async (name) => {
      const r = await runCliInProcess(commandLine(name, join(OK, `${name}${TEMPLATES[name].output}`)));
      assert.equal(r.code, 0, `${commandLine(name).join(' ')}: ${r.stderr}`);
    },
  );
});

/** The sweep's table. */
function badCases(): Case[] {
  const cases: Case[] = [];
  const bad = (args: string[], expect: RegExp, options: Omit<Case, 'args' | 'expect'> = {}) => cases.push({ args, expect, ...options });

  // Arguments, derived from each command's template.
  for (const name of Object.keys(TEMPLATES)) {
    const t = TEMPLATES[name];
    const dir = caseDir();
    const out = join(dir, `x${t.output}`);
    const usage = new RegExp(`^tensorscope: ${name}: .*\\(usage: tensorscope ${esc(name)}`);
    if (t.positionals.length > 0) bad([name], new RegExp(`${name}: missing ${t.positionals.length > 1 ? '\\S+ \\S+' : '\\S+'}`), { dir });
    bad([...commandLine(name, out), '--bogus'], /unknown option '--bogus'/, { dir });
    bad([...commandLine(name, out), '-Z'], /unknown option '-Z'/, { dir });
    bad([name, ...t.positionals, 'extra.bin', ...(t.options ?? []), ...(t.output ? ['-o', out] : [])], /unexpected argument 'extra\.bin'/, { dir });
    bad([...commandLine(name, out), '--bogus'], usage, { dir });
    if (t.output) {
      bad(commandLine(name), new RegExp(`${name}: missing -o`), { dir });
      bad([...commandLine(name), '-o'], /option '-o' needs a value/, { dir });
      bad([...commandLine(name), '--output'], /option '--output' needs a value/, { dir });
      bad([...commandLine(name), '-o', ''], new RegExp(`${name}: (missing )?-o`), { dir });
    }
  }

  // Numbers and other option values.
  const numbers: [string, string[], RegExp][] = [
    ['umap', ['--neighbors', 'abc'], /--neighbors must be an integer from 2 to \d+, not 'abc'/],
    ['umap', ['--neighbors', '1.5'], /--neighbors must be an integer/],
    ['umap', ['--neighbors', '1e3'], /--neighbors must be an integer/],
    ['umap', ['--seed', '-1'], /--seed must be an integer from 0 to \d+, not '-1'/],
    ['umap', ['--seed=-1'], /--seed must be an integer from 0 to \d+, not '-1'/],
    ['umap', ['--components', '0'], /--components must be an integer from 2 to 3, not '0'/],
    ['umap', ['--components', '4'], /--components must be an integer from 2 to 3, not '4'/],
    ['umap', ['--min-dist', ''], /--min-dist must be a number from 0 to 1, not ''/],
    ['umap', ['--min-dist', 'abc'], /--min-dist must be a number from 0 to 1, not 'abc'/],
    ['umap', ['--min-dist', '0x1'], /--min-dist must be a number/],
    ['umap', ['--min-dist', '-0.5'], /--min-dist must be a number from 0 to 1, not '-0\.5'/],
    ['umap', ['--min-dist', '2'], /--min-dist must be a number/],
    ['umap', ['--epochs', '0'], /--epochs must be an integer from 1/],
    ['umap', ['--pca', '-1'], /--pca must be an integer from 0/],
    ['umap', ['--metric', 'manhattan'], /unknown metric 'manhattan'/],
    ['umap', ['--seed'], /option '--seed' needs a value/],
    ['umap', ['--seed', '--no-scale'], /option '--seed' needs a value/],
    ['umap', ['--no-scale=yes'], /option '--no-scale' takes no value/],
    ['umap', ['--neighbors', '15'], /umap: a\.safetensors: tensor "m": neighbors \(15.*number of rows \(8\)/],
    ['pca', ['--components', '0'], /--components must be an integer from 1 to \d+, not '0'/],
    ['pca', ['--components', 'abc'], /--components must be an integer/],
    ['pca', ['--components', '-3'], /--components must be an integer from 1 to \d+, not '-3'/],
    ['pca', ['--components', '5'], /pca: --components 5 exceeds min\(rows, columns\) = 4 of a\.safetensors: tensor "m"/],
    ['pca', ['--seed', '-1'], /--seed must be an integer from 0/],
    ['pca', ['--seed', '1.5'], /--seed must be an integer/],
    ['knn', ['--neighbors', 'abc'], /--neighbors must be an integer from 1 to \d+, not 'abc'/],
    ['knn', ['--neighbors', '0'], /--neighbors must be an integer/],
    ['knn', ['--neighbors', '-1'], /--neighbors must be an integer from 1 to \d+, not '-1'/],
    ['knn', ['--neighbors', '8'], /knn: a\.safetensors: tensor "m": .*neighbours \(8\).*number of rows \(8\)/],
    ['knn', ['--metric', 'hamming'], /unknown metric 'hamming'/],
    ['knn', ['--metric'], /option '--metric' needs a value/],
    ['stats', ['--bins', '0'], /--bins must be an integer from 1/],
    ['stats', ['--bins', 'many'], /--bins must be an integer/],
    ['stats', ['--bins', '-5'], /--bins must be an integer from 1 to \d+, not '-5'/],
    ['stats', ['--bins'], /option '--bins' needs a value/],
    ['stats', ['--json=1'], /option '--json' takes no value/],
    ['slice', ['--limit', '0'], /--limit must be an integer from 1/],
    ['slice', ['--limit', 'x'], /--limit must be an integer/],
    ['slice', ['--limit', '3'], /has 4 values, more than --limit 3/],
    ['compare', ['--sort', 'size'], /--sort must be one of name, maxAbs, meanAbs, rel, cos, not 'size'/],
    ['compare', ['--sort'], /option '--sort' needs a value/],
    ['compare', ['--all=1'], /option '--all' takes no value/],
    ['apply', ['--only', '[abc'], /unclosed "\["/],
    ['apply', ['--only', 'zzz*'], /--only "zzz\*" matches none of the patch's 1 tensors/],
    ['apply', ['--only'], /option '--only' needs a value/],
  ];
  for (const [name, extra, expect] of numbers) {
    const dir = caseDir();
    bad([...commandLine(name, join(dir, `x${TEMPLATES[name].output ?? ''}`)), ...extra], expect, { dir });
  }

  // Bad model files, in every place a command reads a model.
  const modelSlots: ((file: string, out: string) => string[])[] = [
    (f) => ['inspect', f],
    (f) => ['stats', f, 'm'],
    (f) => ['slice', f, 'm', '[0]'],
    (f, o) => ['umap', f, 'm', '-o', o, '--neighbors', '3'],
    (f, o) => ['pca', f, 'm', '-o', o, '--components', '2'],
    (f, o) => ['knn', f, 'm', '-o', o, '--neighbors', '2'],
    (f, o) => ['diff', f, B, '-o', o],
    (f, o) => ['diff', A, f, '-o', o],
    (f, o) => ['apply', f, P, '-o', o],
    (f) => ['verify', f, P],
    (f) => ['compare', f, B],
    (f) => ['compare', A, f],
    (f, o) => ['compare', A, f, '-o', o],
  ];
  const badModels: [string, RegExp][] = [
    ['missing.safetensors', /missing\.safetensors: no such file/],
    ['folder.safetensors', /folder\.safetensors: is a directory, not a \.safetensors file/],
    ['empty.safetensors', /empty\.safetensors: file is 0 bytes, too short/],
    ['truncated.safetensors', /truncated\.safetensors: file ends 5 bytes before the end of the tensor data/],
    ['truncated-header.safetensors', /truncated-header\.safetensors: header length \d+ runs past the end/],
    ['image.png', /image\.png: header length \d+ exceeds/],
    ['notes.txt', /notes\.txt: header length \d+ exceeds/],
  ];
  for (const [file, expect] of badModels) {
    for (const slot of modelSlots) {
      const dir = caseDir();
      bad(slot(at(file), join(dir, 'x.out')), expect, { dir });
    }
  }

  // Bad patches, in every place a command reads one.
  const patchSlots: ((file: string, out: string) => string[])[] = [
    (f, o) => ['apply', A, f, '-o', o],
    (f) => ['verify', A, f],
    (f, o) => ['revert', f, '-o', o],
    (f, o) => ['compose', f, Q, '-o', o],
    (f, o) => ['compose', P, f, '-o', o],
  ];
  const badPatches: [string, RegExp][] = [
    ['missing.stpatch', /missing\.stpatch: no such file/],
    ['folder.stpatch', /folder\.stpatch: is a folder, not a \.stpatch file/],
    ['empty.stpatch', /empty\.stpatch:1: empty file: expected "stpatch 1"/],
    ['malformed.stpatch', /malformed\.stpatch:\d+: expected hex bytes, got "zz"/],
    ['truncated.stpatch', /truncated\.stpatch:\d+: /],
    ['image.png', /image\.png:1: not a \.stpatch file/],
    ['a.safetensors', /a\.safetensors:1: not a \.stpatch file/],
  ];
  for (const [file, expect] of badPatches) {
    for (const slot of patchSlots) {
      const dir = caseDir();
      bad(slot(at(file), join(dir, 'x.out')), expect, { dir });
    }
  }

  // Tensors and slices.
  for (const name of ['stats', 'slice', 'umap', 'pca', 'knn']) {
    const dir = caseDir();
    const args = commandLine(name, join(dir, 'x.safetensors'));
    args[2] = 'nope';
    bad(args, /a\.safetensors: no tensor named "nope"/, { dir });
  }
  for (const name of ['umap', 'pca', 'knn']) {
    const dir = caseDir();
    const args = commandLine(name, join(dir, 'x.safetensors'));
    args[2] = 'v';
    bad(args, /a\.safetensors: tensor "v" has shape \[6\]; a projection needs a 2-D tensor/, { dir });
  }
  const slices: [string, string, RegExp][] = [
    ['m', '[8]', /tensor "m": index 8 is out of bounds for dimension 0 of size 8/],
    ['m', '[-9]', /tensor "m": index -9 is out of bounds for dimension 0 of size 8/],
    ['m', '[0, 4]', /tensor "m": index 4 is out of bounds for dimension 1 of size 4/],
    ['m', '[0,0,0]', /tensor "m": bad slice "\[0,0,0\]": too many indices/],
    ['m', 'abc', /tensor "m": bad slice "abc"/],
    ['m', '[::0]', /tensor "m": bad slice "\[::0\]": slice step cannot be zero/],
    ['m', '[0,,1]', /tensor "m": bad slice "\[0,,1\]"/],
    ['v', '[6]', /a\.safetensors: tensor "v": index 6 is out of bounds/],
  ];
  for (const [tensor, slice, expect] of slices) bad(['slice', A, tensor, slice], expect);

  // Outputs: a missing folder, a file as folder, a folder in the way, an input, a read-only folder.
  for (const name of WRITERS) {
    const dir = caseDir();
    const ext = TEMPLATES[name].output;
    bad(commandLine(name, join(dir, 'missing', `x${ext}`)), new RegExp(`${esc(join(dir, 'missing', `x${ext}`))}: cannot write: no such folder`), { dir });
    bad(commandLine(name, join(at('notes.txt'), `x${ext}`)), /notes\.txt\/x\.\w+: cannot write: .*notes\.txt is not a folder/);
    bad(commandLine(name, at('folder.safetensors')), /folder\.safetensors: cannot write: a folder is in the way/);
    bad(commandLine(name, at(`readonly/x${ext}`)), /readonly\/x\.\w+: cannot write: permission denied/, { asNobody: true, spawn: true });
  }
  const inputs: [string[], RegExp][] = [
    [['umap', A, 'm', '--neighbors', '3', '-o', A], /umap: -o \S*a\.safetensors is an input/],
    [['umap', A, 'm', '--neighbors', '3', '-o', at('link-to-a.safetensors')], /umap: -o \S*link-to-a\.safetensors is the input \S*a\.safetensors/],
    [['pca', A, 'm', '--components', '2', '-o', A], /pca: -o \S*a\.safetensors is an input/],
    [['pca', A, 'm', '--components', '2', '-o', 'in/../in/a.safetensors'], /pca: -o in\/\.\.\/in\/a\.safetensors is the input/],
    [['knn', A, 'm', '--neighbors', '2', '-o', A], /knn: -o \S*a\.safetensors is an input/],
    [['diff', A, B, '-o', A], /diff: -o \S*a\.safetensors is an input/],
    [['diff', A, B, '-o', B], /diff: -o \S*b\.safetensors is an input/],
    [['apply', A, P, '-o', P], /apply: -o \S*p\.stpatch is an input/],
    [['revert', P, '-o', P], /revert: -o \S*p\.stpatch is an input/],
    [['compose', P, Q, '-o', P], /compose: -o \S*p\.stpatch is an input/],
    [['compose', P, Q, '-o', Q], /compose: -o \S*q\.stpatch is an input/],
    [['compare', A, B, '-o', A], /compare: -o \S*a\.safetensors is an input/],
    [['compare', A, B, '-o', B], /compare: -o \S*b\.safetensors is an input/],
  ];
  // Relative paths are resolved from the child's folder: spawned, in `tmp`.
  for (const [args, expect] of inputs) bad(args, expect, { spawn: true });

  // git:REV:PATH outside a repository (git must not look above the test folder).
  const noRepo = { cwd: tmp, env: { GIT_CEILING_DIRECTORIES: dirname(tmp), TMPDIR: GIT_TMP }, spawn: true };
  bad(['compare', 'git:HEAD:in/a.safetensors', B], /git:HEAD:in\/a\.safetensors: not a git repository/, noRepo);
  bad(['compare', A, 'git:HEAD:in/b.safetensors'], /git:HEAD:in\/b\.safetensors: not a git repository/, noRepo);
  bad(['compare', 'git::in/a.safetensors', B, '-o', join(caseDir(), 'x.stpatch')], /git::in\/a\.safetensors: not a git repository/, noRepo);

  // Spawn every tenth of the rest too (the table's order mixes the kinds): stray output of
  // a library (warnings, console.log) and stack traces only show in a real process.
  cases.forEach((c, i) => (c.spawn ||= i % 10 === 0));
  return cases;
}

test('bad input of every kind: exit 2, one line on stderr, nothing on stdout, no file written', async (t) => {
  const cases = badCases();
  if (ROOT) {
    // As root, permissions do not apply: the read-only cases run as user nobody, who must be able to run the CLI.
    const cli = await buildEngine();
    chmodSync(dirname(cli), 0o755);
    const probe = await spawnCli(['inspect', A], { asNobody: true });
    if (probe.code !== 0) {
      t.diagnostic(`read-only output cases skipped: user nobody cannot run the CLI here (${probe.stderr.split('\n')[0]})`);
      cases.splice(0, cases.length, ...cases.filter((c) => !c.asNobody));
    }
  }
  const before = snapshot(tmp, [OK, HOME]);
  const results = await eachLimited(cases, 4, (c) => (c.spawn ? spawnCli(c.args, c) : runCliInProcess(c.args)));
  const failures: string[] = [];
  cases.forEach((c, i) => {
    const args = c.args.map((a) => (/^[\w./:=@+-]+$/.test(a) ? a : JSON.stringify(a)).replaceAll(tmp, '$TMP'));
    const what = `${c.spawn ? '[process] ' : ''}tensorscope ${args.join(' ')}`;
    try {
      assertBadInput(results[i], c.expect, what);
      if (c.dir) assert.deepEqual(readdirSync(c.dir), [], `${what}: wrote into the output folder`);
    } catch (err) {
      failures.push((err as Error).message.split('\n').slice(0, 3).join('\n'));
    }
  });
  if (failures.length > 0) assert.fail(`${failures.length} of ${cases.length} cases ($TMP = ${tmp}):\n${failures.join('\n')}`);
  // Nothing created, changed or removed anywhere (inputs intact, no hidden temporaries).
  assert.deepEqual(snapshot(tmp, [OK, HOME]), before);
  assert.deepEqual(readdirSync(GIT_TMP), [], 'git:REV:PATH temp files removed');
  t.diagnostic(`${cases.length} cases, ${cases.filter((c) => c.spawn).length} in child processes`);
});

test('apply -o BASE patches in place (atomically, only when the patch fits); a second time exits 1 and changes nothing', async () => {
  const base = join(OK, 'in-place.safetensors');
  writeFileSync(base, readFileSync(A));
  const r = await spawnCli(['apply', base, P, '-o', base]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readFileSync(base), readFileSync(B));
  const again = await spawnCli(['apply', base, P, '-o', base]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already applied/);
  assert.deepEqual(readFileSync(base), readFileSync(B));
  assert.deepEqual(readdirSync(OK).filter((n) => n.startsWith('.')), []);
});

test('textconv: an unreadable file is one "# tensorscope:" line on stdout and exit 0 (git diff keeps working)', async () => {
  for (const file of ['missing.safetensors', 'image.png', 'truncated.safetensors', 'folder.safetensors']) {
    const r = await runCliInProcess(['textconv', at(file)]);
    assert.equal(r.code, 0, file);
    assert.equal(r.stderr, '', file);
    assert.match(r.stdout, new RegExp(`^# tensorscope: \\S*${esc(file)}: [^\\n]+\\n$`), file);
  }
});

test('no command, --help, -h, help: the usage on stdout, exit 0; --version; an unknown command lists the commands', async () => {
  // The first four in child processes (real streams and exit codes), the rest through main().
  const lines = [[], ['--help'], ['--version'], ['frobnicate'], ['-h'], ['help'], [''], ...COMMANDS.map((c) => [c.name, '--help'])];
  const runs = await Promise.all(lines.map((args, i) => (i < 4 ? spawnCli(args) : runCliInProcess(args))));
  const [none, help, version, unknown, h, helpWord, empty, ...perCommand] = runs;
  for (const r of [none, help, h, helpWord]) {
    assert.equal(r.code, 0);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /^usage: tensorscope <command>/);
    for (const c of COMMANDS) assert.ok(r.stdout.includes(`  ${c.usage}\n`), c.name);
  }
  assert.deepEqual([version.code, version.stderr], [0, '']);
  assert.match(version.stdout, /^\d+\.\d+\.\d+\S*\n$/);
  assertBadInput(unknown, /unknown command 'frobnicate'/, 'tensorscope frobnicate');
  for (const c of COMMANDS) assert.match(unknown.stderr, new RegExp(`\\b${c.name}\\b`), `the list names ${c.name}`);
  assertBadInput(empty, /unknown command ''/, 'tensorscope ""');
  COMMANDS.forEach((c, i) => {
    const r = perCommand[i];
    assert.deepEqual([r.code, r.stderr], [0, ''], `${c.name} --help`);
    assert.ok(r.stdout.startsWith(`usage: tensorscope ${c.usage}\n`), `${c.name} --help: ${r.stdout}`);
  });
});
