// Editing a model as a user does, in real VS Code (code-server + headless Chromium): set a
// cell from the heatmap's selected-element panel, undo, redo, save (a .stpatch beside the
// model, checked with the CLI), reload the window, accept "load the patch" and see the edit
// again; then an unsaved edit comes back from its backup after another reload. Screenshots: test-results/e2e/editing/screenshots/ (look at them).
import { after, before, describe } from 'node:test';
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, vscodeSession } from './session.mjs';
import { QUIET_SETTINGS, makeWorkspace } from './workspace.mjs';

const MODEL = 'conv-net.safetensors';
const PATCH = 'conv-net.stpatch';
const TENSOR = 'features.sample_feature_map';
const COMMAND_TITLE = 'Tensorscope: Open Sharded Model';
const NEW_VALUE = '0.1';
/** 0.1 rounded to F32, as the engine writes it. */
const STORED = String(Math.fround(0.1));

const session = vscodeSession('editing');
const { dir, screenshot, step, webview, runCommand, quickOpen } = session;
let page;

/** Opens the tensor in the model editor, [0, :, :], and clicks the cell at (row, col). */
async function selectCell(row, col) {
  const wv = webview();
  const filter = wv.locator('[data-testid="tree-filter"]');
  await filter.waitFor({ timeout: 30_000 });
  // After a reload the webview's saved state shows the tensor again.
  if (!(await wv.locator('[data-testid="tensor-name"]', { hasText: TENSOR }).isVisible())) {
    await filter.click();
    await page.keyboard.type('sample_feature');
    await wv.locator(`vscode-tree-item[data-tensor="${TENSOR}"] .row-label`).click();
  }
  await wv.locator('[data-testid="heatmap-status"]', { hasText: /24 × 24 · exact values/ }).waitFor({ timeout: 30_000 });
  const at = await cellCenter();
  await page.mouse.click(...at(row, col));
  await wv.locator('[data-testid="selected-index"]', { hasText: `[0, ${row}, ${col}]` }).waitFor({ timeout: 10_000 });
  return wv.locator('[data-testid="selected-value"]');
}

/** Page coordinates of a cell's centre (plotly's drag layer covers exactly the 24 x 24 cells). */
async function cellCenter() {
  const area = await webview().locator('[data-testid="heatmap-plot"] .nsewdrag').first().boundingBox();
  assert.ok(area && area.width > 100, `plot area ${JSON.stringify(area)}`);
  return (row, col) => [area.x + ((col + 0.5) * area.width) / 24, area.y + ((row + 0.5) * area.height) / 24];
}

/** Reloads the window and waits for the new page's workbench (not the old one's). */
async function reloadWindow() {
  const loaded = page.waitForEvent('load', { timeout: 60_000 });
  await runCommand('Developer: Reload Window');
  await loaded;
  await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
}

