// Reviewing model changes in real VS Code (code-server + headless Chromium), in a git
// repository made here: a committed .stpatch edited since (one more run of elements, one
// value changed) opens in the patch editor; "Compare with HEAD" shows the semantic diff with
// the changed hunk; in Source Control the git side of its diff shows the semantic diff, and
// the staged (index) side of a staged diff is read-only; "Compare Models" shows the table
// and the A / B / B − A heatmaps; Compare with HEAD on a model, single-file and sharded,
// opens the compare view.
// Screenshots: test-results/e2e/review/screenshots/ (look at them).
import { after, before, describe } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, vscodeSession } from './session.mjs';
import { QUIET_SETTINGS } from './workspace.mjs';

const COMMAND_TITLE = 'Tensorscope: Compare with HEAD';
const session = vscodeSession('review');
const { dir, cspViolations, screenshot, step, webview, runCommand, quickOpen } = session;
let page;

/** Picks `label` in the quick pick that is open now. */
async function pick(label) {
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(label);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: label }).first().waitFor();
  await page.keyboard.press('Enter');
}

// ---- the repository: a model, a committed patch of it, then the patch edited ----

/** A safetensors file of F32 tensors (written here, independent of the engine). */
function safetensors(tensors) {
  const header = {};
  let at = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [at, at + t.data.byteLength] };
    at += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([prefix, Buffer.from(json), ...tensors.map((t) => Buffer.from(t.data.buffer))]);
}

/** The model's tensors, edited by `edit(weight, bias)`. */
function layer(edit) {
  const w = Float32Array.from({ length: 48 * 64 }, (_, i) => Math.sin(i / 40) * Math.cos(Math.floor(i / 64) / 7));
  const b = Float32Array.from({ length: 64 }, (_, i) => i / 64);
  edit(w, b);
  return [
    { name: 'layer.bias', shape: [64], data: b },
    { name: 'layer.weight', shape: [48, 64], data: w },
  ];
}

const weights = (edit) => safetensors(layer(edit));

/** The same tensors as a sharded model in sharded/: sh.safetensors.index.json, bias in shard 1, weight in shard 2. */
function writeSharded(repo, edit) {
  const [bias, weight] = layer(edit);
  const shards = ['sh-00001-of-00002.safetensors', 'sh-00002-of-00002.safetensors'];
  mkdirSync(join(repo, 'sharded'), { recursive: true });
  writeFileSync(join(repo, 'sharded', 'sh.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: { 'layer.bias': shards[0], 'layer.weight': shards[1] } }, null, 2));
  writeFileSync(join(repo, 'sharded', shards[0]), safetensors([bias]));
  writeFileSync(join(repo, 'sharded', shards[1]), safetensors([weight]));
}

const v1 = (w) => {
  for (let c = 10; c < 30; c++) w[5 * 64 + c] *= -3; // a run in row 5
};
const v2 = (w, b) => {
  v1(w);
  w[5 * 64 + 12] = 9; // one value of the run changed
  for (let r = 20; r < 24; r++) for (let c = 0; c < 64; c++) w[r * 64 + c] += 1; // a new block of rows
  b[3] = -1;
};

function git(cwd, ...args) {
  return execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd, encoding: 'utf8' });
}

function makeRepo(repo) {
  mkdirSync(repo, { recursive: true });
  git(repo, 'init', '-q');
  writeFileSync(join(repo, 'm.safetensors'), weights(() => {}));
  writeFileSync(join(repo, 'm-v1.safetensors'), weights(v1));
  cli('diff', join(repo, 'm.safetensors'), join(repo, 'm-v1.safetensors'), '-o', join(repo, 'm.stpatch'));
  writeSharded(repo, () => {});
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'patch v1');
  // The working copy moves on: a second version of the model and of the patch; both shards change.
  writeFileSync(join(repo, 'm-v2.safetensors'), weights(v2));
  writeSharded(repo, v2);
  cli('diff', join(repo, 'm.safetensors'), join(repo, 'm-v2.safetensors'), '-o', join(repo, 'm.stpatch'));
  // The same patch beside a model that already has v1's edits: the row-5 hunk conflicts.
  mkdirSync(join(repo, 'other'));
  writeFileSync(join(repo, 'other', 'c.safetensors'), weights(v1));
  copyFileSync(join(repo, 'm.stpatch'), join(repo, 'other', 'c.stpatch'));
  // A malformed patch: bad hex in its first row of new bytes.
  const lines = readFileSync(join(repo, 'm.stpatch'), 'utf8').split('\n');
  const row = lines.findIndex((l) => l.startsWith('+ '));
  lines[row] = '+ zz' + lines[row].slice(4);
  writeFileSync(join(repo, 'broken.stpatch'), lines.join('\n'));
  return repo;
}

