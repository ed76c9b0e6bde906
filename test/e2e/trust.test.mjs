// Workspace Trust in real VS Code (code-server + headless Chromium, trust ON): a workspace
// of generated models opens in Restricted Mode (never trusted) and Tensorscope writes
// nothing. The model editor shows its read-only banner and no edit controls; a hex-view
// edit, an edit message sent to the host anyway, Save, Save As, "Bake…" and "Save Edits as
// Patch…" are refused with a message. The patch editor shows a read-only banner and no
// Apply / Bake / Revert; those actions sent to the host anyway are refused, and so is "Set
// Up Git Diff for Models". Not one file or folder of the workspace is created, modified or
// removed (every path's size, mtime and SHA-256, before VS Code starts and at the end).
// Last, the user trusts the workspace while the patch is open: its buttons appear.
// Screenshots: test-results/e2e/trust/screenshots/ (look at them).
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { launchChromium, startCodeServer, workbenchUrl } from './codeServer.mjs';
import { QUIET_SETTINGS, freshDir, linkExtension, makeWorkspace, repoRoot, writeUserSettings } from './workspace.mjs';

const MODEL = 'conv-net.safetensors';
const TENSOR = 'features.sample_feature_map';
const COMMAND_TITLE = 'Tensorscope: Open Sharded Model';
/** The model editor's reason (readOnlyReason in src/extension/modelDocument.ts). */
const NOT_TRUSTED = 'This workspace is not trusted: the model opens read-only (no edits, saves or bakes).';
/** The patch editor's banner (readOnlyReason in src/extension/patchEditor/patchEditorSession.ts). */
const PATCH_READ_ONLY = 'Read-only: this workspace is not trusted (Restricted Mode writes no files).';
/** Every other write's refusal (refuseUntrustedWrite in src/extension/trust.ts). */
const refused = (action) => `Tensorscope: ${action} is not available: this workspace is not trusted (Restricted Mode writes no files).`;

const dir = freshDir('trust');
const shots = join(dir, 'screenshots');
mkdirSync(shots, { recursive: true });
let server;
let browser;
let page;
let shotCount = 0;

async function screenshot(name) {
  const path = join(shots, `${String(++shotCount).padStart(2, '0')}-${name}.png`);
  // Toasts fade in: finish CSS transitions so the picture shows what the user reads.
  await page.screenshot({ path, animations: 'disabled' });
  return path;
}

function webview() {
  return page.frameLocator('iframe.webview.ready').last().frameLocator('#active-frame');
}

/**
 * Opens the quick input (F1, Control+P), types `text` and clicks the row `row` picks. Focus
 * coming back to a webview a moment after the last command can close the widget again
 * (measured under load): then it opens it anew.
 */
async function quickPick(prefixKey, text, row) {
  const input = page.locator('.quick-input-widget input');
  for (let attempt = 1; ; attempt++) {
    try {
      await page.keyboard.press(prefixKey);
      await input.fill(text, { timeout: 5000 });
      await row(page.locator('.quick-input-list .monaco-list-row')).first().click({ timeout: 10_000 });
      return;
    } catch (err) {
      if (attempt === 3) throw err;
    }
  }
}

