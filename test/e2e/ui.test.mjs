// The model editor as a user sees it: real VS Code (code-server) in headless Chromium,
// the working tree installed as an extension, a workspace of generated models.
// Screenshots go to test-results/e2e/ui/screenshots/ (look at them: text checks alone
// can pass on a blank plot).
import { after, before, describe } from 'node:test';
import * as assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, vscodeSession } from './session.mjs';
import { makeWorkspace, repoRoot } from './workspace.mjs';

const MODEL = 'tiny-llama.safetensors';
const TENSOR = 'model.layers.0.self_attn.q_proj.weight';
const COMMAND_TITLE = 'Tensorscope: Open Sharded Model';
const NORM = 'model.layers.0.input_layernorm.weight';

/** Polls `check` (async, truthy when done) until it holds; fails with `what` after 15 s. */
async function until(check, what) {
  const deadline = Date.now() + 15_000;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const session = vscodeSession('ui');
const { dir, screenshot, step, webview, runCommand, quickOpen } = session;
let page;

describe('model editor in VS Code (code-server + Chromium)', { timeout: 300_000 }, () => {
  let workspace;

  before(async () => {
    workspace = makeWorkspace(join(dir, 'workspace'));
    // Every dtype and the odd shapes: an empty [0, 4] tensor, a scalar.
    copyFileSync(join(repoRoot, 'test', 'fixtures', 'ref_mixed.safetensors'), join(workspace, 'models', 'ref_mixed.safetensors'));
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
    // Before a tensor is picked: the model's data types, as the CLI lists them.
    const dtypes = await webview().locator('[data-testid="overview-dtypes"] td:first-child').allInnerTexts();
    assert.deepEqual(dtypes.sort(), [...new Set(tensors.map((t) => t.dtype))].sort());
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

  step('double-click after a zoom shows the whole heatmap again; the mode bar has no upload button', async () => {
    const wv = webview();
    const plot = wv.locator('[data-testid="heatmap-plot"]');
    const yTicks = () => plot.locator('.ytick text').allTextContents();
    assert.ok((await yTicks()).includes('250'), `rows 0..255 shown: ${await yTicks()}`);
    const area = await plot.locator('.nsewdrag').first().boundingBox();
    await page.mouse.move(area.x + area.width * 0.2, area.y + area.height * 0.2);
    await page.mouse.down();
    await page.mouse.move(area.x + area.width * 0.4, area.y + area.height * 0.4, { steps: 8 });
    await page.mouse.up();
    await until(async () => !(await yTicks()).includes('250'), 'zoomed in');
    await page.mouse.dblclick(area.x + area.width * 0.5, area.y + area.height * 0.5);
    // Plotly's reset went back to the empty first plot's row range (-1..4) before.
    await until(async () => (await yTicks()).includes('250') && (await yTicks()).includes('0'), 'whole view after double-click');
    assert.ok(!(await yTicks()).some((t) => t.startsWith('−') || t.startsWith('-')), `no negative rows: ${await yTicks()}`);
    await screenshot('zoom-reset');
    // Nothing leaves the machine: plotly's "Share chart..." button is not there.
    const titles = await plot.locator('.modebar-btn').evaluateAll((els) => els.map((e) => e.getAttribute('data-title')));
    assert.deepEqual(titles, ['Zoom', 'Pan', 'Zoom in', 'Zoom out', 'Reset axes']);
  });

  step('colour range: the tensor’s p1..p99 or min..max (from the CLI’s statistics) instead of the view’s', async () => {
    const wv = webview();
    const stats = JSON.parse(cli('stats', join(workspace, 'models', MODEL), TENSOR, '--json'));
    const q = (p) => stats.quantiles.find(([at]) => at === p)[1];
    const colorbar = wv.locator('[data-testid="colorbar"]');
    const range = async () => [Number(await colorbar.getAttribute('data-lo')), Number(await colorbar.getAttribute('data-hi'))];
    // Diverging: symmetric around 0.
    const robust = Math.max(Math.abs(q(0.01)), Math.abs(q(0.99)));
    await wv.locator('[data-testid="range-robust"]').click();
    await until(async () => (await range())[1] === robust, `p1..p99 range ±${robust}`);
    assert.deepEqual(await range(), [-robust, robust]);
    await screenshot('range-robust');
    const whole = Math.max(Math.abs(stats.min), Math.abs(stats.max));
    await wv.locator('[data-testid="range-tensor"]').click();
    await until(async () => (await range())[1] === whole, `min..max range ±${whole}`);
    await wv.locator('[data-testid="range-view"]').click();
    await wv.locator('[data-testid="range-view"][aria-pressed="true"]').waitFor();
  });

  step('a 1-D tensor shows its values as a line over the colour strip; hovering the line reads the CLI’s value', async () => {
    const wv = webview();
    const file = join(workspace, 'models', MODEL);
    await wv.locator('[data-testid="tree-filter"] input').fill('input_layernorm');
    await wv.locator(`vscode-tree-item[data-tensor="${NORM}"] .row-label`).click();
    await wv.locator('[data-testid="heatmap-status"]', { hasText: '1 × 256 · exact values' }).waitFor({ timeout: 30_000 });
    const plot = wv.locator('[data-testid="heatmap-plot"]');
    // The line: one point per element, plotted against a 'value' axis.
    await plot.locator('.scatterlayer .trace').first().waitFor();
    assert.equal(await plot.locator('.scatterlayer .trace .point').count(), 0, '256 elements: a plain line, no markers');
    assert.ok((await plot.locator('.g-y2title').textContent()).includes('value'));
    const box = await plot.boundingBox();
    const hoverValue = wv.locator('[data-testid="hover-value"][data-pending="false"]');
    assert.ok(await wv.locator('[data-testid="hover-hint"]').isVisible(), 'a hint before the first hover');
    // High over the line, far above the strip: still the element of that column.
    await plot.hover({ position: { x: box.width * 0.55, y: box.height * 0.3 } });
    await hoverValue.waitFor({ timeout: 10_000 });
    const index = await wv.locator('[data-testid="hover-index"]').innerText();
    assert.match(index, /^\[\d+\]$/);
    const fromCli = JSON.parse(cli('slice', file, NORM, index, '--json'));
    assert.equal(Number(await hoverValue.innerText()), fromCli.values[0]);
    assert.equal(await wv.locator('[data-testid="hover-hint"]').isVisible(), false);
    await screenshot('one-d-line');
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

  step('a BOOL tensor: true/false counts from the CLI’s statistics, a false/true colour bar', async () => {
    await runCommand('View: Close All Editors');
    await quickOpen('quantized.safetensors');
    const wv = webview();
    const MASK = 'model.attention_mask';
    await wv.locator('[data-testid="tree-filter"] input').fill('attention_mask');
    await wv.locator(`vscode-tree-item[data-tensor="${MASK}"] .row-label`).click();
    const stats = JSON.parse(cli('stats', join(workspace, 'models', 'quantized.safetensors'), MASK, '--json'));
    const trues = stats.numel - stats.zeros;
    await wv.locator('[data-testid="stat-true"]').waitFor({ timeout: 30_000 });
    assert.equal((await wv.locator('[data-testid="stat-true"]').innerText()).replace(/ \(.*\)$/, '').replace(/\D/g, ''), String(trues));
    assert.equal((await wv.locator('[data-testid="stat-false"]').innerText()).replace(/\D/g, ''), String(stats.zeros));
    assert.equal(await wv.locator('[data-testid="stat-quantiles"]').count(), 0, 'no quantiles of 0s and 1s');
    await until(async () => (await wv.locator('[data-testid="colorbar"] .colorbar-tick').allInnerTexts()).join() === 'false,true', 'false/true colour bar');
    await wv.locator('[data-testid="stats"]').scrollIntoViewIfNeeded();
    await screenshot('bool-stats');
  });

  step('one outlier stretching the colours is pointed out; the hint switches to the p1..p99 range', async () => {
    const wv = webview();
    const NAN = 'debug.activations_with_nan';
    await wv.locator('[data-testid="tree-filter"] input').fill('activations_with_nan');
    await wv.locator(`vscode-tree-item[data-tensor="${NAN}"] .row-label`).click();
    const hint = wv.locator('[data-testid="outlier-hint"]');
    await hint.waitFor({ timeout: 30_000 });
    await screenshot('outlier-hint');
    await hint.click();
    await wv.locator('[data-testid="range-robust"][aria-pressed="true"]').waitFor();
    const stats = JSON.parse(cli('stats', join(workspace, 'models', 'quantized.safetensors'), NAN, '--json'));
    const q = (p) => stats.quantiles.find(([at]) => at === p)[1];
    const robust = Math.max(Math.abs(q(0.01)), Math.abs(q(0.99)));
    await until(async () => Number(await wv.locator('[data-testid="colorbar"]').getAttribute('data-hi')) === robust, 'p1..p99 colours');
    assert.equal(await hint.count(), 0, 'no hint once the range is robust');
    await wv.locator('[data-testid="range-view"]').click();
  });

  step('a tensor without elements says so and offers no edit (Apply would have edited the tensor shown before)', async () => {
    await runCommand('View: Close All Editors');
    await quickOpen('ref_mixed.safetensors');
    const wv = webview();
    const pick = async (name) => {
      await wv.locator('[data-testid="tree-filter"] input').fill(name);
      await wv.locator(`vscode-tree-item[data-tensor="${name}"] .row-label`).click();
      await wv.locator('[data-testid="tensor-name"]', { hasText: name }).waitFor();
    };
    await pick('layers.1.scale');
    await wv.locator('[data-testid="heatmap-status"]', { hasText: '1 × 1 · exact values' }).waitFor({ timeout: 30_000 });
    assert.equal(await wv.locator('[data-testid="edit-apply"]').isEnabled(), true);
    await pick('layers.1.empty');
    await wv.locator('[data-testid="no-values"]', { hasText: 'shape [0, 4] has no elements' }).waitFor();
    assert.equal(await wv.locator('[data-testid="edit-apply"]').isVisible(), false, 'no edit controls');
    assert.equal(await wv.locator('[data-testid="heatmap"]').isVisible(), false);
    await screenshot('empty-tensor');
  });
});
