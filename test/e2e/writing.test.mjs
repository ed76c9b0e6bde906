// Writing models as a user does, in real VS Code (code-server + headless Chromium): edit
// elements in the hex view (a value that rounds in F16 and BF16, then raw hex digits), undo
// and redo them; Save As… a new .safetensors through the save dialog; "Tensorscope: Bake
// Edits into New Model…"; then save the edits as a .stpatch and, in the patch editor, Bake,
// Apply… (through the save dialog) and Revert… (the inverse patch). Every written file is
// read back here (its header and bytes, parsed independently of the engine) and checked with
// the CLI; the base model stays byte-identical throughout.
// Screenshots: test-results/e2e/writing/screenshots/ (look at them).
import { after, before, describe } from 'node:test';
import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, runCli, vscodeSession, until } from './session.mjs';
import { QUIET_SETTINGS } from './workspace.mjs';

const MODEL = 'w.safetensors';
const F16_TENSOR = 'mlp.weight'; // F16 [16, 16]
const NORM_TENSOR = 'norm.weight'; // F32 [16]
const BF16_TENSOR = 'attn.weight'; // BF16 [16, 16]
const I64_TENSOR = 'step.count'; // I64 [4]: 2^53 + 1, -1, 0, 42
const COMMAND_TITLE = 'Tensorscope: Bake Edits into New Model…';

// 3.14159 is stored as 3.140625 in both F16 (0x4248) and BF16 (0x4049); the hex view writes
// the shortest text that reads back as that value ("3.14"), the selected element its exact value.
const TYPED = '3.14159';
const STORED = '3.140625';
const SHORT = '3.14';
const F16_STORED_HEX = '4842'; // little-endian bytes of 0x4248
const BF16_STORED_HEX = '4940'; // of 0x4049
const F16_TYPED_HEX = '00bc'; // 0xbc00 = -1

// The edited elements: mlp.weight[2, 3] (flat 35, bytes 70..72) and attn.weight[1, 4] (flat 20, bytes 40..42).
const F16_CELL = { row: 2, col: 3, byte: 70 };
const BF16_CELL = { row: 1, col: 4, byte: 40 };
/** What Save As writes: the F16 element ends as -1 (after undo and redo), the BF16 one as 3.140625. */
const EDITS_1 = [
  { tensor: F16_TENSOR, byte: F16_CELL.byte, hex: F16_TYPED_HEX },
  { tensor: BF16_TENSOR, byte: BF16_CELL.byte, hex: BF16_STORED_HEX },
];
/** The edits baked, saved and applied later: norm.weight[5] = 0.1 (F32, bytes 20..24), mlp.weight[0, 0] = 0 (bytes 0..2). */
const EDITS_2 = [
  { tensor: NORM_TENSOR, byte: 20, hex: 'cdcccc3d' },
  { tensor: F16_TENSOR, byte: 0, hex: '0000' },
];
const METADATA = { format: 'pt', note: 'tensorscope writing test' };

const session = vscodeSession('writing');
const { dir, screenshot, step, webview, runCommand } = session;
let page;

// ---- the model, written here (independent of the engine) ----

/** Bytes of a little-endian u16 array. */
function u16Bytes(bits) {
  return Buffer.from(Uint16Array.from(bits).buffer);
}

function baseTensors() {
  const n = 16 * 16;
  return [
    // Values in [1, 2): F16 and BF16 bit patterns with exponent 0 and varied mantissas.
    { name: BF16_TENSOR, dtype: 'BF16', shape: [16, 16], data: u16Bytes(Array.from({ length: n }, (_, i) => 0x3f80 + ((i * 13) % 128))) },
    { name: F16_TENSOR, dtype: 'F16', shape: [16, 16], data: u16Bytes(Array.from({ length: n }, (_, i) => 0x3c00 + ((i * 37) % 1024))) },
    { name: NORM_TENSOR, dtype: 'F32', shape: [16], data: Buffer.from(Float32Array.from({ length: 16 }, (_, i) => i / 16).buffer) },
    // 2^53 + 1 is no double: an edit through a number would change it.
    { name: I64_TENSOR, dtype: 'I64', shape: [4], data: Buffer.from(BigInt64Array.from([2n ** 53n + 1n, -1n, 0n, 42n]).buffer) },
  ];
}

