// The model editor as a user sees it: real VS Code (code-server) in headless Chromium,
// the working tree installed as an extension, a workspace of generated models.
// Screenshots go to test-results/e2e/ui/screenshots/ (look at them: text checks alone
// can pass on a blank plot).
import { after, before, describe } from 'node:test';
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import { cli, vscodeSession } from './session.mjs';
import { makeWorkspace } from './workspace.mjs';

const MODEL = 'tiny-llama.safetensors';
const TENSOR = 'model.layers.0.self_attn.q_proj.weight';
const COMMAND_TITLE = 'Tensorscope: Open Sharded Model';

const session = vscodeSession('ui');
const { dir, screenshot, step, webview, runCommand, quickOpen } = session;
let page;

describe('model editor in VS Code (code-server + Chromium)', { timeout: 300_000 }, () => {
  let workspace;

  before(async () => {
    workspace = makeWorkspace(join(dir, 'workspace'));
    page = await session.start(workspace);
  });

  after(() => session.stop());

  step('lists the extension’s commands in the command palette', async () => {
    await session.waitForCommand(COMMAND_TITLE, { keepOpen: true });
    await screenshot('command-palette');
    await page.keyboard.press('Escape');
  });

  step('opens a model from Quick Open in the model editor and shows its tree', async () => {
    await quickOpen(MODEL);
    const tab = page.locator('.tabs-container .tab.active', { hasText: MODEL });
    await tab.waitFor();
    const tree = webview().locator('[data-testid="tensor-tree"]');
    await tree.waitFor({ timeout: 30_000 });
    const count = webview().locator('[data-testid="tree-count"]');
    await assert.doesNotReject(count.filter({ hasText: /tensors/ }).waitFor());
    const tensors = JSON.parse(cli('inspect', join(workspace, 'models', MODEL), '--json')).tensors;
    assert.match(await count.innerText(), new RegExp(`^${tensors.length} tensors`));
    await screenshot('model-opened');
  });

  step('expands a group and filters the tree', async () => {
    const wv = webview();
    const label = (text) => wv.locator('vscode-tree-item .row-label').filter({ hasText: new RegExp(`^${text}$`) });
    // Groups are made lazily: "model"'s children exist only once it opens.
    assert.equal(await label('layers').count(), 0);
    await label('model').click();
    await label('layers').waitFor();
    await label('embed_tokens(\\.weight)?').waitFor(); // a one-tensor group may be shown compressed
    await screenshot('tree-expanded');

    const filter = wv.locator('[data-testid="tree-filter"]');
    await filter.click();
    await page.keyboard.type('self_attn.q_proj');
    await wv.locator('[data-testid="tree-count"]', { hasText: /^2 of \d+ tensors match/ }).waitFor();
    await wv.locator(`vscode-tree-item[data-tensor="${TENSOR}"]`).waitFor();
    assert.equal(await label('embed_tokens(\\.weight)?').count(), 0, 'the filter hides what does not match');
    await screenshot('tree-filtered');
  });

  step('shows a tensor’s stats and heatmap; hover reads the value the CLI gives', async () => {
    const wv = webview();
    await wv.locator(`vscode-tree-item[data-tensor="${TENSOR}"] .row-label`).click();
    await wv.locator('[data-testid="tensor-name"]', { hasText: TENSOR }).waitFor();
    const file = join(workspace, 'models', MODEL);

    // Statistics from the engine match the CLI's.
    const numel = wv.locator('[data-testid="stat-numel"]');
    await numel.waitFor({ timeout: 30_000 });
    const stats = JSON.parse(cli('stats', file, TENSOR, '--json'));
    assert.equal((await numel.innerText()).replace(/\D/g, ''), String(stats.numel));
    assert.equal((await wv.locator('[data-testid="stat-nan"]').innerText()).replace(/\D/g, ''), String(stats.nan));

    // The heatmap is drawn (plotly's SVG with the heatmap image in it).
    const plot = wv.locator('[data-testid="heatmap-plot"]');
    await plot.locator('.main-svg').first().waitFor({ timeout: 30_000 });
    await wv.locator('[data-testid="heatmap-status"]', { hasText: /exact values|mean of/ }).waitFor({ timeout: 30_000 });
    await screenshot('heatmap');

    // Hover somewhere inside the plot area, wait for the exact value, compare with the CLI.
    const box = await plot.boundingBox();
    assert.ok(box && box.width > 100 && box.height > 100, `plot has a usable size: ${JSON.stringify(box)}`);
    const hoverValue = wv.locator('[data-testid="hover-value"][data-pending="false"]');
    let index;
    let text;
    for (const [fx, fy] of [[0.4, 0.45], [0.6, 0.3], [0.3, 0.7]]) {
      await plot.hover({ position: { x: box.width * fx, y: box.height * fy } });
      await hoverValue.waitFor({ timeout: 10_000 });
      index = await wv.locator('[data-testid="hover-index"]').innerText();
      text = await hoverValue.innerText();
      if (/^\[\d+, \d+\]$/.test(index)) break; // an exact element (not a coarse cell's range)
    }
    assert.match(index, /^\[\d+, \d+\]$/, `hover shows one element, got "${index}" = "${text}"`);
    await screenshot('hover');
    const fromCli = JSON.parse(cli('slice', file, TENSOR, index, '--json'));
    assert.deepEqual(fromCli.shape, []);
    assert.equal(Number(text), fromCli.values[0], `hover ${index} = ${text}, CLI says ${fromCli.values[0]}`);
  });

  step('shows a one-line error for a malformed file, and the next model still opens', async () => {
    await runCommand('View: Close All Editors');
    await quickOpen('bad_json.safetensors');
    const error = webview().locator('[data-testid="load-error"]');
    await error.waitFor({ timeout: 30_000 });
    const message = (await error.innerText()).trim();
    assert.ok(message.length > 0 && !message.includes('\n'), `one line: ${JSON.stringify(message)}`);
    assert.match(message, /bad_json\.safetensors|JSON|header/i);
    await screenshot('malformed');

    await runCommand('View: Close All Editors');
    await quickOpen('conv-net.safetensors');
    await webview().locator('vscode-tree-item', { hasText: 'features' }).first().waitFor({ timeout: 30_000 });
    await screenshot('after-malformed');
  });
});