/** Waits until the extension's backup of the model (in workspace storage) contains `text`. */
async function waitForBackup(text) {
  const storage = join(dir, 'user-data', 'User', 'workspaceStorage');
  const deadline = Date.now() + 20_000;
  for (;;) {
    for (const ws of existsSync(storage) ? readdirSync(storage) : []) {
      const folder = join(storage, ws, 'tensorscope.tensorscope');
      for (const f of existsSync(folder) ? readdirSync(folder) : []) {
        const head = readFileSync(join(folder, f)).subarray(0, 4096).toString('utf8');
        if (head.startsWith('{"format":"tensorscope-edits-backup 1"') && head.includes(text)) return;
      }
    }
    assert.ok(Date.now() < deadline, `no backup containing ${text}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const activeTab = () => page.locator('.tabs-container .tab.active', { hasText: MODEL });

describe('editing a model in VS Code (code-server + Chromium)', { timeout: 300_000 }, () => {
  let workspace;
  let original;

  before(async () => {
    workspace = makeWorkspace(join(dir, 'workspace'));
    // The web workbench auto-saves after a delay by default: off, so dirty states are ours to check.
    page = await session.start(workspace, { settings: { ...QUIET_SETTINGS, 'files.autoSave': 'off' } });
    await session.waitForCommand(COMMAND_TITLE);
  });

  after(() => session.stop());

  step('sets a cell from the heatmap; the editor shows the stored value and is dirty', async () => {
    await quickOpen(MODEL);
    await activeTab().waitFor();
    const value = await selectCell(3, 5);
    original = await value.innerText();
    const wv = webview();
    await wv.locator('[data-testid="element-value-input"]').fill(NEW_VALUE);
    await wv.locator('[data-testid="element-set-value"]').click();
    await wv.locator('[data-testid="selected-value"]', { hasText: STORED }).waitFor({ timeout: 10_000 });
    await wv.locator('[data-testid="element-edit-result"]', { hasText: 'set [0, 3, 5] to 0.1' }).waitFor();
    // The hex view shows the element's new bytes and value (shortest text that reads back as the F32), marked.
    await wv.locator('.hex-group.marked', { hasText: 'cdcccc3d' }).waitFor({ timeout: 10_000 });
    await wv.locator('.hex-value.marked', { hasText: /^0\.1$/ }).waitFor();
    await page.locator('.tabs-container .tab.active.dirty', { hasText: MODEL }).waitFor({ timeout: 10_000 });
    await screenshot('cell-edited');
    await wv.locator('[data-testid="hex-view"]').scrollIntoViewIfNeeded();
    await screenshot('hex-view');
  });

  step('scales a drag-selected rectangle; undo takes it back', async () => {
    const wv = webview();
    await wv.locator('[data-testid="heatmap"]').scrollIntoViewIfNeeded();
    await wv.locator('[data-testid="tool-select"]').click();
    const at = await cellCenter();
    await page.mouse.move(...at(2, 4));
    await page.mouse.down();
    await page.mouse.move(...at(4, 6), { steps: 4 });
    await page.mouse.move(...at(5, 7), { steps: 4 });
    await page.mouse.up();
    assert.equal(await wv.locator('[data-testid="edit-rows"]').inputValue(), '2:6');
    assert.equal(await wv.locator('[data-testid="edit-cols"]').inputValue(), '4:8');
    await wv.locator('[data-testid="edit-op"]').selectOption('scale');
    await wv.locator('[data-testid="edit-param-factor"]').fill('2');
    await wv.locator('[data-testid="edit-apply"]').click();
    await wv.locator('[data-testid="edit-result"]', { hasText: /^scale \[0, :, :\] rows 2:6 cols 4:8 by 2: 16 elements changed$/ }).waitFor({ timeout: 10_000 });
    // The selected cell (3, 5) is inside: 0.1 (F32) times 2.
    await wv.locator('[data-testid="selected-value"]', { hasText: String(Math.fround(0.1) * 2) }).waitFor({ timeout: 10_000 });
    await screenshot('region-scaled');
    await activeTab().click();
    await page.keyboard.press('Control+Z');
    await wv.locator('[data-testid="selected-value"]', { hasText: STORED }).waitFor({ timeout: 10_000 });
  });

  step('undo and redo (VS Code’s edit stack) restore and re-apply the edit', async () => {
    const wv = webview();
    await activeTab().click();
    await page.keyboard.press('Control+Z');
    await wv.locator('[data-testid="selected-value"]', { hasText: new RegExp(`^${original.replace(/[.+-]/g, '\\$&')}$`) }).waitFor({ timeout: 10_000 });
    await page.locator('.tabs-container .tab.active:not(.dirty)', { hasText: MODEL }).waitFor({ timeout: 10_000 });
    await screenshot('undone');
    await page.keyboard.press('Control+Shift+Z');
    await wv.locator('[data-testid="selected-value"]', { hasText: STORED }).waitFor({ timeout: 10_000 });
    await page.locator('.tabs-container .tab.active.dirty', { hasText: MODEL }).waitFor({ timeout: 10_000 });
  });

  step('save writes conv-net.stpatch beside the model; the CLI verifies it', async () => {
    await page.keyboard.press('Control+S');
    await page.locator('.tabs-container .tab.active:not(.dirty)', { hasText: MODEL }).waitFor({ timeout: 10_000 });
    const patchPath = join(workspace, 'models', PATCH);
    assert.ok(existsSync(patchPath), `${PATCH} written`);
    const text = readFileSync(patchPath, 'utf8');
    assert.match(text, new RegExp(`^tensor "${TENSOR}" F32 \\[8, 24, 24\\]`, 'm'));
    assert.match(text, /^# op: set \[0, 3, 5\] to 0\.1$/m);
    assert.match(text, /^@@ "features\.sample_feature_map" elements 77:78 /m);
    assert.match(text, /^\+ cdcccc3d {2}# 0\.1$/m);
    const verify = runCli('verify', join(workspace, 'models', MODEL), patchPath);
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    await screenshot('saved');
  });

  step('after a window reload, accepting "Load" shows the saved edit again', async () => {
    await reloadWindow();
    // The editor comes back with the window (else it is opened again). No Escape key
    // here: it would hide the notification this step waits for.
    const restored = await activeTab().waitFor({ timeout: 15_000 }).then(() => true, () => false);
    if (!restored) {
      await session.waitForCommand(COMMAND_TITLE);
      await quickOpen(MODEL);
    }
    const toast = page.locator('.notification-toast', { hasText: `${PATCH} has saved edits of ${MODEL}` });
    await toast.waitFor({ timeout: 30_000 });
    await screenshot('load-offer');
    await toast.locator('a.monaco-button', { hasText: 'Load' }).click();
    await page.locator('.notification-toast', { hasText: `loaded ${PATCH}` }).waitFor({ timeout: 10_000 });
    const value = await selectCell(3, 5);
    await assert.doesNotReject(webview().locator('[data-testid="selected-value"]', { hasText: STORED }).waitFor({ timeout: 10_000 }));
    assert.equal(await value.innerText(), STORED);
    // Loading the saved patch does not make the document dirty.
    assert.equal(await page.locator('.tabs-container .tab.active.dirty', { hasText: MODEL }).count(), 0);
    await screenshot('reloaded-edit-back');
  });

  step('unsaved edits survive a window reload (backup), on top of the loaded patch', async () => {
    const wv = webview();
    await wv.locator('[data-testid="element-value-input"]').fill('2');
    await wv.locator('[data-testid="element-set-value"]').click();
    await wv.locator('[data-testid="selected-value"]', { hasText: /^2$/ }).waitFor({ timeout: 10_000 });
    await page.locator('.tabs-container .tab.active.dirty', { hasText: MODEL }).waitFor({ timeout: 10_000 });
    // VS Code backs dirty documents up about a second after a change (the web workbench cannot
    // wait for one while the page unloads): reload once the backup holds the edit.
    await waitForBackup('"value":2');
    await reloadWindow();
    await page.locator('.tabs-container .tab.active.dirty', { hasText: MODEL }).waitFor({ timeout: 30_000 });
    const value = await selectCell(3, 5);
    await webview().locator('[data-testid="selected-value"]', { hasText: /^2$/ }).waitFor({ timeout: 10_000 });
    assert.equal(await value.innerText(), '2');
    // No offer to load the patch: the backup already holds it.
    assert.equal(await page.locator('.notification-toast', { hasText: 'has saved edits' }).count(), 0);
    await screenshot('backup-restored');
  });
});