function safetensors(tensors, metadata) {
  const header = metadata ? { __metadata__: metadata } : {};
  let at = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.data.length] };
    at += t.data.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([prefix, Buffer.from(json), ...tensors.map((t) => t.data)]);
}

/** A .safetensors file's metadata and tensors (name -> dtype, shape, bytes), parsed here. */
function readModel(path) {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  const data = buf.subarray(8 + n);
  const tensors = {};
  let end = 0;
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    tensors[name] = { dtype: t.dtype, shape: t.shape, data: Buffer.from(data.subarray(t.data_offsets[0], t.data_offsets[1])) };
    end = Math.max(end, t.data_offsets[1]);
  }
  assert.equal(data.length, end, `${path}: the data ends where the last tensor does`);
  return { metadata: header.__metadata__, tensors };
}

/** The base tensors with `edits` ({ tensor, byte, hex }) applied: name -> bytes. */
function expectedTensors(edits) {
  const out = {};
  for (const t of baseTensors()) out[t.name] = { dtype: t.dtype, shape: t.shape, data: Buffer.from(t.data) };
  for (const e of edits) Buffer.from(e.hex, 'hex').copy(out[e.tensor].data, e.byte);
  return out;
}

/** Asserts that the model at `path` holds exactly the base plus `edits` (same layout, same metadata). */
function assertModel(path, edits) {
  const got = readModel(path);
  assert.deepEqual(got.metadata, METADATA, `${path}: metadata`);
  const want = expectedTensors(edits);
  assert.deepEqual(Object.keys(got.tensors).sort(), Object.keys(want).sort(), `${path}: tensor names`);
  for (const [name, t] of Object.entries(want)) {
    const g = got.tensors[name];
    assert.equal(g.dtype, t.dtype, `${path}: ${name} dtype`);
    assert.deepEqual(g.shape, t.shape, `${path}: ${name} shape`);
    assert.ok(g.data.equals(t.data), `${path}: ${name} bytes differ from base + edits`);
  }
}

// ---- UI helpers ----

/**
 * Opens a file through Quick Open once its row is the first (Enter takes the first row, maybe
 * a similar recent file). A file written a moment ago may not be in the file search yet: ask again.
 */
async function quickOpen(name, timeout = 30_000) {
  const deadline = Date.now() + timeout;
  const exact = new RegExp(`^${name.replace(/\./g, '\\.')}$`);
  for (;;) {
    await session.quickInput('Control+P', name);
    const label = page.locator('.quick-input-list .monaco-list-row.focused .label-name');
    const found = await until(() => label.first().innerText(), exact, 'first Quick Open row', 3_000).then(() => true, () => false);
    if (found) return page.keyboard.press('Enter');
    await page.keyboard.press('Escape');
    assert.ok(Date.now() < deadline, `Quick Open never offered ${name}`);
  }
}

/** Waits until `path` exists (writes are atomic: a file that exists is complete). */
async function waitForFile(path, timeout = 30_000) {
  const deadline = Date.now() + timeout;
  while (!existsSync(path)) {
    assert.ok(Date.now() < deadline, `${path} was not written`);
    await new Promise((r) => setTimeout(r, 200));
  }
}


/**
 * The save dialog that is open now (in the browser: a path in a quick input): waits for the
 * proposed path to match `proposed`, optionally replaces it with `path`, and accepts.
 */