/** Runs the palette command titled exactly `title` (the first row could be a longer near match). */
async function runCommand(title) {
  const exact = new RegExp(`^${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  await quickPick('F1', `>${title}`, (rows) => rows.filter({ has: page.locator('.label-name', { hasText: exact }) }));
}

async function quickOpen(fileName) {
  await quickPick('Control+P', fileName, (rows) => rows.filter({ hasText: fileName }));
}

function step(name, fn) {
  it(name, async () => {
    try {
      await fn();
    } catch (err) {
      await screenshot(`FAILED-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40)}`).catch(() => {});
      throw err;
    }
  });
}

async function waitForCommands() {
  const deadline = Date.now() + 60_000;
  for (;;) {
    await page.keyboard.press('F1');
    await page.locator('.quick-input-widget input').fill(`>${COMMAND_TITLE}`);
    const found = await page
      .locator('.quick-input-list .monaco-list-row', { hasText: COMMAND_TITLE })
      .first()
      .waitFor({ timeout: 2000 })
      .then(() => true, () => false);
    await page.keyboard.press('Escape');
    if (found) return;
    assert.ok(Date.now() < deadline, `"${COMMAND_TITLE}" never appeared in the command palette`);
  }
}

/**
 * Posts `message` to the extension host as the active webview would: through the function VS
 * Code's webview host frame gives acquireVsCodeApi().postMessage. What a webview whose own
 * checks failed (or a hostile one) would send. Returns the webview's content frame.
 */
async function postFromWebview(message) {
  const host = await (await page.locator('iframe.webview.ready').last().elementHandle()).contentFrame();
  let inner;
  for (const f of host.childFrames()) if ((await (await f.frameElement()).getAttribute('id')) === 'active-frame') inner = f;
  assert.ok(inner, 'the webview content frame');
  return { inner, post: () => host.evaluate((message) => window.__vscode_post_message__('onmessage', { message, transfer: [] }), message) };
}

/** Every file and folder under `root`: relative path -> size, mtime (ns) and, for files, SHA-256. */
function snapshotTree(root) {
  const entries = { './': `dir mtime ${statSync(root, { bigint: true }).mtimeNs}` };
  const walk = (folder) => {
    for (const name of readdirSync(folder).sort()) {
      const path = join(folder, name);
      const st = statSync(path, { bigint: true });
      const key = relative(root, path);
      if (st.isDirectory()) {
        entries[`${key}/`] = `dir mtime ${st.mtimeNs}`;
        walk(path);
      } else {
        entries[key] = `${st.size} bytes, mtime ${st.mtimeNs}, sha256 ${sha256(path)}`;
      }
    }
  };
  walk(root);
  return entries;
}

const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');
const activeTab = (name) => page.locator('.tabs-container .tab.active', { hasText: name });
const toast = (text) => page.locator('.notification-toast', { hasText: text });
/** No file dialog (a quick input in this workbench) or modal dialog stays open. */
async function assertNoDialog(what) {
  const closed = await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 5000 }).then(() => true, () => false);
  assert.ok(closed, `${what}: a file dialog opened`);
  assert.equal(await page.locator('.monaco-dialog-box').count(), 0, `${what}: a dialog opened`);
}

/** Closes every notification toast (so the next check waits for its own). */
async function clearNotifications() {
  await runCommand('Notifications: Clear All Notifications');
  await page.locator('.notification-toast').first().waitFor({ state: 'hidden', timeout: 5000 });
}

/**
 * Adds patched/base.safetensors (a copy of the model), patched/changed.safetensors (one bit
 * changed) and patched/base.stpatch (that change, written by the CLI) to the workspace, and makes the workspace a git repository
 * (so "Set Up Git Diff" would look here, not at the project's own repository).
 */
function addPatchAndRepo(workspace) {
  const folder = join(workspace, 'patched');
  mkdirSync(folder);
  copyFileSync(join(workspace, 'models', MODEL), join(folder, 'base.safetensors'));
  const changed = readFileSync(join(folder, 'base.safetensors'));
  changed[8 + Number(changed.readBigUInt64LE(0)) + 4] ^= 0x40; // a bit of the first tensor's second element
  const target = join(dir, 'changed.safetensors');
  writeFileSync(target, changed);
  writeFileSync(join(folder, 'changed.safetensors'), changed); // for Compare Models
  execFileSync(process.execPath, [join(repoRoot, 'dist', 'cli.js'), 'diff', join(folder, 'base.safetensors'), target, '-o', join(folder, 'base.stpatch')]);
  execFileSync('git', ['init', '-q'], { cwd: workspace });
}

describe('an untrusted workspace: Tensorscope writes nothing (code-server + Chromium)', { timeout: 120_000 }, () => {
  let workspace;
  let modelPath;
  let snapshot;
  let modelSha;

  before(async () => {
    workspace = makeWorkspace(join(dir, 'workspace'));
    addPatchAndRepo(workspace);
    modelPath = join(workspace, 'models', MODEL);
    // Taken before VS Code starts: nothing of the whole session may touch the workspace.
    snapshot = snapshotTree(workspace);
    modelSha = sha256(modelPath);
    const userDataDir = join(dir, 'user-data');
    // Trust on (the quiet settings turn it off); auto-save off: a dirty document would stay visible.
    writeUserSettings(userDataDir, { ...QUIET_SETTINGS, 'security.workspace.trust.enabled': true, 'files.autoSave': 'off' });
    const extensionsDir = join(dir, 'extensions');
    linkExtension(extensionsDir);
    const scratch = { TMPDIR: join(dir, 'tmp'), HOME: join(dir, 'home'), XDG_CONFIG_HOME: join(dir, 'home', '.config') };
    mkdirSync(scratch.TMPDIR, { recursive: true });
    mkdirSync(scratch.HOME, { recursive: true });
    server = await startCodeServer({ userDataDir, extensionsDir, env: scratch, workspaceTrust: true });
    browser = await launchChromium(join(dir, 'chromium-profile'), scratch);
    page = browser.pages()[0] ?? (await browser.newPage());
    // This web workbench opens a new folder in Restricted Mode without asking; should a
    // build ask ("Do you trust the authors…?"), whenever it does, the answer is no.
    await page.addLocatorHandler(page.locator('.monaco-dialog-box', { hasText: 'trust the authors' }), async (dialog) => {
      await dialog.locator('.monaco-button', { hasText: /^No, I don.t trust the authors$/ }).click();
    });
    await page.goto(workbenchUrl(server, workspace));
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    await waitForCommands();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    server?.stop();
  });

  step('the workspace is in Restricted Mode', async () => {
    await page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).waitFor({ timeout: 10_000 });
    await page.getByText('Restricted Mode is intended for safe code browsing').first().waitFor({ timeout: 10_000 });
  });

  step('the model opens read-only: a banner says why and there are no edit controls', async () => {
    await quickOpen(MODEL);
    await activeTab(MODEL).waitFor();
    const wv = webview();
    const banner = wv.locator('[data-testid="read-only-banner"]');
    await banner.waitFor({ timeout: 30_000 });
    assert.equal((await banner.innerText()).trim(), NOT_TRUSTED);
    // Select a cell: its value is shown, but not the inputs that set it.
    await wv.locator('[data-testid="tree-filter"]').click();
    await page.keyboard.type('sample_feature');
    await wv.locator(`vscode-tree-item[data-tensor="${TENSOR}"] .row-label`).click();
    await wv.locator('[data-testid="heatmap-status"]', { hasText: /24 × 24 · exact values/ }).waitFor({ timeout: 30_000 });
    const area = await wv.locator('[data-testid="heatmap-plot"] .nsewdrag').first().boundingBox();
    assert.ok(area && area.width > 100, `plot area ${JSON.stringify(area)}`);
    await page.mouse.click(area.x + (5.5 * area.width) / 24, area.y + (3.5 * area.height) / 24);
    await wv.locator('[data-testid="selected-index"]', { hasText: '[0, 3, 5]' }).waitFor({ timeout: 10_000 });
    assert.match(await wv.locator('[data-testid="selected-value"]').innerText(), /^-?\d/);
    assert.equal(await wv.locator('[data-testid="element-value-input"]').count(), 0, 'no "set value" input');
    assert.equal(await wv.locator('[data-testid="element-hex-input"]').count(), 0, 'no "set bytes" input');
    assert.equal(await wv.locator('[data-testid="edit-bar"]').isVisible(), false, 'edit bar hidden');
    assert.equal(await wv.locator('[data-testid="tool-select"]').isVisible(), false, 'select tool hidden');
    await screenshot('read-only-editor');
  });

  step('an edit in the hex view is refused with a message', async () => {
    const wv = webview();
    const group = wv.locator('[data-testid="hex-view"] .hex-group').first();
    await group.scrollIntoViewIfNeeded();
    const bytes = await group.innerText();
    await group.dblclick();
    await wv.locator('[data-testid="hex-error"]', { hasText: 'This model is read-only here (untrusted workspace).' }).waitFor({ timeout: 10_000 });
    assert.equal(await wv.locator('[data-testid="hex-byte-input"]').count(), 0, 'no hex input opened');
    assert.equal(await group.innerText(), bytes);
    await screenshot('hex-edit-refused');
  });

  step('an edit message sent to the host anyway is refused (the host checks trust itself)', async () => {
    // A `bytes` edit, as the model editor's webview sends it.
    const id = 987654321;
    const { inner, post } = await postFromWebview({ type: 'edit', id, edit: { type: 'bytes', tensor: TENSOR, offset: 0, hex: '00000000' } });
    await inner.evaluate((id) => {
      window.addEventListener('message', (ev) => {
        if (ev.data?.type === 'response' && ev.data.id === id) window.trustTestReply = ev.data;
      });
    }, id);
    await post();
    const reply = await (await inner.waitForFunction(() => window.trustTestReply, undefined, { timeout: 10_000 })).jsonValue();
    assert.equal(reply.result, undefined, `the host applied the edit: ${JSON.stringify(reply.result)}`);
    assert.equal(reply.error, `cannot edit ${MODEL}: the workspace is not trusted`);
    assert.equal(await page.locator('.tabs-container .tab.dirty').count(), 0, 'no dirty editor');
  });

  step('Save and Save As are refused with a message', async () => {
    await activeTab(MODEL).waitFor();
    await runCommand('File: Save');
    await toast(`Failed to save '${MODEL}': cannot save ${MODEL}: the workspace is not trusted`).waitFor({ timeout: 10_000 });
    await screenshot('save-refused');
    await clearNotifications();
    // Save As bakes a new model: one beside the original, named in VS Code's own file dialog.
    await runCommand('File: Save As...');
    const inputEndsWith = (end) => page.waitForFunction((end) => document.querySelector('.quick-input-widget input')?.value.endsWith(end), end);
    // The dialog fills in its default path (the model) after it opens: type ours after that.
    await inputEndsWith(`/${MODEL}`);
    const target = join(workspace, 'models', 'conv-net.saved-as.safetensors');
    await page.locator('.quick-input-widget input').fill(target);
    await inputEndsWith(target);
    await page.keyboard.press('Enter');
    await toast(`Failed to save '${MODEL}': cannot bake ${MODEL}: the workspace is not trusted`).waitFor({ timeout: 10_000 });
    await screenshot('save-as-refused');
    await clearNotifications();
  });

  step('"Bake…" and "Save Edits as Patch…" are refused with a message, before any file dialog', async () => {
    for (const title of ['Tensorscope: Bake Edits into New Model…', 'Tensorscope: Save Edits as Patch…']) {
      await activeTab(MODEL).waitFor();
      await runCommand(title);
      await toast(`Tensorscope: ${NOT_TRUSTED}`).waitFor({ timeout: 10_000 });
      await assertNoDialog(title);
      if (title.includes('Bake')) await screenshot('bake-refused');
      await clearNotifications();
    }
  });

  step('the patch editor is read-only: a banner says why and there is no Apply, Bake or Revert', async () => {
    await quickOpen('base.stpatch');
    await activeTab('base.stpatch').waitFor();
    const wv = webview();
    // Reading stays: the patch, its base and whether it fits.
    await wv.locator('[data-testid="base-state"][data-state="clean"]').waitFor({ timeout: 30_000 });
    const banner = wv.locator('[data-testid="read-only-banner"]');
    await banner.waitFor({ timeout: 10_000 });
    assert.equal((await banner.innerText()).trim(), PATCH_READ_ONLY);
    for (const testid of ['action-apply', 'action-bake', 'action-revert']) assert.equal(await wv.locator(`[data-testid="${testid}"]`).count(), 0, `no ${testid} button`);
    assert.equal(await wv.locator('[data-testid="action-showText"]').count(), 1, 'Show Text stays');
    await screenshot('patch-read-only');
  });

  step('Apply, Bake and Revert sent to the host anyway are refused with a message, before any file dialog', async () => {
    for (const action of ['bake', 'apply', 'revert']) {
      const label = action[0].toUpperCase() + action.slice(1);
      await activeTab('base.stpatch').waitFor();
      const { post } = await postFromWebview({ type: 'action', action });
      await post();
      await toast(refused(label)).waitFor({ timeout: 10_000 });
      await assertNoDialog(label);
      if (action === 'bake') await screenshot('patch-bake-refused');
      await clearNotifications();
    }
  });

  step('"Set Up Git Diff for Models" is refused with a message', async () => {
    await runCommand('Tensorscope: Set Up Git Diff for Models');
    await toast(refused('Set Up Git Diff for Models')).waitFor({ timeout: 10_000 });
    await assertNoDialog('Set Up Git Diff');
    await clearNotifications();
  });

  step('Compare Models shows the differences; Export as .stpatch is disabled and says why; an export sent anyway is refused', async () => {
    await runCommand('Tensorscope: Compare Models');
    for (const file of ['base.safetensors', 'changed.safetensors']) {
      const input = page.locator('.quick-input-widget input');
      await input.waitFor({ state: 'visible' });
      await input.fill(file);
      await page.locator('.quick-input-list .monaco-list-row', { hasText: file }).first().waitFor();
      await page.keyboard.press('Enter');
    }
    const wv = webview();
    await wv.locator('[data-testid="compare-row"]').first().waitFor({ timeout: 30_000 });
    const exportButton = wv.locator('[data-testid="export-patch"]');
    assert.equal(await exportButton.getAttribute('disabled'), '', 'Export is disabled');
    assert.equal(await exportButton.getAttribute('title'), 'read-only: this workspace is not trusted (Restricted Mode writes no files)');
    await screenshot('compare-export-disabled');
    const { post } = await postFromWebview({ type: 'action', action: 'exportPatch' });
    await post();
    await toast(refused('Export Patch')).waitFor({ timeout: 10_000 });
    await assertNoDialog('Export Patch');
    await clearNotifications();
    await runCommand('View: Close Editor');
  });

  step('nothing in the workspace was created, modified or removed; the model’s bytes are unchanged', async () => {
    assert.equal(await page.locator('.tabs-container .tab.dirty').count(), 0, 'no dirty editor');
    await page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).waitFor();
    assert.deepEqual(snapshotTree(workspace), snapshot);
    assert.equal(sha256(modelPath), modelSha);
    await activeTab('base.stpatch').waitFor();
    await screenshot('after');
  });

  // After the snapshot: trusting the workspace lets VS Code and extensions write from here on.
  step('trusting the workspace while the patch is open shows its Apply, Bake and Revert', async () => {
    // The patch stays visible in the left group should the trust editor open in the active one.
    await runCommand('View: Split Editor Right');
    await page.locator('.editor-group-container').nth(1).waitFor();
    // Marks the patch editors' pages now: the buttons must come to these, not to reloaded ones.
    const marked = [];
    for (const f of page.frames()) {
      if (await f.locator('[data-testid="read-only-banner"]').isVisible().catch(() => false)) {
        await f.evaluate(() => (window.beforeTrust = true));
        marked.push(f);
      }
    }
    assert.ok(marked.length > 0, 'a patch editor showing the read-only banner');
    await runCommand('Workspaces: Manage Workspace Trust');
    await page.locator('.workspace-trust-editor .monaco-button', { hasText: /^Trust$/ }).first().click({ timeout: 15_000 });
    await page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).waitFor({ state: 'hidden', timeout: 15_000 });
    await runCommand('View: Close Editor'); // the trust editor (a modal over the editors in this build)
    await page.locator('.workspace-trust-editor').waitFor({ state: 'hidden', timeout: 10_000 });
    const apply = marked[0].locator('[data-testid="action-apply"]');
    await apply.waitFor({ timeout: 30_000 });
    assert.equal(await marked[0].evaluate(() => window.beforeTrust), true, 'the same page, not a reloaded webview');
    for (const testid of ['action-bake', 'action-revert']) assert.equal(await marked[0].locator(`[data-testid="${testid}"]`).count(), 1, `a ${testid} button`);
    assert.equal(await marked[0].locator('[data-testid="read-only-banner"]').isVisible(), false, 'no read-only banner');
    await screenshot('trusted-patch-buttons');
  });
});
