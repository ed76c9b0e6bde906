// The clustering view as a user sees it, in real VS Code (code-server) and headless Chromium:
// open the demo token-embedding model, press "Project Rows" on its embedding matrix, wait
// for the scatter (WebGL), hover a point and read its row index and token (checked against
// the tokenizer.json), click it and check its nearest rows against a brute-force cosine
// search over the values the CLI reads, compare two tokens, refit in 3-D; then zero a row in
// the model editor and see the open view show it (row values, neighbours, a "Refit" notice),
// a new view read it from the start, undo and redo reach the view, closing the editor bring
// back the file's rows and opening it again its edits. No CSP violation may be logged.
// Screenshots go to test-results/e2e/projection/screenshots/ (look at them).
import { after, before, describe } from 'node:test';
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, vscodeSession, until } from './session.mjs';
import { makeWorkspace } from './workspace.mjs';

const MODEL_DIR = 'tiny-embeddings';
const TENSOR = 'model.embed_tokens.weight';
const COMMAND_TITLE = 'Tensorscope: Project Tensor Rows…';

const session = vscodeSession('projection');
const { dir, cspViolations, screenshot, step, webviewFrame, quickOpen } = session;
let page;


describe('clustering view in VS Code (code-server + Chromium)', { timeout: 300_000 }, () => {
  let workspace;
  let tokens; // id -> token, from the workspace's tokenizer.json
  let view; // the projection webview's frame
  let catId; // the row of the token 'cat' (selected in the view by the token comparison step)

  before(async () => {
    workspace = makeWorkspace(join(dir, 'workspace'));
    const tokenizer = JSON.parse(readFileSync(join(workspace, 'models', MODEL_DIR, 'tokenizer.json'), 'utf8'));
    tokens = [];
    for (const [token, id] of Object.entries(tokenizer.model.vocab)) tokens[id] = token;
    for (const t of tokenizer.added_tokens) tokens[t.id] = t.content;
    page = await session.start(workspace, { watchCsp: true });
  });

  after(() => session.stop());

  step('the command is in the palette once the extension is up', async () => {
    await session.waitForCommand(COMMAND_TITLE);
  });

  step('Project Rows on the embedding matrix draws the scatter after a fit with progress', async () => {
    await quickOpen(`${MODEL_DIR}/model.safetensors`, 'model.safetensors');
    const editor = await webviewFrame('[data-testid="tree-filter"]');
    await editor.locator('[data-testid="tree-filter"]').click();
    await page.keyboard.type('embed_tokens');
    await editor.locator(`vscode-tree-item[data-tensor="${TENSOR}"] .row-label`).click();
    await editor.locator('[data-testid="tensor-name"]', { hasText: TENSOR }).waitFor();
    const button = editor.locator('[data-testid="project-rows"]');
    await button.waitFor({ state: 'visible' });
    await screenshot('model-editor-project-rows');
    // A deliberate eval in a webview (the model editor's, same CSP) is reported, so the check at
    // the end can fail; the record starts empty when the clustering view opens. (From a timer:
    // code evaluated by the debugger itself may eval.)
    const threw = await editor.evaluate(
      () =>
        new Promise((resolve) =>
          setTimeout(() => {
            try {
              eval('1');
              resolve(false);
            } catch {
              resolve(true);
            }
          }),
        ),
    );
    assert.equal(threw, true, 'eval is refused in the webview');
    for (let i = 0; i < 50 && cspViolations.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(cspViolations.some((t) => /eval/i.test(t)), `a deliberate eval is reported: ${JSON.stringify(cspViolations)}`);
    cspViolations.length = 0;
    await button.click();

    view = await webviewFrame('[data-testid="projection-view"] [data-testid="scatter-plot"]');
    await view.locator('[data-testid="projection-tensor"]', { hasText: TENSOR }).waitFor();
    const status = view.locator('[data-testid="fit-status"]');
    await status.and(view.locator('[data-state="done"]')).waitFor({ timeout: 60_000 });
    assert.match(await status.innerText(), /^724 rows in 2-D · fitted in/);
    const plot = view.locator('[data-testid="scatter-plot"]');
    assert.equal(await plot.getAttribute('data-points'), '724');
    await plot.locator('canvas').first().waitFor();
    // The header says the rows are the tokens of the tokenizer.json next to the model.
    assert.match(await view.locator('.view-header').innerText(), /rows are tokens of tokenizer\.json \(BPE, 724\)/);
    await screenshot('scatter');
  });

  /** Pixel position (relative to the plot element) of each row, from plotly's axes. */
  async function pointPositions() {
    return view.locator('[data-testid="scatter-plot"]').evaluate((div) => {
      const { xaxis, yaxis } = div._fullLayout;
      const { x, y } = div.data[0];
      return Array.from(x, (xv, i) => [xaxis._offset + xaxis.d2p(xv), yaxis._offset + yaxis.d2p(y[i])]);
    });
  }

  step('hover shows the row index and its token', async () => {
    const positions = await pointPositions();
    const plot = view.locator('[data-testid="scatter-plot"]');
    const hover = view.locator('[data-testid="hover-row"]');
    // The point farthest from any other, so the row under the pointer is clear.
    const gap = (i) => Math.min(...positions.map(([x, y], j) => (j === i ? Infinity : Math.hypot(x - positions[i][0], y - positions[i][1]))));
    let target = 0;
    for (let i = 1; i < positions.length; i++) if (gap(i) > gap(target)) target = i;
    const [px, py] = positions[target];
    await plot.hover({ position: { x: px, y: py } });
    await hover.and(view.locator('[data-row]:not([data-row=""])')).waitFor({ timeout: 10_000 });
    const hovered = Number(await hover.getAttribute('data-row'));
    const [hx, hy] = positions[hovered];
    assert.ok(Math.hypot(hx - px, hy - py) <= gap(target) / 2 + 1, `hovered row ${hovered} is the point under the pointer (row ${target})`);
    assert.equal(await hover.innerText(), `row ${hovered} · '${tokens[hovered]}'`);
    // plotly's own hover label says the same.
    const label = view.locator('.hoverlayer .hovertext');
    await label.first().waitFor();
    assert.ok((await label.first().textContent()).includes(`row ${hovered} · '${tokens[hovered]}'`));
    await screenshot('hover');

    // Click: the row's values and its nearest rows by cosine, as a brute-force search over
    // the values the CLI reads finds them.
    await plot.click({ position: { x: px, y: py } });
    const detail = view.locator('[data-testid="row-detail"]');
    await detail.and(view.locator(`[data-row="${hovered}"][data-state="done"]`)).waitFor({ timeout: 15_000 });
    assert.equal(await view.locator('[data-testid="row-title"]').innerText(), `row ${hovered} · '${tokens[hovered]}'`);
    await view.locator('[data-testid="row-plot"] .main-svg').first().waitFor();
    const shown = await view.locator('[data-testid="neighbor"]').evaluateAll((els) => els.map((e) => Number(e.dataset.row)));
    assert.equal(shown.length, 15);
    const { shape, values } = JSON.parse(cli('slice', join(workspace, 'models', MODEL_DIR, 'model.safetensors'), TENSOR, '[:, :]', '--json'));
    const [rows, cols] = shape;
    const row = (r) => values.slice(r * cols, (r + 1) * cols);
    const dot = (a, b) => a.reduce((s, v, i) => s + v * b[i], 0);
    const q = row(hovered);
    const ranked = Array.from({ length: rows }, (_, r) => r)
      .filter((r) => r !== hovered)
      .map((r) => ({ r, d: 1 - dot(q, row(r)) / Math.sqrt(dot(q, q) * dot(row(r), row(r))) }))
      .sort((a, b) => a.d - b.d || a.r - b.r);
    assert.deepEqual(shown, ranked.slice(0, 15).map((x) => x.r));
    await screenshot('row-detail');
  });

  /**
   * Types `text` into token picker A or B, replacing what is there (the clicked row's token).
   * Filled into the text field's own input: keystrokes can be lost on a loaded machine.
   */
  async function searchToken(slot, text) {
    const input = view.locator(`[data-testid="token-search-${slot}"] input`);
    await input.click();
    await input.fill(text);
  }

  step('token comparison: search two tokens, see the cosine; picking A selects its row', async () => {
    await searchToken('a', 'cat');
    const suggestionA = view.locator('[data-testid="token-suggestions-a"] [data-testid="token-suggestion"]').first();
    await until(() => suggestionA.innerText(), /^'cat' #\d+$/, 'first suggestion for "cat"');
    catId = Number(await suggestionA.getAttribute('data-id'));
    assert.equal(tokens[catId], 'cat');
    await suggestionA.click();
    await view.locator(`[data-testid="row-detail"][data-row="${catId}"][data-state="done"]`).waitFor({ timeout: 15_000 });
    const nearest = await view.locator('[data-testid="neighbor"]').evaluateAll((els) => els.slice(0, 4).map((e) => Number(e.dataset.row)));
    assert.ok(nearest.every((r) => /cat/i.test(tokens[r])), `the nearest tokens of 'cat' are its other forms: ${nearest.map((r) => tokens[r])}`);

    await searchToken('b', 'Ġdog');
    const suggestionB = view.locator('[data-testid="token-suggestions-b"] [data-testid="token-suggestion"]').first();
    await until(() => suggestionB.innerText(), /^'Ġdog' #\d+$/, 'first suggestion for "Ġdog"');
    assert.equal(tokens[Number(await suggestionB.getAttribute('data-id'))], 'Ġdog');
    await suggestionB.click();
    const cosine = view.locator('[data-testid="token-cosine-value"]');
    await cosine.waitFor();
    const value = Number(await cosine.innerText());
    assert.ok(value > -1 && value < 1, `cosine ${value}`);
    await screenshot('token-comparison');
  });

  step('Save projection… writes a projection .safetensors next to the model', async () => {
    await view.locator('[data-testid="save-button"]').click();
    // VS Code's save dialog (in the browser: a path in a quick input), proposing <tensor>.projection.safetensors.
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible' });
    await until(() => input.inputValue(), /tiny-embeddings\/model\.embed_tokens\.weight\.projection\.safetensors$/, 'proposed file');
    await page.keyboard.press('Enter');
    await view.locator('[data-testid="fit-status"]', { hasText: /^Saved / }).waitFor({ timeout: 15_000 });
    const saved = join(workspace, 'models', MODEL_DIR, `${TENSOR}.projection.safetensors`);
    const info = JSON.parse(cli('inspect', saved, '--json'));
    assert.equal(info.metadata.format, 'tensorscope.projection');
    assert.equal(info.metadata.source_tensor, TENSOR);
    assert.deepEqual(info.tensors.find((t) => t.name === 'embedding').shape, [724, 2]);
  });

  step('3-D: a refit draws a scatter3d; no CSP violation was logged', async () => {
    const dims = view.locator('[data-testid="opt-components"]');
    await dims.evaluate((el) => {
      el.value = '3';
      el.dispatchEvent(new Event('change'));
    });
    await view.locator('[data-testid="project-button"]').click();
    await view.locator('[data-testid="scatter-plot"][data-components="3"]').waitFor({ timeout: 60_000 });
    await view.locator('[data-testid="fit-status"][data-state="done"]').waitFor({ timeout: 60_000 });
    assert.match(await view.locator('[data-testid="fit-status"]').innerText(), /^724 rows in 3-D/);
    await view.locator('[data-testid="scatter-plot"] .gl-container canvas').first().waitFor();
    await screenshot('scatter-3d');
    assert.deepEqual(cspViolations, []);
  });

  /** The model editor's tab, showing the embedding matrix (its webview is rebuilt when shown again). */
  async function showModelEditor() {
    await page.locator('.tabs-container .tab', { hasText: 'model.safetensors' }).click();
    const editor = await webviewFrame('[data-testid="tree-filter"]');
    if (!(await editor.locator('[data-testid="tensor-name"]', { hasText: TENSOR }).isVisible())) {
      await editor.locator('[data-testid="tree-filter"]').click();
      await page.keyboard.type('embed_tokens');
      await editor.locator(`vscode-tree-item[data-tensor="${TENSOR}"] .row-label`).click();
    }
    await editor.locator('[data-testid="edit-bar"]').waitFor({ state: 'visible', timeout: 30_000 });
    return editor;
  }

  const projectionTab = () => page.locator('.tabs-container .tab', { hasText: `Projection: ${TENSOR}` });
  const rowNorm = /‖row‖₂ = (\S+)/;

  step('an edit in the model editor reaches the open view: the row shows it, a notice offers a refit', async () => {
    // The 3-D fit above did not change the selected row ('cat').
    const summary = view.locator(`[data-testid="row-detail"][data-row="${catId}"][data-state="done"] [data-testid="row-summary"]`);
    const before = (await summary.innerText()).match(rowNorm)?.[1];
    assert.ok(Number(before) > 0, `cat's row has a norm: ${before}`);
    assert.equal((await view.locator('[data-testid="rows-source"]').innerText()).trim(), '· with the model editor’s edits');
    assert.equal(await view.locator('[data-testid="stale-note"]').isVisible(), false);

    const editor = await showModelEditor();
    await editor.locator('[data-testid="edit-rows"]').fill(`${catId}:${catId + 1}`);
    await editor.locator('[data-testid="edit-cols"]').fill('');
    await editor.locator('[data-testid="edit-op"]').selectOption('zero');
    await editor.locator('[data-testid="edit-apply"]').click();
    await editor.locator('[data-testid="edit-result"]', { hasText: /elements changed$/ }).waitFor({ timeout: 10_000 });
    await screenshot('model-editor-row-zeroed');

    await projectionTab().click();
    await view.locator('[data-testid="stale-note"]').waitFor({ state: 'visible', timeout: 10_000 });
    await until(() => summary.innerText(), /‖row‖₂ = 0(\s|$)/, "cat's row after zeroing it");
    // A zero row is at cosine distance 1 from every row.
    const distances = await view.locator('[data-testid="neighbor"] .neighbor-distance').allInnerTexts();
    assert.ok(distances.length === 15 && distances.every((d) => d === '1.0000'), `distances ${distances}`);
    await screenshot('edited-row-refit-notice');

    await view.locator('[data-testid="refit"]').click();
    await view.locator('[data-testid="fit-status"][data-state="done"]').waitFor({ timeout: 60_000 });
    await view.locator('[data-testid="stale-note"]').waitFor({ state: 'hidden', timeout: 10_000 });
    await screenshot('edited-row-refitted');
  });

  step('a new view of the edited model reads the edit from the start; undo in the editor reaches it', async () => {
    await projectionTab().click({ button: 'middle' }); // closes the tab
    await projectionTab().waitFor({ state: 'detached' });
    const editor = await showModelEditor();
    await editor.locator('[data-testid="project-rows"]').click();
    view = await webviewFrame('[data-testid="projection-view"] [data-testid="scatter-plot"]');
    await view.locator('[data-testid="fit-status"][data-state="done"]').waitFor({ timeout: 60_000 });
    assert.equal((await view.locator('[data-testid="rows-source"]').innerText()).trim(), '· with the model editor’s edits');
    await searchToken('a', 'cat');
    const suggestion = view.locator('[data-testid="token-suggestions-a"] [data-testid="token-suggestion"]').first();
    await until(() => suggestion.innerText(), /^'cat' #\d+$/, 'first suggestion for "cat"');
    await suggestion.click();
    const summary = view.locator(`[data-testid="row-detail"][data-row="${catId}"][data-state="done"] [data-testid="row-summary"]`);
    await until(() => summary.innerText(), /‖row‖₂ = 0(\s|$)/, "cat's row in a new view");
    await screenshot('new-view-edited-row');

    await showModelEditor();
    await page.locator('.tabs-container .tab.active', { hasText: 'model.safetensors' }).click();
    await page.keyboard.press('Control+Z');
    await projectionTab().click();
    await view.locator('[data-testid="stale-note"]').waitFor({ state: 'visible', timeout: 10_000 });
    const restored = await until(() => summary.innerText(), /‖row‖₂ = (?!0(\s|$))\d/, "cat's row after undo");
    // The same norm as the CLI reads from the file.
    const { values } = JSON.parse(cli('slice', join(workspace, 'models', MODEL_DIR, 'model.safetensors'), TENSOR, `[${catId}, :]`, '--json'));
    const norm = Math.hypot(...values);
    assert.ok(Math.abs(Number(restored.match(rowNorm)[1]) - norm) <= 1e-3 * norm, `${restored} vs ${norm}`);
    await screenshot('undo-reaches-view');
  });

  step('closing the model editor: the view reads the file again; an editor opened later is read through once the view is active', async () => {
    const modelTab = () => page.locator('.tabs-container .tab', { hasText: 'model.safetensors' });
    const summary = view.locator(`[data-testid="row-detail"][data-row="${catId}"][data-state="done"] [data-testid="row-summary"]`);
    const status = view.locator('[data-testid="fit-status"]');
    // Redo: cat's row is zero again.
    await showModelEditor();
    await modelTab().click();
    await page.keyboard.press('Control+Shift+Z');
    await projectionTab().click();
    await until(() => summary.innerText(), /‖row‖₂ = 0(\s|$)/, "cat's row after redo");

    // The web workbench saves the edits (a .stpatch) after a moment; then the editor closes without asking.
    await page.locator('.tabs-container .tab:not(.dirty)', { hasText: 'model.safetensors' }).waitFor({ timeout: 15_000 });
    await modelTab().click({ button: 'middle' });
    await modelTab().waitFor({ state: 'detached' });
    await status.and(view.locator('[data-state="reopened"]')).waitFor({ timeout: 15_000 });
    assert.match(await status.innerText(), /^The model editor of model\.safetensors was closed: the rows are the file on disk again/);
    assert.equal((await view.locator('[data-testid="rows-source"]').innerText()).trim(), '');
    await until(() => summary.innerText(), /‖row‖₂ = (?!0(\s|$))\d/, "cat's row from the file");
    await screenshot('editor-closed-file-rows');
    await view.locator('[data-testid="project-button"]').click();
    await status.and(view.locator('[data-state="done"]')).waitFor({ timeout: 60_000 });

    // Open the model again (its saved patch is offered; not loaded: the rows stay the file's), then look at the view.
    // (From the Explorer: keys pressed with the focus in the view's webview do not reach Quick Open.)
    await page.locator('.explorer-folders-view .monaco-list-row .label-name', { hasText: /^model\.safetensors$/ }).dblclick();
    await modelTab().waitFor();
    await webviewFrame('[data-testid="tree-filter"]');
    await projectionTab().click();
    await status.and(view.locator('[data-state="reopened"]')).waitFor({ timeout: 15_000 });
    assert.match(await status.innerText(), /^The rows now include the edits of the model editor/);
    assert.equal((await view.locator('[data-testid="rows-source"]').innerText()).trim(), '· with the model editor’s edits');
    await screenshot('editor-reopened');
    assert.deepEqual(cspViolations, []);
  });
});