async function saveDialog(proposed, path) {
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await until(() => input.inputValue(), proposed, 'proposed file');
  if (path) {
    await input.fill(path);
    await until(() => input.inputValue(), new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`), 'typed path');
  }
  await page.keyboard.press('Enter');
}

const activeTab = (name = MODEL) => page.locator('.tabs-container .tab.active', { hasText: name });
const dirtyTab = (name = MODEL) => page.locator('.tabs-container .tab.active.dirty', { hasText: name });
const cleanTab = (name = MODEL) => page.locator('.tabs-container .tab.active:not(.dirty)', { hasText: name });

/** Shows `tensor` in the active model editor (through the tree's filter). */
async function openTensor(tensor) {
  const wv = webview();
  const filter = wv.locator('[data-testid="tree-filter"]');
  await filter.waitFor({ timeout: 30_000 });
  if (!(await wv.locator('[data-testid="tensor-name"]', { hasText: tensor }).isVisible())) {
    // A web component (vscode-textfield): click it and type, as a user does.
    await filter.click();
    const value = () => filter.evaluate((el) => el.value);
    // Escape clears the filter. (Not Control+A: VS Code sends the webview a second, late
    // select-all, which would select what was typed after it.)
    await page.keyboard.press('Escape');
    await until(value, /^$/, 'cleared filter');
    await page.keyboard.type(tensor);
    await until(value, new RegExp(`^${tensor.replace(/\./g, '\\.')}$`), 'typed filter');
    await wv.locator(`vscode-tree-item[data-tensor="${tensor}"] .row-label`).click();
    await wv.locator('[data-testid="tensor-name"]', { hasText: tensor }).waitFor();
  }
}

/** Opens `tensor` (a 16 x 16 matrix) in the active model editor and clicks the cell at (row, col). */
async function selectCell(tensor, row, col) {
  await openTensor(tensor);
  const wv = webview();
  // Clicks go to the tensor the heatmap shows: wait until that is this one, drawn.
  await wv.locator(`[data-testid="heatmap"][data-tensor="${tensor}"][data-loading="false"]`).waitFor({ timeout: 30_000 });
  await wv.locator('[data-testid="heatmap-status"]', { hasText: /16 × 16 · exact values/ }).waitFor({ timeout: 30_000 });
  await wv.locator('[data-testid="heatmap"]').scrollIntoViewIfNeeded();
  const area = await wv.locator('[data-testid="heatmap-plot"] .nsewdrag').first().boundingBox();
  assert.ok(area && area.width > 100, `plot area ${JSON.stringify(area)}`);
  await page.mouse.click(area.x + ((col + 0.5) * area.width) / 16, area.y + ((row + 0.5) * area.height) / 16);
  await wv.locator('[data-testid="selected-index"]', { hasText: `[${row}, ${col}]` }).waitFor({ timeout: 10_000 });
  // The hex view marks the element's bytes once they are fetched.
  await wv.locator('.hex-group.marked').waitFor({ timeout: 10_000 });
}

/** The marked (selected) element in the hex view: its hex group and its value. */
function marked() {
  const wv = webview();
  return { group: wv.locator('.hex-group.marked'), value: wv.locator('.hex-value.marked') };
}

/** Double-clicks `target` in the hex view, types `text` into the input that replaces it, presses Enter. */
async function hexEdit(target, inputTestId, text) {
  // Values are drawn once the bytes are fetched; before that a double-click edits nothing.
  await marked().value.waitFor({ timeout: 10_000 });
  await target.scrollIntoViewIfNeeded();
  await target.dblclick();
  const input = webview().locator(`[data-testid="${inputTestId}"]`);
  await input.waitFor({ timeout: 5_000 });
  await input.fill(text);
  await input.press('Enter');
  await input.waitFor({ state: 'detached', timeout: 5_000 });
}

/** Waits for the marked element to show `hex` and `value`, and the selected-element panel to agree. */
async function expectMarked(hex, value, exact = value) {
  const wv = webview();
  const { group, value: valueCell } = marked();
  await wv.locator('.hex-group.marked', { hasText: new RegExp(`^${hex}$`) }).waitFor({ timeout: 10_000 });
  await wv.locator('.hex-value.marked', { hasText: new RegExp(`^${value.replace(/[.+-]/g, '\\$&')}$`) }).waitFor({ timeout: 10_000 });
  await wv.locator('[data-testid="selected-value"]', { hasText: new RegExp(`^${exact.replace(/[.+-]/g, '\\$&')}$`) }).waitFor({ timeout: 10_000 });
  assert.equal(await group.innerText(), hex);
  assert.equal(await valueCell.innerText(), value);
  // The selected element's bytes (spaced hex) are the hex view's.
  assert.equal((await wv.locator('[data-testid="selected-hex"]').innerText()).replace(/\s+/g, ''), hex);
}

/** Waits for the marked hex group and value to read `hex` and `value`. */
async function expectHex(hex, value) {
  const wv = webview();
  await wv.locator('.hex-group.marked', { hasText: new RegExp(`^${hex}$`) }).waitFor({ timeout: 10_000 });
  await wv.locator('.hex-value.marked', { hasText: new RegExp(`^${value.replace(/[.+-]/g, '\\$&')}$`) }).waitFor({ timeout: 10_000 });
}

/** Opens `tensor` and marks an element through the hex view's Go to field ("[index]" or a byte offset). */
async function hexGoTo(tensor, where) {
  await openTensor(tensor);
  const wv = webview();
  const go = wv.locator('[data-testid="hex-goto"]');
  await go.scrollIntoViewIfNeeded();
  await go.fill(where);
  await go.press('Enter');
  await wv.locator('.hex-group.marked').waitFor({ timeout: 10_000 });
}

/**
 * Waits for the notification saying `text` in the notification center (a toast may never show:
 * VS Code drops toasts that come in quick succession), checks that no error was notified, and
 * clears them all.
 */
async function expectNotification(text) {
  await runCommand('Notifications: Show Notifications');
  const center = page.locator('.notifications-center');
  await center.locator('.notification-list-item', { hasText: text }).waitFor({ timeout: 15_000 });
  const errors = await center.locator('.notification-list-item:has(.codicon-error)').allInnerTexts();
  assert.deepEqual(errors, [], 'error notifications');
  await runCommand('Notifications: Clear All Notifications');
  await center.locator('.notification-list-item').first().waitFor({ state: 'detached', timeout: 5_000 });
  if (await center.isVisible()) await runCommand('Notifications: Hide Notifications');
  await center.waitFor({ state: 'hidden', timeout: 5_000 });
}

async function undo() {
  await activeTab().click();
  await page.keyboard.press('Control+Z');
}

async function redo() {
  await activeTab().click();
  await page.keyboard.press('Control+Shift+Z');
}

describe('writing models in VS Code (code-server + Chromium)', { timeout: 300_000 }, () => {
  let models;
  let base;
  let baseBytes;
  let original; // the F16 element's hex, short and exact value before any edit

  before(async () => {
    models = join(dir, 'workspace', 'models');
    mkdirSync(models, { recursive: true });
    base = join(models, MODEL);
    baseBytes = safetensors(baseTensors(), METADATA);
    writeFileSync(base, baseBytes);
    // The web workbench auto-saves after a delay by default: off, so dirty states are ours to check.
    page = await session.start(join(dir, 'workspace'), { settings: { ...QUIET_SETTINGS, 'files.autoSave': 'off' } });
    await session.waitForCommand('Tensorscope: Open Sharded Model');
  });

  after(() => session.stop());

  step('hex view: a typed value is stored rounded to F16; hex digits set the bytes; undo and redo', async () => {
    await quickOpen(MODEL);
    await activeTab().waitFor();
    await selectCell(F16_TENSOR, F16_CELL.row, F16_CELL.col);
    const wv = webview();
    await wv.locator('[data-testid="hex-status"]', { hasText: '512 bytes · F16 · double-click to edit' }).waitFor();
    original = { hex: await marked().group.innerText(), value: await marked().value.innerText(), exact: await wv.locator('[data-testid="selected-value"]').innerText() };
    // The element as written: F16 bits 0x3c00 + 1295 % 1024 = 0x3d0f, 1 + 271/1024.
    assert.equal(original.hex, '0f3d');
    assert.equal(original.exact, String(1 + 271 / 1024));

    await hexEdit(marked().value, 'hex-value-input', TYPED);
    await expectMarked(F16_STORED_HEX, SHORT, STORED);
    await dirtyTab().waitFor({ timeout: 10_000 });
    await wv.locator('[data-testid="hex-view"]').scrollIntoViewIfNeeded();
    await screenshot('hex-value-edited');

    await hexEdit(marked().group, 'hex-byte-input', F16_TYPED_HEX);
    await expectMarked(F16_TYPED_HEX, '-1');
    assert.equal(await wv.locator('[data-testid="hex-error"]').isVisible(), false);
    await screenshot('hex-bytes-edited');

    await undo();
    await expectMarked(F16_STORED_HEX, SHORT, STORED);
    await undo();
    await expectMarked(original.hex, original.value, original.exact);
    await cleanTab().waitFor({ timeout: 10_000 });
    await redo();
    await expectMarked(F16_STORED_HEX, SHORT, STORED);
    await redo();
    await expectMarked(F16_TYPED_HEX, '-1');
    await dirtyTab().waitFor({ timeout: 10_000 });
  });

  step('hex view: a typed value is stored rounded to BF16; bad hex is refused with a message', async () => {
    await selectCell(BF16_TENSOR, BF16_CELL.row, BF16_CELL.col);
    const wv = webview();
    await wv.locator('[data-testid="hex-status"]', { hasText: '512 bytes · BF16 · double-click to edit' }).waitFor();
    const before = await marked().group.innerText();
    await hexEdit(marked().group, 'hex-byte-input', 'zz');
    await wv.locator('[data-testid="hex-error"]', { hasText: '"zz" is not 2 bytes of hex' }).waitFor({ timeout: 5_000 });
    assert.equal(await marked().group.innerText(), before);
    await hexEdit(marked().value, 'hex-value-input', TYPED);
    await expectMarked(BF16_STORED_HEX, SHORT, STORED);
    await screenshot('bf16-edited');
  });

  step('hex view: an I64 beyond 2^53 stays exact: Enter on it changes nothing, a value no double holds is refused', async () => {
    await hexGoTo(I64_TENSOR, '[0]');
    const wv = webview();
    await expectHex('0100000000002000', '9007199254740993');
    // Enter on the value as shown: no edit (as a double it would be 2^53).
    await hexEdit(marked().value, 'hex-value-input', '9007199254740993');
    await hexEdit(marked().value, 'hex-value-input', '9007199254740995');
    await wv.locator('[data-testid="hex-error"]', { hasText: "9007199254740995 is not exact as a double (beyond 2^53): set the element's bytes instead" }).waitFor({ timeout: 5_000 });
    await expectHex('0100000000002000', '9007199254740993');
    // Save As (next step) writes this tensor as it was: nothing was set.
  });

  step('Save As… writes a new model (base + edits) through the save dialog; the base is untouched', async () => {
    await runCommand('File: Save As...');
    const out = join(models, 'w-saved-as.safetensors');
    await saveDialog(/w\.safetensors$/, out);
    await waitForFile(out);
    assertModel(out, EDITS_1);
    assert.ok(readFileSync(base).equals(baseBytes), 'the base model is unchanged');
    // The CLI reads the same values: mlp.weight[2, 3] is -1, attn.weight[1, 4] is 3.140625.
    assert.deepEqual(JSON.parse(cli('slice', out, F16_TENSOR, '[2, 3]', '--json')).values, [-1]);
    assert.deepEqual(JSON.parse(cli('slice', out, BF16_TENSOR, '[1, 4]', '--json')).values, [3.140625]);
    // The editor now shows the new model.
    await activeTab('w-saved-as.safetensors').waitFor({ timeout: 15_000 });
    await screenshot('saved-as');
  });

  step('"Tensorscope: Bake Edits into New Model…" writes base + edits through the save dialog', async () => {
    // Save As left the base's document without edits: two new ones, found through the hex view's Go to.
    await quickOpen(MODEL);
    await cleanTab().waitFor();
    await hexGoTo(NORM_TENSOR, '[5]');
    await hexEdit(marked().value, 'hex-value-input', '0.1');
    await webview().locator('.hex-group.marked', { hasText: /^cdcccc3d$/ }).waitFor({ timeout: 10_000 });
    await webview().locator('.hex-value.marked', { hasText: /^0\.1$/ }).waitFor();
    await hexGoTo(F16_TENSOR, '[0]');
    await hexEdit(marked().group, 'hex-byte-input', '0000');
    await webview().locator('.hex-value.marked', { hasText: /^0$/ }).waitFor({ timeout: 10_000 });
    await dirtyTab().waitFor({ timeout: 10_000 });
    await screenshot('second-edits');

    await runCommand(COMMAND_TITLE);
    const out = join(models, 'w.patched.safetensors');
    await saveDialog(/\/models\/w\.patched\.safetensors$/);
    await waitForFile(out);
    await expectNotification('Tensorscope: wrote w.patched.safetensors (2 hunks in 2 tensors');
    assertModel(out, EDITS_2);
    assert.ok(readFileSync(base).equals(baseBytes), 'the base model is unchanged');
    // Baking does not save: the edits are still unsaved.
    await dirtyTab().waitFor();
    await screenshot('baked');
  });

  step('save writes w.stpatch; the patch editor bakes it beside the base', async () => {
    await activeTab().click();
    await page.keyboard.press('Control+S');
    await cleanTab().waitFor({ timeout: 15_000 });
    const patch = join(models, 'w.stpatch');
    await waitForFile(patch);
    const verify = runCli('verify', base, patch);
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);

    await quickOpen('w.stpatch');
    const wv = webview();
    await wv.locator('[data-testid="patch-view"]').waitFor({ timeout: 30_000 });
    assert.match(await wv.locator('[data-testid="patch-summary"]').innerText(), /^2 hunks in 2 tensors/);
    await wv.locator('[data-testid="base-state"][data-state="clean"]').waitFor({ timeout: 30_000 });
    await screenshot('patch-editor');

    await wv.locator('[data-testid="action-bake"]').click();
    const baked = join(models, 'w.baked.safetensors');
    await waitForFile(baked);
    assertModel(baked, EDITS_2);
    // The buttons come back once the file is written, with its "wrote …" message still unanswered.
    await wv.locator('[data-testid="action-apply"]:not([disabled])').waitFor({ timeout: 15_000 });
    await expectNotification('Tensorscope: wrote models/w.baked.safetensors (w.safetensors + 2 hunks of w.stpatch).');
  });

  step('the patch editor’s Apply… writes base + patch where the save dialog says', async () => {
    const wv = webview();
    await wv.locator('[data-testid="action-apply"]:not([disabled])').click();
    const out = join(models, 'w-applied.safetensors');
    // The dialog proposes the base itself (apply in place); the user picks a new file.
    await saveDialog(/\/models\/w\.safetensors$/, out);
    await waitForFile(out);
    assertModel(out, EDITS_2);
    assert.ok(readFileSync(base).equals(baseBytes), 'the base model is unchanged');
    await expectNotification('Tensorscope: wrote models/w-applied.safetensors (w.safetensors + 2 hunks of w.stpatch).');
  });

  step('the patch editor’s Revert… writes the inverse patch; applied to the patched model it gives the base back', async () => {
    const wv = webview();
    await wv.locator('[data-testid="action-revert"]:not([disabled])').click();
    const inverse = join(models, 'w.revert.stpatch');
    await saveDialog(/\/models\/w\.revert\.stpatch$/);
    await waitForFile(inverse);
    const applied = join(models, 'w-applied.safetensors');
    const verify = runCli('verify', applied, inverse);
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    const restored = join(dir, 'restored.safetensors');
    cli('apply', applied, inverse, '-o', restored);
    assertModel(restored, []);
    // The inverse's new bytes are the base's: norm.weight[5] back to 5/16 (0x3ea00000).
    assert.match(readFileSync(inverse, 'utf8'), /^\+ 0000a03e {2}# 0\.3125$/m);
    await screenshot('reverted');
    await expectNotification('Tensorscope: wrote models/w.revert.stpatch, the inverse of w.stpatch (2 hunks).');
  });
});