describe('reviewing model changes in VS Code (code-server + Chromium)', { timeout: 300_000 }, () => {
  let repo;

  before(async () => {
    repo = makeRepo(join(dir, 'repo'));
    // Git on: Source Control lists the changed patch, and HEAD is read through the git extension.
    page = await session.start(repo, { watchCsp: true, settings: { ...QUIET_SETTINGS, 'git.enabled': true } });
    await session.waitForCommand(COMMAND_TITLE);
  });

  after(() => session.stop());

  step('a .stpatch opens in the patch editor: hunks by tensor, base check, a hunk’s values and heatmaps', async () => {
    await quickOpen('m.stpatch');
    const wv = webview();
    await wv.locator('[data-testid="patch-view"]').waitFor({ timeout: 30_000 });
    const summary = await wv.locator('[data-testid="patch-summary"]').innerText();
    // v2 against the base: bias[3]; weight rows 5 (one run) and 20..23 (one run).
    assert.match(summary, /^3 hunks in 2 tensors/);
    await wv.locator('[data-testid="base-state"][data-state="clean"]').waitFor({ timeout: 30_000 });
    const hunk = wv.locator('[data-testid="hunk"][data-tensor="layer.weight"]').first();
    await hunk.locator('.hunk-head').click();
    await wv.locator('[data-testid="hunk-values"] table').waitFor({ timeout: 30_000 });
    await wv.locator('[data-testid="hunk-heatmaps"] .main-svg').first().waitFor({ timeout: 30_000 });
    await wv.locator('[data-testid="hunk-heatmaps"] .lh-status', { hasText: /exact values/ }).waitFor({ timeout: 30_000 });
    await screenshot('patch-editor');
  });

  step('Compare with HEAD (editor title button) on the modified patch shows the changed hunk in the semantic diff', async () => {
    await page.locator('.editor-actions .action-label.codicon-git-compare').first().click();
    const wv = webview();
    await wv.locator('[data-testid="patch-diff"]').waitFor({ timeout: 30_000 });
    // HEAD had the row-5 run only; now it has a changed value, a new run and a bias edit.
    assert.equal(await wv.locator('[data-testid="count-changed"]').innerText(), '1 changed');
    assert.equal(await wv.locator('[data-testid="count-added"]').innerText(), '2 added');
    assert.equal(await wv.locator('[data-testid="count-removed"]').innerText(), '0 removed');
    const changed = wv.locator('[data-testid="diff-entry"][data-change="changed"]');
    assert.match(await changed.innerText(), /elements 330:350.*1 of 20 elements differ/s);
    await changed.locator('.hunk-head').click();
    const differing = wv.locator('[data-testid="hunk-values"] tr.differs');
    await differing.first().waitFor({ timeout: 30_000 });
    assert.equal(await differing.count(), 1);
    assert.match(await differing.innerText(), /\[5, 12\]\s+-?[\d.e-]+\s+9\b/);
    await wv.locator('[data-testid="hunk-heatmaps"] .main-svg').first().waitFor({ timeout: 30_000 });
    await wv.locator('[data-testid="hunk-heatmaps"] .lh-status', { hasText: /exact values/ }).waitFor({ timeout: 30_000 });
    await screenshot('patch-changes');
  });

  step('Source Control: the diff of the modified patch opens in the patch editor as the semantic diff', async () => {
    await runCommand('View: Close All Editors');
    await page.keyboard.press('Control+Shift+G'); // the Source Control view
    const row = page.locator('.scm-view .monaco-list-row', { hasText: 'm.stpatch' }).first();
    await row.waitFor({ timeout: 30_000 });
    await row.click();
    // The diff editor holds the patch editor on both sides: the HEAD side shows the semantic diff.
    await page.locator('.tabs-container .tab.active', { hasText: /m\.stpatch/ }).waitFor({ timeout: 30_000 });
    const frame = await session.webviewFrame('[data-testid="patch-diff"] [data-testid="count-changed"]');
    assert.equal(await frame.locator('[data-testid="count-changed"]').innerText(), '1 changed');
    assert.equal(await frame.locator('[data-testid="count-added"]').innerText(), '2 added');
    assert.equal(await frame.locator('[data-testid="count-removed"]').innerText(), '0 removed');
    assert.equal(await page.locator('.monaco-diff-editor').count(), 0, 'not the text diff editor');
    // The git side offers no buttons (nothing to write from a committed version).
    assert.equal(await frame.locator('vscode-button').count(), 0, 'no buttons on the git side');
    await screenshot('scm-patch-diff');
    await page.keyboard.press('Control+Shift+E'); // back to the Explorer
  });

  step('Source Control, staged: the index side of the diff is read-only (banner, no Apply / Bake / Revert; the host refuses them)', async () => {
    await runCommand('View: Close All Editors');
    git(repo, 'add', 'm.stpatch');
    await page.keyboard.press('Control+Shift+G');
    await page.locator('.scm-view .monaco-list-row', { hasText: 'Staged Changes' }).waitFor({ timeout: 30_000 });
    const row = page.locator('.scm-view .monaco-list-row', { hasText: 'm.stpatch' }).first();
    await row.click();
    // Left HEAD (the semantic diff), right the index: the staged patch, read-only.
    const banner = '[data-testid="read-only-banner"]:not([hidden])';
    const index = await session.webviewFrame(banner);
    assert.equal(await index.locator(banner).innerText(), 'Read-only: the staged version (index) of m.stpatch, not the working copy.');
    assert.match(await index.locator('[data-testid="patch-summary"]').innerText(), /^3 hunks in 2 tensors/);
    for (const testid of ['action-apply', 'action-bake', 'action-revert']) assert.equal(await index.locator(`[data-testid="${testid}"]`).count(), 0, `no ${testid} button`);
    assert.equal(await index.locator('[data-testid="action-showText"]').count(), 1, 'Show Text stays');
    const head = await session.webviewFrame('[data-testid="patch-diff"] [data-testid="count-changed"]');
    assert.equal(await head.locator('[data-testid="count-changed"]').innerText(), '1 changed');
    await screenshot('scm-staged-patch-diff');
    // What a webview would send anyway: the host refuses it (no file dialog).
    await index.parentFrame().evaluate(() => window.__vscode_post_message__('onmessage', { message: { type: 'action', action: 'revert' }, transfer: [] }));
    await page.locator('.notification-toast', { hasText: 'Tensorscope: Revert is not available: this is the staged version (index) of m.stpatch, not the working copy.' }).waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('.quick-input-widget').isVisible(), false, 'no file dialog');
    await runCommand('Notifications: Clear All Notifications');
    git(repo, 'restore', '--staged', 'm.stpatch');
    await page.keyboard.press('Control+Shift+E');
  });

  step('a patch that does not fit its base lists the conflicts; a malformed one shows its line', async () => {
    await runCommand('View: Close All Editors');
    await quickOpen('c.stpatch');
    const wv = webview();
    await wv.locator('[data-testid="base-state"][data-state="conflicts"]').waitFor({ timeout: 30_000 });
    const conflicts = wv.locator('[data-testid="conflict"]');
    assert.equal(await conflicts.count(), 1);
    assert.match(await conflicts.innerText(), /layer\.weight elements 330:350.*element 330 \[5, 10\]: expected .* found/s);
    await screenshot('conflicts');

    await runCommand('View: Close All Editors');
    await quickOpen('broken.stpatch');
    const error = webview().locator('[data-testid="malformed"] [data-testid="error-text"]');
    await error.waitFor({ timeout: 30_000 });
    const row = readFileSync(join(repo, 'broken.stpatch'), 'utf8').split('\n').findIndex((l) => l.startsWith('+ zz')) + 1;
    assert.match(await error.innerText(), new RegExp(`^broken\\.stpatch:${row}: .*zz`));
    await screenshot('malformed');
  });

  step('Compare Models: table of changed tensors and A / B / B − A heatmaps', async () => {
    await runCommand('View: Close All Editors');
    await runCommand('Tensorscope: Compare Models');
    await pick('m.safetensors');
    await pick('m-v2.safetensors');
    const wv = webview();
    await wv.locator('[data-testid="compare-table"] [data-testid="compare-row"]').first().waitFor({ timeout: 30_000 });
    const rows = await wv.locator('[data-testid="compare-row"]').allInnerTexts();
    assert.deepEqual(rows.map((r) => r.split(/\s+/)[0]).sort(), ['layer.bias', 'layer.weight']);
    const json = JSON.parse(cli('compare', join(repo, 'm.safetensors'), join(repo, 'm-v2.safetensors'), '--json'));
    const weight = json.tensors.find((t) => t.name === 'layer.weight');
    assert.ok(rows.some((r) => r.includes('layer.weight') && r.includes(String(Number(weight.metrics.maxAbs.toPrecision(6))))), `max |Δ| ${weight.metrics.maxAbs} in ${rows.join(' | ')}`);
    await wv.locator('[data-testid="compare-heatmaps"] figure').nth(2).waitFor({ timeout: 30_000 });
    await wv.locator('[data-testid="compare-heatmaps"] .lh-status', { hasText: /exact values|mean of/ }).waitFor({ timeout: 30_000 });
    assert.equal(await wv.locator('[data-testid="compare-heatmaps"] figcaption').allInnerTexts().then((t) => t.join('|')), 'A|B|B − A');
    await screenshot('compare-view');

    // Linked zoom: a zoom box drawn on A zooms B and B − A to the same rows and columns.
    const plots = ['A', 'B', 'B − A'].map((t) => wv.locator(`[data-testid="heatmap-${t}"]`));
    const ranges = () => Promise.all(plots.map((p) => p.evaluate((el) => [el._fullLayout.xaxis.range, el._fullLayout.yaxis.range].flat().map((v) => Math.round(v * 10) / 10))));
    const before = await ranges();
    const box = await plots[0].locator('.nsewdrag').first().boundingBox();
    await page.mouse.move(box.x + box.width * 0.2, box.y + box.height * 0.35);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.6, { steps: 8 });
    await page.mouse.up();
    let after;
    for (let i = 0; i < 50; i++) {
      after = await ranges();
      if (after.every((r) => JSON.stringify(r) === JSON.stringify(after[0])) && JSON.stringify(after[0]) !== JSON.stringify(before[0])) break;
      await page.waitForTimeout(100);
    }
    assert.notDeepEqual(after[0], before[0], 'A zoomed');
    assert.deepEqual(after[1], after[0], 'B follows A');
    assert.deepEqual(after[2], after[0], 'B − A follows A');
    assert.ok(after[0][1] - after[0][0] < 40, `a narrower x range: ${after[0]}`);
    await screenshot('compare-zoomed');
    // Patch editor, patch changes and compare view ran under their strict CSP without a violation.
    assert.deepEqual(cspViolations, []);
  });

  step('Set Up Git Diff for Models: after the confirmation, plain git diff shows the changed tensors', async () => {
    await runCommand('Tensorscope: Set Up Git Diff for Models');
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor({ timeout: 15_000 });
    assert.match(await dialog.innerText(), /\*\.safetensors diff=tensorscope/);
    await screenshot('git-setup-confirm');
    await dialog.locator('.monaco-button', { hasText: 'Set Up' }).click();
    // The host writes .gitattributes first, then the git config: wait for both.
    const configured = () => {
      try {
        return git(repo, 'config', '--local', '--get', 'diff.tensorscope.textconv').trim();
      } catch {
        return ''; // exit 1: not set yet
      }
    };
    let attributes = '';
    let command = '';
    for (let i = 0; i < 300 && !(attributes.includes('diff=tensorscope') && command); i++) {
      await page.waitForTimeout(100);
      attributes = existsSync(join(repo, '.gitattributes')) ? readFileSync(join(repo, '.gitattributes'), 'utf8') : '';
      command = configured();
    }
    assert.equal(attributes, '*.safetensors diff=tensorscope\n');
    assert.match(command, /^ELECTRON_RUN_AS_NODE=1 '[^']+' '[^']+\/dist\/cli\.js' textconv$/);
    // The committed model changes: git runs the extension's CLI through that command.
    writeFileSync(join(repo, 'm.safetensors'), weights(v2));
    const lines = git(repo, 'diff', '--', 'm.safetensors').split('\n').filter((l) => /^[-+](?![-+]{2} )/.test(l));
    assert.deepEqual(lines.map((l) => l.split(' ')[0]), ['-layer.bias', '-layer.weight', '+layer.bias', '+layer.weight']);
  });

  step('Compare with HEAD on a modified model (model editor title button) opens the compare view', async () => {
    await runCommand('View: Close All Editors');
    await quickOpen('m.safetensors', /^m\.safetensors/);
    await page.locator('.tabs-container .tab.active', { hasText: 'm.safetensors' }).waitFor();
    await page.locator('.editor-actions .action-label.codicon-git-compare').first().click();
    const wv = webview();
    await wv.locator('[data-testid="label-a"]', { hasText: /^m\.safetensors @ HEAD \([0-9a-f]+\)$/ }).waitFor({ timeout: 30_000 });
    await wv.locator('[data-testid="compare-row"]').first().waitFor({ timeout: 30_000 });
    assert.deepEqual((await wv.locator('[data-testid="compare-row"]').allInnerTexts()).map((r) => r.split(/\s+/)[0]).sort(), ['layer.bias', 'layer.weight']);
    assert.equal(await wv.locator('[data-testid="label-b"]').innerText(), 'm.safetensors (working copy)');
    await screenshot('compare-with-head-model');
  });

  step('Compare with HEAD on a sharded model (editor title button) compares the committed index and shards with the working copy', async () => {
    await runCommand('View: Close All Editors');
    await quickOpen('sh.safetensors.index.json');
    await page.locator('.tabs-container .tab.active', { hasText: 'sh.safetensors.index.json' }).waitFor();
    await runCommand('View: Reopen Editor With...');
    await pick('Tensorscope Sharded Model Editor');
    await page.locator('.editor-actions .action-label.codicon-git-compare').first().click({ timeout: 30_000 });
    const wv = webview();
    await wv.locator('[data-testid="label-a"]', { hasText: /^sh\.safetensors\.index\.json @ HEAD \([0-9a-f]+\)$/ }).waitFor({ timeout: 30_000 });
    assert.equal(await wv.locator('[data-testid="label-b"]').innerText(), 'sh.safetensors.index.json (working copy)');
    await wv.locator('[data-testid="compare-row"]').first().waitFor({ timeout: 30_000 });
    const rows = await wv.locator('[data-testid="compare-row"]').allInnerTexts();
    assert.deepEqual(rows.map((r) => r.split(/\s+/)[0]).sort(), ['layer.bias', 'layer.weight']);
    // max |Δ| of the weight (shard 2) from HEAD's values to the working copy's.
    const [, before] = layer(() => {});
    const [, now] = layer(v2);
    const maxAbs = before.data.reduce((m, x, i) => Math.max(m, Math.abs(now.data[i] - x)), 0);
    assert.ok(rows.some((r) => r.includes('layer.weight') && r.includes(String(Number(maxAbs.toPrecision(6))))), `max |Δ| ${maxAbs} in ${rows.join(' | ')}`);
    await screenshot('compare-with-head-sharded');
  });
});
